"""MAML on Finn et al.'s sinusoid regression, and the pretrained-on-all-tasks baseline (Lecture 16).

``train``: meta-train θ so that one gradient step on K = 10 points of a new sinusoid fits it
(Finn, Abbeel & Levine 2017, §5.1): per meta-iteration, B tasks, K support and K query points each;
θ'_b = θ − α ∇L_b^support(θ) (``inner_step_fn``), then Adam on (1/B) Σ_b L_b^query(θ'_b), whose gradient
flows back through the inner step. ``pretrain``: the baseline, one network regressed on all tasks at once.
``evaluate``: both adapted the same way on held-out tasks (plain gradient steps at α on the K shots)
and scored on 100 query points per task, after each number of steps.
All tasks of a meta-batch run as one batched forward pass (``meta.mlp_apply`` with a (B, P) θ).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from rlcourse_utils import meta


@dataclass(frozen=True)
class SinusoidConfig:
    n_iters: int = 3000
    """Meta-iterations (Adam steps). Finn et al. train 70 000; about 3000 reach several times the baseline."""
    meta_batch: int = 25
    """Tasks per meta-iteration (the paper's 25)."""
    k_shot: int = 10
    """Support points per task for the inner step (and query points for the outer loss)."""
    inner_lr: float = 0.01
    """α, the inner gradient step (the paper's 0.01); also the step used at test time."""
    outer_lr: float = 1e-3
    """β, Adam's learning rate on θ (the paper's 0.001)."""
    inner_steps: int = 1
    """Inner gradient steps during meta-training (the paper's 1)."""
    hidden: tuple[int, ...] = (40, 40)
    """Hidden widths of the ReLU MLP (the paper's 40-40)."""
    first_order: bool = False
    """First-order MAML: no gradient through the inner gradient."""

    @property
    def sizes(self) -> tuple[int, ...]:
        return (1, *self.hidden, 1)


def _mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-task mean squared error: (B, K, 1), (B, K, 1) → (B,)."""
    return ((pred - y) ** 2).mean(dim=(1, 2))


def train(cfg: SinusoidConfig = SinusoidConfig(), seed: int = 0, mlp_fn: Callable = meta.mlp_apply,
          inner_step_fn: Callable = meta.maml_inner_step) -> dict:
    """Meta-train θ with MAML. Returns {"theta": (P,) tensor, "loss": (n_iters,) post-update query MSE}."""
    rng = np.random.default_rng(seed)
    theta = meta.mlp_init(cfg.sizes, torch.Generator().manual_seed(seed)).requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=cfg.outer_lr)
    losses = np.zeros(cfg.n_iters)
    for it in range(cfg.n_iters):
        amp, phase = meta.sinusoid_tasks(cfg.meta_batch, rng)
        x, y = meta.sinusoid_data(amp, phase, 2 * cfg.k_shot, rng)  # (B, 2K, 1)
        xs, ys, xq, yq = x[:, :cfg.k_shot], y[:, :cfg.k_shot], x[:, cfg.k_shot:], y[:, cfg.k_shot:]
        adapted = theta
        for _ in range(cfg.inner_steps):
            adapted = inner_step_fn(adapted, xs, ys, cfg.inner_lr, cfg.sizes, cfg.first_order)  # (B, P)
        loss = _mse(mlp_fn(adapted, xq, cfg.sizes), yq).mean()  # the meta-objective: query loss AFTER adapting
        opt.zero_grad()
        loss.backward()  # through θ' back to θ (the Hessian term unless first_order)
        opt.step()
        losses[it] = loss.item()
    return {"theta": theta.detach(), "loss": losses}


def pretrain(cfg: SinusoidConfig = SinusoidConfig(), seed: int = 0, mlp_fn: Callable = meta.mlp_apply) -> dict:
    """The baseline: one θ regressed on all tasks at once (same tasks per step, same Adam, same steps),
    min_θ E_task E_x (f_θ(x) − y)², i.e. no adaptation during training. Same return format as ``train``."""
    rng = np.random.default_rng(seed)
    theta = meta.mlp_init(cfg.sizes, torch.Generator().manual_seed(seed)).requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=cfg.outer_lr)
    losses = np.zeros(cfg.n_iters)
    for it in range(cfg.n_iters):
        amp, phase = meta.sinusoid_tasks(cfg.meta_batch, rng)
        x, y = meta.sinusoid_data(amp, phase, 2 * cfg.k_shot, rng)
        loss = _mse(mlp_fn(theta, x, cfg.sizes), y).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[it] = loss.item()
    return {"theta": theta.detach(), "loss": losses}


def evaluate(theta: torch.Tensor, cfg: SinusoidConfig = SinusoidConfig(), n_tasks: int = 1000, max_steps: int = 10,
             n_query: int = 100, seed: int = 12345, mlp_fn: Callable = meta.mlp_apply,
             inner_step_fn: Callable = meta.maml_inner_step) -> np.ndarray:
    """Held-out test MSE per task after 0, 1, ..., max_steps gradient steps at α on K shots: (max_steps + 1, n_tasks).

    The tasks, shots and query points come from ``seed`` (never used in training), the same for every θ
    passed, so two initialisations are compared on identical tasks.
    """
    rng = np.random.default_rng(seed)
    amp, phase = meta.sinusoid_tasks(n_tasks, rng)
    xs, ys = meta.sinusoid_data(amp, phase, cfg.k_shot, rng)
    xq = torch.linspace(-5, 5, n_query).reshape(1, n_query, 1).expand(n_tasks, -1, -1)
    yq = torch.as_tensor(amp[:, None, None] * np.sin(xq.numpy() - phase[:, None, None]), dtype=torch.float32)
    out = np.zeros((max_steps + 1, n_tasks))
    adapted = theta.detach().expand(n_tasks, -1)
    for step in range(max_steps + 1):
        with torch.no_grad():
            out[step] = _mse(mlp_fn(adapted, xq, cfg.sizes), yq).numpy()
        if step < max_steps:
            adapted = inner_step_fn(adapted, xs, ys, cfg.inner_lr, cfg.sizes, True).detach()
    return out
