"""What a student opens in lectures/, and what the generated solutions/ store.

The experiments run once, in ``solutions/`` under nbval: a lecture and its solution execute the same
cells (a lecture's later cells call ``rcu.checks.use``, which hands them the reference while the
exercise is a stub), so running ``lectures/`` in full as well would run every experiment twice.
What only the student's copy can get wrong is tested here instead:

- every exercise stub runs, its check cell says "not implemented yet" (never a traceback), and
  ``rcu.checks.use`` falls back to the reference and says so;
- no later cell calls an exercise function directly (with the stub it would raise in the student's
  notebook, while the solution, where the function is filled in, runs fine).

And the stored solutions are clean: no stderr noise, plain numbers rather than numpy reprs.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from rlcourse_utils import build, checks

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def exercise_names(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Function name -> exercise id, for the exercises of a notebook."""
    ids = [build.exercise_id(c) for c in nb.cells if build.exercise_id(c)]
    return {checks.get(i).name: i for i in ids}


def python_source(cell: nbformat.NotebookNode) -> str:
    """A code cell's source without IPython magics and shell lines."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())


def is_check_or_use(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Attribute) and call.func.attr in {"check", "use"}


def direct_uses(source: str, names: set[str]) -> list[str]:
    """Exercise functions a cell refers to other than as the argument of ``check``/``use``."""
    tree = ast.parse(source)
    allowed = {id(arg) for node in ast.walk(tree) if isinstance(node, ast.Call) and is_check_or_use(node)
               for arg in node.args}
    return sorted({node.id for node in ast.walk(tree)
                   if isinstance(node, ast.Name) and node.id in names and id(node) not in allowed
                   and isinstance(node.ctx, ast.Load)})


def rebound_by_use(source: str) -> set[str]:
    """Names a cell rebinds to what ``rcu.checks.use`` returns (``fn = rcu.checks.use(ID, fn)``)."""
    return {target.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call) and is_check_or_use(node.value)
            and node.value.func.attr == "use" for target in node.targets if isinstance(target, ast.Name)}


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_no_cell_calls_an_exercise_stub_directly(path):
    nb = nbformat.read(str(path), as_version=4)
    names = exercise_names(nb)
    stubs = set(names)  # names that still hold the student's stub at this point of the notebook
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or build.exercise_id(cell):
            continue
        source = python_source(cell)
        for name in direct_uses(source, stubs):
            problems.append(f"cell {i} uses {name} directly: with the stub it raises in the student's notebook; "
                            f"take it from rcu.checks.use({names[name]!r}, {name})")
        stubs -= rebound_by_use(source)
    assert not problems, "\n".join(problems)


def test_a_direct_call_is_found_and_a_checked_one_is_not():
    names = {"gae"}
    assert direct_uses("rcu.checks.check('L03_gae', gae)\nf = rcu.checks.use('L03_gae', gae)", names) == []
    assert direct_uses("adv = gae(r, v, 0.9, 0.9)", names) == ["gae"]
    assert direct_uses("train(advantage_fn=gae)", names) == ["gae"]
    assert rebound_by_use("gae = rcu.checks.use('L03_gae', gae)") == {"gae"}


def scaffold(path: Path) -> tuple[nbformat.NotebookNode, list[str]]:
    """The lecture's first code cell, its exercise stubs and check cells, then one ``use`` per exercise."""
    nb = nbformat.read(str(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    keep = [code[0]] + [c for c in code[1:] if build.exercise_id(c) or c.source.strip().startswith("rcu.checks.check(")]
    ids = [build.exercise_id(c) for c in keep if build.exercise_id(c)]
    uses = "\n".join(f"rcu.checks.use({i!r}, {checks.get(i).name})" for i in ids)
    small = nbformat.v4.new_notebook(metadata=nb.metadata)
    small.cells = [nbformat.v4.new_code_cell(c.source) for c in keep] + [nbformat.v4.new_code_cell(uses)]
    return small, ids


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_a_fresh_lecture_reports_each_stub_and_falls_back_to_the_reference(path, tmp_path):
    nb, ids = scaffold(path)
    assert ids, f"{path.name} holds no exercise"
    build.execute(nb, tmp_path, cell_timeout=120)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.outputs if o.output_type == "stream")
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]["evalue"]
    for ex_id in ids:
        assert f"… {ex_id}: not implemented yet" in text, f"the check of {ex_id} did not say 'not implemented yet'"
        assert f"!! {ex_id}: your {checks.get(ex_id).name} is not used because it is not implemented yet" in text
    assert text.count("The cells below run the REFERENCE implementation") == len(ids)


NUMPY_REPR = re.compile(r"\bnp\.(float|int|uint|bool_|str_)\w*\(")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_stored_solutions_hold_no_stderr_and_no_numpy_reprs(path):
    nb = nbformat.read(str(path), as_version=4)
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stderr":
                problems.append(f"cell {i} stores stderr: {out.text.strip()[:200]!r}")
            text = out.get("text", "") if out.output_type == "stream" else out.get("data", {}).get("text/plain", "")
            if NUMPY_REPR.search(text):
                problems.append(f"cell {i} prints a numpy repr ({NUMPY_REPR.search(text).group(0)}...): print plain numbers")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_sources_speak_to_students(path):
    """No development notes in what students read, and one name for the full-size switch."""
    nb = nbformat.read(str(path), as_version=4)
    problems = []
    for i, cell in enumerate(nb.cells):
        if re.search(r"\bthe issue\b|\bissue's\b", cell.source, re.IGNORECASE):
            problems.append(f"cell {i} mentions 'the issue' (a development note, not course material)")
        if cell.cell_type == "code":
            for name in re.findall(r"^(\w*FULL\w*)\s*=", cell.source, re.MULTILINE):
                if name != "FULL":
                    problems.append(f"cell {i} names the full-size switch {name}; every notebook calls it FULL")
    assert not problems, "\n".join(problems)
