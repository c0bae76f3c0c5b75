"""Model-based RL by planning through a learned ensemble on Pendulum-v1: versions 0.5, 1.0 and 1.5, and PETS.

    0. run a random policy for ``n_random_steps``: D = {(s, a, s')}
    repeat ``n_iters`` times:
      1. fit the ensemble f_θ1..f_θK to D (each member on its own bootstrap resample): least squares on
         normalised deltas (deterministic members), or the Gaussian NLL (probabilistic members, PETS)
      2. run the planner (CEM through the ensemble) for ``n_envs`` episodes in the real environment:
           version 0.5 / 1.0:      plan H actions, execute all of them open loop, plan again
           version 0.5+mpc / 1.5:  plan H actions, execute only the first, replan at every step (MPC)
      3. version 1.0 / 1.5: D ← D ∪ {the new transitions}   (versions 0.5 and 0.5+mpc never add data)

Before each refit, the model's one-step error on the transitions the planner just visited is
compared with its error on its own training data: the distribution mismatch p_πf(s_t) ≠ p_π0(s_t).
The reward is Pendulum-v1's known r(s, a) (``model_based.pendulum_reward``); only the dynamics are learned.
``true_model_episodes`` runs the same planner through the *true* dynamics: the control arm that
separates model error from open-loop execution.

Lecture 8 §versions 0.5, 1.0, 1.5, §model uncertainty (Nagabandi et al. 2018; Chua et al. 2018, PETS).
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from rlcourse_utils import model_based as mb

LossFn = Callable[..., torch.Tensor]  # normalised_delta_loss(pred, obs, next_obs, delta_mean, delta_std)
ReturnFn = Callable[[tuple, tuple, torch.Tensor, torch.Tensor], torch.Tensor]  # ensemble_return's signature
VERSIONS = ("0.5", "0.5+mpc", "1.0", "1.5")


@dataclass(frozen=True)
class Config:
    """Settings of the model-based loop. The defaults (version 1.5, deterministic ensemble, 400 random + 3 rounds
    × 800 MPC steps = 2,800 real steps) take about 5 s of CPU per seed, nearly all planning; a random policy
    scores about -1,200."""

    version: str = "1.5"
    """"0.5": random data only, open-loop plans; "0.5+mpc": random data only, replan every step;
    "1.0": + aggregate the planner's data, open loop; "1.5": aggregate and replan every step."""
    model: str = "deterministic"
    """"deterministic": members predict δ (least squares); "probabilistic": members predict a Gaussian over δ
    (Gaussian NLL) and plans are scored by trajectory sampling (PETS)."""
    propagation: str = "ts_inf"
    """PETS only: "ts_inf" (a particle keeps its member) or "ts1" (a new member every step)."""
    n_particles: int = 1
    """PETS only: particles per member and candidate (K·P particles per candidate; PETS uses 20 in all)."""
    n_random_steps: int = 400
    """Real steps of the uniform-random policy that seed D (multiples of 200, Pendulum's episode length)."""
    random_at_rest: bool = True
    """Random episodes start hanging at rest (as a real robot would), so D never sees the pendulum upright;
    False: Pendulum-v1's own uniform start. The planner's episodes always use Pendulum-v1's start."""
    n_iters: int = 3
    """Fit / run-planner rounds."""
    start_round: int = 0
    """Index of the first round (its planner episodes start where round ``start_round`` of another run does); with
    version 0.5 / 0.5+mpc, start_round = 1 runs round 2 of that version without repeating round 1."""
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
    """"cem" or "random" (random shooting, which returns only a first action: MPC versions only)."""
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
    def mpc(self) -> bool:
        """Replan at every step (versions 0.5+mpc and 1.5) rather than every H steps."""
        return self.version in ("0.5+mpc", "1.5")

    @property
    def aggregate(self) -> bool:
        """Add the planner's transitions to D and refit (versions 1.0 and 1.5)."""
        return self.version in ("1.0", "1.5")

    @property
    def replan_every(self) -> int:
        """1 for MPC, H (open loop within each plan) otherwise."""
        return 1 if self.mpc else self.horizon


@dataclass(frozen=True)
class Result:
    """One run; arrays have one entry per round."""

    env_steps: np.ndarray
    """(R,) real environment steps used by the end of each round (random data included; skipped rounds are not)."""
    mean_return: np.ndarray
    """(R,) mean return of the round's ``n_envs`` planner episodes."""
    episode_returns: np.ndarray
    """(R, n_envs) every planner episode's return."""
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


def plan_episodes(cfg: Config, score_fn: mb.ScoreFn, envs: list, reset_seed: int, gen: torch.Generator) -> tuple:
    """One round: an episode in each env, actions from the planner through ``score_fn`` (obs0, actions) → (rows, N),
    replanned every ``cfg.replan_every`` steps (CEM warm-started from the last plan, shifted, under MPC).
    Returns (obs, action, next_obs, returns) as ``_run_episodes``."""
    plan = {"mean": None}
    low, high, H = -2.0, 2.0, cfg.horizon

    def act(obs: np.ndarray, t: int) -> np.ndarray:
        o = torch.as_tensor(obs)
        if t % cfg.replan_every == 0:
            if cfg.planner == "random":
                plan["mean"] = mb.random_shooting(score_fn, o, 1, cfg.n_candidates, H, low, high, gen)[:, None]
            else:
                init = None
                if plan["mean"] is not None and cfg.mpc:  # warm start: shift last plan by one
                    init = torch.cat([plan["mean"][:, 1:], torch.zeros_like(plan["mean"][:, :1])], 1)
                plan["mean"] = mb.cem_plan(score_fn, o, 1, cfg.n_candidates, H, low, high, cfg.cem_iters,
                                           cfg.n_elite, cfg.alpha, init, gen)
        return plan["mean"][:, t % cfg.replan_every].numpy().astype(np.float32)

    return _run_episodes(envs, reset_seed, act)


def _reset_seed(seed: int, it: int) -> int:
    return 10_000 * seed + 1000 + 100 * it  # round it of seed: the same start states for every arm


def true_model_episodes(cfg: Config, seed: int = 0, it: int = 0) -> np.ndarray:
    """The same planner (CEM, open loop or MPC as ``cfg.mpc``) through Pendulum-v1's true dynamics, from the
    start states of round ``it`` of ``train(cfg, seed)``: no model error at all. Returns (n_envs,) episode returns."""
    gen = torch.Generator().manual_seed(seed)
    envs = [gym.make("Pendulum-v1") for _ in range(cfg.n_envs)]
    return plan_episodes(cfg, mb.true_return, envs, _reset_seed(seed, it), gen)[3]


def train(cfg: Config, seed: int = 0, loss_fn: LossFn | None = None, return_fn: ReturnFn | None = None) -> Result:
    """Run model-based RL version ``cfg.version`` on Pendulum-v1; the curve is against real env steps.

    Args:
        loss_fn: the dynamics loss (default: ``normalised_delta_loss``, or ``pets_loss`` for a probabilistic model).
        return_fn: (K, N) ensemble returns of action sequences (default ``ensemble_return``; a probabilistic model
            uses ``pets_return`` with ``cfg.n_particles`` and ``cfg.propagation``).
    """
    if cfg.version not in VERSIONS or cfg.model not in ("deterministic", "probabilistic"):
        raise ValueError(f"unknown version {cfg.version!r} or model {cfg.model!r}")
    if cfg.planner == "random" and not cfg.mpc:
        raise ValueError("random shooting picks a first action only: use it with an MPC version (0.5+mpc or 1.5)")
    start = time.perf_counter()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    pets = cfg.model == "probabilistic"
    loss_fn = loss_fn or (mb.pets_loss if pets else mb.normalised_delta_loss)
    if return_fn is None:
        return_fn = (functools.partial(mb.pets_return, n_particles=cfg.n_particles, propagation=cfg.propagation,
                                       generator=gen) if pets else mb.ensemble_return)

    # 0. random data: n_random_steps // 200 episodes side by side
    data = [[x] for x in random_data(cfg.n_random_steps, seed, cfg.random_at_rest)]
    steps = len(data[0][0])
    envs = [gym.make("Pendulum-v1") for _ in range(cfg.n_envs)]
    params = mb.init_ensemble(cfg.ensemble_size, 4, 6 if pets else 3, cfg.hidden, gen)
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    log: dict[str, list] = {k: [] for k in ("steps", "ret", "train", "onpol", "visited")}
    if cfg.start_round and cfg.aggregate:
        raise ValueError("start_round > 0 skips rounds whose data versions 1.0 and 1.5 would aggregate")
    for it in range(cfg.start_round, cfg.start_round + cfg.n_iters):
        if steps + 200 * cfg.n_envs > cfg.max_steps:
            break
        # 1. fit the ensemble to D (a longer first fit, warm starts afterwards)
        D = [np.concatenate(x) for x in data]
        first = it == cfg.start_round
        if first or cfg.aggregate:  # versions 0.5 and 0.5+mpc fit once, on the random data only
            stats = fit_ensemble(params, optimizer, *D, cfg.fit_steps * (3 if first else 1), cfg.batch_size,
                                 gen, loss_fn)
        detached = [p.detach() for p in params]

        # 2. run the planner in the real environment
        score_fn = functools.partial(return_fn, detached, stats)  # (obs0, actions) → (rows, N)
        o, a, o2, returns = plan_episodes(cfg, score_fn, envs, _reset_seed(seed, it), gen)
        steps += len(o)
        log["train"].append(model_error(detached, stats, *D))
        log["onpol"].append(model_error(detached, stats, o, a, o2))  # the mismatch, before D grows
        log["steps"].append(steps)
        log["ret"].append(returns)
        log["visited"].append(o)

        # 3. aggregate (versions 1.0 and 1.5 only)
        if cfg.aggregate:
            for lst, x in zip(data, (o, a, o2)):
                lst.append(x)
        if cfg.stop_at is not None and returns.mean() >= cfg.stop_at:
            break
    arr = lambda k: np.asarray(log[k])  # noqa: E731
    return Result(arr("steps"), arr("ret").mean(1), arr("ret"), arr("train"), arr("onpol"), log["visited"],
                  tuple(np.concatenate(x) for x in data), [p.detach() for p in params], stats,
                  time.perf_counter() - start)


def sysid_vs_mlp(train_data: tuple, tests: dict, sizes: list[int], seed: int = 0, fit_steps: int = 500,
                 hidden: tuple[int, ...] = (32, 32)) -> dict:
    """Prediction error (``mb.unexplained_variance``) against the amount of data n, for three models fitted on the
    same n random transitions of ``train_data``: the pendulum's equation with its 2 parameters least-squares fitted
    ("physics"), the misspecified small-angle equation ("small-angle physics"), and a general MLP on normalised
    deltas ("MLP", ~1,300 parameters). ``tests``: name → (obs, action, next_obs).
    Returns {"coef": (len(sizes), 2), name: {model: (len(sizes),) errors}}. Lecture 8 §version 0.5."""
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    out = {"coef": []} | {k: {"physics": [], "small-angle physics": [], "MLP": []} for k in tests}
    for n in sizes:
        idx = rng.permutation(len(train_data[0]))[:n]  # n transitions drawn from the pool
        o, a, o2 = (x[idx] for x in train_data)
        coef, coef_lin = mb.fit_pendulum_physics(o, a, o2), mb.fit_pendulum_physics(o, a, o2, small_angle=True)
        params = mb.init_ensemble(1, 4, 3, hidden, gen)
        stats = fit_ensemble(params, torch.optim.Adam(params, lr=3e-3), o, a, o2, fit_steps, min(128, n), gen)
        out["coef"].append(coef)
        for k, (to, ta, to2) in tests.items():
            with torch.no_grad():
                mlp = mb.predict_next_obs([p.detach() for p in params], stats, torch.as_tensor(to), torch.as_tensor(ta))[0]
            out[k]["physics"].append(mb.unexplained_variance(mb.pendulum_physics_step(to, ta, coef), to, to2))
            out[k]["small-angle physics"].append(
                mb.unexplained_variance(mb.pendulum_physics_step(to, ta, coef_lin, small_angle=True), to, to2))
            out[k]["MLP"].append(mb.unexplained_variance(mlp.numpy(), to, to2))
    return {"coef": np.asarray(out.pop("coef"))} | {k: {m: np.asarray(v) for m, v in d.items()} for k, d in out.items()}


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


def _mlp(i: int, o: int, hidden: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(i, hidden), torch.nn.ELU(), torch.nn.Linear(hidden, o))


class LatentModel(torch.nn.Module):
    """Encoder z = g_ψ(o), latent dynamics ẑ' = z + f(z, a), reward r(z, a) and decoder p(x | z), all small MLPs."""

    def __init__(self, size: int = 16, z_dim: int = 4, hidden: int = 64):
        super().__init__()
        self.encoder, self.decoder = _mlp(2 * size * size, z_dim, hidden), _mlp(z_dim, size * size, hidden)
        self.dynamics, self.reward = _mlp(z_dim + 1, z_dim, hidden), _mlp(z_dim + 1, 1, hidden)
        self.size = size

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        return self.encoder(obs.flatten(1))  # (B, z_dim)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, self.size, self.size)  # (B, size, size)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))

    def step(self, z: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ẑ', r̂) for (B, z_dim) latents and (B, 1) actions."""
        za = torch.cat([z, action / 2], -1)
        return z + self.dynamics(za), self.reward(za)[:, 0]

    def loss(self, obs: torch.Tensor, action: torch.Tensor, reward: torch.Tensor, next_obs: torch.Tensor) -> tuple:
        """The notes' latent objective (Lecture 8 §latent space models), as three negative log-likelihoods:

            -log p(o_t | g(o_t))              reconstruction: Bernoulli pixels of the current frame x_t
            -log p(g(o_{t+1}) | g(o_t), a_t)  latent dynamics: a unit Gaussian around ẑ_{t+1} → squared error
            -log p(r_t | g(o_t), a_t)         reward: a unit Gaussian → squared error

        obs, next_obs (B, 2, size, size) (two frames each), action (B, 1), reward (B,). Returns the three terms."""
        z, z_target = self.encode(obs), self.encode(next_obs)
        z_next, r_hat = self.step(z, action)
        recon = F.binary_cross_entropy_with_logits(self.decode_logits(z), obs[:, 1])
        return recon, ((z_next - z_target) ** 2).sum(-1).mean(), ((r_hat - reward) ** 2).mean()

    def predict_frames(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Open-loop prediction: encode o_0 once, roll the latent dynamics, decode.  (B, 2, s, s), (B, H, 1) → (B, H, s, s)."""
        z, frames = self.encode(obs), []
        for t in range(actions.shape[1]):
            z, _ = self.step(z, actions[:, t])
            frames.append(self.decode(z))
        return torch.stack(frames, 1)


class PixelModel(torch.nn.Module):
    """A model in observation space: p(x_{t+1} | o_t, a_t), Bernoulli pixels from an MLP on (x_{t-1}, x_t, a_t)."""

    def __init__(self, size: int = 16, hidden: int = 64):
        super().__init__()
        self.net, self.size = _mlp(2 * size * size + 1, size * size, hidden), size

    def logits(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs.flatten(1), action / 2], -1)).view(-1, self.size, self.size)

    def loss(self, obs: torch.Tensor, action: torch.Tensor, reward: torch.Tensor, next_obs: torch.Tensor) -> tuple:
        """-log p(x_{t+1} | o_t, a_t) (one term; the reward would need a model of its own)."""
        return (F.binary_cross_entropy_with_logits(self.logits(obs, action), next_obs[:, 1]),)

    def predict_frames(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Open-loop prediction, feeding predicted frames back in.  (B, 2, s, s), (B, H, 1) → (B, H, s, s)."""
        prev, cur, frames = obs[:, 0], obs[:, 1], []
        for t in range(actions.shape[1]):
            nxt = torch.sigmoid(self.logits(torch.stack([prev, cur], 1), actions[:, t]))
            frames.append(nxt)
            prev, cur = cur, nxt
        return torch.stack(frames, 1)


def train_image_model(model: torch.nn.Module, data: dict, steps: int = 800, batch_size: int = 64, lr: float = 3e-3,
                      seed: int = 0, reward_scale: float = 0.1) -> np.ndarray:
    """Adam on the sum of ``model.loss`` terms over transitions (o_t, a_t, r_t, o_{t+1}), o_{t+1} = (x_t, x_{t+1});
    rewards scaled by ``reward_scale``. Returns the (steps, n_terms) history of each term."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    obs, act = torch.as_tensor(data["obs"]), torch.as_tensor(data["action"])
    rew = torch.as_tensor(data["reward"]) * reward_scale
    nxt = torch.stack([obs[:, 1], torch.as_tensor(data["next_frame"])], 1)  # o_{t+1} = (x_t, x_{t+1})
    opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    history = []
    for i in range(steps):
        idx = torch.randint(len(obs), (batch_size,), generator=gen)
        terms = model.loss(obs[idx], act[idx], rew[idx], nxt[idx])
        opt.zero_grad()
        sum(terms).backward()
        opt.step()
        history.append([float(x.detach()) for x in terms])
    return np.asarray(history)


def open_loop_frames(data: dict, horizon: int) -> tuple[np.ndarray, ...]:
    """Windows for k-step prediction from image data, every window inside one episode: o_t (B, 2, s, s),
    a_{t..t+H-1} (B, H, 1), x_{t+1..t+H} (B, H, s, s) and the observations o_{t+1..t+H} (B, H, 2, s, s)."""
    ep, idx = data["episode"], []
    for t in range(len(ep) - horizon):
        if ep[t] == ep[t + horizon]:
            idx.append(t)
    idx = np.asarray(idx)
    win = idx[:, None] + np.arange(horizon)  # (B, H)
    return data["obs"][idx], data["action"][win], data["next_frame"][win], data["obs"][win + 1]
