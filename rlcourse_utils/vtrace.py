"""Distributed RL's off-policy corrections: V-trace targets and prioritised replay.

Lecture 14 §V-trace (Espeholt et al. 2018, IMPALA, eq. 1) and §Prioritised replay
(Schaul et al. 2016, used by Ape-X, Horgan et al. 2018, and R2D2, Kapturowski et al. 2019).

Layout: time first. A rollout of T steps from N actors is (T,) or (T, N); ``bootstrap_value``
is V(x_T), the value of the state after the last step, () or (N,). ``discounts[t]`` is
γ_t = γ (1 - done_t): zero where an episode ended at step t, so nothing flows back across it.

The tabular functions at the end (``tabular_vtrace_operator``, ``truncated_target_policy``)
compute the expected V-trace operator exactly on a ``rlcourse_utils.envs.tabular`` MDP;
``sampled_evaluation`` learns a tabular V from sampled behaviour-policy data with V-trace or
uncorrected targets (Lecture 14 §5.1).
"""
from __future__ import annotations

import numpy as np


def vtrace_targets(rewards: np.ndarray, values: np.ndarray, bootstrap_value: np.ndarray, discounts: np.ndarray,
                   log_rhos: np.ndarray, rho_bar: float = 1.0, c_bar: float = 1.0) -> np.ndarray:
    """V-trace value targets v_s for every step of a rollout (Espeholt et al. 2018, eq. 1).

        ρ_t = min(ρ̄, π(a_t|x_t) / μ(a_t|x_t)),   c_t = min(c̄, π(a_t|x_t) / μ(a_t|x_t)),
        δ_t = ρ_t (r_t + γ_t V(x_{t+1}) - V(x_t)),
        v_s - V(x_s) = δ_s + γ_s c_s (v_{s+1} - V(x_{s+1})),   v_T = V(x_T) (the bootstrap),

    i.e. v_s = V(x_s) + Σ_{t≥s} (γ_s ⋯ γ_{t-1}) (c_s ⋯ c_{t-1}) δ_t. With π = μ (log_rhos = 0) and
    ρ̄, c̄ ≥ 1 it is the n-step return cut at the rollout's end. Lecture 14 §V-trace.

    Args:
        rewards: (T,) or (T, N) rewards r_t.
        values: same shape, V(x_t) from the learner's critic.
        bootstrap_value: () or (N,), V(x_T).
        discounts: same shape as rewards, γ_t = γ (1 - done_t).
        log_rhos: same shape, log π(a_t|x_t) - log μ(a_t|x_t) (target minus behaviour).
        rho_bar, c_bar: truncation levels ρ̄ ≥ c̄ > 0 (np.inf: no truncation).
    Returns:
        (T,) or (T, N) float64 targets v_s.
    """
    r, v, g = (np.asarray(x, dtype=np.float64) for x in (rewards, values, discounts))
    ratio = np.exp(np.asarray(log_rhos, dtype=np.float64))
    rho, c = np.minimum(rho_bar, ratio), np.minimum(c_bar, ratio)
    next_v = np.concatenate([v[1:], np.asarray(bootstrap_value, dtype=np.float64)[None]], axis=0)
    delta = rho * (r + g * next_v - v)
    acc = np.zeros_like(v[0])
    out = np.zeros_like(v)
    for t in range(len(r) - 1, -1, -1):
        acc = delta[t] + g[t] * c[t] * acc
        out[t] = v[t] + acc
    return out


def priority_probabilities(priorities: np.ndarray, alpha: float) -> np.ndarray:
    """Prioritised replay's sampling distribution P(i) = p_i^α / Σ_k p_k^α (Schaul et al. 2016, eq. 1).

    α = 0 is uniform sampling, α = 1 samples in proportion to the priority. Lecture 14 §Ape-X.

    Args:
        priorities: (B,) non-negative priorities p_i (|TD error| + ε in Ape-X), at least one > 0.
        alpha: exponent α ≥ 0.
    Returns:
        (B,) float64 probabilities summing to 1.
    """
    p = np.asarray(priorities, dtype=np.float64)
    scaled = np.where(p > 0, p, 0.0) ** alpha if alpha > 0 else np.ones_like(p)
    return scaled / scaled.sum()


def importance_weights(probs: np.ndarray, indices: np.ndarray, beta: float) -> np.ndarray:
    """Prioritised replay's importance weights w_i = (B P(i))^{-β} / max_j w_j (Schaul et al. 2016).

    The maximum is over the whole buffer (the smallest P), so every weight is ≤ 1; β = 1 undoes
    the non-uniform sampling in expectation: E_{i~P}[w_i' f_i] = mean_i f_i with w' = (B P(i))^{-1}.
    Lecture 14 §Ape-X.

    Args:
        probs: (B,) sampling probabilities P(i) of the whole buffer (all > 0 for sampled items).
        indices: (K,) int indices of the sampled items.
        beta: exponent β ∈ [0, 1].
    Returns:
        (K,) float64 weights in (0, 1].
    """
    P = np.asarray(probs, dtype=np.float64)
    B = len(P)
    w_max = (B * P[P > 0].min()) ** (-beta)
    return (B * P[np.asarray(indices)]) ** (-beta) / w_max


# ---------------------------------------------------------------- exact tabular analysis

def truncated_target_policy(pi: np.ndarray, mu: np.ndarray, rho_bar: float) -> np.ndarray:
    """π_ρ̄(a|s) ∝ min(ρ̄ μ(a|s), π(a|s)): the policy whose value V-trace converges to. (S, A)."""
    m = np.minimum(rho_bar * np.asarray(mu, dtype=np.float64), np.asarray(pi, dtype=np.float64))
    return m / m.sum(-1, keepdims=True)


def tabular_vtrace_operator(V: np.ndarray, P: np.ndarray, R: np.ndarray, pi: np.ndarray, mu: np.ndarray,
                            gamma: float, rho_bar: float, c_bar: float) -> np.ndarray:
    """The expected V-trace operator with infinite lookahead, exactly: (R V)(s) = V(s) + D(s) with

        D(s) = E_{a~μ}[ρ(s,a) (r(s,a) + γ Σ_s' P(s'|s,a) V(s') - V(s))]
               + γ E_{a~μ}[c(s,a) Σ_s' P(s'|s,a) D(s')],

    a linear system D = (I - γ P_c)^{-1} E_μ[ρ δ], P_c(s,s') = Σ_a μ(a|s) c(s,a) P(s'|s,a).
    Espeholt et al. 2018, Theorem 1: its fixed point is V^{π_ρ̄}. Lecture 14 §V-trace. Returns (S,).
    """
    P, R, pi, mu, V = (np.asarray(x, dtype=np.float64) for x in (P, R, pi, mu, V))
    ratio = pi / mu
    rho, c = np.minimum(rho_bar, ratio), np.minimum(c_bar, ratio)
    delta = R + gamma * P @ V - V[:, None]  # (S, A)
    b = (mu * rho * delta).sum(-1)
    P_c = np.einsum("sa,sat->st", mu * c, P)
    return V + np.linalg.solve(np.eye(len(V)) - gamma * P_c, b)


def sampled_evaluation(P: np.ndarray, R: np.ndarray, gamma: float, pi: np.ndarray, mu: np.ndarray, n: int = 8,
                       correction: bool = True, rho_bar: float = 1.0, c_bar: float = 1.0, n_walkers: int = 1000,
                       n_iters: int = 400, alpha: float = 0.5, seed: int = 0, vtrace_fn=vtrace_targets) -> np.ndarray:
    """Learn a tabular V from data of the behaviour policy μ (a lagged policy), as a learner does.

    ``n_walkers`` walkers move through the MDP under μ without end (P: (S, A, S), R: (S, A),
    pi, mu: (S, A)); each iteration rolls every walker n steps on, computes targets for every step
    with ``vtrace_fn`` (log ratio log π/μ with ``correction``; 0 without, the uncorrected n-step
    return of the stale data), and moves V(s) by ``alpha`` times the mean of (target - V(s)) over
    that iteration's visits to s. Returns the average of V over the last half of the iterations
    (Polyak averaging, to remove the constant step size's noise), (S,).

    Expected fixed points: V^{π_ρ̄} with the correction (Espeholt et al. 2018, Theorem 1; V^π when
    ρ̄ = ∞), V^μ without it. Lecture 14 §5.1.
    """
    P, R, pi, mu = (np.asarray(x, dtype=np.float64) for x in (P, R, pi, mu))
    S, A = R.shape
    rng = np.random.default_rng(seed)
    cum_mu, cum_P = mu.cumsum(-1), P.cumsum(-1)
    s = rng.integers(S, size=n_walkers)
    V, V_sum = np.zeros(S), np.zeros(S)
    for k in range(n_iters):
        st, ac = np.zeros((n + 1, n_walkers), dtype=np.int64), np.zeros((n, n_walkers), dtype=np.int64)
        st[0] = s
        for t in range(n):
            ac[t] = np.minimum((rng.random(n_walkers)[:, None] > cum_mu[st[t]]).sum(-1), A - 1)
            st[t + 1] = np.minimum((rng.random(n_walkers)[:, None] > cum_P[st[t], ac[t]]).sum(-1), S - 1)
        s = st[-1]
        log_rhos = np.log(pi[st[:-1], ac] / mu[st[:-1], ac]) if correction else np.zeros(ac.shape)
        targets = vtrace_fn(R[st[:-1], ac], V[st[:-1]], V[st[-1]], np.full(ac.shape, gamma), log_rhos, rho_bar, c_bar)
        visits = np.bincount(st[:-1].ravel(), minlength=S)
        step = np.bincount(st[:-1].ravel(), (targets - V[st[:-1]]).ravel(), minlength=S) / np.maximum(visits, 1)
        V = V + alpha * step
        if k >= n_iters // 2:
            V_sum += V
    return V_sum / (n_iters - n_iters // 2)
