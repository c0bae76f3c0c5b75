"""Critic targets and advantage estimators: one-step TD, n-step, GAE.

The reference implementations of Lecture 3's exercises, reused by every
actor-critic method after it (PPO in Lecture 6 imports ``gae`` from here).

Conventions (rlax-like): time is the leading axis and any further axes are
batch axes that broadcast, so one function serves a single stream (T,) and a
vector of environments (T, N). Step t of a rollout is (s_t, a_t, r_t, s'_t):
``next_values[t]`` is V(s'_t) of the **true** next observation. Where an
episode ends at t, the rollout's next row does not continue it (it starts a new
episode, or is a fake reset step), so take V of the episode's last observation (with gymnasium's
next-step autoreset, the one ``step`` returned at the end, as ``algos.actor_critic``
does; with same-step autoreset, ``info["final_obs"]``).

Two masks, as gymnasium defines them:
    terminated[t]: s'_t is terminal, V(s'_t) = 0, do **not** bootstrap;
    truncated[t]:  the episode was cut (time limit) at a non-terminal s'_t,
                   **do** bootstrap from V(s'_t), but do not run into the next episode.
Multi-step sums stop at either; the last step of a rollout bootstraps like a truncation.

Each function is self-contained (``rlcourse solutions`` pastes its source into the notebook).
Lecture 3 §Actor-critic (Sutton & Barto 2018, ch. 6-7, 12; Schulman et al. 2016, GAE).
"""
from __future__ import annotations

import numpy as np


def td_targets(rewards: np.ndarray, next_values: np.ndarray, terminated: np.ndarray, gamma: float) -> np.ndarray:
    """One-step bootstrapped (TD) targets for the critic.

    y_t = r_t + γ (1 - terminated_t) V(s'_t)

    A truncated step bootstraps like any other (s'_t is not terminal, only unseen
    from here on), so truncation does not appear. Lecture 3 §Policy evaluation.

    Args:
        rewards: (T, ...) rewards r_t.
        next_values: (T, ...) V(s'_t) of the true next observation.
        terminated: (T, ...) bool, True where s'_t is terminal.
        gamma: discount factor γ in [0, 1].

    Returns:
        (T, ...) float targets y_t.

    >>> td_targets(np.array([1.0, 1.0]), np.array([10.0, 10.0]), np.array([False, True]), 0.9).tolist()
    [10.0, 1.0]
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    not_terminal = 1.0 - np.asarray(terminated, dtype=np.float64)  # bootstrap mask: 0 at a terminal s'
    return rewards + gamma * not_terminal * np.asarray(next_values, dtype=np.float64)


def nstep_returns(
    rewards: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    n: int,
) -> np.ndarray:
    """n-step bootstrapped returns, cut at episode ends and at the end of the rollout.

    G_t^(n) = Σ_{k=0}^{m-1} γ^k r_{t+k} + γ^m (1 - terminated_{t+m-1}) V(s'_{t+m-1}),

    where m ≤ n is the number of steps taken: m = n, unless the episode ends first
    (terminated or truncated at step t+m-1) or the rollout does (t+m-1 = T-1).
    n = 1 is the TD target; n ≥ T is the Monte Carlo return, bootstrapped only
    where an episode was truncated or the rollout stops. Lecture 3 §n-step returns.

    Args:
        rewards: (T, ...) rewards.
        next_values: (T, ...) V(s'_t) of the true next observation.
        terminated: (T, ...) bool, s'_t terminal: no bootstrap.
        truncated: (T, ...) bool, the episode was cut after step t: bootstrap, then stop.
        gamma: discount factor.
        n: number of steps, n ≥ 1.

    Returns:
        (T, ...) float n-step returns.

    >>> r, v = np.ones(3), np.full(3, 10.0)
    >>> nstep_returns(r, v, np.zeros(3, bool), np.zeros(3, bool), 0.5, 2).tolist()  # 1 + .5 + .25*10, ...
    [4.0, 4.0, 6.0]
    >>> nstep_returns(r, v, np.array([True, False, False]), np.zeros(3, bool), 0.5, 2).tolist()
    [1.0, 4.0, 6.0]
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    next_values = np.asarray(next_values, dtype=np.float64)
    terminated = np.asarray(terminated, dtype=bool)
    done = terminated | np.asarray(truncated, dtype=bool)  # an episode ends here (either way)
    T = rewards.shape[0]
    t = np.arange(T).reshape((T,) + (1,) * (rewards.ndim - 1))  # (T, 1, ...) broadcasts over batch axes
    returns = np.zeros_like(rewards)
    alive = np.ones_like(rewards)  # 1 while step t+k still belongs to t's episode and rollout
    for k in range(n):
        i = np.minimum(t + k, T - 1)  # (T, 1, ...) index of step t+k, clipped
        idx = lambda x: np.take_along_axis(x, np.broadcast_to(i, x.shape), axis=0)  # noqa: E731
        stop = idx(done) | (k == n - 1) | (t + k >= T - 1)  # the sum ends at this step
        bootstrap = stop & ~idx(terminated)  # ... and bootstraps unless s' is terminal
        returns = returns + alive * gamma**k * (idx(rewards) + gamma * bootstrap * idx(next_values))
        alive = alive * ~stop
    return returns


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    lam: float,
) -> np.ndarray:
    """Generalized advantage estimation (GAE(γ, λ)), computed backwards in time.

    δ_t = r_t + γ (1 - terminated_t) V(s'_t) - V(s_t)
    Â_t = δ_t + γ λ (1 - done_t) Â_{t+1},   done_t = terminated_t or truncated_t,  Â_T = 0

    equal to Σ_n (1-λ) λ^{n-1} Â_t^(n), the λ-weighted mix of n-step advantages:
    λ = 0 is the TD advantage δ_t, λ = 1 the Monte Carlo advantage G_t - V(s_t).
    The critic's regression target is Â_t + V(s_t) (the λ-return).
    Lecture 3 §Generalized advantage estimation (Schulman et al. 2016, eq. 16).

    Args:
        rewards: (T, ...) rewards.
        values: (T, ...) V(s_t) of the states the actions were taken in.
        next_values: (T, ...) V(s'_t) of the true next observation.
        terminated: (T, ...) bool, s'_t terminal: δ_t does not bootstrap.
        truncated: (T, ...) bool, episode cut after t: δ_t bootstraps, the sum stops.
        gamma: discount factor γ.
        lam: λ in [0, 1], bias (0) versus variance (1).

    Returns:
        (T, ...) float advantages Â_t.

    >>> r, v, v_next = np.ones(2), np.array([0.0, 10.0]), np.array([10.0, 10.0])  # v_next[0] = v[1]
    >>> gae(r, v, v_next, np.zeros(2, bool), np.zeros(2, bool), 0.5, 1.0).tolist()  # 1 + .5 + .25*10 - 0, 1 + 5 - 10
    [4.0, -4.0]
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    terminated = np.asarray(terminated, dtype=bool)
    not_terminal = 1.0 - terminated  # bootstrap mask of δ_t
    not_done = 1.0 - (terminated | np.asarray(truncated, dtype=bool))  # the recursion stops at an episode end
    deltas = rewards + gamma * not_terminal * np.asarray(next_values, dtype=np.float64) - np.asarray(values)
    advantages = np.zeros_like(deltas)
    running = np.zeros_like(deltas[0])
    for t in reversed(range(deltas.shape[0])):
        running = deltas[t] + gamma * lam * not_done[t] * running
        advantages[t] = running
    return advantages


def optimal_state_baseline(pi: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The variance-minimising state-dependent baseline of a softmax policy, one per parameter θ[s, k].

    b*_k(s) = E_a[g_k(a)² Q(s, a)] / E_a[g_k(a)²],   a ~ π(·|s),   g_k(a) = ∂ log π(a|s) / ∂θ[s, k] = 1[a = k] - π(k|s):
    Q weighted by π(a|s) g_k(a)², where V^π(s) = E_a[Q(s, a)] weights it by π(a|s) alone.
    Lecture 3 §The critic as a state-dependent baseline (Lecture 2 derives b* for trajectories).

    Args:
        pi: (S, A) action probabilities π(a|s), each row of a softmax policy.
        q: (S, A) action values Q(s, a).

    Returns:
        (S, A) b*[s, k]; where π(k|s) is 0 or 1 (no gradient, E[g_k²] = 0) it is V(s).

    >>> optimal_state_baseline(np.array([[0.25, 0.75]]), np.array([[1.0, 3.0]])).tolist()  # 2 actions: π(1)Q(0) + π(0)Q(1)
    [[1.5, 1.5]]
    """
    pi, q = np.asarray(pi, dtype=np.float64), np.asarray(q, dtype=np.float64)
    g = np.eye(pi.shape[-1]) - pi[:, None, :]  # (S, a, k) g_k(a)
    w = pi[:, :, None] * g**2  # (S, a, k) π(a|s) g_k(a)²
    num, den = (w * q[:, :, None]).sum(1), w.sum(1)  # (S, k)
    v = (pi * q).sum(-1, keepdims=True)  # (S, 1)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), v)


def baseline_variance(pi: np.ndarray, q: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact variance of the score-function estimator g_k(a) (Q(s, a) - b[s, k]) under a ~ π(·|s).

    Var_k(s) = E_a[g_k(a)² (Q(s, a) - b)²] - (E_a[g_k(a) Q(s, a)])²,   g_k(a) = 1[a = k] - π(k|s);
    the mean E_a[g_k (Q - b)] = E_a[g_k Q] does not depend on b, so the variance is a parabola in b
    with its minimum at ``optimal_state_baseline``. Lecture 3 §The critic as a state-dependent baseline.

    Args:
        pi: (S, A) action probabilities of a softmax policy.
        q: (S, A) action values.
        b: (S, A) baseline b[s, k] for parameter θ[s, k] (broadcast a per-state b(s) as b[:, None]).

    Returns:
        (S, A) variance per parameter θ[s, k].

    >>> float(baseline_variance(np.array([[0.5, 0.5]]), np.array([[0.0, 2.0]]), np.zeros((1, 2)))[0, 0])
    0.25
    """
    pi, q = np.asarray(pi, dtype=np.float64), np.asarray(q, dtype=np.float64)
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), q.shape)
    g = np.eye(pi.shape[-1]) - pi[:, None, :]  # (S, a, k)
    mean = (pi[:, :, None] * g * q[:, :, None]).sum(1)  # (S, k) E[g_k Q]
    second = (pi[:, :, None] * g**2 * (q[:, :, None] - b[:, None, :]) ** 2).sum(1)  # (S, k)
    return second - mean**2
