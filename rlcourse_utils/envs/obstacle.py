"""Two equally good ways around a tree: a 2-D driving task with multimodal demonstrations.

A point (the car) starts near (0, 0) and drives up at a constant speed of 0.5 per
step toward a finish gate at y = 10 (|x| <= 1, goal (0, 10)); its only control is
steering, the lateral velocity a ∈ [-1, 1]. A disc obstacle (the lecture's tree)
of radius 1.5 sits on the centre line at (0, 5). The expert keeps to the centre
line, then at y = 2.5 steers hard left or hard right, a coin flip per episode,
and steers back toward the centre line behind the tree. At the branch point half the
demonstrations steer -0.9 and half +0.9: a single Gaussian policy averages the
two modes to a mean of "steer 0", into the tree (a step's hesitation is already
fatal); a mixture of Gaussians picks one mode and commits.

Lecture 1 §Why might we fail to fit the expert: multimodal behaviour.

The dynamics live in one vectorised function, ``step_batch``, used by both the
gymnasium ``ObstacleEnv`` (N = 1) and the batched ``rollout`` of the experiment.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np

OBS_DIM, ACT_DIM = 2, 1
SPEED = 0.5  # forward distance per step; lateral distance per step is SPEED * a
GOAL = np.array([0.0, 10.0])
GATE_HALF_WIDTH = 1.0  # success: cross y = 10 with |x| <= 1
OBSTACLE = np.array([0.0, 5.0])
OBSTACLE_RADIUS = 1.5
MAX_STEPS = 20  # = 10 / SPEED: every episode ends at the finish line or the tree
X_LIMIT = 5.0  # the road: x is clipped to [-5, 5]
BRANCH_Y = 2.5  # where the expert swerves
SWERVE = 0.9  # the expert's steering while it passes the tree
RETURN_GAIN = 0.3  # behind the tree the expert steers -0.3 x, back toward the centre line


def step_batch(pos: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move N cars one step: x' = clip(x + SPEED * clip(a, -1, 1)), y' = y + SPEED.

    A step crashes if the segment from p to p' comes within OBSTACLE_RADIUS of the
    tree's centre (so a car cannot jump through it).

    Args:
        pos: (N, 2) positions (x, y).
        action: (N, 1) steering.

    Returns:
        next_pos: (N, 2) new positions.
        finished: (N,) bool, crossed the finish line y = 10 (through the gate or not).
        crashed: (N,) bool, the step touched the tree.

    >>> pos, finished, crashed = step_batch(np.array([[0.0, 3.5], [3.0, 3.5]]), np.array([[0.0], [0.0]]))
    >>> pos.tolist(), crashed.tolist()  # straight ahead: into the tree, or past it
    ([[0.0, 4.0], [3.0, 4.0]], [True, False])
    """
    dx = SPEED * np.clip(action[:, 0], -1.0, 1.0)  # (N,)
    next_pos = np.stack([np.clip(pos[:, 0] + dx, -X_LIMIT, X_LIMIT), pos[:, 1] + SPEED], -1)  # (N, 2)
    seg = next_pos - pos  # (N, 2)
    u = np.clip(((OBSTACLE - pos) * seg).sum(-1) / (seg**2).sum(-1), 0.0, 1.0)  # (N,)
    closest = pos + u[:, None] * seg  # (N, 2) the point of the step nearest the tree
    crashed = np.linalg.norm(closest - OBSTACLE, axis=-1) < OBSTACLE_RADIUS  # (N,)
    finished = next_pos[:, 1] >= GOAL[1] - 1e-9  # (N,)
    return next_pos, finished, crashed


def is_success(pos: np.ndarray, crashed: np.ndarray) -> np.ndarray:
    """(N,) bool: at the finish line inside the gate, |x| <= 1, and never touched the tree."""
    return (pos[:, 1] >= GOAL[1] - 1e-9) & (np.abs(pos[:, 0]) <= GATE_HALF_WIDTH) & ~crashed


def reset_batch(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) start positions: x uniform in [-0.2, 0.2], y = 0."""
    return np.stack([rng.uniform(-0.2, 0.2, n), np.zeros(n)], -1)


def expert_actions(pos: np.ndarray, side: np.ndarray, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    """The expert: hold the centre line, swerve to ``side`` at y = 2.5, return behind the tree.

    a = -x (y < 2.5),  side * 0.9 (beside the tree, y < 5),  -0.3 x (behind it),
    plus Gaussian noise of std ``noise``, clipped to [-1, 1].

    Args:
        pos: (N, 2) positions.
        side: (N,) +1 (pass on the right) or -1 (on the left), fixed for an episode.
        rng: numpy Generator for the noise.

    Returns:
        (N, 1) steering actions.
    """
    x, y = pos[:, 0], pos[:, 1]
    steer = np.select([y < BRANCH_Y, y < OBSTACLE[1]], [-x, side * SWERVE], -RETURN_GAIN * x)  # (N,)
    return np.clip(steer + noise * rng.standard_normal(len(pos)), -1.0, 1.0)[:, None]


@dataclass(frozen=True)
class Rollout:
    """N episodes of the obstacle task, padded to T = MAX_STEPS steps."""

    obs: np.ndarray
    """(T + 1, N, 2) positions, the final one included; an ended episode's position repeats."""
    actions: np.ndarray
    """(T, N, 1) steering actions taken; 0 after the episode ended."""
    alive: np.ndarray
    """(T, N) bool, True while the episode runs at step t."""
    success: np.ndarray
    """(N,) bool, crossed the finish gate without touching the tree."""
    crashed: np.ndarray
    """(N,) bool, touched the tree."""


def rollout(policy: Callable[[np.ndarray], np.ndarray], n: int, seed: int) -> Rollout:
    """Run ``policy`` ((N, 2) positions → (N, 1) actions) for one episode in each of n cars.

    An episode ends at the finish line or on touching the tree.
    """
    rng = np.random.default_rng(seed)
    pos = reset_batch(n, rng)  # (N, 2)
    obs = np.zeros((MAX_STEPS + 1, n, OBS_DIM))
    actions = np.zeros((MAX_STEPS, n, ACT_DIM))
    alive = np.zeros((MAX_STEPS, n), dtype=bool)
    running = np.ones(n, dtype=bool)  # (N,)
    crashed = np.zeros(n, dtype=bool)  # (N,)
    obs[0] = pos
    for t in range(MAX_STEPS):
        alive[t] = running
        actions[t] = policy(pos)
        next_pos, finished, hit = step_batch(pos, actions[t])
        crashed |= running & hit
        pos = np.where(running[:, None], next_pos, pos)  # an ended episode stays where it ended
        running &= ~(finished | hit)
        obs[t + 1] = pos  # CRUCIAL: the next observation is the new position
    actions[~alive] = 0.0  # padding
    return Rollout(obs, actions, alive, is_success(pos, crashed), crashed)


def expert_demos(n: int, seed: int, noise: float = 0.05) -> Rollout:
    """n expert demonstrations; each passes the tree on the left or the right with probability 1/2.

    The sides are a random permutation of a balanced set (n // 2 of each, the odd one
    out a coin flip), so the two modes are equally represented in every dataset.
    """
    rng = np.random.default_rng(seed)
    side = rng.permutation(np.concatenate([np.repeat([-1.0, 1.0], n // 2), rng.choice([-1.0, 1.0], n % 2)]))  # (N,)
    return rollout(lambda pos: expert_actions(pos, side, rng, noise), n, int(rng.integers(2**31)))


class ObstacleEnv(gym.Env):
    """The obstacle task as a gymnasium Env: obs = position (x, y), action = steering in [-1, 1].

    Reward +1 for crossing the finish gate, -1 for touching the tree (both end the
    episode), 0 otherwise; ``info['success']`` marks a success. Same dynamics as
    ``step_batch``, which it calls.
    """

    metadata = {"render_modes": []}

    def __init__(self):
        high = np.array([X_LIMIT, GOAL[1]], dtype=np.float32)
        self.observation_space = gym.spaces.Box(np.array([-X_LIMIT, 0.0], dtype=np.float32), high, dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(ACT_DIM,), dtype=np.float32)
        self._pos = np.zeros(OBS_DIM)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._pos = reset_batch(1, self.np_random)[0]
        return self._pos.astype(np.float32), {}

    def step(self, action):
        action = np.asarray(action, dtype=np.float64).reshape(1, ACT_DIM)  # (1, 1): a batch of one
        next_pos, finished, crashed = step_batch(self._pos[None], action)
        self._pos = next_pos[0]
        success = bool(is_success(next_pos, crashed)[0])
        reward = -1.0 if crashed[0] else (1.0 if success else 0.0)
        terminated = bool(finished[0] or crashed[0])
        return self._pos.astype(np.float32), reward, terminated, False, {"success": success}
