"""Lecture 8: model-based RL math (dynamics models on normalised deltas, ensembles, MPC with a learned model).

A learned dynamics model predicts the *change* of the observation, normalised:

    Δ = s' - s,    δ = (Δ - μ_Δ) / σ_Δ,    f_θ(s, a) ≈ δ,    ŝ' = s + μ_Δ + σ_Δ f_θ(s, a)

and is trained by least squares on δ (Lecture 8 §learning the model; Nagabandi et al. 2018).
An ensemble of K such models, each fitted on its own bootstrap resample of the data, stands
in for the posterior p(θ | D): their spread measures model (epistemic) uncertainty and grows
away from the data (Lecture 8 §model uncertainty; Chua et al. 2018, PETS). A plan — an action
sequence a_{1:H} — is scored by the ensemble's mean return, each member propagating its own
trajectory, and MPC executes only the first action of the best plan before replanning
(Lecture 8 §version 1.5).

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
    (or without the K axis, then shared by all members) → (K, B, obs_dim)."""
    in_mean, in_std, delta_mean, delta_std = stats
    K = params[0].shape[0]
    if obs.dim() == 2:
        obs = obs.expand(K, *obs.shape)
    if action.dim() == 2:
        action = action.expand(K, *action.shape)
    x = (torch.cat([obs, action], -1) - in_mean) / in_std
    return obs + delta_mean + delta_std * ensemble_forward(params, x)


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


def cem_update(actions: torch.Tensor, returns: torch.Tensor, n_elite: int, mean: torch.Tensor,
               std: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One cross-entropy-method step: refit the sampling Gaussian to the elite sequences, smoothed.

        E = the n_elite sequences with the *highest* returns,
        μ ← α μ + (1 - α) mean_{E} a,     σ ← α σ + (1 - α) std_{E} a   (population std, per (t, dim))

    Lecture 8 §CEM (Lecture 7 §stochastic optimisation; Rubinstein 1999, PETS uses α = 0.1).

    Args:
        actions: (..., N, H, act_dim) sampled sequences.  returns: (..., N) their (mean) returns.
        n_elite: size of the elite set, 1 ≤ n_elite ≤ N.
        mean, std: (..., H, act_dim) current sampling distribution.  alpha: weight kept on the old one.
    Returns:
        (new_mean, new_std), each (..., H, act_dim).
    """
    idx = returns.topk(n_elite, dim=-1).indices  # (..., E)
    elites = torch.take_along_dim(actions, idx[..., None, None], dim=-3)  # (..., E, H, act_dim)
    new_mean = alpha * mean + (1 - alpha) * elites.mean(-3)
    new_std = alpha * std + (1 - alpha) * elites.std(-3, unbiased=False)
    return new_mean, new_std


ReturnFn = Callable[[tuple, tuple, torch.Tensor, torch.Tensor], torch.Tensor]  # ensemble_return's signature
UpdateFn = Callable[..., tuple]  # cem_update's signature


def _returns_per_state(params, stats, obs: torch.Tensor, actions: torch.Tensor, return_fn: ReturnFn) -> torch.Tensor:
    """Mean-over-members return of candidates for M start states.  obs (M, obs_dim), actions (M, N, H, A) → (M, N)."""
    M, N = actions.shape[:2]
    obs0 = obs[:, None].expand(M, N, obs.shape[-1]).reshape(M * N, -1)  # (M*N, obs_dim)
    return return_fn(params, stats, obs0, actions.reshape(M * N, *actions.shape[2:])).mean(0).reshape(M, N)


@torch.no_grad()
def random_shooting(params: Params, stats: Stats, obs: torch.Tensor, n_candidates: int, horizon: int,
                    low: float, high: float, generator: torch.Generator | None = None,
                    return_fn: ReturnFn = ensemble_return) -> torch.Tensor:
    """Random-shooting MPC: sample N uniform sequences, keep the best one's *first* action.

        a_t = argmax_{a^(i)_{1:H} ~ U[low, high]} R̄(a^(i)_{1:H})_1   (Lecture 8 §version 1.5, Lecture 7 §random shooting)

    Args:
        obs: (M, obs_dim) current observations (M environments planned at once).
    Returns:
        (M, act_dim) the action to execute now.
    """
    M, A = obs.shape[0], stats[0].shape[0] - obs.shape[-1]
    u = torch.rand(M, n_candidates, horizon, A, generator=generator, dtype=obs.dtype)
    actions = low + (high - low) * u  # (M, N, H, A)
    best = _returns_per_state(params, stats, obs, actions, return_fn).argmax(-1)  # (M,)
    return actions[torch.arange(M), best, 0]


@torch.no_grad()
def cem_plan(params: Params, stats: Stats, obs: torch.Tensor, n_candidates: int, horizon: int, low: float,
             high: float, n_iters: int = 4, n_elite: int = 20, alpha: float = 0.1,
             init_mean: torch.Tensor | None = None, generator: torch.Generator | None = None,
             return_fn: ReturnFn = ensemble_return, update_fn: UpdateFn = cem_update) -> torch.Tensor:
    """CEM MPC: n_iters rounds of sample N ~ N(μ, σ²) clipped to [low, high], score, refit to the elites.

    Args:
        obs: (M, obs_dim).  init_mean: (M, H, A) warm start (last step's plan shifted by one), default 0.
    Returns:
        (M, H, A) the final mean plan μ; execute μ[:, 0] and warm-start the next step with μ shifted.
    """
    M, A = obs.shape[0], stats[0].shape[0] - obs.shape[-1]
    mean = torch.zeros(M, horizon, A, dtype=obs.dtype) if init_mean is None else init_mean
    std = torch.full((M, horizon, A), (high - low) / 2, dtype=obs.dtype)
    for _ in range(n_iters):
        noise = torch.randn(M, n_candidates, horizon, A, generator=generator, dtype=obs.dtype)
        actions = (mean[:, None] + std[:, None] * noise).clamp(low, high)  # (M, N, H, A)
        returns = _returns_per_state(params, stats, obs, actions, return_fn)  # (M, N)
        mean, std = update_fn(actions, returns, n_elite, mean, std, alpha)
    return mean
