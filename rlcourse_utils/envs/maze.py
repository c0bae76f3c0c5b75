"""Lecture 9: the Dyna maze of Sutton & Barto (2018, Example 8.1), a small deterministic gridworld.

A 6 × 9 grid with walls (``#``), start ``S`` and goal ``G``. Actions 0..3 move up, right, down, left;
a move into a wall or off the grid leaves the agent in place. Reaching ``G`` pays +1 and ends the
episode; every other step pays 0. States are cell indices ``row * n_cols + col``.

``Maze.step`` is the environment (numpy, gymnasium's names); ``Maze.tables`` gives the exact model
(next-state and reward tables) a planner can use, e.g. value iteration for the shortest path.

>>> m = Maze()
>>> s, _ = m.reset()
>>> m.to_cell(s)
(2, 0)
>>> s, r, terminated, truncated, _ = m.step(0)   # up: (1, 0), free
>>> m.to_cell(s), r, terminated
((1, 0), 0.0, False)
"""
from __future__ import annotations

import numpy as np

DYNA_MAZE = (
    ".......#G",
    "..#....#.",
    "S.#....#.",
    "..#......",
    ".....#...",
    ".........",
)
MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])  # up, right, down, left
ACTION_NAMES = ("up", "right", "down", "left")


class Maze:
    """A deterministic gridworld maze with gymnasium-style ``reset``/``step`` (one environment, numpy)."""

    n_actions = 4

    def __init__(self, layout: tuple[str, ...] = DYNA_MAZE, max_steps: int = 10_000):
        self.layout = layout
        self.n_rows, self.n_cols = len(layout), len(layout[0])
        self.n_states = self.n_rows * self.n_cols
        self.walls = np.array([[ch == "#" for ch in row] for row in layout])  # (n_rows, n_cols)
        self.start = self._find("S")
        self.goal = self._find("G")
        self.max_steps = max_steps
        self.next_state, self.reward, self.terminal = self.tables()
        self.state, self.t = self.start, 0

    def _find(self, ch: str) -> int:
        (r, c), = [(r, c) for r, row in enumerate(self.layout) for c, x in enumerate(row) if x == ch]
        return r * self.n_cols + c

    def to_cell(self, s: int) -> tuple[int, int]:
        return int(s) // self.n_cols, int(s) % self.n_cols

    def tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The exact model: next_state (S, A) int, reward (S, A) float, terminal (S, A) bool."""
        S, A = self.n_states, self.n_actions
        nxt, rew = np.zeros((S, A), dtype=np.int64), np.zeros((S, A))
        for s in range(S):
            r, c = self.to_cell(s)
            for a, (dr, dc) in enumerate(MOVES):
                r2, c2 = r + dr, c + dc
                blocked = not (0 <= r2 < self.n_rows and 0 <= c2 < self.n_cols) or self.walls[r2, c2]
                nxt[s, a] = s if blocked else r2 * self.n_cols + c2
                rew[s, a] = float(nxt[s, a] == self.goal)
        return nxt, rew, nxt == self.goal

    def reset(self, seed: int | None = None) -> tuple[int, dict]:
        self.state, self.t = self.start, 0
        return self.state, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        s = self.state
        self.state = int(self.next_state[s, action])
        self.t += 1
        terminated = bool(self.terminal[s, action])
        return self.state, float(self.reward[s, action]), terminated, self.t >= self.max_steps and not terminated, {}

    def shortest_path_length(self) -> int:
        """Fewest steps from S to G (breadth-first search on the exact model)."""
        dist = {self.start: 0}
        frontier = [self.start]
        while frontier:
            new = []
            for s in frontier:
                for s2 in self.next_state[s]:
                    if int(s2) not in dist:
                        dist[int(s2)] = dist[s] + 1
                        new.append(int(s2))
            frontier = new
        return dist[self.goal]

    def render(self, values: np.ndarray | None = None) -> np.ndarray:
        """(n_rows, n_cols) image: walls NaN, other cells ``values`` (or 0)."""
        img = np.zeros((self.n_rows, self.n_cols)) if values is None else np.asarray(values, float).reshape(
            self.n_rows, self.n_cols).copy()
        img[self.walls] = np.nan
        return img
