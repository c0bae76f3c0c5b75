"""Exercise checks: run a student's function on cases, compare with the reference, explain.

An ``Exercise`` names a reference function, its public cases (what the student's
check cell runs) and its hidden cases (what the grader runs). Inputs and outputs
go through the wire format both here and in the grader, so a verdict in the
notebook and a verdict in the gradebook are computed by the same ``compare``.
"""
from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from rlcourse_utils.checks.wire import (
    CallOutcome,
    LinearThresholdPolicy,
    MatrixOperator,
    OtherValue,
    TensorValue,
    decode,
    encode,
    guarded_call,
    input_gradients,
)


@dataclass(frozen=True)
class Case:
    """One input to an exercise: positional arguments and what the case tests, in words."""

    args: tuple
    note: str = ""


@dataclass(frozen=True)
class Exercise:
    """An exercise: reference implementation, public and hidden cases, points and a hint."""

    id: str  # stable, shown in the notebook heading and in every verdict, e.g. "L01_bc_loss"
    reference: Callable
    public_cases: Callable[[], list[Case]]
    hidden_cases: Callable[..., list[Case]]  # (rng: np.random.Generator) -> cases; see ``hidden``
    points: float
    hint: str
    rtol: float = 1e-5
    atol: float = 1e-6
    timeout: float = 5.0  # seconds per case before the call is stopped

    @property
    def name(self) -> str:
        return self.reference.__name__

    @property
    def lecture(self) -> str:
        return self.id[1:3]

    def hidden(self, secret: str | None = None) -> list[Case]:
        """The hidden cases. Their random inputs come from a generator seeded by the instructor's
        ``secret`` (and the exercise id), so reading the package cannot tell a student what they
        will be; without a secret, a fixed course default (what the tests use)."""
        if not inspect.signature(self.hidden_cases).parameters:
            return self.hidden_cases()
        digest = hashlib.sha256(f"{secret or 'rlcourse-default'}|{self.id}".encode()).digest()
        return self.hidden_cases(np.random.default_rng(int.from_bytes(digest[:8], "little")))

    @property
    def reference_path(self) -> str:
        return f"{self.reference.__module__.replace('rlcourse_utils', 'rcu')}.{self.name}"


@dataclass
class CaseResult:
    passed: bool
    message: str = ""  # why it failed, in plain words; empty when it passed
    not_implemented: bool = False
    gradient_only: bool = False  # the value was right and only an input gradient differed


@dataclass
class CheckResult:
    exercise_id: str
    results: list[CaseResult] = field(default_factory=list)
    n_cases: int = 0

    @property
    def n_passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def passed(self) -> bool:
        return self.n_cases > 0 and self.n_passed == self.n_cases

    @property
    def not_implemented(self) -> bool:
        return any(r.not_implemented for r in self.results)

    @property
    def failures(self) -> list[CaseResult]:
        """The failed cases, wrong values before wrong gradients (a gradient verdict only once every
        value agrees, so a wrong answer never reads "the value is right, but the gradient...")."""
        failed = [r for r in self.results if not r.passed]
        return sorted(failed, key=lambda r: r.gradient_only)

    @property
    def line(self) -> str:
        if self.passed:
            return f"✓ {self.exercise_id} passed ({self.n_passed}/{self.n_cases} cases)."
        if self.not_implemented:
            return (f"… {self.exercise_id}: not implemented yet. Replace `raise NotImplementedError` "
                    "in the exercise cell, run that cell, then run this check again.")
        return f"✗ {self.exercise_id}: {self.failures[0].message}"


# ---------------------------------------------------------------- formatting

def _fmt_array(a: np.ndarray) -> str:
    body = np.array2string(a, precision=4, threshold=24, edgeitems=3, separator=", ", suppress_small=True)
    body = " ".join(body.split())
    return body if a.ndim == 0 else f"{body} (shape {tuple(a.shape)}, {a.dtype})"


def fmt_value(v: Any) -> str:
    """A short, readable rendering of a wire value for a verdict."""
    if isinstance(v, TensorValue):
        return f"tensor {_fmt_array(v.array)}"
    if isinstance(v, np.ndarray):
        return _fmt_array(v)
    if isinstance(v, tuple):
        return "(" + ", ".join(fmt_value(x) for x in v) + ")"
    if isinstance(v, list):
        return "[" + ", ".join(fmt_value(x) for x in v) + "]"
    if isinstance(v, OtherValue):
        return f"a {v.type_name} ({v.text})"
    if isinstance(v, MatrixOperator):
        return f"a function p ↦ A p with A = {_fmt_array(v.matrix)}"
    if isinstance(v, LinearThresholdPolicy):
        return f"expert s ↦ 1[s·{list(v.w)} + {v.b} > 0]"
    return repr(v)


def _kind(v: Any) -> str:
    if isinstance(v, TensorValue):
        return "a torch.Tensor"
    if isinstance(v, np.ndarray):
        return "a numpy array"
    if isinstance(v, OtherValue):
        return f"a {v.type_name}"
    return f"a {type(v).__name__}"


_DTYPE_WORD = {"b": "booleans", "i": "integers", "u": "integers", "f": "floats"}


def _compare_arrays(expected: np.ndarray, actual: np.ndarray, rtol: float, atol: float, what: str,
                    reveal: bool = True) -> str | None:
    if actual.shape != expected.shape:
        scalar = " (a scalar)" if expected.shape == () else ""
        return f"{what} has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}{scalar}"
    ek, ak = expected.dtype.kind, actual.dtype.kind
    if _DTYPE_WORD.get(ek) != _DTYPE_WORD.get(ak):
        return f"{what} holds {_DTYPE_WORD.get(ak, ak)} ({actual.dtype}), expected {_DTYPE_WORD[ek]} ({expected.dtype})"
    if ek == "f":
        bad = np.isnan(actual) & ~np.isnan(expected)
        if bad.any():
            return f"{what} contains NaN at index {tuple(int(i) for i in np.argwhere(bad)[0])}, expected a number there"
        bad = np.isinf(actual) & ~np.isinf(expected)
        if bad.any():
            return f"{what} contains inf at index {tuple(int(i) for i in np.argwhere(bad)[0])}"
        wrong = ~np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        wrong = actual != expected
    if not wrong.any():
        return None
    if not reveal:  # a hidden case: say what is wrong, never what the answer is
        return (f"{what} is not the expected value" if expected.ndim == 0 else
                f"{what} differs from the expected values at {int(wrong.sum())} of {wrong.size} entries")
    if expected.ndim == 0:
        return f"{what} is {fmt_value(actual)}, expected {fmt_value(expected)}"
    index = tuple(int(i) for i in np.argwhere(wrong)[0])
    return (f"{what} differs at index {index}: expected {expected[index].item()!r}, got {actual[index].item()!r} "
            f"({int(wrong.sum())} of {wrong.size} entries wrong); expected {_fmt_array(expected)}, "
            f"got {_fmt_array(actual)}")


def compare(expected: Any, actual: Any, rtol: float = 1e-5, atol: float = 1e-6, what: str = "the result",
            reveal: bool = True) -> str | None:
    """Compare a student's wire value with the reference's; None when they agree, else why not
    (without the expected values when ``reveal`` is False)."""
    if isinstance(expected, tuple):
        if not isinstance(actual, (tuple, list)):
            return f"{what} should be a tuple of {len(expected)} items, got {_kind(actual)}"
        if len(actual) != len(expected):
            return f"{what} should have {len(expected)} items, got {len(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            message = compare(e, a, rtol, atol, f"item {i} of {what}", reveal)
            if message:
                return message
        return None
    if isinstance(expected, TensorValue):
        if not isinstance(actual, TensorValue):
            return f"{what} should be a torch.Tensor, got {_kind(actual)}"
        if expected.has_grad_fn and not actual.has_grad_fn:
            return (f"{what} is cut off from autograd (it has no grad_fn), so training could not "
                    "backpropagate through it: stay with torch operations (no .item(), .numpy(), .detach())")
        return _compare_arrays(expected.array, actual.array, rtol, atol, what, reveal)
    if isinstance(expected, np.ndarray):
        if isinstance(actual, TensorValue):
            return f"{what} should be a numpy array, got a torch.Tensor"
        if not isinstance(actual, np.ndarray):
            return f"{what} should be a numpy array, got {_kind(actual)}"
        return _compare_arrays(expected, actual, rtol, atol, what, reveal)
    if isinstance(expected, (bool, int, float)):
        if isinstance(actual, np.ndarray) and actual.shape == ():
            actual = actual.item()
        if not isinstance(actual, (bool, int, float)):
            return f"{what} should be a number, got {_kind(actual)}"
        return _compare_arrays(np.asarray(expected), np.asarray(actual), rtol, atol, what, reveal)
    if expected != actual:
        return f"{what} is {fmt_value(actual)}, expected {fmt_value(expected)}" if reveal else f"{what} is not the expected value"
    return None


# ---------------------------------------------------------------- running cases

def arg_names(ex: Exercise) -> list[str]:
    return list(inspect.signature(ex.reference).parameters)


def describe_inputs(ex: Exercise, wire_args: list) -> str:
    return ", ".join(f"{name}={fmt_value(decode(v))}" for name, v in zip(arg_names(ex), wire_args))


def expected_output(ex: Exercise, wire_args: list) -> tuple[Any, Any]:
    """The reference's answer on a case and its input gradients, as wire values (computed by
    whoever holds the reference)."""
    args = decode(wire_args, as_tensors=True)
    value = ex.reference(*args)
    return decode(encode(value)), decode(encode(input_gradients(value, tuple(args))))


def judge(ex: Exercise, case_number: int, n_cases: int, case: Case, wire_args: list, expected: Any,
          outcome: CallOutcome, inputs_after: list | None, reveal: bool = True) -> CaseResult:
    """Turn one call's outcome into a verdict: the first thing wrong, in words, with the inputs
    (``reveal``; a hidden case in the grader names neither its inputs nor the expected answer)."""
    label = f"case {case_number}/{n_cases}" + (f" ({case.note})" if case.note else "")
    inputs = f" Inputs: {describe_inputs(ex, wire_args)}." if reveal else ""
    expected, expected_gradients = expected
    if outcome.not_implemented:
        return CaseResult(False, f"{label}: {outcome.error}", not_implemented=True)
    if outcome.error:
        return CaseResult(False, f"{label}: your function {outcome.error}.{inputs} Hint: {ex.hint}")
    actual = decode(outcome.value)
    message = compare(expected, actual, ex.rtol, ex.atol, reveal=reveal)
    gradient_only = False
    if message is None and expected_gradients is not None:
        actual_gradients = decode(outcome.gradients) if outcome.gradients is not None else None
        for name, want, got in zip(arg_names(ex), expected_gradients, actual_gradients or [None] * len(arg_names(ex))):
            if isinstance(want, np.ndarray) and isinstance(got, np.ndarray):
                message = _compare_arrays(want, got, ex.rtol, ex.atol, f"the gradient of sum(result) with respect to `{name}`",
                                          reveal)
                if message:
                    message += " (the value is right, but autograd would train on the wrong gradient)"
                    gradient_only = True
                    break
    if message is None and inputs_after is not None:
        for name, before, after in zip(arg_names(ex), wire_args, inputs_after):
            if compare(decode(before), decode(after), 0.0, 0.0) is not None:
                message = f"your function changed its input `{name}` in place; leave the inputs untouched"
                break
    if message is None:
        return CaseResult(True)
    printed = f" (it printed {outcome.printed} characters)" if outcome.printed > 2000 else ""
    return CaseResult(False, f"{label}: {message}{printed}.{inputs} Hint: {ex.hint}",
                      gradient_only=gradient_only)


def run_cases(ex: Exercise, fn: Callable, cases: list[Case], stop_at_first_failure: bool = True) -> CheckResult:
    """Run ``fn`` in this process on ``cases`` and judge each against the reference.

    With ``stop_at_first_failure`` the run stops at the first wrong value (or missing
    implementation); a case whose only fault is its gradient does not stop it, so a wrong value on
    a later case is still the one reported."""
    result = CheckResult(ex.id, n_cases=len(cases))
    for number, case in enumerate(cases, start=1):
        wire_args = encode(list(case.args))
        expected = expected_output(ex, wire_args)
        args = decode(wire_args, as_tensors=True)  # the student's own copies
        outcome = guarded_call(fn, tuple(args), ex.timeout)
        outcome.gradients = encode(input_gradients(outcome.value, tuple(args)))
        outcome.value = encode(outcome.value)
        verdict = judge(ex, number, len(cases), case, wire_args, expected, outcome, encode(list(args)))
        result.results.append(verdict)
        if not verdict.passed and not verdict.gradient_only and (stop_at_first_failure or verdict.not_implemented):
            break
    return result


def run_check(ex: Exercise, fn: Callable) -> CheckResult:
    """The public check of a notebook's check cell."""
    if not callable(fn):
        result = CheckResult(ex.id, [CaseResult(False, f"expected the function {ex.name}, got {type(fn).__name__}")], 1)
        return result
    return run_cases(ex, fn, ex.public_cases())
