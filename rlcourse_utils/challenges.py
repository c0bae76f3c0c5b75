"""Measuring the challenges of deep RL (Lecture 17 §challenges): intervals over seeds, exact evaluation of a
linear policy on Lecture 2's point mass, its LQR optimum under changed dynamics, and sample complexity.

Agents are the course's own (``algos.reinforce.train_gaussian``); what is added here is how to measure them:
    spread over seeds       a percentile bootstrap interval of the mean final return (Efron & Tibshirani 1993)
    exact evaluation        E[Σ_t r_t] of a linear policy a = w·s + b on ``PointMass`` from the first two
                            moments of the state (r is quadratic), so seeds differ only by what they learned
    generalisation          the same policy on a point mass whose force is scaled (a heavier or lighter mass),
                            against that system's own LQR optimum (``control.lqr_backward``, Lecture 7)
    sample complexity       environment steps until a smoothed learning curve first crosses a threshold
"""
from __future__ import annotations

import numpy as np

from rlcourse_utils import control
from rlcourse_utils.algos.reinforce import PointMass


def bootstrap_ci(x: np.ndarray, level: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of x (n,): resample n values with replacement n_boot times,
    take the (1 - level)/2 and (1 + level)/2 quantiles of the resampled means."""
    x = np.asarray(x, dtype=np.float64)
    idx = np.random.default_rng(seed).integers(0, len(x), (n_boot, len(x)))
    lo, hi = np.quantile(x[idx].mean(1), [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def point_mass_matrices(force_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """s' = A s + B a for ``PointMass`` (v ← v + Δt k a, x ← x + Δt v) with the force scaled by k. (2, 2), (2,)."""
    dt = PointMass.dt
    return np.array([[1.0, dt], [0.0, 1.0]]), force_scale * np.array([dt * dt, dt])


def point_mass_expected_return(w: np.ndarray, b, horizon: int = 40, force_scale: float = 1.0) -> float:
    """Exact E[Σ_{t<H} -(x_t² + c a_t²)] of a_t = w_t · s_t + b_t with s_0 = (x_0, 0), x_0 ~ U(-1, 1).

    w: (2,) or (H, 2) gains; b: a float or (H,). Propagates the mean m and second moment M = E[s sᵀ]:
    E[a²] = wᵀ M w + 2 b wᵀ m + b², then s' = A s + B a."""
    A, B = point_mass_matrices(force_scale)
    w = np.broadcast_to(np.asarray(w, dtype=np.float64), (horizon, 2))
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), (horizon,))
    m, M, total = np.zeros(2), np.diag([1.0 / 3.0, 0.0]), 0.0
    for t in range(horizon):
        ea, ea2 = w[t] @ m + b[t], w[t] @ M @ w[t] + 2 * b[t] * (w[t] @ m) + b[t] ** 2
        total -= M[0, 0] + PointMass.action_cost * ea2
        cross = M @ w[t] + b[t] * m                                  # E[s a]
        M = A @ M @ A.T + np.outer(A @ cross, B) + np.outer(B, A @ cross) + ea2 * np.outer(B, B)
        m = A @ m + B * ea
    return float(total)


def point_mass_lqr(horizon: int = 40, force_scale: float = 1.0) -> tuple[float, np.ndarray]:
    """The optimal expected return and gains (H, 2) (a_t = gains[t] · s_t) on the force-scaled point mass,
    by Lecture 7's LQR backward pass: cost ½ zᵀ C z with z = (x, v, a), C = 2 diag(1, 0, c)."""
    A, B = point_mass_matrices(force_scale)
    F = np.broadcast_to(np.hstack([A, B[:, None]]), (horizon, 2, 3))
    C = np.broadcast_to(2.0 * np.diag([1.0, 0.0, PointMass.action_cost]), (horizon, 3, 3))
    K, _, V, _ = control.lqr_backward(F, np.zeros((horizon, 2)), C, np.zeros((horizon, 3)))
    return -0.5 * V[0, 0, 0] / 3.0, K[:, 0, :]


def steps_to_threshold(steps: np.ndarray, returns: np.ndarray, threshold: float, window: int = 10) -> float:
    """Environment steps at which the trailing mean of ``window`` returns first reaches ``threshold`` (inf if never).
    steps, returns: (n_iters,)."""
    smooth = np.convolve(np.asarray(returns, dtype=np.float64), np.ones(window) / window, mode="valid")
    hit = np.flatnonzero(smooth >= threshold)
    return float(steps[hit[0] + window - 1]) if hit.size else float("inf")
