"""Batched Pendulum-v1 dynamics and reward, in numpy and in torch, equal to gymnasium's ``PendulumEnv.step``.

Planning (Lecture 7), model-based RL (Lecture 8) and model-based policy learning (Lecture 9)
need the pendulum's model f(s, a) evaluated on many states and action sequences at once.
These functions copy gymnasium 1.x ``gymnasium/envs/classic_control/pendulum.py`` exactly
(tests/test_lec07_pendulum.py compares them with the real env, step by step):

    cost      = angle_normalize(θ)^2 + 0.1 θ̇^2 + 0.001 u^2,   u = clip(a, -2, 2),   reward = -cost
    θ̇'        = clip(θ̇ + (3 g / (2 l) sin θ + 3 / (m l^2) u) dt, -8, 8)
    θ'        = θ + θ̇' dt                       (θ is not wrapped; the observation hides that)
    obs       = (cos θ, sin θ, θ̇)  (float32 in gymnasium; float64 here)

A float32 action is kept in float32 as gymnasium does, so rewards and states agree bit for bit.

State s = (θ, θ̇), shape (..., 2); observation (..., 3); action (..., 1). Every leading axis is a
batch axis: one call steps a whole CEM population, shape (K, 2), or an ensemble of populations.

API: ``step_state(state, action) -> (next_state, reward)``, ``step(obs, action) -> (next_obs, reward)``,
``obs_to_state``, ``state_to_obs``, ``reward``, and the torch twins ``step_state_torch`` /
``step_torch`` (differentiable, for iLQR or backpropagation through a model; the clips pass
gradient only inside their bounds, as torch.clamp does). Bounds: ``MAX_TORQUE``, ``MAX_SPEED``,
``OBS_HIGH``; ``smooth_cost`` is the wrap-free cost 2(1 - cos θ) + 0.1 θ̇² + 0.001 u² used by iLQR.
"""
from __future__ import annotations

import numpy as np
import torch

MAX_SPEED = 8.0
MAX_TORQUE = 2.0
DT = 0.05
G = 10.0  # gymnasium's default g for Pendulum-v1
M = 1.0
L = 1.0
OBS_HIGH = np.array([1.0, 1.0, MAX_SPEED])
STATE_DIM, OBS_DIM, ACT_DIM = 2, 3, 1
MAX_EPISODE_STEPS = 200


def angle_normalize(theta: np.ndarray) -> np.ndarray:
    """θ wrapped to [-π, π), as gymnasium's ``angle_normalize``."""
    return ((theta + np.pi) % (2 * np.pi)) - np.pi


def obs_to_state(obs: np.ndarray) -> np.ndarray:
    """(cos θ, sin θ, θ̇) (..., 3) → (θ, θ̇) (..., 2), θ = atan2(sin θ, cos θ) ∈ [-π, π]."""
    obs = np.asarray(obs, dtype=np.float64)
    return np.stack([np.arctan2(obs[..., 1], obs[..., 0]), obs[..., 2]], -1)


def state_to_obs(state: np.ndarray) -> np.ndarray:
    """(θ, θ̇) (..., 2) → (cos θ, sin θ, θ̇) (..., 3)."""
    state = np.asarray(state, dtype=np.float64)
    return np.stack([np.cos(state[..., 0]), np.sin(state[..., 0]), state[..., 1]], -1)


def _as_float(action: np.ndarray) -> np.ndarray:
    a = np.asarray(action)
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def reward(state: np.ndarray, action: np.ndarray) -> np.ndarray:
    """r(s, a) = -(angle_normalize(θ)^2 + 0.1 θ̇^2 + 0.001 clip(a)^2).  state (..., 2), action (..., 1) → (...)."""
    state = np.asarray(state, dtype=np.float64)
    u = np.clip(_as_float(action)[..., 0], -MAX_TORQUE, MAX_TORQUE)
    return -(angle_normalize(state[..., 0]) ** 2 + 0.1 * state[..., 1] ** 2 + 0.001 * (u ** 2))


def step_state(state: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Pendulum-v1 step on a batch of states.  state (..., 2), action (..., 1) → next_state (..., 2), reward (...)."""
    state = np.asarray(state, dtype=np.float64)
    th, thdot = state[..., 0], state[..., 1]
    u = np.clip(_as_float(action)[..., 0], -MAX_TORQUE, MAX_TORQUE)  # float32 stays float32, as in gymnasium
    th_n = (th + np.pi) % (2 * np.pi) - np.pi                    # angle_normalize
    r = -(th_n ** 2 + 0.1 * thdot ** 2 + 0.001 * (u ** 2))         # gymnasium's expression, term by term
    new_thdot = np.clip(thdot + (3 * G / (2 * L) * np.sin(th) + 3.0 / (M * L ** 2) * u) * DT, -MAX_SPEED, MAX_SPEED)
    new_th = th + new_thdot * DT
    return np.stack([new_th, new_thdot], -1), r


def step(obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Pendulum-v1 step on a batch of observations.  obs (..., 3), action (..., 1) → next_obs (..., 3), reward (...)."""
    next_state, r = step_state(obs_to_state(obs), action)
    return state_to_obs(next_state), r


def rollout_returns(state: np.ndarray, actions: np.ndarray, step_fn=None) -> np.ndarray:
    """Σ_h r(s_h, a_h) of open-loop action sequences from one state (no discount).

    Args:
        state: (2,) start state (θ, θ̇).  actions: (K, H, 1) K sequences of H actions.
        step_fn: ``step_state`` (default) or any model with its signature (Lecture 8 plugs in a learned one).
    Returns:
        (K,) returns. The loop runs over the horizon H; the K sequences move together.
    """
    step_fn = step_state if step_fn is None else step_fn
    K, H = actions.shape[:2]
    s = np.broadcast_to(np.asarray(state, dtype=np.float64), (K, STATE_DIM))
    total = np.zeros(K)
    for h in range(H):
        s, r = step_fn(s, actions[:, h])
        total += r
    return total


# ---------------------------------------------------------------- torch twins (differentiable)

def step_state_torch(state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``step_state`` in torch, differentiable.  state (..., 2), action (..., 1) → next_state (..., 2), reward (...)."""
    th, thdot = state[..., 0], state[..., 1]
    u = action[..., 0].clamp(-MAX_TORQUE, MAX_TORQUE)
    th_wrapped = torch.remainder(th + np.pi, 2 * np.pi) - np.pi
    r = -(th_wrapped ** 2 + 0.1 * thdot ** 2 + 0.001 * u ** 2)
    new_thdot = (thdot + (3 * G / (2 * L) * torch.sin(th) + 3.0 / (M * L ** 2) * u) * DT).clamp(-MAX_SPEED, MAX_SPEED)
    new_th = th + new_thdot * DT
    return torch.stack([new_th, new_thdot], -1), r


def step_torch(obs: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``step`` in torch.  obs (..., 3), action (..., 1) → next_obs (..., 3), reward (...)."""
    state = torch.stack([torch.atan2(obs[..., 1], obs[..., 0]), obs[..., 2]], -1)
    s2, r = step_state_torch(state, action)
    return torch.stack([torch.cos(s2[..., 0]), torch.sin(s2[..., 0]), s2[..., 1]], -1), r


def smooth_dynamics_torch(state: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The pendulum's Euler step without the speed clip, torque u ∈ ℝ (..., 1) → next_state (..., 2).

    Smooth everywhere, so its Jacobians are those iLQR needs; equal to ``step_state`` whenever
    |u| ≤ 2 and |θ̇'| ≤ 8.
    """
    th, thdot = state[..., 0], state[..., 1]
    new_thdot = thdot + (3 * G / (2 * L) * torch.sin(th) + 3.0 / (M * L ** 2) * u[..., 0]) * DT
    return torch.stack([th + new_thdot * DT, new_thdot], -1)


def smooth_cost_torch(state: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """c(s, u) = 2(1 - cos θ) + 0.1 θ̇^2 + 0.001 u^2: the Pendulum-v1 cost with θ^2 replaced by its
    wrap-free twin 2(1 - cos θ) = θ^2 + O(θ^4). (..., 2), (..., 1) → (...)."""
    return 2 * (1 - torch.cos(state[..., 0])) + 0.1 * state[..., 1] ** 2 + 0.001 * u[..., 0] ** 2


# ---------------------------------------------------------------- pictures

def render_frames(actions: np.ndarray, seed: int, at: list[int]) -> list[np.ndarray]:
    """Replay ``actions`` (steps, 1) in a rendering Pendulum-v1 reset with ``seed``; the RGB frames (H, W, 3)
    before the steps listed in ``at``. Offscreen: no display needed."""
    import os
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")          # headless pygame, and no XDG_RUNTIME_DIR warning
    import gymnasium as gym
    env = gym.make("Pendulum-v1", render_mode="rgb_array")
    env.reset(seed=seed)
    frames = []
    for t, a in enumerate(actions):
        if t in at:
            frames.append(env.render())
        env.step(np.asarray(a, dtype=np.float32))
    env.close()
    return frames
