"""MountainCar-v0 for N cars at once, in numpy: gymnasium's dynamics, one row per car (Lecture 15 §exploration).

An under-powered car in a valley must rock back and forth to reach the flag at position 0.5; every step costs
−1, an episode ends at the flag (terminated) or after 200 steps (truncated). The reward carries no hint of the
goal, so a random or ε-greedy policy almost never sees it: the classic hard-exploration control task.

The dynamics are gymnasium's ``MountainCarEnv.step``, written for arrays (Moore 1990; Sutton & Barto §10.1):

    v ← clip(v + (a − 1) · 0.001 − 0.0025 cos(3 x), −0.07, 0.07)
    x ← clip(x + v, −1.2, 0.6);   v ← 0 if x = −1.2 and v < 0
    terminated = x ≥ 0.5 and v ≥ 0

The state is float64 (as gymnasium keeps it), observations are its float32 copy; ``tests/test_lec15_exploration.py``
checks every step against ``gymnasium.make("MountainCar-v0")``. Unlike gymnasium's vector envs, a car that ends
an episode is reset within the same step: ``step`` returns the reset observation and the true final one in
``info["final_obs"]``, so no step is wasted on a reset.
"""
from __future__ import annotations

import numpy as np

MIN_POSITION, MAX_POSITION, MAX_SPEED = -1.2, 0.6, 0.07
GOAL_POSITION, GOAL_VELOCITY = 0.5, 0.0
FORCE, GRAVITY = 0.001, 0.0025
MAX_STEPS = 200  # MountainCar-v0's time limit


class MountainCarVec:
    """N independent MountainCar-v0 episodes. ``reset() -> (obs (N, 2) float32, {})``;
    ``step(action (N,) in {0, 1, 2}) -> obs, reward (N,), terminated (N,), truncated (N,), info``."""

    def __init__(self, num_envs: int, seed: int = 0, max_steps: int = MAX_STEPS):
        self.num_envs, self.max_steps = num_envs, max_steps
        self.rng = np.random.default_rng(seed)
        self.state = np.zeros((num_envs, 2))  # (N, 2) position, velocity (float64, as gymnasium keeps it)
        self.t = np.zeros(num_envs, dtype=np.int64)

    def _reset_rows(self, rows: np.ndarray) -> None:
        self.state[rows, 0] = self.rng.uniform(-0.6, -0.4, size=int(rows.sum()) if rows.dtype == bool else len(rows))
        self.state[rows, 1] = 0.0
        self.t[rows] = 0

    def reset(self, state: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
        """Start every car at a uniform position in [−0.6, −0.4] with velocity 0, or at ``state`` (N, 2)."""
        if state is None:
            self._reset_rows(np.ones(self.num_envs, dtype=bool))
        else:
            self.state = np.array(state, dtype=np.float64).reshape(self.num_envs, 2)
            self.t[:] = 0
        return self.state.astype(np.float32), {}

    def step(self, action: np.ndarray):
        x, v = self.state[:, 0], self.state[:, 1]
        v = v + ((np.asarray(action) - 1) * FORCE + np.cos(3 * x) * (-GRAVITY))
        v = np.clip(v, -MAX_SPEED, MAX_SPEED)
        x = np.clip(x + v, MIN_POSITION, MAX_POSITION)
        v = np.where((x == MIN_POSITION) & (v < 0), 0.0, v)  # the left wall stops the car
        self.state = np.stack([x, v], 1)  # (N, 2)
        self.t += 1
        terminated = (x >= GOAL_POSITION) & (v >= GOAL_VELOCITY)
        truncated = (self.t >= self.max_steps) & ~terminated
        reward = -np.ones(self.num_envs)
        obs = self.state.astype(np.float32)
        done = terminated | truncated
        info = {"final_obs": obs.copy()}
        if done.any():  # same-step autoreset: obs holds the new episode's first observation
            self._reset_rows(done)
            obs[done] = self.state[done].astype(np.float32)
        return obs, reward, terminated, truncated, info
