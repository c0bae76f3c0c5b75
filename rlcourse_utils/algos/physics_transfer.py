"""Physics transfer on CartPole (Lecture 13): PPO trained on one pole, under domain randomisation, and
fine-tuned on a new pole; evaluation of a policy across pole lengths and masses.

Reuses ``algos.ppo`` (its ``envs`` and ``init_model`` arguments) and ``envs.physics_cartpole``. Every PPO run of
the lecture is built by ``config`` from ``PPO_SETTINGS``, a pinned copy of the settings its numbers were measured
with, so that a change of ``ppo.Config``'s defaults does not silently change Lecture 13.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from rlcourse_utils.algos import ppo
from rlcourse_utils.algos.actor_critic import ActorCritic
from rlcourse_utils.envs.physics_cartpole import DEFAULT, PhysicsCartPole
from rlcourse_utils.transfer import randomise_physics

PPO_SETTINGS: dict = dict(env_id="CartPole-v1", n_envs=16, n_steps=32, total_steps=100_000, gamma=0.99, lam=0.95,
                          clip_eps=0.2, n_epochs=4, n_minibatches=2, lr=3e-3, hidden=(64, 64), vf_coef=0.5, ent_coef=0.0,
                          value_scale=100.0, max_grad_norm=0.5, window=16, stop_at=475.0)
"""Every field of ``ppo.Config``, pinned at the values Lecture 13 was measured with (``ppo.Config``'s defaults on
the day it was written); ``config`` overrides the budget fields per experiment."""


def config(**overrides) -> ppo.Config:
    """``ppo.Config`` from ``PPO_SETTINGS`` with ``overrides`` (e.g. ``total_steps=60_000, stop_at=None``)."""
    unknown = set(overrides) - set(PPO_SETTINGS)
    if unknown:
        raise TypeError(f"not a pinned PPO setting: {sorted(unknown)}")
    return ppo.Config(**{**PPO_SETTINGS, **overrides})


def evaluate(model: ActorCritic, length, mass=DEFAULT[1], n_episodes: int = 16, seed: int = 0) -> np.ndarray | float:
    """Mean greedy return (max 500) of ``model`` over n_episodes CartPole episodes per setting: pole half-length
    ``length`` (m) and mass ``mass`` (kg), scalars or (L,) arrays (one setting each). All L * n_episodes
    episodes run in one vector env. Returns a float for scalar settings, else (L,) means."""
    scalar = np.ndim(length) == 0 and np.ndim(mass) == 0
    lengths, masses = np.broadcast_arrays(np.atleast_1d(np.asarray(length, dtype=np.float64)),
                                          np.atleast_1d(np.asarray(mass, dtype=np.float64)))
    params = np.repeat(np.stack([lengths, masses], 1), n_episodes, axis=0)  # (L * E, 2), fixed per env
    env = PhysicsCartPole(len(params), params, params)
    obs, _ = env.reset(seed=seed)
    total, alive = np.zeros(len(params)), np.ones(len(params), dtype=bool)
    for _ in range(500):
        with torch.no_grad():
            act = model.policy(torch.as_tensor(obs)).argmax(-1).numpy()
        obs, r, term, trunc, _ = env.step(act)
        total += r * alive
        alive &= ~(term | trunc)
        if not alive.any():
            break
    means = total.reshape(len(lengths), n_episodes).mean(1)
    return float(means[0]) if scalar else means


def sweep(model: ActorCritic, lengths: np.ndarray, mass: float = DEFAULT[1], n_episodes: int = 16, seed: int = 0
          ) -> np.ndarray:
    """(L,) mean greedy returns of ``model`` at each pole half-length (``evaluate``)."""
    return evaluate(model, np.asarray(lengths, dtype=np.float64), mass, n_episodes, seed)


def train(cfg: ppo.Config, low=DEFAULT, high=DEFAULT, seed: int = 0, init_model: ActorCritic | None = None,
          randomise_fn: Callable = randomise_physics) -> ppo.Result:
    """PPO on ``cfg.n_envs`` CartPoles whose (half-length, mass) are drawn log-uniformly from [low, high] at each
    episode start (low == high: one fixed setting); ``init_model`` fine-tunes a copy of a pretrained policy;
    ``randomise_fn`` is the domain-randomisation step (``transfer.randomise_physics``)."""
    return ppo.train(cfg, seed=seed, envs=PhysicsCartPole(cfg.n_envs, low, high, randomise_fn), init_model=init_model)
