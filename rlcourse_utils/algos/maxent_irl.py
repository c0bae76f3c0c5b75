"""Maximum-entropy inverse RL (Ziebart et al. 2008) on a tabular MDP with known dynamics.

    given demonstrations {τ_i} and features f(s, a), reward r_ψ(s, a) = ψ · f(s, a)
    repeat:
      1. backward pass: log β_t(s, a) for r_ψ          (Lecture 11's ``soft_rl.inference_backward_pass``)
      2. forward pass: μ_t(s, a) ∝ α_t(s) β_t(s, a)     (``irl.visitation_frequencies``, an exercise)
      3. ∇_ψ L = expert feature counts − Σ_t μ_t · f   (``irl.maxent_irl_gradient``, an exercise)
      4. ψ ← ψ + η (∇_ψ L − λ ψ)                        (a small Gaussian prior λ keeps ψ finite where
                                                          the demonstrations never went)

L is concave in ψ, so plain gradient ascent converges; at its fixed point the model's expected feature
counts equal the demonstrations' up to λψ. A healthy run: the log-likelihood rises monotonically and the
count gap ‖∇L‖₁ falls towards λ‖ψ‖₁. Lecture 12 §the MaxEnt IRL algorithm.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from rlcourse_utils import irl, soft_rl


@dataclass(frozen=True)
class Config:
    """Settings of MaxEnt IRL on a gridworld."""

    horizon: int = 12
    """Horizon H of the demonstrations and the model."""
    n_iters: int = 600
    """Gradient-ascent steps; the objective is concave, so more only gets closer."""
    lr: float = 0.5
    """Step size η (feature counts are O(H), so η ~ 1/H to 1)."""
    l2: float = 0.01
    """Gaussian prior λ on ψ: ψ stays finite on cells the expert never entered."""


@dataclass(frozen=True)
class Result:
    """What one MaxEnt IRL run produced."""

    psi: np.ndarray
    """(K,) recovered reward weights."""
    log_likelihood: np.ndarray
    """(n_iters,) (1/N) Σ_i r_ψ(τ_i) − log Z(ψ) before each step (rises)."""
    count_gap: np.ndarray
    """(n_iters,) ‖expert − expected feature counts‖₁ before each step (falls towards λ‖ψ‖₁)."""


def train(cfg: Config, P: np.ndarray, features: np.ndarray, mu0: np.ndarray, expert_states: np.ndarray,
          expert_actions: np.ndarray, visitation_fn: Callable = irl.visitation_frequencies,
          gradient_fn: Callable = irl.maxent_irl_gradient) -> Result:
    """Fit ψ by gradient ascent on the MaxEnt log-likelihood of (N, H) demonstrations.

    Args:
        cfg: settings.  P: (S, A, S) dynamics.  features: (S, A, K).  mu0: (S,) start distribution.
        expert_states, expert_actions: (N, H) integer demonstrations.
        visitation_fn: (P, R, mu0, Q) ↦ (H, S, A) μ, the forward pass.
        gradient_fn: (features, states, actions, μ) ↦ (K,) ∇L.
    """
    F = np.asarray(features, dtype=np.float64)
    psi = np.zeros(F.shape[-1])
    expert_return = lambda R: R[expert_states, expert_actions].sum(1).mean()  # noqa: E731
    lls, gaps = np.zeros(cfg.n_iters), np.zeros(cfg.n_iters)
    with np.errstate(divide="ignore"):
        log_mu0 = np.log(mu0)
    for k in range(cfg.n_iters):
        R = F @ psi  # (S, A) r_ψ
        Q, V = soft_rl.inference_backward_pass(P, R, cfg.horizon)  # 1. log β
        mu = visitation_fn(P, R, mu0, Q)  # 2. μ_t(s, a)
        grad = np.asarray(gradient_fn(F, expert_states, expert_actions, mu))  # 3. expert − expected
        z = log_mu0 + V[0]
        lls[k] = expert_return(R) - (z.max() + np.log(np.exp(z - z.max()).sum()))  # (1/N) Σ r(τ_i) − log Z
        gaps[k] = np.abs(grad).sum()
        psi = psi + cfg.lr * (grad - cfg.l2 * psi)  # 4. ascent with the prior
    return Result(psi, lls, gaps)
