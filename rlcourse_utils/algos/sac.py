"""Soft actor-critic (SAC) on Pendulum-v1: Lecture 5's TD3 loop with a stochastic, entropy-regularised actor.

    repeat (``updates_per_step`` times per env step, after ``learning_starts`` random steps):
      1. act a = 2 tanh(u), u ~ N(μ_θ(s), σ_θ(s)²), observe (s, a, r, s'), add it to the replay buffer
      2. sample a mini-batch uniformly
      3. a' ~ π_θ(·|s'),  y = r + γ (1 - terminated) (min_i Q_φ'_i(s', a') - α log π_θ(a'|s'))   (``target_fn``)
      4. φ ← φ - λ ∇_φ Σ_i Σ_j (Q_φ_i(s_j, a_j) - y_j)²
      5. θ ← θ - λ ∇_θ Σ_j [α log π_θ(ã_j|s_j) - min_i Q_φ_i(s_j, ã_j)],  ã_j = 2 tanh(μ_θ + σ_θ ε) (reparameterised)
      6. log α ← log α - λ ∇ L(α),  L(α) = -E[log α (log π_θ(ã|s) + H̄)]                  (``temperature_loss_fn``)
      7. φ' ← τ φ + (1 - τ) φ'                                                            (``polyak_fn``)

What is shared with ``algos.ddpg`` (imported, not copied): the environment and the evaluation of a deterministic
actor (here the mean action 2 tanh μ_θ(s)), the twin critic, the replay buffer, the Polyak update. What differs
is SAC's: no target actor, no exploration noise (the policy's own entropy explores), the entropy term in the
target and in the actor's loss, and the temperature α tuned so that the entropy stays near H̄ = -act_dim.

Healthy run: the policy entropy falls from about 1.3 nats towards H̄ = -1 while α falls from 1 by an order of
magnitude or more (over a whole 10,000-step run, seeds 0-2: entropy -0.89 to -0.99, α 0.02-0.05 at the end); Q(s, a)
settles between -1500 and 0 like TD3's.

Lecture 11 §SAC (Haarnoja et al. 2018, "Soft actor-critic"; 2018b "SAC algorithms and applications").
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from rlcourse_utils import nets, q_learning, soft_rl
from rlcourse_utils.algos.actor_critic import Callback
from rlcourse_utils.algos.ddpg import MAX_ACTION, TARGET, Critic, deterministic, evaluate, make_env
from rlcourse_utils.replay import ReplayBuffer


@dataclass(frozen=True)
class Config:
    """Settings of SAC on Pendulum-v1; with the defaults and ``stop_at=-200`` seeds 0-2 stop after 2-4k env steps."""

    env_id: str = "Pendulum-v1"
    """The task: a gymnasium id with a vector observation and a box of actions in [-b, b] (Pendulum-v1, ...)."""
    total_steps: int = 10_000
    """Environment-step budget."""
    n_envs: int = 1
    """Parallel environments N (each vector step adds N transitions)."""
    gamma: float = 0.99
    """Discount γ."""
    lr: float = 1e-3
    """Adam learning rate of actor, critics and log α."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of actor and critics (ReLU)."""
    batch_size: int = 128
    """Mini-batch size."""
    buffer_size: int = 10_000
    """Replay capacity (the whole budget fits)."""
    learning_starts: int = 500
    """Env steps of uniformly random actions before the first update."""
    updates_per_step: float = 1.0
    """Gradient updates per env step (the update-to-data ratio)."""
    tau: float = 0.01
    """Polyak τ of the target critics."""
    init_alpha: float = 1.0
    """Initial temperature α."""
    auto_alpha: bool = True
    """True: tune α by the temperature loss towards ``target_entropy``; False: keep α = init_alpha."""
    target_entropy: float = -1.0
    """H̄, the entropy the temperature loss aims at (-act_dim, Haarnoja et al. 2018b)."""
    eval_every: int = 500
    """Evaluate the deterministic (mean) actor every this many env steps."""
    eval_episodes: int = 10
    """Episodes per evaluation (200 steps each)."""
    stop_at: float | None = None
    """Stop once an evaluation reaches this mean return (None: use the whole budget)."""


class Actor(nn.Module):
    """π_θ(a|s): a = b · tanh(u), u ~ N(μ_θ(s), diag σ_θ(s)²); log σ clamped to [-5, 2]; b the action bound
    (``MAX_ACTION`` = 2 on Pendulum)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...], max_action: float = MAX_ACTION):
        super().__init__()
        self.net = nets.mlp(obs_dim, 2 * act_dim, hidden, nn.ReLU)
        self.max_action = max_action

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, obs_dim) → (mean, log_std), each (B, act_dim)."""
        mean, log_std = self.net(obs).chunk(2, -1)
        return mean, log_std.clamp(-5.0, 2.0)

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised action (B, act_dim) and its log π(a|s) (B,) (``soft_rl.tanh_gaussian_log_prob``)."""
        mean, log_std = self(obs)
        u = mean + log_std.exp() * torch.randn_like(mean)
        return self.max_action * torch.tanh(u), soft_rl.tanh_gaussian_log_prob(u, mean, log_std, self.max_action)


class MeanAction(nn.Module):
    """The deterministic actor evaluated on the test episodes: s ↦ b · tanh(μ_θ(s))."""

    def __init__(self, actor: Actor):
        super().__init__()
        self.actor = actor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.actor.max_action * torch.tanh(self.actor(obs)[0])


@dataclass(frozen=True)
class Result:
    """What one run produced; eval arrays have one entry per evaluation, update arrays one per update."""

    eval_steps: np.ndarray
    """(E,) env steps at each evaluation."""
    eval_return: np.ndarray
    """(E,) mean return of ``eval_episodes`` episodes of the mean action 2 tanh μ_θ(s)."""
    steps_to_target: int | None
    """First eval step with eval_return ≥ -200, None if never."""
    alpha: np.ndarray
    """(U,) temperature α after each update."""
    entropy: np.ndarray
    """(U,) batch estimate of the policy entropy -E[log π(ã|s)] at each update."""
    q_mean: np.ndarray
    """(U,) mean Q_φ_1(s, a) on each batch."""
    critic_loss: np.ndarray
    """(U,) mean squared soft Bellman error per critic."""
    actor: Actor
    """The trained actor."""
    seconds: float
    """Wall-clock time of the run."""


def train(cfg: Config = Config(), seed: int = 0,
          target_fn: Callable[..., np.ndarray] = soft_rl.sac_targets,
          temperature_loss_fn: Callable[..., torch.Tensor] = soft_rl.sac_temperature_loss,
          polyak_fn: Callable[..., np.ndarray] = q_learning.polyak_update, callback: Callback | None = None) -> Result:
    """Run SAC on ``cfg.env_id`` (Pendulum-v1) with the given math; the curve is against env steps.

    ``callback(env_steps, act)`` is called after each vector step and its updates with the mean action as the
    deterministic policy; True stops the run (see ``actor_critic.Callback``)."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    envs = make_env(cfg.n_envs, cfg.env_id)
    obs, _ = envs.reset(seed=seed)  # (N, obs_dim)
    obs_dim, act_dim, N = obs.shape[1], envs.single_action_space.shape[0], cfg.n_envs
    bound = float(envs.single_action_space.high[0])  # the action bound b (MAX_ACTION = 2 on Pendulum)
    actor, critic, critic_t = (Actor(obs_dim, act_dim, cfg.hidden, bound), Critic(obs_dim, act_dim, cfg.hidden, 2),
                               Critic(obs_dim, act_dim, cfg.hidden, 2))
    critic_t.load_state_dict(critic.state_dict())
    log_alpha = torch.tensor(math.log(cfg.init_alpha), requires_grad=True)
    actor_opt = torch.optim.Adam(actor.parameters(), lr=cfg.lr, fused=True)
    critic_opt = torch.optim.Adam(critic.parameters(), lr=cfg.lr, fused=True)
    alpha_opt = torch.optim.Adam([log_alpha], lr=cfg.lr, fused=True)
    buffer = ReplayBuffer(cfg.buffer_size, obs_dim, (act_dim,), np.float32)
    reset_step = np.zeros(N, dtype=bool)
    log: dict[str, list] = {k: [] for k in ("steps", "ret", "alpha", "ent", "q", "loss")}
    steps, owed, solved_at, next_eval = 0, 0.0, None, cfg.eval_every
    while steps < cfg.total_steps:
        # 1. act: random at first, then a sample of π_θ (its entropy is the exploration)
        if steps < cfg.learning_starts:
            action = rng.uniform(-actor.max_action, actor.max_action, (N, act_dim)).astype(np.float32)
        else:
            with torch.no_grad():
                action = actor.sample(torch.as_tensor(obs, dtype=torch.float32))[0].numpy()  # (N, 1)
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
            alpha = log_alpha.exp().item()
            # 2-3. soft targets: a fresh a' from the current policy, the target critics (stop-gradient)
            with torch.no_grad():
                next_a, next_logp = actor.sample(b["next_obs"])
                next_q = critic_t(b["next_obs"], next_a)  # (2, B)
            y = torch.as_tensor(target_fn(b["rewards"].numpy(), next_q.numpy(), next_logp.numpy(),
                                          b["terminated"].numpy(), b["truncated"].numpy(), cfg.gamma, alpha),
                                dtype=torch.float32)  # (B,)
            # 4. critic regression on both critics
            q = critic(b["obs"], b["actions"])  # (2, B)
            critic_loss = ((q - y) ** 2).mean(1).sum()
            critic_opt.zero_grad()
            critic_loss.backward()
            critic_opt.step()
            # 5. actor: reparameterised a ~ π_θ, minimise α log π - min_i Q_φ_i (gradients reach only θ's step)
            a, logp = actor.sample(b["obs"])
            actor_loss = (alpha * logp - critic(b["obs"], a).min(0).values).mean()
            actor_opt.zero_grad()
            actor_loss.backward()
            actor_opt.step()
            # 6. temperature towards the target entropy
            if cfg.auto_alpha:
                alpha_loss = temperature_loss_fn(log_alpha, logp, cfg.target_entropy)
                alpha_opt.zero_grad()
                alpha_loss.backward()
                alpha_opt.step()
            # 7. Polyak averaging of the target critics
            nets.polyak_average_(critic_t, critic, cfg.tau, polyak_fn)
            log["alpha"].append(log_alpha.exp().item())
            log["ent"].append(-logp.mean().item())
            log["q"].append(q[0].mean().item())
            log["loss"].append(critic_loss.item() / 2)

        if steps >= next_eval:
            next_eval += cfg.eval_every
            mean_ret = float(evaluate(MeanAction(actor), cfg.eval_episodes, seed=10_000 + seed + steps,
                                      env_id=cfg.env_id).mean())
            log["steps"].append(steps)
            log["ret"].append(mean_ret)
            if solved_at is None and mean_ret >= TARGET:
                solved_at = steps
            if cfg.stop_at is not None and mean_ret >= cfg.stop_at:
                break
        if callback is not None and callback(steps, deterministic(MeanAction(actor))):
            break
    envs.close()
    return Result(np.array(log["steps"]), np.array(log["ret"]), solved_at, np.array(log["alpha"]),
                  np.array(log["ent"]), np.array(log["q"]), np.array(log["loss"]), actor,
                  time.perf_counter() - start)
