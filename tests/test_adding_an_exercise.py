"""The README's "Adding an exercise" steps, followed literally on a copy of the package: a new lecture
gets a new exercise, its solution builds, and the exercise-wide tests pass on it."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from rlcourse_utils.checks.wire import PREAMBLE

ROOT = Path(__file__).resolve().parents[1]

REFERENCE = '''

def discounted_sum(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """Σ_t γ^t r_t along the leading (time) axis.

    Args:
        rewards: (T, ...) rewards.  gamma: discount in [0, 1].
    Returns:
        (...) float array. Lecture 99 §demo.
    """
    weights = gamma ** np.arange(len(rewards), dtype=np.float64)
    return np.tensordot(weights, np.asarray(rewards, dtype=np.float64), axes=1)
'''

CHECKS = '''"""Lecture 99's exercises (a demo added by following the README)."""
import numpy as np

from rlcourse_utils import returns
from rlcourse_utils.checks.core import Case, Exercise


def public() -> list[Case]:
    return [Case((np.array([1.0, 1.0, 1.0]), 0.5), "1 + 0.5 + 0.25 = 1.75"),
            Case((np.ones((4, 2)), 1.0), "(T, N) = (4, 2), γ = 1: 4 per column")]


def hidden(rng: np.random.Generator) -> list[Case]:
    return [Case((rng.normal(size=(t, n)), float(rng.uniform(0.5, 1.0))), f"random T={t}, N={n}")
            for t, n in [(5, 3), (9, 1), (2, 7)]]


EXERCISES = [Exercise("L99_discounted_sum", returns.discounted_sum, public, hidden, points=1,
                      hint="weight r_t by γ^t and sum over time")]
'''


def run(copy: Path, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(copy))
    done = subprocess.run([sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def test_the_readme_steps_add_a_working_exercise(tmp_path):
    copy = tmp_path / "course"
    shutil.copytree(ROOT / "rlcourse_utils", copy / "rlcourse_utils", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", copy / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "lectures").mkdir()
    lecture = copy / "lectures" / "99_demo.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Lecture 99 · demo"),
                nbformat.v4.new_code_cell(PREAMBLE + "\n\nimport rlcourse_utils as rcu"),
                nbformat.v4.new_code_cell("print(discounted_sum(np.array([1.0, 2.0]), 0.9))")]
    nbformat.write(nb, str(lecture))

    # 1. the reference, in a topic module
    with (copy / "rlcourse_utils" / "returns.py").open("a") as f:
        f.write(REFERENCE)
    # 2. registered with public and hidden cases; a new checks module joins the registry
    (copy / "rlcourse_utils" / "checks" / "lec99_demo.py").write_text(CHECKS)
    registry = copy / "rlcourse_utils" / "checks" / "__init__.py"
    text = registry.read_text()
    text = text.replace("from rlcourse_utils.checks.core import", "from rlcourse_utils.checks import lec99_demo\n"
                        "from rlcourse_utils.checks.core import", 1)
    text = text.replace("EXERCISES: dict[str, Exercise] = {ex.id: ex for ex in [",
                        "EXERCISES: dict[str, Exercise] = {ex.id: ex for ex in [*lec99_demo.EXERCISES, ", 1)
    registry.write_text(text)
    # 3. the three cells, after the first code cell
    run(copy, "-m", "rlcourse_utils.cli", "stub", "L99_discounted_sum", "--insert", str(lecture), "--after", "1")
    # 4. the solution builds and executes, with no drift; the exercise-wide tests pass
    run(copy, "-m", "rlcourse_utils.cli", "solutions", "99", "--root", str(copy))
    assert "up to date" in run(copy, "-m", "rlcourse_utils.cli", "solutions", "99", "--check", "--root", str(copy))
    solution = nbformat.read(str(copy / "solutions" / "99_demo.ipynb"), as_version=4)
    printed = [o.get("text", "") for c in solution.cells for o in c.get("outputs", [])]
    assert "✓ L99_discounted_sum passed (2/2 cases).\n" in printed and "2.8\n" in printed, printed
    out = run(copy, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "tests/test_exercises.py",
              "tests/test_lectures.py", "-k", "(L99 or 99_demo) and not at_least_three", "-o", "addopts=")
    assert " passed" in out and "failed" not in out, out[-1500:]
