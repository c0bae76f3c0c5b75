"""Exercises of Lecture 3 (actor-critic): public and hidden cases, hand-computable first.

Every case is a small rollout in the layout of ``rlcourse_utils.advantages``: time
first, (T,) or (T, N), with ``next_values[t]`` the value of the true next
observation. Random rollouts are generated consistently: within an episode
next_values[t] = values[t+1]; where an episode ends, next_values[t] is the value of
the final observation and values[t+1] belongs to the next episode's first state,
so an answer that reads values[t+1] across an episode end is caught.
"""
from __future__ import annotations

import numpy as np

from rlcourse_utils import advantages
from rlcourse_utils.checks.core import Case, Exercise


def _rollout(rng: np.random.Generator, shape: tuple, p_term: float = 0.1, p_trunc: float = 0.1,
             scale: float = 1.0) -> tuple[np.ndarray, ...]:
    """rewards, values, next_values, terminated, truncated of a random rollout of ``shape`` (T, ...)."""
    T = shape[0]
    rewards = rng.normal(0, scale, shape)
    v = rng.normal(0, 3 * scale, (T + 1,) + shape[1:])  # V(s_0) .. V(s_T)
    terminated = rng.random(shape) < p_term
    truncated = (rng.random(shape) < p_trunc) & ~terminated
    next_values = np.where(terminated | truncated, rng.normal(0, 3 * scale, shape), v[1:])  # V(s'_t)
    return rewards, v[:-1], next_values, terminated, truncated


def _critic_float32(rewards, values, next_values, terminated, truncated, truncate_last: bool = False) -> tuple:
    """The same rollout as a critic network hands it over: float32 values; optionally cut at the last step."""
    truncated = truncated.copy()
    if truncate_last:
        truncated[-1] = ~terminated[-1]
    return rewards, values.astype(np.float32), next_values.astype(np.float32), terminated, truncated


def _no(shape) -> np.ndarray:
    return np.zeros(shape, dtype=bool)


def _at(T: int, *steps: int) -> np.ndarray:
    m = np.zeros(T, dtype=bool)
    m[list(steps)] = True
    return m


# ---------------------------------------------------------------- L03_td_targets

def td_targets_public() -> list[Case]:
    rng = np.random.default_rng(301)
    r, _, nv, term, _ = _rollout(rng, (6, 3), p_term=0.3)
    return [
        Case((np.array([1.0, 1.0]), np.array([10.0, 10.0]), _no(2), 0.9), "no ends: 1 + 0.9 * 10 = 10 at both steps"),
        Case((np.array([1.0, 1.0]), np.array([10.0, 10.0]), _at(2, 1), 0.9),
             "s'_1 is terminal: y_1 = r_1 = 1, no bootstrap"),
        Case((np.array([0.0, 2.0, -1.0]), np.array([4.0, 8.0, 5.0]), _no(3), 0.0), "γ = 0: y_t = r_t"),
        Case((r, nv, term, 0.99), "(T, N) = (6, 3): three envs, terminations anywhere"),
    ]


def td_targets_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((r, nv, term, g), f"random, shape {s}, γ = {g}")
             for s, g in [((50,), 0.99), ((20, 4), 0.9), ((7, 2, 3), 0.5), ((1,), 0.95)]
             for r, _, nv, term, _ in [_rollout(rng, s, p_term=0.2)]]
    r, _, nv, _, _ = _rollout(rng, (4,))
    cases.append(Case((r, nv, np.ones(4, dtype=bool), 0.9), "every step terminal: y = r"))
    r, _, nv, term, _ = _rollout(rng, (9, 2), p_term=0.2)
    cases.append(Case((r, nv, term, 1.0), "γ = 1 (undiscounted), shape (9, 2)"))
    return cases


# ---------------------------------------------------------------- L03_nstep_returns

def nstep_returns_public() -> list[Case]:
    rng = np.random.default_rng(302)
    rr, _, nv, term, trunc = _rollout(rng, (8, 2), 0.15, 0.15)
    r, v = np.ones(3), np.full(3, 10.0)
    return [
        Case((r, v, _no(3), _no(3), 0.5, 2), "no ends, n = 2: [1 + .5 + .25*10, 4, 1 + .5*10] = [4, 4, 6]"),
        Case((r, v, _at(3, 0), _no(3), 0.5, 2),
             "terminated at t=0: G_0 = r_0 = 1 (no bootstrap, no step into the next episode)"),
        Case((r, v, _no(3), _at(3, 0), 0.5, 2),
             "truncated at t=0: G_0 = r_0 + γ V(s'_0) = 6 (bootstrap, but no step into the next episode)"),
        Case((r, v, _no(3), _no(3), 0.5, 1), "n = 1 is the TD target: [6, 6, 6]"),
        Case((np.array([1.0, 2.0, 3.0, 4.0]), np.full(4, 8.0), _no(4), _no(4), 0.9, 10),
             "n ≥ T: Monte Carlo, bootstrapped once at the end of the rollout"),
        Case((rr, nv, term, trunc, 0.9, 3),
             "(T, N) = (8, 2), n = 3, both kinds of ends"),
    ]


def nstep_returns_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, n, g in [((40,), 5, 0.99), ((30, 3), 1, 0.9), ((25, 2), 30, 0.95), ((12, 2, 2), 4, 0.8)]:
        r, _, nv, term, trunc = _rollout(rng, shape)
        cases.append(Case((r, nv, term, trunc, g, n), f"random, shape {shape}, n = {n}"))
    r, _, nv, _, _ = _rollout(rng, (10,))
    cases += [
        Case((r, nv, _no(10), np.ones(10, dtype=bool), 0.9, 4), "every step truncated: y = r + γ V(s')"),
        Case((r, nv, np.ones(10, dtype=bool), _no(10), 0.9, 4), "every step terminated: y = r"),
        Case((r, nv, _at(10, 3, 7), _at(10, 5), 0.9, 6), "terminations at 3 and 7, a truncation at 5"),
    ]
    return cases


# ---------------------------------------------------------------- L03_gae

def gae_public() -> list[Case]:
    rng = np.random.default_rng(303)
    r, v, nv = np.ones(2), np.array([0.0, 10.0]), np.array([10.0, 10.0])
    return [
        Case((r, v, nv, _no(2), _no(2), 0.5, 1.0),
             "λ = 1, Monte Carlo: [1 + .5 + .25*10 - 0, 1 + .5*10 - 10] = [4, -4]"),
        Case((r, v, nv, _no(2), _no(2), 0.5, 0.0), "λ = 0, the TD error δ_t: [1 + 5 - 0, 1 + 5 - 10] = [6, -4]"),
        Case((r, v, nv, _no(2), _no(2), 0.5, 0.5), "λ = 0.5: [6 + .5*.5*(-4), -4] = [5, -4]"),
        Case((np.ones(3), np.array([0.0, 10.0, 3.0]), np.array([10.0, 20.0, 3.0]), _at(3, 1), _no(3), 0.5, 1.0),
             "terminated at t=1: δ_1 = 1 - 10 = -9, and t=0 does not see step 2"),
        Case((np.ones(3), np.array([0.0, 10.0, 3.0]), np.array([10.0, 20.0, 3.0]), _no(3), _at(3, 1), 0.5, 1.0),
             "truncated at t=1: δ_1 = 1 + .5*20 - 10 = 1 bootstraps, and t=0 does not see step 2"),
        Case((*_rollout(rng, (10, 3), 0.1, 0.1), 0.99, 0.95), "(T, N) = (10, 3), both kinds of ends"),
        Case(_critic_float32(*_rollout(rng, (12, 4), 0.1, 0.0), truncate_last=True) + (0.99, 0.9),
             "(T, N) = (12, 4) with float32 values from a critic network, the rollout cut (truncated) at its last step"),
    ]


def gae_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((*_rollout(rng, shape, pt, pr), g, lam), f"random, shape {shape}, γ = {g}, λ = {lam}")
             for shape, pt, pr, g, lam in [((64,), 0.05, 0.05, 0.99, 0.95), ((32, 4), 0.1, 0.1, 0.9, 0.0),
                                           ((32, 4), 0.1, 0.1, 0.9, 1.0), ((16, 3, 2), 0.2, 0.2, 0.8, 0.7),
                                           ((1, 5), 0.5, 0.3, 0.99, 0.9)]]
    cases += [
        Case((*_rollout(rng, (20, 2), 0.0, 1.0), 0.9, 0.9), "every step truncated: Â = δ"),
        Case((*_rollout(rng, (20, 2), 1.0, 0.0), 0.9, 0.9), "every step terminated: Â = r - V(s)"),
        Case((*_rollout(rng, (200, 2), 0.0, 0.0), 0.99, 0.99), "one long episode per env, no ends"),
        Case(_critic_float32(*_rollout(rng, (32, 16), 0.05, 0.0), truncate_last=True) + (0.99, 0.95),
             "the A2C batch: (32, 16), float32 values, cut at the last step"),
    ]
    return cases


EXERCISES = [
    Exercise("L03_td_targets", advantages.td_targets, td_targets_public, td_targets_hidden, points=2,
             hint="y_t = r_t + γ (1 - terminated_t) V(s'_t): the mask multiplies only the bootstrap term, "
                  "and next_values[t] already is V(s'_t) (do not shift it)."),
    Exercise("L03_nstep_returns", advantages.nstep_returns, nstep_returns_public, nstep_returns_hidden, points=3,
             hint="for each t, add γ^k r_{t+k} for k = 0, 1, ... and stop at the first step that is the n-th, "
                  "the last of the rollout, or the end of an episode; there add γ^{k+1} V(s'_{t+k}) "
                  "unless that step is terminated (a truncated one bootstraps)."),
    Exercise("L03_gae", advantages.gae, gae_public, gae_hidden, points=3,
             hint="δ_t = r_t + γ (1 - terminated_t) V(s'_t) - V(s_t), then backwards from the last step: "
                  "Â_t = δ_t + γλ (1 - done_t) Â_{t+1} with done = terminated or truncated."),
]
