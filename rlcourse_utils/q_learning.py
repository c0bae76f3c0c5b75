"""Practical Q-learning math: DQN and double-DQN targets, Polyak averaging, the Huber loss, NAF, CEM.

Pure functions on arrays (batch axis ``B`` first, actions ``A`` or ``act_dim`` last):

    DQN target:         y = r + γ (1 - terminated) max_a' Q_φ'(s', a')
    double DQN target:  y = r + γ (1 - terminated) Q_φ'(s', argmax_a' Q_φ(s', a'))
    Polyak averaging:   φ' ← τ φ + (1 - τ) φ'        (τ = 1 - ρ small, e.g. 0.005; τ = 1: hard update)
    Huber loss:         ℓ_δ(x) = x²/2 if |x| ≤ δ else δ (|x| - δ/2),  x = Q_φ(s, a) - stopgrad(y)
    NAF:                Q(s, a) = -½ (a - μ(s))ᵀ P(s) (a - μ(s)) + V(s),  P = L Lᵀ,  argmax_a Q = μ(s)

``terminated`` stops the bootstrap; a ``truncated`` transition (a time limit) bootstraps like any other:
the state after a time limit still has a future, the episode was only cut. Lecture 5 §replay buffers,
§target networks, §double Q-learning, §Q-learning with continuous actions, §tips (Mnih et al. 2015, DQN;
van Hasselt et al. 2016, double DQN; Gu et al. 2016, NAF; Lillicrap et al. 2016, DDPG).
The exercise references are self-contained (``np``, ``torch`` only) so ``rlcourse solutions`` can paste them.

>>> no = np.array([False, False])
>>> dqn_targets(np.array([1.0, 1.0]), np.array([[2.0, 5.0], [2.0, 5.0]]), np.array([False, True]), no, 0.9)
array([5.5, 1. ])
>>> dqn_targets(np.array([1.0, 1.0]), np.array([[2.0, 5.0], [2.0, 5.0]]), no, np.array([False, True]), 0.9)
array([5.5, 5.5])
>>> double_dqn_targets(np.array([0.0]), np.array([[3.0, 1.0]]), np.array([[2.0, 5.0]]), no[:1], no[:1], 1.0)
array([2.])
>>> polyak_update(np.array([0.0, 10.0]), np.array([1.0, 0.0]), 0.1)
array([0.1, 9. ])
>>> polyak_update(np.array([1.0]), np.array([0.0]), 0.005)  # keeps ρ = 1 - τ = 0.995 of φ', not 0.999
array([0.995])
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch


def dqn_targets(rewards: np.ndarray, next_q_target: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                gamma: float) -> np.ndarray:
    """DQN regression targets y = r + γ (1 - terminated) max_a' Q_φ'(s', a').

    The target network φ' both selects and evaluates the next action. Lecture 5 §target networks.

    Args:
        rewards: (B,) rewards r.
        next_q_target: (B, A) target-network values Q_φ'(s', ·) of the next observations.
        terminated: (B,) bool, True where s' is terminal (no bootstrap).
        truncated: (B,) bool, True where a time limit cut the episode at s'. That s' still has a future,
            so it bootstraps like any other: a mask built from ``done = terminated | truncated`` is wrong.
        gamma: discount γ.
    Returns:
        (B,) float targets y.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    not_terminal = 1.0 - np.asarray(terminated, dtype=np.float64)
    return rewards + gamma * not_terminal * np.asarray(next_q_target, dtype=np.float64).max(-1)


def double_dqn_targets(rewards: np.ndarray, next_q_online: np.ndarray, next_q_target: np.ndarray,
                       terminated: np.ndarray, truncated: np.ndarray, gamma: float) -> np.ndarray:
    """Double DQN targets y = r + γ (1 - terminated) Q_φ'(s', argmax_a' Q_φ(s', a')).

    The online network φ selects the next action, the target network φ' evaluates it, so the noise of
    the selection and of the evaluation are decorrelated. Lecture 5 §double Q-learning (van Hasselt 2016).

    Args:
        rewards: (B,) rewards r.
        next_q_online: (B, A) online-network values Q_φ(s', ·) (they choose a').
        next_q_target: (B, A) target-network values Q_φ'(s', ·) (they score a').
        terminated: (B,) bool, True where s' is terminal (no bootstrap).
        truncated: (B,) bool, True where a time limit cut the episode at s' (it still bootstraps).
        gamma: discount γ.
    Returns:
        (B,) float targets y. Ties in the argmax go to the first maximiser (np.argmax).
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    not_terminal = 1.0 - np.asarray(terminated, dtype=np.float64)
    best = np.asarray(next_q_online).argmax(-1)  # (B,) a' chosen by the online network
    value = np.take_along_axis(np.asarray(next_q_target, dtype=np.float64), best[..., None], -1)[..., 0]  # (B,)
    return rewards + gamma * not_terminal * value


def polyak_update(target_params: np.ndarray, online_params: np.ndarray, tau: float) -> np.ndarray:
    """Polyak averaging of the target network: φ' ← τ φ + (1 - τ) φ'.

    τ = 1 copies the online weights (the hard update of DQN); small τ (0.005) lets φ' trail φ with a
    time constant of about 1/τ updates. (The notes write the same rule as φ' ← ρ φ' + (1 - ρ) φ, so
    ρ = 1 - τ: τ = 0.005 is ρ = 0.995.) Lecture 5 §target networks.

    Args:
        target_params: array of target-network weights φ' (any shape). Not modified.
        online_params: array of online weights φ, same shape.
        tau: step size τ in [0, 1].
    Returns:
        The new target weights, same shape, a new array.
    """
    return tau * np.asarray(online_params, dtype=np.float64) + (1.0 - tau) * np.asarray(target_params, dtype=np.float64)


def huber_loss(q_values: torch.Tensor, targets: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """Mean Huber loss of the Bellman error x = Q_φ(s, a) - y, with no gradient through the target y.

        ℓ_δ(x) = x² / 2            if |x| ≤ δ
                 δ (|x| - δ / 2)   otherwise

    Quadratic near 0, linear beyond δ: the gradient is x clipped to [-δ, δ], so a single huge Bellman error
    cannot blow up an update. y is treated as a constant (Q-learning is not gradient descent on the Bellman
    error: no gradient flows into the target). Lecture 5 §tips (Mnih et al. 2015).

    Args:
        q_values: (B,) Q_φ(s, a) of the taken actions (differentiable).
        targets: (B,) targets y (their gradient must be ignored).
        delta: threshold δ > 0 between the quadratic and the linear part.
    Returns:
        Scalar tensor, the mean of ℓ_δ over the batch.
    """
    x = q_values - targets.detach()  # stop-gradient: the target is a constant
    absx = x.abs()
    return torch.where(absx <= delta, 0.5 * x ** 2, delta * (absx - 0.5 * delta)).mean()


def epsilon_schedule(step: int, start: float, end: float, duration: int) -> float:
    """Linear exploration schedule: ε goes from ``start`` to ``end`` over ``duration`` steps, then stays.

    Lecture 5 §tips: explore a lot early (Q is still useless), little later.
    """
    frac = min(max(step / max(duration, 1), 0.0), 1.0)
    return start + frac * (end - start)


def nstep_targets(rewards: np.ndarray, terminated: np.ndarray, bootstrap_q: np.ndarray, gamma: float) -> np.ndarray:
    """N-step Q-learning targets y = Σ_{k<n} γ^k r_k + γ^n max_a Q_φ'(s_n, a), cut at the first termination.

    Lecture 5 §multi-step returns. The rewards r_1..r_{n-1} come from the behaviour policy, so for n > 1 this
    targets a mixture of Q^behaviour and Q*, not Q* (biased off-policy).

    Args:
        rewards: (B, n) rewards r_0..r_{n-1} of n consecutive steps (time on the last axis).
        terminated: (B, n) bool, True where the step's next state is terminal (nothing after it counts).
        bootstrap_q: (B,) max_a Q_φ'(s_n, a) at the state after the n-th step.
        gamma: discount γ.
    Returns:
        (B,) float targets.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    terminated = np.asarray(terminated, dtype=bool)
    n = rewards.shape[-1]
    alive = np.cumprod(np.concatenate([np.ones_like(terminated[..., :1]), ~terminated[..., :-1]], -1), -1)  # (B, n)
    discounts = gamma ** np.arange(n)
    tail = alive[..., -1] * ~terminated[..., -1]  # no termination in any of the n steps
    return (alive * discounts * rewards).sum(-1) + gamma ** n * tail * np.asarray(bootstrap_q, dtype=np.float64)


def naf_q_values(actions: torch.Tensor, mu: torch.Tensor, L: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Normalized advantage function Q(s, a) = -½ (a - μ)ᵀ P (a - μ) + V,  P = L Lᵀ.

    With P positive definite (L lower triangular with positive diagonal), A(s, a) = Q - V ≤ 0 with equality
    only at a = μ(s): argmax_a Q(s, a) = μ(s) and max_a Q(s, a) = V(s) in closed form. Lecture 5
    §Q-learning with continuous actions (Gu et al. 2016).

    Args:
        actions: (B, act_dim).  mu: (B, act_dim).  L: (B, act_dim, act_dim) lower triangular.  value: (B,).
    Returns:
        (B,) Q values.
    """
    d = (actions - mu).unsqueeze(-1)  # (B, act_dim, 1)
    P = L @ L.transpose(-1, -2)  # (B, act_dim, act_dim)
    return -0.5 * (d.transpose(-1, -2) @ P @ d)[..., 0, 0] + value


def sample_argmax(q_fn: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray, n_samples: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """max_a Q(s, a) ≈ max{Q(s, a_1), ..., Q(s, a_K)} with a_k uniform in the box [low, high].

    Args:
        q_fn: maps (K, act_dim) actions to (K,) values Q(s, a_k) for one state s.
        low, high: (act_dim,) action bounds.  n_samples: K.  rng: the random generator.
    Returns:
        (best action (act_dim,), its value).
    """
    a = rng.uniform(low, high, size=(n_samples, len(low)))  # (K, act_dim)
    q = np.asarray(q_fn(a))
    return a[q.argmax()], float(q.max())


def cem_argmax(q_fn: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray, n_samples: int,
               n_elites: int, n_iters: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Cross-entropy method for argmax_a Q(s, a) in a box.

    Repeat: sample K actions from N(m, diag σ²) (clipped to the box), keep the ``n_elites`` best, refit m, σ
    to them. Starts from the centre of the box with σ = half its width. Lecture 5 §Q-learning with
    continuous actions (Rubinstein 1999).

    Returns:
        (best action seen (act_dim,), its value).
    """
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    mean, std = (low + high) / 2, (high - low) / 2
    best_a, best_q = mean, -np.inf
    for _ in range(n_iters):
        a = np.clip(rng.normal(mean, std, size=(n_samples, len(low))), low, high)  # (K, act_dim)
        q = np.asarray(q_fn(a))
        elites = a[np.argsort(q)[-n_elites:]]  # (n_elites, act_dim)
        if q.max() > best_q:
            best_a, best_q = a[q.argmax()], float(q.max())
        mean, std = elites.mean(0), elites.std(0) + 1e-6
    return best_a, best_q
