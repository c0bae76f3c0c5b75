"""Exercises of Lecture 4 (value-based methods): public and hidden cases, hand-computable first."""
from __future__ import annotations

import numpy as np

from rlcourse_utils import dp
from rlcourse_utils.checks.core import Case, Exercise
from rlcourse_utils.envs.tabular import chain_mdp, random_mdp, two_state_mdp


def _det_mdp() -> tuple[np.ndarray, np.ndarray]:
    """Two states, two actions, deterministic: a0 stays, a1 moves to state 1. r(0,·) = (0, 1), r(1,·) = (2, 2)."""
    P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    R = np.array([[0.0, 1.0], [2.0, 2.0]])
    return P, R


# ---------------------------------------------------------------- L04_bellman_backup

def backup_public() -> list[Case]:
    P, R = _det_mdp()
    m = two_state_mdp()
    g = random_mdp(5, 3, 0.9, seed=404)
    return [
        Case((np.zeros(2), P, R, 0.5), "V = 0: (BV)(s) = max_a r(s, a) = [1, 2]"),
        Case((np.array([10.0, 4.0]), P, R, 0.5),
             "V = [10, 4], γ = .5: state 0 max(0 + 5, 1 + 2) = 5 (a max over Q, not over V); state 1: 4"),
        Case((np.array([-2.0, 6.0]), P, R, 0.0), "γ = 0: the backup is max_a r(s, a) = [1, 2]"),
        Case((np.array([1.0, -1.0]), m.P, m.R, 0.9), "stochastic transitions: Σ_s' p(s'|s,a) V(s') inside the max"),
        Case((np.array([3.0, -1.0, 0.5, 2.0, -4.0]), g.P, g.R, 0.9),
             "S = 5 states, A = 3 actions (S ≠ A, more than two actions, as the gridworld's S = 15, A = 4 later)"),
    ]


def backup_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for S, A, g in [(3, 2, 0.9), (6, 4, 0.99), (5, 3, 0.5), (1, 2, 0.8)]:
        m = random_mdp(S, A, g, seed=int(rng.integers(2**31)))
        cases.append(Case((rng.normal(0, 5, S), m.P, m.R, g), f"random MDP S={S} A={A}"))
    c = chain_mdp(6)
    cases.append(Case((rng.normal(0, 2, 6), c.P, c.R, 0.95), "chain MDP, random V"))
    return cases


# ---------------------------------------------------------------- L04_value_iteration

def vi_public() -> list[Case]:
    P, R = _det_mdp()
    m = two_state_mdp()
    g = random_mdp(5, 3, 0.9, seed=407)
    return [
        Case((P, R, 0.5, 0), "0 iterations: V_0 = 0"),
        Case((P, R, 0.5, 1), "1 iteration from 0: V_1 = max_a r = [1, 2]"),
        Case((P, R, 0.5, 2), "2 iterations: V_2 = [max(0 + .5, 1 + 1), 2 + 1] = [2, 3]"),
        Case((m.P, m.R, 0.9, 3), "3 synchronous sweeps on a stochastic MDP: every V_{k+1}(s) reads only V_k"),
        Case((m.P, m.R, 0.9, 200), "200 iterations: within γ^200 of V*"),
        Case((g.P, g.R, 0.9, 6), "S = 5 states, A = 3 actions (S ≠ A, more than two actions), 6 iterations"),
    ]


def vi_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for S, A, g, n in [(4, 2, 0.9, 3), (7, 3, 0.95, 50), (5, 5, 0.5, 40), (3, 2, 0.0, 4)]:
        m = random_mdp(S, A, g, seed=int(rng.integers(2**31)))
        cases.append(Case((m.P, m.R, g, n), f"random MDP S={S} A={A} γ={g}, {n} iterations"))
    c = chain_mdp(5)
    cases.append(Case((c.P, c.R, 0.9, 7), "chain MDP, 7 iterations"))
    return cases


# ---------------------------------------------------------------- L04_epsilon_greedy

def eg_public() -> list[Case]:
    rng = np.random.default_rng(421)
    return [
        Case((np.array([1.0, 3.0, 2.0]), 0.3),
             "one state, Q of shape (A,) = (3,): argmax is a=1, so [.1, .8, .1] (the greedy action also gets ε/|A|)"),
        Case((np.array([[1.0, 3.0, 2.0], [0.5, -1.0, 0.0]]), 0.3),
             "a batch, Q of shape (B, A) = (2, 3): one distribution per row, [[.1, .8, .1], [.8, .1, .1]]"),
        Case((np.array([[[0.0, 1.0], [2.0, 1.0]], [[-1.0, -3.0], [4.0, 5.0]], [[0.0, 0.0], [1.0, 1.0]]]), 0.5),
             "two batch axes, Q of shape (3, 2, 2): the argmax is over the LAST axis only"),
        Case((np.array([[5.0, 5.0], [-1.0, -2.0]]), 0.2), "a tie goes to the first maximiser: [[.9, .1], [.9, .1]]"),
        Case((np.array([0.0, 2.0, 2.0, 1.0]), 0.4), "a tie between a=1 and a=2 in a 1-D Q: the first one, a=1"),
        Case((np.array([[1.0, 3.0, 2.0]]), 0.0), "ε = 0: greedy one-hot [0, 1, 0]"),
        Case((np.array([[1.0, 3.0, 2.0]]), 1.0), "ε = 1: uniform [1/3, 1/3, 1/3]"),
        Case((rng.normal(size=(64, 4)), 0.2), "Q of shape (64, 4), as the online Q-learning loop of this lecture passes"),
    ]


def _tied(rng: np.random.Generator, shape: tuple, tied: list[int]) -> np.ndarray:
    """A random Q of ``shape`` whose last-axis maximum is shared by the actions ``tied`` in every row."""
    q = rng.normal(size=shape)
    q[..., tied] = q.max(-1, keepdims=True) + rng.uniform(0.1, 1.0, shape[:-1] + (1,))
    return q


def eg_hidden(rng: np.random.Generator) -> list[Case]:
    return [Case((rng.normal(size=shape), eps), f"random Q {shape}, ε = {eps}")
            for shape, eps in [((5, 4), 0.1), ((1, 7), 0.5), ((3, 2), 0.05), ((6,), 0.25), ((2, 3, 4), 0.9),
                               ((4,), 0.0), ((2, 5), 1.0), ((2, 2, 2, 3), 0.3)]] + [
        Case((_tied(rng, (1, 4), [1, 2]), 0.4), "tie between a=1 and a=2: first one"),
        Case((np.full(3, rng.normal()), 0.3), "all tied, 1-D: a=0 is greedy"),
        Case((np.concatenate([_tied(rng, (1, 1, 3), [1, 2]), _tied(rng, (1, 1, 3), [0, 1])]), 0.6),
             "ties in a (2, 1, 3) Q: the first maximiser"),
        Case((rng.normal(size=2), 1.0), "ε = 1 on a 1-D Q: uniform")]


EXERCISES = [
    Exercise("L04_bellman_backup", dp.bellman_optimality_backup, backup_public, backup_hidden, points=2,
             hint="Q(s, a) = R[s, a] + γ Σ_s' P[s, a, s'] V(s') (that is R + γ P @ V), then the max over the "
                  "action axis -1 (not over states, and not max V before taking the expectation)."),
    Exercise("L04_value_iteration", dp.value_iteration, vi_public, vi_hidden, points=2,
             hint="start from V = zeros(S) and apply V ← max_a (R + γ P @ V) exactly n_iters times; "
                  "use the new V only after the whole sweep (synchronous)."),
    Exercise("L04_epsilon_greedy", dp.epsilon_greedy_probs, eg_public, eg_hidden, points=2,
             hint="every action gets ε/|A|, and the argmax (first maximiser, np.argmax) gets 1 - ε on top: "
                  "(1 - ε) * one_hot(argmax) + ε / |A|. Work on the last axis only (argmax(-1), shape[-1]), so "
                  "that Q of shape (A,), (B, A) and (..., A) all work: np.eye(A)[Q.argmax(-1)] is one-hot of any shape."),
]
