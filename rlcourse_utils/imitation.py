"""Imitation learning math: the reference implementations of Lecture 1's exercises.

Each function is pure (arrays in, arrays out) and self-contained, because
``rlcourse solutions`` pastes its source verbatim into the solution notebook.
The notebook's first cell imports ``np`` and ``torch``; nothing else is assumed.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch


def bc_loss(logits: torch.Tensor, expert_actions: torch.Tensor) -> torch.Tensor:
    """Behaviour-cloning loss of a discrete policy: the expert actions' mean negative log-likelihood.

    L(θ) = -(1/B) Σ_i log π_θ(a*_i | o_i),   π_θ(· | o) = softmax(logits(o))

    Lecture 1 §Behaviour cloning (Pomerleau 1989, ALVINN; Bojarski et al. 2016).

    Args:
        logits: (B, n_actions) unnormalised log-probabilities from the policy network.
        expert_actions: (B,) integer actions a*_i the expert took at o_i.

    Returns:
        A scalar tensor, differentiable with respect to ``logits``.

    >>> logits = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    >>> round(bc_loss(logits, torch.tensor([0, 0])).item(), 4)  # (log 2 + log(1 + e^-2)) / 2
    0.41
    """
    log_probs = torch.log_softmax(logits, dim=-1)  # (B, n_actions)
    picked = log_probs.gather(-1, expert_actions.long().unsqueeze(-1))  # (B, 1)
    return -picked.mean()


def dagger_aggregate(
    data_obs: np.ndarray,
    data_actions: np.ndarray,
    visited_obs: np.ndarray,
    visited_states: np.ndarray,
    expert: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """One DAgger step: the expert labels the states the learner visited, and the data is aggregated.

    D_π = {(o_t, π*(s_t)) : (o_t, s_t) visited by π_θ},   D ← D ∪ D_π

    The learner sees observations o_t; the expert labels from what it sees, the
    state s_t (the same array when the task is fully observed).
    Lecture 1 §DAgger (Ross, Gordon & Bagnell 2011, "A Reduction of Imitation
    Learning and Structured Prediction to No-Regret Online Learning").

    Args:
        data_obs: (B, obs_dim) observations already in the dataset D.
        data_actions: (B,) their expert actions.
        visited_obs: (M, obs_dim) observations the learner saw when it ran its own policy.
        visited_states: (M, state_dim) the states at those steps, which the expert acts on.
        expert: maps (M, state_dim) states to (M,) expert actions.

    Returns:
        (obs, actions): the aggregated dataset, (B + M, obs_dim) and (B + M,),
        old data first.

    >>> obs, act = dagger_aggregate(np.zeros((1, 2)), np.array([0]), np.ones((2, 2)),
    ...                             np.ones((2, 2)), lambda s: (s[:, 0] > 0).astype(int))
    >>> obs.shape, act.tolist()
    ((3, 2), [0, 1, 1])
    """
    new_actions = np.asarray(expert(visited_states))  # (M,) labels from the expert, never the learner
    obs = np.concatenate([data_obs, visited_obs], axis=0)  # (B + M, obs_dim)
    actions = np.concatenate([data_actions, new_actions.astype(data_actions.dtype)], axis=0)  # (B + M,)
    return obs, actions


def stack_history(obs: np.ndarray, episode_start: np.ndarray, k: int) -> np.ndarray:
    """Give a memoryless policy a history: each observation with the k - 1 observations before it.

    h_t = [o_{t-k+1}, ..., o_{t-1}, o_t],  oldest first, where a frame from before the
    episode's first step is replaced by that first step's observation (never by the
    previous episode's last frames).

    Lecture 1 §Why might we fail to fit the expert: non-Markovian behaviour.

    Args:
        obs: (T, ..., obs_dim) consecutive observations, time first; they may span
            several episodes, and extra batch axes (e.g. N envs) broadcast.
        episode_start: (T, ...) bool, True where an episode begins; row 0 always
            counts as a start.
        k: number of frames, k >= 1.

    Returns:
        (T, ..., k * obs_dim) stacked observations.

    >>> stack_history(np.array([[1.], [2.], [3.]]), np.array([True, False, True]), 2).tolist()
    [[1.0, 1.0], [1.0, 2.0], [3.0, 3.0]]
    """
    T = obs.shape[0]
    starts = np.array(episode_start, dtype=bool)  # (T, ...)
    starts[0] = True
    t = np.arange(T).reshape((T,) + (1,) * (starts.ndim - 1))  # (T, 1, ...)
    first = np.maximum.accumulate(np.where(starts, t, 0), axis=0)  # (T, ...) first step of each step's episode
    frames = [
        np.take_along_axis(obs, np.maximum(t - lag, first)[..., None], axis=0)  # (T, ..., obs_dim)
        for lag in range(k - 1, -1, -1)
    ]
    return np.concatenate(frames, axis=-1)


def mog_log_likelihood(
    logits: torch.Tensor, means: torch.Tensor, log_stds: torch.Tensor, actions: torch.Tensor
) -> torch.Tensor:
    """Log-likelihood of actions under a mixture of K diagonal Gaussians.

    log π(a | s) = log Σ_k w_k N(a; μ_k, diag σ_k²),   w = softmax(logits),
    computed as a logsumexp over components so that it never underflows.

    Lecture 1 §Why might we fail to fit the expert: multimodal behaviour
    (Bishop 1994, "Mixture Density Networks").

    Args:
        logits: (B, K) unnormalised log mixture weights.
        means: (B, K, act_dim) component means μ_k.
        log_stds: (B, K, act_dim) component log standard deviations log σ_k.
        actions: (B, act_dim) actions to score.

    Returns:
        (B,) log π(a_i | s_i), differentiable with respect to all parameters.

    >>> zeros = torch.zeros(1, 1, 1)
    >>> round(mog_log_likelihood(torch.zeros(1, 1), zeros, zeros, torch.zeros(1, 1)).item(), 4)
    -0.9189
    """
    log_w = torch.log_softmax(logits, dim=-1)  # (B, K)
    z = (actions.unsqueeze(-2) - means) / log_stds.exp()  # (B, K, act_dim)
    log_normal = (-0.5 * z**2 - log_stds - 0.5 * np.log(2 * np.pi)).sum(-1)  # (B, K)
    return torch.logsumexp(log_w + log_normal, dim=-1)
