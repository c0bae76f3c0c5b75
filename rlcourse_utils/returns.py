"""Returns: discounted sums of rewards along the time axis (Lecture 2 §2, reused by Lectures 3 and 6).

Pure functions, time leading: ``rewards`` is (T,) or (T, ...) with any extra batch
axes (envs N, ...), which broadcast. Each function is self-contained because
``rlcourse solutions`` pastes its source into the solution notebook.
"""
from __future__ import annotations

import numpy as np


def discounted_return(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """The discounted return of a whole trajectory: R(τ) = Σ_{t=0}^{T-1} γ^t r_t.

    Lecture 2 §2 (the REINFORCE weight of every step is the full return).

    Args:
        rewards: (T, ...) rewards, time first; extra axes are independent trajectories.
        gamma: discount factor γ ∈ [0, 1].

    Returns:
        (...) one return per trajectory (the time axis summed out), float64.

    >>> discounted_return(np.array([1.0, 1.0, 1.0]), 0.5)  # 1 + 0.5 + 0.25
    array(1.75)
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    discounts = gamma ** np.arange(rewards.shape[0], dtype=np.float64)  # (T,)
    return np.tensordot(discounts, rewards, axes=(0, 0))  # (...)


def reward_to_go(rewards: np.ndarray, gamma: float, episode_end: np.ndarray | None = None) -> np.ndarray:
    """Discounted reward-to-go: G_t = Σ_{t' ≥ t} γ^{t'-t} r_{t'}, stopping where the episode ends.

    G_t = r_t + γ (1 - e_t) G_{t+1},   G_T = 0,   e_t = 1 if step t is the last of its episode.

    Causality: the action at t cannot change rewards before t, so the policy gradient
    weights ∇log π_θ(a_t|s_t) by G_t instead of the whole return. ``episode_end`` marks
    the last step of each episode (terminated OR truncated: a Monte Carlo sum cannot
    look past either), so one stream may hold several episodes back to back.
    Lecture 2 §2 (reward-to-go); Lecture 3 uses it as the Monte Carlo value target.

    Args:
        rewards: (T, ...) rewards r_t, time first; extra axes broadcast (e.g. (T, N) for N envs).
        gamma: discount factor γ ∈ [0, 1].
        episode_end: (T, ...) bool, same shape as ``rewards``; None means one episode per stream.

    Returns:
        (T, ...) float64 array G_t.

    >>> reward_to_go(np.array([1.0, 1.0, 1.0]), 0.5).tolist()
    [1.75, 1.5, 1.0]
    >>> reward_to_go(np.array([1.0, 1.0, 1.0]), 0.5, np.array([False, True, False])).tolist()
    [1.5, 1.0, 1.0]
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    if episode_end is None:
        episode_end = np.zeros(rewards.shape, dtype=bool)
    keep = 1.0 - np.asarray(episode_end, dtype=np.float64)  # 0 where the sum must stop
    out = np.zeros_like(rewards)
    running = np.zeros(rewards.shape[1:])
    for t in reversed(range(rewards.shape[0])):
        running = rewards[t] + gamma * keep[t] * running  # (...)
        out[t] = running
    return out
