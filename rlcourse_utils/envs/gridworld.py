"""A small stochastic gridworld as a ``TabularMDP`` (Lecture 4: dynamic programming with known dynamics).

Layout characters: ``.`` free, ``#`` wall, ``G`` goal (+1 on entering), ``X`` pit (-1 on entering),
``S`` start. Actions 0 up, 1 right, 2 down, 3 left; with probability ``slip`` the move goes to one of the
two perpendicular directions instead (half each). Bumping into a wall or the border stays put. Entering
G or X ends the episode: the MDP moves to an extra absorbing state (the last index) with reward 0, so
infinite-horizon values are well defined. States are the free cells in row-major order, then the
absorbing state.

>>> mdp, cells = gridworld()
>>> mdp.n_states, mdp.n_actions, len(cells)
(15, 4, 14)
"""
from __future__ import annotations

import numpy as np

from rlcourse_utils.envs.tabular import TabularMDP

DEFAULT_LAYOUT = ("...G",
                  ".#.X",
                  "S...",
                  "..#.")
MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])  # up, right, down, left
ACTION_ARROWS = "↑→↓←"


def gridworld(layout: tuple[str, ...] = DEFAULT_LAYOUT, slip: float = 0.2, gamma: float = 0.9,
              step_reward: float = 0.0) -> tuple[TabularMDP, list[tuple[int, int]]]:
    """Build the gridworld MDP. Returns (mdp, cells): cells[s] = (row, col) of state s (absorbing state excluded)."""
    cells = [(r, c) for r, row in enumerate(layout) for c, ch in enumerate(row) if ch != "#"]
    index = {rc: i for i, rc in enumerate(cells)}
    S, A = len(cells) + 1, 4
    end = S - 1
    P, R = np.zeros((S, A, S)), np.zeros((S, A))
    P[end, :, end] = 1.0
    rows, cols = len(layout), len(layout[0])
    mu0 = np.zeros(S)
    for s, (r, c) in enumerate(cells):
        ch = layout[r][c]
        if ch == "S":
            mu0[s] = 1.0
        if ch in "GX":  # entering already paid; from here the episode is over
            P[s, :, end] = 1.0
            continue
        for a in range(A):
            for d, p in ((a, 1.0 - slip), ((a + 1) % 4, slip / 2), ((a + 3) % 4, slip / 2)):
                nr, nc = r + MOVES[d, 0], c + MOVES[d, 1]
                if not (0 <= nr < rows and 0 <= nc < cols) or layout[nr][nc] == "#":
                    nr, nc = r, c
                t = index[(nr, nc)]
                P[s, a, t] += p
                R[s, a] += p * ({"G": 1.0, "X": -1.0}.get(layout[nr][nc], 0.0) + step_reward)
    if mu0.sum() == 0:
        mu0[0] = 1.0
    return TabularMDP(P, R, mu0, gamma), cells


def coordinate_features(cells: list[tuple[int, int]], n_actions: int = 4) -> np.ndarray:
    """Linear features that generalise across states: Q_φ(s, a) = φ_a · (1, r, c, r², c², r c) on the cell (r, c).

    One block of 6 weights per action, plus one weight for the absorbing state (the last state, whose
    features are zero otherwise). Returns (S, A, 6 A + 1) with S = len(cells) + 1: 25 weights for the
    4×4 gridworld's 60 state-action pairs, so fitting one pair moves its neighbours too. Lecture 4 §fitted Q."""
    rc = np.asarray(cells, dtype=np.float64) / 3.0                  # rows and columns scaled to about [0, 1]
    r, c = rc[:, 0], rc[:, 1]
    base = np.stack([np.ones_like(r), r, c, r * r, c * c, r * c], 1)   # (S - 1, 6)
    k = base.shape[1]
    F = np.zeros((len(cells) + 1, n_actions, n_actions * k + 1))
    for a in range(n_actions):
        F[:-1, a, a * k:(a + 1) * k] = base
    F[-1, :, -1] = 1.0
    return F


def value_grid(V: np.ndarray, cells: list[tuple[int, int]], layout: tuple[str, ...] = DEFAULT_LAYOUT) -> np.ndarray:
    """Values of the cell states on the (rows, cols) grid, NaN on walls (for ``imshow``)."""
    out = np.full((len(layout), len(layout[0])), np.nan)
    for s, (r, c) in enumerate(cells):
        out[r, c] = V[s]
    return out
