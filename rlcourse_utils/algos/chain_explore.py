"""Exploration on a deterministic chain (Lecture 15 §deep RL exploration), tabular and vectorised over seeds.

The chain is ``envs.tabular.chain_mdp(n, slip=0)``: start in the leftmost state, action 0 moves left, action 1
right; reward ``left_reward`` (0.001, Osband et al. 2016) for action 0 in the
leftmost state instead of that module's 0.1, 1 for action 1 in the rightmost. An episode lasts
``n + 9`` steps, so the optimal return walks right (10) and the easy one stays left (0.001 per step).
Methods (all Q-learning, α = 1 because the chain is deterministic, γ = 0.99):

- ``"eps"``: ε-greedy on Q with ε = ``eps``;
- ``"count"``: MBIE-EB (Strehl & Littman 2008), the reward r + β / sqrt(N(s, a)), untried pairs valued at the
  optimistic (r_max + β) / (1 − γ), actions greedy on Q;
- ``"bootstrap"``: K bootstrapped Q heads (Osband et al. 2016), one head drawn per episode and followed
  greedily, each transition shared with each head with probability ``p_share``, random initial values.

Exploitation is judged separately: a second table Q_ext learns the extrinsic reward from the same transitions
(off-policy), and a run succeeds when the greedy policy on Q_ext at the end collects the optimal return.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlcourse_utils import exploration
from rlcourse_utils.envs.tabular import chain_mdp


@dataclass(frozen=True)
class Config:
    n_states: int = 10
    method: str = "eps"
    episodes: int = 200
    gamma: float = 0.99
    eps: float = 0.1
    beta: float = 0.5
    heads: int = 10
    p_share: float = 0.5
    left_reward: float = 0.001


def greedy_return(P: np.ndarray, R: np.ndarray, Q: np.ndarray, horizon: int) -> np.ndarray:
    """Return of the greedy policy on each row of Q (runs, S, A) from state 0 on deterministic P. Returns (runs,)."""
    runs = Q.shape[0]
    s = np.zeros(runs, dtype=int)
    total = np.zeros(runs)
    nxt = P.argmax(-1)
    for _ in range(horizon):
        a = Q[np.arange(runs), s].argmax(1)
        total += R[s, a]
        s = nxt[s, a]
    return total


def train(cfg: Config = Config(), n_runs: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """Runs ``n_runs`` seeds at once. Returns success (n_runs,) bool, the final greedy return (n_runs,) and the
    fraction of episodes that reached the rightmost state (n_runs,)."""
    rng = np.random.default_rng(seed)
    mdp = chain_mdp(cfg.n_states, gamma=cfg.gamma, slip=0.0)
    P, R = mdp.P, mdp.R.copy()
    R[0, 0] = cfg.left_reward
    S, A, H = cfg.n_states, 2, cfg.n_states + 9
    nxt = P.argmax(-1)
    rows = np.arange(n_runs)
    Q_ext = np.zeros((n_runs, S, A))
    N = np.zeros((n_runs, S, A))
    if cfg.method == "bootstrap":
        Qb = rng.normal(0, 1, (n_runs, cfg.heads, S, A))
    elif cfg.method == "count":
        Qb = np.full((n_runs, 1, S, A), (1.0 + cfg.beta) / (1.0 - cfg.gamma))  # untried pairs are optimistic
    else:
        Qb = np.zeros((n_runs, 1, S, A))
    reached = np.zeros(n_runs)
    for _ in range(cfg.episodes):
        head = rng.integers(Qb.shape[1], size=n_runs)
        s = np.zeros(n_runs, dtype=int)
        for _ in range(H):
            q = Qb[rows, head, s]
            if cfg.method == "eps":
                greedy = (q + 1e-9 * rng.random(q.shape)).argmax(1)
                a = np.where(rng.random(n_runs) < cfg.eps, rng.integers(A, size=n_runs), greedy)
            elif cfg.method == "count":
                a = (q + 1e-9 * rng.random(q.shape)).argmax(1)
            else:
                a = q.argmax(1)
            r = R[s, a]
            s2 = nxt[s, a]
            reached += (s2 == S - 1) & (s != S - 1)
            N[rows, s, a] += 1
            Q_ext[rows, s, a] = r + cfg.gamma * Q_ext[rows, s2].max(1)
            if cfg.method == "bootstrap":
                share = rng.random((n_runs, Qb.shape[1])) < cfg.p_share
                target = r[:, None] + cfg.gamma * Qb[rows, :, s2].max(-1)
                cur = Qb[rows, :, s, a]
                Qb[rows, :, s, a] = np.where(share, target, cur)
            else:
                bonus = exploration.count_bonus(N[rows, s, a], cfg.beta) if cfg.method == "count" else 0.0
                Qb[rows, 0, s, a] = r + bonus + cfg.gamma * Qb[rows, 0, s2].max(1)
            s = s2
    optimal = greedy_return(P, R, np.broadcast_to(np.array([0.0, 1.0]), (1, S, A)), H)[0]
    ret = greedy_return(P, R, Q_ext, H)
    return {"success": np.isclose(ret, optimal), "return": ret, "optimal": optimal,
            "reached_fraction": reached / cfg.episodes}
