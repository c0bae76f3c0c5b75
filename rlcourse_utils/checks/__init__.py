"""Exercise registry and the two calls a notebook makes: ``check`` and ``use``.

    rcu.checks.check("L01_bc_loss", bc_loss)        # the check cell: one line, passed or why not
    loss_fn = rcu.checks.use("L01_bc_loss", bc_loss)  # later cells: yours if it passes, else the reference

Exercises are defined per lecture (``lec01_imitation.py``, ...) and collected here.
"""
from __future__ import annotations

import functools
import os
from typing import Any, Callable

from rlcourse_utils.checks import (lec01_imitation, lec02_policy_gradients, lec03_actor_critic,
                                   lec04_value_based, lec05_practical_q, lec06_advanced_pg,
                                   lec07_optimal_control, lec08_model_based, lec09_model_policy,
                                   lec10_variational)
from rlcourse_utils.checks import lec12_inverse_rl
from rlcourse_utils.checks import lec11_control_inference
from rlcourse_utils.checks import lec15_exploration
from rlcourse_utils.checks import lec14_distributed
from rlcourse_utils.checks import lec13_transfer
from rlcourse_utils.checks import lec17_information_theory
from rlcourse_utils.checks import lec18_generalization
from rlcourse_utils.checks import lec16_meta_rl
from rlcourse_utils.checks.core import Case, CheckResult, Exercise, run_cases, run_check

EXERCISES: dict[str, Exercise] = {ex.id: ex for ex in [*lec01_imitation.EXERCISES,
                                                       *lec02_policy_gradients.EXERCISES,
                                                       *lec03_actor_critic.EXERCISES,
                                                       *lec04_value_based.EXERCISES,
                                                       *lec05_practical_q.EXERCISES,
                                                       *lec06_advanced_pg.EXERCISES,
                                                       *lec07_optimal_control.EXERCISES,
                                                       *lec08_model_based.EXERCISES,
                                                       *lec09_model_policy.EXERCISES,
                                                       *lec10_variational.EXERCISES,
                                                       *lec11_control_inference.EXERCISES,
                                                       *lec12_inverse_rl.EXERCISES,
                                                       *lec15_exploration.EXERCISES,
                                                       *lec14_distributed.EXERCISES,
                                                       *lec13_transfer.EXERCISES,
                                                       *lec17_information_theory.EXERCISES]}

EXERCISES.update({ex.id: ex for ex in lec18_generalization.EXERCISES})
EXERCISES.update({ex.id: ex for ex in lec16_meta_rl.EXERCISES})

__all__ = ["EXERCISES", "Case", "CheckResult", "Exercise", "check", "get", "hidden_score", "run_cases", "run_check",
           "use"]


def get(exercise_id: str) -> Exercise:
    """The exercise with this id, or a KeyError that lists the known ids."""
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        raise KeyError(f"no exercise {exercise_id!r}; known: {', '.join(sorted(EXERCISES))}") from None


def check(exercise_id: str, fn: Callable) -> None:
    """Run the public cases of an exercise on ``fn`` and print one line: passed, or the first failure."""
    print(run_check(get(exercise_id), fn).line)


def hidden_score(exercise_id: str, fn: Callable, secret: str | None = None) -> float:
    """Points earned on the hidden cases, for nbgrader's autograde (``rlcourse nbgrader`` puts this call
    in each check cell's hidden tests): points × the fraction of hidden cases passed, which nbgrader
    reads as the cell's partial credit. The cases are drawn with ``secret``, by default the
    RLCOURSE_GRADER_SECRET environment variable. Prints one line; never raises."""
    ex = get(exercise_id)
    secret = secret if secret is not None else os.environ.get("RLCOURSE_GRADER_SECRET")
    if not callable(fn):
        print(f"{exercise_id}: no function to grade")
        return 0.0
    result = run_cases(ex, fn, ex.hidden(secret), stop_at_first_failure=False)
    print(f"{exercise_id}: {result.n_passed}/{result.n_cases} hidden cases passed")
    return round(ex.points * result.n_passed / max(result.n_cases, 1), 2)


def use(exercise_id: str, fn: Callable) -> Callable:
    """Return ``fn`` if it passes the exercise's public cases, otherwise the reference, and say so loudly."""
    ex = get(exercise_id)
    result = run_check(ex, fn)
    if result.passed:
        print(f"Using your {ex.name} ({exercise_id} passes its checks).")
        return _naming_the_exercise(ex, fn)
    reason = "it is not implemented yet" if result.not_implemented else "it does not pass its checks yet"
    bar = "!" * 78
    print(f"{bar}\n!! {exercise_id}: your {ex.name} is not used because {reason}.\n"
          f"!! The cells below run the REFERENCE implementation {ex.reference_path} instead.\n"
          f"!! Finish the exercise, re-run its cell and this one to use your own.\n{bar}")
    return ex.reference


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__module__.split('.')[0]} array of shape {tuple(shape)}"
    return "a function" if callable(value) else type(value).__name__


def _naming_the_exercise(ex: Exercise, fn: Callable) -> Callable:
    """``fn``, except that an exception it raises later (inside a training loop, say) says which
    exercise it came from and with what kinds of input, so the student knows where to look."""

    @functools.wraps(fn)
    def student_function(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            inputs = ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
            err.add_note(f"This was raised inside YOUR {ex.name} (exercise {ex.id}), which passed its public "
                         f"check but not on this call's inputs: {inputs}. Fix the exercise cell and re-run it "
                         "and the cells after it; the docstring states every input form it must accept.")
            raise

    return student_function
