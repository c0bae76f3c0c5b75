"""Grade submitted notebooks on hidden cases: one gradebook row per (submission, exercise).

The shape that keeps grading honest and robust (DESIGN.md §Grading):
- this process never imports or runs a submission's code; it reads the notebook
  as JSON, and computes every expected answer with the reference *before* any
  child starts;
- each submission's exercise cells run in a child process (``child.py``) under a
  wall-clock and memory limit, which sends back plain data (no pickles);
- when a child crashes, hangs or is killed, the exercise it was on loses its
  points, and the remaining exercises are run again in a fresh child;
- whatever a submission does, the run finishes and every submission gets a row
  for every exercise of its lecture.
"""
from __future__ import annotations

import ast
import csv
import hashlib
import inspect
import io
import json
import os
import re
import threading
import tokenize
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlcourse_utils.checks import EXERCISES, Exercise
from rlcourse_utils.checks.core import CaseResult, judge
from rlcourse_utils.checks.wire import CallOutcome, encode
from rlcourse_utils.grading import sandbox
from rlcourse_utils.grading.sandbox import SandboxMissing

GRADEBOOK_FIELDS = ["submission", "exercise", "points", "max_points", "reason"]


@dataclass(frozen=True)
class Limits:
    """What one submission may cost. Every deadline is enforced by the grader, not the child."""

    wall_seconds: float = 120.0  # the whole submission, all its grading processes together
    memory_bytes: int = 2 * 2**30  # address space of each grading process
    startup_seconds: float = 60.0  # from launch to the child's first word (Python and torch starting)
    step_slack_seconds: float = 2.0  # a cell or a case may take its exercise's timeout plus this
    sandbox: bool = True  # False only when the instructor accepts running submissions unsandboxed


@dataclass
class Row:
    submission: str
    exercise: str
    points: float
    max_points: float
    reason: str
    details: list[str] = field(default_factory=list)  # for the feedback file: every failing case


@dataclass
class _Prepared:
    """An exercise's hidden cases with the reference's answers, computed in this process."""

    exercise: Exercise
    cases: list
    wire_args: list
    expected: list


def prepare(exercises: list[Exercise], secret: str | None = None) -> dict[str, _Prepared]:
    """Each exercise's hidden cases, drawn with the instructor's ``secret``, and the reference's answers."""
    from rlcourse_utils.checks.core import expected_output

    prepared = {}
    for ex in exercises:
        cases = ex.hidden(secret)
        wire_args = [encode(list(case.args)) for case in cases]
        prepared[ex.id] = _Prepared(ex, cases, wire_args, [expected_output(ex, w) for w in wire_args])
    return prepared


# ---------------------------------------------------------------- reading a submission

def _dict(value: Any) -> dict:
    """``value`` if it is a mapping, else an empty one: metadata is whatever a submission says it is."""
    return value if isinstance(value, dict) else {}


def cell_source(cell: Any) -> str:
    """A cell's source as text, whatever the file holds (a missing or non-text source reads as empty)."""
    source = _dict(cell).get("source", "")
    if isinstance(source, list):
        source = "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


def code_cells(nb: Any) -> list[dict]:
    cells = _dict(nb).get("cells")
    return [c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"] if isinstance(cells, list) else []


def read_submission(path: Path) -> tuple[Any, str | None]:
    """The notebook as plain JSON data, or None and why it cannot be read. A stray byte that is not
    UTF-8 (in a markdown cell, say) becomes U+FFFD instead of costing the whole notebook."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
        nb = json.loads(text)
    except RecursionError:
        return None, "not a readable notebook (its JSON is nested too deeply)"
    except Exception as err:  # not JSON, unreadable file...
        first = str(err).splitlines()[0][:150] if str(err) else ""
        return None, f"not a readable notebook ({type(err).__name__}: {first})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, "not a readable notebook (no list of cells)"
    return nb, None


def normalize_lecture(value: Any) -> str | None:
    """"4", "04", 4 or "L04" -> "04"; None when it is not a lecture number."""
    match = re.fullmatch(r"[Ll]?0*(\d{1,2})", str(value).strip()) if value is not None else None
    return match.group(1).zfill(2) if match else None


def lectures_with_exercises() -> list[str]:
    return sorted({ex.lecture for ex in EXERCISES.values()})


def lecture_of(path: Path, nb: Any | None) -> str | None:
    """The lecture a submission claims: its metadata, else its exercise cells, else its file name."""
    if nb is not None:
        lecture = normalize_lecture(_dict(_dict(nb.get("metadata")).get("rlcourse")).get("lecture"))
        if lecture:
            return lecture
        for cell in code_cells(nb):
            exercise_id = _cell_exercise_id(cell)
            if exercise_id in EXERCISES:
                return EXERCISES[exercise_id].lecture
    match = re.match(r"(\d\d)_", path.name)
    return match.group(1) if match else None


def _cell_exercise_id(cell: Any) -> str | None:
    meta = _dict(_dict(cell).get("metadata"))
    ex_id = _dict(meta.get("rlcourse")).get("exercise") or _dict(meta.get("nbgrader")).get("grade_id")
    return ex_id if isinstance(ex_id, str) else None


def find_exercise_cell(nb: Any, ex: Exercise) -> str | None:
    """The source of the cell holding an exercise: by metadata id, else the cell that defines its function."""
    cells = code_cells(nb)
    for cell in cells:
        if _cell_exercise_id(cell) == ex.id:
            return cell_source(cell)
    # [ \t]* rather than \s*: with MULTILINE, \s* also eats newlines and the search turns quadratic
    # on a cell of many blank lines.
    defines = re.compile(rf"^[ \t]*def[ \t]+{ex.name}[ \t]*\(", re.MULTILINE)
    for cell in cells:
        if defines.search(cell_source(cell)):
            return cell_source(cell)
    return None


def uses_package(source: str) -> bool:
    """Whether a cell's code names the course package (it would be calling the reference)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return "rlcourse_utils" in source
    return any((t.type == tokenize.NAME and t.string in {"rlcourse_utils", "rcu"})
               or (t.type == tokenize.STRING and "rlcourse_utils" in t.string) for t in tokens)


def _syntax_error(source: str) -> str | None:
    try:
        ast.parse(source)
    except SyntaxError as err:
        return f"the exercise cell has a syntax error at line {err.lineno}: {err.msg}"
    except (RecursionError, MemoryError):
        return "the exercise cell is nested too deeply for Python to compile it"
    except ValueError as err:  # e.g. a NUL byte in the source
        return f"the exercise cell cannot be compiled ({err})"
    return None


# ---------------------------------------------------------------- running a child

_EVENT_KEYS = {"exec": {"exercise"}, "exec_done": {"exercise", "error"}, "call": {"exercise"},
               "case": {"exercise"}, "result": {"exercise", "outcomes", "missing"}}
_OUTCOME_KEYS = {"value", "error", "not_implemented", "printed", "inputs_after"}


def _valid_event(event: Any) -> bool:
    """Whether a line from the child has the shape the grader reads; anything else ends the reading."""
    if not isinstance(event, dict) or event.get("event") not in _EVENT_KEYS:
        return False
    if not _EVENT_KEYS[event["event"]] <= event.keys() or not isinstance(event["exercise"], str):
        return False
    if event["event"] == "exec_done" and not isinstance(event["error"], (str, type(None))):
        return False
    if event["event"] == "result":
        outcomes = event["outcomes"]
        return (isinstance(outcomes, list) and isinstance(event["missing"], bool)
                and all(isinstance(o, dict) and _OUTCOME_KEYS <= o.keys() for o in outcomes))
    return True


def run_submission(cells: dict[str, str], prepared: dict[str, _Prepared], limits: Limits) -> dict[str, Any]:
    """Run the exercises of one submission, restarting after crashes; return a per-exercise outcome.

    Each value is either a list of per-case outcome dicts, or a string saying why the
    exercise produced none (its cell crashed the process, it is missing...).
    """
    order = list(cells)
    results: dict[str, Any] = {}
    timeout = max(p.exercise.timeout for p in prepared.values())
    budget = limits.wall_seconds
    while True:
        pending = [ex_id for ex_id in order if ex_id not in results]
        if not pending:
            return results
        runnable_cells = [{"exercise": ex_id, "source": cells[ex_id]} for ex_id in order
                          if not isinstance(results.get(ex_id), str)]
        tasks = [{"exercise": ex_id, "function": prepared[ex_id].exercise.name,
                  "cases": prepared[ex_id].wire_args} for ex_id in pending]
        request = {"cells": runnable_cells, "tasks": tasks, "timeout": timeout, "memory_bytes": limits.memory_bytes}
        if budget <= 0:
            events, ending = [], "had used up the time budget of this submission"
        else:
            events, ending, spent = sandbox.run_child(request, limits.memory_bytes, limits.startup_seconds,
                                                      timeout + limits.step_slack_seconds, budget, limits.sandbox,
                                                      _valid_event)
            budget -= spent
        exec_errors = {e["exercise"]: e["error"] for e in events if e["event"] == "exec_done" and e["error"]}
        calling = None  # a result counts only right after the call it answers: lines the cells forge do not
        for e in events:
            if e["event"] == "call":
                calling = e["exercise"]
            elif e["event"] == "result":
                if e["exercise"] == calling and calling in pending and calling not in results:
                    if e["missing"]:
                        error = exec_errors.get(calling)
                        results[calling] = (f"running the exercise cell {error}" if error else
                                            f"the exercise cell does not define {prepared[calling].exercise.name}")
                    else:
                        results[calling] = e["outcomes"]
                calling = None
        if all(ex_id in results for ex_id in pending):
            continue
        if any(ex_id in results for ex_id in pending) and started_cleanly(events, pending, results):
            continue  # answers came back before the child stopped: run the rest in a fresh child
        if ending == "ok":
            ending = "exited before finishing"
        # The child died, hung or quit early: blame what it was doing last, and go on without it.
        started = [e for e in events if e["event"] in ("exec", "call", "case")]
        culprit = started[-1]["exercise"] if started else None
        if culprit not in pending or culprit in results:
            for ex_id in pending:  # nothing left to blame on one exercise: stop here, every run must progress
                results.setdefault(ex_id, f"the grading process {ending} before answering this exercise")
            continue
        stage = "running its cell" if started[-1]["event"] == "exec" else "calling it on the hidden cases"
        results[culprit] = f"the grading process {ending} while {stage}"


def started_cleanly(events: list[dict], pending: list[str], results: dict) -> bool:
    """Whether the child stopped while answering an exercise it already answered (so the exercises
    after it are innocent and worth a fresh child)."""
    started = [e for e in events if e["event"] in ("exec", "call", "case")]
    return bool(started) and started[-1]["event"] != "exec" and started[-1]["exercise"] in results


def grade_notebook(path: Path, lecture: str | None, prepared: dict[str, _Prepared], limits: Limits,
                   name: str, nb: Any = None, reveal: bool = False) -> list[Row]:
    """All gradebook rows of one submission; never raises."""
    exercises = [ex for ex in EXERCISES.values() if ex.lecture == lecture]
    if nb is None:
        nb, error = read_submission(path)
        if nb is None:
            return [Row(name, ex.id, 0.0, ex.points, error) for ex in exercises]

    rows: dict[str, Row] = {}
    cells: dict[str, str] = {}
    for ex in exercises:
        source = find_exercise_cell(nb, ex)
        if source is None:
            rows[ex.id] = Row(name, ex.id, 0.0, ex.points, f"exercise cell not found (no cell defines {ex.name})")
        elif (error := _syntax_error(source)) is not None:
            rows[ex.id] = Row(name, ex.id, 0.0, ex.points, error)
        elif uses_package(source):
            rows[ex.id] = Row(name, ex.id, 0.0, ex.points,
                              "the exercise cell calls the course package (rlcourse_utils), whose reference "
                              "implementation earns no points; the exercise must be your own code")
        else:
            cells[ex.id] = source

    outcomes = run_submission(cells, prepared, limits) if cells else {}
    for ex_id, outcome in outcomes.items():
        rows[ex_id] = _score(name, prepared[ex_id], outcome, reveal)
    return [rows[ex.id] for ex in exercises]


def _score(name: str, prep: _Prepared, outcome: Any, reveal: bool = False) -> Row:
    ex = prep.exercise
    if isinstance(outcome, str):
        return Row(name, ex.id, 0.0, ex.points, outcome)
    verdicts = []
    for number, (case, wire_args, expected, raw) in enumerate(
            zip(prep.cases, prep.wire_args, prep.expected, outcome), start=1):
        try:
            call = CallOutcome(value=raw["value"], error=raw["error"], not_implemented=bool(raw["not_implemented"]),
                               printed=int(raw["printed"]), gradients=raw.get("gradients"))
            verdicts.append(judge(ex, number, len(prep.cases), case, wire_args, expected, call, raw["inputs_after"],
                                  reveal=reveal))
        except Exception as err:  # an answer the wire format cannot read back: deep nesting, unknown tags...
            verdicts.append(CaseResult(False, f"case {number}/{len(prep.cases)}: the answer could not be read "
                                              f"back as plain numbers and arrays ({type(err).__name__})"))
    passed = sum(v.passed for v in verdicts)
    total = len(prep.cases)
    points = round(ex.points * passed / total, 2) if total else 0.0
    failures = [v.message for v in sorted(verdicts, key=lambda v: v.gradient_only) if not v.passed]
    if len(verdicts) < total:
        failures.append(f"only {len(verdicts)} of {total} cases produced an answer")
    if not failures:
        return Row(name, ex.id, points, ex.points, f"passed all {total} hidden cases")
    if any(v.not_implemented for v in verdicts):
        return Row(name, ex.id, points, ex.points, "not implemented (the stub raises NotImplementedError)", failures)
    return Row(name, ex.id, points, ex.points, f"passed {passed}/{total} hidden cases; first failure: {failures[0]}",
               failures)


# ---------------------------------------------------------------- the whole class

def submission_names(paths: list[Path]) -> list[str]:
    """Short unique names: the file stem, or the relative path where two stems collide."""
    stems = Counter(p.stem for p in paths)
    return [p.stem if stems[p.stem] == 1 else str(p.with_suffix("")).replace(os.sep, "__") for p in paths]


def expand(inputs: list[Path]) -> list[Path]:
    """Submissions from files and folders (a folder contributes its *.ipynb, recursively)."""
    paths: list[Path] = []
    for item in inputs:
        if item.is_dir():
            paths.extend(sorted(p for p in item.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts))
        else:
            paths.append(item)
    return paths


def grader_version(secret: str | None = None, reveal: bool = False) -> str:
    """A digest of what decides a grade (the checks and grader code, the references, the secret that
    draws the hidden cases, whether feedback reveals them): a rerun with any of these changed regrades."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(f"{secret}|{reveal}".encode())
    for path in sorted([*package.glob("checks/*.py"), *package.glob("grading/*.py")]):
        digest.update(path.name.encode() + path.read_bytes())
    for ex in sorted(EXERCISES.values(), key=lambda e: e.id):
        digest.update(inspect.getsource(ex.reference).encode())
    return digest.hexdigest()[:16]


def _text(value: Any, limit: int = 4000) -> str:
    """Text safe to write anywhere: valid UTF-8 (a lone surrogate becomes '?'), one line, bounded."""
    text = str(value).encode("utf-8", errors="replace").decode("utf-8")
    text = " ".join(text.split()) if "\n" in text or "\r" in text else text
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"


class Journal:
    """Rows as they are graded, one JSON line per submission, beside the gradebook.

    An interrupted run loses nothing already graded; a rerun skips every submission whose
    content, lecture and grader version are unchanged."""

    def __init__(self, out: Path, version: str):
        self.path = out.with_name(out.name + ".journal.jsonl")
        self.version = version
        self.entries: dict[str, dict] = {}
        self._lock = threading.Lock()
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                    self.entries[entry["submission"]] = entry
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by an interruption

    def done(self, name: str, digest: str) -> list[Row] | None:
        entry = self.entries.get(name)
        if entry is None or entry.get("digest") != digest or entry.get("version") != self.version:
            return None
        return [Row(**row) for row in entry["rows"]]

    def record(self, name: str, digest: str, rows: list[Row]) -> None:
        entry = {"submission": name, "digest": digest, "version": self.version,
                 "rows": [dict(vars(r)) for r in rows]}
        with self._lock:
            self.entries[name] = entry
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
                f.flush()
                os.fsync(f.fileno())


def _content_digest(path: Path, lecture: str | None) -> str:
    try:
        data = path.read_bytes()
    except OSError as err:
        data = repr(err).encode()
    return hashlib.sha256(data + f"|lecture={lecture}".encode()).hexdigest()


def grade(inputs: list[Path], out: Path, feedback_dir: Path | None = None, lecture: str | None = None,
          limits: Limits = Limits(), workers: int | None = None, progress: bool = True, secret: str | None = None,
          reveal: bool = False, ray_address: str | None = None) -> list[Row]:
    """Grade every submission; write the gradebook CSV and one feedback file per submission.

    ``secret`` seeds the hidden cases' random inputs (the instructor's; keep it out of the
    repository). Feedback names neither a hidden case's inputs nor its expected answer unless
    ``reveal``.

    ``lecture`` ("4", "04") grades every submission as that lecture; without it each submission's
    own metadata (or exercise cells, or file name) decides. A submission that claims another
    lecture than the rest of the batch is graded as the batch's lecture and flagged in its rows.
    Rows go to a journal as each submission finishes, so a rerun resumes where this one stopped.
    Submissions are graded ``workers`` at a time on this machine, or as tasks on the Ray cluster at
    ``ray_address`` ("local" starts one here), which gives the same gradebook.
    """
    if limits.sandbox and (why := sandbox.unavailable_reason()):
        raise SandboxMissing(f"refusing to grade without a sandbox: {why}. To grade anyway, accept that each "
                             "submission then runs with your user's rights, sees your files (the reference, "
                             "the other submissions) and the network: pass --unsandboxed (Limits(sandbox=False))")
    known_lectures = lectures_with_exercises()
    if lecture is not None:
        forced = normalize_lecture(lecture)
        if forced not in known_lectures:
            raise ValueError(f"there is no lecture {lecture!r} with exercises; the lectures are "
                             f"{', '.join(known_lectures)}")
    else:
        forced = None
    paths = expand(inputs)
    names = submission_names(paths)
    notebooks = [read_submission(p) for p in paths]
    claimed = [lecture_of(p, nb) for p, (nb, _) in zip(paths, notebooks)]
    usable = [c for c in claimed if c in known_lectures]
    batch = forced or (Counter(usable).most_common(1)[0][0] if usable else None)
    lectures = [forced or (c if c in known_lectures and c == batch else batch) for c in claimed]
    flags = [f"flagged: the notebook says lecture {c}, graded as lecture {batch} like the rest of the batch; "
             if c is not None and batch is not None and c != batch else "" for c in claimed]

    journal = Journal(out, grader_version(secret, reveal))
    digests = [_content_digest(p, lec) for p, lec in zip(paths, lectures)]
    per_submission: list[list[Row] | None] = [journal.done(n, d) for n, d in zip(names, digests)]
    todo = [i for i, rows in enumerate(per_submission) if rows is None]
    prepared = prepare([ex for ex in EXERCISES.values() if ex.lecture in {lectures[i] for i in todo}], secret)
    feedback_dir = feedback_dir or out.parent / "feedback"

    def record(i: int, rows: list[Row] | None, error: str = "") -> list[Row]:
        if rows is None:  # the worker itself failed (a lost Ray node, say): the submission still gets its rows
            rows = _failed_rows(names[i], lectures[i], error)
        rows = [Row(_text(r.submission), r.exercise, r.points, r.max_points, _text(flags[i] + r.reason),
                    [_text(d) for d in r.details]) for r in rows]
        journal.record(names[i], digests[i], rows)
        write_feedback([rows], [names[i]], [paths[i]], feedback_dir)
        return rows

    jobs = [(i, (paths[i], lectures[i], notebooks[i], names[i])) for i in todo]
    if ray_address:
        from rlcourse_utils.grading import cluster

        results = cluster.grade_on_ray(ray_address, jobs, prepared, limits, reveal, workers)
    else:
        def one(job: tuple) -> tuple[int, list[Row] | None, str]:
            i, args = job
            return i, grade_one(*args, prepared, limits, reveal), ""

        pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)
        results = pool.map(one, jobs)
    if progress:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(jobs), desc="grading", unit="submission")
    for i, rows, error in results:
        per_submission[i] = record(i, rows, error)
    if not ray_address:
        pool.shutdown()

    rows = [row for rows in per_submission for row in rows]
    write_gradebook(rows, out)
    write_feedback(per_submission, names, paths, feedback_dir)
    return rows


def grade_one(path: Path, lecture: str | None, notebook: tuple[Any, str | None], name: str,
              prepared: dict[str, _Prepared], limits: Limits, reveal: bool) -> list[Row]:
    """One submission's rows; never raises (it runs in a thread here or in a Ray worker)."""
    try:
        nb, error = notebook
        if lecture is None:
            return [Row(name, "?", 0.0, 0.0, error or f"cannot tell which lecture {path.name} belongs to "
                                                     "(pass --lecture NN)")]
        return grade_notebook(path, lecture, prepared, limits, name, nb, reveal)
    except Exception as err:  # the last line of defence: one submission never stops the class
        return _failed_rows(name, lecture, f"{type(err).__name__}: {err}")


def _failed_rows(name: str, lecture: str | None, why: str) -> list[Row]:
    reason = f"the grader could not grade this submission ({why})"
    return [Row(name, ex.id, 0.0, ex.points, reason) for ex in EXERCISES.values() if ex.lecture == lecture] or [
        Row(name, "?", 0.0, 0.0, reason)]


def write_gradebook(rows: list[Row], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(GRADEBOOK_FIELDS)
        for r in rows:
            writer.writerow([_text(r.submission), r.exercise, f"{r.points:g}", f"{r.max_points:g}", _text(r.reason)])
    tmp.replace(out)


def write_feedback(per_submission: list[list[Row]], names: list[str], paths: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, path, rows in zip(names, paths, per_submission):
        total, best = sum(r.points for r in rows), sum(r.max_points for r in rows)
        lines = [f"# Feedback for {_text(path.name)}", "", f"Total: {total:g} / {best:g} points", ""]
        for r in rows:
            lines += [f"## {r.exercise}: {r.points:g} / {r.max_points:g}", "", _text(r.reason), ""]
            lines += [f"- {_text(d)}" for d in r.details[1:6]] + ([""] if len(r.details) > 1 else [])
        safe_name = _text(name).replace("/", "_") or "submission"
        (folder / f"{safe_name}.md").write_text("\n".join(lines), encoding="utf-8")
