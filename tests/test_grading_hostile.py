"""Submissions built to crash or stall the grader: whatever one contains, the run finishes, every other
submission keeps its grade, and each row gives a reason. Reruns resume; lectures are named safely."""
import csv
import json
import threading

import nbformat
import pytest

from rlcourse_utils import build, checks, cli, grading
from test_grading import IDS, LEC01, LIMITS, UNSANDBOXED_FLAG, notebook

FORGE_EVENTS = '''import os, json
for fd in os.listdir("/proc/self/fd"):  # every pipe it holds, the grader's among them
    try:
        if int(fd) > 2 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
            os.write(int(fd), b"[1, 2, 3]\\n")
    except OSError:
        pass
os._exit(0)'''
UNKNOWN_TAG = '''def bc_loss(logits, expert_actions):
    import os, json
    line = json.dumps({"event": "result", "exercise": "L01_bc_loss", "missing": False,
                       "outcomes": [{"value": {"__wire__": "no-such-tag"}, "error": None, "not_implemented": False,
                                     "printed": 0, "inputs_after": [], "timed_out": False}] * 7}) + "\\n"
    for fd in os.listdir("/proc/self/fd"):  # answers for itself, then quits: the grader must not choke on the tag
        try:
            if int(fd) > 2 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                os.write(int(fd), line.encode())
        except OSError:
            pass
    os._exit(0)'''
DEEP_VALUE = "def bc_loss(logits, expert_actions):\n    x = 0.0\n    for _ in range(3000):\n        x = [x]\n    return x"
SURROGATE = "def bc_loss(logits, expert_actions):\n    raise ValueError('bad \\udc80 byte')"
LONG_EXPRESSION = "def bc_loss(logits, expert_actions):\n    return " + " + ".join(["logits.sum()"] * 3000)


def hostile_submissions() -> dict[str, bytes]:
    def dump(nb) -> bytes:
        return nbformat.writes(nb).encode()

    def edited(fn) -> bytes:
        data = json.loads(dump(notebook()))
        fn(data)
        return json.dumps(data).encode()

    stray_byte = dump(notebook()).replace(b'"import rlcourse_utils as rcu', b'"import rlcourse_utils as rcu \xff', 1)
    return {
        "01_forged_events": dump(notebook({"L01_bc_loss": FORGE_EVENTS})),
        "01_unknown_tag": dump(notebook({"L01_bc_loss": UNKNOWN_TAG})),
        "01_deep_value": dump(notebook({"L01_bc_loss": DEEP_VALUE})),
        "01_surrogate": dump(notebook({"L01_bc_loss": SURROGATE})),
        "01_long_expression": dump(notebook({"L01_bc_loss": LONG_EXPRESSION})),
        "01_zoë_✓": dump(notebook()),
        "01_metadata_string": edited(lambda d: d["metadata"].update(rlcourse="a string")),
        "01_cell_metadata_string": edited(lambda d: d["cells"][1]["metadata"].update(rlcourse="x", nbgrader=[1])),
        "01_no_source": edited(lambda d: d["cells"][0].pop("source")),
        "01_stray_byte": stray_byte,
        "01_cells_not_a_list": b'{"cells": "nope", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
        "01_good": dump(notebook()),
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    for name, data in hostile_submissions().items():
        (folder / f"{name}.ipynb").write_bytes(data)
    out = tmp_path_factory.mktemp("out") / "gradebook.csv"
    grading.grade([folder], out, limits=LIMITS, workers=2, progress=False)
    with out.open(encoding="utf-8") as f:
        rows = {(r["submission"], r["exercise"]): r for r in csv.DictReader(f)}
    return rows, out


def test_every_hostile_submission_gets_a_row_per_exercise_with_a_reason(hostile):
    rows, _ = hostile
    names = set(hostile_submissions())
    assert set(rows) == {(n, e) for n in names for e in IDS}
    assert all(r["reason"] for r in rows.values())


def test_the_attacks_cost_only_their_own_points(hostile):
    rows, _ = hostile
    full = {ex.id: ex.points for ex in LEC01}
    reason = lambda s, e="L01_bc_loss": rows[(s, e)]["reason"]  # noqa: E731
    for name in ("01_forged_events", "01_unknown_tag", "01_deep_value", "01_surrogate", "01_long_expression"):
        assert float(rows[(name, "L01_bc_loss")]["points"]) == 0, (name, reason(name))
        for ex_id in set(IDS) - {"L01_bc_loss"}:
            assert float(rows[(name, ex_id)]["points"]) == full[ex_id], (name, ex_id, reason(name, ex_id))
    assert "could not be read back" in reason("01_unknown_tag")
    assert "could not be read back" in reason("01_deep_value") or "nested" in reason("01_deep_value")
    assert "ValueError" in reason("01_surrogate") and "?" in reason("01_surrogate")
    assert "nested too deeply" in reason("01_long_expression")
    for name in ("01_zoë_✓", "01_metadata_string", "01_cell_metadata_string", "01_no_source", "01_stray_byte",
                 "01_good"):
        for ex_id in IDS:
            assert float(rows[(name, ex_id)]["points"]) == full[ex_id], (name, ex_id, reason(name, ex_id))
    assert all("not a readable notebook" in reason("01_cells_not_a_list", e) for e in IDS)


def test_feedback_files_are_written_for_odd_names(hostile):
    _, out = hostile
    text = (out.parent / "feedback" / "01_zoë_✓.md").read_text(encoding="utf-8")
    assert "Total: 10 / 10 points" in text


def test_a_cell_of_300k_blank_lines_is_searched_in_linear_time():
    ex = checks.get("L01_bc_loss")
    nb = {"cells": [{"cell_type": "code", "source": "\n" * 300_000 + "x = 1"}]}
    found = []
    worker = threading.Thread(target=lambda: found.append(grading.find_exercise_cell(nb, ex)), daemon=True)
    worker.start()
    worker.join(timeout=30)  # the quadratic search takes minutes here; the linear one milliseconds
    assert found == [None]


def test_a_rerun_resumes_and_regrades_only_what_changed(tmp_path, monkeypatch):
    folder = tmp_path / "subs"
    folder.mkdir()
    nbformat.write(notebook(), str(folder / "01_alice.ipynb"))
    nbformat.write(notebook({ex.id: build.stub_source(ex) for ex in LEC01}), str(folder / "01_bob.ipynb"))
    out = tmp_path / "gradebook.csv"
    first = grading.grade([folder], out, limits=LIMITS, workers=1, progress=False)
    journal = out.with_name(out.name + ".journal.jsonl")
    assert len(journal.read_text(encoding="utf-8").splitlines()) == 2

    graded = []
    real = grading.grade_notebook
    monkeypatch.setattr(grading, "grade_notebook", lambda path, *a, **k: graded.append(path.name) or real(path, *a, **k))
    assert grading.grade([folder], out, limits=LIMITS, workers=1, progress=False) == first
    assert graded == []                                   # nothing changed: nothing regraded
    nbformat.write(notebook(), str(folder / "01_bob.ipynb"))
    rows = grading.grade([folder], out, limits=LIMITS, workers=1, progress=False)
    assert graded == ["01_bob.ipynb"]                     # only the changed submission
    assert sum(r.points for r in rows if r.submission == "01_bob") == sum(ex.points for ex in LEC01)


def test_lecture_numbers_are_read_safely(tmp_path, capsys):
    nbformat.write(notebook(), str(tmp_path / "alice.ipynb"))
    out = tmp_path / "gb.csv"
    args = ["grade", str(tmp_path / "alice.ipynb"), "--out", str(out), *UNSANDBOXED_FLAG]
    assert cli.main([*args, "--lecture", "1"]) == 0
    assert cli.main([*args, "--lecture", "42"]) == 2
    assert "there is no lecture '42'" in capsys.readouterr().err
    assert grading.normalize_lecture("4") == grading.normalize_lecture("04") == "04"
    assert grading.normalize_lecture("four") is None


def test_a_notebook_that_claims_another_lecture_is_flagged(tmp_path):
    for name in ("01_a", "01_b"):
        nbformat.write(notebook(), str(tmp_path / f"{name}.ipynb"))
    odd = notebook()
    odd.metadata["rlcourse"] = {"lecture": "04"}
    nbformat.write(odd, str(tmp_path / "01_c.ipynb"))
    rows = grading.grade([tmp_path], tmp_path / "out" / "gb.csv", limits=LIMITS, workers=1, progress=False)
    flagged = [r for r in rows if r.submission == "01_c"]
    assert {r.exercise for r in flagged} == set(IDS)
    assert all(r.reason.startswith("flagged: the notebook says lecture 04") for r in flagged)
    assert not any("flagged" in r.reason for r in rows if r.submission != "01_c")


def test_the_cli_refuses_bad_numbers_and_names_without_a_traceback(tmp_path, capsys):
    assert cli.main(["stub", "L99_nope"]) == 2
    assert "no exercise 'L99_nope'" in capsys.readouterr().err
    for workers in ("0", "-1"):
        with pytest.raises(SystemExit):
            cli.main(["grade", str(tmp_path), "--workers", workers])
        assert "at least 1" in capsys.readouterr().err
    assert cli.main(["grade", str(tmp_path), "--out", str(tmp_path / "gb.csv")]) == 2
    assert "no notebooks" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("hello")
    rows = grading.grade([tmp_path / "notes.txt"], tmp_path / "gb.csv", lecture="01", limits=LIMITS, workers=1,
                         progress=False)
    assert all("not a readable notebook" in r.reason for r in rows)


def test_feedback_hides_hidden_inputs_and_answers_unless_asked(tmp_path):
    wrong = notebook({"L01_stack_history": ("def stack_history(obs, episode_start, k):\n"
                                            "    return np.zeros_like(np.concatenate([obs] * k, axis=-1))")})
    nbformat.write(wrong, str(tmp_path / "01_wrong.ipynb"))
    hidden = grading.grade([tmp_path / "01_wrong.ipynb"], tmp_path / "a" / "gb.csv", limits=LIMITS, workers=1,
                           progress=False, secret="s3cret")
    reason = next(r.reason for r in hidden if r.exercise == "L01_stack_history")
    assert "differs from the expected values at" in reason and "Inputs:" not in reason, reason
    shown = grading.grade([tmp_path / "01_wrong.ipynb"], tmp_path / "b" / "gb.csv", limits=LIMITS, workers=1,
                          progress=False, secret="s3cret", reveal=True)
    reason = next(r.reason for r in shown if r.exercise == "L01_stack_history")
    assert "Inputs:" in reason, reason


def test_a_local_ray_cluster_gives_the_same_gradebook(tmp_path):
    import ray

    folder = tmp_path / "subs"
    folder.mkdir()
    nbformat.write(notebook(), str(folder / "01_alice.ipynb"))
    nbformat.write(notebook({"L01_bc_loss": "def bc_loss(logits, expert_actions):\n    return logits.sum()"}),
                   str(folder / "01_bob.ipynb"))
    (folder / "01_broken.ipynb").write_text("{not json")
    on_threads = grading.grade([folder], tmp_path / "a" / "gb.csv", limits=LIMITS, workers=2, progress=False,
                               secret="s")
    on_ray = grading.grade([folder], tmp_path / "b" / "gb.csv", limits=LIMITS, workers=2, progress=False,
                           secret="s", ray_address="local")
    assert not ray.is_initialized()  # the Ray instance it started is stopped again
    assert on_ray == on_threads
    assert (tmp_path / "a" / "gb.csv").read_text() == (tmp_path / "b" / "gb.csv").read_text()
