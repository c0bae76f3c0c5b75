"""Every registered exercise, whatever its lecture: the reference passes its public and hidden cases, the hidden
cases are new inputs, and the stub the notebook hands out is reported as not implemented. Each lecture's
known-wrong versions live in its own ``tests/test_lecNN_checks.py``."""
import inspect
from pathlib import Path

import nbformat
import pytest

from rlcourse_utils import build, checks
from rlcourse_utils.checks import core
from rlcourse_utils.checks.wire import PREAMBLE

ROOT = Path(__file__).resolve().parents[1]
ALL = sorted(checks.EXERCISES.values(), key=lambda ex: ex.id)
@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.id)
def test_reference_passes_public_and_hidden_cases(ex):
    public = core.run_check(ex, ex.reference)
    assert public.passed, public.line
    hidden = core.run_cases(ex, ex.reference, ex.hidden(), stop_at_first_failure=False)
    assert hidden.passed, hidden.line
    assert hidden.n_cases >= len(ex.public_cases()) - 1 and hidden.n_cases >= 3


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.id)
def test_hidden_cases_differ_from_public_ones(ex):
    public = {repr(core.encode(list(c.args))) for c in ex.public_cases()}
    assert not public & {repr(core.encode(list(c.args))) for c in ex.hidden()}


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.id)
def test_the_stub_students_get_is_reported_as_not_implemented(ex):
    namespace: dict = {}
    exec(PREAMBLE + "\n" + build.stub_source(ex), namespace)
    result = core.run_check(ex, namespace[ex.name])
    assert result.not_implemented and not result.passed
    assert result.line.startswith(f"… {ex.id}: not implemented yet"), result.line


@pytest.mark.parametrize("path", sorted((ROOT / "lectures").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_lecture_has_at_least_three_exercises_and_holds_them_all(path):
    lecture = path.name[:2]
    registered = {ex.id for ex in ALL if ex.lecture == lecture}
    in_notebook = {build.exercise_id(c) for c in nbformat.read(path, as_version=4).cells} - {None}
    assert len(registered) >= 3 and in_notebook == registered


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.id)
def test_hidden_inputs_are_drawn_from_the_instructors_secret(ex):
    """Reading the package cannot tell a student the hidden inputs: another secret draws other ones,
    the same secret the same ones (so a rerun grades alike)."""
    assert inspect.signature(ex.hidden_cases).parameters, f"{ex.id}: hidden_cases must take the secret's rng"
    drawn = {secret: [repr(core.encode(list(c.args))) for c in ex.hidden(secret)] for secret in ("alpha", "beta")}
    assert drawn["alpha"] == [repr(core.encode(list(c.args))) for c in ex.hidden("alpha")]
    assert drawn["alpha"] != drawn["beta"], f"{ex.id}'s hidden cases do not depend on the secret"
    random_cases = sum(a != b for a, b in zip(drawn["alpha"], drawn["beta"]))
    assert random_cases >= len(drawn["alpha"]) / 2, f"only {random_cases} of {ex.id}'s hidden cases are drawn"
