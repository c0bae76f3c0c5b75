"""Lecture 5: a preallocated replay buffer of transitions (s, a, r, s', terminated, truncated).

Consecutive transitions of one trajectory are strongly correlated; sampling mini-batches uniformly from a
large buffer of past transitions makes them closer to i.i.d. and lets every transition be reused many times
(Lecture 5 §replay buffers; Lin 1992, Mnih et al. 2015). The buffer is a ring: once full, the oldest
transitions are overwritten. ``terminated`` is the only end that stops the bootstrap; ``truncated`` (cut
by a time limit) is stored too, so that the loop hands both flags to the target functions, which must
bootstrap through a truncation.

>>> buf = ReplayBuffer(capacity=3, obs_dim=2, act_shape=())
>>> for i in range(5):
...     buf.add(np.full((1, 2), i), np.array([i % 2]), np.array([1.0]), np.full((1, 2), i + 1), np.array([False]),
...             np.array([False]))
>>> len(buf), sorted(buf.obs[:, 0].tolist())
(3, [2.0, 3.0, 4.0])
"""
from __future__ import annotations

import numpy as np


class ReplayBuffer:
    """Fixed-capacity ring buffer of transitions, stored in preallocated numpy arrays."""

    def __init__(self, capacity: int, obs_dim: int, act_shape: tuple[int, ...] = (), act_dtype: type = np.int64):
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros((capacity, *act_shape), dtype=act_dtype)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=bool)
        self.truncated = np.zeros(capacity, dtype=bool)
        self.pos, self.size = 0, 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray,
            terminated: np.ndarray, truncated: np.ndarray) -> None:
        """Store a batch of N transitions: obs (N, obs_dim), actions (N, *act_shape), rewards (N,),
        next_obs (N, obs_dim) the TRUE next observations, terminated and truncated (N,) bool."""
        n = len(rewards)
        idx = (self.pos + np.arange(n)) % self.capacity  # (N,) ring positions
        self.obs[idx], self.actions[idx], self.rewards[idx] = obs, actions, rewards
        self.next_obs[idx], self.terminated[idx], self.truncated[idx] = next_obs, terminated, truncated
        self.pos = int((self.pos + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A uniform mini-batch (with replacement) of ``batch_size`` stored transitions, as a dict of arrays."""
        return self.take(rng.integers(0, self.size, size=batch_size))

    def take(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """The stored transitions at positions ``idx`` (B,), as a dict of arrays."""
        return {"obs": self.obs[idx], "actions": self.actions[idx], "rewards": self.rewards[idx],
                "next_obs": self.next_obs[idx], "terminated": self.terminated[idx],
                "truncated": self.truncated[idx]}


class NStepReplayBuffer(ReplayBuffer):
    """A replay buffer of n-step transitions, built from the one-step transitions of N parallel environments.

    Lecture 5 §multi-step returns. A stored transition (s_t, a_t, R, s_{t+k}, terminated, truncated, k) has

        R = Σ_{m<k} γ^m r_{t+m},   target y = R + γ^k (1 - terminated) max_a' Q_φ'(s_{t+k}, a'),

    with k = n, or fewer when the episode ended at step t + k: ``terminated`` (no bootstrap) or ``truncated``
    (a time limit; s_{t+k} still has a future and bootstraps with γ^k). Each environment keeps a window of its
    last (at most n) steps; a transition is stored once its n steps are known or its episode ends, so every
    step of an episode is stored exactly once. With n = 1 this stores, in the same order, exactly what
    ``ReplayBuffer.add`` would, with k = 1.

    For n > 1 the rewards r_{t+1}, ..., r_{t+k-1} come from the behaviour policy that collected them, so the
    target is biased towards that policy's values off-policy; it propagates reward n times faster.

    >>> buf = NStepReplayBuffer(capacity=10, obs_dim=1, n_envs=1, n_step=2, gamma=0.5)
    >>> for t in range(3):  # one episode of 3 steps with rewards 1, 2, 4, terminated at the end
    ...     buf.add_step(np.full((1, 1), t), np.array([0]), np.array([2.0 ** t]), np.full((1, 1), t + 1),
    ...                  np.array([t == 2]), np.array([False]), np.array([True]))
    >>> buf.rewards[:3].tolist(), buf.steps[:3].tolist(), buf.next_obs[:3, 0].tolist(), buf.terminated[:3].tolist()
    ([2.0, 4.0, 4.0], [2, 2, 1], [2.0, 3.0, 3.0], [False, True, True])
    """

    def __init__(self, capacity: int, obs_dim: int, n_envs: int, n_step: int, gamma: float,
                 act_shape: tuple[int, ...] = (), act_dtype: type = np.int64):
        if n_step < 1:
            raise ValueError(f"n_step must be at least 1, got {n_step}")
        super().__init__(capacity, obs_dim, act_shape, act_dtype)
        self.n_step, self.gamma = n_step, gamma
        self.steps = np.ones(capacity, dtype=np.int64)  # k of each stored transition
        # per environment, its pending steps in order: window[i, :count[i]]
        self.window_obs = np.zeros((n_envs, n_step, obs_dim), dtype=np.float32)
        self.window_actions = np.zeros((n_envs, n_step, *act_shape), dtype=act_dtype)
        self.window_rewards = np.zeros((n_envs, n_step))
        self.count = np.zeros(n_envs, dtype=np.int64)

    def add_step(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray,
                 terminated: np.ndarray, truncated: np.ndarray, valid: np.ndarray) -> None:
        """One vector step of all N environments: obs (N, obs_dim), actions (N, *act_shape), rewards (N,),
        next_obs (N, obs_dim) the TRUE next observations, terminated, truncated and valid (N,) bool. An
        environment whose step is not a transition of the MDP (``valid`` False: the step after an episode's
        end that only resets it) is skipped. The completed transitions are stored in environment order."""
        n = self.n_step
        if n == 1:  # every valid step is complete at once (steps stays 1)
            self.add(obs[valid], actions[valid], rewards[valid], next_obs[valid], terminated[valid], truncated[valid])
            return
        o, a, R, o2, term, trunc, k = [], [], [], [], [], [], []
        for i in np.flatnonzero(valid):
            c = self.count[i]
            self.window_obs[i, c], self.window_actions[i, c], self.window_rewards[i, c] = obs[i], actions[i], rewards[i]
            c += 1
            ended = bool(terminated[i] or truncated[i])
            if not ended and c < n:  # nothing complete yet
                self.count[i] = c
                continue
            first = c if ended else 1  # an episode's end completes every pending step, else only the oldest
            returns = np.zeros(c)
            running = 0.0
            for j in reversed(range(c)):  # R_j = r_j + γ R_{j+1}: the discounted rewards from step j to the last
                running = self.window_rewards[i, j] + self.gamma * running
                returns[j] = running
            o.append(self.window_obs[i, :first].copy())
            a.append(self.window_actions[i, :first].copy())
            R.append(returns[:first])
            o2.append(np.repeat(next_obs[i][None], first, 0))
            term.append(np.full(first, bool(terminated[i])))
            trunc.append(np.full(first, bool(truncated[i])))
            k.append(c - np.arange(first))
            if ended:
                self.count[i] = 0
            else:  # drop the oldest pending step
                self.window_obs[i, :-1] = self.window_obs[i, 1:].copy()
                self.window_actions[i, :-1] = self.window_actions[i, 1:].copy()
                self.window_rewards[i, :-1] = self.window_rewards[i, 1:].copy()
                self.count[i] = n - 1
        if o:
            idx = (self.pos + np.arange(sum(len(x) for x in R))) % self.capacity
            self.steps[idx] = np.concatenate(k)
            self.add(np.concatenate(o), np.concatenate(a), np.concatenate(R), np.concatenate(o2),
                     np.concatenate(term), np.concatenate(trunc))

    def take(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """As ``ReplayBuffer.take``, with also ``steps`` (B,), the k of each transition."""
        return {**super().take(idx), "steps": self.steps[idx]}
