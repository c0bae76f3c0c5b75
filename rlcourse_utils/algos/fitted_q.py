"""Fitted Q-iteration on a tabular MDP with linear features, and a divergent fitted value iteration.

Fitted Q-iteration (Lecture 4 §fitted Q-iteration), off-policy on a fixed data set {(s_i, a_i, r_i, s'_i)}:
    1. y_i = r_i + γ max_a' Q_φ(s'_i, a')          (``backup_fn``: the max over a' needs no new samples)
    2. φ ← argmin_φ Σ_i (Q_φ(s_i, a_i) - y_i)^2     (linear least squares, Q_φ(s, a) = features[s, a] · φ)
The data can come from any policy (here: uniformly random state-action pairs), which is why
Q-learning is off-policy.

``tsitsiklis_van_roy``: fitted value iteration on two states with features 1 and 2 (V = w, 2w), both
moving to the second state with reward 0. Each least-squares fit of the backup gives w ← (6γ/5) w,
which diverges for γ > 5/6 although the tabular backup contracts to V* = 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from rlcourse_utils.envs.tabular import TabularMDP


@dataclass(frozen=True)
class Config:
    """Fitted Q-iteration on a TabularMDP."""

    n_samples: int = 2000
    """Number of transitions (s, a, r, s') in the fixed data set, (s, a) uniform."""
    n_iters: int = 60
    """Number of fitted Q-iteration steps (one regression each)."""
    ridge: float = 1e-6
    """L2 regulariser of the least-squares fit."""


@dataclass
class Result:
    weights: np.ndarray
    """(d,) final feature weights φ."""
    q: np.ndarray
    """(S, A) final Q_φ."""
    q_error: list[float] = field(default_factory=list)
    """max_{s,a} |Q_φ_k - Q*| after each iteration (needs ``q_star``; empty without it)."""


def default_backup(rewards: np.ndarray, next_q: np.ndarray, gamma: float) -> np.ndarray:
    """y = r + γ max_a' Q(s', a').  rewards (N,), next_q (N, A)."""
    return rewards + gamma * next_q.max(-1)


def train(mdp: TabularMDP, features: np.ndarray, cfg: Config = Config(), seed: int = 0,
          q_star: np.ndarray | None = None,
          backup_fn: Callable[[np.ndarray, np.ndarray, float], np.ndarray] = default_backup) -> Result:
    """Fitted Q-iteration with Q_φ(s, a) = features[s, a] · φ; features (S, A, d)."""
    rng = np.random.default_rng(seed)
    S, A, d = features.shape
    s = rng.integers(S, size=cfg.n_samples)
    a = rng.integers(A, size=cfg.n_samples)
    cdf = np.cumsum(mdp.P[s, a], -1)
    s2 = (rng.random(cfg.n_samples)[:, None] > cdf).sum(-1).clip(max=S - 1)
    r = mdp.R[s, a]
    X = features[s, a]                                             # (N, d)
    gram = X.T @ X + cfg.ridge * np.eye(d)
    w = np.zeros(d)
    errors = []
    for _ in range(cfg.n_iters):
        y = backup_fn(r, features[s2] @ w, mdp.gamma)              # features[s2]: (N, A, d)
        w = np.linalg.solve(gram, X.T @ y)
        if q_star is not None:
            errors.append(float(np.abs(features @ w - q_star).max()))
    return Result(w, features @ w, errors)


def tsitsiklis_van_roy(gamma: float, n_iters: int, w0: float = 1.0) -> np.ndarray:
    """Weights w_0..w_n of least-squares fitted value iteration on the two-state w/2w example. (n_iters + 1,)"""
    phi = np.array([1.0, 2.0])
    w = [w0]
    for _ in range(n_iters):
        y = gamma * phi[1] * w[-1] * np.ones(2)                    # both states move to state 2, reward 0
        w.append(float(phi @ y / (phi @ phi)))                     # argmin_w Σ (φ_s w - y_s)^2
    return np.array(w)
