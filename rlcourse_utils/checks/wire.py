"""Plain-data wire format for exercise inputs and outputs, and the guarded call of a student's function.

This module is the only code shared by the grader's parent process and the child
that runs a submission. It depends on numpy (and torch, imported lazily) but on
nothing else of ``rlcourse_utils``: the child loads it by path, with the package
itself blocked, so that a submission can never reach the reference
implementations or the code that compares results.

Values travel as JSON: arrays as raw bytes (NaN survives), tensors as arrays with
their autograd flags, tuples tagged, anything else as its type name. Nothing is
pickled, so decoding a child's answer never runs the child's code.
"""
from __future__ import annotations

import base64
import contextlib
import io
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

NUMERIC_KINDS = "biuf"  # bool, int, uint, float

# The names every exercise cell may use: a lecture notebook's first code cell runs these
# lines, and so does the grader's child before a submission's cells (a test keeps them equal).
PREAMBLE = """\
import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F"""


@dataclass(frozen=True)
class TensorValue:
    """A torch tensor seen through the wire: its values and whether autograd tracks it."""

    array: np.ndarray
    requires_grad: bool
    has_grad_fn: bool


@dataclass(frozen=True)
class OtherValue:
    """A returned object the wire cannot carry (a dict, a generator...): its type and a short repr."""

    type_name: str
    text: str


@dataclass(frozen=True)
class LinearThresholdPolicy:
    """A deterministic policy a = 1[s · w + b > 0], used as a stand-in expert in exercise cases.

    It is plain data, so it crosses the wire and both sides rebuild the same callable.
    """

    w: tuple[float, ...]
    b: float = 0.0

    def __call__(self, states: np.ndarray) -> np.ndarray:
        return (np.asarray(states) @ np.asarray(self.w) + self.b > 0).astype(np.int64)


@dataclass(frozen=True, eq=False)
class MatrixOperator:
    """A linear map p ↦ A p handed to an exercise as a function, e.g. the Fisher-vector product that
    TRPO passes to conjugate gradient. It is plain data (the matrix), so it crosses the wire and both
    sides rebuild the same callable; the student's function sees only a callable.
    """

    matrix: np.ndarray

    def __call__(self, p: Any) -> Any:
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(p, torch.Tensor):
            return torch.as_tensor(self.matrix, dtype=p.dtype) @ p
        return self.matrix @ np.asarray(p)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MatrixOperator) and np.array_equal(self.matrix, other.matrix)

    __hash__ = None  # type: ignore[assignment]


def _encode_array(a: np.ndarray) -> dict:
    if a.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"cannot send an array of dtype {a.dtype}")
    a = np.array(a, order="C")  # (ascontiguousarray would turn a 0-d array into 1-d)
    return {"dtype": a.dtype.str, "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode()}


def _decode_array(d: dict) -> np.ndarray:
    raw = base64.b64decode(d["data"])
    dtype = np.dtype(d["dtype"])
    if dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"refusing to decode dtype {dtype}")
    return np.frombuffer(raw, dtype=dtype).reshape(tuple(d["shape"])).copy()


def encode(value: Any) -> Any:
    """Turn a value into JSON-ready plain data (never raises: unknown objects become OtherValue)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return {"__ndarray__": _encode_array(np.asarray(value))}
    if isinstance(value, np.ndarray) and value.dtype.kind in NUMERIC_KINDS:
        return {"__ndarray__": _encode_array(value)}
    if isinstance(value, (tuple, list)):
        items = [encode(v) for v in value]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, LinearThresholdPolicy):
        return {"__policy__": {"w": list(value.w), "b": value.b}}
    if isinstance(value, MatrixOperator):
        return {"__operator__": _encode_array(np.asarray(value.matrix))}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        try:
            array = value.detach().cpu().numpy()
            return {"__tensor__": _encode_array(array), "requires_grad": bool(value.requires_grad),
                    "has_grad_fn": value.grad_fn is not None}
        except Exception:  # exotic dtypes, sparse layouts...
            pass
    if isinstance(value, OtherValue):
        return {"__other__": {"type": value.type_name, "text": value.text}}
    try:
        text = repr(value)[:200]
    except Exception:
        text = "<unprintable>"
    return {"__other__": {"type": type(value).__name__, "text": text}}


def decode(data: Any, as_tensors: bool = False) -> Any:
    """Inverse of ``encode``. With ``as_tensors``, tensors come back as real torch tensors
    (what a student's function receives); otherwise as ``TensorValue`` (what is compared)."""
    if isinstance(data, list):
        return [decode(v, as_tensors) for v in data]
    if not isinstance(data, dict):
        return data
    if "__ndarray__" in data:
        return _decode_array(data["__ndarray__"])
    if "__tuple__" in data:
        return tuple(decode(v, as_tensors) for v in data["__tuple__"])
    if "__policy__" in data:
        return LinearThresholdPolicy(tuple(float(x) for x in data["__policy__"]["w"]), float(data["__policy__"]["b"]))
    if "__operator__" in data:
        return MatrixOperator(_decode_array(data["__operator__"]))
    if "__tensor__" in data:
        array = _decode_array(data["__tensor__"])
        if as_tensors:
            import torch

            return torch.from_numpy(array).requires_grad_(bool(data["requires_grad"]))
        return TensorValue(array, bool(data["requires_grad"]), bool(data["has_grad_fn"]))
    if "__other__" in data:
        return OtherValue(str(data["__other__"]["type"]), str(data["__other__"]["text"]))
    raise ValueError(f"unknown wire value with keys {sorted(data)}")


class _CappedText(io.TextIOBase):
    """A stdout replacement that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int = 2000):
        self.limit, self.kept, self.total = limit, [], 0

    def write(self, s: str) -> int:
        if self.total < self.limit:
            self.kept.append(s[: self.limit - self.total])
        self.total += len(s)
        return len(s)

    def text(self) -> str:
        return "".join(self.kept)


class CallTimeout(BaseException):
    """Raised inside a student's function that ran past its time limit.

    A BaseException, so that a student's own ``except Exception`` cannot swallow it.
    """


@dataclass
class CallOutcome:
    """What happened when a student's function was called on one case."""

    value: Any = None
    error: str | None = None  # a plain-words description of an exception, or None
    not_implemented: bool = False
    timed_out: bool = False
    printed: int = 0  # characters printed during the call
    seconds: float = 0.0
    gradients: Any = None  # wire-encoded ``input_gradients`` of the value, when it is differentiable


def input_gradients(value: Any, args: tuple) -> list | None:
    """d sum(value) / d arg for each tensor argument that requires grad (None for the others).

    A check compares these with the reference's, which catches a loss whose value is
    right but whose gradient is not (a weight that should be a constant, not detached).
    None when the value is not a differentiable tensor or the backward pass fails.
    """
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor) or value.grad_fn is None:
        return None
    wanted = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.requires_grad]
    if not wanted:
        return None
    try:
        grads = torch.autograd.grad(value.sum(), [args[i] for i in wanted], allow_unused=True)
    except Exception:
        return None
    out: list = [None] * len(args)
    for i, g in zip(wanted, grads):
        out[i] = np.zeros(tuple(args[i].shape), dtype=np.float64) if g is None else g.detach().cpu().numpy()
    return out


def _where(tb, filename: str) -> str:
    lines = [f.lineno for f in traceback.extract_tb(tb) if f.filename == filename]
    return f" (line {lines[-1]} of your cell)" if lines else ""


def guarded_call(fn: Callable, args: tuple, timeout: float = 5.0) -> CallOutcome:
    """Call ``fn(*args)`` with its prints captured and a time limit, never letting an exception out.

    The time limit uses SIGALRM, so it applies in the main thread (a Jupyter kernel
    runs cells there); elsewhere the call runs unlimited and the grader's wall clock
    is the backstop.
    """
    out = _CappedText()
    filename = getattr(getattr(fn, "__code__", None), "co_filename", "")
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")

    def on_alarm(signum, frame):
        raise CallTimeout()

    old_handler = signal.signal(signal.SIGALRM, on_alarm) if use_alarm else None
    start = time.perf_counter()
    outcome = CallOutcome()
    try:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, timeout)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            outcome.value = fn(*args)
    except CallTimeout:
        outcome.timed_out = True
        outcome.error = f"did not return within {timeout:g} s (an endless loop?); it was stopped"
    except NotImplementedError:
        outcome.not_implemented = True
        outcome.error = "not implemented yet: replace `raise NotImplementedError` with your code"
    except MemoryError:
        outcome.error = "ran out of memory"
    except RecursionError:
        outcome.error = "recursed too deeply (RecursionError)"
    except (Exception, SystemExit) as exc:  # a student's bug of any kind becomes a message
        message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        outcome.error = f"raised {type(exc).__name__}{': ' + message if message else ''}{_where(exc.__traceback__, filename)}"
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
    outcome.seconds = time.perf_counter() - start
    outcome.printed = out.total
    return outcome
