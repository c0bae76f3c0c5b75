"""Deterministic guided policy search (GPS) with an augmented Lagrangian, on a linear system.

Lecture 9 §Guided policy search, deterministic case (Levine & Koltun 2013, 2014; Mordatch & Todorov 2014):

    min_{τ_1..τ_N, θ} Σ_i c(τ_i)   s.t.   u_{t,i} = π_θ(x_{t,i})  ∀ i, t,   π_θ(x) = K C x

    L̄(τ, θ, λ) = Σ_i c(τ_i) + Σ_{i,t} λ_{t,i} (π_θ(x_{t,i}) − u_{t,i}) + ρ Σ_{i,t} (π_θ(x_{t,i}) − u_{t,i})²

    1. τ_i ← argmin_τ L̄(τ, θ, λ)   trajectory optimisation against the surrogate cost (each i alone)
    2. θ ← argmin_θ L̄(τ, θ, λ)     supervised learning: regress π_θ(x_t) onto the planned u_t
    3. λ ← λ + α (π_θ(x_t) − u_t)   dual ascent on the constraint, repeat

The dynamics are linear, x_{t+1} = A x_t + B u_t, so each trajectory is x = Φ x₀ + Γ U (the dynamics
are satisfied exactly: shooting in U), both steps are least-squares problems solved exactly, and the
only non-convexity is the product K C x in the constraint. The policy acts on the observation o = C x
(C = I: the full state; a row of I: the learner sees one coordinate while the planner uses both, the
input remapping trick in miniature). ``train`` with ``n_iters = 1`` and a vanishing ρ is the control arm
"optimise the trajectories once, then fit the policy": the teacher never sees the learner.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Config:
    """Deterministic GPS."""

    horizon: int = 40
    """T: steps per trajectory."""
    n_iters: int = 60
    """Outer iterations (τ-step, θ-step, λ-step)."""
    rho: float = 1.0
    """Penalty weight ρ of the augmented Lagrangian."""
    alpha: float | None = None
    """Dual step α; None uses 2ρ (the method of multipliers)."""


@dataclass
class Result:
    K: np.ndarray
    """(act_dim, obs_dim) final linear policy π_θ(x) = K C x."""
    U: np.ndarray
    """(N, T) final planned controls."""
    violation: list[float] = field(default_factory=list)
    """max_{i,t} |π_θ(x_{t,i}) − u_{t,i}| after each iteration."""
    traj_cost: list[float] = field(default_factory=list)
    """Σ_i c(τ_i) of the planned trajectories after each iteration."""
    policy_cost: list[float] = field(default_factory=list)
    """Σ_i c of the policy's own rollouts from the same x₀ after each iteration."""


def rollout_matrices(A: np.ndarray, B: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Φ (T+1, n, n), Γ (T+1, n, T) with x_t = Φ[t] x₀ + Γ[t] U for t = 0..T (B: (n, 1))."""
    n = A.shape[0]
    Phi, Gam = np.zeros((T + 1, n, n)), np.zeros((T + 1, n, T))
    Phi[0] = np.eye(n)
    for t in range(T):
        Phi[t + 1] = A @ Phi[t]
        Gam[t + 1] = A @ Gam[t]
        Gam[t + 1][:, t] += B[:, 0]
    return Phi, Gam


def trajectory_cost(X: np.ndarray, U: np.ndarray, q: np.ndarray, r: float) -> np.ndarray:
    """Σ_{t<T} xᵀ diag(q) x + r u² + x_Tᵀ diag(q) x_T.  X (N, T+1, n), U (N, T) → (N,)."""
    return (X ** 2 @ q).sum(-1) + r * (U ** 2).sum(-1)


def policy_rollout(A: np.ndarray, B: np.ndarray, K: np.ndarray, x0: np.ndarray, T: int,
                   C: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run u = K C x from x0 (N, n) (C (obs_dim, n), default I): X (N, T+1, n), U (N, T)."""
    C = np.eye(x0.shape[1]) if C is None else C
    X, U = np.zeros((len(x0), T + 1, x0.shape[1])), np.zeros((len(x0), T))
    X[:, 0] = x0
    for t in range(T):
        U[:, t] = X[:, t] @ C.T @ K[0]
        X[:, t + 1] = X[:, t] @ A.T + U[:, t, None] * B[:, 0]
    return X, U


def train(A: np.ndarray, B: np.ndarray, q: np.ndarray, r: float, x0: np.ndarray, cfg: Config = Config(),
          C: np.ndarray | None = None) -> Result:
    """Deterministic GPS from initial states x0 (N, n), policy u = K C x (C (obs_dim, n), default I: the full
    state); the policy starts at K = 0 and λ at 0."""
    T, rho = cfg.horizon, cfg.rho
    alpha = 2.0 * rho if cfg.alpha is None else cfg.alpha
    N, n = x0.shape
    C = np.eye(n) if C is None else np.asarray(C, dtype=np.float64)
    Phi, Gam = rollout_matrices(A, B, T)
    W = np.kron(np.eye(T + 1), np.diag(q))  # state cost over x_0..x_T
    G = Gam.reshape((T + 1) * n, T)  # stacked: X = P x0 + G U
    P = Phi.reshape((T + 1) * n, n)
    K = np.zeros((1, C.shape[0]))
    lam = np.zeros((N, T))
    U = np.zeros((N, T))
    res = Result(K=K, U=U)
    for _ in range(cfg.n_iters):
        # 1. trajectory step: the residual d = K C x_t − u_t = D U + e is linear in U
        KC = K[0] @ C  # (n,) the policy as a gain on the state
        D = np.einsum("j,tjk->tk", KC, Gam[:T]) - np.eye(T)  # (T, T): K C Γ[t] − I
        E = x0 @ np.einsum("j,tjk->tk", KC, Phi[:T]).T  # (N, T): K C Φ[t] x0
        H = 2.0 * (G.T @ W @ G + r * np.eye(T) + rho * D.T @ D)  # (T, T) Hessian of L̄ in U
        rhs = -(2.0 * (x0 @ P.T) @ W @ G + lam @ D + 2.0 * rho * E @ D)  # (N, T)
        U = np.linalg.solve(H, rhs.T).T
        X = (x0 @ P.T + U @ G.T).reshape(N, T + 1, n)  # dynamics satisfied exactly
        # 2. policy step: weighted least squares for K (supervised learning on the planned (o_t, u_t))
        Os, Us = (X[:, :T] @ C.T).reshape(N * T, -1), U.reshape(-1)  # observations (N T, obs_dim)
        K = np.linalg.solve(2.0 * rho * Os.T @ Os, Os.T @ (2.0 * rho * Us - lam.reshape(-1)))[None, :]
        # 3. dual step on the constraint residual
        d = X[:, :T] @ C.T @ K[0] - U  # (N, T)
        lam = lam + alpha * d
        res.violation.append(float(np.abs(d).max()))
        res.traj_cost.append(float(trajectory_cost(X, U, q, r).sum()))
        Xp, Up = policy_rollout(A, B, K, x0, T, C)
        res.policy_cost.append(float(trajectory_cost(Xp, Up, q, r).sum()))
    res.K, res.U = K, U
    return res
