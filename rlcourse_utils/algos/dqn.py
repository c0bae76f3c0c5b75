"""DQN and double DQN on CartPole-v1: replay buffer + target network + ε-greedy, Lecture 5.

    repeat:
      1. act ε-greedily in ``n_envs`` environments, add (s, a, r, s', terminated) to the replay buffer
      2. sample a uniform mini-batch from the buffer
      3. y = r + γ (1 - terminated) max_a' Q_φ'(s', a')              (``dqn_target_fn``), or with
         y = r + γ (1 - terminated) Q_φ'(s', argmax_a' Q_φ(s', a'))  (``double_target_fn``, cfg.double)
      4. φ ← φ - α ∇_φ huber(Q_φ(s, a) - y)                          (``loss_fn``; no gradient into y)
      5. every ``target_every`` updates: φ' ← τ φ + (1 - τ) φ'        (``polyak_fn``; τ = 1 is a hard copy)

Gymnasium's CartPole vector env resets an episode on the step *after* it ends (next-step autoreset):
that reset step is not a transition of the MDP and is never stored. An episode cut at 500 steps is
truncated, not terminated, and its last transition bootstraps like any other (the buffer keeps both flags
and the target functions must use only ``terminated``).

Every ``eval_every`` env steps the greedy policy plays ``eval_episodes`` fresh episodes; the run records
their mean return and, on their states, the network's estimate Q_φ(s_t, a_t) next to the discounted
return actually collected from s_t (the data of the overestimation plot).

Lecture 5 §DQN, §double Q-learning, §tips (Mnih et al. 2015; van Hasselt et al. 2016).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcourse_utils import nets, q_learning
from rlcourse_utils.replay import ReplayBuffer

SOLVED = 475.0  # CartPole-v1's "solved" mean return


@dataclass(frozen=True)
class Config:
    """Settings of DQN on CartPole-v1, close to the RL Baselines3 Zoo's; with ``stop_at=SOLVED`` a run stops at its
    first greedy evaluation ≥ 475: at 30k env steps (seed 0) and 40k (seed 1), double DQN at 30k (seed 0)."""

    total_steps: int = 50_000
    """Environment-step budget (all envs together)."""
    n_envs: int = 4
    """Parallel environments N; each vector step adds N transitions."""
    double: bool = False
    """True: double DQN targets (online net selects a', target net evaluates it)."""
    gamma: float = 0.99
    """Discount γ; Q* ≤ 1 / (1 - γ) = 100 on CartPole."""
    lr: float = 2.3e-3
    """Adam learning rate; 3e-4 to 3e-3."""
    hidden: tuple[int, ...] = (128, 128)
    """Hidden widths of the Q-network (ReLU)."""
    batch_size: int = 64
    """Mini-batch size sampled from the buffer; 32 to 256."""
    buffer_size: int = 50_000
    """Replay capacity in transitions; older ones are overwritten."""
    learning_starts: int = 1_000
    """Env steps of ε-greedy data before the first update."""
    updates_per_step: int = 2
    """Gradient steps per vector step (i.e. per N env steps)."""
    target_every: int = 128
    """Apply ``polyak_fn`` every this many gradient steps (100-1000 for a hard copy, 1 for Polyak)."""
    tau: float = 1.0
    """Polyak τ: 1 = hard update (copy φ into φ'), 0.005 with target_every = 1 = soft update."""
    eps_start: float = 1.0
    """Initial ε of the ε-greedy behaviour policy."""
    eps_end: float = 0.04
    """Final ε."""
    eps_duration: int = 8_000
    """Env steps over which ε decays linearly."""
    huber_delta: float = 1.0
    """δ of the Huber loss (Bellman errors larger than δ get a clipped gradient)."""
    max_grad_norm: float = 10.0
    """Gradient clipping (global norm)."""
    eval_every: int = 2_500
    """Evaluate the greedy policy every this many env steps."""
    eval_episodes: int = 10
    """Greedy episodes per evaluation."""
    q_horizon: int = 100
    """Q estimates are compared with discounted returns on eval states t < q_horizon only: an episode cut at
    500 steps hides at most γ^(500 - t) / (1 - γ) of the return (1.8 at t = 100, γ = 0.99)."""
    stop_at: float | None = None
    """Stop once an evaluation reaches this mean return (None: use the whole budget)."""


@dataclass(frozen=True)
class Result:
    """What one DQN run produced; the eval arrays have one entry per evaluation."""

    eval_steps: np.ndarray
    """(E,) env steps at each evaluation (the x-axis)."""
    eval_return: np.ndarray
    """(E,) mean undiscounted return of ``eval_episodes`` greedy episodes."""
    q_estimate: np.ndarray
    """(E,) mean Q_φ(s_t, a_t) over the evaluation states (t < q_horizon): what the network believes."""
    q_true: np.ndarray
    """(E,) mean discounted return Σ_k γ^k r_{t+k} actually collected from those states: the truth."""
    steps_to_solve: int | None
    """First eval step with eval_return ≥ 475, None if never."""
    loss: np.ndarray
    """(U,) Huber loss of every gradient step."""
    model: nn.Module
    """The trained Q-network: (B, 4) observations → (B, 2) action values."""
    seconds: float
    """Wall-clock time of the run."""


def evaluate(q_net: nn.Module, n_episodes: int, gamma: float, seed: int, horizon: int = 100, epsilon: float = 0.0
             ) -> tuple[np.ndarray, float, float]:
    """Play ``n_episodes`` ε-greedy (default greedy) CartPole episodes in parallel, one per env.

    Returns (undiscounted returns (n_episodes,), mean Q_φ(s_t, a_t) and mean discounted return-to-go over
    the states t < horizon of all episodes).
    """
    env = gym.make_vec("CartPole-v1", num_envs=n_episodes, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    active = np.ones(n_episodes, dtype=bool)
    q_taken, rewards = [], []
    while active.any():
        with torch.no_grad():
            q = q_net(torch.as_tensor(obs)).numpy()  # (N, 2)
        action = q.argmax(1)
        explore = rng.random(n_episodes) < epsilon
        action[explore] = rng.integers(0, 2, explore.sum())
        q_taken.append(np.where(active, q[np.arange(n_episodes), action], np.nan))
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(np.where(active, reward, 0.0))
        active &= ~(terminated | truncated)
    env.close()
    R, Q = np.array(rewards), np.array(q_taken)  # (T, N)
    G = np.zeros_like(R)  # discounted return-to-go
    running = np.zeros(n_episodes)
    for t in reversed(range(len(R))):
        running = R[t] + gamma * running
        G[t] = running
    early = ~np.isnan(Q[:horizon])
    return R.sum(0), float(Q[:horizon][early].mean()), float(G[:horizon][early].mean())


def train(cfg: Config = Config(), seed: int = 0,
          dqn_target_fn: Callable[..., np.ndarray] = q_learning.dqn_targets,
          double_target_fn: Callable[..., np.ndarray] = q_learning.double_dqn_targets,
          polyak_fn: Callable[..., np.ndarray] = q_learning.polyak_update,
          loss_fn: Callable[..., torch.Tensor] = q_learning.huber_loss) -> Result:
    """Run DQN (or double DQN with ``cfg.double``) on CartPole-v1 with the given math."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    envs = gym.make_vec("CartPole-v1", num_envs=cfg.n_envs, vectorization_mode="vector_entry_point")
    obs, _ = envs.reset(seed=seed)  # (N, 4)
    q_net = nets.mlp(4, 2, cfg.hidden, nn.ReLU)
    target_net = nets.mlp(4, 2, cfg.hidden, nn.ReLU)
    target_net.load_state_dict(q_net.state_dict())
    optimizer = torch.optim.Adam(q_net.parameters(), lr=cfg.lr, fused=True)
    buffer = ReplayBuffer(cfg.buffer_size, 4)
    N = cfg.n_envs
    reset_step = np.zeros(N, dtype=bool)  # True: this env's next step only resets it
    log: dict[str, list] = {k: [] for k in ("steps", "ret", "q", "g", "loss")}
    steps, n_updates, solved_at, next_eval = 0, 0, None, cfg.eval_every
    while steps < cfg.total_steps:
        # 1. act ε-greedily, store the real transitions
        eps = q_learning.epsilon_schedule(steps, cfg.eps_start, cfg.eps_end, cfg.eps_duration)
        with torch.no_grad():
            action = q_net(torch.as_tensor(obs)).argmax(1).numpy()  # (N,)
        explore = rng.random(N) < eps
        action[explore] = rng.integers(0, 2, explore.sum())
        next_obs, reward, terminated, truncated, _ = envs.step(action)
        valid = ~reset_step  # a reset step is not a transition of the MDP
        buffer.add(obs[valid], action[valid], reward[valid], next_obs[valid], terminated[valid], truncated[valid])
        reset_step = terminated | truncated
        obs = next_obs  # CRUCIAL: next-step autoreset gives the true s' here
        steps += N

        # 2-5. updates from the buffer
        for _ in range(cfg.updates_per_step if steps >= cfg.learning_starts else 0):
            b = buffer.sample(cfg.batch_size, rng)
            next_o = torch.as_tensor(b["next_obs"])
            with torch.no_grad():  # the target network's stop-gradient
                next_q_target = target_net(next_o).numpy().astype(np.float64)  # (B, 2)
                if cfg.double:
                    next_q_online = q_net(next_o).numpy().astype(np.float64)  # (B, 2)
            if cfg.double:
                y = double_target_fn(b["rewards"], next_q_online, next_q_target, b["terminated"], b["truncated"],
                                     cfg.gamma)
            else:
                y = dqn_target_fn(b["rewards"], next_q_target, b["terminated"], b["truncated"], cfg.gamma)
            q = q_net(torch.as_tensor(b["obs"])).gather(1, torch.as_tensor(b["actions"])[:, None])[:, 0]  # (B,)
            loss = loss_fn(q, torch.as_tensor(np.asarray(y), dtype=torch.float32), cfg.huber_delta)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(q_net.parameters(), cfg.max_grad_norm)
            optimizer.step()
            n_updates += 1
            log["loss"].append(loss.item())
            if n_updates % cfg.target_every == 0:
                with torch.no_grad():
                    for p_t, p in zip(target_net.parameters(), q_net.parameters()):
                        new = polyak_fn(p_t.detach().numpy(), p.detach().numpy(), cfg.tau)
                        p_t.copy_(torch.as_tensor(np.asarray(new), dtype=p_t.dtype))

        # evaluation: greedy return, and Q estimates against the discounted returns really collected
        if steps >= next_eval:
            next_eval += cfg.eval_every
            returns, q_est, g_true = evaluate(q_net, cfg.eval_episodes, cfg.gamma, seed=10_000 + seed + steps,
                                              horizon=cfg.q_horizon)
            for key, val in zip(("steps", "ret", "q", "g"), (steps, returns.mean(), q_est, g_true)):
                log[key].append(val)
            if solved_at is None and returns.mean() >= SOLVED:
                solved_at = steps
            if cfg.stop_at is not None and returns.mean() >= cfg.stop_at:
                break
    envs.close()
    return Result(np.array(log["steps"]), np.array(log["ret"]), np.array(log["q"]), np.array(log["g"]), solved_at,
                  np.array(log["loss"]), q_net, time.perf_counter() - start)
