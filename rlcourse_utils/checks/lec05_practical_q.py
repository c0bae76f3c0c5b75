"""Exercises of Lecture 5 (practical Q-learning): public and hidden cases, hand-computable first.

Hidden cases draw their inputs from the generator the checker seeds with the instructor's secret.
Target cases pass both ``terminated`` and ``truncated``: a time limit does not stop the bootstrap, so an
answer whose mask comes from ``done = terminated | truncated`` is caught on a case of its own. Most loss
cases give the targets ``requires_grad=True`` too, so an answer that lets gradient flow into the target is
caught even when its value is right; the loop-form cases pass float32 targets without a gradient, as the DQN
loop does.
"""
from __future__ import annotations

import numpy as np
import torch

from rlcourse_utils import q_learning
from rlcourse_utils.checks.core import Case, Exercise


def _b(*xs: bool) -> np.ndarray:
    return np.array(xs, dtype=bool)


def _batch(rng: np.random.Generator, B: int, A: int, p_term: float = 0.2, p_trunc: float = 0.2,
           scale: float = 5.0) -> tuple[np.ndarray, ...]:
    """rewards (B,), two (B, A) next-Q tables, terminated and truncated (B,) (never both)."""
    rewards = rng.normal(0, 1, B)
    q_online, q_target = rng.normal(0, scale, (2, B, A))
    terminated = rng.random(B) < p_term
    truncated = (rng.random(B) < p_trunc) & ~terminated
    return rewards, q_online, q_target, terminated, truncated


def _loop_case(rng: np.random.Generator, double: bool, B: int = 64) -> Case:
    """The form the DQN loop passes: float32 rewards of 1 and next-Q tables from the network, A = 2."""
    _, qo, qt, term, trunc = _batch(rng, B, 2, p_term=0.1, p_trunc=0.05, scale=20.0)
    r, qo, qt = np.ones(B, dtype=np.float32), qo.astype(np.float32), qt.astype(np.float32)
    args = (r, qo, qt, term, trunc, 0.99) if double else (r, qt, term, trunc, 0.99)
    return Case(args, f"float32 inputs as the CartPole loop passes them: B = {B}, A = 2, γ = 0.99")


# ---------------------------------------------------------------- L05_dqn_targets

def dqn_public() -> list[Case]:
    r, q = np.array([1.0, 1.0]), np.array([[2.0, 5.0], [2.0, 5.0]])
    rr, _, qt, term, trunc = _batch(np.random.default_rng(501), 6, 3)
    return [
        Case((r, q, _b(False, False), _b(False, False), 0.9), "no ends: y = 1 + 0.9 * max(2, 5) = 5.5 for both"),
        Case((r, q, _b(False, True), _b(False, False), 0.9), "s'_1 is terminal: y_1 = r_1 = 1, no bootstrap → [5.5, 1]"),
        Case((r, q, _b(False, False), _b(False, True), 0.9),
             "s'_1 is truncated (time limit), not terminal: it still bootstraps → [5.5, 5.5], "
             "a mask from done = terminated or truncated gives 1"),
        Case((np.array([0.0, 2.0, -1.0]), np.array([[-3.0, -1.0], [4.0, 0.0], [7.0, 9.0]]), _b(False, False, False),
              _b(False, False, False), 0.0), "γ = 0: y = r = [0, 2, -1]"),
        Case((np.array([0.0]), np.array([[-4.0, -2.0, -3.0]]), _b(False), _b(False), 0.5),
             "negative values: max(-4, -2, -3) = -2, y = 0.5 * (-2) = -1"),
        Case((rr, qt, term, trunc, 0.99), "a batch of B = 6 with A = 3 actions, terminations and truncations"),
        _loop_case(np.random.default_rng(505), double=False),
    ]


def dqn_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for B, A, g in [(32, 2, 0.99), (5, 7, 0.9), (1, 3, 0.5), (16, 1, 0.95), (3, 2, 1.0)]:
        r, _, qt, term, trunc = _batch(rng, B, A)
        cases.append(Case((r, qt, term, trunc, g), f"random batch B = {B}, A = {A}, γ = {g}"))
    r, _, qt, _, _ = _batch(rng, 8, 4)
    cases += [
        Case((r, qt, np.ones(8, dtype=bool), np.zeros(8, dtype=bool), 0.9), "every s' terminal: y = r"),
        Case((r, qt, np.zeros(8, dtype=bool), np.ones(8, dtype=bool), 0.9), "every s' truncated: all bootstrap"),
        _loop_case(rng, double=False, B=128),
    ]
    return cases


# ---------------------------------------------------------------- L05_double_dqn_targets

def double_public() -> list[Case]:
    no = _b(False)
    rr, qo, qt, term, trunc = _batch(np.random.default_rng(502), 6, 3)
    return [
        Case((np.array([0.0]), np.array([[3.0, 1.0]]), np.array([[2.0, 5.0]]), no, no, 1.0),
             "the online net picks a' = 0, the target net scores it: y = 2 (DQN's max of the target would give 5)"),
        Case((np.array([0.0]), np.array([[1.0, 4.0]]), np.array([[6.0, 2.0]]), no, no, 1.0),
             "online picks a' = 1, target says 2 → y = 2 (roles swapped gives 1, max target 6, max online 4)"),
        Case((np.array([1.0, 1.0]), np.array([[0.0, 1.0]] * 2), np.array([[3.0, 8.0]] * 2), _b(False, True),
              _b(False, False), 0.5), "s'_1 terminal: [1 + .5 * 8, 1] = [5, 1]"),
        Case((np.array([1.0, 1.0]), np.array([[0.0, 1.0]] * 2), np.array([[3.0, 8.0]] * 2), _b(False, False),
              _b(False, True), 0.5), "s'_1 truncated (time limit): still bootstraps → [5, 5]"),
        Case((rr, qo, qt, term, trunc, 0.99), "a batch of B = 6 with A = 3 actions, terminations and truncations"),
        _loop_case(np.random.default_rng(506), double=True),
    ]


def double_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for B, A, g in [(32, 2, 0.99), (5, 7, 0.9), (1, 3, 0.5), (16, 1, 0.95), (4, 4, 1.0)]:
        r, qo, qt, term, trunc = _batch(rng, B, A)
        cases.append(Case((r, qo, qt, term, trunc, g), f"random batch B = {B}, A = {A}, γ = {g}"))
    r, qo, qt, _, _ = _batch(rng, 8, 3)
    cases += [
        Case((r, qo, qt, np.zeros(8, dtype=bool), np.ones(8, dtype=bool), 0.9), "every s' truncated: all bootstrap"),
        Case((r, qo, qt, np.ones(8, dtype=bool), np.zeros(8, dtype=bool), 0.9), "every s' terminal: y = r"),
        Case((np.zeros(2), np.array([[1.0, 1.0, 0.0], [2.0, 3.0, 3.0]]), np.array([[4.0, 6.0, 9.0], [5.0, 1.0, 2.0]]),
              _b(False, False), _b(False, False), 1.0), "ties in the online argmax go to the first maximiser"),
        _loop_case(rng, double=True, B=128),
    ]
    return cases


# ---------------------------------------------------------------- L05_polyak_update

def polyak_public() -> list[Case]:
    t, o = np.array([0.0, 10.0]), np.array([1.0, 0.0])
    rng = np.random.default_rng(503)
    return [
        Case((t, o, 0.1), "τ = 0.1: [0.1 * 1 + 0.9 * 0, 0.1 * 0 + 0.9 * 10] = [0.1, 9] (τ weighs the ONLINE weights)"),
        Case((t, o, 1.0), "τ = 1 is the hard update: φ' = φ = [1, 0]"),
        Case((t, o, 0.0), "τ = 0 leaves the target unchanged: [0, 10]"),
        Case((rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), 0.005), "a (3, 2) weight matrix, τ = 0.005"),
        Case((np.array(5.0), np.array(1.0), 0.25), "0-d arrays (one scalar weight, as the lag plot passes): 0.25 * 1 + "
             "0.75 * 5 = 4"),
        Case((rng.normal(size=200).astype(np.float32), rng.normal(size=200).astype(np.float32), 0.005),
             "a flat float32 vector of all the weights, as the DQN and TD3 loops pass it, τ = 0.005"),
    ]


def polyak_hidden(rng: np.random.Generator) -> list[Case]:
    return [Case((rng.normal(size=s), rng.normal(size=s), tau), f"random weights of shape {s}, τ = {tau}")
            for s, tau in [((64,), 0.01), ((4, 64), 0.5), ((2, 3, 4), 0.999), ((1,), 0.25), ((), 0.3)]] + [
        Case((rng.normal(size=1000).astype(np.float32), rng.normal(size=1000).astype(np.float32), 0.05),
             "a flat float32 weight vector, τ = 0.05"),
        Case((np.full((2, 2), 3.0), np.full((2, 2), -1.0), 0.75), "constant weights: 0.75 * -1 + 0.25 * 3 = 0")]


# ---------------------------------------------------------------- L05_huber_loss

def _t(x, grad: bool = True) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64)).requires_grad_(grad)


def _t32(x, grad: bool = True) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32)).requires_grad_(grad)


def huber_public() -> list[Case]:
    rng = np.random.default_rng(504)
    return [
        Case((_t([0.5]), _t([0.0]), 1.0), "|x| = 0.5 ≤ δ = 1: quadratic, 0.5² / 2 = 0.125"),
        Case((_t([3.0]), _t([0.0]), 1.0), "|x| = 3 > δ = 1: linear, 1 * (3 - 0.5) = 2.5 (not 3² / 2 = 4.5)"),
        Case((_t([-3.0, 0.5]), _t([0.0, 0.0]), 1.0), "a negative error and the mean over the batch: (2.5 + 0.125) / 2"),
        Case((_t([3.0]), _t([0.0]), 2.0), "δ = 2: 2 * (3 - 1) = 4"),
        Case((_t([1.0, 5.0]), _t([4.0, 4.5]), 1.0),
             "x = [-3, 0.5]: value (2.5 + 0.125) / 2; the gradient with respect to the targets must be 0"),
        Case((_t(rng.normal(0, 3, 16)), _t(rng.normal(0, 3, 16)), 1.5), "a batch of 16, δ = 1.5"),
        Case((_t32(rng.normal(0, 3, 64)), _t32(rng.normal(0, 3, 64), grad=False), 1.0),
             "float32 tensors as the DQN loop passes them (Q with a gradient, targets without), B = 64"),
    ]


def huber_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((_t(rng.normal(0, s, B)), _t(rng.normal(0, s, B)), d), f"random batch B = {B}, δ = {d}")
             for B, s, d in [(64, 2.0, 1.0), (1, 5.0, 0.5), (32, 0.3, 1.0), (10, 10.0, 3.0), (128, 1.0, 0.1)]]
    cases += [
        Case((_t([1.0, -1.0, 2.0]), _t([0.0, 0.0, 0.0]), 1.0), "|x| = δ exactly: both pieces give 0.5"),
        Case((_t([7.0, 7.0]), _t([7.0, -7.0]), 1.0), "x = 0 and x = 14"),
        Case((_t32(rng.normal(0, 3, 128)), _t32(rng.normal(0, 3, 128), grad=False), 1.0),
             "float32 tensors, targets without a gradient, B = 128"),
    ]
    return cases


EXERCISES = [
    Exercise("L05_dqn_targets", q_learning.dqn_targets, dqn_public, dqn_hidden, points=2,
             hint="y = r + γ (1 - terminated) max_a' Q_φ'(s', a'): the max over the action axis -1, and the mask "
                  "uses terminated only (a truncated s' still bootstraps)."),
    Exercise("L05_double_dqn_targets", q_learning.double_dqn_targets, double_public, double_hidden, points=2,
             hint="a* = argmax over axis -1 of next_q_online (first maximiser); y = r + γ (1 - terminated) "
                  "next_q_target[b, a*[b]] (np.take_along_axis); truncated does not stop the bootstrap."),
    Exercise("L05_polyak_update", q_learning.polyak_update, polyak_public, polyak_hidden, points=1,
             hint="return tau * online_params + (1 - tau) * target_params as a new array (no in-place update "
                  "of target_params): τ = 1 copies the online weights."),
    Exercise("L05_huber_loss", q_learning.huber_loss, huber_public, huber_hidden, points=2,
             hint="x = q_values - targets.detach(); ℓ = 0.5 x² where |x| ≤ δ, else δ (|x| - δ/2) (torch.where); "
                  "return the mean. Detach the targets: no gradient may flow into y."),
]
