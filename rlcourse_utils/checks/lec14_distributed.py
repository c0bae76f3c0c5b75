"""Exercises of Lecture 14 (distributed RL): V-trace targets, prioritised replay probabilities and weights.

Hand-computable cases first, then every input form the docstrings promise: (T,) and (T, N)
rollouts, episode ends (γ_t = 0), ρ̄ ≠ c̄, no truncation (np.inf), π = μ; priorities with zeros
and α = 0; weights for repeated indices and β = 0.
"""
from __future__ import annotations

import numpy as np

from rlcourse_utils import vtrace
from rlcourse_utils.checks.core import Case, Exercise


def _rollout(rng: np.random.Generator, shape: tuple, p_done: float = 0.1, gamma: float = 0.9,
             spread: float = 1.0) -> tuple:
    r = rng.normal(size=shape)
    v = rng.normal(0, 3, size=shape)
    boot = rng.normal(0, 3, size=shape[1:])
    disc = gamma * (rng.random(shape) >= p_done)
    log_rhos = rng.normal(0, spread, size=shape)
    return r, v, boot, disc, log_rhos


# ---------------------------------------------------------------- L14_vtrace_targets

def vtrace_public() -> list[Case]:
    rng = np.random.default_rng(1401)
    one, z = np.ones(2), np.zeros(2)
    return [
        Case((one, z, np.float64(10.0), np.full(2, 0.5), z, 1.0, 1.0),
             "π = μ, V = 0: the return 1 + .5 + .25*10 = 4, then 1 + .5*10 = 6"),
        Case((one, z, np.float64(10.0), np.array([0.0, 0.5]), z, 1.0, 1.0),
             "episode ends at t = 0 (γ_0 = 0): v_0 = r_0 = 1, nothing from t = 1 flows back"),
        Case((one, z, np.float64(10.0), np.full(2, 0.5), np.log(np.array([2.0, 2.0])), 1.0, 1.0),
             "π/μ = 2 truncated to ρ = c = 1: same as on-policy, [4, 6]"),
        Case((one, z, np.float64(10.0), np.full(2, 0.5), np.log(np.array([0.5, 0.5])), 1.0, 1.0),
             "π/μ = 0.5: δ_1 = .5*(1 + 5) = 3, v_0 = .5*1 + .5*.5*3 = 1.25"),
        Case((one, z, np.float64(10.0), np.full(2, 0.5), np.log(np.array([2.0, 2.0])), np.inf, np.inf),
             "no truncation (ρ̄ = c̄ = ∞), π/μ = 2: δ_1 = 12, v_0 = 2 + .5*2*12 = 14"),
        Case((one, z, np.float64(10.0), np.full(2, 0.5), np.log(np.array([2.0, 2.0])), 2.0, 1.0),
             "ρ̄ = 2, c̄ = 1 differ: δ_1 = 12, v_0 = 2 + .5*1*12 = 8"),
        Case(_rollout(rng, (6,)) + (1.0, 1.0), "random (T,) = (6,), episode ends, π ≠ μ"),
        Case(_rollout(rng, (8, 3)) + (1.0, 0.8), "(T, N) = (8, 3): bootstrap of shape (N,), ρ̄ = 1, c̄ = 0.8"),
    ]


def vtrace_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case(_rollout(rng, s, p, g, sp) + (rb, cb), f"random {s}, ρ̄ = {rb}, c̄ = {cb}")
             for s, p, g, sp, rb, cb in [((40,), 0.05, 0.99, 1.0, 1.0, 1.0), ((32, 16), 0.02, 0.99, 0.5, 1.0, 1.0),
                                         ((10, 4), 0.2, 0.9, 1.0, np.inf, np.inf), ((12, 2), 0.1, 0.95, 1.5, 2.0, 0.5),
                                         ((1, 5), 0.0, 0.9, 1.0, 1.0, 1.0)]]
    r, v, b, d, _ = _rollout(rng, (20, 3))
    cases.append(Case((r, v, b, d, np.zeros_like(r), 1.0, 1.0), "π = μ: the n-step return to the rollout's end"))
    r, v, b, _, lr = _rollout(rng, (9,))
    cases.append(Case((r, v, b, np.zeros(9), lr, 1.0, 1.0), "every step ends an episode"))
    return cases


# ---------------------------------------------------------------- L14_priority_probabilities

def priority_public() -> list[Case]:
    rng = np.random.default_rng(1402)
    return [
        Case((np.array([1.0, 3.0]), 1.0), "α = 1: proportional, [1/4, 3/4]"),
        Case((np.array([1.0, 4.0]), 0.5), "α = 0.5: [1, 2] / 3"),
        Case((np.array([1.0, 4.0, 9.0]), 0.0), "α = 0: uniform"),
        Case((np.array([0.0, 2.0, 2.0]), 0.6), "a zero priority is never sampled: [0, 1/2, 1/2]"),
        Case((rng.exponential(size=50), 0.6), "50 priorities, α = 0.6 (Ape-X's value)"),
    ]


def priority_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((rng.exponential(size=n), a), f"{n} random priorities, α = {a}")
             for n, a in [(100, 0.6), (7, 1.0), (30, 0.0), (1000, 0.4)]]
    p = rng.exponential(size=12)
    p[rng.choice(12, 4, replace=False)] = 0.0
    cases.append(Case((p, 0.7), "12 priorities, 4 of them zero"))
    cases.append(Case((rng.exponential(size=1), 0.5), "one item"))
    return cases


# ---------------------------------------------------------------- L14_importance_weights

def weights_public() -> list[Case]:
    rng = np.random.default_rng(1403)
    probs = rng.dirichlet(np.ones(20))
    return [
        Case((np.array([0.25, 0.75]), np.array([0, 1]), 1.0), "β = 1: (2P)^-1 = [2, 2/3], / max 2 = [1, 1/3]"),
        Case((np.array([0.25, 0.75]), np.array([1]), 1.0),
             "only item 1 sampled: the max is still over the buffer, 1/3 (not 1)"),
        Case((np.array([0.25, 0.75]), np.array([1, 1, 0]), 0.5), "β = 0.5, a repeated index: [√(1/3), √(1/3), 1]"),
        Case((np.array([0.2, 0.3, 0.5]), np.array([2, 0]), 0.0), "β = 0: all weights 1"),
        Case((probs, rng.integers(0, 20, 8), 0.4), "20 items, 8 sampled, β = 0.4"),
    ]


def weights_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, k, b in [(100, 32, 0.4), (10, 10, 1.0), (50, 5, 0.0), (300, 64, 0.7)]:
        probs = rng.dirichlet(np.ones(n))
        cases.append(Case((probs, rng.integers(0, n, k), b), f"{n} items, {k} sampled, β = {b}"))
    probs = rng.dirichlet(np.ones(6))
    cases.append(Case((probs, np.array([int(np.argmax(probs))]), 1.0), "only the most likely item: weight < 1"))
    return cases


EXERCISES = [
    Exercise("L14_vtrace_targets", vtrace.vtrace_targets, vtrace_public, vtrace_hidden, points=3,
             hint="go backwards from acc = 0: acc = ρ_t (r_t + γ_t V(x_{t+1}) - V(x_t)) + γ_t c_t acc, "
                  "v_t = V(x_t) + acc, with V(x_T) = bootstrap_value, ρ_t = min(ρ̄, e^{log ρ_t}) and "
                  "c_t = min(c̄, e^{log ρ_t}) truncated separately."),
    Exercise("L14_priority_probabilities", vtrace.priority_probabilities, priority_public, priority_hidden,
             points=2, hint="P(i) = p_i^α / Σ_k p_k^α; at α = 0 every item gets 1/B, and a zero priority stays 0 "
                            "for α > 0."),
    Exercise("L14_importance_weights", vtrace.importance_weights, weights_public, weights_hidden, points=2,
             hint="w_i = (B P(i))^{-β} with B the buffer size (len(probs)), divided by the largest weight of "
                  "the whole buffer, (B min_j P(j))^{-β}, not of the sampled batch."),
]
