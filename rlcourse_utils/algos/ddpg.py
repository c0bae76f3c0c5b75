"""DDPG and TD3 on Pendulum-v1: Q-learning with a learned maximiser μ_θ(s) ≈ argmax_a Q_φ(s, a), Lecture 5.

    repeat (``updates_per_step`` times per env step, after ``learning_starts`` random steps):
      1. act a = clip(μ_θ(s) + N(0, σ²)), observe (s, a, r, s'), add it to the replay buffer
      2. sample a mini-batch uniformly
      3. y = r + γ (1 - terminated) Q_φ'(s', μ_θ'(s'))                      (target networks φ', θ')
         TD3: y = r + γ (1 - terminated) min_{i=1,2} Q_φ'_i(s', clip(μ_θ'(s') + clip(ε, -c, c)))
      4. φ ← φ - α ∇_φ Σ_j (Q_φ(s_j, a_j) - y_j)²
      5. θ ← θ + β Σ_j dμ_θ/dθ (s_j) dQ_φ/da (s_j, μ_θ(s_j))    (TD3: every ``policy_delay`` critic steps)
      6. φ' ← τ φ + (1 - τ) φ',  θ' ← τ θ + (1 - τ) θ'           (``polyak_fn``)

Pendulum-v1 never terminates: every episode is truncated after 200 steps, so every transition bootstraps
(``terminated`` is stored and is always False). The vector env resets on the step after the time limit
(next-step autoreset); that reset step is not stored.

``train(cfg, seed)`` returns the greedy actor's evaluation return against environment steps, the axis on
which Lecture 8 compares a model-based learner with this model-free one.

Lecture 5 §Q-learning with continuous actions (Lillicrap et al. 2016, DDPG; Fujimoto et al. 2018, TD3).
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
from rlcourse_utils.algos.actor_critic import Act, Callback
from rlcourse_utils.replay import ReplayBuffer

MAX_ACTION = 2.0  # Pendulum-v1 torque bound (another task's bound is read from its action space)
TARGET = -200.0   # the return this course asks of a trained Pendulum agent


@dataclass(frozen=True)
class Config:
    """Settings of DDPG / TD3 on Pendulum-v1; with the defaults and ``stop_at=TARGET`` TD3 reached -200 at 7k env
    steps (seeds 0 and 1; 6,000 critic updates) and 9k (seed 2)."""

    env_id: str = "Pendulum-v1"
    """The task: a gymnasium id with a vector observation and a box of actions in [-b, b] (Pendulum-v1,
    MountainCarContinuous-v0, ...); noise scales below are fractions of its bound b."""
    total_steps: int = 20_000
    """Environment-step budget (all envs together)."""
    n_envs: int = 2
    """Parallel environments N (each vector step adds N transitions)."""
    td3: bool = True
    """True: TD3 (twin critics with the min, target-policy smoothing, delayed actor); False: plain DDPG."""
    gamma: float = 0.99
    """Discount γ."""
    actor_lr: float = 1e-3
    """Adam learning rate of μ_θ."""
    critic_lr: float = 1e-3
    """Adam learning rate of Q_φ."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of actor and critic (ReLU)."""
    batch_size: int = 128
    """Mini-batch size."""
    buffer_size: int = 20_000
    """Replay capacity (the whole budget fits)."""
    learning_starts: int = 1_000
    """Env steps of uniformly random actions before the first update."""
    updates_per_step: float = 1.0
    """Critic updates per env step (the update-to-data ratio)."""
    tau: float = 0.005
    """Polyak τ of both target networks: φ' ← τ φ + (1 - τ) φ' after every actor update."""
    explore_noise: float = 0.1
    """Std of the Gaussian exploration noise, as a fraction of the action bound."""
    target_noise: float = 0.2
    """TD3 target-policy smoothing: std of the noise on μ_θ'(s'), fraction of the action bound."""
    noise_clip: float = 0.5
    """TD3: that noise is clipped to ± noise_clip (fraction of the action bound)."""
    policy_delay: int = 2
    """TD3: actor and target updates every this many critic updates (DDPG: 1)."""
    eval_every: int = 1_000
    """Evaluate the deterministic actor every this many env steps."""
    eval_episodes: int = 10
    """Episodes per evaluation (200 steps each)."""
    stop_at: float | None = None
    """Stop once an evaluation reaches this mean return (None: use the whole budget)."""


class Critic(nn.Module):
    """Q_φ(s, a) (or two of them for TD3): (B, obs_dim), (B, act_dim) → (n_critics, B)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...], n_critics: int):
        super().__init__()
        self.qs = nn.ModuleList([nets.mlp(obs_dim + act_dim, 1, hidden, nn.ReLU) for _ in range(n_critics)])

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        x = torch.cat([obs, action], -1)  # (B, obs_dim + act_dim)
        return torch.stack([q(x)[:, 0] for q in self.qs])  # (n_critics, B)


class Actor(nn.Module):
    """μ_θ(s) = b · tanh(MLP(s)) with the action bound b (``MAX_ACTION`` on Pendulum): (B, obs_dim) → (B, act_dim)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...], max_action: float = MAX_ACTION):
        super().__init__()
        self.net = nets.mlp(obs_dim, act_dim, hidden, nn.ReLU)
        self.max_action = max_action

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.max_action * torch.tanh(self.net(obs))


@dataclass(frozen=True)
class Result:
    """What one run produced; the eval arrays have one entry per evaluation."""

    eval_steps: np.ndarray
    """(E,) env steps at each evaluation (the x-axis, shared with Lecture 8)."""
    eval_return: np.ndarray
    """(E,) mean return of ``eval_episodes`` episodes of the deterministic actor μ_θ."""
    steps_to_target: int | None
    """First eval step with eval_return ≥ -200, None if never."""
    critic_loss: np.ndarray
    """(U,) mean squared Bellman error of every critic update."""
    q_mean: np.ndarray
    """(U,) mean Q_φ(s, a) on each batch: should settle between about -1500 and 0 (returns are ≤ 0)."""
    actor: Actor
    """The trained actor μ_θ."""
    critic: Critic
    """The trained critic(s) Q_φ."""
    seconds: float
    """Wall-clock time of the run."""


def make_env(n_envs: int, env_id: str = "Pendulum-v1") -> gym.vector.VectorEnv:
    """N ``env_id`` environments in one process (Pendulum has no vectorised entry point)."""
    return gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="sync")


def evaluate(actor: nn.Module, n_episodes: int, seed: int, env_id: str = "Pendulum-v1") -> np.ndarray:
    """Returns (n_episodes,) of the deterministic actor, one episode per env (200 steps on Pendulum)."""
    env = make_env(n_episodes, env_id)
    obs, _ = env.reset(seed=seed)
    total, active = np.zeros(n_episodes), np.ones(n_episodes, dtype=bool)
    while active.any():
        with torch.no_grad():
            action = actor(torch.as_tensor(obs, dtype=torch.float32)).numpy()
        obs, reward, terminated, truncated, _ = env.step(action)
        total += np.where(active, reward, 0.0)
        active &= ~(terminated | truncated)
    env.close()
    return total


def deterministic(actor: nn.Module) -> Act:
    """The actor as a numpy function: observations (n, obs_dim) → actions (n, act_dim)."""
    def act(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return actor(torch.as_tensor(obs, dtype=torch.float32)).numpy()
    return act


def train(cfg: Config = Config(), seed: int = 0,
          polyak_fn: Callable[..., np.ndarray] = q_learning.polyak_update, callback: Callback | None = None) -> Result:
    """Run TD3 (or DDPG with ``cfg.td3=False``) on ``cfg.env_id`` (Pendulum-v1); the curve is against env steps.

    ``callback(env_steps, act)`` is called after each vector step and its updates; True stops the run (see
    ``actor_critic.Callback``)."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    envs = make_env(cfg.n_envs, cfg.env_id)
    obs, _ = envs.reset(seed=seed)  # (N, obs_dim)
    obs_dim, act_dim, N = obs.shape[1], envs.single_action_space.shape[0], cfg.n_envs
    bound = float(envs.single_action_space.high[0])  # the action bound b (MAX_ACTION = 2 on Pendulum)
    n_critics = 2 if cfg.td3 else 1
    actor, critic = Actor(obs_dim, act_dim, cfg.hidden, bound), Critic(obs_dim, act_dim, cfg.hidden, n_critics)
    actor_t, critic_t = Actor(obs_dim, act_dim, cfg.hidden, bound), Critic(obs_dim, act_dim, cfg.hidden, n_critics)
    actor_t.load_state_dict(actor.state_dict())
    critic_t.load_state_dict(critic.state_dict())
    actor_opt = torch.optim.Adam(actor.parameters(), lr=cfg.actor_lr, fused=True)
    critic_opt = torch.optim.Adam(critic.parameters(), lr=cfg.critic_lr, fused=True)
    buffer = ReplayBuffer(cfg.buffer_size, obs_dim, (act_dim,), np.float32)
    delay = cfg.policy_delay if cfg.td3 else 1
    reset_step = np.zeros(N, dtype=bool)
    log: dict[str, list] = {k: [] for k in ("steps", "ret", "loss", "q")}
    steps, n_updates, owed, solved_at, next_eval = 0, 0, 0.0, None, cfg.eval_every
    while steps < cfg.total_steps:
        # 1. act: random at first, then μ_θ(s) + Gaussian noise
        if steps < cfg.learning_starts:
            action = rng.uniform(-bound, bound, (N, act_dim)).astype(np.float32)
        else:
            with torch.no_grad():
                action = actor(torch.as_tensor(obs, dtype=torch.float32)).numpy()  # (N, 1)
            action = np.clip(action + rng.normal(0, cfg.explore_noise * bound, action.shape),
                             -bound, bound).astype(np.float32)
        next_obs, reward, terminated, truncated, _ = envs.step(action)
        valid = ~reset_step  # the reset step after a time limit is not a transition
        buffer.add(obs[valid], action[valid], reward[valid], next_obs[valid], terminated[valid], truncated[valid])
        reset_step = terminated | truncated
        obs = next_obs  # CRUCIAL: next-step autoreset gives the true s' here
        steps += N

        owed += cfg.updates_per_step * N if steps > cfg.learning_starts else 0.0
        while owed >= 1.0:
            owed -= 1.0
            b = {k: torch.as_tensor(v) for k, v in buffer.sample(cfg.batch_size, rng).items()}
            # 2-3. targets with the target networks (stop-gradient)
            with torch.no_grad():
                next_a = actor_t(b["next_obs"])  # (B, 1)
                if cfg.td3:  # target-policy smoothing
                    noise = (torch.randn_like(next_a) * cfg.target_noise * bound).clamp(
                        -cfg.noise_clip * bound, cfg.noise_clip * bound)
                    next_a = (next_a + noise).clamp(-bound, bound)
                next_q = critic_t(b["next_obs"], next_a).min(0).values  # (B,) min over twin critics
                y = b["rewards"] + cfg.gamma * (~b["terminated"]).float() * next_q  # (B,) bootstrap mask
            # 4. critic regression
            q = critic(b["obs"], b["actions"])  # (n_critics, B)
            critic_loss = ((q - y) ** 2).mean(1).sum()
            critic_opt.zero_grad()
            critic_loss.backward()
            critic_opt.step()
            n_updates += 1
            log["loss"].append(critic_loss.item() / q.shape[0])
            log["q"].append(q[0].mean().item())
            if n_updates % delay:
                continue
            # 5. actor: ascend Q_φ(s, μ_θ(s)) through the chain rule dQ/da · dμ/dθ
            actor_loss = -critic(b["obs"], actor(b["obs"]))[0].mean()
            actor_opt.zero_grad()
            actor_loss.backward()
            actor_opt.step()
            # 6. Polyak averaging of both target networks
            nets.polyak_average_(actor_t, actor, cfg.tau, polyak_fn)
            nets.polyak_average_(critic_t, critic, cfg.tau, polyak_fn)

        if steps >= next_eval:
            next_eval += cfg.eval_every
            mean_ret = float(evaluate(actor, cfg.eval_episodes, seed=10_000 + seed + steps, env_id=cfg.env_id).mean())
            log["steps"].append(steps)
            log["ret"].append(mean_ret)
            if solved_at is None and mean_ret >= TARGET:
                solved_at = steps
            if cfg.stop_at is not None and mean_ret >= cfg.stop_at:
                break
        if callback is not None and callback(steps, deterministic(actor)):
            break
    envs.close()
    return Result(np.array(log["steps"]), np.array(log["ret"]), solved_at, np.array(log["loss"]),
                  np.array(log["q"]), actor, critic, time.perf_counter() - start)
