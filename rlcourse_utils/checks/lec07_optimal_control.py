"""Exercises of Lecture 7 (optimal control and planning): public and hidden cases, hand-computable first."""
from __future__ import annotations

import numpy as np

from rlcourse_utils import control, planning
from rlcourse_utils.checks.core import Case, Exercise


def _random_lqr_step(n: int, m: int, seed: int) -> tuple:
    """A random, well-posed backward-step input: C ≻ 0, V_next ⪰ 0."""
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(n + m, n + m))
    W = rng.normal(size=(n, n))
    return (rng.normal(0, 0.7, (n, n + m)), rng.normal(size=n), L @ L.T + np.eye(n + m), rng.normal(size=n + m),
            W @ W.T, rng.normal(size=n))


# ---------------------------------------------------------------- L07_lqr_backward_step

def lqr_public() -> list[Case]:
    z1, z11 = np.zeros(1), np.zeros((1, 1))
    F = np.array([[1.0, 1.0]])                                   # x' = x + u
    return [
        Case((F, z1, np.array([[2.0, 1.0], [1.0, 1.0]]), np.array([0.0, 1.0]), z11, z1),
             "base case t = T (V_next = 0, Q = C): K = -C_uu⁻¹ C_ux = [[-1]], k = -C_uu⁻¹ c_u = [-1], "
             "V = Q_xx + Q_xu K + Kᵀ Q_ux + Kᵀ Q_uu K = [[1]], v = [-1]"),
        Case((F, z1, np.diag([0.0, 1.0]), np.zeros(2), np.eye(1), z1),
             "x' = x + u, cost ½u², V_next = [[1]]: Q = C + Fᵀ V_next F = [[1, 1], [1, 2]], K = [[-0.5]], "
             "k = [0], V = [[0.5]], v = [0]"),
        Case((F, np.array([1.0]), np.diag([0.0, 1.0]), np.zeros(2), np.eye(1), np.array([2.0])),
             "same with offset f = [1] and v_next = [2]: q = c + Fᵀ V_next f + Fᵀ v_next = [3, 3], "
             "K = [[-0.5]], k = [-1.5], V = [[0.5]], v = [1.5]"),
        Case(_random_lqr_step(2, 1, 0), "n = 2 states, m = 1 action: K has shape (m, n) = (1, 2)"),
        Case(_random_lqr_step(1, 2, 1), "n = 1 state, m = 2 actions: K has shape (2, 1), k (2,)"),
    ]


def lqr_hidden() -> list[Case]:
    cases = [Case(_random_lqr_step(n, m, 70 + i), f"random n = {n}, m = {m}")
             for i, (n, m) in enumerate([(3, 2), (2, 2), (4, 1), (1, 1), (3, 3), (2, 3)])]
    F = np.array([[1.0, 0.1, 0.0], [0.0, 1.0, 0.1]])             # a double integrator, step 0.1
    cases.append(Case((F, np.zeros(2), np.diag([1.0, 0.1, 0.01]), np.zeros(3), np.diag([5.0, 2.0]), np.zeros(2)),
                      "double integrator with a diagonal cost"))
    return cases


# ---------------------------------------------------------------- L07_cem_update

def cem_public() -> list[Case]:
    rng = np.random.default_rng(7)
    return [
        Case((np.array([[0.0], [1.0], [3.0], [5.0]]), np.array([1.0, 4.0, 3.0, 0.0]), 2),
             "elites are samples 1 and 2 (returns 4 and 3): mean [2], std [1]"),
        Case((np.array([[0.0], [1.0], [3.0], [5.0]]), np.array([-10.0, -2.0, -7.0, -1.0]), 1),
             "returns are negative costs; M = 1: the best sample is 3 (return -1): mean [5], std [0]"),
        Case((np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]]), np.array([0.3, 0.1, 0.2]), 3),
             "M = K: all samples, std with 1/M (not 1/(M-1)): mean [3, 6], std [1.633, 3.266]"),
        Case((rng.normal(size=(8, 3, 1)), rng.normal(size=8), 3), "(K, H, act_dim) = (8, 3, 1) samples, M = 3"),
    ]


def cem_hidden() -> list[Case]:
    cases = []
    for i, (shape, M) in enumerate([((20, 5, 1), 4), ((50, 10, 2), 5), ((6, 2), 2), ((30, 4, 3), 1), ((9, 1), 9)]):
        rng = np.random.default_rng(170 + i)
        cases.append(Case((rng.normal(0, 2, shape), rng.normal(-50, 20, shape[0]), M), f"random {shape}, M = {M}"))
    return cases


# ---------------------------------------------------------------- L07_uct_score

def uct_public() -> list[Case]:
    return [
        Case((np.array([3.0, 1.0, 0.0]), np.array([4, 1, 0]), 5, 0.0),
             "C = 0: the mean return Q/N = [0.75, 1], an unvisited child scores +inf"),
        Case((np.array([2.0, 1.0]), np.array([2, 1]), 3, 1.0),
             "C = 1, N_parent = 3: [1 + 2√(2 ln 3 / 2), 1 + 2√(2 ln 3 / 1)] = [3.0963, 3.9646]"),
        Case((np.array([0.5, 0.2, 0.9]), np.array([1, 1, 1]), 1, 0.7),
             "N_parent = 1: ln 1 = 0, so the score is just Q/N = [0.5, 0.2, 0.9]"),
        Case((np.array([4.0, 0.0, 9.0, 0.0]), np.array([10, 0, 12, 0]), 22, 0.5),
             "two unvisited children both score +inf (no division by zero, no NaN)"),
    ]


def uct_hidden() -> list[Case]:
    cases = []
    for i, (A, c) in enumerate([(2, 1 / np.sqrt(2)), (5, 0.3), (3, 2.0), (8, 1.0)]):
        rng = np.random.default_rng(270 + i)
        n = rng.integers(1, 40, size=A)
        cases.append(Case((rng.uniform(0, 1, A) * n, n, int(n.sum()) + 1, float(c)), f"random {A} children, C = {c:.3f}"))
    cases.append(Case((np.array([-3.0, -1.0, 0.0]), np.array([3, 2, 0]), 6, 0.5), "negative returns, one unvisited"))
    return cases


EXERCISES = [
    Exercise("L07_lqr_backward_step", control.lqr_backward_step, lqr_public, lqr_hidden, points=3,
             hint="Q = C + Fᵀ V_next F and q = c + Fᵀ V_next f + Fᵀ v_next; split at n (state first): "
                  "K = -solve(Q_uu, Q_ux), k = -solve(Q_uu, q_u) (note the minus signs); then "
                  "V = Q_xx + Q_xu K + Kᵀ Q_ux + Kᵀ Q_uu K and v = q_x + Q_xu k + Kᵀ q_u + Kᵀ Q_uu k.",
             rtol=1e-6, atol=1e-8),
    Exercise("L07_cem_update", planning.cem_update, cem_public, cem_hidden, points=2,
             hint="the elites are the n_elite samples with the HIGHEST returns (np.argsort(-returns)[:n_elite]); "
                  "return their mean and standard deviation over the sample axis 0 (np.std, ddof=0)."),
    Exercise("L07_uct_score", planning.uct_score, uct_public, uct_hidden, points=2,
             hint="Q/N + 2 c sqrt(2 ln(N_parent) / N) with N the child's visits (the log is of the PARENT's "
                  "count); where N = 0 return np.inf, computing the formula only where N > 0 (np.where)."),
]
