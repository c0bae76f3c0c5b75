"""Online tabular Q-learning and SARSA on a TabularMDP, many environments in parallel (Lecture 4 §off-policy).

Both act ε-greedily in their current Q and update Q(s, a) toward a one-step target:
    Q-learning:  y = r + γ max_a' Q(s', a')     (the greedy policy's value: off-policy)
    SARSA:       y = r + γ Q(s', a'), a' ~ π_ε   (the behaviour policy's own value: on-policy)
so with the same data-collecting behaviour, Q-learning converges to Q* and SARSA to Q_ε, the value of
acting ε-greedily (``dp.epsilon_soft_q_iteration``). Episodes start in a uniformly random non-absorbing
state (exploring starts, so every pair keeps being visited), end on reaching the absorbing state
(target y = r) and are cut after ``max_episode_steps`` (a truncation: the last update still bootstraps).
Step sizes α = 1 / n(s, a)^lr_power satisfy Robbins-Monro for 1/2 < lr_power ≤ 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from rlcourse_utils import dp
from rlcourse_utils.envs.tabular import TabularMDP


@dataclass(frozen=True)
class Config:
    """Online tabular Q-learning / SARSA."""

    rule: str = "q_learning"
    """"q_learning" (target max_a' Q(s', a')) or "sarsa" (target Q(s', a') with a' the next action taken)."""
    epsilon: float = 0.2
    """Exploration probability of the ε-greedy behaviour policy (fixed)."""
    n_envs: int = 64
    """Environments stepped in parallel; updates to the same (s, a) in one step are averaged."""
    n_iters: int = 4000
    """Parallel steps; environment steps = n_iters × n_envs."""
    lr_power: float = 0.7
    """Step size α = n(s, a)^(-lr_power)."""
    max_episode_steps: int = 50
    """Episodes are truncated (not terminated) after this many steps."""
    log_every: int = 100
    """Record the errors every this many parallel steps."""


@dataclass
class Result:
    q: np.ndarray
    """(S, A) the learned Q."""
    env_steps: np.ndarray
    """(K,) environment steps at each record."""
    errors: dict[str, np.ndarray]
    """name → (K,) max_{s,a} |Q − target| over non-absorbing states, for each target passed to ``train``."""
    visits: np.ndarray
    """(S, A) how often each pair was updated."""


def train(mdp: TabularMDP, cfg: Config = Config(), seed: int = 0, targets: dict[str, np.ndarray] | None = None,
          policy_fn: Callable[[np.ndarray, float], np.ndarray] = dp.epsilon_greedy_probs) -> Result:
    """Run Q-learning or SARSA; ``policy_fn(Q_rows, ε) -> probabilities`` is the behaviour (ε-greedy)."""
    if cfg.rule not in ("q_learning", "sarsa"):
        raise ValueError(f"rule must be 'q_learning' or 'sarsa', not {cfg.rule!r}")
    rng = np.random.default_rng(seed)
    S, A = mdp.R.shape
    end = S - 1                                   # the absorbing state (gridworld convention: last index)
    if not np.allclose(mdp.P[end, :, end], 1.0):
        raise ValueError("the last state of the MDP must be absorbing")
    cdf = np.cumsum(mdp.P, -1)
    Q, N = np.zeros((S, A)), np.zeros((S, A))
    targets = targets or {}

    def act(states: np.ndarray) -> np.ndarray:
        probs = np.asarray(policy_fn(Q[states], cfg.epsilon))
        return (rng.random(len(states))[:, None] > np.cumsum(probs, -1)).sum(-1).clip(max=A - 1)

    s = rng.integers(0, end, cfg.n_envs)
    t = np.zeros(cfg.n_envs, dtype=int)
    a = act(s)
    steps, errors = [], {name: [] for name in targets}
    for i in range(1, cfg.n_iters + 1):
        s2 = (rng.random(cfg.n_envs)[:, None] > cdf[s, a]).sum(-1).clip(max=S - 1)
        a2 = act(s2)
        nxt = Q[s2].max(-1) if cfg.rule == "q_learning" else Q[s2, a2]
        y = mdp.R[s, a] + mdp.gamma * np.where(s2 == end, 0.0, nxt)
        idx = s * A + a
        count = np.bincount(idx, minlength=S * A).reshape(S, A)
        delta = np.bincount(idx, weights=y - Q[s, a], minlength=S * A).reshape(S, A)
        N += count
        Q += np.where(count > 0, delta / np.maximum(N, 1) ** cfg.lr_power, 0.0)   # mean TD error of the pair
        t += 1
        reset = (s2 == end) | (t >= cfg.max_episode_steps)
        s = np.where(reset, rng.integers(0, end, cfg.n_envs), s2)
        t[reset] = 0
        a = np.where(reset, act(s), a2)
        if i % cfg.log_every == 0:
            steps.append(i * cfg.n_envs)
            for name, target in targets.items():
                errors[name].append(float(np.abs(Q - target)[:end].max()))
    return Result(Q, np.array(steps), {k: np.array(v) for k, v in errors.items()}, N)
