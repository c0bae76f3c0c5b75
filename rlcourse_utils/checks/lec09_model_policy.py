"""Exercises of Lecture 9 (model-based policy learning): public and hidden cases, hand-computable first."""
from __future__ import annotations

import numpy as np

from rlcourse_utils import model_policy
from rlcourse_utils.checks.core import Case, Exercise


def _qp(seed: int | np.random.Generator, n: int, m: int, psd: bool = False) -> tuple[np.ndarray, ...]:
    """A random QP: Q (n, n) positive definite (or only semi-definite), c (n,), A (m, n), b (m,).
    ``seed`` is a fixed seed (public cases) or the hidden cases' generator, drawn from in place."""
    rng = np.random.default_rng(seed)  # a Generator passes through unchanged
    M = rng.normal(size=(n, n))
    Q = M @ M.T + (0.0 if psd else 0.5) * np.eye(n)
    if psd:  # rank n − 1: f is flat along one direction
        w, V = np.linalg.eigh(Q)
        w[0] = 0.0
        Q = (V * w) @ V.T
    return Q, rng.normal(size=n), rng.normal(size=(m, n)), rng.normal(size=m)


# ---------------------------------------------------------------- L09_dual_gradient_step

def dual_public() -> list[Case]:
    I2, A1 = np.eye(2), np.array([[1.0, 1.0]])
    return [
        Case((I2, np.zeros(2), A1, np.array([1.0]), np.zeros(1), 0.5),
             "λ = 0: x* = 0, C(x*) = 0 + 0 − 1 = −1, so λ ← 0 + .5·(−1) = −.5 (gradient ASCENT on g(λ))"),
        Case((I2, np.zeros(2), A1, np.array([1.0]), np.array([-1.0]), 0.5),
             "λ = −1: x* = −Q⁻¹(c + Aᵀλ) = [1, 1] (λ enters x*), C = 1, λ ← −1 + .5 = −.5"),
        Case((np.diag([2.0, 4.0]), np.array([-2.0, 0.0]), np.array([[0.0, 1.0]]), np.array([1.0]), np.array([2.0]),
              1.0), "x* = −[(−2 + 0)/2, (0 + 2)/4] = [1, −.5], C = −.5 − 1 = −1.5, λ ← 2 − 1.5 = .5"),
        Case(_qp(900, 3, 2) + (np.array([0.3, -0.7]), 0.1), "3 variables, 2 constraints"),
    ]


def _qp_1d(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A 1-D QP as (1, 1), (1,), (1, 1), (1,) arrays, q > 0 and a ≠ 0; then λ (1,)."""
    return (np.array([[rng.uniform(0.5, 3.0)]]), rng.normal(size=1),
            np.array([[rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0)]]), rng.normal(size=1), rng.normal(size=1))


def dual_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, m, alpha in [(4, 1, 0.2), (5, 3, 0.05), (2, 2, 1.0), (6, 2, 0.3)]:
        Q, c, A, b = _qp(rng, n, m)
        lam = rng.normal(size=m)
        cases.append(Case((Q, c, A, b, lam, alpha), f"random QP n={n} m={m} α={alpha}"))
    cases.append(Case(_qp_1d(rng) + (2.0,), "1-D (every array of size 1): x* = −(c + aλ) / q"))
    return cases


# ---------------------------------------------------------------- L09_augmented_lagrangian_step

def al_public() -> list[Case]:
    return [
        Case((np.eye(1), np.zeros(1), np.eye(1), np.ones(1), np.zeros(1), 1.0, 2.0),
             "min ½x² s.t. x = 1, λ = 0, ρ = 1: ∇ρ‖x − 1‖² = 2ρ(x − 1), so (1 + 2)x = 2: x* = 2/3, "
             "λ ← 0 + 2·(2/3 − 1) = −2/3"),
        Case((np.eye(2), np.zeros(2), np.array([[1.0, 1.0]]), np.array([1.0]), np.array([-1.0]), 0.0, 0.5),
             "ρ = 0 is dual gradient descent: x* = [1, 1], λ ← −1 + .5·1 = −.5"),
        Case((np.diag([1.0, 0.0]), np.array([0.0, -1.0]), np.array([[0.0, 1.0]]), np.array([2.0]), np.zeros(1), 0.5,
              1.0), "Q singular (f linear in x₂, argmin L would not exist): (Q + 2ρAᵀA) x* = −c + 2ρAᵀb = [0, 3], "
                    "x* = [0, 3], C = 1, λ ← 1"),
        Case(_qp(920, 3, 2) + (np.array([0.5, -0.2]), 2.0, 4.0), "3 variables, 2 constraints, ρ = 2"),
    ]


def al_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, m, rho, alpha, psd in [(4, 2, 0.5, 1.0, False), (5, 1, 3.0, 6.0, False),
                                  (3, 3, 0.1, 0.05, False), (4, 2, 1.0, 2.0, True)]:
        Q, c, A, b = _qp(rng, n, m, psd)
        lam = rng.normal(size=m)
        cases.append(Case((Q, c, A, b, lam, rho, alpha), f"random QP n={n} m={m} ρ={rho} α={alpha}"
                                                         + (" (Q singular)" if psd else "")))
    cases.append(Case(_qp_1d(rng) + (1.5, 0.5), "1-D (every array of size 1): (q + 2ρa²) x = −c − aλ + 2ρab"))
    return cases


# ---------------------------------------------------------------- L09_q_learning_update

def q_public() -> list[Case]:
    Q = np.array([[0.0, 1.0], [2.0, 4.0]])
    return [
        Case((Q, 0, 0, 1.0, 1, False, 0.5, 0.5),
             "y = 1 + .5·max(2, 4) = 3 (the max over s' = 1, not over s, and not Q(s', a)), "
             "Q(0, 0) ← 0 + .5·(3 − 0) = 1.5; the other entries are unchanged"),
        Case((Q, 0, 0, 1.0, 1, True, 0.5, 0.5),
             "terminated: no bootstrap, y = r = 1, Q(0, 0) ← .5"),
        Case((np.array([[1.0, 3.0]]), 0, 0, 0.0, 0, False, 1.0, 0.9),
             "s' = s (a wall): y = .9·max(1, 3) = 2.7 read BEFORE the update, α = 1: Q(0, 0) ← 2.7"),
        Case((np.array([[0.0, 0.0, 0.0], [5.0, -1.0, 2.0], [1.0, 1.0, 1.0]]), 2, 1, -1.0, 1, False, 0.1, 0.95),
             "y = −1 + .95·5 = 3.75, Q(2, 1) ← 1 + .1·(3.75 − 1) = 1.275"),
    ]


def q_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i, (S, A) in enumerate([(5, 4), (54, 4), (3, 2), (10, 6)]):
        Q = rng.normal(size=(S, A))
        s, a, s2 = int(rng.integers(S)), int(rng.integers(A)), int(rng.integers(S))
        term = bool(i % 2)
        cases.append(Case((Q, s, a, float(rng.normal()), s2, term, 0.2 + 0.1 * i, 0.9),
                          f"random Q {S}×{A}, terminated={term}"))
    Q = rng.normal(size=(2, 2))
    s, a = int(rng.integers(2)), int(rng.integers(2))
    Q[s, a] = Q[s].min() - 1.0  # the updated entry is not the max, so y must read max Q(s, ·) before the update
    cases.append(Case((Q, s, a, float(rng.normal()), s, False, 0.5, 1.0),
                      "s' = s, γ = 1: y = r + max_a' Q(s, a') read before the update"))
    return cases


EXERCISES = [
    Exercise("L09_dual_gradient_step", model_policy.dual_gradient_step, dual_public, dual_hidden, points=2,
             hint="x* solves ∇_x L = Qx + c + Aᵀλ = 0 (np.linalg.solve(Q, -(c + A.T @ lam))); the dual gradient is "
                  "the constraint violation A x* − b, and λ goes UP the dual: λ + α (A x* − b). Return (x*, λ_new)."),
    Exercise("L09_augmented_lagrangian_step", model_policy.augmented_lagrangian_step, al_public, al_hidden, points=2,
             hint="∇_x [ρ‖Ax − b‖²] = 2ρAᵀ(Ax − b): solve (Q + 2ρAᵀA) x = −c − Aᵀλ + 2ρAᵀb, then "
                  "λ ← λ + α (A x* − b). Return (x*, λ_new)."),
    Exercise("L09_q_learning_update", model_policy.q_learning_update, q_public, q_hidden, points=2,
             hint="copy Q first (np.array(Q, dtype=float)), then y = r + γ (1 − terminated) max_a' Q[s_next, a'] and "
                  "Q[s, a] += α (y − Q[s, a]); compute y before changing the entry."),
]
