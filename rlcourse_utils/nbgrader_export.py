"""The course as an nbgrader ``source/`` tree: ``rlcourse nbgrader [NN ...] --out DIR``.

nbgrader's own commands then work on it as they do on any assignment:

- ``generate_assignment`` keeps each exercise's signature and docstring and replaces only what lies
  between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (the reference body) with its stub, so the
  released notebook reads as ``lectures/`` does;
- the check cell below each exercise prints its one-line public verdict, as in ``lectures/``, and
  carries between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` (removed from the released
  copy, restored by ``autograde``) a call to ``rcu.checks.hidden_score``, whose value, points × the
  fraction of hidden cases passed, nbgrader reads as the cell's partial credit: 0 for an untouched
  stub, full marks for a right answer, part for a partly right one. A student running the released
  notebook never meets an exception from a check cell;
- ``export`` writes the grades.

The hidden cases are drawn with the RLCOURSE_GRADER_SECRET environment variable of the process
that runs ``nbgrader autograde``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat

from rlcourse_utils import build
from rlcourse_utils.checks import EXERCISES, Exercise

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def solution_cell_source(ex: Exercise) -> str:
    """The exercise's reference, its body fenced by nbgrader's solution delimiters."""
    source = build.reference_source(ex)
    func = ast.parse(source).body[0]
    lines = source.splitlines()
    header, body = lines[: func.body[0].end_lineno], lines[func.body[0].end_lineno:]
    indent = " " * func.body[0].col_offset
    return "\n".join([*header, indent + BEGIN, *body, indent + END])


def check_cell_source(ex: Exercise, check_source: str) -> str:
    """The public check, then the hidden tests that only ``autograde`` runs."""
    return (f"{check_source.rstrip()}\n{BEGIN_HIDDEN}\n"
            f"rcu.checks.hidden_score({ex.id!r}, {ex.name})\n{END_HIDDEN}")


def source_notebook(lecture: Path) -> nbformat.NotebookNode:
    """A lecture as nbgrader's source version: solutions fenced, hidden tests in the check cells."""
    nb = nbformat.read(str(lecture), as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        ex_id = build.exercise_id(cell)
        if ex_id is not None:
            cell.source = solution_cell_source(EXERCISES[ex_id])
            cell.metadata["nbgrader"] = {"grade": False, "grade_id": ex_id, "locked": False, "schema_version": 3,
                                         "solution": True}
        elif meta and meta.get("grade") and str(meta.get("grade_id", "")).endswith("_check"):
            ex = EXERCISES[meta["grade_id"][: -len("_check")]]
            cell.source = check_cell_source(ex, cell.source)
    return nb


def export(root: Path, out: Path, selected: list[str] | None = None) -> list[Path]:
    """Write ``out/source/<lecture>/<lecture>.ipynb`` for the selected lectures (all by default)."""
    written = []
    for lecture in build.lectures(root, selected):
        target = out / "source" / lecture.stem / lecture.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(source_notebook(lecture), str(target))
        written.append(target)
    config = out / "nbgrader_config.py"
    if not config.exists():
        config.write_text("c = get_config()  # noqa: F821  (nbgrader runs in this folder: it is the course root)\n"
                          "# Each check cell's hidden tests read the instructor's secret from the environment:\n"
                          "#   RLCOURSE_GRADER_SECRET=... nbgrader autograde <lecture>\n"
                          "c.Execute.timeout = 300  # a lecture cell trains an agent: allow it minutes, not 30 s\n"
                          "# nbclient can miss a reply that has already arrived and wait out the whole timeout\n"
                          "# (nbclient issue #312, seen here as 300 s stalls): poll the kernel's shell channel in steps\n"
                          "c.AsyncKernelManager.client_class = 'rlcourse_utils.build.SteppedAsyncKernelClient'\n")
    return written
