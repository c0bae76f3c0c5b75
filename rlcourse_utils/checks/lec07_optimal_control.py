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


def lqr_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case(_random_lqr_step(n, m, int(rng.integers(2**31))), f"random n = {n}, m = {m}")
             for n, m in [(3, 2), (2, 2), (4, 1), (1, 1), (3, 3), (2, 3)]]
    dt = float(rng.uniform(0.05, 0.2))                           # a double integrator with a drawn step
    F = np.array([[1.0, dt, 0.0], [0.0, 1.0, dt]])
    cost = np.diag(rng.uniform(0.01, 2.0, 3))
    cases.append(Case((F, np.zeros(2), cost, np.zeros(3), np.diag(rng.uniform(0.5, 5.0, 2)), np.zeros(2)),
                      "double integrator with a diagonal cost"))
    return cases


# ---------------------------------------------------------------- L07_cem_update

def _tied(rng: np.random.Generator, lead: tuple, K: int, D: tuple, n_copies: int) -> tuple:
    """Random samples (*lead, K, *D) and returns (*lead, K) in which n_copies samples repeat an earlier
    sample AND its return: ties whose answer does not depend on how they are broken."""
    samples, returns = rng.normal(0, 2, (*lead, K, *D)), rng.normal(-50, 20, (*lead, K))
    src, dst = rng.permutation(K)[:2 * n_copies].reshape(2, n_copies)
    samples[..., dst, :] = samples[..., src, :]
    returns[..., dst] = returns[..., src]
    return samples, returns


def cem_public() -> list[Case]:
    rng = np.random.default_rng(7)
    x = np.array([[0.0], [1.0], [3.0], [5.0]])                    # (K, D) = (4, 1)
    return [
        Case((x, np.array([1.0, 4.0, 3.0, 0.0]), 2), "elites are samples 1 and 2 (returns 4 and 3): mean [2], std [1]"),
        Case((x, np.array([-10.0, -2.0, -7.0, -1.0]), 1),
             "returns are negative costs; M = 1: the best sample is 3 (return -1): mean [5], std [0]"),
        Case((np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]]), np.array([0.3, 0.1, 0.2]), 3),
             "M = K: all samples, std with 1/M (not 1/(M-1)): mean [3, 6], std [1.633, 3.266]"),
        Case((np.array([[0.0], [2.0], [4.0], [9.0]]), np.array([5.0, 7.0, 7.0, 1.0]), 2),
             "a tie inside the elites: samples 1 and 2 share the top return 7; both are elites: mean [3], std [1]"),
        Case((np.array([[1.0], [4.0], [4.0], [0.0]]), np.array([3.0, 2.0, 2.0, 0.0]), 2),
             "a tie at the cut: samples 1 and 2 (equal, return 2) compete for the last place; exactly M = 2 "
             "elites (sample 0 and one 4): mean [2.5], std [1.5] (keeping both gives mean 3)"),
        Case((rng.normal(size=(8, 3, 1)), rng.normal(size=8), 3), "(K, H, act_dim) = (8, 3, 1) samples, M = 3"),
        Case((np.stack([x, x]), np.array([[1.0, 4.0, 3.0, 0.0], [0.0, 1.0, 2.0, 3.0]]), 2),
             "leading batch axis (B, K, D) = (2, 4, 1), returns (B, K): elites per problem, along the K axis "
             "(axis 1): problem 0 keeps samples 1, 2, problem 1 keeps 3, 2: mean [[2], [4]], std [[1], [1]]"),
        Case((rng.normal(size=(2, 3, 5, 2)), rng.normal(size=(2, 3, 5)), 2),
             "two leading batch axes (B1, B2, K, D) = (2, 3, 5, 2), returns (2, 3, 5): mean and std (2, 3, 2)"),
        Case((rng.normal(size=(3, 6, 4, 1)), rng.normal(size=(3, 6)), 6),
             "(N, K, H, act_dim) = (3, 6, 4, 1) as CEM-MPC plans N episodes at once, M = K"),
    ]


def cem_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i, (lead, K, D, M) in enumerate([((), 20, (5, 1), 4), ((), 50, (10, 2), 5), ((), 6, (2,), 2),
                                         ((), 30, (4, 3), 1), ((), 9, (1,), 9), ((4,), 12, (3,), 3),
                                         ((2,), 10, (6, 1), 1), ((3, 2), 7, (2,), 7), ((2, 2), 15, (3, 2), 4),
                                         ((5,), 8, (2,), 3), ((), 10, (3,), 4)]):
        n_copies = 2 if i >= 9 else 0                             # the last two: tied returns
        samples, returns = _tied(rng, lead, K, D, n_copies) if n_copies else (
            rng.normal(0, 2, (*lead, K, *D)), rng.normal(-50, 20, (*lead, K)))
        cases.append(Case((samples, returns, M), f"random batch {lead}, K = {K}, D = {D}, M = {M}"
                          + (", with tied returns" if n_copies else "")))
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


def uct_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for A, c in [(2, 1 / np.sqrt(2)), (5, 0.3), (3, 2.0), (8, 1.0)]:
        n = rng.integers(1, 40, size=A)
        cases.append(Case((rng.uniform(0, 1, A) * n, n, int(n.sum()) + 1, float(c)), f"random {A} children, C = {c:.3f}"))
    n = np.append(rng.integers(1, 10, size=2), 0)
    cases.append(Case((-rng.uniform(0, 3, 3) * n, n, int(n.sum()) + 1, 0.5), "negative returns, one unvisited"))
    return cases


EXERCISES = [
    Exercise("L07_lqr_backward_step", control.lqr_backward_step, lqr_public, lqr_hidden, points=3,
             hint="Q = C + Fᵀ V_next F and q = c + Fᵀ V_next f + Fᵀ v_next; split at n (state first): "
                  "K = -solve(Q_uu, Q_ux), k = -solve(Q_uu, q_u) (note the minus signs); then "
                  "V = Q_xx + Q_xu K + Kᵀ Q_ux + Kᵀ Q_uu K and v = q_x + Q_xu k + Kᵀ q_u + Kᵀ Q_uu k.",
             rtol=1e-6, atol=1e-8),
    Exercise("L07_cem_update", planning.cem_update, cem_public, cem_hidden, points=2,
             hint="the K axis is the LAST axis of returns (axis = returns.ndim - 1 of samples; any axes before it are "
                  "batch axes); the elites are the n_elite samples with the HIGHEST returns along it "
                  "(order = np.argsort(-returns, axis=-1)[..., :n_elite], gathered with np.take_along_axis); "
                  "return their mean and standard deviation over that axis (np.std, ddof=0)."),
    Exercise("L07_uct_score", planning.uct_score, uct_public, uct_hidden, points=2,
             hint="Q/N + 2 c sqrt(2 ln(N_parent) / N) with N the child's visits (the log is of the PARENT's "
                  "count); where N = 0 return np.inf, computing the formula only where N > 0 (np.where)."),
]
