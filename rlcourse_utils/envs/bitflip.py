"""Bit flipping (Andrychowicz et al. 2017, §3.1): n bits, flip one per step, reach a goal bit vector.

A batch of N independent episodes stepped together in numpy. State s ∈ {0,1}^n, goal g ∈ {0,1}^n,
action k flips bit k, reward r(s', g) = 0 if s' = g else −1 (``transfer.goal_reward``), an episode
lasts n steps and ends early on success. With n = 15 a random policy almost never sees a reward of 0:
plain DQN learns nothing, DQN with hindsight relabelling learns. Lecture 13 §Hindsight relabelling.
"""
from __future__ import annotations

import numpy as np

from rlcourse_utils.transfer import goal_reward


class BitFlip:
    """N bit-flipping episodes of n bits. ``reset`` draws fresh starts and goals (distinct)."""

    def __init__(self, n_bits: int, n_envs: int, rng: np.random.Generator):
        self.n, self.N, self.rng = n_bits, n_envs, rng
        self.state = np.zeros((n_envs, n_bits), dtype=np.int8)
        self.goal = np.zeros((n_envs, n_bits), dtype=np.int8)

    def reset(self) -> tuple[np.ndarray, np.ndarray]:
        """New episodes: states and goals (N, n) int8 drawn uniformly, goal ≠ start."""
        self.state = self.rng.integers(0, 2, size=(self.N, self.n)).astype(np.int8)
        self.goal = self.rng.integers(0, 2, size=(self.N, self.n)).astype(np.int8)
        same = np.all(self.state == self.goal, axis=1)
        self.goal[same, 0] ^= 1  # a start that is already the goal teaches nothing
        return self.state.copy(), self.goal.copy()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flip bit actions[i] of episode i. Returns next states (N, n), rewards (N,), success (N,) bool."""
        self.state[np.arange(self.N), actions] ^= 1
        reward = goal_reward(self.state, self.goal)
        return self.state.copy(), reward, reward == 0.0
