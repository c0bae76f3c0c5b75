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
              eps: float = 0.1, ucb_fn: Callable = exploration.ucb_action, ids_samples: int = 300) -> np.ndarray:
    """Cumulative pseudo-regret Σ_t (μ* − μ_{a_t}) per step, (n_runs, n_steps), on Bernoulli arms ``means``: (K,) for
    one problem shared by the runs, or (n_runs, K) for one problem per run.
    method: "ucb" (UCB1, bonus c sqrt(ln t / N); Auer's UCB1 is c = sqrt 2), "thompson" (Beta(1, 1) priors),
    "eps" (ε-greedy) or "ids" (information-directed sampling, Russo & Van Roy 2018: ``exploration.ids_quantities``
    on ``ids_samples`` posterior draws per arm, then an action drawn from ``exploration.ids_distribution``; only the
    pulled arm's draws are renewed after each step, the others' posteriors have not changed).
    The rewards use their own random stream (seeded by ``seed``): the reward of pulling a at step t is
    1{u_t < μ_a} with the same u_t for every method, so methods run with one seed are compared on the same runs."""
    rng = np.random.default_rng(seed)
    u = np.random.default_rng([seed, 1]).random((n_steps, n_runs))  # common random numbers for the rewards
    means = np.broadcast_to(np.asarray(means, dtype=np.float64), (n_runs, np.shape(means)[-1]))
    K = means.shape[1]
    rows = np.arange(n_runs)
    Q, N = np.zeros((n_runs, K)), np.zeros((n_runs, K))
    alpha, beta = np.ones((n_runs, K)), np.ones((n_runs, K))
    gaps = means.max(1, keepdims=True) - means  # (R, K)
    regret = np.zeros((n_runs, n_steps))
    total = np.zeros(n_runs)
    if method == "ids":
        draws = rng.beta(alpha[:, None, :], beta[:, None, :], size=(n_runs, ids_samples, K))  # (R, M, K)
    for t in range(n_steps):
        if method == "ucb":
            a = np.asarray(ucb_fn(Q, N, t + 1, c))
        elif method == "thompson":
            a = rng.beta(alpha, beta).argmax(1)
        elif method == "eps":
            a = np.where(rng.random(n_runs) < eps, rng.integers(K, size=n_runs), (Q + 1e-9 * rng.random(Q.shape)).argmax(1))
        elif method == "ids":
            _, delta, g = exploration.ids_quantities(draws)
            pi = exploration.ids_distribution(delta, g)  # (R, K)
            a = (rng.random(n_runs)[:, None] > pi.cumsum(1)).sum(1).clip(max=K - 1)
        else:
            raise ValueError(method)
        r = (u[t] < means[rows, a]).astype(np.float64)
        N[rows, a] += 1
        Q[rows, a] += (r - Q[rows, a]) / N[rows, a]
        alpha, beta = exploration.beta_bernoulli_update(alpha, beta, a, r)
        if method == "ids":  # new draws for the pulled arm only
            draws[rows, :, a] = rng.beta(alpha[rows, a][:, None], beta[rows, a][:, None], size=(n_runs, ids_samples))
        total += gaps[rows, a]
        regret[:, t] = total
    return regret
