"""DIAYN (Diversity Is All You Need; Eysenbach et al. 2018) on a gridworld with a max-entropy skill policy.

Skills z ∈ {0..K-1} with a uniform prior p(z). Each round:
    1. reward      r(s, z) = log q_φ(z | s) - log p(z) on every cell (``reward_fn``, the exercise L17_diayn_reward)
    2. policy      π_z = soft-optimal policy for that reward (soft Q-iteration on the known gridworld, temperature α:
                   the max-entropy RL step that SAC performs from samples in the paper), reward paid on the
                   state entered, R_z(s, a) = Σ_s' p(s' | s, a) r(s', z)
    3. data        N episodes of T steps per skill from the start cell
    4. discriminator  Adam steps of cross-entropy -log q_φ(z | s) on the visited (s, z) pairs; q_φ is a small MLP
                   on the cell's (row, col) coordinates, so it generalises to cells not visited yet
which ascends DIAYN's objective F = I(S; Z) + H(A | S, Z) = H(Z) - H(Z | S) + H(A | S, Z) with the
variational bound E[log q_φ(z | s)] ≤ -H(Z | S) in place of the intractable posterior.
The symmetry between skills is broken only by the discriminator's random initialisation.
Lecture 17 §learning diverse skills. The exact state marginals (``skill_marginals``) make every
quantity of the lecture (I(S; Z), the Bayes-optimal accuracy) an exact finite sum.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from rlcourse_utils import info_theory, soft_rl, tabular_pg
from rlcourse_utils.envs.gridworld import gridworld
from rlcourse_utils.envs.tabular import TabularMDP

ROOM = (".......",
        ".......",
        ".......",
        "...S...",
        ".......",
        ".......",
        ".......")


@dataclass(frozen=True)
class Config:
    """DIAYN on a gridworld room."""

    n_skills: int = 4
    """K skills, uniform prior p(z) = 1/K (reward ≤ log K)."""
    horizon: int = 8
    """Steps per episode T from the start cell; the marginal over s_1..s_T is the skill's state distribution."""
    n_rounds: int = 30
    """Alternations of policy step, data collection and discriminator step."""
    episodes_per_skill: int = 16
    """Episodes per skill per round N."""
    alpha: float = 0.1
    """Entropy temperature α of the max-entropy policy; DIAYN uses 0.1 with SAC. Larger: more random skills."""
    gamma: float = 0.9
    """Discount of the soft Q-iteration."""
    soft_iters: int = 60
    """Soft Q-iteration sweeps per round (γ^60 ≈ 0.002)."""
    disc_lr: float = 1e-2
    """Adam learning rate of the discriminator."""
    disc_steps: int = 20
    """Discriminator gradient steps per round, each on all the round's (s, z) pairs."""
    hidden: int = 32
    """Hidden width of the discriminator MLP."""
    slip: float = 0.1
    """Gridworld slip probability (a move goes sideways)."""


@dataclass
class Result:
    mdp: TabularMDP
    """The gridworld (its last state is the unused absorbing state)."""
    cells: list[tuple[int, int]]
    """(row, col) of each cell state."""
    policies: np.ndarray
    """(K, S, A) the final skill policies π(a | s, z)."""
    logits: np.ndarray
    """(S, K) the final discriminator's scores of every state."""
    accuracy: np.ndarray
    """(n_rounds,) the discriminator's accuracy on each round's fresh episodes (before its update)."""
    trajectories: np.ndarray
    """(K, N, T + 1) the last round's episodes, state indices s_0..s_T."""


def cell_features(cells: list[tuple[int, int]], n_states: int) -> torch.Tensor:
    """(S, 2) coordinates scaled to [-1, 1] (the absorbing state at the origin): the discriminator's input."""
    rc = np.zeros((n_states, 2))
    rc[:len(cells)] = np.asarray(cells, dtype=np.float64)
    span = np.maximum(rc[:len(cells)].max(0), 1.0)
    rc[:len(cells)] = 2.0 * rc[:len(cells)] / span - 1.0
    rc[len(cells):] = 0.0
    return torch.as_tensor(rc, dtype=torch.float32)


def skill_policies(mdp: TabularMDP, reward: np.ndarray, alpha: float, gamma: float, n_iters: int) -> np.ndarray:
    """Soft-optimal π_z for the state rewards reward[:, z] (S, K), paid on entering s'. Returns (K, S, A)."""
    R_sa = np.einsum("sat,tk->ksa", mdp.P, reward)                  # (K, S, A) expected reward of entering s'
    return np.stack([soft_rl.soft_policy(soft_rl.soft_q_iteration(mdp.P, R_sa[k], gamma, alpha, n_iters), alpha)
                     for k in range(len(R_sa))])


def skill_marginals(mdp: TabularMDP, policies: np.ndarray, horizon: int) -> np.ndarray:
    """Exact state distribution of each skill, d_z(s) = (1/T) Σ_{t=1}^T p(s_t = s | z). (K, S, A) → (K, S)."""
    return np.stack([tabular_pg.state_marginals(mdp, pi, horizon + 1)[1:].mean(0) for pi in policies])


def rollouts(mdp: TabularMDP, policies: np.ndarray, n: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
    """n episodes per skill from μ0: state indices (K, n, T + 1), by inverse-CDF sampling (vectorised)."""
    K, S, A = policies.shape
    s = np.broadcast_to(rng.choice(S, size=n, p=mdp.mu0), (K, n)).copy()
    out = [s]
    z = np.arange(K)[:, None]
    for _ in range(horizon):
        a = (rng.random((K, n))[..., None] > np.cumsum(policies[z, s], -1)).sum(-1).clip(max=A - 1)
        s = (rng.random((K, n))[..., None] > np.cumsum(mdp.P[s, a], -1)).sum(-1).clip(max=S - 1)
        out.append(s)
    return np.stack(out, -1)


def train(cfg: Config = Config(), seed: int = 0, layout: tuple[str, ...] = ROOM,
          reward_fn: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] = info_theory.diayn_reward) -> Result:
    """Run DIAYN; ``reward_fn(logits (..., K), z (...), log_p_z (K,)) -> (...)`` is the pseudo-reward."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    mdp, cells = gridworld(layout, slip=cfg.slip, gamma=cfg.gamma)
    S, K = mdp.n_states, cfg.n_skills
    x = cell_features(cells, S)
    disc = nn.Sequential(nn.Linear(2, cfg.hidden), nn.Tanh(), nn.Linear(cfg.hidden, K))
    opt = torch.optim.Adam(disc.parameters(), lr=cfg.disc_lr)
    log_p_z = np.full(K, -np.log(K))
    z_all = np.broadcast_to(np.arange(K), (S, K))
    accuracy = []
    for _ in range(cfg.n_rounds):
        with torch.no_grad():
            logits = disc(x).double().numpy()                              # (S, K)
        reward = reward_fn(np.repeat(logits[:, None, :], K, 1), z_all, log_p_z)   # (S, K): r(s, z)
        policies = skill_policies(mdp, reward, cfg.alpha, cfg.gamma, cfg.soft_iters)
        traj = rollouts(mdp, policies, cfg.episodes_per_skill, cfg.horizon, rng)   # (K, N, T + 1)
        states = torch.as_tensor(traj[:, :, 1:].reshape(K, -1))            # (K, N T): s_1..s_T
        labels = torch.arange(K)[:, None].expand_as(states)
        accuracy.append(float((logits[traj[:, :, 1:]].argmax(-1) == np.arange(K)[:, None, None]).mean()))
        for _ in range(cfg.disc_steps):                                    # maximise log q_φ(z | s)
            loss = nn.functional.cross_entropy(disc(x[states.reshape(-1)]), labels.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        logits = disc(x).double().numpy()
    return Result(mdp, cells, policies, logits, np.array(accuracy), traj)


def exact_accuracy(logits: np.ndarray, marginals: np.ndarray) -> float:
    """P(argmax_k q(k | s) = z) for z uniform and s ~ d_z: Σ_z (1/K) Σ_s d_z(s) 1[argmax = z]. (S, K), (K, S)."""
    K = marginals.shape[0]
    guess = logits.argmax(-1)                                              # (S,)
    return float(sum(marginals[k, guess == k].sum() for k in range(K)) / K)


def bayes_accuracy(marginals: np.ndarray) -> float:
    """The best accuracy any discriminator can reach on these skills: Σ_s max_z p(z) d_z(s), p(z) = 1/K."""
    return float(marginals.max(0).sum() / marginals.shape[0])
