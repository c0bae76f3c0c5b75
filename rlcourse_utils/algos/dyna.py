"""Dyna-Q (Sutton 1990) and Dyna-style short model rollouts on a tabular maze.

Lecture 9 §Dyna, §General "Dyna-style" model-based RL recipe. Per real step:
    1. in state s pick a by ε-greedy on Q (ties broken at random), observe r, s'
    2. Q-update on the real transition (s, a, r, s')                          (``update_fn``)
    3. model update: the maze is deterministic, so the learned model is a table
       m̂(s, a) = (r, s', terminated) filled in with the last observation
    4. n planning updates on simulated transitions:
       - ``rollout_length = 0`` (Dyna-Q): sample a previously seen (s, a) uniformly, simulate with m̂
       - ``rollout_length = h ≥ 1`` (Dyna-style): sample a previously visited s, roll the current
         ε-greedy policy through m̂ for up to h steps (stop at a terminal or an unmodelled (s, a))
       and apply the same Q-update to each simulated transition.
With n = 0 this is plain Q-learning. More planning per real step propagates the goal's reward
backwards through the model, so far fewer real steps are needed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from rlcourse_utils.envs.maze import Maze
from rlcourse_utils.model_policy import q_learning_update


@dataclass(frozen=True)
class Config:
    """Dyna-Q on a Maze."""

    n_episodes: int = 50
    """Episodes of real experience (Sutton & Barto's Figure 8.2 uses 50)."""
    n_planning: int = 5
    """Simulated Q-updates per real step (n). 0 is Q-learning; usual range 0-50."""
    alpha: float = 0.1
    """Q-learning step size, 0.1-0.5 for a deterministic maze."""
    gamma: float = 0.95
    """Discount: the only signal that shorter paths are better (reward is 1 at the goal only)."""
    epsilon: float = 0.1
    """Exploration probability of the ε-greedy behaviour and rollout policy."""
    rollout_length: int = 0
    """0: Dyna-Q, one-step simulated transitions from seen (s, a). h ≥ 1: rollouts of up to h model steps
    from visited states with the current ε-greedy policy (Dyna-style; MBPO uses k = 1, or a schedule that lengthens k during training)."""


@dataclass
class Result:
    Q: np.ndarray
    """(S, A) final action values."""
    steps_per_episode: np.ndarray
    """(n_episodes,) real environment steps each episode took."""
    n_model_updates: int = 0
    """Total simulated Q-updates performed."""
    env_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """(n_episodes,) cumulative real steps at the end of each episode."""


def _eps_greedy(q_row: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    if rng.random() < epsilon:
        return int(rng.integers(len(q_row)))
    best = np.flatnonzero(q_row == q_row.max())
    return int(best[rng.integers(len(best))])  # random tie-breaking: all-zero Q must not mean "always up"


def train(cfg: Config = Config(), seed: int = 0, maze: Maze | None = None,
          update_fn: Callable[..., np.ndarray] = q_learning_update) -> Result:
    """Run Dyna-Q (or Dyna-style rollouts) for ``cfg.n_episodes`` episodes; ``update_fn`` is the Q-update."""
    env = maze if maze is not None else Maze()
    rng = np.random.default_rng(seed)  # acting
    plan_rng = np.random.default_rng([seed, 1])  # planning: its own stream, so n does not change how acting draws
    S, A = env.n_states, env.n_actions
    Q = np.zeros((S, A))
    model: dict[tuple[int, int], tuple[float, int, bool]] = {}  # (s, a) -> (r, s', terminated): deterministic world
    seen_pairs: list[tuple[int, int]] = []  # buffer of distinct (s, a) the model knows
    known_actions: dict[int, list[int]] = {}  # buffer of visited states and their modelled actions
    visited: list[int] = []
    steps = np.zeros(cfg.n_episodes, dtype=np.int64)
    n_model = 0
    for ep in range(cfg.n_episodes):
        s, _ = env.reset()
        while True:
            a = _eps_greedy(Q[s], cfg.epsilon, rng)
            s_next, r, terminated, truncated, _ = env.step(a)
            steps[ep] += 1
            Q = update_fn(Q, s, a, r, s_next, terminated, cfg.alpha, cfg.gamma)  # learn from the real step
            if (s, a) not in model:
                seen_pairs.append((s, a))
                if s not in known_actions:
                    known_actions[s] = []
                    visited.append(s)
                known_actions[s].append(a)
            model[s, a] = (r, s_next, terminated)  # model update: the last outcome of (s, a)
            u = plan_rng.random((cfg.n_planning, 3)).tolist()  # all random draws of this planning phase
            left, ps = 0, 0  # steps left in the current model rollout, and its state
            for u_pair, u_state, u_act in u:  # planning: one Q-update per simulated transition
                if cfg.rollout_length == 0:  # Dyna-Q: a seen (s, a) from the buffer
                    ps, pa = seen_pairs[int(u_pair * len(seen_pairs))]
                else:  # Dyna-style: continue a short rollout of the current policy, or start one
                    if left == 0:
                        ps, left = visited[int(u_state * len(visited))], cfg.rollout_length
                    pa = _eps_greedy(Q[ps], cfg.epsilon, plan_rng)
                    if (ps, pa) not in model:  # the model knows nothing about (s, a): take a known action
                        pa = known_actions[ps][int(u_act * len(known_actions[ps]))]
                pr, ps2, pterm = model[ps, pa]
                Q = update_fn(Q, ps, pa, pr, ps2, pterm, cfg.alpha, cfg.gamma)
                n_model += 1
                left = 0 if pterm or ps2 not in known_actions else left - 1  # end at a terminal or the unknown
                ps = ps2
            s = s_next  # CRUCIAL: continue from the real next state
            if terminated or truncated:
                break
    return Result(Q=Q, steps_per_episode=steps, n_model_updates=n_model, env_steps=np.cumsum(steps))
