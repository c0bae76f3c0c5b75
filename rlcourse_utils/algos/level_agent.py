"""PPO on fixed sets of procedurally generated levels, and evaluation on held-out levels (Lecture 18).

K independent agents train in lockstep (one per (seed, training set, augmentation) of an experiment),
each with its own network, its own levels and its own episodes; stacking them into one batched
network only saves the Python overhead of K separate loops. Per agent:

    repeat until ``total_steps``:
      1. run π_θ for ``n_steps`` in ``n_envs`` episodes, each on a level drawn from the agent's training set;
         with an augmentation the agent sees g·o_t (g a random symmetry per episode), picks a' ~ π(·|g·o_t)
         and the environment executes g⁻¹·a': the agent lives in the transformed levels
      2. Â_t = GAE(γ, λ)                                    (``advantages.gae``, Lecture 3)
      3. ``n_epochs`` passes of PPO's clipped surrogate     (``trust_region.ppo_clip_loss``, Lecture 6)
         + c_v (value loss) − c_H (entropy) [+ ½ λ_L2 ‖W‖² for an L2-regularised agent]
    evaluate: play levels with the sampled policy, no augmentation.

The agents share nothing but random streams: the environment's (which level each new episode plays), the
action sampler's and the minibatch order. So the numbers of an agent depend on its seed and on the batch it was
trained in, both fixed by the call: same call, same numbers. Lecture 18 §Experiments (Cobbe et al. 2019;
Procgen: Cobbe et al. 2020).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from rlcourse_utils import advantages, generalization, trust_region
from rlcourse_utils.envs.procgrid import LevelSet, ProcGrid
from rlcourse_utils.nets import mlp

AugmentFn = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]  # obs, actions, k


@dataclass(frozen=True)
class Config:
    """Settings of PPO on gridworld levels. Trained on 1,024 levels, the defaults reach a held-out return of
    about 0.75 to 0.77 (optimal 0.86, random policy 0.15), at about 0.6 CPU-seconds per agent in a batch of 30."""

    n_envs: int = 32
    """Parallel episodes N per agent."""
    n_steps: int = 16
    """Rollout length T per update; each agent's batch is N * T transitions."""
    total_steps: int = 50_000
    """Environment steps per agent, the same whatever the number of training levels."""
    max_steps: int = 30
    """Episode time limit (truncation)."""
    gamma: float = 0.95
    """Discount γ."""
    lam: float = 0.9
    """GAE λ."""
    clip_eps: float = 0.2
    """PPO clip range ε."""
    n_epochs: int = 3
    """Passes over each batch."""
    n_minibatches: int = 2
    """Minibatches per epoch."""
    lr: float = 2e-3
    """Adam learning rate."""
    vf_coef: float = 0.5
    """Weight c_v of the value loss."""
    ent_coef: float = 0.01
    """Weight c_H of the entropy bonus."""
    max_grad_norm: float = 0.5
    """Each agent's gradient is clipped to this norm."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the MLP on the flattened image; its last layer gives 4 logits and the value."""


@dataclass(frozen=True)
class Run:
    """One agent of a batch: its training levels, its seed (network initialisation) and its regulariser."""

    levels: LevelSet
    seed: int
    augment_fn: AugmentFn | None = None
    """None: no augmentation; else ``augment_fn(obs, actions, k)`` as ``generalization.dihedral_augment``."""
    weight_decay: float = 0.0
    """L2 coefficient λ_L2 on the weights (Cobbe et al. 2019: 1e-4 on their larger network)."""


class EnsembleMLP(nn.Module):
    """K separate MLPs evaluated as one: weights (K, in, out), input (K, B, in) → output (K, B, out).
    Network k is initialised exactly as ``nets.mlp`` under ``torch.manual_seed(seeds[k])``."""

    def __init__(self, seeds: Sequence[int], in_dim: int, out_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        nets = []
        for s in seeds:
            torch.manual_seed(s)
            nets.append([m for m in mlp(in_dim, out_dim, hidden, nn.ReLU) if isinstance(m, nn.Linear)])
        self.weights = nn.ParameterList([nn.Parameter(torch.stack([n[i].weight.T for n in nets]).detach().clone())
                                         for i in range(len(nets[0]))])  # each (K, in, out)
        self.biases = nn.ParameterList([nn.Parameter(torch.stack([n[i].bias[None] for n in nets]).detach().clone())
                                        for i in range(len(nets[0]))])  # each (K, 1, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)  # (K, B, out_i)
            if i < len(self.weights) - 1:
                x = torch.relu(x)
        return x


@dataclass
class Result:
    model: EnsembleMLP
    runs: list[Run]
    train_returns: np.ndarray = None  # (updates, K) mean return of each agent's episodes that ended in each update
    entropy: np.ndarray = None  # (updates, K) mean policy entropy of each agent in each update
    seconds: float = 0.0


def _act(model: EnsembleMLP, obs: np.ndarray, K: int, rng: np.random.Generator
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample actions for (K·N, C, V, V) images: actions (K·N,), log-probabilities and values, all numpy."""
    out = model(torch.as_tensor(obs).reshape(K, -1, int(np.prod(obs.shape[1:])))).reshape(len(obs), -1)
    logp_all = torch.log_softmax(out[:, :-1], -1).numpy()  # (K·N, 4)
    act = np.argmax(logp_all + rng.gumbel(size=logp_all.shape), axis=1)  # Gumbel-max: a ~ π(·|o)
    return act, logp_all[np.arange(len(act)), act], out[:, -1].numpy()


def train(cfg: Config, runs: Sequence[Run], seed: int = 0) -> Result:
    """Train len(runs) PPO agents in lockstep, each on its own training levels."""
    t0 = time.process_time()
    runs = list(runs)
    K, N, T = len(runs), cfg.n_envs, cfg.n_steps
    rng = np.random.default_rng([seed, 18])
    env = ProcGrid([r.levels for r in runs], N, cfg.max_steps, seed=seed)
    obs = env.reset()[0]
    view = obs.shape[1:]  # (C, V, V)
    model = EnsembleMLP([r.seed for r in runs], int(np.prod(view)), env.n_actions + 1, cfg.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    wd = torch.tensor([r.weight_decay for r in runs], dtype=torch.float32)
    groups = {}  # augmentation function -> (K·N,) bool mask of the episodes of the agents that use it
    for k, r in enumerate(runs):
        if r.augment_fn is not None:
            groups.setdefault(r.augment_fn, np.zeros(K * N, bool))[k * N:(k + 1) * N] = True
    g = rng.integers(8, size=K * N)  # (K·N,) the symmetry of each episode (used by augmented agents only)
    returns_log, entropy_log = [], []
    for _ in range(cfg.total_steps // (T * N)):
        # 1. collect T steps of the K·N episodes
        b_obs = np.zeros((T, K * N, *view), dtype=np.float32)
        b = {key: np.zeros((T, K * N)) for key in ("act", "logp", "rew", "val")}
        b_term, b_trunc = np.zeros((T, K * N), bool), np.zeros((T, K * N), bool)
        ret_sum, ret_n = np.zeros(K), np.zeros(K)
        with torch.no_grad():
            for t in range(T):
                seen = obs.copy()
                for fn, mask in groups.items():  # the agent sees g·o (g drawn per episode)
                    seen[mask] = fn(obs[mask], np.zeros(int(mask.sum()), np.int64), g[mask])[0]
                act, logp, val = _act(model, seen, K, rng)
                env_act = act.copy()
                for fn, mask in groups.items():  # ... and the environment executes g⁻¹·a'
                    inverse = np.where(g[mask] < 4, (4 - g[mask]) % 4, g[mask])  # rotations: −r; mirrors: self
                    env_act[mask] = fn(obs[mask][:, :, :1, :1], act[mask], inverse)[1]
                obs, rew, term, trunc, info = env.step(env_act)  # obs = next obs (autoreset where done)
                g = np.where(term | trunc, rng.integers(8, size=K * N), g)  # a new episode, a new symmetry
                b_obs[t], b["act"][t], b["logp"][t], b["rew"][t], b["val"][t] = seen, act, logp, rew, val
                b_term[t], b_trunc[t] = term, trunc
                ended = ~np.isnan(info["final_return"])
                np.add.at(ret_sum, np.nonzero(ended)[0] // N, info["final_return"][ended])
                np.add.at(ret_n, np.nonzero(ended)[0] // N, 1)
            _, _, last_val = _act(model, obs, K, rng)  # (an augmented agent's V is near-invariant to g)
        # V(s'_t) = V(s_{t+1}); at a truncation that is the next episode's first state, a small bias
        next_val = np.concatenate([b["val"][1:], last_val[None]])
        # 2. advantages, per episode stream
        adv = advantages.gae(b["rew"], b["val"], next_val, b_term, b_trunc, cfg.gamma, cfg.lam)  # (T, K·N)
        target = adv + b["val"]  # λ-returns, the critic's regression target
        # 3. PPO epochs; tensors (K, T·N, ...) so that agent k only ever sees its own data
        per_agent = lambda x: torch.as_tensor(x.reshape(T, K, N, -1).transpose(1, 0, 2, 3).reshape(K, T * N, -1))
        o_k, a_k = per_agent(b_obs), per_agent(b["act"]).long().squeeze(-1)
        lp_k, adv_k, tgt_k = (per_agent(b[x] if isinstance(x, str) else x).float().squeeze(-1)
                              for x in ("logp", adv, target))
        ent = torch.zeros(K)
        for _ in range(cfg.n_epochs):
            for idx in torch.randperm(T * N).chunk(cfg.n_minibatches):
                out = model(o_k[:, idx])  # (K, B, 5)
                logp_all = torch.log_softmax(out[..., :-1], -1)
                logp = logp_all.gather(-1, a_k[:, idx, None]).squeeze(-1)  # (K, B)
                entropy = -(logp_all.exp() * logp_all).sum(-1).mean(1)  # (K,)
                a = adv_k[:, idx]
                a = (a - a.mean(1, keepdim=True)) / (a.std(1, keepdim=True) + 1e-8)  # per agent
                pg = trust_region.ppo_clip_loss(logp.reshape(-1), lp_k[:, idx].reshape(-1), a.reshape(-1),
                                                cfg.clip_eps) * K  # mean over all = (1/K) Σ_k, hence × K
                vf = ((out[..., -1] - tgt_k[:, idx]) ** 2).mean(1).sum()
                l2 = 0.5 * sum((wd[:, None, None] * w ** 2).sum() for w in model.weights)
                loss = pg + cfg.vf_coef * vf - cfg.ent_coef * entropy.sum() + l2  # Σ_k of each agent's loss
                opt.zero_grad()
                loss.backward()
                _clip_per_agent(model, cfg.max_grad_norm)
                opt.step()
                ent += entropy.detach()
        entropy_log.append((ent / (cfg.n_epochs * cfg.n_minibatches)).numpy())
        returns_log.append(np.where(ret_n > 0, ret_sum / np.maximum(ret_n, 1), np.nan))
    return Result(model, runs, np.array(returns_log), np.array(entropy_log), time.process_time() - t0)


def _clip_per_agent(model: EnsembleMLP, max_norm: float) -> None:
    """Scale agent k's gradient (slice k of every parameter) to norm ≤ max_norm, independently of the others."""
    params = list(model.parameters())
    sq = sum(p.grad.pow(2).flatten(1).sum(1) for p in params)  # (K,)
    scale = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    for p in params:
        p.grad.mul_(scale.view(-1, *[1] * (p.dim() - 1)))


def evaluate(result: Result | None, levels: LevelSet | Sequence[LevelSet], n_episodes: int, max_steps: int = 30,
             seed: int = 0) -> np.ndarray:
    """(K, n_episodes) returns of every agent's sampled policy, no augmentation. Episode j of agent k plays
    level j mod L of its set: ``levels`` is one set for all agents (held-out levels) or one per agent.
    ``result`` None: a single uniformly random policy, the chance level (K = 1)."""
    K = 1 if result is None else len(result.runs)
    sets = list(levels) if isinstance(levels, (list, tuple)) else [levels] * K
    env = ProcGrid(sets, n_episodes, max_steps, seed=seed)
    obs = env.reset_to(env.offset + np.tile(np.arange(n_episodes), K) % env.count)
    rng = np.random.default_rng([seed, 81])
    returns, running = np.zeros(K * n_episodes), np.ones(K * n_episodes, dtype=bool)
    with torch.no_grad():
        for _ in range(max_steps):
            act = rng.integers(4, size=len(obs)) if result is None else _act(result.model, obs, K, rng)[0]
            obs, rew, term, trunc, _ = env.step(act)
            done = (term | trunc) & running
            returns[done] = rew[done]
            running &= ~done
    return returns.reshape(K, n_episodes)
