"""Exercises of Lecture 13 (transfer and multitask): public and hidden cases, hand-computable first."""
from __future__ import annotations

import numpy as np
import torch

from rlcourse_utils import transfer
from rlcourse_utils.checks.core import Case, Exercise

_LOG2 = np.array([True, True])


def _t(x, grad: bool = False) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64)).requires_grad_(grad)


# ---------------------------------------------------------------- L13_randomise_physics

def dr_public() -> list[Case]:
    rng = np.random.default_rng(1300)
    lo, hi = np.array([0.1, 0.05]), np.array([1.6, 0.8])
    p = np.tile([0.5, 0.1], (4, 1))
    return [
        Case((p, np.array([True, False, False, False]), np.full((4, 2), 0.5), lo, hi, np.array([False, False])),
             "uniform, u = 0.5: env 0 gets the midpoints [0.85, 0.425]; envs 1-3 did not reset and keep [0.5, 0.1]"),
        Case((p, np.ones(4, dtype=bool), np.array([[0.0, 0.0], [0.5, 0.5], [0.25, 0.75], [0.999, 0.1]]), lo, hi,
              _LOG2), "log-uniform, u = 0.5: the geometric midpoint √(0.1·1.6) = 0.4, not the mean 0.85; u = 0 → low"),
        Case((p, np.array([False, True, True, False]), rng.uniform(size=(4, 2)), lo, hi, np.array([True, False])),
             "a log-uniform length beside a uniform mass; only envs 1 and 2 reset"),
        Case((rng.uniform(0.1, 1, size=(16, 3)), rng.uniform(size=16) < 0.3, rng.uniform(size=(16, 3)),
              np.array([0.2, 1.0, 5.0]), np.array([2.0, 1.0, 50.0]), np.array([True, True, False])),
             "N = 16 envs, K = 3 parameters, a degenerate range low = high = 1 (always 1)"),
        Case((p, np.zeros(4, dtype=bool), rng.uniform(size=(4, 2)), lo, hi, _LOG2),
             "no env resets: every episode keeps its physics"),
    ]


def dr_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for N, K in [(5, 2), (32, 4), (1, 1)]:
        lo = rng.uniform(0.05, 1.0, size=K)
        hi = lo * rng.uniform(1.0, 20.0, size=K)
        cases.append(Case((rng.uniform(0.1, 1, size=(N, K)), rng.uniform(size=N) < 0.5, rng.uniform(size=(N, K)),
                           lo, hi, rng.uniform(size=K) < 0.5), f"random N={N} K={K}"))
    lo, hi = rng.uniform(0.05, 0.5, size=2), rng.uniform(1.0, 3.0, size=2)
    for reset, note in [(np.ones(6, bool), "every env resets"), (np.zeros(6, bool), "no env resets")]:
        cases.append(Case((rng.uniform(0.1, 1, size=(6, 2)), reset, rng.uniform(size=(6, 2)), lo, hi,
                           np.array([True, False])), note))
    return cases


# ---------------------------------------------------------------- L13_hindsight_relabel

def her_public() -> list[Case]:
    ach = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=np.int8)  # s'_0, s'_1, s'_2
    rng = np.random.default_rng(1310)
    T, n = 6, 5
    ep = rng.integers(0, 2, size=(T, n)).astype(np.int8)
    fut = np.array([rng.integers(t, T) for t in range(T)])
    batch = rng.integers(0, 2, size=(4, T, n)).astype(np.int8)
    fut_b = np.stack([[rng.integers(t, T) for t in range(T)] for _ in range(4)])
    return [
        Case((ach, np.array([0, 1, 2])), "j_t = t: every goal is the state just reached, every reward 0"),
        Case((ach, np.array([2, 2, 2])), "j_t = 2 (the final state): goals are all [1, 1, 1]; rewards [-1, -1, 0]"),
        Case((ep, fut), "T = 6, n = 5, random later indices j_t ≥ t"),
        Case((batch, fut_b), "a batch of 4 episodes (4, T, n) with indices (4, T): relabel within each episode"),
        Case((np.array([[0, 1], [0, 1]], dtype=np.int8), np.array([1, 1])),
             "a repeated state: s'_0 = s'_1, so the goal s'_1 is reached at t = 0 too (reward 0, not −1)"),
    ]


def her_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape in [(7, 4), (3, 10, 15), (1, 1), (2, 4, 6, 3)]:
        *B, T, n = shape
        ach = rng.integers(0, 2, size=shape).astype(np.int8)
        t = np.arange(T)
        fut = t + np.floor(rng.uniform(size=(*B, T)) * (T - t)).astype(np.int64)
        cases.append(Case((ach, fut), f"random episodes of shape {shape}"))
    ach = rng.integers(0, 2, size=(5, 4)).astype(np.int8)
    cases.append(Case((ach, np.arange(5)), "j_t = t: all rewards 0"))
    return cases


# ---------------------------------------------------------------- L13_distillation_loss

def kd_public() -> list[Case]:
    rng = np.random.default_rng(1320)
    return [
        Case((_t([[1.0, 2.0, 3.0]]), _t([[1.0, 2.0, 3.0]], True), 1.0), "student = teacher at τ = 1: KL = 0"),
        Case((_t([[0.0, np.log(3.0)]]), _t([[0.0, 0.0]], True), 1.0),
             "teacher (1/4, 3/4), uniform student: KL = ¼ log ½ + ¾ log(3/2) ≈ 0.1308 (not the reverse KL ≈ 0.1438)"),
        Case((_t(rng.normal(size=(8, 4))), _t(rng.normal(size=(8, 4)), True), 0.5),
             "B = 8 states, A = 4: τ = 0.5 divides the TEACHER's scores only; mean over states"),
        Case((_t(100 * rng.normal(size=(5, 3))), _t(rng.normal(size=(5, 3)), True), 0.01),
             "τ = 0.01 on Q-values (Rusu et al.): scores / τ ~ 10^4, use log-softmax, never log(softmax)"),
        Case((_t(rng.normal(size=(2, 3, 2))), _t(rng.normal(size=(2, 3, 2)), True), 1.0),
             "leading axes (2, 3): average over all 6 states"),
    ]


def kd_hidden(rng: np.random.Generator) -> list[Case]:
    return [Case((_t(s * rng.normal(size=shape)), _t(rng.normal(size=shape), True), tau), f"shape {shape}, τ = {tau}")
            for shape, s, tau in [((16, 2), 1.0, 1.0), ((4, 6), 30.0, 0.05), ((3, 2, 5), 2.0, 2.0), ((1, 2), 1.0, 1.0)]]


# ---------------------------------------------------------------- L13_mmd

def mmd_public() -> list[Case]:
    rng = np.random.default_rng(1330)
    x3 = rng.normal(size=(3, 2))
    return [
        Case((_t([[0.0]]), _t([[2.0]]), (1.0,)),
             "one point each, ‖x − y‖² = 4, σ = 1: MMD² = 1 + 1 − 2 exp(−4/2) = 2 − 2e⁻² ≈ 1.7293"),
        Case((_t(x3), _t(x3.copy()), (1.0,)), "the same 3 points on both sides: MMD² = 0 exactly (cross term × 2, "
             "diagonal included)"),
        Case((_t(rng.normal(size=(5, 3))), _t(rng.normal(size=(8, 3)) + 1.0), (0.5, 2.0)),
             "n = 5 source, m = 8 target features, two bandwidths: the kernels are SUMMED"),
        Case((_t(rng.normal(size=(16, 4)), True), _t(0.5 * rng.normal(size=(16, 4)) + 0.3, True), (1.0, 2.0, 4.0)),
             "B = 16 features each, d = 4, with gradients into both samples (what the adaptation loss backpropagates)"),
        Case((_t(rng.normal(size=(6, 2))), _t(rng.normal(size=(4, 2)) + 2.0), (100.0,)),
             "σ = 100 ≫ the data: σ² MMD² ≈ ‖mean(x) − mean(y)‖² (kernel exp(−d²/(2σ²)), not exp(−d²/σ²))"),
    ]


def mmd_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((_t(rng.normal(size=(n, d)), True), _t(rng.normal(size=(m, d)) + shift, True), bw),
                  f"n={n}, m={m}, d={d}, bandwidths {bw}")
             for n, m, d, shift, bw in [(7, 7, 3, 0.5, (1.0,)), (12, 5, 16, 1.0, (0.5, 1.0, 2.0, 4.0, 8.0)),
                                        (1, 9, 2, 0.0, (2.0,))]]
    x = rng.normal(size=(4, 5))
    cases.append(Case((_t(x), _t(x[::-1].copy()), (0.7, 3.0)), "the same set in another order: 0"))
    return cases


EXERCISES = [
    Exercise("L13_randomise_physics", transfer.randomise_physics, dr_public, dr_hidden, points=2,
             hint="Compute both draws for every row, low + u (high − low) and exp(log low + u (log high − log low)); "
                  "pick per column with np.where(log_scale, ...), then per row with np.where(reset[:, None], new, params)."),
    Exercise("L13_hindsight_relabel", transfer.hindsight_relabel, her_public, her_hidden, points=2,
             hint="goals = np.take_along_axis(achieved, future[..., None], axis=-2); the reward compares the state "
                  "reached at t (achieved[..., t, :]) with that goal: 0 if every bit matches, else −1."),
    Exercise("L13_distillation_loss", transfer.distillation_loss, kd_public, kd_hidden, points=2,
             hint="log p = log_softmax(teacher / τ) (detached), log q = log_softmax(student); "
                  "(p * (log p − log q)).sum(-1).mean()."),
    Exercise("L13_mmd", transfer.mmd2, mmd_public, mmd_hidden, points=2,
             hint="Stack z = [x; y]; squared distances d2 = ‖z_i − z_j‖² for all pairs; k = Σ_σ exp(−d2 / (2σ²)); "
                  "then k[:n, :n].mean() + k[n:, n:].mean() − 2 k[:n, n:].mean(), diagonal included."),
]
