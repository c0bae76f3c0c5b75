"""A lecture taken through real nbgrader as an instructor would: ``rlcourse nbgrader``, then nbgrader's
own generate_assignment, autograde and export, for three students: one who hands the released
notebook back untouched, one who answers with the reference, one with a wrong and a partly right
answer. Used by tests/test_nbgrader.py; run it on any lectures with

    .venv/bin/python tests/nbgrader_roundtrip.py 01 04 07
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from rlcourse_utils import build, checks, nbgrader_export

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # nbgrader runs alembic from the environment's bin/


def nbgrader(course: Path, *args: str, secret: str = "roundtrip-secret") -> None:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", RLCOURSE_GRADER_SECRET=secret)
    done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True)
    if done.returncode != 0 or "[ERROR]" in done.stderr or "| ERROR]" in done.stderr:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def answered(released: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook with some exercise cells answered (the rest left as stubs)."""
    nb = nbformat.from_dict(released)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def wrong_answers(lecture: str) -> dict[str, str]:
    """A wrong answer to the lecture's first exercise (every output doubled, or negated when it is a
    tuple), the reference for the others: partial marks."""
    exercises = sorted((ex for ex in checks.EXERCISES.values() if ex.lecture == lecture), key=lambda e: e.id)
    answers = {ex.id: build.reference_source(ex) for ex in exercises}
    first = exercises[0]
    answers[first.id] = (build.reference_source(first).replace(f"def {first.name}(", f"def _right_{first.name}(", 1)
                         + f"\n\n\ndef {first.name}(*args):\n    out = _right_{first.name}(*args)\n"
                         "    return tuple(-o for o in out) if isinstance(out, tuple) else 2 * out + 1")
    return answers


def roundtrip(lecture_path: Path, course: Path) -> dict[str, tuple[float, float]]:
    """(score, max score) of the three students, from nbgrader's own export."""
    name = lecture_path.stem
    nbgrader_export.export(ROOT, course, [name[:2]])
    nbgrader(course, "generate_assignment", name, "--create")
    released = nbformat.read(str(course / "release" / name / lecture_path.name), as_version=4)
    lecture = name[:2]
    students = {
        "untouched": released,
        "reference": answered(released, {ex.id: build.reference_source(ex) for ex in checks.EXERCISES.values()
                                         if ex.lecture == lecture}),
        "wrong": answered(released, wrong_answers(lecture)),
    }
    for student, nb in students.items():
        target = course / "submitted" / student / name / lecture_path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))
    nbgrader(course, "autograde", name, "--create")
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with (course / "grades.csv").open() as f:
        rows = list(csv.DictReader(f))
    return {r["student_id"]: (float(r["raw_score"]), float(r["max_score"])) for r in rows if r["assignment"] == name}


def released_exercise_cells(course: Path, lecture_path: Path) -> dict[str, str]:
    nb = nbformat.read(str(course / "release" / lecture_path.stem / lecture_path.name), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


if __name__ == "__main__":
    wanted = sys.argv[1:] or None
    for path in build.lectures(ROOT, wanted):
        with tempfile.TemporaryDirectory() as tmp:
            scores = roundtrip(path, Path(tmp))
        print(path.stem, {student: f"{s:g}/{m:g}" for student, (s, m) in scores.items()}, flush=True)
