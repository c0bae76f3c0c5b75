"""Multimodal behaviour: clone the obstacle expert with one Gaussian or with a mixture of K.

Half the demonstrations pass the tree on the left, half on the right. Maximum
likelihood with a single Gaussian π_θ(a | o) = N(μ_θ(o), σ²) puts μ between the
two modes, steering into the tree (sampled, it gets past only when its noise
happens to push it aside in time); a mixture of K Gaussians (a mixture density
network) can represent both modes and commit to one.

Both policies are trained by the same loop on the same loss,
-mean log π_θ(a*|o) with ``log_likelihood_fn = imitation.mog_log_likelihood``:
the single Gaussian is the case K = 1.

Lecture 1 §Why might we fail to fit the expert: multimodal behaviour (Bishop 1994).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from rlcourse_utils import imitation, nets
from rlcourse_utils.envs import obstacle

LogLikelihoodFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Config:
    """Settings of the single-Gaussian versus mixture comparison on the obstacle task."""

    n_components: int = 5
    """Mixture components K; 1 is a single Gaussian; 2 to 10 for the mixture."""
    n_demos: int = 50
    """Expert episodes (20 steps each), half passing left, half right; 20 to 200."""
    hidden: tuple[int, ...] = (32, 32)
    """Hidden layer widths of the policy MLP."""
    fit_steps: int = 500
    """Full-batch Adam steps; 300 to 2000."""
    lr: float = 1e-2
    """Adam learning rate; 3e-3 to 3e-2."""
    eval_episodes: int = 100
    """Episodes the fitted policy drives to measure its success rate."""
    sample: bool = True
    """True: drive with actions sampled from π_θ(· | o); False: with its mode (``MixturePolicy.mode``),
    which for a single Gaussian is the mean: the average of the expert's two modes."""


@dataclass(frozen=True)
class Result:
    """What one fit produced."""

    policy: nets.MixturePolicy
    """The fitted policy; ``policy.sample(obs, generator)`` draws actions."""
    losses: np.ndarray
    """(fit_steps,) negative log-likelihood per step; the mixture's ends clearly below the single Gaussian's."""
    success_rate: float
    """Fraction of evaluation episodes that pass the tree and cross the finish gate."""
    eval_rollout: obstacle.Rollout
    """The evaluation episodes (for plotting trajectories)."""


def train(
    cfg: Config, seed: int = 0, log_likelihood_fn: LogLikelihoodFn = imitation.mog_log_likelihood
) -> Result:
    """Fit a K-component Gaussian mixture policy to the obstacle demonstrations and drive with it.

    L(θ) = -(1/B) Σ_i log π_θ(a*_i | o_i),  log π_θ from ``log_likelihood_fn(logits, means, log_stds, a*)``.

    Args:
        cfg: settings; ``cfg.n_components = 1`` is the single Gaussian.
        seed: seeds the demonstrations, the network, the action sampling and the evaluation.
        log_likelihood_fn: (B, K) logits, (B, K, act_dim) means and log-stds, (B, act_dim)
            actions → (B,) log-likelihoods.

    Returns:
        A Result with the policy, its loss history and its success rate.
    """
    rng = np.random.default_rng(seed)
    demos = obstacle.expert_demos(cfg.n_demos, int(rng.integers(2**31)))
    obs = torch.as_tensor(demos.obs[:-1][demos.alive], dtype=torch.float32)  # (B, 2)
    actions = torch.as_tensor(demos.actions[demos.alive], dtype=torch.float32)  # (B, 1)

    torch.manual_seed(seed)
    policy = nets.MixturePolicy(obstacle.OBS_DIM, obstacle.ACT_DIM, cfg.n_components, cfg.hidden)
    policy.set_normalizer(obs)
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    losses = np.zeros(cfg.fit_steps)
    for step in range(cfg.fit_steps):
        loss = -log_likelihood_fn(*policy(obs), actions).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses[step] = loss.item()

    generator = torch.Generator().manual_seed(seed)  # the policy's own action noise
    act = (lambda o: policy.sample(o, generator)) if cfg.sample else policy.mode
    episodes = obstacle.rollout(act, cfg.eval_episodes, int(rng.integers(2**31)))
    return Result(policy, losses, float(episodes.success.mean()), episodes)
