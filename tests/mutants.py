"""The one way checker tests judge a known-wrong version (mutant) of an exercise."""
from rlcourse_utils import checks
from rlcourse_utils.checks import core


def assert_rejected(exercise_id: str, mutant, fragment: str, public: bool = True) -> None:
    """The mutant fails the hidden cases, and the public ones too unless ``public`` is False;
    the verdict of the first set it fails names the case, its inputs, a hint and ``fragment``."""
    ex = checks.get(exercise_id)
    assert not core.run_cases(ex, mutant, ex.hidden(), stop_at_first_failure=False).passed
    result = core.run_check(ex, mutant) if public else core.run_cases(ex, mutant, ex.hidden())
    if public:
        assert not result.passed
    else:
        assert core.run_check(ex, mutant).passed  # documents that only hidden cases catch it
    assert result.line.startswith(f"✗ {exercise_id}: case "), result.line
    assert fragment in result.line, result.line
    assert "Inputs:" in result.line and "Hint:" in result.line
