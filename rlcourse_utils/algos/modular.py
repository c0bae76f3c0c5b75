"""Modular policy networks (Devin et al. 2017, "Learning modular neural network policies for multi-task and
multi-robot transfer"): task modules × robot modules, recombined zero-shot on a pair never trained together.

Robots: three planar point robots whose two motors are mounted at different angles and strengths. An action
a ∈ R² moves robot r by M_r a, M_r = gain_r · rotation(angle_r), angles 0°, 120°, 240°, gains 1, 0.5, 2.
Tasks: reach one of three targets g_k (within 0.05) from a random start in [−1, 1]², in 40 steps.
Expert for (r, k): the desired displacement v_k(s) = (g_k − s) shortened to at most 0.1, through the robot's
inverse actuation, a = M_r⁻¹ v_k(s): the task decides where to go, the robot how to get there.

Two students, trained by behaviour cloning (Lecture 1) on the six pairs (r, k) with r ≠ k, tested on the three
held-out pairs (r, r):
    modular      π_{r,k}(s) = g_r(f_k(s)): task module f_k: s → z ∈ R², robot module g_r: z → a;
    monolithic   one MLP on (s, one-hot r, one-hot k), the same data (the control arm).
Lecture 13 §Modular networks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rlcourse_utils import nets

ANGLES = np.deg2rad([0.0, 120.0, 240.0])
GAINS = np.array([1.0, 0.5, 2.0])
ACTUATION = np.stack([g * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
                      for a, g in zip(ANGLES, GAINS)])  # (R, 2, 2) M_r
GOALS = np.array([[0.7, 0.0], [-0.35, 0.6], [-0.35, -0.6]])  # (K, 2) g_k
STEP = 0.1
"""Largest displacement per step."""
TRAIN_PAIRS = [(r, k) for r in range(3) for k in range(3) if r != k]
HELD_OUT = [(r, r) for r in range(3)]
INVERSE = np.linalg.inv(ACTUATION)  # (R, 2, 2) M_r⁻¹


@dataclass(frozen=True)
class Config:
    iters: int = 1000
    """Adam steps; each sees ``batch_size`` states of every training pair."""
    batch_size: int = 64
    lr: float = 3e-3
    latent: int = 2
    """Width of the interface z between task and robot modules (small: Devin et al. keep it small)."""
    module_hidden: tuple[int, ...] = (32,)
    mono_hidden: tuple[int, ...] = (64, 64)


def expert_action(s: np.ndarray, r, k) -> np.ndarray:
    """States (..., B, 2) → expert actions a = M_r⁻¹ v_k(s) (..., B, 2), in units of STEP. r, k: ints, or (...,)
    int arrays giving each leading row its robot and task."""
    d = GOALS[np.asarray(k)][..., None, :] - s  # (..., B, 2)
    v = d * np.minimum(1.0, STEP / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9))  # (..., B, 2)
    return np.einsum("...ij,...bj->...bi", INVERSE[np.asarray(r)], v) / STEP


class _Stacked(nn.Module):
    """M small MLPs of the same shape whose weights are stacked, so that P rows pick their module by index and
    run in one batched matrix product per layer: x (P, B, in) with ids (P,) → (P, B, out)."""

    def __init__(self, n_modules: int, sizes: list[int]):
        super().__init__()
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers = [nn.Linear(fan_in, fan_out) for _ in range(n_modules)]  # PyTorch's default initialisation
            self.weights.append(nn.Parameter(torch.stack([l.weight.T.detach() for l in layers])))  # (M, in, out)
            self.biases.append(nn.Parameter(torch.stack([l.bias.detach() for l in layers])[:, None]))  # (M, 1, out)

    def forward(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        for j, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b[ids], x, w[ids])  # (P, B, out)
            if j < len(self.weights) - 1:
                x = torch.tanh(x)
        return x


class Modular(nn.Module):
    """π_{r,k}(s) = g_r(f_k(s)), one small MLP per task (f_k) and per robot (g_r); ``runs`` independent copies."""

    def __init__(self, cfg: Config, runs: int = 1):
        super().__init__()
        self.task = _Stacked(runs * len(GOALS), [2, *cfg.module_hidden, cfg.latent])
        self.robot = _Stacked(runs * len(GAINS), [cfg.latent, *cfg.module_hidden, 2])

    def forward(self, s: torch.Tensor, r: torch.Tensor, k: torch.Tensor, run: torch.Tensor) -> torch.Tensor:
        """s (P, B, 2); robot, task and run ids r, k, run (P,) → actions (P, B, 2)."""
        return self.robot(self.task(s, run * len(GOALS) + k), run * len(GAINS) + r)


class Monolithic(nn.Module):
    """π(s, r, k) = MLP(s, one-hot r, one-hot k); ``runs`` independent copies."""

    def __init__(self, cfg: Config, runs: int = 1):
        super().__init__()
        self.net = _Stacked(runs, [2 + len(GAINS) + len(GOALS), *cfg.mono_hidden, 2])

    def forward(self, s: torch.Tensor, r: torch.Tensor, k: torch.Tensor, run: torch.Tensor) -> torch.Tensor:
        """s (P, B, 2); robot, task and run ids r, k, run (P,) → actions (P, B, 2)."""
        ids = torch.cat([nn.functional.one_hot(r, len(GAINS)), nn.functional.one_hot(k, len(GOALS))], 1)  # (P, 6)
        return self.net(torch.cat([s, ids[:, None, :].float().expand(-1, s.shape[1], -1)], 2), run)


def train(cfg: Config = Config(), seed: int = 0, modular: bool = True, runs: int = 1) -> tuple[nn.Module, np.ndarray]:
    """Behaviour cloning of ``runs`` fresh ``Modular`` (or ``Monolithic``) networks on TRAIN_PAIRS, side by side:
    each run has its own initialisation and its own training states, and minimises the mean over pairs and
    states of ‖π(s) − a*(s)‖²; the runs share nothing but the batched matrix products (Adam is elementwise).
    Returns the networks and the loss per step of each run (iters, runs)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Modular(cfg, runs) if modular else Monolithic(cfg, runs)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    P = len(TRAIN_PAIRS)
    r, k = (np.tile([pair[j] for pair in TRAIN_PAIRS], runs) for j in (0, 1))  # (runs * P,) each
    run = np.repeat(np.arange(runs), P)  # (runs * P,)
    ids = [torch.as_tensor(x) for x in (r, k, run)]
    losses = np.zeros((cfg.iters, runs))
    for i in range(cfg.iters):
        s = rng.uniform(-1.0, 1.0, size=(runs * P, cfg.batch_size, 2))  # (runs * P, B, 2)
        a = expert_action(s, r, k)  # (runs * P, B, 2)
        pred = model(torch.as_tensor(s, dtype=torch.float32), *ids)
        per_run = ((pred - torch.as_tensor(a, dtype=torch.float32)) ** 2).sum(-1).mean(-1).reshape(runs, P).mean(1)
        opt.zero_grad()
        per_run.sum().backward()  # the sum: each run gets exactly the gradient of its own loss
        opt.step()
        losses[i] = per_run.detach().numpy()
    return model, losses


def success_rate(model: nn.Module, r: int, k: int, run: int = 0, n: int = 200, steps: int = 40, seed: int = 0) -> float:
    """Fraction of n random starts from which robot r, driven by run ``run``'s policy for (r, k), ends within 0.05
    of g_k after ``steps`` steps."""
    s = np.random.default_rng([seed, r, k]).uniform(-1.0, 1.0, size=(n, 2))
    ids = [torch.tensor([x]) for x in (r, k, run)]
    for _ in range(steps):
        with torch.no_grad():
            a = model(torch.as_tensor(s[None], dtype=torch.float32), *ids)[0].numpy()  # (n, 2)
        s = s + STEP * a @ ACTUATION[r].T
    return float(np.mean(np.linalg.norm(s - GOALS[k], axis=1) < 0.05))
