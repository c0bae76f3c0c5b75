"""Grading a folder that mixes good and broken submissions: every row is there, only the broken lose points."""
import csv
import os
from pathlib import Path

import nbformat
import pytest

from rlcourse_utils import build, checks, grading
from rlcourse_utils.grading import sandbox

# Grading runs each submission in a bubblewrap sandbox. Where bwrap is missing the grading tests run
# unsandboxed and the sandbox's own tests skip, except in CI, where .ci/run installs bubblewrap and sets
# RLCOURSE_REQUIRE_SANDBOX=1 so that a missing sandbox fails the run.
SANDBOX_MISSING = sandbox.unavailable_reason()
if SANDBOX_MISSING and os.environ.get("RLCOURSE_REQUIRE_SANDBOX"):
    raise RuntimeError(f"RLCOURSE_REQUIRE_SANDBOX is set but {SANDBOX_MISSING}")
SANDBOXED = SANDBOX_MISSING is None
LIMITS = grading.Limits(wall_seconds=60, sandbox=SANDBOXED)
UNSANDBOXED_FLAG = [] if SANDBOXED else ["--unsandboxed"]

LEC01 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "01"]
IDS = [ex.id for ex in LEC01]


def notebook(overrides=None, metadata=True, drop=()):
    """A submission of lecture 01: every exercise solved with the reference unless overridden."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["rlcourse"] = {"lecture": "01"}
    nb.cells.append(nbformat.v4.new_code_cell("import rlcourse_utils as rcu  # setup cells are not graded"))
    for ex in LEC01:
        if ex.id in drop:
            continue
        source = (overrides or {}).get(ex.id, build.reference_source(ex))
        cell = nbformat.v4.new_code_cell(source)
        if metadata:
            cell.metadata["rlcourse"] = {"exercise": ex.id}
        nb.cells.append(cell)
    return nb


SUBMISSIONS = {
    "01_good": notebook(),
    "01_no_metadata": notebook(metadata=False),
    "01_stub": notebook({ex.id: build.stub_source(ex) for ex in LEC01}),
    "01_broken": notebook({
        "L01_bc_loss": "def bc_loss(logits, expert_actions):\n    while True:\n        pass",
        "L01_dagger_aggregate": "def dagger_aggregate(a, b, c, d, e)\n    return a",
        "L01_mog_log_likelihood": ("def mog_log_likelihood(logits, means, log_stds, actions):\n"
                                   "    print('spam ' * 10**6)\n"
                                   "    return torch.full(logits.shape[:1], float('nan')) + 0 * logits.sum()"),
    }),
    "01_crashes": notebook({"L01_stack_history": "import os\nos._exit(3)",
                            # in the sandbox the child is its PID namespace's init, which ignores a SIGKILL it sends
                            # itself; a segmentation fault still ends it
                            "L01_bc_loss": "import ctypes\nctypes.string_at(0)"}),
    "01_wrong_shapes": notebook({
        "L01_stack_history": "def stack_history(obs, episode_start, k):\n    return obs",
        # right value, wrong gradient: d loss / d logits doubled, caught by the gradient comparison
        "L01_mog_log_likelihood": ("def mog_log_likelihood(logits, means, log_stds, actions):\n"
                                   "    log_w = torch.log_softmax(logits, -1)\n"
                                   "    z = (actions.unsqueeze(-2) - means) / log_stds.exp()\n"
                                   "    ln = (-0.5 * z**2 - log_stds - 0.5 * np.log(2 * np.pi)).sum(-1)\n"
                                   "    out = torch.logsumexp(log_w + ln, -1)\n"
                                   "    return out + (out - out.detach())"),
        "L01_bc_loss": "def bc_loss(logits, expert_actions):\n    return 1 / 0"}),
    "01_cheats": notebook({
        "L01_bc_loss": "import rlcourse_utils\nbc_loss = rlcourse_utils.imitation.bc_loss",
        "L01_dagger_aggregate": ("import importlib\nm = importlib.import_module('rlcourse' + '_utils.imitation')\n"
                                 "dagger_aggregate = m.dagger_aggregate"),
        # Tampering with the comparison can only touch the child: comparing happens in the grader.
        "L01_stack_history": ("import numpy\nnumpy.isclose = lambda *a, **k: numpy.array(True)\n"
                              "numpy.allclose = lambda *a, **k: True\n"
                              "def stack_history(obs, episode_start, k):\n    return obs * 0"),
    }),
    "01_memory_hog": notebook({"L01_mog_log_likelihood": "import numpy\nx = numpy.ones((2**31,))"}),
    "01_missing_cells": notebook(drop=("L01_bc_loss", "L01_mog_log_likelihood")),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    for name, nb in SUBMISSIONS.items():
        nbformat.write(nb, str(folder / f"{name}.ipynb"))
    (folder / "01_not_json.ipynb").write_text("{this is not a notebook")
    (folder / "01_empty.ipynb").write_text("")
    out = tmp_path_factory.mktemp("out") / "gradebook.csv"
    grading.grade([folder], out, limits=LIMITS, workers=2, progress=False)
    with out.open() as f:
        rows = {(r["submission"], r["exercise"]): r for r in csv.DictReader(f)}
    return rows, out


def points(rows, submission, exercise):
    return float(rows[(submission, exercise)]["points"])


def test_gradebook_is_complete(graded):
    rows, out = graded
    names = set(SUBMISSIONS) | {"01_not_json", "01_empty"}
    assert set(rows) == {(n, e) for n in names for e in IDS}
    assert next(csv.reader(out.open())) == grading.GRADEBOOK_FIELDS
    for r in rows.values():
        assert 0 <= float(r["points"]) <= float(r["max_points"]) and r["reason"]


def test_good_submissions_get_full_marks(graded):
    rows, _ = graded
    for name in ("01_good", "01_no_metadata"):
        for ex in LEC01:
            assert points(rows, name, ex.id) == ex.points, rows[(name, ex.id)]["reason"]
            assert rows[(name, ex.id)]["reason"].startswith("passed all")


def test_each_broken_exercise_loses_only_its_own_points(graded):
    rows, _ = graded
    reason = lambda s, e: rows[(s, e)]["reason"]  # noqa: E731
    assert "not implemented" in reason("01_stub", "L01_bc_loss")
    assert "did not return" in reason("01_broken", "L01_bc_loss")
    assert "syntax error at line 1" in reason("01_broken", "L01_dagger_aggregate")
    assert "NaN" in reason("01_broken", "L01_mog_log_likelihood")
    assert points(rows, "01_broken", "L01_stack_history") == 3
    assert "exited with code 3" in reason("01_crashes", "L01_stack_history")
    assert "SIGSEGV" in reason("01_crashes", "L01_bc_loss")
    assert points(rows, "01_crashes", "L01_mog_log_likelihood") == 3
    assert points(rows, "01_crashes", "L01_dagger_aggregate") == 2
    assert "shape" in reason("01_wrong_shapes", "L01_stack_history")
    assert "ZeroDivisionError" in reason("01_wrong_shapes", "L01_bc_loss")
    assert "the gradient of sum(result)" in reason("01_wrong_shapes", "L01_mog_log_likelihood")
    assert "out of memory" in reason("01_memory_hog", "L01_mog_log_likelihood")
    assert points(rows, "01_memory_hog", "L01_bc_loss") == 2
    assert "exercise cell not found" in reason("01_missing_cells", "L01_bc_loss")
    assert points(rows, "01_missing_cells", "L01_stack_history") == 3
    for name in ("01_not_json", "01_empty"):
        assert all("not a readable notebook" in reason(name, e) for e in IDS)
    for name in ("01_stub", "01_broken", "01_crashes", "01_wrong_shapes", "01_cheats"):
        assert sum(points(rows, name, e) for e in IDS) < sum(ex.points for ex in LEC01)


def test_calling_the_reference_or_tampering_earns_nothing(graded):
    rows, _ = graded
    assert "calls the course package" in rows[("01_cheats", "L01_bc_loss")]["reason"]
    assert "not available while grading" in rows[("01_cheats", "L01_dagger_aggregate")]["reason"]
    assert points(rows, "01_cheats", "L01_stack_history") == 0
    assert points(rows, "01_cheats", "L01_mog_log_likelihood") == 3


def test_one_feedback_file_per_submission(graded):
    _, out = graded
    files = sorted((out.parent / "feedback").glob("*.md"))
    assert len(files) == len(SUBMISSIONS) + 2
    text = (out.parent / "feedback" / "01_broken.md").read_text()
    assert "Total: 3 / 10 points" in text and "## L01_bc_loss: 0 / 2" in text


def test_cli_grades_and_reports_missing_paths(tmp_path, capsys):
    from rlcourse_utils import cli

    nbformat.write(notebook(), str(tmp_path / "01_alice.ipynb"))
    assert cli.main(["grade", str(tmp_path / "01_alice.ipynb"), "--out", str(tmp_path / "gb.csv"), *UNSANDBOXED_FLAG]) == 0
    assert "graded 1 submissions, 4 rows" in capsys.readouterr().out
    assert cli.main(["grade", str(tmp_path / "nope.ipynb"), "--out", str(tmp_path / "gb.csv")]) == 2
