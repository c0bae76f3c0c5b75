"""Exercises of Lecture 2 (policy gradients): public and hidden cases, hand-computable first.

Public cases are what a student's check cell runs; hidden cases (more inputs,
harder edge cases, other seeds) are what the grader runs. Log-probabilities that
a loss differentiates are created with ``requires_grad=True``, so a detached
answer is caught.
"""
from __future__ import annotations

import numpy as np
import torch

from rlcourse_utils import policy_gradient, returns
from rlcourse_utils.checks.core import Case, Exercise


def _t(x, grad: bool = False, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64)).to(dtype).requires_grad_(grad)


def _ends(rng: np.random.Generator, shape: tuple, p: float) -> np.ndarray:
    return rng.random(shape) < p


# ---------------------------------------------------------------- L02_reward_to_go

def reward_to_go_public() -> list[Case]:
    rng = np.random.default_rng(201)
    return [
        Case((np.array([1.0, 1.0, 1.0]), 0.5), "γ = 0.5: [1 + 0.5 + 0.25, 1 + 0.5, 1] = [1.75, 1.5, 1]"),
        Case((np.array([0.0, 0.0, 4.0]), 0.5, np.array([False, False, False])),
             "a late reward flows back discounted: [1, 2, 4]"),
        Case((np.array([1.0, 2.0, 3.0, 4.0]), 1.0, np.array([False, True, False, True])),
             "two episodes back to back: the sum stops at each end, [3, 2, 7, 4]"),
        Case((np.array([5.0]), 0.9), "T = 1: G_0 = r_0"),
        Case((np.array([1.0, 2.0, 3.0]), 0.0), "γ = 0: G_t = r_t"),
        Case((rng.normal(size=(6, 3)), 0.9, _ends(rng, (6, 3), 0.3)),
             "three envs (T, N), episodes ending at different times"),
        Case((rng.normal(size=(4, 5)), 1.0), "(T, N) with no episode ends given and γ = 1, as the lecture's cells pass"),
    ]


def reward_to_go_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((rng.normal(size=(t, n)), g, _ends(rng, (t, n), p)), f"random, T={t}, N={n}, γ={g}")
             for t, n, g, p in [(50, 4, 0.99, 0.05), (20, 1, 0.5, 0.2), (30, 8, 1.0, 0.1)]]
    cases += [
        Case((rng.normal(size=(7, 2, 3)), 0.9), "two batch axes (T, N, K), no episode ends given"),
        Case((rng.normal(size=(10, 2)), 0.8, np.ones((10, 2), dtype=bool)), "every step ends an episode: G = r"),
        Case((np.ones(int(rng.integers(300, 501))), 0.99), "a long CartPole-like episode: 300 to 500 rewards of 1"),
        Case((rng.normal(size=(9, 6)), 1.0), "(T, N), no episode ends, γ = 1"),
        Case((rng.normal(size=(5, 3)).astype(np.float32), 0.9, _ends(rng, (5, 3), 0.3)), "float32 rewards"),
    ]
    return cases


# ---------------------------------------------------------------- L02_pg_pseudo_loss

def _pg_random(rng: np.random.Generator, t: int, n: int, masked: bool, dtype: torch.dtype = torch.float64) -> tuple:
    lp = _t(np.log(rng.uniform(0.05, 1.0, (t, n))), grad=True, dtype=dtype)
    adv = _t(rng.normal(size=(t, n)), dtype=dtype)
    if not masked:
        return (lp, adv)
    length = rng.integers(1, t + 1, n)
    return (lp, adv, _t(np.arange(t)[:, None] < length[None, :], dtype=dtype))


def pg_pseudo_loss_public() -> list[Case]:
    rng = np.random.default_rng(202)
    half = np.log(0.5)
    return [
        Case((_t([[half, half], [half, half]], grad=True), _t([[1.0, 2.0], [1.0, 2.0]])),
             "two trajectories of 2 steps, π = 1/2: -(1/2)(2 + 4) log(1/2) = 3 log 2 = 2.0794"),
        Case((_t([[half], [half]], grad=True), _t([[-1.0], [-1.0]])),
             "a negative weight makes the loss negative: 2 log(1/2) = -1.3863"),
        Case((_t([[half, half], [half, half]], grad=True), _t([[1.0, 1.0], [1.0, 1.0]]), _t([[1.0, 1.0], [1.0, 0.0]])),
             "padding (mask 0) after the second episode ended must not count: 3 log 2 / 2 = 1.0397"),
        Case(_pg_random(rng, 5, 1, False), "one trajectory: sum over time (not the mean)"),
        Case(_pg_random(rng, 8, 4, True), "four episodes of different lengths"),
        Case((_t(np.log(rng.uniform(0.1, 1, (6,))), grad=True), _t(rng.normal(size=6))),
             "time axis only (T,): one trajectory, the loss sums over time"),
        Case(_pg_random(rng, 7, 3, True, torch.float32),
             "float32 tensors with a mask, as the CartPole loop passes them"),
        Case((_t([[half, half], [half, half]], grad=True), _t([[1.0, 2.0], [1.0, 2.0]], grad=True)),
             "advantages that carry gradients: Â is a constant weight, so no gradient may flow into it (detach it)"),
    ]


def pg_pseudo_loss_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case(_pg_random(rng, t, n, m), f"random, T={t}, N={n}, mask={m}")
             for t, n, m in [(30, 16, True), (1, 5, False), (12, 3, False), (100, 2, True)]]
    cases += [
        Case((_t(np.log(rng.uniform(0.05, 1.0, (4, 3))), grad=True), _t(np.zeros((4, 3)))),
             "all weights 0: the loss is 0"),
        Case((_t(np.log(rng.uniform(0.1, 1, (6,))), grad=True), _t(rng.normal(size=6))), "time axis only (T,)"),
        Case((_t(np.log(rng.uniform(0.1, 1, (5, 3))), grad=True), _t(rng.normal(size=(5, 3)), grad=True)),
             "advantages from a critic that still carry gradients"),
        Case(_pg_random(rng, 40, 16, True, torch.float32), "float32, (T, N) = (40, 16) with a mask, as in CartPole"),
    ]
    return cases


# ---------------------------------------------------------------- L02_importance_weights

def _iw_random(rng: np.random.Generator, shape: tuple, spread: float = 0.3) -> tuple:
    old = np.log(rng.uniform(0.05, 1.0, shape))
    return (_t(old + rng.normal(0, spread, shape), grad=True), _t(old))


def _iw_long(rng: np.random.Generator, shape: tuple) -> tuple:
    """Long horizons with small probabilities: Π π underflows (0.01^400 = 1e-800), the ratios stay moderate."""
    old = np.log(rng.uniform(0.005, 0.02, shape))
    return (_t(old + rng.normal(0, 0.02, shape), grad=True), _t(old))


def importance_weights_public() -> list[Case]:
    rng = np.random.default_rng(203)
    return [
        Case((_t(np.log([0.5, 0.5]), grad=True), _t(np.log([0.25, 1.0]))),
             "ratios 2 then 1/2: cumulative products [2, 1]"),
        Case((_t(np.log([0.9, 0.9, 0.9]), grad=True), _t(np.log([0.3, 0.3, 0.3]))),
             "ratio 3 every step: [3, 9, 27] (the product grows with t)"),
        Case((_t(np.log([0.2]), grad=True), _t(np.log([0.2]))), "the same policy: weight 1"),
        Case(_iw_random(rng, (4, 3)), "three trajectories (T, N): the product runs along time only"),
        Case(_iw_long(rng, (400, 2)),
             "T = 400 steps of probability ≈ 0.01: a product of probabilities underflows to 0/0; work in log space"),
    ]


def importance_weights_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case(_iw_random(rng, s, sp), f"random {s}, spread {sp}") for s, sp in
             [((20, 5), 0.3), ((1, 4), 1.0), ((50,), 0.1), ((6, 2, 3), 0.5)]]
    lp_old = np.full((400,), np.log(0.01))
    cases.append(Case((_t(lp_old + rng.normal(0, 0.002, 400), grad=True), _t(lp_old)),
                      "400 steps of probability 0.01: products of probabilities underflow to 0/0; work in log space"))
    cases.append(Case(_iw_long(rng, (400, 3)), "T = 400, three trajectories: underflow in probability space"))
    return cases


# ---------------------------------------------------------------- L02_optimal_baseline

def _ob_random(rng: np.random.Generator, n: int, d: int) -> tuple:
    g = rng.normal(size=(n, d))
    return (g, 5.0 + g[:, 0] ** 2 + rng.normal(size=n))


def optimal_baseline_public() -> list[Case]:
    rng = np.random.default_rng(204)
    return [
        Case((np.array([[1.0], [2.0]]), np.array([1.0, 6.0])), "(1·1 + 4·6) / (1 + 4) = 5"),
        Case((np.array([[1.0, 3.0], [1.0, 0.0]]), np.array([2.0, 4.0])),
             "one baseline per parameter: [3, 2] (the second weights only the first trajectory)"),
        Case((np.array([[2.0], [-2.0]]), np.array([1.0, 3.0])), "equal g²: the plain average return, 2"),
        Case(_ob_random(rng, 20, 3), "returns correlated with g_0²: b_0 differs from the mean return"),
        Case((np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.0, 2.0, 0.0]]), np.array([1.0, 3.0, 8.0])),
             "a parameter whose score is 0 on every trajectory (a state never visited): 0/0, so it gets "
             "the mean return 4; zeros elsewhere are ordinary: [4, 6.6, 3]"),
    ]


def optimal_baseline_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case(_ob_random(rng, n, d), f"random, N={n}, D={d}") for n, d in [(100, 5), (1, 2), (7, 1)]]
    n = int(rng.integers(2, 6))
    cases.append(Case((np.stack([np.zeros(n), rng.normal(size=n)], 1), rng.normal(size=n)),
                      "two parameters, the first with g = 0 everywhere: it gets the mean return"))
    g = rng.normal(size=(30, 4))
    g[:, 2] = 0.0
    g[::3, 0] = 0.0
    cases.append(Case((g, rng.normal(size=30)), "random with one never-scored parameter and scattered zeros"))
    return cases


EXERCISES = [
    Exercise("L02_reward_to_go", returns.reward_to_go, reward_to_go_public, reward_to_go_hidden, points=2,
             hint="loop t from T-1 down to 0: G_t = r_t + γ (1 - episode_end_t) G_{t+1}; keep the extra axes."),
    Exercise("L02_pg_pseudo_loss", policy_gradient.pg_pseudo_loss, pg_pseudo_loss_public, pg_pseudo_loss_hidden,
             points=2, hint="multiply log-probs by the detached weights (and the mask), sum over time (axis 0), "
                            "average over trajectories, negate."),
    Exercise("L02_importance_weights", policy_gradient.importance_weights, importance_weights_public,
             importance_weights_hidden, points=2,
             hint="cumulative sum of log π_new - log π_old along time (dim 0), then exp: "
                  "new over old, never the reverse."),
    Exercise("L02_optimal_baseline", policy_gradient.optimal_baseline, optimal_baseline_public,
             optimal_baseline_hidden, points=2,
             hint="per column k: Σ_i g_ik² r_i / Σ_i g_ik²; the weights are squared gradients, not gradients."),
]
