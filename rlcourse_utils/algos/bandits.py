"""Bandit loops of Lecture 15, vectorised over runs: every run is one row of a numpy array.

``testbed``: Sutton & Barto's 10-armed testbed (q*(a) ~ N(0, 1), rewards ~ N(q*(a), 1), sample averages)
with ε-greedy or UCB. ``bernoulli``: cumulative regret on Bernoulli arms with UCB1, Thompson sampling,
ε-greedy or information-directed sampling.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from rlcourse_utils import exploration


def testbed(method: str = "eps", eps: float = 0.1, c: float = 2.0, n_runs: int = 2000, n_steps: int = 1000,
            n_arms: int = 10, seed: int = 0, ucb_fn: Callable = exploration.ucb_action) -> dict[str, np.ndarray]:
    """Average reward and fraction of optimal actions per step, each (n_steps,), over ``n_runs`` runs.
    method "eps": ε-greedy with ties broken at random; "ucb": ``ucb_fn(Q, N, t, c)`` with t = 1, 2, ..."""
    rng = np.random.default_rng(seed)
    q_star = rng.normal(size=(n_runs, n_arms))
    best = q_star.argmax(1)
    Q = np.zeros((n_runs, n_arms))
    N = np.zeros((n_runs, n_arms))
    rows = np.arange(n_runs)
    avg, opt = np.zeros(n_steps), np.zeros(n_steps)
    for t in range(n_steps):
        if method == "eps":
            noisy = Q + 1e-9 * rng.random(Q.shape)  # random tie-break among equal estimates
            a = np.where(rng.random(n_runs) < eps, rng.integers(n_arms, size=n_runs), noisy.argmax(1))
        else:
            a = np.asarray(ucb_fn(Q, N, t + 1, c))
        r = q_star[rows, a] + rng.normal(size=n_runs)
        N[rows, a] += 1
        Q[rows, a] += (r - Q[rows, a]) / N[rows, a]
        avg[t] = r.mean()
        opt[t] = (a == best).mean()
    return {"avg_reward": avg, "optimal": opt}


def bernoulli(means: np.ndarray, method: str, n_steps: int, n_runs: int, seed: int = 0, c: float = 2.0,
              eps: float = 0.1, ucb_fn: Callable = exploration.ucb_action, ids_samples: int = 200) -> np.ndarray:
    """Cumulative pseudo-regret Σ_t (μ* − μ_{a_t}) per step, (n_runs, n_steps), on Bernoulli arms ``means`` (K,).
    method: "ucb" (UCB1, bonus c sqrt(ln t / N); Auer's UCB1 is c = sqrt 2), "thompson" (Beta(1, 1) priors),
    "eps" (ε-greedy) or "ids" (information-directed sampling from ``ids_samples`` posterior draws; a loop
    over runs, so keep n_runs small)."""
    rng = np.random.default_rng(seed)
    means = np.asarray(means, dtype=np.float64)
    K = means.size
    rows = np.arange(n_runs)
    Q, N = np.zeros((n_runs, K)), np.zeros((n_runs, K))
    alpha, beta = np.ones((n_runs, K)), np.ones((n_runs, K))
    gaps = means.max() - means
    regret = np.zeros((n_runs, n_steps))
    total = np.zeros(n_runs)
    for t in range(n_steps):
        if method == "ucb":
            a = np.asarray(ucb_fn(Q, N, t + 1, c))
        elif method == "thompson":
            a = rng.beta(alpha, beta).argmax(1)
        elif method == "eps":
            a = np.where(rng.random(n_runs) < eps, rng.integers(K, size=n_runs), (Q + 1e-9 * rng.random(Q.shape)).argmax(1))
        elif method == "ids":
            a = np.array([exploration.ids_action(rng.beta(alpha[i], beta[i], size=(ids_samples, K)))
                          for i in range(n_runs)])
        else:
            raise ValueError(method)
        r = (rng.random(n_runs) < means[a]).astype(np.float64)
        N[rows, a] += 1
        Q[rows, a] += (r - Q[rows, a]) / N[rows, a]
        alpha, beta = exploration.beta_bernoulli_update(alpha, beta, a, r)
        total += gaps[a]
        regret[:, t] = total
    return regret
