"""Gradient-based meta-RL: MAML with policy gradients on Finn et al.'s 2-D navigation (Lecture 16).

A point starts at the origin; each task is a goal g ~ U[−0.5, 0.5]² the policy does NOT observe (it sees
only its position); actions are clipped to [−0.1, 0.1]² per step, the reward is −‖s_{t+1} − g‖
(Finn, Abbeel & Levine 2017, §5.3). The only way to do well on a new goal is to adapt.

``train`` (MAML-PG): per meta-iteration, B goals; with θ, sample N trajectories per goal and take one
policy-gradient step θ'_b = θ − α ∇_θ L_b^PG(θ) (``policy_gradient.pg_pseudo_loss``, advantages = reward-to-go
minus the mean over the N trajectories at each step), kept in the graph; sample N new trajectories with
θ'_b and step Adam on Σ_b L_b^PG(θ'_b), differentiated through θ'_b back to θ. (Like Finn et al.'s code this
ignores how θ changes the inner samples' distribution; the DiCE / ProMP corrections are a further question.)
``pretrain``: the control arm, plain policy gradient on random goals with as many trajectories.
``evaluate``: return before and after K adaptation steps, each with N fresh trajectories, on given goals.
All B·N trajectories of a batch run in lockstep; one policy per task via ``meta.mlp_apply``'s (B, P) θ.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from rlcourse_utils import meta, policy_gradient, returns


@dataclass(frozen=True)
class NavConfig:
    n_iters: int = 150
    """Meta-iterations (Adam steps on θ)."""
    meta_batch: int = 20
    """Goals (tasks) per meta-iteration (Finn et al. use 20)."""
    n_traj: int = 20
    """Trajectories per task for each policy-gradient estimate (Finn et al.'s 20)."""
    horizon: int = 20
    """Steps per trajectory (Finn et al. use 100; 20 steps of 0.1 reach every goal)."""
    inner_lr: float = 0.01
    """α, the inner policy-gradient step, also used at test time. Finn et al. use 0.1 on a surrogate of another
    scale; here a step of 0.01 barely moves a policy that was not meta-trained for it."""
    outer_lr: float = 3e-3
    """Adam's learning rate on θ (Finn et al. use TRPO for the outer step)."""
    hidden: tuple[int, ...] = (32, 32)
    """Hidden widths of the mean network (Finn et al.: 100-100)."""
    gamma: float = 0.99
    """Discount of the reward-to-go."""
    init_log_std: float = -1.6
    """Initial log σ of the Gaussian policy (σ ≈ 0.2 against actions clipped to ±0.1)."""

    @property
    def sizes(self) -> tuple[int, ...]:
        return (2, *self.hidden, 2)


def init_theta(cfg: NavConfig, seed: int) -> torch.Tensor:
    """θ = (mean-network parameters in ``meta.mlp_apply``'s layout, log σ (2,)): a (P + 2,) tensor."""
    body = meta.mlp_init(cfg.sizes, torch.Generator().manual_seed(seed))
    return torch.cat([body, torch.full((2,), cfg.init_log_std)])


def sample(theta: torch.Tensor, goals: torch.Tensor, cfg: NavConfig, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """N trajectories per task with θ_b (no gradient): obs, actions (T, B, N, 2), rewards (T, B, N).

    theta: (B, P + 2) one policy per task; goals: (B, 2)."""
    B, N = goals.shape[0], cfg.n_traj
    pos = torch.zeros(B, N, 2)
    obs, acts, rews = [], [], []
    with torch.no_grad():
        std = theta[:, None, -2:].exp()  # (B, 1, 2)
        for _ in range(cfg.horizon):
            mu = meta.mlp_apply(theta[:, :-2], pos, cfg.sizes)  # (B, N, 2)
            a = mu + std * torch.randn(mu.shape, generator=gen)
            obs.append(pos)
            pos = pos + a.clamp(-0.1, 0.1)  # obs = next_obs: the env clips the action, the policy's log-prob does not
            acts.append(a)
            rews.append(-(pos - goals[:, None]).norm(dim=-1))
    return {"obs": torch.stack(obs), "actions": torch.stack(acts), "rewards": torch.stack(rews)}


def log_probs(theta: torch.Tensor, batch: dict[str, torch.Tensor], cfg: NavConfig) -> torch.Tensor:
    """log π_θb(a | s) of every sampled step, differentiable in θ: (T, B, N)."""
    T, B, N, _ = batch["obs"].shape
    s = batch["obs"].permute(1, 0, 2, 3).reshape(B, T * N, 2)  # (B, T·N, 2)
    mu = meta.mlp_apply(theta[:, :-2], s, cfg.sizes).reshape(B, T, N, 2).permute(1, 0, 2, 3)  # (T, B, N, 2)
    log_std = theta[:, None, -2:]  # (B, 1, 2), broadcasts over (T, B, N, 2)
    z = (batch["actions"] - mu) / log_std.exp()
    return (-0.5 * z ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


def advantages(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    """Reward-to-go minus its mean over the task's N trajectories at each step, then scaled to unit standard
    deviation within each task (rllab's ``center_adv``, which Finn et al.'s code uses): (T, B, N) → (T, B, N)."""
    G = returns.reward_to_go(rewards.numpy(), gamma)  # (T, B, N)
    A = G - G.mean(axis=2, keepdims=True)
    return torch.as_tensor(A / (A.std(axis=(0, 2), keepdims=True) + 1e-8), dtype=torch.float32)


def pg_loss(theta: torch.Tensor, batch: dict[str, torch.Tensor], cfg: NavConfig) -> torch.Tensor:
    """Σ_b of each task's policy-gradient surrogate per step, L_b^PG(θ_b) / T (``pg_pseudo_loss`` sums over T and
    averages over B·N, hence × B / T; the per-step scale is rllab's, which α = 0.1 assumes)."""
    T, B = batch["rewards"].shape[:2]
    lp, adv = log_probs(theta, batch, cfg), advantages(batch["rewards"], cfg.gamma)
    return B / T * policy_gradient.pg_pseudo_loss(lp, adv)


def adapt(theta: torch.Tensor, goals: torch.Tensor, cfg: NavConfig, gen: torch.Generator, create_graph: bool
          ) -> torch.Tensor:
    """One inner step on every task: θ'_b = θ_b − α ∇ L_b^PG(θ_b) from N fresh trajectories. θ (B, P + 2)."""
    batch = sample(theta.detach(), goals, cfg, gen)
    (grad,) = torch.autograd.grad(pg_loss(theta, batch, cfg), theta, create_graph=create_graph)  # (B, P + 2)
    return theta - cfg.inner_lr * grad


def _goals(n: int, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, 2, generator=gen) - 0.5  # U[−0.5, 0.5]²


def train(cfg: NavConfig = NavConfig(), seed: int = 0) -> dict:
    """MAML-PG. Returns {"theta": (P + 2,), "pre": (n_iters,), "post": (n_iters,)} mean return per trajectory
    before and after the inner step, on each meta-batch."""
    gen = torch.Generator().manual_seed(seed)
    theta = init_theta(cfg, seed).requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=cfg.outer_lr)
    pre, post = np.zeros(cfg.n_iters), np.zeros(cfg.n_iters)
    for it in range(cfg.n_iters):
        goals = _goals(cfg.meta_batch, gen)
        theta_b = theta.expand(cfg.meta_batch, -1)  # (B, P + 2), one copy per task, in θ's graph
        inner = sample(theta_b.detach(), goals, cfg, gen)
        (grad,) = torch.autograd.grad(pg_loss(theta_b, inner, cfg), theta_b, create_graph=True)
        adapted = theta_b - cfg.inner_lr * grad  # θ'_b, differentiable back to θ (second-order term included)
        outer = sample(adapted.detach(), goals, cfg, gen)
        loss = pg_loss(adapted, outer, cfg) / cfg.meta_batch
        opt.zero_grad()
        loss.backward()
        opt.step()
        pre[it] = inner["rewards"].sum(0).mean().item()
        post[it] = outer["rewards"].sum(0).mean().item()
    return {"theta": theta.detach(), "pre": pre, "post": post}


def pretrain(cfg: NavConfig = NavConfig(), seed: int = 0) -> dict:
    """Control arm: plain policy gradient on random goals, 2·B·N trajectories per step (as many as MAML uses).
    Returns {"theta": (P + 2,), "ret": (n_iters,)}."""
    gen = torch.Generator().manual_seed(seed)
    theta = init_theta(cfg, seed).requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=cfg.outer_lr)
    ret = np.zeros(cfg.n_iters)
    for it in range(cfg.n_iters):
        goals = _goals(2 * cfg.meta_batch, gen)
        theta_b = theta.expand(len(goals), -1)
        batch = sample(theta_b.detach(), goals, cfg, gen)
        loss = pg_loss(theta_b, batch, cfg) / len(goals)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ret[it] = batch["rewards"].sum(0).mean().item()
    return {"theta": theta.detach(), "ret": ret}


def evaluate(theta: torch.Tensor, goals: np.ndarray, cfg: NavConfig = NavConfig(), n_steps: int = 1,
             seed: int = 0, n_eval: int = 100) -> np.ndarray:
    """Mean return per goal after 0, 1, ..., n_steps inner steps (each from N fresh trajectories at α),
    scored on ``n_eval`` trajectories: (n_steps + 1, n_goals). The same seed gives every θ the same noise."""
    gen = torch.Generator().manual_seed(seed)
    g = torch.as_tensor(goals, dtype=torch.float32)
    score_cfg = NavConfig(**{**cfg.__dict__, "n_traj": n_eval})
    th = theta.detach().expand(len(g), -1).clone().requires_grad_(True)
    out = np.zeros((n_steps + 1, len(g)))
    for k in range(n_steps + 1):
        out[k] = sample(th.detach(), g, score_cfg, gen)["rewards"].sum(0).mean(1).numpy()
        if k < n_steps:
            th = adapt(th, g, cfg, gen, create_graph=False).detach().requires_grad_(True)
    return out
