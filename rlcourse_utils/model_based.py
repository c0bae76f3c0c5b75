"""Lecture 8: model-based RL math (dynamics models on normalised deltas, ensembles, PETS, system identification, MPC).

A learned dynamics model predicts the *change* of the observation, normalised:

    Δ = s' - s,    δ = (Δ - μ_Δ) / σ_Δ,    f_θ(s, a) ≈ δ,    ŝ' = s + μ_Δ + σ_Δ f_θ(s, a)

and is trained by least squares on δ (Lecture 8 §learning the model; Nagabandi et al. 2018).
An ensemble of K such models, each fitted on its own bootstrap resample of the data, stands
in for the posterior p(θ | D): their spread measures model (epistemic) uncertainty and grows
away from the data (Lecture 8 §model uncertainty). A *probabilistic* member outputs a Gaussian
N(μ_θ, σ²_θ) over δ, trained by the Gaussian negative log-likelihood (``gaussian_nll``): its σ_θ
is the aleatoric noise. PETS (Chua et al. 2018) scores plans by trajectory sampling through such
members (``pets_return``, TS1 / TS∞). A plan — an action sequence a_{1:H} — is scored by the mean
return over members (and particles), and MPC executes only the first action of the best plan
before replanning (Lecture 8 §version 1.5); the CEM refit is Lecture 7's ``planning.cem_update``.
System identification fits the two constants of the pendulum's known equation instead
(``fit_pendulum_physics``).

The ensemble is K MLPs with stacked weights, evaluated in one batched matmul per layer:
``params = (W_1, b_1, ..., W_L, b_L)`` with W_l (K, d_{l-1}, d_l) and b_l (K, 1, d_l),
ReLU between layers, none after the last. ``stats = (in_mean, in_std, delta_mean, delta_std)``
normalise the inputs [s, a] and the deltas. Pendulum-v1: s = (cos θ, sin θ, θ̇), a = u ∈ [-2, 2],
r(s, a) = -(θ² + 0.1 θ̇² + 0.001 u²) with θ ∈ [-π, π].

>>> d = normalised_delta_loss(torch.zeros(1, 2), torch.zeros(1, 2), torch.ones(1, 2), torch.ones(2), torch.ones(2))
>>> float(d)
0.0
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from rlcourse_utils import planning
from rlcourse_utils.envs import pendulum

Params = tuple  # (W_1, b_1, ..., W_L, b_L): W_l (K, d_{l-1}, d_l), b_l (K, 1, d_l)
Stats = tuple  # (in_mean (obs_dim + act_dim,), in_std, delta_mean (obs_dim,), delta_std (obs_dim,))


def normalisation_stats(x: torch.Tensor, eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation over the batch axis 0 (std floored at ``eps``).  x (B, D) → (D,), (D,)."""
    return x.mean(0), x.std(0, unbiased=False).clamp_min(eps)


def init_ensemble(K: int, in_dim: int, out_dim: int, hidden: tuple[int, ...],
                  generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Stacked weights of K independent MLPs (PyTorch's default uniform init), as leaf tensors with grad."""
    sizes, params = (in_dim, *hidden, out_dim), []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(d_in)
        params.append((torch.rand(K, d_in, d_out, generator=generator) * 2 - 1).mul_(bound).requires_grad_())
        params.append((torch.rand(K, 1, d_out, generator=generator) * 2 - 1).mul_(bound).requires_grad_())
    return params


def ensemble_forward(params: Params, x: torch.Tensor) -> torch.Tensor:
    """All K MLPs at once: x (K, B, d_0) → (K, B, d_L), one batched matmul per layer, ReLU between layers."""
    n_layers = len(params) // 2
    for l in range(n_layers):
        x = torch.baddbmm(params[2 * l + 1], x, params[2 * l])  # (K, B, d_l)
        if l < n_layers - 1:
            x = torch.relu(x)
    return x


def normalised_delta_loss(pred: torch.Tensor, obs: torch.Tensor, next_obs: torch.Tensor,
                          delta_mean: torch.Tensor, delta_std: torch.Tensor) -> torch.Tensor:
    """Mean squared error of a dynamics model on normalised deltas, a scalar tensor.

        L(θ) = mean over every entry of ( f_θ(s, a) - (s' - s - μ_Δ) / σ_Δ )²

    Predicting Δ = s' - s rather than s' keeps the target small and centred (s' ≈ s at a small
    time step), and dividing by σ_Δ weighs every dimension equally (Lecture 8 §learning the model).

    Args:
        pred: (..., obs_dim) the network's output f_θ(s, a), in normalised-delta units.
        obs, next_obs: (..., obs_dim) s and s'.  delta_mean, delta_std: (obs_dim,) μ_Δ and σ_Δ.
    Returns:
        () scalar tensor, differentiable in ``pred``.
    """
    target = (next_obs - obs - delta_mean) / delta_std
    return ((pred - target) ** 2).mean()


def predict_next_obs(params: Params, stats: Stats, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """ŝ' = s + μ_Δ + σ_Δ f_θk(normalised [s, a]) for every member k.  obs (K, B, obs_dim), action (K, B, act_dim)
    (or without the K axis, then shared by all members) → (K, B, obs_dim). For a probabilistic member (outputs
    (mean, log-variance), 2·obs_dim) this is its mean prediction."""
    in_mean, in_std, delta_mean, delta_std = stats
    K = params[0].shape[0]
    if obs.dim() == 2:
        obs = obs.expand(K, *obs.shape)
    if action.dim() == 2:
        action = action.expand(K, *action.shape)
    x = (torch.cat([obs, action], -1) - in_mean) / in_std
    return obs + delta_mean + delta_std * ensemble_forward(params, x)[..., :obs.shape[-1]]  # a PETS head: its mean


def ensemble_disagreement(params: Params, stats: Stats, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """Epistemic uncertainty of a one-step prediction: the members' standard deviation of ŝ', in units of
    σ_Δ, averaged over observation dimensions.  obs (B, obs_dim), action (B, act_dim) → (B,)."""
    next_obs = predict_next_obs(params, stats, obs, action)  # (K, B, obs_dim)
    return (next_obs.std(0, unbiased=False) / stats[3]).mean(-1)


def pendulum_reward(obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """Pendulum-v1's reward, known in closed form: r = -(θ² + 0.1 θ̇² + 0.001 u²), θ = atan2(sin θ, cos θ).
    obs (..., 3), action (..., 1) → (...)."""
    theta = torch.atan2(obs[..., 1], obs[..., 0])
    return -(theta ** 2 + 0.1 * obs[..., 2] ** 2 + 0.001 * action[..., 0] ** 2)


def ensemble_return(params: tuple, stats: tuple, obs0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Return of each action sequence under each ensemble member, on Pendulum-v1.  (K, N)

        R_k(a_{1:H}) = Σ_{t=0}^{H-1} r(s_t^k, a_t),   s_0^k = s_0,   s_{t+1}^k = s_t^k + μ_Δ + σ_Δ f_θk(x_t^k),
        x_t^k = ([s_t^k, a_t] - in_mean) / in_std

    Every member k propagates its *own* trajectory (never the members' average state), and the
    reward of step t is r(s_t, a_t) = -(θ_t² + 0.1 θ̇_t² + 0.001 u_t²) with θ_t = atan2(s[1], s[0]),
    taken on the state *before* the step (as Pendulum-v1 does). The planning objective is the mean
    over members, R̄ = (1/K) Σ_k R_k (Lecture 8 §planning with an ensemble; Chua et al. 2018).

    Args:
        params: (W_1, b_1, ..., W_L, b_L) stacked MLPs, W_l (K, d_{l-1}, d_l), b_l (K, 1, d_l);
            ReLU (``torch.relu``) after every layer but the last.
        stats: (in_mean (obs_dim + act_dim,), in_std, delta_mean (obs_dim,), delta_std (obs_dim,)).
        obs0: (N, obs_dim) start state of each sequence (s_0 repeated N times when planning).
        actions: (N, H, act_dim) action sequences.
    Returns:
        (K, N) returns, one row per member.
    """
    in_mean, in_std, delta_mean, delta_std = stats
    K, L = params[0].shape[0], len(params) // 2
    s = obs0.expand(K, *obs0.shape)  # (K, N, obs_dim)
    states = []
    for t in range(actions.shape[1]):
        states.append(s)  # s_t, the state the reward of step t is taken on
        a = actions[:, t].expand(K, *actions[:, t].shape)  # (K, N, act_dim)
        h = (torch.cat([s, a], -1) - in_mean) / in_std  # (K, N, obs_dim + act_dim)
        for l in range(L):
            h = torch.baddbmm(params[2 * l + 1], h, params[2 * l])  # h @ W_l + b_l, all members at once
            if l < L - 1:
                h = torch.relu(h)
        s = s + delta_mean + delta_std * h  # (K, N, obs_dim)
    S = torch.stack(states)  # (H, K, N, obs_dim)
    theta = torch.atan2(S[..., 1], S[..., 0])
    cost = (theta ** 2 + 0.1 * S[..., 2] ** 2).sum(0) + 0.001 * (actions[..., 0] ** 2).sum(-1)  # (K, N)
    return -cost


# ---------------------------------------------------------------- PETS: probabilistic ensembles, trajectory sampling

def gaussian_nll(mean: torch.Tensor, log_var: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of targets under diagonal Gaussians, averaged over every entry: a scalar tensor.

        -log N(y; μ, σ²) = ½ [ (y - μ)² / σ² + log σ² + log 2π ],   σ² = exp(log_var)

    The loss of one *probabilistic* ensemble member (Lecture 8 §model uncertainty; Chua et al. 2018, PETS):
    the network outputs a mean and a log-variance per dimension, and the variance it learns is the
    aleatoric noise of the data. Without the log σ² term the loss would fall forever as σ² → ∞.

    Args:
        mean, log_var, target: (..., D) μ, log σ² and y (any leading axes, e.g. (K, B, D)); they broadcast.
    Returns:
        () scalar tensor, the mean over every entry; differentiable in ``mean`` and ``log_var``.
    """
    return 0.5 * ((target - mean) ** 2 * torch.exp(-log_var) + log_var + math.log(2 * math.pi)).mean()


def bounded_log_var(raw: torch.Tensor, low: float = -3.0, high: float = 0.5) -> torch.Tensor:
    """Soft-clamp a network's raw log-variance output with softplus, as PETS does (Chua et al. 2018, appendix), so
    that σ² neither explodes away from the data nor collapses to 0 on noise-free data.  (...) → (...), increasing,
    inside (low, high + log(1 + e^(low - high))): the second softplus overshoots ``high`` by at most that."""
    raw = high - F.softplus(high - raw)
    return low + F.softplus(raw - low)


def pets_loss(pred: torch.Tensor, obs: torch.Tensor, next_obs: torch.Tensor, delta_mean: torch.Tensor,
              delta_std: torch.Tensor, nll_fn: Callable = gaussian_nll) -> torch.Tensor:
    """Gaussian NLL of the normalised delta δ = (s' - s - μ_Δ) / σ_Δ under a probabilistic member's output
    pred = (mean, raw log-variance), (..., 2·obs_dim); the drop-in for ``normalised_delta_loss``."""
    D = obs.shape[-1]
    target = (next_obs - obs - delta_mean) / delta_std
    return nll_fn(pred[..., :D], bounded_log_var(pred[..., D:]), target)


def pets_return(params: Params, stats: Stats, obs0: torch.Tensor, actions: torch.Tensor, n_particles: int = 4,
                propagation: str = "ts_inf", generator: torch.Generator | None = None) -> torch.Tensor:
    """Returns of action sequences by trajectory sampling through a probabilistic ensemble (PETS).  (K·P, N)

    Each candidate gets P particles per member (K·P in all). At every step a particle's next state is
    *sampled*, s' = s + μ_Δ + σ_Δ (μ_θ + σ_θ ε), ε ~ N(0, I): the aleatoric noise. Which member moves it:
        TS∞ ("ts_inf"): the same member for the whole trajectory (a particle = one model hypothesis);
        TS1 ("ts1"):    a member drawn afresh at every step (the K particles in a slot are shuffled
                        across members).
    The plan's score is the mean over the K·P rows (Chua et al. 2018, Lecture 8 §planning with uncertainty).

    Args:
        params: a probabilistic ensemble (outputs 2·obs_dim: mean, raw log-variance).  obs0: (N, obs_dim).
        actions: (N, H, act_dim).  n_particles: P per member.  generator: for the noise and TS1's shuffles.
    Returns:
        (K·P, N) sampled returns, one row per particle.
    """
    in_mean, in_std, delta_mean, delta_std = stats
    K, (N, H), D, P = params[0].shape[0], actions.shape[:2], obs0.shape[-1], n_particles
    s = obs0.repeat(P, 1).expand(K, P * N, D)  # (K, P·N, obs_dim): particle p of candidate n at p·N + n
    a_all = actions.repeat(P, 1, 1)  # (P·N, H, A)
    eps = torch.randn(H, K, P * N, D, generator=generator, dtype=obs0.dtype)  # the aleatoric draws of every step
    states = []
    for t in range(H):
        states.append(s)  # s_t, the state the reward of step t is taken on
        a = a_all[:, t].expand(K, P * N, -1)
        if propagation == "ts1":  # re-assign members: a random permutation of the K particles in each slot
            perm = torch.rand(K, P * N, generator=generator, dtype=obs0.dtype).argsort(0)
            s = torch.take_along_dim(s, perm[..., None], dim=0)
        out = ensemble_forward(params, (torch.cat([s, a], -1) - in_mean) / in_std)  # (K, P·N, 2·obs_dim)
        delta = out[..., :D] + torch.exp(0.5 * bounded_log_var(out[..., D:])) * eps[t]  # μ_θ + σ_θ ε
        s = s + delta_mean + delta_std * delta
    total = pendulum_reward(torch.stack(states), a_all.transpose(0, 1)[:, None]).sum(0)  # (K, P·N)
    return total.reshape(K * P, N)


# ---------------------------------------------------------------- system identification (Lecture 8 §version 0.5)

def _physics_features(obs: np.ndarray, action: np.ndarray, small_angle: bool) -> np.ndarray:
    theta = np.arctan2(obs[:, 1], obs[:, 0])
    return np.stack([theta if small_angle else np.sin(theta), np.clip(action[:, 0], -2, 2)], -1).astype(np.float64)


def fit_pendulum_physics(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, small_angle: bool = False,
                         dt: float = pendulum.DT, max_speed: float = pendulum.MAX_SPEED) -> np.ndarray:
    """System identification: least-squares fit of the two parameters of the pendulum's known equation of motion

        θ̇' = θ̇ + (c₁ sin θ + c₂ u) dt,     c₁ = 3g / (2l),  c₂ = 3 / (m l²)      (Pendulum-v1: c₁ = 15, c₂ = 3)

    from transitions (obs (n, 3), action (n, 1), next_obs (n, 3)); transitions whose θ̇' hit the speed clip
    are left out. Only c₁ and c₂ are identifiable, not g, m and l separately. ``small_angle``: the
    misspecified linear pendulum, sin θ replaced by θ. Returns (2,) [c₁, c₂]. Lecture 8 §version 0.5."""
    keep = np.abs(next_obs[:, 2]) < max_speed - 1e-6
    X = _physics_features(obs, action, small_angle)[keep] * dt  # (n', 2)
    y = (next_obs[:, 2] - obs[:, 2])[keep].astype(np.float64)  # (n',)
    return np.linalg.lstsq(X, y, rcond=None)[0]


def pendulum_physics_step(obs: np.ndarray, action: np.ndarray, coef: np.ndarray, small_angle: bool = False,
                          dt: float = pendulum.DT, max_speed: float = pendulum.MAX_SPEED) -> np.ndarray:
    """The identified model's prediction of s' (Pendulum-v1's semi-implicit Euler step with c₁, c₂ = coef).
    obs (n, 3), action (n, 1) → (n, 3)."""
    theta = np.arctan2(obs[:, 1], obs[:, 0])
    thdot = np.clip(obs[:, 2] + _physics_features(obs, action, small_angle) @ coef * dt, -max_speed, max_speed)
    theta = theta + thdot * dt
    return np.stack([np.cos(theta), np.sin(theta), thdot], -1)


def unexplained_variance(pred_next_obs: np.ndarray, obs: np.ndarray, next_obs: np.ndarray) -> float:
    """Prediction error of a one-step model, scale-free: Σ_dims MSE(Δ̂ - Δ) / Σ_dims Var(Δ), Δ = s' - s.
    0 = perfect; 1 = no better than predicting the average change.  (n, d) each → float."""
    delta, pred = next_obs - obs, pred_next_obs - obs
    return float(((pred - delta) ** 2).mean(0).sum() / delta.var(0).sum())


ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (obs0 (N, d), actions (N, H, A)) → (rows, N)
UpdateFn = Callable[[np.ndarray, np.ndarray, int], tuple]  # planning.cem_update: (..., N, D), (..., N), E → 2 × (..., D)


def true_return(obs0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Return of each action sequence under Pendulum-v1's *true* dynamics (``envs.pendulum.step_torch``),
    the control arm of a learned model.  obs0 (N, 3), actions (N, H, 1) → (1, N): one "member", no model error."""
    s, total = obs0.double(), torch.zeros(obs0.shape[0], dtype=torch.float64)
    for t in range(actions.shape[1]):
        s, r = pendulum.step_torch(s, actions[:, t].double())
        total = total + r
    return total[None].to(obs0.dtype)


def _returns_per_state(score_fn: ScoreFn, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Mean-over-rows (members, particles) return of candidates for M start states, all in one batched call.
    obs (M, obs_dim), actions (M, N, H, A) → (M, N)."""
    M, N = actions.shape[:2]
    obs0 = obs[:, None].expand(M, N, obs.shape[-1]).reshape(M * N, -1)  # (M*N, obs_dim)
    return score_fn(obs0, actions.reshape(M * N, *actions.shape[2:])).mean(0).reshape(M, N)


@torch.no_grad()
def random_shooting(score_fn: ScoreFn, obs: torch.Tensor, act_dim: int, n_candidates: int, horizon: int,
                    low: float, high: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random-shooting MPC: sample N uniform sequences, keep the best one's *first* action.

        a_t = argmax_{a^(i)_{1:H} ~ U[low, high]} R̄(a^(i)_{1:H})_1   (Lecture 8 §version 1.5, Lecture 7 §random shooting)

    Args:
        score_fn: (obs0 (N', obs_dim), actions (N', H, A)) → (rows, N') returns, e.g.
            ``functools.partial(ensemble_return, params, stats)``; the plan's score is the mean over rows.
        obs: (M, obs_dim) current observations (M environments planned at once).
    Returns:
        (M, act_dim) the action to execute now.
    """
    M = obs.shape[0]
    u = torch.rand(M, n_candidates, horizon, act_dim, generator=generator, dtype=obs.dtype)
    actions = low + (high - low) * u  # (M, N, H, A)
    best = _returns_per_state(score_fn, obs, actions).argmax(-1)  # (M,)
    return actions[torch.arange(M), best, 0]


@torch.no_grad()
def cem_plan(score_fn: ScoreFn, obs: torch.Tensor, act_dim: int, n_candidates: int, horizon: int, low: float,
             high: float, n_iters: int = 4, n_elite: int = 20, alpha: float = 0.1,
             init_mean: torch.Tensor | None = None, generator: torch.Generator | None = None,
             update_fn: UpdateFn | None = None) -> torch.Tensor:
    """CEM MPC: n_iters rounds of sample N ~ N(μ, σ²) clipped to [low, high], score, refit to the elites.

    The refit is Lecture 7's ``planning.cem_update`` (numpy, leading batch axes = the M start states),
    smoothed here as PETS does:  (μ, σ) ← α (μ, σ) + (1 - α) cem_update(...)   (α = 0.1 in Chua et al. 2018).

    Args:
        score_fn: as in ``random_shooting``.  obs: (M, obs_dim).
        init_mean: (M, H, A) warm start (last step's plan shifted by one), default 0.
        update_fn: the elite refit, default ``planning.cem_update``.
    Returns:
        (M, H, A) the final mean plan μ; execute μ[:, 0] and warm-start the next step with μ shifted.
    """
    M, A = obs.shape[0], act_dim
    update_fn = update_fn or planning.cem_update
    mean = torch.zeros(M, horizon, A, dtype=obs.dtype) if init_mean is None else init_mean
    std = torch.full((M, horizon, A), (high - low) / 2, dtype=obs.dtype)
    for _ in range(n_iters):
        noise = torch.randn(M, n_candidates, horizon, A, generator=generator, dtype=obs.dtype)
        actions = (mean[:, None] + std[:, None] * noise).clamp(low, high)  # (M, N, H, A)
        returns = _returns_per_state(score_fn, obs, actions)  # (M, N)
        elite_mean, elite_std = update_fn(actions.numpy(), returns.numpy(), n_elite)  # (M, H, A) each, numpy
        mean = alpha * mean + (1 - alpha) * torch.as_tensor(elite_mean, dtype=obs.dtype)
        std = alpha * std + (1 - alpha) * torch.as_tensor(elite_std, dtype=obs.dtype)
    return mean
