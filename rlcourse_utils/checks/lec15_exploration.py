"""Exercises of Lecture 15 (exploration and demonstrations): public and hidden cases, hand-computable first.

UCB's cases include untried arms (which must come first), a batch of runs with one t per run, and t = 1
(ln 1 = 0: the bonus vanishes). The pseudo-count is checked on arrays and floats. The large-margin loss gets
Q-values that carry a gradient, ties between the expert action and another, and a demo mask with no
demonstrations (the zero-denominator guard). The RND bonus gets a target that arrives with a gradient (it must be cut), and the
(K, B, D) batch of the MountainCar loop.
"""
from __future__ import annotations

import numpy as np
import torch

from rlcourse_utils import exploration
from rlcourse_utils.checks.core import Case, Exercise


# ---------------------------------------------------------------- L15_ucb_action

def ucb_public() -> list[Case]:
    rng = np.random.default_rng(1501)
    Qb = rng.normal(0, 1, (64, 10))
    Nb = rng.integers(1, 50, (64, 10)).astype(float)
    return [
        Case((np.array([1.0, 0.5]), np.array([10.0, 1.0]), 100, 1.0),
             "Q = (1, 0.5), N = (10, 1), t = 100, c = 1: scores 1 + sqrt(ln 100 / 10) = 1.68 and 0.5 + sqrt(ln 100) = 2.65 → arm 1"),
        Case((np.array([1.0, 0.5]), np.array([10.0, 1.0]), 100, 0.0), "c = 0: greedy → arm 0"),
        Case((np.array([2.0, 9.0, 0.0, 0.0]), np.array([3.0, 5.0, 0.0, 0.0]), 9, 2.0),
             "arms 2 and 3 untried (N = 0): the lowest-index untried arm, 2, whatever the other scores"),
        Case((np.array([0.3, 0.7]), np.array([1.0, 1.0]), 1, 5.0), "t = 1: ln 1 = 0, no bonus → arm 1"),
        Case((np.array([[1.0, 0.5], [0.0, 0.0]]), np.array([[10.0, 1.0], [0.0, 3.0]]), 100, 1.0),
             "a batch of runs (R, K) = (2, 2) → one action per run: (1, 0)"),
        Case((Qb, Nb, 500, 2.0), "the testbed's form: (2000-like runs, 10 arms), (64, 10) here, t = 500, c = 2"),
        Case((Qb[:5], Nb[:5], np.array([10, 100, 1000, 2, 50]), 1.5), "t an array, one step count per run (5,)"),
    ]


def ucb_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for R, K, t, c in [(1, 3, 20, 1.0), (30, 10, 1000, 2.0), (7, 5, 3, 0.5), (12, 4, 200, 0.0)]:
        N = rng.integers(0, 30, (R, K)).astype(float)
        cases.append(Case((rng.normal(0, 1, (R, K)), N, t, c), f"random R = {R}, K = {K}, t = {t}, c = {c}"))
    return cases + [Case((rng.normal(0, 1, 6), rng.integers(1, 9, 6).astype(float), 40, 1.0), "one run (K,) = (6,)"),
                    Case((rng.normal(0, 1, (40, 3)), rng.integers(1, 9, (40, 3)).astype(float),
                          np.where(rng.random(40) < 0.5, 1, rng.integers(2, 5000, 40)), 2.0),
                         "t per run (40,), half of them at t = 1 (no bonus)")]


# ---------------------------------------------------------------- L15_pseudo_count

def pc_public() -> list[Case]:
    return [
        Case((0.5, 0.6), "ρ = 0.5, ρ' = 0.6: 0.5 · 0.4 / 0.1 = 2"),
        Case((np.array([0.25]), np.array([0.4])), "ρ = 1/4 = 1 of 4, ρ' = 2/5: N̂ = 0.25 · 0.6 / 0.15 = 1"),
        Case((0.0, 0.1), "ρ = 0 (never seen): N̂ = 0"),
        Case((np.array([0.1, 0.3, 0.6]), np.array([0.2, 0.4, 0.65])), "an array of states (3,)"),
        Case((np.array([[0.01, 0.2], [0.5, 0.9]]), np.array([[0.011, 0.25], [0.55, 0.91]])), "a (2, 2) array"),
    ]


def pc_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape in [(5,), (3, 4), (1,), (50,)]:
        rho = rng.uniform(0, 0.9, shape)
        cases.append(Case((rho, rho + rng.uniform(1e-3, 0.1, shape) * (1 - rho)), f"random {shape}"))
    return cases + [Case((float(rng.uniform(0, 0.5)), 0.7), "floats")]


# ---------------------------------------------------------------- L15_large_margin_loss

def _t(x, grad: bool = True, dtype=torch.float64) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=dtype).requires_grad_(grad)


def _l(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.long)


def _b(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.bool)


def lm_public() -> list[Case]:
    rng = np.random.default_rng(1503)
    return [
        Case((_t([[1.0, 3.0]]), _l([1]), 0.8), "Q = (1, 3), a_E = 1: max(1 + 0.8, 3 + 0) − 3 = 0"),
        Case((_t([[1.0, 1.5]]), _l([1]), 0.8), "Q = (1, 1.5), a_E = 1: max(1.8, 1.5) − 1.5 = 0.3 (a margin violated)"),
        Case((_t([[2.0, 1.0, 0.0]]), _l([2]), 0.5), "a_E = 2 below both: max(2.5, 1.5, 0) − 0 = 2.5"),
        Case((_t([[1.0, 1.0]]), _l([0]), 0.0), "margin 0 and a tie: 0"),
        Case((_t([[1.0, 1.5], [3.0, 0.0]]), _l([1, 0]), 0.8), "a batch: mean(0.3, 0) = 0.15 (the gradient is checked too)"),
        Case((_t([[1.0, 1.5], [3.0, 0.0]]), _l([1, 1]), 0.8, _b([False, True])),
             "demo_mask: only the second row is a demonstration: 3 − 0 = 3"),
        Case((_t([[1.0, 1.5], [3.0, 0.0]]), _l([1, 1]), 0.8, _b([False, False])),
             "demo_mask with no demonstrations: 0, not nan"),
        Case((_t(rng.normal(0, 1, (32, 3)), dtype=torch.float32), _l(rng.integers(0, 3, 32)), 0.8,
              _b(rng.random(32) < 0.5)), "float32 (32, 3) batch as the DQfD loop passes it, with a mask"),
    ]


def lm_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for B, A, m, masked in [(16, 2, 0.8, False), (1, 5, 0.3, False), (40, 4, 1.0, True), (9, 3, 0.0, True),
                            (64, 2, 0.8, True), (5, 6, 2.0, False)]:
        args = (_t(rng.normal(0, 1, (B, A))), _l(rng.integers(0, A, B)), m)
        if masked:
            args = args + (_b(rng.random(B) < 0.5),)
        cases.append(Case(args, f"random B = {B}, A = {A}, margin {m}, mask {masked}"))
    B = int(rng.integers(2, 10))
    return cases + [Case((_t(rng.normal(0, 1, (B, 3))), _l(rng.integers(0, 3, B)), 0.5, _b(np.zeros(B, bool))),
                         "a mask with no demonstrations: 0")]


# ---------------------------------------------------------------- L15_rnd_bonus

def rnd_public() -> list[Case]:
    rng = np.random.default_rng(1504)
    return [
        Case((_t([[1.0, 2.0]], grad=False), _t([[0.0, 0.0]])), "f(s) = (1, 2), f̂(s) = (0, 0): 1² + 2² = 5"),
        Case((_t([[1.0, 2.0], [0.5, 0.5], [0.0, 3.0]], grad=False), _t([[1.0, 2.0], [0.0, 1.0], [1.0, 1.0]])),
             "a batch (B, D) = (3, 2): one bonus per state, (0, 0.5, 5)"),
        Case((_t([[1.0, -1.0, 0.0]]), _t([[0.0, 1.0, 2.0]])),
             "the target arrives with requires_grad (a network's output): b = 9, and no gradient may reach f(s)"),
        Case((_t(rng.normal(0, 1, (2, 3, 4)), grad=False), _t(rng.normal(0, 1, (2, 3, 4)))),
             "K runs of B states, (K, B, D) = (2, 3, 4) → (2, 3), the form the MountainCar loop passes"),
        Case((_t(rng.normal(0, 1, (6, 16)), dtype=torch.float32), _t(rng.normal(0, 1, (6, 16)), dtype=torch.float32)),
             "float32 (6, 16), both with gradients: only the predictor's may be nonzero"),
    ]


def rnd_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, target_grad in [((5, 8), True), ((1, 1), False), ((3, 7, 2), True), ((40, 16), False)]:
        cases.append(Case((_t(rng.normal(0, 1, shape), grad=target_grad), _t(rng.normal(0, 1, shape))),
                          f"random {shape}, target requires grad: {target_grad}"))
    return cases + [Case((_t(np.zeros((2, 4)) + rng.normal(0, 1, 4)), _t(np.zeros((2, 4)) + rng.normal(0, 1, 4))),
                         "two identical states")]


EXERCISES = [
    Exercise("L15_ucb_action", exploration.ucb_action, ucb_public, ucb_hidden, points=2,
             hint="score = q + c * sqrt(log(t) / n) over the last axis (t broadcast as t[..., None] when it is an "
                  "array); set score = inf where n == 0 (untried first); return argmax over the last axis."),
    Exercise("L15_pseudo_count", exploration.pseudo_count, pc_public, pc_hidden, points=1,
             hint="Solve ρ = N/n and ρ' = (N + 1)/(n + 1) for N: N = ρ (1 − ρ') / (ρ' − ρ)."),
    Exercise("L15_large_margin_loss", exploration.large_margin_loss, lm_public, lm_hidden, points=2,
             hint="l = margin everywhere except 0 at the expert's action (scatter); per-sample max_a(q + l) − q[a_E]; "
                  "mean over the batch, or over demo_mask's rows: (per * mask).sum() / max(mask.sum(), 1)."),
    Exercise("L15_rnd_bonus", exploration.rnd_bonus, rnd_public, rnd_hidden, points=1,
             hint="((predictor_features − target_features.detach()) ** 2).sum(-1): squared error summed over the "
                  "feature axis only (keep the leading axes), and detach the target so it is never trained."),
]
