"""Soft Q-learning and DQN on a small tabular task, one loop, so the two differ only in their target and behaviour.

    repeat:
      1. act in N copies of the MDP: soft Q-learning samples π(a|s) = exp((Q_φ(s, a) - V_φ(s)) / α),
         DQN acts greedily, both mixed with ε of uniform actions; store (s, a, r, s', terminated) in the replay buffer (Lecture 5's)
      2. sample a uniform mini-batch
      3. soft:  y = r + γ (1 - terminated) α log Σ_a' exp(Q_φ'(s', a') / α)        (``soft_target_fn``)
         DQN:   y = r + γ (1 - terminated) max_a' Q_φ'(s', a')                     (``dqn_target_fn``)
      4. φ ← φ - λ ∇_φ mean_j (Q_φ(s_j, a_j) - y_j)²
      5. φ' ← τ φ + (1 - τ) φ'                                                      (``polyak_fn``)

The observation is the one-hot state and Q_φ is linear in it (a table trained by gradient steps), so the exact
fixed points are known: soft Q-iteration's soft-optimal Q (``soft_rl.soft_q_iteration``) for soft Q-learning,
Q-iteration's Q* (``dp.q_iteration``) for DQN. Episodes start in a uniformly random non-terminal state (so every
state is visited), end on entering a ``terminal`` state (no bootstrap) and are truncated after
``max_episode_steps`` (bootstrap).

Lecture 11 §soft Q-learning (Haarnoja et al. 2017), against Lecture 5 §DQN (Mnih et al. 2015).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from rlcourse_utils import dp, nets, q_learning, soft_rl
from rlcourse_utils.envs.tabular import TabularMDP
from rlcourse_utils.replay import ReplayBuffer


@dataclass(frozen=True)
class Config:
    """Settings of the tabular soft Q-learning / DQN loop; the defaults take about a second per run."""

    soft: bool = True
    """True: soft Q-learning (soft target, Boltzmann behaviour); False: DQN (max target, ε-greedy)."""
    alpha: float = 0.1
    """Temperature α of the soft target and of the behaviour policy (soft only)."""
    epsilon: float = 0.2
    """Both arms act uniformly at random with probability ε (DQN: ε-greedy; soft: ε-soft-optimal), so that
    every action of every state keeps being tried and the two differ only in their target."""
    total_steps: int = 32_000
    """Environment steps (all copies together)."""
    n_envs: int = 32
    """Parallel copies N of the MDP; one update per vector step."""
    gamma: float = 0.9
    """Discount γ (the MDP's own is ignored)."""
    lr: float = 0.05
    """Initial Adam learning rate of the linear Q table; it decays linearly to lr / 20 (the targets are noisy)."""
    batch_size: int = 128
    """Mini-batch size."""
    buffer_size: int = 10_000
    """Replay capacity."""
    tau: float = 0.05
    """Polyak τ of the target table, every update."""
    max_episode_steps: int = 30
    """Episodes are truncated after this many steps."""


@dataclass(frozen=True)
class Result:
    """The learned Q table and its training trace."""

    Q: np.ndarray
    """(S, A) the learned Q_φ(s, a) of every state (one-hot inputs)."""
    q_error: np.ndarray
    """(U/100,) mean over non-terminal (s, a) of |Q_φ - Q_fixed| every 100 updates, against the loop's own exact
    fixed point (``fixed_point``)."""
    seconds: float
    """Wall-clock time of the run."""


def fixed_point(mdp: TabularMDP, cfg: Config, terminal: np.ndarray) -> np.ndarray:
    """The exact Q the loop should converge to, with terminal states worth 0: soft Q* (``soft_rl.soft_q_iteration``)
    for soft Q-learning, Q* (``dp.q_iteration``; terminal states must be absorbing with reward 0) for DQN. (S, A)"""
    if cfg.soft:
        return soft_rl.soft_q_iteration(mdp.P, mdp.R, cfg.gamma, cfg.alpha, 500, terminal)
    return dp.q_iteration(mdp.P, mdp.R, cfg.gamma, 500)


def train(mdp: TabularMDP, terminal: np.ndarray, cfg: Config = Config(), seed: int = 0,
          soft_target_fn: Callable[..., np.ndarray] = soft_rl.soft_q_targets,
          dqn_target_fn: Callable[..., np.ndarray] = q_learning.dqn_targets,
          polyak_fn: Callable[..., np.ndarray] = q_learning.polyak_update) -> Result:
    """Run soft Q-learning (``cfg.soft``) or DQN on ``mdp``; ``terminal`` (S,) bool marks the states that end an episode."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    S, A, N = mdp.n_states, mdp.n_actions, cfg.n_envs
    eye = np.eye(S, dtype=np.float32)
    starts = np.flatnonzero(~terminal)
    q_net, target_net = nets.mlp(S, A, (), nn.ReLU), nets.mlp(S, A, (), nn.ReLU)  # linear: Q_φ(s, ·) = W one_hot(s) + b
    target_net.load_state_dict(q_net.state_dict())
    opt = torch.optim.Adam(q_net.parameters(), lr=cfg.lr, fused=True)
    n_updates = cfg.total_steps // N
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda u: 1.0 - 0.95 * u / n_updates)  # lr → lr / 20
    buffer = ReplayBuffer(cfg.buffer_size, S)
    q_exact, errors = fixed_point(mdp, cfg, terminal), []
    all_states = torch.as_tensor(eye)
    cum_P = np.cumsum(mdp.P, -1)
    s, age = rng.choice(starts, N), np.zeros(N, dtype=int)
    for update in range(n_updates):
        # 1. act: soft-optimal sampling, or ε-greedy
        with torch.no_grad():
            q = q_net(all_states[s]).numpy().astype(np.float64)  # (N, A)
        own = soft_rl.soft_policy(q, cfg.alpha) if cfg.soft else dp.greedy_policy(q)  # (N, A)
        probs = (1 - cfg.epsilon) * own + cfg.epsilon / A  # both arms mix in ε of uniform actions
        a = (rng.random(N)[:, None] > np.cumsum(probs, -1)).sum(-1).clip(max=A - 1)  # (N,)
        s_next = (rng.random(N)[:, None] > cum_P[s, a]).sum(-1).clip(max=S - 1)   # (N,)
        terminated, age = terminal[s_next], age + 1
        truncated = (age >= cfg.max_episode_steps) & ~terminated
        buffer.add(eye[s], a, mdp.R[s, a].astype(np.float32), eye[s_next], terminated, truncated)
        done = terminated | truncated
        s = np.where(done, rng.choice(starts, N), s_next)  # reset ended episodes
        age[done] = 0
        # 2-4. one update
        b = buffer.sample(cfg.batch_size, rng)
        with torch.no_grad():  # the target table's stop-gradient
            next_q = target_net(torch.as_tensor(b["next_obs"])).numpy()  # (B, A)
        if cfg.soft:
            y = soft_target_fn(b["rewards"], next_q, b["terminated"], b["truncated"], cfg.gamma, cfg.alpha)
        else:
            y = dqn_target_fn(b["rewards"], next_q, b["terminated"], b["truncated"], cfg.gamma)
        q_sa = q_net(torch.as_tensor(b["obs"])).gather(1, torch.as_tensor(b["actions"])[:, None])[:, 0]  # (B,)
        loss = ((q_sa - torch.as_tensor(y, dtype=torch.float32)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        decay.step()
        # 5. Polyak averaging of the target table
        nets.polyak_average_(target_net, q_net, cfg.tau, polyak_fn)
        if update % 100 == 0:
            with torch.no_grad():
                errors.append(np.abs(q_net(all_states).numpy()[~terminal] - q_exact[~terminal]).mean())
    with torch.no_grad():
        Q = q_net(all_states).numpy().astype(np.float64)
    return Result(Q, np.array(errors), time.perf_counter() - start)
