"""Skew-Fit (Pong et al. 2019) on a gridworld: propose goals from a skewed model of the states seen so far.

Each iteration:
    1. model     p_θ(x) = the replay buffer's histogram (the maximum-likelihood categorical model of the data)
    2. propose   draw M states x_i from the buffer, weight them w_i ∝ p_θ(x_i)^α (``weights_fn``, the exercise
                 L17_skew_weights) and resample goals from them (sampling-importance-resampling): goals come
                 from p_skew(x) ∝ p_θ(x)^{1+α}; α = 0 is the unweighted ("on-policy", RIG-style) proposal
    3. attempt   a goal-reaching policy π(a | s, g) runs T steps from the start cell toward each goal
    4. store     every visited state goes into the buffer
``goals="uniform"`` is an oracle arm that proposes any free cell uniformly (a real agent does not know which
states exist). The goal-reaching policy is fixed here, so that only the proposal differs between arms: with
probability 1 - ε it takes a move that shortens the true shortest-path distance to the goal (or stays there),
otherwise a uniformly random one of the five actions. In the paper the policy is learned by RL at the same
time; a better policy lowers H(G | S) and the proposal raises H(G), together I(S; G) = H(G) - H(G | S).
Lecture 17 §reaching goals without rewards.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from rlcourse_utils import info_theory
from rlcourse_utils.envs.gridworld import gridworld

ROOMS = ("S....#.....",
         ".....#.....",
         "...........",
         ".....#.....",
         ".....#.....",
         "##.####.###",
         ".....#.....",
         ".....#.....",
         "...........",
         ".....#.....",
         ".....#.....")


@dataclass(frozen=True)
class Config:
    """Skew-Fit goal proposal on a gridworld."""

    alpha: float = -1.0
    """Skew exponent α of the weights p_θ(x)^α; Skew-Fit uses α ∈ [-1, 0); 0 is the unweighted proposal."""
    goals: str = "skew"
    """"skew": goals from the weighted buffer; "uniform": oracle goals uniform over all free cells."""
    n_iters: int = 25
    """Iterations of propose / attempt / store."""
    episodes_per_iter: int = 16
    """Goals (episodes) per iteration."""
    horizon: int = 25
    """Steps per episode T from the start cell."""
    epsilon: float = 0.2
    """Probability of a uniformly random action in the goal-reaching policy."""
    n_buffer_samples: int = 256
    """M: buffer states drawn per iteration for the importance-resampled goal proposal."""


@dataclass
class Result:
    counts: np.ndarray
    """(S,) visits per cell in the replay buffer after the last iteration."""
    coverage_entropy: np.ndarray
    """(n_iters,) H(p_θ) of the buffer's histogram after each iteration (nats)."""
    goal_entropy: np.ndarray
    """(n_iters,) H of the goal proposal used in each iteration (nats)."""
    discovered: np.ndarray
    """(n_iters,) number of distinct cells in the buffer after each iteration."""
    goal_dist: np.ndarray
    """(S,) the proposal's goal distribution at the end (exact, from the buffer)."""


def maze(layout: tuple[str, ...] = ROOMS) -> tuple[np.ndarray, np.ndarray, int, list[tuple[int, int]]]:
    """Deterministic moves with a fifth action "stay": next state table (S, 5), shortest-path distances
    dist[g, s] (S, S) by Bellman-Ford relaxation, the start index and the cells (the gridworld's absorbing
    state is dropped: no cell is a goal or a pit)."""
    mdp, cells = gridworld(layout, slip=0.0)
    S = len(cells)
    nxt = np.concatenate([mdp.P[:S, :, :S].argmax(-1), np.arange(S)[:, None]], 1)   # (S, 5)
    dist = np.full((S, S), np.inf)
    dist[np.arange(S), np.arange(S)] = 0.0
    for _ in range(S):                                            # dist[g, s] = 1 + min_a dist[g, nxt[s, a]]
        new = np.minimum(dist, 1.0 + dist[:, nxt].min(-1))
        if np.array_equal(new, dist):
            break
        dist = new
    return nxt, dist, int(mdp.mu0[:S].argmax()), cells


def goal_policy(nxt: np.ndarray, dist: np.ndarray, epsilon: float) -> np.ndarray:
    """π(a | s, g): (1 - ε) uniform over the actions that minimise dist[g, s'] plus ε uniform. (G, S, 5)."""
    d_next = dist[:, nxt]                                         # (G, S, 5) distance after each action
    best = d_next == d_next.min(-1, keepdims=True)
    return (1 - epsilon) * best / best.sum(-1, keepdims=True) + epsilon / nxt.shape[1]


def final_state_given_goal(nxt: np.ndarray, pi: np.ndarray, start: int, horizon: int) -> np.ndarray:
    """Exact p(s_T = s' | g) from the start cell under π(a | s, g) (G, S, 5). Returns (G, S)."""
    G, S, A = pi.shape
    P = np.zeros((G, S, S))
    np.add.at(P, (slice(None), np.repeat(np.arange(S), A), nxt.reshape(-1)), pi.reshape(G, -1))
    d = np.zeros((G, S))
    d[:, start] = 1.0
    for _ in range(horizon):
        d = np.einsum("gs,gst->gt", d, P)
    return d


def train(cfg: Config = Config(), seed: int = 0, layout: tuple[str, ...] = ROOMS,
          weights_fn: Callable[[np.ndarray, float], np.ndarray] = info_theory.skew_fit_weights) -> Result:
    """Run the goal-proposal loop; ``weights_fn(log_p (..., M), alpha) -> (..., M)`` normalised weights."""
    rng = np.random.default_rng(seed)
    nxt, dist, start, cells = maze(layout)
    S, A = nxt.shape
    pi = goal_policy(nxt, dist, cfg.epsilon)
    counts = np.zeros(S)
    counts[start] = 1.0                                           # the buffer starts with the start state
    cov, gent, disc = [], [], []
    for _ in range(cfg.n_iters):
        p_data = counts / counts.sum()
        if cfg.goals == "uniform":
            goal_dist = np.full(S, 1.0 / S)
        else:
            goal_dist = info_theory.skew_refit(p_data, cfg.alpha)    # exact, for the record only
        if cfg.goals == "uniform":
            goals = rng.integers(0, S, cfg.episodes_per_iter)
        else:                                                     # sampling-importance-resampling
            xs = rng.choice(S, size=cfg.n_buffer_samples, p=p_data)
            w = weights_fn(np.log(p_data[xs]), cfg.alpha)
            goals = xs[rng.choice(cfg.n_buffer_samples, size=cfg.episodes_per_iter, p=w)]
        s = np.full(cfg.episodes_per_iter, start)
        for _ in range(cfg.horizon):
            a = (rng.random(len(s))[:, None] > np.cumsum(pi[goals, s], -1)).sum(-1).clip(max=A - 1)
            s = nxt[s, a]
            counts += np.bincount(s, minlength=S)                 # store every visited state
        cov.append(float(info_theory.entropy(counts / counts.sum())))
        gent.append(float(info_theory.entropy(goal_dist)))
        disc.append(int((counts > 0).sum()))
    p_data = counts / counts.sum()
    goal_dist = np.full(S, 1.0 / S) if cfg.goals == "uniform" else info_theory.skew_refit(p_data, cfg.alpha)
    return Result(counts, np.array(cov), np.array(gent), np.array(disc), goal_dist)


def goal_state_information(goal_dist: np.ndarray, cfg: Config = Config(), layout: tuple[str, ...] = ROOMS
                           ) -> tuple[float, float, float]:
    """Exact (I(S; G), H(G), H(G | S)) for goals G ~ goal_dist (S,) and S the state after T steps of π(· | ·, G)."""
    nxt, dist, start, _ = maze(layout)
    final = final_state_given_goal(nxt, goal_policy(nxt, dist, cfg.epsilon), start, cfg.horizon)   # (G, S)
    joint = goal_dist[:, None] * final                            # p(g, s)
    mi = float(info_theory.mutual_information(joint))
    h_g = float(info_theory.entropy(goal_dist))
    return mi, h_g, h_g - mi
