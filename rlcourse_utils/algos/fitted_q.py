"""Fitted Q-iteration on a tabular MDP with linear features, and a divergent fitted value iteration.

Fitted Q-iteration (Lecture 4 §fitted Q-iteration), off-policy on a fixed data set {(s_i, a_i, r_i, s'_i)}:
    1. y_i = r_i + γ max_a' Q_φ(s'_i, a')          (``backup_fn``: the max over a' needs no new samples)
    2. φ ← argmin_φ Σ_i (Q_φ(s_i, a_i) - y_i)^2     (linear least squares, Q_φ(s, a) = features[s, a] · φ)
The data can come from any policy (``data_dist``: the state-action distribution of the data, uniform by
default), which is why Q-learning is off-policy. ``expected_train`` is the same loop with infinite data:
step 2 weights every pair by ``data_dist`` exactly, so the iteration is deterministic,
    φ ← (Φᵀ D Φ)^{-1} Φᵀ D (r + γ P max_a' Φ φ),
and with generalising (non-tabular) features it can diverge when D is far from the distribution the
greedy policy visits; with one-hot features it is Q-iteration and converges to Q* for any D > 0.

``fitted_value_iteration``: least-squares fitted value iteration V_w = Φ w. On Tsitsiklis and Van Roy's two
states with features 1 and 2 (V = w, 2w), both moving to the second state with reward 0, each fit gives
w ← (6γ/5) w, which diverges for γ > 5/6 although the tabular backup contracts to V* = 0.
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
    q_max: list[float] = field(default_factory=list)
    """max_{s,a} |Q_φ_k| after each iteration (grows without bound when the iteration diverges)."""
    data: tuple[np.ndarray, ...] = ()
    """The data set (s, a, r, s'), each (N,)."""


def default_backup(rewards: np.ndarray, next_q: np.ndarray, gamma: float) -> np.ndarray:
    """y = r + γ max_a' Q(s', a').  rewards (N,), next_q (N, A)."""
    return rewards + gamma * next_q.max(-1)


def train(mdp: TabularMDP, features: np.ndarray, cfg: Config = Config(), seed: int = 0,
          q_star: np.ndarray | None = None,
          backup_fn: Callable[[np.ndarray, np.ndarray, float], np.ndarray] = default_backup,
          data_dist: np.ndarray | None = None) -> Result:
    """Fitted Q-iteration with Q_φ(s, a) = features[s, a] · φ; features (S, A, d).

    ``data_dist`` (S, A): the distribution the N pairs (s, a) are drawn from (default uniform); s' ~ p(·|s, a)."""
    rng = np.random.default_rng(seed)
    S, A, d = features.shape
    probs = np.full(S * A, 1.0 / (S * A)) if data_dist is None else np.asarray(data_dist, dtype=np.float64).ravel()
    sa = rng.choice(S * A, size=cfg.n_samples, p=probs / probs.sum())
    s, a = sa // A, sa % A
    cdf = np.cumsum(mdp.P[s, a], -1)
    s2 = (rng.random(cfg.n_samples)[:, None] > cdf).sum(-1).clip(max=S - 1)
    r = mdp.R[s, a]
    X = features[s, a]                                             # (N, d)
    gram = X.T @ X + cfg.ridge * np.eye(d)
    w = np.zeros(d)
    errors, q_max = [], []
    for _ in range(cfg.n_iters):
        y = backup_fn(r, features[s2] @ w, mdp.gamma)              # features[s2]: (N, A, d)
        w = np.linalg.solve(gram, X.T @ y)
        q = features @ w
        q_max.append(float(np.abs(q).max()))
        if q_star is not None:
            errors.append(float(np.abs(q - q_star).max()))
    return Result(w, features @ w, errors, q_max, (s, a, r, s2))


def expected_train(mdp: TabularMDP, features: np.ndarray, data_dist: np.ndarray, n_iters: int,
                   w0: np.ndarray | None = None) -> np.ndarray:
    """Fitted Q-iteration with infinite data from ``data_dist``: returns the weights φ_0..φ_n, (n_iters + 1, d).

    φ_{k+1} = argmin_φ Σ_{s,a} D(s, a) (Φ(s, a) · φ − r(s, a) − γ Σ_s' p(s'|s, a) max_a' Φ(s', a') · φ_k)^2,
    a weighted least-squares fit per step. features (S, A, d), data_dist (S, A) ≥ 0."""
    S, A, d = features.shape
    X = features.reshape(S * A, d)
    sq = np.sqrt(np.asarray(data_dist, dtype=np.float64).reshape(-1))
    w = np.zeros(d) if w0 is None else np.asarray(w0, dtype=np.float64)
    ws = [w]
    for _ in range(n_iters):
        y = (mdp.R + mdp.gamma * mdp.P @ (features @ w).max(-1)).reshape(-1)
        w = np.linalg.lstsq(sq[:, None] * X, sq * y, rcond=None)[0]
        ws.append(w)
    return np.array(ws)


def fitted_value_iteration(P: np.ndarray, R: np.ndarray, features: np.ndarray, gamma: float, n_iters: int,
                           w0: np.ndarray, data_dist: np.ndarray | None = None) -> np.ndarray:
    """V_w = features @ w fitted to the optimality backup, n_iters times: w ← argmin_w Σ_s D(s) (V_w(s) − (B V_w)(s))^2.

    P (S, A, S), R (S, A), features (S, d), w0 (d,), data_dist (S,) (default uniform).
    Returns the weights w_0..w_n, (n_iters + 1, d). Lecture 4 §fitted value iteration."""
    Phi = np.asarray(features, dtype=np.float64)
    sq = np.sqrt(np.ones(len(Phi)) if data_dist is None else np.asarray(data_dist, dtype=np.float64))
    ws = [np.asarray(w0, dtype=np.float64)]
    for _ in range(n_iters):
        y = (R + gamma * P @ (Phi @ ws[-1])).max(-1)               # (S,) the backup B V_w
        ws.append(np.linalg.lstsq(sq[:, None] * Phi, sq * y, rcond=None)[0])
    return np.array(ws)
