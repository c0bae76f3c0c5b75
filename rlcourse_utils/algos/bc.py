"""Behaviour cloning on CartPole-v1: supervised learning of the expert's actions.

    1. run the expert π* to collect demonstrations D = {(o_t, a*_t)}
    2. fit π_θ by minimising the negative log-likelihood of a*_t given o_t (``loss_fn``)
    3. run π_θ, which from now on only sees the states it visits itself

Lecture 1 §Behaviour cloning (Pomerleau 1989; Bojarski et al. 2016).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from rlcourse_utils import imitation, nets, rollouts
from rlcourse_utils.envs import cartpole

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Expert = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Config:
    """Settings of behaviour cloning; ``dagger.Config`` extends it, so both fit the same way."""

    n_demos: int = 4
    """Expert episodes collected (500 steps each on CartPole-v1); 1 to 20."""
    demo_steps: int = 500
    """Length of each demonstration: the expert drives this many steps (500 = a whole
    CartPole-v1 episode). Every step it drives is one expert label: n_labels = n_demos * demo_steps."""
    k: int = 1
    """History length: the policy sees its last k observations (1 = memoryless)."""
    position_only: bool = False
    """If True the learner observes only (x, θ); the expert always acts on the full state."""
    hidden: tuple[int, ...] = (32, 32)
    """Hidden layer widths of the policy MLP; tiny networks fit CartPole's expert."""
    fit_steps: int = 100
    """Full-batch Adam steps per fit, the same for every dataset size; 100 to 1000."""
    lr: float = 2e-2
    """Adam learning rate; 3e-3 to 3e-2."""
    eval_episodes: int = 10
    """Episodes the final policy is evaluated on (mean return ≥ 475 = solved)."""

    @property
    def obs_fn(self) -> rollouts.ObsFn | None:
        """What the learner observes of the state: ``cartpole.position_only`` or everything (None)."""
        return cartpole.position_only if self.position_only else None


@dataclass(frozen=True)
class Result:
    """What one behaviour-cloning run produced."""

    policy: nets.CategoricalPolicy
    """The fitted policy; ``policy.act`` maps (N, k * obs_dim) features to (N,) actions."""
    n_labels: int
    """Expert labels it was trained on."""
    data_obs: np.ndarray
    """(n_labels, k * obs_dim) the training features: samples of p_data(o)."""
    data_actions: np.ndarray
    """(n_labels,) the expert's actions on them."""
    losses: np.ndarray
    """(fit_steps,) training loss after each Adam step; a healthy fit decreases to well below log 2 ≈ 0.69."""
    eval_returns: np.ndarray
    """(eval_episodes,) returns of the fitted policy."""
    eval_rollout: rollouts.Rollout
    """The evaluation episodes themselves (for survival and mistake curves)."""


def fit(
    obs: np.ndarray, actions: np.ndarray, cfg: Config, seed: int, loss_fn: LossFn = imitation.bc_loss
) -> tuple[nets.CategoricalPolicy, np.ndarray]:
    """Fit a fresh categorical MLP policy to (obs, actions) by full-batch Adam on ``loss_fn``.

    θ ← θ - Adam(∇_θ L(θ)),  L(θ) = loss_fn(logits_θ(o), a*)  (``imitation.bc_loss`` by default).

    Args:
        obs: (B, obs_dim) the learner's inputs (with history stacked when k > 1).
        actions: (B,) expert actions.
        cfg: network and optimiser settings (``hidden``, ``fit_steps``, ``lr``); a ``dagger.Config`` works too.
        seed: seeds the network's initialisation.
        loss_fn: maps (B, n_actions) logits and (B,) actions to a scalar loss.

    Returns:
        (policy, losses): the fitted policy and its (fit_steps,) loss history.
    """
    torch.manual_seed(seed)
    policy = nets.CategoricalPolicy(obs.shape[1], cartpole.N_ACTIONS, cfg.hidden)
    o = torch.as_tensor(obs, dtype=torch.float32)  # (B, obs_dim)
    a = torch.as_tensor(actions, dtype=torch.int64)  # (B,)
    policy.set_normalizer(o)
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    losses = np.zeros(cfg.fit_steps)
    for step in range(cfg.fit_steps):
        loss = loss_fn(policy(o), a)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses[step] = loss.item()
    return policy, losses


def expert_dataset(cfg: Config, rng: np.random.Generator, expert: Expert = cartpole.expert_actions
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Demonstrations: the expert drives ``cfg.n_demos`` episodes of up to ``cfg.demo_steps`` steps.

    Each step is recorded as the learner will see it (``cfg.obs_fn``, history ``cfg.k``)
    with the expert's action, computed from the full state.

    Returns:
        obs: (B, k * obs_dim) the learner's features, B = n_demos * demo_steps for a good expert.
        actions: (B,) the expert's actions.
    """
    demos = rollouts.rollout(expert, cfg.n_demos, int(rng.integers(2**31)), max_steps=cfg.demo_steps)
    obs, states = demos.visited(cfg.k, cfg.obs_fn)  # (B, k * obs_dim), (B, 4)
    return obs, np.asarray(expert(states))


def train(
    cfg: Config, seed: int = 0, loss_fn: LossFn = imitation.bc_loss, expert: Expert = cartpole.expert_actions
) -> Result:
    """Behaviour cloning: collect expert demonstrations, fit a policy to them, evaluate it.

    Args:
        cfg: settings.
        seed: seeds the demonstrations, the network and the evaluation episodes.
        loss_fn: the behaviour-cloning loss (logits, expert actions) → scalar.
        expert: maps (N, 4) states to (N,) actions; the teacher being cloned.

    Returns:
        A Result with the policy, its label count, loss history and evaluation.
    """
    rng = np.random.default_rng(seed)
    obs, actions = expert_dataset(cfg, rng, expert)
    policy, losses = fit(obs, actions, cfg, seed, loss_fn)
    evaluation = rollouts.rollout(policy.act, cfg.eval_episodes, int(rng.integers(2**31)), cfg.obs_fn, cfg.k)
    return Result(policy, len(actions), obs, actions, losses, evaluation.returns, evaluation)
