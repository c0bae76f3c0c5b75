"""Batched CartPole-v1 rollouts and the measurements Lecture 1 makes on them.

One call runs N episodes side by side in gymnasium's numpy vector env, one
episode per env: an env's episode ends at its first termination or truncation,
and whatever the env does afterwards (gymnasium 1.x resets it on the next step)
is masked out by ``alive``. A policy is any callable from a batch of features
(N, feat_dim) to actions (N,); it runs under ``torch.no_grad``.

Lecture 1 §Distribution shift: p_data(o) versus p_πθ(o).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np
import torch

from rlcourse_utils import imitation

Policy = Callable[[np.ndarray], np.ndarray]
ObsFn = Callable[[np.ndarray], np.ndarray]

MAX_STEPS = 500  # CartPole-v1's time limit


@dataclass(frozen=True)
class Rollout:
    """N CartPole episodes, time first, padded to T = 500 steps.

    ``states[t, n]`` is the full state the env was in when action ``actions[t, n]``
    was taken; entries with ``alive[t, n] == False`` are padding.
    """

    states: np.ndarray
    """(T, N, 4) full states s_t, what the expert acts on."""
    actions: np.ndarray
    """(T, N) int64 actions taken."""
    alive: np.ndarray
    """(T, N) bool, True while the episode is still running at step t."""
    returns: np.ndarray
    """(N,) undiscounted returns (= episode lengths on CartPole)."""

    def features(self, k: int = 1, obs_fn: ObsFn | None = None) -> np.ndarray:
        """(T, N, k * obs_dim) a learner's inputs h_t: each o_t = obs_fn(s_t) with its k - 1 predecessors.

        Every column is one episode starting at t = 0, so row 0 is the only episode start.
        """
        obs = obs_fn(self.states) if obs_fn else self.states  # (T, N, obs_dim)
        return imitation.stack_history(obs, np.zeros(self.alive.shape, dtype=bool), k)

    def visited(self, k: int = 1, obs_fn: ObsFn | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The (feature, state) pairs of the steps actually taken: ((M, k * obs_dim), (M, 4))."""
        return self.features(k, obs_fn)[self.alive], self.states[self.alive]


def rollout(
    policy: Policy,
    n_envs: int,
    seed: int,
    obs_fn: ObsFn | None = None,
    k: int = 1,
    max_steps: int = MAX_STEPS,
) -> Rollout:
    """Run ``policy`` for one episode in each of ``n_envs`` CartPole-v1 envs.

    At step t the policy sees h_t = [o_{t-k+1}, ..., o_t] (``imitation.stack_history``
    on the last k observations, the first frame repeated before t = k - 1) with
    o_t = obs_fn(s_t). Lecture 1 §Behaviour cloning.

    Args:
        policy: maps (N, k * obs_dim) features to (N,) integer actions.
        n_envs: number N of parallel episodes.
        seed: seeds the vector env's initial states (same seed, same episodes).
        obs_fn: maps (N, 4) states to (N, obs_dim) observations; identity if None.
        k: history length, k >= 1 (k = 1 is a memoryless policy).
        max_steps: episode cap, 500 for CartPole-v1.

    Returns:
        A Rollout with arrays padded to T = max_steps.
    """
    obs_fn = obs_fn or (lambda s: s)
    envs = gym.make_vec("CartPole-v1", num_envs=n_envs, vectorization_mode="vector_entry_point")
    state, _ = envs.reset(seed=seed)  # (N, 4)
    obs_dim = obs_fn(state).shape[-1]
    states = np.zeros((max_steps, n_envs, 4), dtype=np.float32)
    obs = np.zeros((max_steps, n_envs, obs_dim), dtype=np.float32)
    actions = np.zeros((max_steps, n_envs), dtype=np.int64)
    alive = np.zeros((max_steps, n_envs), dtype=bool)
    running = np.ones(n_envs, dtype=bool)  # (N,)
    window_start = np.zeros((k, n_envs), dtype=bool)  # (k, N)
    window_start[0] = True  # the window's first frame starts the history
    for t in range(max_steps):
        states[t], obs[t], alive[t] = np.where(running[:, None], state, 0.0), obs_fn(state), running  # 0 = padding
        window = obs[max(0, t - k + 1): t + 1]  # (<= k, N, obs_dim); a true episode start when t < k
        feats = imitation.stack_history(window, window_start[: len(window)], k)[-1]  # (N, k * obs_dim)
        with torch.no_grad():
            actions[t] = np.asarray(policy(feats), dtype=np.int64)
        state, _, terminated, truncated, _ = envs.step(actions[t])
        running &= ~(terminated | truncated)  # the first end is final: ignore the autoreset after it
        if not running.any():
            break
    envs.close()
    actions[~alive] = 0  # padding
    return Rollout(states, actions, alive, alive.sum(0).astype(np.float64))


def evaluate(policy: Policy, n_episodes: int, seed: int, obs_fn: ObsFn | None = None, k: int = 1) -> np.ndarray:
    """(n_episodes,) returns of ``policy`` on CartPole-v1 (the mean is the usual score; 475 = solved)."""
    return rollout(policy, n_episodes, seed, obs_fn, k).returns


def disagreement(rollout_: Rollout, policy: Policy, expert: Policy, k: int = 1, obs_fn: ObsFn | None = None) -> float:
    """Per-step probability that ``policy`` disagrees with ``expert`` on the states of ``rollout_``.

    ε = E_{s ~ p(s)} [π_θ(s) ≠ π*(s)], with p the rollout's state distribution. On the
    learner's own rollout this is its error on p_πθ, to be compared with its error on
    the training data p_data (``mean(policy(data_obs) != data_actions)``), the ε that
    supervised learning makes small. Lecture 1 §Distribution shift.
    """
    feats, states = rollout_.visited(k, obs_fn)  # (M, k * obs_dim), (M, 4)
    with torch.no_grad():
        mine = np.asarray(policy(feats))  # (M,)
    return float(np.mean(mine != np.asarray(expert(states))))


def survival_curve(rollout_: Rollout) -> np.ndarray:
    """(T,) fraction of episodes still running at step t: how far a policy gets before its first fatal mistake."""
    return rollout_.alive.mean(axis=1)


def mistake_curve(rollout_: Rollout, expert: Policy) -> np.ndarray:
    """(T,) mean cumulative number of steps, up to t, where the rollout's action differs from the expert's.

    An episode that has ended keeps its count; this is the Σ_t ε_t of the lecture's
    O(εT²) (behaviour cloning) versus O(εT) (DAgger) bound, against the horizon T.
    Lecture 1 §Distribution shift: a more formal analysis.
    """
    T, N, _ = rollout_.states.shape
    expert_act = np.asarray(expert(rollout_.states.reshape(T * N, -1))).reshape(T, N)  # (T, N)
    wrong = (rollout_.actions != expert_act) & rollout_.alive  # (T, N)
    return wrong.cumsum(axis=0).mean(axis=1)


def mistakes(rollout_: Rollout, expert: Policy, policy: Policy | None = None, k: int = 1,
             obs_fn: ObsFn | None = None) -> np.ndarray:
    """(T, N) bool: where an action differs from the expert's, c_t = 1[a_t ≠ π*(s_t)], on live steps.

    With ``policy=None`` the actions are the ones the rollout took (a learner on its own
    states, p_πθ); otherwise ``policy`` is asked on the rollout's states (e.g. a learner
    on the expert's states, p_data). Padding after an episode's end is False.
    Lecture 1 §Distribution shift: compounding, measured.
    """
    T, N, _ = rollout_.states.shape
    expert_act = np.asarray(expert(rollout_.states.reshape(T * N, -1))).reshape(T, N)  # (T, N)
    if policy is None:
        acted = rollout_.actions  # (T, N)
    else:
        with torch.no_grad():
            feats = rollout_.features(k, obs_fn)  # (T, N, k * obs_dim)
            acted = np.asarray(policy(feats.reshape(T * N, -1))).reshape(T, N)  # (T, N)
    return (acted != expert_act) & rollout_.alive


def rate_by_step(wrong: np.ndarray, alive: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(len(edges) - 1,) mistake rate per live step in each window [edges[i], edges[i+1]) of time steps.

    ε(t) = Σ wrong / Σ alive over the window: the per-step error of the episodes still running.

    Args:
        wrong: (T, N) or (S, T, N) bool mistakes (from ``mistakes``); a leading seed axis is pooled.
        alive: the matching live-step mask.
        edges: (W + 1,) increasing step indices.
    """
    wrong, alive = np.moveaxis(wrong, -2, 0), np.moveaxis(alive, -2, 0)  # (T, ...)
    return np.array([wrong[a:b].sum() / max(alive[a:b].sum(), 1) for a, b in zip(edges[:-1], edges[1:])])


def tightrope_cost(wrong: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """(T,) J(T) = E[Σ_{t<T} c_t] for every horizon T, where a step after the episode failed costs 1.

    c_t = 1 if the action differs from the expert's, or if the episode already ended (a fallen pole
    is off the tightrope for good: the expert would still be balancing). This is the cost of the
    lecture's O(εT²) bound; with no failures it is the cumulative mistake count. Both arrays are
    (T, N) for a full-length (500-step) rollout: an episode that ends before T counts as failed.
    Lecture 1 §Distribution shift: a more formal analysis.
    """
    return (wrong | ~alive).cumsum(axis=0).mean(axis=1)
