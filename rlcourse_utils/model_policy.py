"""Lecture 9: model-based policy learning math: dual updates, the augmented Lagrangian, Dyna's Q update.

Pure functions, each self-contained (only ``np`` and ``torch``), because ``rlcourse solutions``
pastes the exercise references verbatim into the solution notebook.

Constrained optimisation (Lecture 9 §Guided policy search, §Dual gradient descent), on the quadratic
program   min_x f(x) = ½ xᵀQx + cᵀx   s.t.   C(x) = Ax − b = 0:

    Lagrangian            L(x, λ) = f(x) + λᵀ C(x)
    dual function         g(λ) = L(x*(λ), λ),   x*(λ) = argmin_x L(x, λ),   dg/dλ = C(x*(λ))
    dual gradient ascent  λ ← λ + α C(x*(λ))
    augmented Lagrangian  L̄(x, λ) = f(x) + λᵀ C(x) + ρ ‖C(x)‖²

Dyna (Sutton 1990; Lecture 9 §Dyna): the same tabular Q-learning update is applied to real
transitions and to transitions simulated by the learned model,
    Q(s, a) ← Q(s, a) + α [r + γ (1 − terminated) max_a' Q(s', a') − Q(s, a)].

Backpropagation through a model (Lecture 9 §Backpropagate directly into the policy): ``pendulum_step``
is a differentiable torch pendulum (Pendulum-v1's equations, θ = 0 upright, no clipping so gradients
flow) and ``rollout_cost`` the cost of a linear policy u = −k·x rolled out through it.

Compounding model error (Lecture 9 §Dyna-style recipe, MBPO): ``fit_linear_model`` / ``linear_model_step``
are a learned least-squares model x' − x ≈ [x, u, 1] W, and ``branched_rollout_errors`` measures the error
of the simulated transitions along a branch of h model steps from real states.

>>> Q = np.eye(2); c = np.zeros(2); A = np.array([[1.0, 1.0]]); b = np.array([1.0])
>>> x, lam = dual_gradient_step(Q, c, A, b, np.array([1.0]), 0.5)   # x* = −(c + Aᵀλ), C(x*) = −3
>>> x.tolist(), lam.tolist()
([-1.0, -1.0], [-0.5])
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch


def dual_gradient_step(Q: np.ndarray, c: np.ndarray, A: np.ndarray, b: np.ndarray, lam: np.ndarray,
                       alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """One step of dual gradient descent on  min_x ½ xᵀQx + cᵀx  s.t.  Ax = b.

        x* = argmin_x L(x, λ) = −Q⁻¹(c + Aᵀλ)          (∇_x L = Qx + c + Aᵀλ = 0)
        dg/dλ = ∂L/∂λ (x*, λ) = A x* − b                 (the constraint violation at x*)
        λ ← λ + α dg/dλ                                   (gradient ASCENT on the concave dual g)

    Lecture 9 §Dual gradient descent (Boyd & Vandenberghe, Convex Optimization §5).

    Args:
        Q: (n, n) symmetric positive definite.  c: (n,).  A: (m, n).  b: (m,).
        lam: (m,) current Lagrange multipliers λ.  alpha: dual step size α > 0.

    Returns:
        (x_star, lam_new): (n,) the minimiser of the Lagrangian at the current λ, and (m,) the updated λ.

    >>> x, lam = dual_gradient_step(np.eye(1), np.array([-2.0]), np.eye(1), np.ones(1), np.zeros(1), 1.0)
    >>> float(x[0]), float(lam[0])  # x* = 2 overshoots x = 1 by 1, so λ moves up
    (2.0, 1.0)
    """
    Q, c, A, b, lam = (np.asarray(v, dtype=np.float64) for v in (Q, c, A, b, lam))
    x_star = np.linalg.solve(Q, -(c + A.T @ lam))  # (n,) argmin_x L(x, λ)
    dg_dlam = A @ x_star - b  # (m,) = C(x*)
    return x_star, lam + alpha * dg_dlam


def augmented_lagrangian_step(Q: np.ndarray, c: np.ndarray, A: np.ndarray, b: np.ndarray, lam: np.ndarray,
                              rho: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """One step of dual descent on the augmented Lagrangian of  min_x ½ xᵀQx + cᵀx  s.t.  Ax = b.

        L̄(x, λ) = ½ xᵀQx + cᵀx + λᵀ(Ax − b) + ρ ‖Ax − b‖²
        x* = argmin_x L̄(x, λ):   (Q + 2ρ AᵀA) x* = −c − Aᵀλ + 2ρ Aᵀb
        λ ← λ + α (A x* − b)      (α = 2ρ is the method of multipliers)

    Lecture 9 §Augmented Lagrangian (Hestenes 1969; Powell 1969; Bertsekas 1982).

    Args:
        Q: (n, n) symmetric positive semi-definite (Q + 2ρAᵀA must be invertible).  c: (n,).
        A: (m, n).  b: (m,).  lam: (m,) current multipliers.  rho: penalty weight ρ ≥ 0.  alpha: step α > 0.

    Returns:
        (x_star, lam_new): (n,) the minimiser of L̄ at the current λ, and (m,) the updated λ.

    >>> x, lam = augmented_lagrangian_step(np.eye(1), np.zeros(1), np.eye(1), np.ones(1), np.zeros(1), 1.0, 2.0)
    >>> round(float(x[0]), 4), round(float(lam[0]), 4)  # (1 + 2) x = 2: x = 2/3, λ = 2 (2/3 − 1)
    (0.6667, -0.6667)
    """
    Q, c, A, b, lam = (np.asarray(v, dtype=np.float64) for v in (Q, c, A, b, lam))
    H = Q + 2.0 * rho * A.T @ A  # (n, n) Hessian of L̄ in x
    x_star = np.linalg.solve(H, -c - A.T @ lam + 2.0 * rho * A.T @ b)  # (n,)
    return x_star, lam + alpha * (A @ x_star - b)


def q_learning_update(Q: np.ndarray, s: int, a: int, r: float, s_next: int, terminated: bool, alpha: float,
                      gamma: float) -> np.ndarray:
    """One tabular Q-learning update, the one Dyna applies to real and to model transitions.

        y = r + γ (1 − terminated) max_a' Q(s', a')
        Q(s, a) ← Q(s, a) + α (y − Q(s, a))          (every other entry unchanged)

    Lecture 9 §Dyna (Sutton 1990, "Integrated architectures for learning, planning, and reacting";
    Sutton & Barto 2018 §8.2). ``terminated`` stops the bootstrap: the episode ended in s'.

    Args:
        Q: (S, A) current table (not modified).  s, a: the state and action.  r: the reward.
        s_next: the next state s'.  terminated: whether s' is terminal.  alpha: step size.  gamma: discount.

    Returns:
        (S, A) float array: a new table with entry (s, a) updated.

    >>> q_learning_update(np.array([[0.0, 1.0], [2.0, 4.0]]), 0, 0, 1.0, 1, False, 0.5, 0.5).tolist()
    [[1.5, 1.0], [2.0, 4.0]]
    """
    Q_new = np.array(Q, dtype=np.float64)  # a copy: the caller's table is not mutated
    target = r + gamma * (1.0 - float(terminated)) * Q_new[s_next].max()
    Q_new[s, a] += alpha * (target - Q_new[s, a])
    return Q_new


def pendulum_step(x: torch.Tensor, u: torch.Tensor, dt: float = 0.05, g: float = 10.0) -> torch.Tensor:
    """Differentiable pendulum (Pendulum-v1's equations, m = l = 1, θ = 0 upright, no clipping).

        θ̈ = 3g/2 sin θ + 3u,   θ̇' = θ̇ + θ̈ dt,   θ' = θ + θ̇' dt   (semi-implicit Euler)

    Args:
        x: (..., 2) states [θ, θ̇].  u: (...,) torques.

    Returns:
        (..., 2) next states.
    """
    th, thdot = x[..., 0], x[..., 1]
    thdot_new = thdot + (1.5 * g * torch.sin(th) + 3.0 * u) * dt
    return torch.stack([th + thdot_new * dt, thdot_new], dim=-1)


def rollout_cost(k: torch.Tensor, x0: torch.Tensor, horizon: int, dt: float = 0.05) -> torch.Tensor:
    """Cost J(k) = (1/N) Σ_i Σ_{t<H} θ_t² + 0.1 θ̇_t² + 0.001 u_t² of the policy u = −k·x through ``pendulum_step``.

    Backpropagating J into k is backpropagation through time: ∂J/∂k multiplies H Jacobians of the
    closed-loop dynamics. Lecture 9 §What's the problem.  k: (2,); x0: (N, 2) initial states.
    """
    x, cost = x0, x0.new_zeros(())
    for _ in range(horizon):
        u = -(x @ k)  # (N,)
        cost = cost + (x[:, 0] ** 2 + 0.1 * x[:, 1] ** 2 + 0.001 * u ** 2).mean()
        x = pendulum_step(x, u, dt)
    return cost


def fit_linear_model(x: np.ndarray, u: np.ndarray, x_next: np.ndarray) -> np.ndarray:
    """A learned dynamics model: least squares  x' − x ≈ [x, u, 1] W  on transitions (Lecture 9 §Dyna-style).

    Args:
        x: (B, obs_dim) states.  u: (B,) actions.  x_next: (B, obs_dim) next states.

    Returns:
        W: (obs_dim + 2, obs_dim), used by ``linear_model_step``.
    """
    features = np.c_[x, u, np.ones(len(x))]  # (B, obs_dim + 2)
    W, *_ = np.linalg.lstsq(features, x_next - x, rcond=None)
    return W


def linear_model_step(W: np.ndarray, x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The learned model's prediction x̂' = x + [x, u, 1] W.  x (B, obs_dim), u (B,) → (B, obs_dim)."""
    return x + np.c_[x, u, np.ones(len(x))] @ W


def branched_rollout_errors(model_step: Callable, true_step: Callable, policy: Callable, x0: np.ndarray, h: int
                            ) -> tuple[np.ndarray, np.ndarray]:
    """How model error compounds along a Dyna-style branch of h model steps from real states x0 (B, obs_dim).

    The model rollout x̂_0 = x_0, u_k = π(x̂_k), x̂_{k+1} = f̂(x̂_k, u_k) produces the simulated transitions
    a Dyna-style learner trains on; the real rollout x_{k+1} = f(x_k, π(x_k)) is what would have happened.

    Returns:
        transition_error: (h,) mean_B ‖f̂(x̂_k, u_k) − f(x̂_k, u_k)‖, the error of the k-th simulated transition
            (it grows with k when the branch drifts away from the data the model was fitted on);
        drift: (h,) mean_B ‖x̂_{k+1} − x_{k+1}‖, the compounded state error.
    """
    x_model, x_real = np.array(x0, dtype=np.float64), np.array(x0, dtype=np.float64)
    transition_error, drift = np.zeros(h), np.zeros(h)
    for k in range(h):
        u = policy(x_model)
        x_next = model_step(x_model, u)
        transition_error[k] = np.linalg.norm(x_next - true_step(x_model, u), axis=-1).mean()
        x_model, x_real = x_next, true_step(x_real, policy(x_real))
        drift[k] = np.linalg.norm(x_model - x_real, axis=-1).mean()
    return transition_error, drift
