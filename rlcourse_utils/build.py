"""The solution builder: ``lectures/`` + reference implementations -> executed ``solutions/``.

Each exercise cell's stub is replaced by the verbatim source of its reference
function, a first cell says the notebook is generated and from what, and the
notebook is executed with nbclient (Jupyter's own machinery) so outputs and plots
are stored. ``drift`` reports where ``solutions/`` no longer matches what a
rebuild would produce (cell sources only; outputs may differ).
"""
from __future__ import annotations

import ast
import inspect
import time
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_core.utils import ensure_async
from jupyter_client.asynchronous import AsyncKernelClient
from nbclient import NotebookClient

from rlcourse_utils.checks import EXERCISES, Exercise

STUB_BODY = "    # YOUR CODE HERE\n    raise NotImplementedError"
GENERATED_TAG = "rlcourse-generated"


def course_root() -> Path:
    """The repository this package lives in (it holds lectures/ and solutions/)."""
    return Path(__file__).resolve().parents[1]


def reference_source(ex: Exercise) -> str:
    return inspect.getsource(ex.reference).rstrip("\n")


def stub_source(ex: Exercise) -> str:
    """The exercise cell students get: the reference's signature and docstring, then a stub."""
    source = reference_source(ex)
    func = ast.parse(source).body[0]
    docstring = func.body[0]
    if not (isinstance(func, ast.FunctionDef) and isinstance(docstring, ast.Expr)
            and isinstance(docstring.value, ast.Constant) and isinstance(docstring.value.value, str)):
        raise ValueError(f"{ex.reference_path} needs a docstring to become an exercise")
    header = source.splitlines()[: docstring.end_lineno]
    return "\n".join(header) + "\n" + STUB_BODY


def exercise_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("rlcourse", {}).get("exercise")


EXERCISE_NBGRADER = {"grade": False, "locked": False, "schema_version": 3, "solution": True}
CHECK_NBGRADER = {"grade": True, "locked": True, "schema_version": 3, "solution": False}


def exercise_cells(ex: Exercise) -> list[nbformat.NotebookNode]:
    """The three cells an exercise needs in its lecture: the stub (with its metadata), the check cell
    (nbgrader's graded cell), and a cell that takes the student's function, or the reference, onward."""
    stub = nbformat.v4.new_code_cell(stub_source(ex))
    stub.metadata["rlcourse"] = {"exercise": ex.id}
    stub.metadata["nbgrader"] = dict(EXERCISE_NBGRADER, grade_id=ex.id)
    check = nbformat.v4.new_code_cell(f"rcu.checks.check({ex.id!r}, {ex.name})".replace("'", '"'))
    check.metadata["nbgrader"] = dict(CHECK_NBGRADER, grade_id=f"{ex.id}_check", points=ex.points)
    use = nbformat.v4.new_code_cell(f"{ex.name} = rcu.checks.use({ex.id!r}, {ex.name})".replace("'", '"'))
    return [stub, check, use]


def insert_exercise(notebook: Path, ex: Exercise, after: int | None = None) -> None:
    """Add an exercise's three cells to a lecture notebook, after cell ``after`` (default: at the end)."""
    nb = nbformat.read(str(notebook), as_version=4)
    if any(exercise_id(c) == ex.id for c in nb.cells):
        raise SystemExit(f"{notebook.name} already holds {ex.id}")
    at = len(nb.cells) if after is None else after + 1
    nb.cells[at:at] = exercise_cells(ex)
    nbformat.write(nb, str(notebook))


def lecture_problems(path: Path) -> list[str]:
    """What is wrong with a lecture notebook as a source: stored outputs, stale or unknown stubs, an
    exercise without its nbgrader metadata or its check cell."""
    nb = nbformat.read(str(path), as_version=4)
    problems = []
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"{path.name} cell {i}: stores outputs (lectures/ are committed clean)")
        ex_id = exercise_id(cell)
        if ex_id is None:
            continue
        if ex_id not in EXERCISES:
            problems.append(f"{path.name} cell {i}: unknown exercise id {ex_id!r} (register it in "
                            "rlcourse_utils/checks/lecNN_*.py)")
            continue
        ex = EXERCISES[ex_id]
        if cell.source.rstrip() != stub_source(ex):
            problems.append(f"{path.name} cell {i}: the stub of {ex_id} differs from the reference's signature "
                            f"and docstring (print the right one with `rlcourse stub {ex_id}`)")
        wanted = dict(EXERCISE_NBGRADER, grade_id=ex_id)
        if cell.metadata.get("nbgrader") != wanted:
            problems.append(f"{path.name} cell {i}: the nbgrader metadata of {ex_id} should be {wanted} "
                            f"(`rlcourse stub {ex_id} --insert` writes it)")
        if f'rcu.checks.check("{ex_id}", {ex.name})' not in sources:
            problems.append(f"{path.name}: no check cell `rcu.checks.check(\"{ex_id}\", {ex.name})` for {ex_id}")
    return problems


def build_solution(lecture: Path) -> nbformat.NotebookNode:
    """The unexecuted solution notebook of one lecture."""
    nb = nbformat.read(str(lecture), as_version=4)
    used = []
    for cell in nb.cells:
        ex_id = exercise_id(cell)
        if ex_id is not None:
            ex = EXERCISES[ex_id]
            cell.source = reference_source(ex)
            used.append(f"`{ex.reference.__module__}.{ex.name}`")
    banner = nbformat.v4.new_markdown_cell(
        f"**AUTOGENERATED, DO NOT EDIT.** Generated by `rlcourse solutions` from `lectures/{lecture.name}`, "
        f"with each exercise filled in from its reference implementation ({', '.join(used) or 'none'}). "
        "Edit those files and regenerate.")
    banner.metadata["tags"] = [GENERATED_TAG]
    banner.id = "generated-banner"
    nb.cells.insert(0, banner)
    nb.metadata.setdefault("rlcourse", {})["generated_from"] = f"lectures/{lecture.name}"
    return nb


def poll_in_steps(channel, step: float = 1.0) -> None:
    """Make ``channel.get_msg(timeout)`` wait in polls of at most ``step`` seconds, same deadline.

    After a cell that opens ipywidgets comms, nbclient's single long poll of the shell channel can
    miss a reply that has already arrived and sleep until the cell timeout (nbclient issue #312:
    measured here as a 300 s stall after Lecture 16's slider cell, in several rebuilds). A fresh poll
    sees a queued message at once, so a stall now lasts at most ``step``.
    """
    get_msg = channel.get_msg

    async def stepped(timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = step if deadline is None else min(step, max(0.0, deadline - time.monotonic()))
            try:
                return await ensure_async(get_msg(timeout=wait))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    channel.get_msg = stepped


class SteppedAsyncKernelClient(AsyncKernelClient):
    """jupyter_client's async kernel client with its shell channel polled in steps (see ``poll_in_steps``). nbgrader
    executes notebooks through nbclient too; the course's ``nbgrader_config.py`` makes its kernel managers hand out
    this client (``c.AsyncKernelManager.client_class``), so autograde does not stall either."""

    def start_channels(self, *args, **kwargs) -> None:
        super().start_channels(*args, **kwargs)
        poll_in_steps(self.shell_channel)


class _Client(NotebookClient):
    """nbclient's NotebookClient with the shell channel polled in steps (see ``poll_in_steps``)."""

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        poll_in_steps(kc.shell_channel)
        return kc


def execute(nb: nbformat.NotebookNode, workdir: Path, cell_timeout: int = 300) -> float:
    """Execute a notebook in place with nbclient; return the wall time in seconds."""
    start = time.perf_counter()
    _Client(nb, timeout=cell_timeout, kernel_name="python3",
            resources={"metadata": {"path": str(workdir)}}).execute()
    return time.perf_counter() - start


def lectures(root: Path, selected: list[str] | None = None) -> list[Path]:
    paths = sorted((root / "lectures").glob("[0-9][0-9]_*.ipynb"))
    if selected:
        wanted = {s.zfill(2) for s in selected}
        paths = [p for p in paths if p.name[:2] in wanted]
        missing = wanted - {p.name[:2] for p in paths}
        if missing:
            raise SystemExit(f"no lecture notebook numbered {', '.join(sorted(missing))} in {root / 'lectures'}")
    return paths


def build(root: Path, selected: list[str] | None = None, progress: bool = True) -> dict[str, float]:
    """Rebuild and execute solutions/ for the selected lectures (all by default); return run times."""
    from tqdm.auto import tqdm

    paths = lectures(root, selected)
    problems = [p for path in paths for p in lecture_problems(path)]
    if problems:
        raise SystemExit("cannot build solutions:\n  " + "\n  ".join(problems))
    out_dir = root / "solutions"
    out_dir.mkdir(exist_ok=True)
    times = {}
    for path in tqdm(paths, desc="solutions", unit="lecture", disable=not progress):
        nb = build_solution(path)
        times[path.name] = execute(nb, out_dir)
        nbformat.write(nb, str(out_dir / path.name))
    return times


def drift(root: Path, selected: list[str] | None = None) -> list[str]:
    """Where solutions/ differs from a rebuild of lectures/ + the reference (cell types and sources),
    for the selected lectures (all by default)."""
    problems = []
    lecture_paths = lectures(root, selected)
    for path in lecture_paths:
        target = root / "solutions" / path.name
        if not target.exists():
            problems.append(f"solutions/{path.name} is missing")
            continue
        expected = [(c.cell_type, c.source) for c in build_solution(path).cells]
        actual = [(c.cell_type, c.source) for c in nbformat.read(str(target), as_version=4).cells]
        if expected != actual:
            first = next((i for i, (e, a) in enumerate(zip(expected, actual)) if e != a), min(len(expected), len(actual)))
            problems.append(f"solutions/{path.name} differs from lectures/{path.name} + the reference at cell {first}")
    if not selected:
        names = {p.name for p in lecture_paths}
        problems += [f"solutions/{p.name} has no lecture" for p in sorted((root / "solutions").glob("*.ipynb"))
                     if p.name not in names]
    return problems
