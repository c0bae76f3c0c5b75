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
        idx = rng.integers(0, self.size, size=batch_size)  # (B,)
        return {"obs": self.obs[idx], "actions": self.actions[idx], "rewards": self.rewards[idx],
                "next_obs": self.next_obs[idx], "terminated": self.terminated[idx],
                "truncated": self.truncated[idx]}
