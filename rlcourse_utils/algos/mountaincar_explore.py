"""DQN with and without an exploration bonus on MountainCar-v0 (Lecture 15 §exploration in deep RL).

    repeat (each of K runs has its own network, buffer, counts and N cars; all K are computed together):
      1. act ε-greedily on Q_φ in the N cars, store (s, a, r, s', terminated, truncated) and count s'
      2. sample a mini-batch; r⁺ = r + B(s') with the bonus of the *current* counts or RND error
      3. y = r⁺ + γ (1 − terminated) max_a' Q_φ'(s', a')        (``q_learning.dqn_targets``)
      4. φ ← φ − α ∇ huber(Q_φ(s, a) − y);  every ``target_every`` updates φ' ← φ

Bonuses (``cfg.bonus``): ``"none"`` (plain ε-greedy DQN), ``"count"`` (MBIE-EB, β / sqrt(N(s')) with N the visits
to s's cell of an ``n_bins`` × ``n_bins`` grid over (position, velocity): a hash in the sense of Tang et al. 2017,
via ``exploration.count_bonus``), ``"rnd"`` (random network distillation, Burda et al. 2018: β ‖f̂(s') − f(s')‖²
divided by its running mean, with ``bonus_fn`` = ``exploration.rnd_bonus`` or a student's). Every other setting,
the network, the step budget and the seeds are shared by the arms.

The K runs are K independent networks evaluated with batched matrix products (``BatchedMLP``): their losses are
summed, so each run's gradients and Adam statistics depend only on its own data, exactly as K separate runs.
The cars are ``envs.mountaincar.MountainCarVec`` (gymnasium's dynamics in numpy, checked step for step).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from rlcourse_utils import exploration, q_learning
from rlcourse_utils.envs import mountaincar as mc
from rlcourse_utils.replay import ReplayBuffer

LOW = np.array([mc.MIN_POSITION, -mc.MAX_SPEED])
HIGH = np.array([mc.MAX_POSITION, mc.MAX_SPEED])


@dataclass(frozen=True)
class Config:
    """Settings shared by every arm; ``bonus`` chooses the arm."""

    bonus: str = "none"
    """"none" (ε-greedy DQN), "count" (grid-count bonus) or "rnd" (random network distillation)."""
    total_steps: int = 40_000
    """Environment steps per run (N cars together)."""
    n_envs: int = 8
    """Cars N per run; each vector step adds N transitions."""
    gamma: float = 0.99
    """Discount γ."""
    lr: float = 1e-3
    """Adam learning rate."""
    hidden: int = 64
    """Width of the two hidden ReLU layers."""
    batch_size: int = 128
    """Mini-batch per run per update."""
    buffer_size: int = 50_000
    """Replay capacity per run."""
    learning_starts: int = 1_000
    """Env steps of data before the first update."""
    updates_per_step: int = 1
    """Gradient steps per vector step (per N env steps)."""
    target_every: int = 250
    """Hard target-network copy every this many updates."""
    eps_start: float = 1.0
    """Initial ε."""
    eps_end: float = 0.05
    """Final ε."""
    eps_duration: int = 10_000
    """Env steps over which ε decays linearly."""
    beta: float = 0.2
    """Bonus scale β (count: β / sqrt(N); RND: β × error / its running mean)."""
    n_bins: int = 20
    """Grid cells per axis for the count bonus."""
    hist_bins: int = 48
    """Cells per axis of the visited-state histogram returned for plotting."""
    eval_episodes: int = 20
    """Greedy episodes per run at the end."""


class BatchedMLP(nn.Module):
    """K independent MLPs in → hidden → hidden → out (ReLU), applied to (K, B, in) with batched matmuls."""

    def __init__(self, seeds: list[int], d_in: int, d_out: int, hidden: int):
        super().__init__()
        gens = [torch.Generator().manual_seed(int(s)) for s in seeds]  # run k's weights depend on seeds[k] only
        self.layers: list[tuple[nn.Parameter, nn.Parameter]] = []
        for i, (fan_in, fan_out) in enumerate([(d_in, hidden), (hidden, hidden), (hidden, d_out)]):
            bound = 1 / math.sqrt(fan_in)  # nn.Linear's initialisation, U(−1/sqrt(fan_in), 1/sqrt(fan_in))
            W = nn.Parameter(torch.stack([(torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * bound
                                          for g in gens]))  # (K, fan_in, fan_out)
            b = nn.Parameter(torch.stack([(torch.rand(1, fan_out, generator=g) * 2 - 1) * bound
                                          for g in gens]))  # (K, 1, fan_out)
            self.register_parameter(f"W{i}", W)
            self.register_parameter(f"b{i}", b)
            self.layers.append((W, b))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(K, B, d_in) → (K, B, d_out)."""
        for W, b in self.layers[:-1]:
            x = torch.relu(torch.baddbmm(b, x, W))
        W, b = self.layers[-1]
        return torch.baddbmm(b, x, W)


def normalise(obs: np.ndarray) -> np.ndarray:
    """(…, 2) position, velocity → both in [−1, 1], float32."""
    return (2 * (obs - LOW) / (HIGH - LOW) - 1).astype(np.float32)


def cells(obs: np.ndarray, n_bins: int) -> np.ndarray:
    """(…, 2) observations → (…,) flat index of their cell in an n_bins × n_bins grid over the state box."""
    ij = np.clip(((obs - LOW) / (HIGH - LOW) * n_bins).astype(np.int64), 0, n_bins - 1)
    return ij[..., 0] * n_bins + ij[..., 1]


def _episodes(q_net: BatchedMLP, K: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy episodes, n per run from the same start states for every run: (returns (K, n), reached (K, n))."""
    env = mc.MountainCarVec(K * n, seed=seed)
    env.reset(np.tile(np.stack([np.random.default_rng(seed).uniform(-0.6, -0.4, n), np.zeros(n)], 1), (K, 1)))
    obs = env.state.astype(np.float32)
    ret, active, reached = np.zeros(K * n), np.ones(K * n, dtype=bool), np.zeros(K * n, dtype=bool)
    for _ in range(env.max_steps):
        with torch.no_grad():
            a = q_net(torch.from_numpy(normalise(obs)).view(K, n, 2)).argmax(-1).reshape(-1).numpy()
        obs, r, term, trunc, _ = env.step(a)
        ret += np.where(active, r, 0.0)
        reached |= active & term
        active &= ~(term | trunc)
    return ret.reshape(K, n), reached.reshape(K, n)


def train(cfg: Config = Config(), arms: tuple[str, ...] = ("none", "rnd"), seeds: tuple[int, ...] = (0, 1, 2),
          bonus_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = exploration.rnd_bonus) -> dict[str, dict]:
    """Every arm (a bonus: "none", "count" or "rnd") on every seed, K = len(arms) × len(seeds) runs computed together.
    Run (arm, seed) starts from the Q-network (and RND networks) drawn from ``seed`` alone, so the arms share
    their initial weights; its greedy evaluation uses the same start states for every run.

    Returns {arm: results}, each result an array over ``seeds``: ``goal_hits`` (training episodes that reached the
    flag), ``first_hit`` (env step of the first, −1 if none), ``eval_return`` and ``eval_success`` (the final
    greedy policy's mean return and fraction of its ``eval_episodes`` that reach the flag), ``visits`` (S, hist_bins,
    hist_bins) counts of visited states (position × velocity), ``episode_returns`` (list of S arrays)."""
    S, N, B = len(seeds), cfg.n_envs, cfg.batch_size
    K = len(arms) * S
    run_seeds = [int(sd) for _ in arms for sd in seeds]  # run k = arm k // S on seed seeds[k % S]
    kind = np.repeat(np.array(arms), S)  # (K,) the bonus of each run
    rng = np.random.default_rng([seed for seed in seeds] + [len(arms)])
    q_net = BatchedMLP(run_seeds, 2, 3, cfg.hidden)
    target_net = BatchedMLP(run_seeds, 2, 3, cfg.hidden)
    target_net.load_state_dict(q_net.state_dict())
    opt = torch.optim.Adam(q_net.parameters(), lr=cfg.lr, fused=True)
    use_rnd = kind == "rnd"
    if use_rnd.any():
        rnd_target = BatchedMLP([sd + 7_919 for sd in run_seeds], 2, 16, cfg.hidden).requires_grad_(False)
        rnd_pred = BatchedMLP([sd + 104_729 for sd in run_seeds], 2, 16, cfg.hidden)
        rnd_opt = torch.optim.Adam(rnd_pred.parameters(), lr=cfg.lr, fused=True)
        rnd_scale = np.ones(K)  # running mean of the raw RND error, per run
    # one ring buffer for all runs: each vector step appends K × N transitions in run-major order, so slot
    # (t K + k) N + j holds car j of run k at stored step t (the capacity is a whole number of vector steps)
    slots = cfg.buffer_size // N
    buffer = ReplayBuffer(slots * K * N, 2, act_shape=())
    counts = np.zeros((K, cfg.n_bins ** 2))
    visits = np.zeros((K, cfg.hist_bins ** 2))
    env = mc.MountainCarVec(K * N, seed=int(rng.integers(2 ** 31)))
    obs, _ = env.reset()
    run_of = np.repeat(np.arange(K), N)  # (K N,) which run each car belongs to
    goal_hits, first_hit = np.zeros(K, dtype=int), np.full(K, -1)
    ep_ret, ep_returns = np.zeros(K * N), [[] for _ in range(K)]
    steps, n_updates = 0, 0
    while steps < cfg.total_steps:
        # 1. act ε-greedily in all K × N cars; store true transitions; count the next states
        eps = q_learning.epsilon_schedule(steps, cfg.eps_start, cfg.eps_end, cfg.eps_duration)
        with torch.no_grad():
            action = q_net(torch.from_numpy(normalise(obs)).view(K, N, 2)).argmax(-1).reshape(-1).numpy()  # (K N,)
        explore = rng.random(K * N) < eps
        action[explore] = rng.integers(0, 3, explore.sum())
        next_obs, reward, term, trunc, info = env.step(action)
        final = info["final_obs"]  # the true s' (next_obs holds the reset state where an episode ended)
        buffer.add(obs, action, reward, final, term, trunc)
        np.add.at(counts, (run_of, cells(final, cfg.n_bins)), 1)
        np.add.at(visits, (run_of, cells(final, cfg.hist_bins)), 1)
        steps += N
        ep_ret += reward
        for i in np.flatnonzero(term | trunc):
            ep_returns[run_of[i]].append(ep_ret[i])
            ep_ret[i] = 0.0
        hits = np.bincount(run_of[term], minlength=K)
        first_hit = np.where((first_hit < 0) & (hits > 0), steps, first_hit)
        goal_hits += hits
        obs = next_obs  # CRUCIAL: the next step starts from the (possibly reset) observation

        # 2-4. updates, all K runs in one batched pass
        for _ in range(cfg.updates_per_step if steps >= cfg.learning_starts else 0):
            t_idx = rng.integers(0, len(buffer) // (K * N), (K, B))  # a stored vector step per sample
            idx = (t_idx * K + np.arange(K)[:, None]) * N + rng.integers(0, N, (K, B))  # (K, B) run k's slots
            s = torch.from_numpy(normalise(buffer.obs[idx]))  # (K, B, 2)
            s2_np = buffer.next_obs[idx]  # (K, B, 2)
            s2 = torch.from_numpy(normalise(s2_np))
            r = buffer.rewards[idx].astype(np.float64)  # (K, B)
            if (kind == "count").any():
                n_s2 = np.take_along_axis(counts, cells(s2_np, cfg.n_bins), 1)  # (K, B) visits to s''s cell
                r = r + (kind == "count")[:, None] * exploration.count_bonus(n_s2, cfg.beta)
            if use_rnd.any():
                err = bonus_fn(rnd_target(s2), rnd_pred(s2))  # (K, B): trains the predictor, scores novelty
                rnd_opt.zero_grad()
                err.mean().backward()
                rnd_opt.step()
                e = err.detach().double().numpy()
                rnd_scale = 0.99 * rnd_scale + 0.01 * e.mean(1)
                r = r + use_rnd[:, None] * cfg.beta * e / rnd_scale[:, None]
            with torch.no_grad():  # the target network's stop-gradient
                next_q = target_net(s2).double().numpy()  # (K, B, 3)
            y = q_learning.dqn_targets(r, next_q, buffer.terminated[idx], buffer.truncated[idx], cfg.gamma)  # (K, B)
            a = torch.from_numpy(buffer.actions[idx])  # (K, B)
            q_sa = q_net(s).gather(2, a[..., None])[..., 0]  # (K, B)
            # summed over runs (× K): each run's gradient is its own mean Huber loss's
            loss = q_learning.huber_loss(q_sa.reshape(-1), torch.from_numpy(y.astype(np.float32)).reshape(-1)) * K
            opt.zero_grad()
            loss.backward()
            opt.step()
            n_updates += 1
            if n_updates % cfg.target_every == 0:
                target_net.load_state_dict(q_net.state_dict())
    eval_ret, eval_reached = _episodes(q_net, K, cfg.eval_episodes, seed=10_000 + int(seeds[0]))
    out = {}
    for i, arm in enumerate(arms):
        sl = slice(i * S, (i + 1) * S)
        out[arm] = {"goal_hits": goal_hits[sl], "first_hit": first_hit[sl], "eval_return": eval_ret[sl].mean(1),
                    "eval_success": eval_reached[sl].mean(1),
                    "visits": visits[sl].reshape(S, cfg.hist_bins, cfg.hist_bins),
                    "episode_returns": [np.array(e) for e in ep_returns[sl]]}
    return out
