"""A latent-variable policy (a conditional VAE) cloning Lecture 1's two-ways-round-the-tree expert.

π_θ(a | o) = ∫ p_θ(a | o, z) p(z) dz with p(z) = N(0, I) and a Gaussian decoder
p_θ(a | o, z) = N(μ_θ(o, z), σ²): a continuous mixture, so it can put its mass on "left" and on
"right" where a single Gaussian N(μ_θ(o), σ²) must average them (into the tree). It is fitted by
the conditional ELBO with an encoder q_φ(z | o, a) = N(μ_φ(o, a), diag σ_φ(o, a)²):

    log π_θ(a | o) ≥ E_{z~q_φ(z|o,a)}[log p_θ(a | o, z)] - β KL(q_φ(z | o, a) ‖ p(z))   (β = 1),

and drives by drawing z ~ p(z) at every step, then a ~ p_θ(a | o, z). The demonstrations are
the same as ``algos.mixture.train``'s for the same seed, so its K = 1 run is the single Gaussian
to compare with. β ≫ 1 makes the code too expensive to use (posterior collapse): the decoder then
ignores z and the policy falls back to one Gaussian, the control arm of the experiment.

Lecture 10 §Conditional models and latent-variable policies (Sohn et al. 2015, conditional VAE).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from rlcourse_utils import imitation, nets, trust_region
from rlcourse_utils.envs import obstacle

LogLikelihoodFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Config:
    """Settings of the conditional-VAE policy on the obstacle task."""

    latent_dim: int = 1
    """d, the size of z; 1 is enough for "which side", 1 to 4."""
    beta: float = 1.0
    """KL weight of the training objective; 1 is the ELBO, ≫ 1 forces posterior collapse (the control arm)."""
    n_demos: int = 50
    """Expert episodes, half left, half right (the same demonstrations as ``mixture.Config``)."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the encoder and the decoder."""
    fit_steps: int = 1500
    """Full-batch Adam steps; 500 to 3000."""
    lr: float = 1e-2
    """Adam learning rate; 3e-3 to 3e-2."""
    eval_episodes: int = 100
    """Episodes driven to measure the outcome."""


class CVAEPolicy(nn.Module):
    """Encoder (o, a) → (μ_φ, log σ_φ) of z; decoder (o, z) → μ_θ; one learned log σ of the action."""

    def __init__(self, obs_dim: int, act_dim: int, latent_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nets.mlp(obs_dim + act_dim, 2 * latent_dim, hidden)
        self.decoder = nets.mlp(obs_dim + latent_dim, act_dim, hidden)
        self.log_std = nn.Parameter(torch.full((act_dim,), -1.0))
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))

    def _norm(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.obs_mean) / self.obs_std

    def encode(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, obs_dim), (B, act_dim) → μ_φ, log σ_φ, (B, d) each."""
        mean, log_std = self.encoder(torch.cat([self._norm(obs), actions], -1)).chunk(2, -1)
        return mean, log_std.clamp(-6.0, 2.0)

    def decode(self, obs: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """p_θ(a | o, z) as a one-component mixture, in ``imitation.mog_log_likelihood``'s shapes:
        logits (B, 1), means (B, 1, act_dim), log_stds (B, 1, act_dim)."""
        mean = self.decoder(torch.cat([self._norm(obs), z], -1))  # (B, act_dim)
        return (torch.zeros(len(mean), 1), mean[:, None], self.log_std.clamp(-5.0, 2.0).expand_as(mean)[:, None])

    def elbo(self, obs: torch.Tensor, actions: torch.Tensor, eps: torch.Tensor, beta: float = 1.0,
             log_likelihood_fn: LogLikelihoodFn = imitation.mog_log_likelihood) -> torch.Tensor:
        """(B,) log p_θ(a | o, z) - β KL(q_φ(z | o, a) ‖ N(0, I)) at z = μ_φ + σ_φ ε (ε (B, d))."""
        mean, log_std = self.encode(obs, actions)
        z = mean + log_std.exp() * eps  # (B, d) reparameterised
        zeros = torch.zeros_like(mean)
        return log_likelihood_fn(*self.decode(obs, z), actions) - beta * trust_region.gaussian_kl(mean, log_std, zeros,
                                                                                                  zeros)

    @torch.no_grad()
    def sample(self, obs: np.ndarray, generator: torch.Generator, action_noise: bool = True) -> np.ndarray:
        """a ~ π_θ(· | o): z ~ N(0, I), then a ~ N(μ_θ(o, z), σ²), or a = μ_θ(o, z) without ``action_noise``
        (the latent still chooses the mode). (N, obs_dim) → (N, act_dim)."""
        o = torch.as_tensor(obs, dtype=torch.float32)
        z = torch.randn((len(o), self.latent_dim), generator=generator)  # (N, d) from the prior
        _, means, log_stds = self.decode(o, z)
        noise = torch.randn(means[:, 0].shape, generator=generator) if action_noise else 0.0
        return (means[:, 0] + log_stds[:, 0].exp() * noise).numpy()


@dataclass(frozen=True)
class Result:
    policy: CVAEPolicy
    elbos: np.ndarray
    """(fit_steps,) mean training objective (the ELBO when β = 1) per step, in nats per action; it rises."""
    kl: float
    """Mean KL(q_φ(z | o, a) ‖ p(z)) on the demonstrations after training: ≈ 0 means the code is unused."""
    eval_rollout: obstacle.Rollout
    """Episodes driven with z ~ p(z) at every step."""


def outcomes(rollout: obstacle.Rollout) -> dict[str, float]:
    """Fractions of episodes that pass the tree on the left and reach the gate, on the right and reach it,
    that touch the tree, and that miss the gate otherwise; the side is the sign of x when the car is
    level with the tree (y = 5). The four fractions sum to 1."""
    level = int(round(obstacle.OBSTACLE[1] / obstacle.SPEED))  # the step at which y = 5
    x_at_tree = rollout.obs[level, :, 0]  # (N,)
    ok = rollout.success
    return {"left": float((ok & (x_at_tree < 0)).mean()), "right": float((ok & (x_at_tree > 0)).mean()),
            "crash": float(rollout.crashed.mean()), "missed gate": float((~ok & ~rollout.crashed).mean())}


def train(cfg: Config, seed: int = 0,
          log_likelihood_fn: LogLikelihoodFn = imitation.mog_log_likelihood) -> Result:
    """Fit the CVAE policy by full-batch Adam on -ELBO (one ε per pair per step), then drive it.

    Args:
        cfg: settings.
        seed: seeds the demonstrations (as ``mixture.train`` does), the networks, the noise and the evaluation.
        log_likelihood_fn: the decoder's log-likelihood, Lecture 1's mixture log-likelihood with K = 1.

    Returns:
        A Result with the policy, its ELBO history, the final KL and the evaluation episodes.
    """
    rng = np.random.default_rng(seed)
    demos = obstacle.expert_demos(cfg.n_demos, int(rng.integers(2**31)))  # the same draws as mixture.train
    obs = torch.as_tensor(demos.obs[:-1][demos.alive], dtype=torch.float32)  # (B, 2)
    actions = torch.as_tensor(demos.actions[demos.alive], dtype=torch.float32)  # (B, 1)

    torch.manual_seed(seed)
    policy = CVAEPolicy(obstacle.OBS_DIM, obstacle.ACT_DIM, cfg.latent_dim, cfg.hidden)
    policy.obs_mean.copy_(obs.mean(0))
    policy.obs_std.copy_(obs.std(0).clamp_min(1e-6))
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    generator = torch.Generator().manual_seed(seed)
    elbos = np.zeros(cfg.fit_steps)
    for step in range(cfg.fit_steps):
        eps = torch.randn((len(obs), cfg.latent_dim), generator=generator)  # (B, d)
        objective = policy.elbo(obs, actions, eps, cfg.beta, log_likelihood_fn).mean()
        optimizer.zero_grad()
        (-objective).backward()
        optimizer.step()
        elbos[step] = objective.item()

    with torch.no_grad():
        mean, log_std = policy.encode(obs, actions)
        zeros = torch.zeros_like(mean)
        kl = float(trust_region.gaussian_kl(mean, log_std, zeros, zeros).mean())
    episodes = obstacle.rollout(lambda o: policy.sample(o, generator), cfg.eval_episodes, int(rng.integers(2**31)))
    return Result(policy, elbos, kl, episodes)
