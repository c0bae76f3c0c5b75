"""Lecture 18: procedurally generated gridworld levels, a small CoinRun/Procgen in numpy.

A *level* is everything a seed fixes: the walls of a ``size × size`` grid (border always walled,
interior cells walled with probability ``wall_prob``), the start cell and the goal cell, redrawn
until the goal is reachable. ``generate_level(seed)`` is deterministic: the same seed gives the
same level, so a set of training levels is a set of seeds (Cobbe et al. 2019, "Quantifying
generalization in reinforcement learning"; Cobbe et al. 2020, Procgen's ``num_levels``).

``ProcGrid`` steps N episodes at once. Each episode plays one level drawn uniformly from the
level set it was given. Actions 0..3 move up, right, down, left (a move into a wall stays put).
Reaching the goal ends the episode with reward ``1 − 0.9 t / max_steps`` (t = steps taken,
MiniGrid's reward), so the return is in (0.1, 1] on success and 0 on a timeout; the optimal
return of a level is that of its shortest path (``optimal_return``, by breadth-first search).

Observations are small images, (N, 3, size, size) float32: channel 0 the walls, 1 the agent,
2 the goal, in the level's own frame (allocentric), which is what makes a shift of the whole
image (``generalization.random_shift``) an augmentation that keeps the right action unchanged.

>>> level = generate_level(3)
>>> level.walls.shape, bool(level.walls[0].all()), level.start != level.goal
((7, 7), True, True)
>>> bool(generate_level(3).walls.tolist() == level.walls.tolist())   # a seed fixes its level
True
"""
from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass

import numpy as np

from rlcourse_utils.envs.maze import MOVES  # (Δrow, Δcol) of actions 0..3: up, right, down, left


@dataclass(frozen=True)
class Level:
    """One generated level: walls (size, size) bool, start and goal (row, col), shortest path length."""

    walls: np.ndarray
    start: tuple[int, int]
    goal: tuple[int, int]
    distance: int


def shortest_path(walls: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> int:
    """Breadth-first search: the number of moves from start to goal, −1 if unreachable."""
    dist = {start: 0}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        if (r, c) == goal:
            return dist[(r, c)]
        for dr, dc in MOVES:
            nxt = (r + dr, c + dc)
            if not walls[nxt] and nxt not in dist:
                dist[nxt] = dist[(r, c)] + 1
                queue.append(nxt)
    return -1


def distance_to_goal(walls: np.ndarray, goal: tuple[int, int]) -> np.ndarray:
    """(size, size) moves from every cell to ``goal`` by breadth-first search (−1 on walls and cut-off cells).
    Moving to a neighbour one step closer is an optimal policy."""
    dist = -np.ones(walls.shape, dtype=np.int64)
    dist[goal] = 0
    queue = deque([goal])
    while queue:
        r, c = queue.popleft()
        for dr, dc in MOVES:
            nxt = (r + dr, c + dc)
            if not walls[nxt] and dist[nxt] < 0:
                dist[nxt] = dist[(r, c)] + 1
                queue.append(nxt)
    return dist


def generate_level(seed: int, size: int = 7, wall_prob: float = 0.25, min_distance: int = 3, goal_side: int = 0
                   ) -> Level:
    """The level of ``seed``: border walls, interior walls i.i.d. with ``wall_prob``, a start and a goal on
    free cells at least ``min_distance`` moves apart, redrawn (from the same generator) until reachable.
    ``goal_side`` +1 (or −1) keeps only levels whose goal lies in a column right (left) of the start:
    a generator with a bias, to measure what training on its levels does not cover."""
    rng = np.random.default_rng([18, seed])
    while True:
        walls = np.ones((size, size), dtype=bool)
        walls[1:-1, 1:-1] = rng.uniform(size=(size - 2, size - 2)) < wall_prob
        free = np.argwhere(~walls)
        if len(free) < 2:
            continue
        i, j = rng.choice(len(free), size=2, replace=False)
        start, goal = tuple(int(x) for x in free[i]), tuple(int(x) for x in free[j])
        d = shortest_path(walls, start, goal)
        if d >= min_distance and (goal_side == 0 or np.sign(goal[1] - start[1]) == goal_side):
            return Level(walls, start, goal, d)


def level_key(level: Level) -> int:
    """A content key of a level (walls, start, goal): equal levels have equal keys, whatever their seeds."""
    data = level.walls.tobytes() + np.array([*level.start, *level.goal], dtype=np.int64).tobytes()
    return int.from_bytes(hashlib.blake2b(data, digest_size=7).digest(), "little")


def level_keys(levels: "LevelSet") -> np.ndarray:
    """(L,) int64 content keys of every level of a LevelSet, as ``level_key``."""
    return np.array([level_key(Level(w, tuple(int(x) for x in s), tuple(int(x) for x in g), 0))
                     for w, s, g in zip(levels.walls, levels.start, levels.goal)], dtype=np.int64)


@dataclass(frozen=True)
class LevelSet:
    """A stack of L levels as arrays: walls (L, size, size) bool, start and goal (L, 2) int, distance (L,)."""

    seeds: np.ndarray
    walls: np.ndarray
    start: np.ndarray
    goal: np.ndarray
    distance: np.ndarray

    def __len__(self) -> int:
        return len(self.seeds)


def make_levels(seeds, size: int = 7, wall_prob: float = 0.25, goal_side: int = 0) -> LevelSet:
    """Generate the levels of ``seeds`` (a sequence of ints) with ``generate_level``'s settings and stack them."""
    levels = [generate_level(int(s), size, wall_prob, goal_side=goal_side) for s in seeds]
    return LevelSet(np.asarray(seeds, dtype=np.int64), np.stack([lv.walls for lv in levels]),
                    np.array([lv.start for lv in levels]), np.array([lv.goal for lv in levels]),
                    np.array([lv.distance for lv in levels]))


def level_set(walls: np.ndarray, start: np.ndarray, goal: np.ndarray, seeds=None) -> LevelSet:
    """A LevelSet from arrays (walls (L, size, size), start and goal (L, 2)), e.g. transformed levels."""
    walls, start, goal = np.asarray(walls, bool), np.asarray(start, np.int64), np.asarray(goal, np.int64)
    distance = np.array([shortest_path(w, tuple(s), tuple(g)) for w, s, g in zip(walls, start, goal)])
    seeds = np.full(len(walls), -1) if seeds is None else np.asarray(seeds, dtype=np.int64)
    return LevelSet(seeds, walls, start, goal, distance)


def optimal_return(levels: LevelSet, max_steps: int) -> np.ndarray:
    """(L,) the return of the shortest path on each level, 1 − 0.9 d / max_steps."""
    return 1.0 - 0.9 * levels.distance / max_steps


class ProcGrid:
    """N gridworld episodes stepped together; each episode plays a level drawn uniformly from its level set.

    ``levels`` is one LevelSet for all N episodes, or a list of K sets with ``n_envs`` episodes each
    (N = K n_envs; episode i draws from set i // n_envs): K agents trained in lockstep, each on its own
    levels. Gymnasium's vocabulary, with the autoreset done at once: ``step`` returns the first image
    of the next episode where one ended, and ``info["final_return"]`` the finished episode's return
    (NaN where none ended).
    """

    n_actions = 4

    def __init__(self, levels: LevelSet | list[LevelSet], n_envs: int, max_steps: int = 30, seed: int = 0):
        sets = levels if isinstance(levels, list) else [levels]
        sizes = np.array([len(x) for x in sets])
        self.levels = LevelSet(*(np.concatenate([getattr(x, f) for x in sets])
                                 for f in ("seeds", "walls", "start", "goal", "distance")))
        self.N, self.max_steps = len(sets) * n_envs, max_steps
        self.offset = np.repeat(np.cumsum(sizes) - sizes, n_envs)  # (N,) first level of each episode's set
        self.count = np.repeat(sizes, n_envs)  # (N,) size of each episode's set
        self.size = self.levels.walls.shape[1]
        self.rng = np.random.default_rng(seed)
        self.level = np.zeros(self.N, dtype=np.int64)  # (N,) index into ``self.levels`` of each episode
        self.pos = np.zeros((self.N, 2), dtype=np.int64)
        self.t = np.zeros(self.N, dtype=np.int64)

    def _start(self, which: np.ndarray) -> None:
        u = self.rng.uniform(size=int(which.sum()))
        self.level[which] = self.offset[which] + (u * self.count[which]).astype(np.int64)
        self.pos[which] = self.levels.start[self.level[which]]
        self.t[which] = 0

    def observe(self) -> np.ndarray:
        """(N, 2, V, V) float32 egocentric images, V = 2 size − 5: walls and goal, the agent at the centre."""
        R = self.size - 3  # every interior cell is within R of the agent (off-grid reads as wall)
        pad = np.pad(self.levels.walls[self.level], ((0, 0), (R, R), (R, R)), constant_values=True)
        rows = self.pos[:, 0, None] + np.arange(2 * R + 1)  # (N, V): padded rows pos - R .. pos + R
        cols = self.pos[:, 1, None] + np.arange(2 * R + 1)
        n = np.arange(self.N)[:, None, None]
        obs = np.zeros((self.N, 2, 2 * R + 1, 2 * R + 1), dtype=np.float32)
        obs[:, 0] = pad[n, rows[:, :, None], cols[:, None, :]]
        off = self.levels.goal[self.level] - self.pos + R  # (N, 2) goal in the window
        obs[np.arange(self.N), 1, off[:, 0], off[:, 1]] = 1.0
        return obs

    def reset_to(self, level: np.ndarray) -> np.ndarray:
        """Start every episode afresh on a chosen level: ``level`` (N,) indices into ``self.levels``."""
        self.level[:] = level
        self.pos[:] = self.levels.start[self.level]
        self.t[:] = 0
        return self.observe()

    def reset(self) -> tuple[np.ndarray, dict]:
        self._start(np.ones(self.N, dtype=bool))
        return self.observe(), {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        target = self.pos + MOVES[actions]  # (N, 2)
        blocked = self.levels.walls[self.level, target[:, 0], target[:, 1]]
        self.pos = np.where(blocked[:, None], self.pos, target)
        self.t += 1
        terminated = np.all(self.pos == self.levels.goal[self.level], axis=1)
        truncated = (self.t >= self.max_steps) & ~terminated
        reward = np.where(terminated, 1.0 - 0.9 * self.t / self.max_steps, 0.0)
        done = terminated | truncated
        final_return = np.where(done, reward, np.nan)  # the only nonzero reward is the last one
        if done.any():
            self._start(done)
        return self.observe(), reward, terminated, truncated, {"final_return": final_return}
