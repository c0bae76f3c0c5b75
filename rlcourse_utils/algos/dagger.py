"""DAgger on CartPole-v1: let the expert label the states the learner actually visits.

    1. train π_θ on a small expert dataset D
    2. run π_θ to get D_π = {o_1, ..., o_M}
    3. ask the expert to label D_π with actions a*_t
    4. aggregate D ← D ∪ D_π, refit, and repeat from 2

Each fit starts from a fresh network with the same budget as behaviour cloning
(``bc.fit``, and ``Config`` extends ``bc.Config``), so a comparison of labels needed
is fair. Step 3 labels a random subset of ``labels_per_iter`` visited steps: the
expert's time is the resource being counted. Step 2's episodes double as the
evaluation of the current policy.

Lecture 1 §DAgger (Ross, Gordon & Bagnell 2011).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from rlcourse_utils import imitation, nets, rollouts
from rlcourse_utils.algos import bc
from rlcourse_utils.envs import cartpole

AggregateFn = Callable[..., tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Config(bc.Config):
    """DAgger's settings: behaviour cloning's, a smaller initial dataset, and the loop's own.

    The network, fit budget and observation fields come from ``bc.Config``, so the two
    learners fit the same way; ``eval_episodes`` is the episodes the learner runs per iteration.
    """

    n_demos: int = 1
    """Expert demonstrations in the initial dataset D."""
    demo_steps: int = 20
    """Length of each initial demonstration; D starts with n_demos * demo_steps expert labels."""
    n_iters: int = 5
    """DAgger iterations (roll out, label, aggregate, refit); 3 to 20."""
    labels_per_iter: int | None = 30
    """Visited steps the expert labels per iteration, chosen uniformly at random; None = all of them
    (up to eval_episodes x 500 per iteration once the learner balances)."""


@dataclass(frozen=True)
class Result:
    """What one DAgger run produced; index i is the policy fitted after i iterations."""

    policy: nets.CategoricalPolicy
    """The final policy; ``policy.act`` maps (N, k * obs_dim) features to (N,) actions."""
    labels: np.ndarray
    """(n_iters + 1,) cumulative expert labels the i-th policy was trained on."""
    returns: np.ndarray
    """(n_iters + 1,) mean return of the i-th policy over ``eval_episodes`` episodes."""
    data_obs: np.ndarray
    """(labels[-1], k * obs_dim) the aggregated dataset D the final policy was fitted to."""
    data_actions: np.ndarray
    """(labels[-1],) the expert's labels of D."""
    eval_rollout: rollouts.Rollout
    """The final policy's episodes (for survival and mistake curves)."""


def train(
    cfg: Config,
    seed: int = 0,
    loss_fn: bc.LossFn = imitation.bc_loss,
    aggregate_fn: AggregateFn = imitation.dagger_aggregate,
    expert: bc.Expert = cartpole.expert_actions,
) -> Result:
    """Run DAgger and record, per iteration, the expert labels used and the return reached.

    Args:
        cfg: settings.
        seed: seeds the expert data, every network, every rollout and the label choice.
        loss_fn: the behaviour-cloning loss (logits, expert actions) → scalar, used by every fit.
        aggregate_fn: ``dagger_aggregate(data_obs, data_actions, visited_obs, visited_states, expert)``
            → the aggregated (obs, actions).
        expert: maps (M, 4) states to (M,) actions; it labels what the learner visits.

    Returns:
        A Result with the final policy and the per-iteration label counts and returns.
    """
    rng = np.random.default_rng(seed)
    # 1. a small expert dataset D and a first fit
    data_obs, data_actions = bc.expert_dataset(cfg, rng, expert)  # D: (B, k * obs_dim), (B,)
    policy, _ = bc.fit(data_obs, data_actions, cfg, seed, loss_fn)
    labels, returns = [], []
    for it in range(cfg.n_iters + 1):
        # 2. run the current learner; its episodes are also its evaluation
        episodes = rollouts.rollout(policy.act, cfg.eval_episodes, int(rng.integers(2**31)), cfg.obs_fn, cfg.k)
        labels.append(len(data_actions))
        returns.append(episodes.returns.mean())
        if it == cfg.n_iters:
            break
        visited_obs, visited_states = episodes.visited(cfg.k, cfg.obs_fn)  # (M, k * obs_dim), (M, 4)
        if cfg.labels_per_iter is not None and len(visited_obs) > cfg.labels_per_iter:
            pick = rng.choice(len(visited_obs), size=cfg.labels_per_iter, replace=False)
            visited_obs, visited_states = visited_obs[pick], visited_states[pick]
        # 3.-4. the expert labels the learner's states (from the full state); D ← D ∪ D_π
        data_obs, data_actions = aggregate_fn(data_obs, data_actions, visited_obs, visited_states, expert)
        policy, _ = bc.fit(data_obs, data_actions, cfg, seed + it + 1, loss_fn)
    return Result(policy, np.array(labels), np.array(returns), data_obs, data_actions, episodes)


def labels_to_reach(labels: np.ndarray, returns: np.ndarray, threshold: float = 475.0) -> float:
    """Fewest labels from which on the mean return (over seeds) stays at or above ``threshold``.

    Args:
        labels: (L,) label counts, increasing.
        returns: (S, L) or (L,) mean returns per seed at each label count.
        threshold: 475 is CartPole-v1's "solved".

    Returns:
        The label count, or inf if the threshold is not held at the largest count.
    """
    mean = np.asarray(returns).reshape(-1, len(labels)).mean(0)  # (L,)
    ok = mean >= threshold  # (L,)
    if not ok[-1]:
        return float("inf")
    first = len(ok) - np.argmin(ok[::-1]) if not ok.all() else 0  # start of the final run of successes
    return float(labels[first])
