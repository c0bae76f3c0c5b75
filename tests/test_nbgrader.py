"""An instructor who uses nbgrader takes a lecture through nbgrader's own commands and gets the notebook
students get in lectures/, 0 for an untouched stub, full marks for the reference and partial marks for a
wrong answer (hidden cases run as nbgrader hidden tests). nbgrader is the optional `instructor` extra:
without it these tests skip, except in CI (RLCOURSE_REQUIRE_NBGRADER=1)."""
import importlib.util
import os

import nbformat
import pytest

from rlcourse_utils import build, checks
from nbgrader_roundtrip import ROOT, released_exercise_cells, roundtrip

if importlib.util.find_spec("nbgrader") is None and os.environ.get("RLCOURSE_REQUIRE_NBGRADER") == "1":
    raise RuntimeError("RLCOURSE_REQUIRE_NBGRADER=1 but nbgrader is not installed (pip install -e '.[instructor]')")
pytestmark = pytest.mark.skipif(importlib.util.find_spec("nbgrader") is None,
                                reason="nbgrader (the `instructor` extra) is not installed")
LECTURE = ROOT / "lectures" / "04_value_based_methods.ipynb"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("nbgrader_course")
    return course, roundtrip(LECTURE, course)


def test_the_released_notebook_is_the_lecture_students_get(course):
    folder, _ = course
    released = released_exercise_cells(folder, LECTURE)
    lecture = {build.exercise_id(c): c.source for c in nbformat.read(str(LECTURE), as_version=4).cells
               if build.exercise_id(c)}
    assert set(released) == set(lecture)
    for ex_id, source in lecture.items():  # signature and docstring intact; nbgrader's stub adds only "()"
        assert released[ex_id] == source + "()", (ex_id, released[ex_id])


def test_untouched_scores_zero_reference_full_marks_wrong_answer_part(course):
    _, scores = course
    total = sum(ex.points for ex in checks.EXERCISES.values() if ex.lecture == "04")
    assert scores["untouched"] == (0.0, total)
    assert scores["reference"] == (total, total)
    assert 0 < scores["wrong"][0] < total, scores["wrong"]
