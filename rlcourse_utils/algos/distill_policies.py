"""Policy distillation (Rusu et al. 2016) of two CartPole teachers into one multitask student.

Task k: balance the pole AND hold the cart at x = x_k. Teacher k is Lecture 1's LQR expert around the shifted
equilibrium (x_k, 0, 0, 0): its score for "push right" is the LQR force −K (s − x_k e_1) and for "push left"
its negative, so q_T(s) = [−f, f]. The student sees (s, one-hot k) and minimises ``distillation_loss`` on states
the teachers visited (Rusu et al.'s setting: the teachers' own experience). A control student gets no task input.
Lecture 13 §Policy distillation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from rlcourse_utils import nets, transfer
from rlcourse_utils.envs import cartpole
from rlcourse_utils.envs.physics_cartpole import PhysicsCartPole


@dataclass(frozen=True)
class Config:
    targets: tuple[float, ...] = (-1.0, 1.0)
    """x_k of each task (m); the track ends at ±2.4."""
    n_envs: int = 8
    """Teacher episodes per task collected as training data."""
    steps: int = 500
    """Steps per collected episode."""
    tau: float = 0.1
    """Teacher temperature τ."""
    iters: int = 800
    """Adam steps on the distillation loss (the final loss: about 2e-4 with the task input, 0.09 without)."""
    batch_size: int = 256
    lr: float = 3e-3
    hidden: tuple[int, ...] = (64, 64)


def teacher_scores(states: np.ndarray, target: float) -> np.ndarray:
    """(B, 4) states → (B, 2) teacher scores [−f, f] with f = −K (s − target e_1) (newtons)."""
    shifted = np.asarray(states, dtype=np.float64) - np.array([target, 0.0, 0.0, 0.0])
    f = -(shifted @ cartpole._K.T)[:, 0]  # (B,)
    return np.stack([-f, f], 1)


def rollout(act: Callable[[np.ndarray], np.ndarray], n_envs: int, steps: int, seed: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run ``act`` (B, 4) → (B,) actions in n_envs CartPoles. Returns the states (steps, n_envs, 4) visited,
    the returns (n_envs,) of each first episode and the cart positions (steps, n_envs) (NaN after it ends)."""
    env = PhysicsCartPole(n_envs)
    obs, _ = env.reset(seed=seed)
    states, xs = np.zeros((steps, n_envs, 4)), np.full((steps, n_envs), np.nan)
    total, alive = np.zeros(n_envs), np.ones(n_envs, dtype=bool)
    for t in range(steps):
        states[t] = obs
        xs[t, alive] = obs[alive, 0]
        obs, r, term, trunc, _ = env.step(act(obs))
        total += r * alive
        alive &= ~(term | trunc)
    return states, total, xs


def one_hot(k: int, n_tasks: int, B: int) -> np.ndarray:
    out = np.zeros((B, n_tasks), dtype=np.float32)
    out[:, k] = 1.0
    return out


def student_actor(student: nn.Module, k: int, n_tasks: int, task_input: bool = True):
    """The student's greedy policy on task k, as a (B, 4) → (B,) function."""
    def act(obs: np.ndarray) -> np.ndarray:
        ctx = one_hot(k, n_tasks, len(obs)) * float(task_input)
        with torch.no_grad():
            x = torch.as_tensor(np.concatenate([obs, ctx], 1), dtype=torch.float32)
            return student(x).argmax(1).numpy()
    return act


def train(cfg: Config = Config(), seed: int = 0, task_input: bool = True,
          loss_fn: Callable = transfer.distillation_loss) -> tuple[nn.Module, np.ndarray]:
    """Distil the teachers into one student; returns the student and its loss per step (iters,)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    K = len(cfg.targets)
    X, Y = [], []
    for k, x_k in enumerate(cfg.targets):
        states, _, _ = rollout(lambda o, x_k=x_k: teacher_scores(o, x_k).argmax(1), cfg.n_envs, cfg.steps, seed + k)
        s = states.reshape(-1, 4)
        X.append(np.concatenate([s, one_hot(k, K, len(s)) * float(task_input)], 1))
        Y.append(teacher_scores(s, x_k))
    X, Y = torch.as_tensor(np.concatenate(X), dtype=torch.float32), torch.as_tensor(np.concatenate(Y), dtype=torch.float32)
    student = nets.mlp(4 + K, 2, cfg.hidden)
    opt = torch.optim.Adam(student.parameters(), lr=cfg.lr)
    losses = np.zeros(cfg.iters)
    for i in range(cfg.iters):
        idx = torch.as_tensor(rng.integers(0, len(X), size=cfg.batch_size))
        loss = loss_fn(Y[idx], student(X[idx]), cfg.tau)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[i] = loss.item()
    return student, losses
