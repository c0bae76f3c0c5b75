"""Generative adversarial imitation learning (GAIL) on CartPole-v1: PPO on a discriminator's reward.

    D_ψ(s, a) = σ(logit_ψ(s, a)) ≈ p(expert | s, a)     a plain binary classifier (an MLP on (s, one-hot a))
    repeat:
      1. run π_θ for one PPO batch (``algos.ppo``'s collector, Lecture 6)
      2. a few Adam steps on the discriminator loss (``irl.gail_discriminator_loss`` by default):
             −E_expert[log D] − E_π[log(1 − D)]       on the batch's pairs against as many expert pairs
      3. reward the batch with the updated discriminator, r(s, a) = −log(1 − D) = softplus(logit_ψ(s, a))
         (``reward="softplus"``, Ho & Ermon's; ``"logit"`` gives log D − log(1 − D)), and take
         PPO's clipped steps on it: ``ppo.train(..., reward_fn=...)``.
    The environment's reward is never used for learning; it is only reported (the learning curve) and evaluated.

A healthy run: D separates expert pairs (D > 1/2) from the policy's (D < 1/2) without saturating at 1 and 0,
which would leave PPO a flat reward. At the game's ideal end D = 1/2 everywhere and knows nothing: there is no
reward to keep (Lecture 12 §GAIL, what it gives up). Ho & Ermon 2016, "Generative Adversarial Imitation Learning".
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from rlcourse_utils import irl, nets, rollouts
from rlcourse_utils.algos import bc, ppo
from rlcourse_utils.envs import cartpole

DiscLossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (expert logits, policy logits) -> scalar


@dataclass(frozen=True)
class Config:
    """Settings of GAIL. The generator is PPO (``ppo.Config``) with the environment's reward replaced."""

    n_demos: int = 4
    """Expert episodes of 500 steps (Lecture 1's LQR expert): the only supervision."""
    ppo: ppo.Config = field(default_factory=lambda: ppo.Config(total_steps=100_000, stop_at=None, n_epochs=4))
    """The generator's settings; ``stop_at=None`` runs the whole budget (the stop would peek at the true return).
    100k steps: the greedy policy reaches 500 on seeds 0-5 (60k: 5 of 6; about 7 CPU-s per seed)."""
    disc_hidden: tuple[int, ...] = (32, 32)
    """Hidden widths of the discriminator MLP."""
    disc_lr: float = 1e-3
    """Adam learning rate of the discriminator; 3e-4 to 3e-3."""
    disc_steps: int = 2
    """Discriminator Adam steps per PPO batch; more makes D sharper and the reward noisier."""
    reward: str = "softplus"
    """"softplus": r = −log(1 − D) (Ho & Ermon's, always positive: a survival bonus on CartPole);
    "logit": r = log D − log(1 − D) (sign-neutral; negative while π looks unlike the expert)."""
    eval_episodes: int = 20
    """Episodes the final policy is evaluated on (greedy actions)."""


@dataclass(frozen=True)
class Result:
    """What one GAIL run produced."""

    ppo: ppo.Result
    """The generator's run: learning curve (true returns of training episodes), KL, clip fraction, entropy."""
    d_expert: np.ndarray
    """(U,) mean D on fresh expert pairs after each update's discriminator steps (above 1/2, not saturated)."""
    d_policy: np.ndarray
    """(U,) mean D on the batch's policy pairs (below 1/2, not saturated)."""
    eval_returns: np.ndarray
    """(eval_episodes,) true returns of the final policy."""
    agreement: float
    """Fraction of the final policy's visited states where its greedy action equals the expert's."""
    discriminator: torch.nn.Module
    """The final discriminator: (B, 6) [obs, one-hot action] → (B, 1) logits."""


def _pairs(obs: np.ndarray, actions: np.ndarray) -> torch.Tensor:
    """(B, 4), (B,) → (B, 6): observation and one-hot action, the discriminator's input."""
    return torch.cat([torch.as_tensor(obs, dtype=torch.float32),
                      torch.nn.functional.one_hot(torch.as_tensor(actions, dtype=torch.int64), 2).float()], -1)


def train(cfg: Config, seed: int = 0, loss_fn: DiscLossFn = irl.gail_discriminator_loss) -> Result:
    """Run GAIL: demonstrations from Lecture 1's expert, a discriminator, PPO on the discriminator's reward."""
    rng = np.random.default_rng(seed)
    exp_obs, exp_act = bc.expert_dataset(bc.Config(n_demos=cfg.n_demos), rng)  # (B_E, 4), (B_E,)
    expert = _pairs(exp_obs, exp_act)  # (B_E, 6)
    torch.manual_seed(seed + 10_000)
    disc = nets.mlp(6, 1, cfg.disc_hidden)
    shift, scale = expert.mean(0), expert.std(0).clamp_min(1e-3)  # standardise with the expert's statistics
    opt = torch.optim.Adam(disc.parameters(), lr=cfg.disc_lr)
    logit = lambda x: disc((x - shift) / scale)[:, 0]  # noqa: E731
    log_e, log_p = [], []

    def reward_fn(batch: ppo.Batch) -> np.ndarray:
        T, N = batch.actions.shape
        pairs = _pairs(batch.obs[:-1].reshape(T * N, -1), batch.actions.reshape(-1))  # (T N, 6)
        mine = pairs[torch.as_tensor(batch.valid.reshape(-1))]  # the batch's real transitions
        idx = torch.as_tensor(rng.integers(len(expert), size=len(mine)))  # as many expert pairs
        for _ in range(cfg.disc_steps):  # 2. the discriminator: expert → 1, policy → 0 (0 steps: frozen)
            loss = loss_fn(logit(expert[idx]), logit(mine))
            opt.zero_grad()
            loss.backward()
            opt.step()
            idx = torch.as_tensor(rng.integers(len(expert), size=len(mine)))
        with torch.no_grad():  # 3. the reward PPO maximises
            log_e.append(torch.sigmoid(logit(expert[idx])).mean().item())
            log_p.append(torch.sigmoid(logit(mine)).mean().item())
            z = logit(pairs)  # (T N,)
            r = z if cfg.reward == "logit" else torch.nn.functional.softplus(z)
        return r.numpy().reshape(T, N)

    run = ppo.train(cfg.ppo, seed=seed, reward_fn=reward_fn)
    act = lambda o: run.model.policy(torch.as_tensor(o, dtype=torch.float32)).argmax(-1).numpy()  # noqa: E731
    evaluation = rollouts.rollout(act, cfg.eval_episodes, int(rng.integers(2**31)))
    agree = 1.0 - rollouts.disagreement(evaluation, act, cartpole.expert_actions)
    return Result(run, np.array(log_e), np.array(log_p), evaluation.returns, agree, disc)
