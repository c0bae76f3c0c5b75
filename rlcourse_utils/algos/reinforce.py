"""REINFORCE: on-policy Monte Carlo policy gradient, batched over parallel environments.

    repeat:
      1. run π_θ for one episode in each of N parallel CartPole-v1 envs: {τ_i}
      2. weight each step: Â_{i,t} = R(τ_i)  |  G_{i,t} (reward-to-go)  |  G_{i,t} - b_t (+ baseline)
      3. θ ← θ + α ĝ,  ĝ = (1/N) Σ_i Σ_t ∇log π_θ(a_{i,t}|s_{i,t}) Â_{i,t}
         (by minimising ``loss_fn``, the pseudo-loss, with RMSprop by default; Lectures 2 and 3 use Adam)

``train`` is discrete (CartPole, softmax head); ``train_gaussian`` is the same loop with a
Gaussian head on a 1-D point mass (continuous force), so both policy heads of Lecture 2 are used.
Lecture 2 §2 (Williams 1992).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcourse_utils import nets, policy_gradient, returns
from rlcourse_utils.algos.actor_critic import Callback, greedy, make_vec

ReturnsFn = Callable[..., np.ndarray]
LossFn = Callable[..., torch.Tensor]
VARIANTS = ("full_return", "reward_to_go", "baseline")


@dataclass(frozen=True)
class Config:
    """Settings of REINFORCE on CartPole-v1. With the defaults (8 episodes per step, RMSprop at 3e-3, orthogonal
    initialisation) the greedy policy first scores 475 (10 episodes, checked every 2,500 steps) after a median 5.0k
    steps over seeds 0-39 (quartiles 5.0k and 7.5k, at most 17.5k; 0.12 CPU s on one core) and over seeds 40-79
    (quartiles 2.5k and 10k, at most 20k). Adam at 2e-2 with PyTorch's default initialisation (the previous
    defaults) needed a median 12.5k (at most 77.5k), and with orthogonal initialisation 10k (at most 122.5k)."""

    env_id: str = "CartPole-v1"
    """The task: a gymnasium id with a vector observation and discrete actions (CartPole-v1, Acrobot-v1, ...)."""
    variant: str = "baseline"
    """What weights ∇log π: "full_return" R(τ), "reward_to_go" G_t, or "baseline" G_t - b_t (b_t the batch mean)."""
    n_envs: int = 8
    """Episodes per gradient step N (one per parallel env); 4 to 64. Larger N: less noise per step, but fewer steps
    per sample. With Adam and PyTorch's default initialisation, over seeds 0-19 on CartPole (median steps until the
    greedy policy scores 475): 16 episodes at lr 1e-2 and γ 0.99 (Lectures 2 and 3) 26.5k, 8 at lr 2e-2 12.3k, 4 at
    lr 1e-2 13.8k, 4 at lr 3e-2 10.8k with one seed not solved."""
    total_steps: int = 120_000
    """Budget of real environment steps (padding after an episode ends is not counted)."""
    gamma: float = 0.98
    """Discount γ; 0.97 to 1. Lower γ: lower variance (a 50-step horizon at 0.98), but the policy values the near
    future more; on CartPole, where surviving the next 50 steps is what matters, 0.98 learned faster than 0.99."""
    hidden: tuple[int, ...] = (32, 32)
    """Hidden widths of the tanh policy MLP."""
    lr: float = 3e-3
    """Learning rate; 1e-3 to 5e-2 (the weights Â are standardised, so the step size is scale-free). RMSprop over
    seeds 40-79: 2e-3, 3e-3 and 4e-3 needed a median 7.5k, 5.0k and 7.5k steps."""
    optimizer: str = "rmsprop"
    """"rmsprop" (decay 0.99, ε 1e-5, as SB3's A2C) or "adam" (Lectures 2 and 3, at lr 1e-2)."""
    ortho_init: bool = True
    """Orthogonal initial weights (gain √2 in the hidden layers, 0.01 on the output: a near-uniform initial policy)
    and zero biases; False: PyTorch's default initialisation (Lectures 2 and 3)."""
    normalize: bool = True
    """Divide the weights Â by their batch standard deviation (every variant): a per-batch learning-rate scale."""
    max_steps: int = 500
    """Episode length cap (CartPole-v1 truncates at 500)."""
    eval_episodes: int = 10
    """Episodes of the final stochastic policy in the evaluation (mean ≥ 475 = solved)."""


@dataclass(frozen=True)
class Result:
    """One REINFORCE run."""

    policy: nn.Module
    """The trained policy network: observations (…, obs_dim) → logits (or means)."""
    steps: np.ndarray
    """(n_iters,) cumulative real environment steps after each update (the x axis of learning curves)."""
    returns: np.ndarray
    """(n_iters,) mean undiscounted return of the N training episodes of each iteration."""
    entropy: np.ndarray
    """(n_iters,) mean policy entropy per step; healthy runs decrease it slowly from log 2 ≈ 0.69."""
    eval_returns: np.ndarray
    """(eval_episodes,) returns of the final stochastic policy on fresh episodes."""
    seconds: float
    """Wall-clock time of the run."""


# ---------------------------------------------------------------- rollouts

def _numpy_forward(policy: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """A copy of the tanh MLP as numpy matrices: acting needs no autograd and numpy is faster at batch 16."""
    layers = [(m.weight.detach().numpy().T.astype(np.float64), m.bias.detach().numpy().astype(np.float64))
              for m in policy if isinstance(m, nn.Linear)]

    def forward(x: np.ndarray) -> np.ndarray:
        for i, (W, b) in enumerate(layers):
            x = x @ W + b
            if i < len(layers) - 1:
                x = np.tanh(x)
        return x
    return forward


def collect_episodes(env: gym.vector.VectorEnv, policy: nn.Module, rng: np.random.Generator, max_steps: int,
                     seed: int | None = None, on_step: Callable[[int], bool] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Run one episode in each of the N envs with the softmax policy, in lockstep, padding finished ones.

    ``on_step(real_steps) -> stop?`` is called before each vector step but the first with the real (unpadded) steps
    taken so far; when it returns True the episodes are abandoned and the function returns None.

    Returns:
        obs (T, N, obs_dim), actions (T, N) int, rewards (T, N) (0 in padding), mask (T, N) float
        (1 on real steps), with T the longest episode.
    """
    forward = _numpy_forward(policy)
    o, _ = env.reset(seed=seed)
    n = o.shape[0]
    alive = np.ones(n, dtype=bool)
    obs, acts, rews, mask = [], [], [], []
    real_steps = 0
    for t in range(max_steps):
        if t > 0 and on_step is not None and on_step(real_steps):
            return None
        logits = forward(o)  # (N, n_actions)
        p = np.exp(logits - logits.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        a = (rng.random(n)[:, None] > np.cumsum(p, -1)).sum(-1).clip(max=p.shape[1] - 1)  # (N,) sample
        next_o, r, terminated, truncated, _ = env.step(a)
        obs.append(o)
        acts.append(a)
        rews.append(r * alive)
        mask.append(alive.astype(np.float64))
        real_steps += int(alive.sum())
        alive = alive & ~(terminated | truncated)  # finished envs autoreset; their next steps are padding
        o = next_o  # CRUCIAL: step from the new observation
        if not alive.any():
            break
    return np.stack(obs), np.stack(acts), np.stack(rews).astype(np.float64), np.stack(mask)


def advantages(rewards: np.ndarray, mask: np.ndarray, variant: str, gamma: float,
               returns_fn: ReturnsFn = returns.reward_to_go) -> np.ndarray:
    """The weight Â_{i,t} of ∇log π_θ(a_{i,t}|s_{i,t}) for each variant. rewards, mask: (T, N) → (T, N).

    full_return:  Â_t = R(τ) = G_0 for every t (the whole episode's return)
    reward_to_go: Â_t = G_t
    baseline:     Â_t = G_t - b_t, b_t the mean of G_t over the episodes still running at t
    """
    G = returns_fn(rewards, gamma)  # (T, N); padding rewards are 0, so each column is one episode
    if variant == "full_return":
        A = np.broadcast_to(G[:1], G.shape).copy()  # (T, N) R(τ_i) repeated
    elif variant == "reward_to_go":
        A = G
    elif variant == "baseline":
        b = (G * mask).sum(1, keepdims=True) / np.maximum(mask.sum(1, keepdims=True), 1.0)  # (T, 1)
        A = G - b
    else:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    return A * mask


def evaluate(policy: nn.Module, n_episodes: int, seed: int, max_steps: int = 500,
             env_id: str = "CartPole-v1") -> np.ndarray:
    """Undiscounted returns of ``n_episodes`` fresh episodes of ``env_id`` with the stochastic policy. (n_episodes,)"""
    env = make_vec(env_id, n_episodes)
    _, _, rewards, _ = collect_episodes(env, policy, np.random.default_rng(seed), max_steps, seed=seed)
    env.close()
    return rewards.sum(0)


# ---------------------------------------------------------------- the loop

def train(cfg: Config = Config(), seed: int = 0, returns_fn: ReturnsFn = returns.reward_to_go,
          loss_fn: LossFn = policy_gradient.pg_pseudo_loss, callback: Callback | None = None) -> Result:
    """REINFORCE on ``cfg.env_id`` (CartPole-v1) with the weights of ``cfg.variant``.

    Args:
        cfg: settings.
        seed: seeds the network, the action sampling and the environments.
        returns_fn: (rewards (T, N), gamma) → (T, N) reward-to-go (``returns.reward_to_go``).
        loss_fn: (log_probs (T, N), advantages (T, N), mask (T, N)) → scalar pseudo-loss
            (``policy_gradient.pg_pseudo_loss``).
        callback: ``callback(env_steps, act)`` after every vector step with the real steps so far (the policy
            changes only at updates, and each update is followed by a call); True stops the run (see
            ``actor_critic.Callback``).

    Returns:
        A Result with the policy, its learning curve against environment steps and its evaluation.
    """
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = make_vec(cfg.env_id, cfg.n_envs)
    policy = nets.mlp(env.single_observation_space.shape[0], int(env.single_action_space.n), cfg.hidden)
    if cfg.ortho_init:
        linears = [m for m in policy if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for m in linears:
                nn.init.orthogonal_(m.weight, gain=0.01 if m is linears[-1] else 2 ** 0.5)
                m.bias.zero_()
    if cfg.optimizer == "rmsprop":
        optimizer: torch.optim.Optimizer = torch.optim.RMSprop(policy.parameters(), lr=cfg.lr, alpha=0.99, eps=1e-5)
    elif cfg.optimizer == "adam":
        optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    else:
        raise ValueError(f"optimizer must be 'rmsprop' or 'adam', not {cfg.optimizer!r}")
    steps, rets, ents = [], [], []
    total, it = 0, 0
    act_now = greedy(policy)  # the current deterministic policy, for the callback
    while total < cfg.total_steps:
        on_step = None if callback is None else lambda k: callback(total + k, act_now)
        episodes = collect_episodes(env, policy, rng, cfg.max_steps, seed=seed * 100_003 + it, on_step=on_step)
        if episodes is None:  # the callback stopped the run mid-batch
            break
        obs, acts, rews, mask = episodes
        A = advantages(rews, mask, cfg.variant, cfg.gamma, returns_fn)  # (T, N)
        if cfg.normalize:
            A = A / (A[mask > 0].std() + 1e-8)
        logits = policy(torch.as_tensor(obs, dtype=torch.float32))  # (T, N, 2)
        log_pi = torch.log_softmax(logits, -1)
        log_probs = log_pi.gather(-1, torch.from_numpy(acts)[..., None]).squeeze(-1)  # (T, N)
        m = torch.as_tensor(mask, dtype=torch.float32)
        loss = loss_fn(log_probs, torch.as_tensor(A, dtype=torch.float32), m)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            ents.append(float((-(log_pi.exp() * log_pi).sum(-1) * m).sum() / m.sum()))
        total += int(mask.sum())
        it += 1
        steps.append(total)
        rets.append(float(rews.sum(0).mean()))
        if callback is not None and callback(total, act_now):
            break
    env.close()
    eval_returns = evaluate(policy, cfg.eval_episodes, seed + 10_000, cfg.max_steps, cfg.env_id)
    return Result(policy, np.array(steps), np.array(rets), np.array(ents), eval_returns,
                  time.perf_counter() - start)


# ---------------------------------------------------------------- continuous actions: a Gaussian head

@dataclass(frozen=True)
class GaussianConfig:
    """Settings of Gaussian-policy REINFORCE on the 1-D point mass (``PointMass``)."""

    n_envs: int = 64
    """Episodes per gradient step N; 16 to 256 (episodes are short and cheap)."""
    n_iters: int = 150
    """Gradient steps."""
    horizon: int = 40
    """Episode length H (fixed; the point mass never terminates)."""
    gamma: float = 1.0
    """Discount γ of the reward-to-go."""
    lr: float = 3e-2
    """Adam learning rate of the mean's weights and the log standard deviation."""
    init_log_std: float = 0.0
    """Initial log σ of the action noise (σ = 1 N)."""


class PointMass:
    """N 1-D point masses pushed by a force a: v ← v + Δt a, x ← x + Δt v, r = -(x² + c a²).

    Starts at rest at x ~ U(-1, 1); the best policy drives x to 0 quickly without large forces.
    State (x, v) is fully observed. Doing nothing scores -H E[x²] = -H/3.
    """

    dt, action_cost = 0.1, 0.01

    def __init__(self, n: int, rng: np.random.Generator):
        self.n, self.rng = n, rng

    def reset(self) -> np.ndarray:
        self.s = np.stack([self.rng.uniform(-1, 1, self.n), np.zeros(self.n)], -1)  # (N, 2)
        return self.s.copy()

    def step(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, v = self.s[:, 0], self.s[:, 1]
        reward = -(x ** 2 + self.action_cost * a ** 2)  # (N,)
        v = v + self.dt * a
        self.s = np.stack([x + self.dt * v, v], -1)
        return self.s.copy(), reward


class LinearGaussianPolicy(nn.Module):
    """π_θ(a | s) = N(a; w·s + b, σ²), with log σ a free parameter (state-independent)."""

    def __init__(self, obs_dim: int, init_log_std: float = 0.0):
        super().__init__()
        self.mean = nn.Linear(obs_dim, 1)
        nn.init.zeros_(self.mean.weight)
        nn.init.zeros_(self.mean.bias)
        self.log_std = nn.Parameter(torch.tensor(init_log_std))

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log N(a; μ_θ(s), σ²) = -(a - μ)² / (2σ²) - log σ - log(2π)/2, shape obs.shape[:-1]."""
        mu = self.mean(obs).squeeze(-1)
        return -0.5 * ((actions - mu) / self.log_std.exp()) ** 2 - self.log_std - 0.5 * np.log(2 * np.pi)


@dataclass(frozen=True)
class GaussianResult:
    """One Gaussian-REINFORCE run on the point mass."""

    policy: LinearGaussianPolicy
    """The trained policy."""
    returns: np.ndarray
    """(n_iters,) mean return of the N training episodes per iteration."""
    stds: np.ndarray
    """(n_iters,) σ of the action noise; a healthy run shrinks it as the mean improves."""
    eval_return: float
    """Mean return of the final policy's mean action (no noise) on 256 fresh episodes."""


def point_mass_return(policy: Callable[[np.ndarray], np.ndarray], horizon: int, n: int, seed: int) -> float:
    """Mean return of a deterministic policy (N, 2) → (N,) forces on ``n`` point-mass episodes."""
    env = PointMass(n, np.random.default_rng(seed))
    s, total = env.reset(), np.zeros(n)
    for _ in range(horizon):
        s, r = env.step(policy(s))
        total += r
    return float(total.mean())


def point_mass_optimum(horizon: int = 40) -> tuple[float, np.ndarray]:
    """The best possible expected return on ``PointMass``, by finite-horizon LQR (Lecture 7), for reference.

    s' = A s + B a with A = [[1, Δt], [0, 1]], B = [Δt², Δt]ᵀ; cost sᵀ diag(1, 0) s + c a².
    Backward Riccati: P_H = 0, K_t = (c + BᵀP B)⁻¹ BᵀP A, P_t = Q + AᵀP A - AᵀP B K_t.
    E[-s_1ᵀ P_1 s_1] over x ~ U(-1, 1), v = 0 is -P_1[0, 0] / 3.

    Returns:
        (optimal expected return, gains (H, 2): the optimal force at step t is a = -gains[t] · s).
    """
    dt, c = PointMass.dt, PointMass.action_cost
    A, B, Q = np.array([[1.0, dt], [0.0, 1.0]]), np.array([[dt * dt], [dt]]), np.diag([1.0, 0.0])
    P, gains = np.zeros((2, 2)), np.zeros((horizon, 2))
    for t in reversed(range(horizon)):
        K = np.linalg.solve(c + B.T @ P @ B, B.T @ P @ A)  # (1, 2)
        P = Q + A.T @ P @ A - A.T @ P @ B @ K
        gains[t] = K[0]
    return -P[0, 0] / 3.0, gains


def train_gaussian(cfg: GaussianConfig = GaussianConfig(), seed: int = 0,
                   returns_fn: ReturnsFn = returns.reward_to_go,
                   loss_fn: LossFn = policy_gradient.pg_pseudo_loss) -> GaussianResult:
    """REINFORCE with reward-to-go and a time-dependent baseline, Gaussian head, on ``PointMass``."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = PointMass(cfg.n_envs, rng)
    policy = LinearGaussianPolicy(2, cfg.init_log_std).double()
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    rets, stds = np.zeros(cfg.n_iters), np.zeros(cfg.n_iters)
    for it in range(cfg.n_iters):
        obs, acts, rews = np.zeros((cfg.horizon, cfg.n_envs, 2)), np.zeros((cfg.horizon, cfg.n_envs)), np.zeros(
            (cfg.horizon, cfg.n_envs))
        s = env.reset()
        with torch.no_grad():
            w, b, std = policy.mean.weight.numpy()[0], float(policy.mean.bias), float(policy.log_std.exp())
        for t in range(cfg.horizon):
            a = s @ w + b + std * rng.normal(size=cfg.n_envs)  # a ~ N(μ_θ(s), σ²)
            obs[t], acts[t] = s, a
            s, rews[t] = env.step(a)
        mask = np.ones_like(rews)
        A = advantages(rews, mask, "baseline", cfg.gamma, returns_fn)  # (H, N)
        A = A / (A.std() + 1e-8)
        loss = loss_fn(policy.log_prob(torch.from_numpy(obs), torch.from_numpy(acts)), torch.from_numpy(A),
                       torch.from_numpy(mask))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        rets[it], stds[it] = rews.sum(0).mean(), std
    with torch.no_grad():
        w, b = policy.mean.weight.numpy()[0].copy(), float(policy.mean.bias)
    return GaussianResult(policy, rets, stds, point_mass_return(lambda s: s @ w + b, cfg.horizon, 256, seed + 1))


def gradient_samples(variant: str, n_batches: int = 30, n_envs: int = 8, seed: int = 0, gamma: float = 0.99,
                     hidden: tuple[int, ...] = (32, 32)) -> np.ndarray:
    """Policy-gradient estimates ĝ of one fixed, freshly initialised CartPole policy, one per batch.

    Each row is ĝ from ``n_envs`` episodes with the weights of ``variant`` (no normalisation),
    so the rows' spread is the estimator's variance. Returns (n_batches, n_params).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = gym.make_vec("CartPole-v1", num_envs=n_envs, vectorization_mode="vector_entry_point")
    policy = nets.mlp(4, 2, hidden)
    rows = []
    for k in range(n_batches):
        obs, acts, rews, mask = collect_episodes(env, policy, rng, 500, seed=seed * 7919 + k)
        A = advantages(rews, mask, variant, gamma)
        log_pi = torch.log_softmax(policy(torch.as_tensor(obs, dtype=torch.float32)), -1)
        lp = log_pi.gather(-1, torch.from_numpy(acts)[..., None]).squeeze(-1)
        loss = policy_gradient.pg_pseudo_loss(lp, torch.as_tensor(A, dtype=torch.float32),
                                              torch.as_tensor(mask, dtype=torch.float32))
        grads = torch.autograd.grad(loss, list(policy.parameters()))
        rows.append(-torch.cat([g.flatten() for g in grads]).numpy())
    env.close()
    return np.stack(rows)
