"""Model-based RL by planning through a learned ensemble on Pendulum-v1: versions 0.5, 1.0 and 1.5.

    0. run a random policy for ``n_random_steps``: D = {(s, a, s')}
    repeat ``n_iters`` times:
      1. fit the ensemble f_θ1..f_θK to D (each member on its own bootstrap resample),
         least squares on normalised deltas (``loss_fn``)
      2. run the planner for ``episodes_per_iter`` episodes in the real environment:
           version 0.5 / 1.0: plan H actions, execute all of them open loop, plan again
           version 1.5:       plan H actions, execute only the first, replan at every step (MPC)
      3. version 1.0 / 1.5: D ← D ∪ {the new transitions}   (version 0.5 never adds data)

Before each refit, the model's one-step error on the transitions the planner just visited is
compared with its error on its own training data: the distribution mismatch p_πf(s_t) ≠ p_π0(s_t).
The reward is Pendulum-v1's known r(s, a) (``model_based.pendulum_reward``); only the dynamics are learned.

Lecture 8 §versions 0.5, 1.0, 1.5, §model uncertainty (Nagabandi et al. 2018; Chua et al. 2018, PETS).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from rlcourse_utils import model_based as mb

LossFn = Callable[..., torch.Tensor]  # normalised_delta_loss(pred, obs, next_obs, delta_mean, delta_std)


@dataclass(frozen=True)
class Config:
    """Settings of the model-based loop. The defaults (version 1.5, 400 random + 4 rounds × 800 MPC steps = 3,600
    real steps) gave round returns [-665, -191, -222, -220], [-1011, -188, -322, -161], [-1010, -190, -221, -156]
    for seeds 0, 1, 2; a random policy scores about -1,200. About 15-20 s of CPU per seed, nearly all planning."""

    version: str = "1.5"
    """"0.5": random data only, open-loop plans; "1.0": + aggregate the planner's data; "1.5": + replan every step."""
    n_random_steps: int = 400
    """Real steps of the uniform-random policy that seed D (multiples of 200, Pendulum's episode length)."""
    random_at_rest: bool = True
    """Random episodes start hanging at rest (as a real robot would), so D never sees the pendulum upright;
    False: Pendulum-v1's own uniform start. The planner's episodes always use Pendulum-v1's start."""
    n_iters: int = 4
    """Fit / run-planner rounds."""
    n_envs: int = 4
    """Episodes run side by side per round (planned in one batch); each round costs n_envs × 200 real steps."""
    ensemble_size: int = 5
    """K members; 1 = a single model (no uncertainty). 3 to 7 is typical."""
    hidden: tuple[int, ...] = (32, 32)
    """Hidden widths of each member's MLP."""
    lr: float = 2e-3
    """Adam learning rate of the dynamics models."""
    fit_steps: int = 300
    """Gradient steps per refit (warm-started from the previous fit); the first fit takes 3× as many."""
    batch_size: int = 128
    """Transitions per member per gradient step."""
    planner: str = "cem"
    """"cem" or "random" (random shooting, which returns only a first action: MPC, version 1.5, only)."""
    horizon: int = 15
    """Planning horizon H; Pendulum needs ≈ 10-30 to see the swing-up pay off."""
    n_candidates: int = 64
    """Sequences sampled per planner iteration (per environment)."""
    cem_iters: int = 2
    """CEM rounds per plan (ignored by random shooting)."""
    n_elite: int = 20
    """CEM elite set size."""
    alpha: float = 0.1
    """CEM smoothing: weight kept on the previous mean and std."""
    max_steps: int = 5_000
    """Hard budget of real environment steps (random data included)."""
    stop_at: float | None = None
    """Stop once a round's mean episode return reaches this (None: run all rounds)."""

    @property
    def replan_every(self) -> int:
        """1 for MPC (version 1.5), H (open loop within each plan) for versions 0.5 and 1.0."""
        return 1 if self.version == "1.5" else self.horizon


@dataclass(frozen=True)
class Result:
    """One run; arrays have one entry per round."""

    env_steps: np.ndarray
    """(R,) real environment steps used by the end of each round (random data included)."""
    mean_return: np.ndarray
    """(R,) mean return of the round's ``n_envs`` planner episodes."""
    train_error: np.ndarray
    """(R,) model's one-step error (normalised-delta MSE, ensemble mean) on its training data."""
    onpolicy_error: np.ndarray
    """(R,) the same error on the transitions the planner then visited: ≫ train_error = distribution mismatch."""
    visited: list
    """Per round, the (n_envs * 200, 3) observations the planner visited."""
    data: tuple[np.ndarray, np.ndarray, np.ndarray]
    """(obs, action, next_obs) of the final data set D (random data first)."""
    params: list
    """The final ensemble's stacked weights."""
    stats: tuple
    """Its normalisation statistics (in_mean, in_std, delta_mean, delta_std)."""
    seconds: float
    """Wall-clock time of the run."""


def _run_episodes(envs: list, seed: int, act: Callable[[np.ndarray, int], np.ndarray], at_rest: bool = False) -> tuple:
    """One 200-step episode in each env; ``act(obs (M, 3), t) → (M, 1)``. Returns (obs, act, next_obs, returns).
    ``at_rest``: start hanging down (θ = π ± 0.1, θ̇ = 0) instead of Pendulum-v1's uniform θ ∈ [-π, π]."""
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])  # (M, 3)
    if at_rest:
        rng = np.random.default_rng(seed)
        for i, env in enumerate(envs):
            env.unwrapped.state = np.array([np.pi + rng.uniform(-0.1, 0.1), 0.0])
            obs[i] = [np.cos(env.unwrapped.state[0]), np.sin(env.unwrapped.state[0]), 0.0]
    O, A, O2, ret = [], [], [], np.zeros(len(envs))
    for t in range(200):
        action = act(obs, t)  # (M, 1)
        step = [env.step(a) for env, a in zip(envs, action)]
        next_obs = np.stack([s[0] for s in step])
        ret += [s[1] for s in step]
        O.append(obs), A.append(action), O2.append(next_obs)
        obs = next_obs  # CRUCIAL: s_{t+1} is observed, not predicted
    cat = lambda x: np.concatenate(np.stack(x, 1), 0).astype(np.float32)  # noqa: E731  (M*200, d), env-major
    return cat(O), cat(A), cat(O2), ret


def random_data(n_steps: int, seed: int, at_rest: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(obs, action, next_obs) of n_steps // 200 uniform-random-action Pendulum-v1 episodes, each (n, d) float32."""
    rng = np.random.default_rng(seed)
    envs = [gym.make("Pendulum-v1") for _ in range(n_steps // 200)]
    o, a, o2, _ = _run_episodes(envs, 10_000 * seed, lambda obs, t: rng.uniform(-2.0, 2.0, (len(obs), 1)), at_rest)
    return o, a, o2


def model_error(params, stats, obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray) -> float:
    """Normalised-delta MSE of the ensemble-mean prediction on transitions (for the mismatch diagnostic)."""
    with torch.no_grad():
        o, a, o2 = (torch.as_tensor(x) for x in (obs, action, next_obs))
        pred = mb.predict_next_obs(params, stats, o, a).mean(0)
        return float((((pred - o2) / stats[3]) ** 2).mean())


def fit_ensemble(params: list, optimizer, obs, action, next_obs, steps: int, batch_size: int,
                 gen: torch.Generator, loss_fn: LossFn = mb.normalised_delta_loss) -> tuple:
    """``steps`` Adam steps on the loss, member k drawing from its own bootstrap resample of D."""
    o, a, o2 = (torch.as_tensor(x) for x in (obs, action, next_obs))
    in_mean, in_std = mb.normalisation_stats(torch.cat([o, a], -1))
    d_mean, d_std = mb.normalisation_stats(o2 - o)
    stats = (in_mean, in_std, d_mean, d_std)
    K, n = params[0].shape[0], o.shape[0]
    boot = torch.randint(n, (K, n), generator=gen)  # (K, n) member k's bootstrap data set
    for _ in range(steps):
        idx = torch.gather(boot, 1, torch.randint(n, (K, batch_size), generator=gen))  # (K, B)
        x = (torch.cat([o[idx], a[idx]], -1) - in_mean) / in_std  # (K, B, 4)
        loss = loss_fn(mb.ensemble_forward(params, x), o[idx], o2[idx], d_mean, d_std)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return stats


def train(cfg: Config, seed: int = 0, loss_fn: LossFn = mb.normalised_delta_loss,
          return_fn: mb.ReturnFn = mb.ensemble_return, update_fn: mb.UpdateFn = mb.cem_update) -> Result:
    """Run model-based RL version ``cfg.version`` on Pendulum-v1; the curve is against real env steps.

    Args:
        loss_fn: the dynamics loss on normalised deltas.  return_fn: (K, N) ensemble returns of
            action sequences.  update_fn: the CEM refit (unused by random shooting).
    """
    if cfg.planner == "random" and cfg.replan_every != 1:
        raise ValueError("random shooting picks a first action only: use it with version 1.5 (MPC)")
    start = time.perf_counter()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    low, high, H = -2.0, 2.0, cfg.horizon

    # 0. random data: n_random_steps // 200 episodes side by side
    data = [[x] for x in random_data(cfg.n_random_steps, seed, cfg.random_at_rest)]
    steps = len(data[0][0])
    envs = [gym.make("Pendulum-v1") for _ in range(cfg.n_envs)]
    params = mb.init_ensemble(cfg.ensemble_size, 4, 3, cfg.hidden, gen)
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    log: dict[str, list] = {k: [] for k in ("steps", "ret", "train", "onpol", "visited")}
    for it in range(cfg.n_iters):
        if steps + 200 * cfg.n_envs > cfg.max_steps:
            break
        # 1. fit the ensemble to D (a longer first fit, warm starts afterwards)
        D = [np.concatenate(x) for x in data]
        if it == 0 or cfg.version != "0.5":  # version 0.5 fits once, on the random data only
            stats = fit_ensemble(params, optimizer, *D, cfg.fit_steps * (3 if it == 0 else 1), cfg.batch_size,
                                 gen, loss_fn)
        detached = [p.detach() for p in params]

        # 2. run the planner in the real environment
        plan = {"mean": None}

        def act(obs: np.ndarray, t: int) -> np.ndarray:
            o = torch.as_tensor(obs)
            if t % cfg.replan_every == 0:
                if cfg.planner == "random":
                    plan["mean"] = mb.random_shooting(detached, stats, o, cfg.n_candidates, H, low, high, gen,
                                                      return_fn)[:, None]  # (M, 1, A): executed at once
                else:
                    init = None
                    if plan["mean"] is not None and cfg.replan_every == 1:  # warm start: shift last plan by one
                        init = torch.cat([plan["mean"][:, 1:], torch.zeros_like(plan["mean"][:, :1])], 1)
                    plan["mean"] = mb.cem_plan(detached, stats, o, cfg.n_candidates, H, low, high, cfg.cem_iters,
                                               cfg.n_elite, cfg.alpha, init, gen, return_fn, update_fn)
            return plan["mean"][:, t % cfg.replan_every].numpy().astype(np.float32)

        o, a, o2, returns = _run_episodes(envs, 10_000 * seed + 1000 + 100 * it, act)
        steps += len(o)
        log["train"].append(model_error(detached, stats, *D))
        log["onpol"].append(model_error(detached, stats, o, a, o2))  # the mismatch, before D grows
        log["steps"].append(steps)
        log["ret"].append(float(returns.mean()))
        log["visited"].append(o)

        # 3. aggregate (versions 1.0 and 1.5 only)
        if cfg.version != "0.5":
            for lst, x in zip(data, (o, a, o2)):
                lst.append(x)
        if cfg.stop_at is not None and log["ret"][-1] >= cfg.stop_at:
            break
    arr = lambda k: np.asarray(log[k])  # noqa: E731
    return Result(arr("steps"), arr("ret"), arr("train"), arr("onpol"), log["visited"],
                  tuple(np.concatenate(x) for x in data), [p.detach() for p in params], stats,
                  time.perf_counter() - start)


# ---------------------------------------------------------------- latent-space model from images (Lecture 8 §images)

def render_pendulum(theta: np.ndarray, size: int = 16, width: float = 0.12) -> np.ndarray:
    """Grey images of the pendulum's rod: pixel intensity exp(-d² / 2w²), d = distance to the segment from the
    pivot (centre) to the tip (sin θ, cos θ) (θ = 0 upright, as in Pendulum-v1).  theta (B,) → (B, size, size)."""
    c = np.linspace(-1.2, 1.2, size)
    px, py = np.meshgrid(c, -c)  # image rows go downwards
    tip = np.stack([np.sin(theta), np.cos(theta)], -1)[:, None, None, :]  # (B, 1, 1, 2)
    p = np.stack([px, py], -1)[None]  # (1, size, size, 2)
    along = np.clip((p * tip).sum(-1), 0.0, 1.0)[..., None]  # projection on the rod, clipped to the segment
    d2 = ((p - along * tip) ** 2).sum(-1)
    return np.exp(-d2 / (2 * width ** 2)).astype(np.float32)


def image_transitions(n_episodes: int, seed: int, size: int = 16) -> dict[str, np.ndarray]:
    """Random-action Pendulum-v1 episodes seen through images: o_t = two frames (x_{t-1}, x_t), so velocity is
    observable.  Returns obs (T, 2, size, size), action (T, 1), reward (T,), next_frame (T, size, size), episode (T,)."""
    rng, out = np.random.default_rng(seed), {k: [] for k in ("obs", "action", "reward", "next_frame", "episode")}
    env = gym.make("Pendulum-v1")
    for ep in range(n_episodes):
        env.reset(seed=seed + ep)
        thetas, actions, rewards = [env.unwrapped.state[0]], [], []
        for _ in range(200):
            a = rng.uniform(-2, 2, 1).astype(np.float32)
            _, r, *_ = env.step(a)
            thetas.append(env.unwrapped.state[0]), actions.append(a), rewards.append(r)
        frames = render_pendulum(np.asarray(thetas), size)  # (201, size, size)
        out["obs"].append(np.stack([frames[:-2], frames[1:-1]], 1))  # o_t = (x_{t-1}, x_t), t = 1..199
        out["action"].append(np.asarray(actions[1:])), out["reward"].append(np.asarray(rewards[1:], dtype=np.float32))
        out["next_frame"].append(frames[2:]), out["episode"].append(np.full(199, ep))
    return {k: np.concatenate(v) for k, v in out.items()}


class LatentModel(torch.nn.Module):
    """Encoder q(z | o), latent dynamics z' = z + g(z, a), reward r(z, a) and decoder p(x | z), all small MLPs."""

    def __init__(self, size: int = 16, z_dim: int = 4, hidden: int = 64):
        super().__init__()
        mlp = lambda i, o: torch.nn.Sequential(torch.nn.Linear(i, hidden), torch.nn.ELU(), torch.nn.Linear(hidden, o))  # noqa: E731
        self.encoder, self.decoder = mlp(2 * size * size, z_dim), mlp(z_dim, size * size)
        self.dynamics, self.reward = mlp(z_dim + 1, z_dim), mlp(z_dim + 1, 1)
        self.size = size

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        return self.encoder(obs.flatten(1))  # (B, z_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z)).view(-1, self.size, self.size)  # (B, size, size)

    def step(self, z: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ẑ', r̂) for (B, z_dim) latents and (B, 1) actions."""
        za = torch.cat([z, action / 2], -1)
        return z + self.dynamics(za), self.reward(za)[:, 0]


def train_latent(data: dict, steps: int = 800, batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
                 reward_scale: float = 0.1) -> tuple[LatentModel, np.ndarray]:
    """Fit the latent model on (o_t, a_t, r_t, x_{t+1}): reconstruct x_t from z_t, predict x_{t+1} by decoding
    ẑ_{t+1} = z_t + g(z_t, a_t), and r_t from (z_t, a_t). Returns the model and its loss history."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    obs, act = torch.as_tensor(data["obs"]), torch.as_tensor(data["action"])
    rew, nxt = torch.as_tensor(data["reward"]) * reward_scale, torch.as_tensor(data["next_frame"])
    model = LatentModel(obs.shape[-1])
    opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    history = np.zeros(steps)
    for i in range(steps):
        idx = torch.randint(len(obs), (batch_size,), generator=gen)
        z = model.encode(obs[idx])
        z_next, r_hat = model.step(z, act[idx])
        loss = (F.binary_cross_entropy(model.decode(z), obs[idx, 1])  # reconstruction of x_t: -log p(x_t | z_t)
                + F.binary_cross_entropy(model.decode(z_next), nxt[idx])  # prediction: -log p(x_{t+1} | ẑ_{t+1})
                + F.mse_loss(r_hat, rew[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        history[i] = loss.item()
    return model, history
