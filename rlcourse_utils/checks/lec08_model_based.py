"""Exercises of Lecture 8 (model-based RL): public and hidden cases, hand-computable first."""
from __future__ import annotations

import math

import numpy as np
import torch

from rlcourse_utils import model_based as mb
from rlcourse_utils.checks.core import Case, Exercise


def t(x, grad: bool = False) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=grad)


def _randn(g: torch.Generator, *shape: int, scale: float = 1.0, grad: bool = False) -> torch.Tensor:
    return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).requires_grad_(grad)


# ---------------------------------------------------------------- L08_delta_loss

def delta_public() -> list[Case]:
    return [
        Case((t([[0.0, 0.0]], True), t([[0.0, 0.0]]), t([[1.0, 1.0]]), t([1.0, 1.0]), t([1.0, 1.0])),
             "s' - s = μ_Δ = 1: the normalised target is 0, so a zero prediction has loss 0"),
        Case((t([[1.0, 2.0]], True), t([[0.0, 0.0]]), t([[3.0, 4.0]]), t([1.0, 1.0]), t([2.0, 2.0])),
             "target ((3, 4) - 0 - 1) / 2 = (1, 1.5); loss = (0² + 0.5²) / 2 = 0.125 (divide by σ_Δ)"),
        Case((t([[0.5, -0.5]], True), t([[10.0, -3.0]]), t([[11.0, -3.0]]), t([0.0, 0.0]), t([1.0, 1.0])),
             "s = (10, -3): the target is the change s' - s = (1, 0), not s'; loss = (0.25 + 0.25) / 2 = 0.25"),
        Case((t([[[0.0, 1.0], [2.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]], True), t([[[0.0, 0.0]] * 2] * 2),
              t([[[1.0, 1.0], [1.0, 3.0]], [[1.0, 1.0], [1.0, 1.0]]]), t([1.0, 1.0]), t([1.0, 2.0])),
             "a (K=2, B=2, 2) batch: the mean over every entry (K·B·obs_dim = 8), not a sum: 8 / 8 = 1"),
    ]


def _torch_gen(rng: np.random.Generator) -> torch.Generator:
    """A torch generator seeded from the grader's generator (so hidden inputs depend on the instructor's secret)."""
    return torch.Generator().manual_seed(int(rng.integers(2 ** 62)))


def delta_hidden(rng: np.random.Generator) -> list[Case]:
    g, cases = _torch_gen(rng), []
    for shape in [(5, 3), (4, 7, 3), (1, 1), (2, 3, 6, 2)]:
        D = shape[-1]
        obs = _randn(g, *shape, scale=3.0)
        cases.append(Case((_randn(g, *shape, grad=True), obs, obs + _randn(g, *shape, scale=0.2) + 0.3,
                           _randn(g, D, scale=0.1) + 0.3, _randn(g, D).abs() * 0.2 + 0.05), f"random batch {shape}"))
    return cases


# ---------------------------------------------------------------- L08_ensemble_return

UNIT = (t([0.0, 0.0, 0.0, 0.0]), t([1.0, 1.0, 1.0, 1.0]))  # inputs left as they are


def _zero_net(K: int, sizes: tuple[int, ...]) -> tuple:
    return tuple(p for a, b in zip(sizes[:-1], sizes[1:]) for p in (torch.zeros(K, a, b, dtype=torch.float64),
                                                                   torch.zeros(K, 1, b, dtype=torch.float64)))


def _random_net(g: torch.Generator, K: int, sizes: tuple[int, ...], scale: float = 0.5) -> tuple:
    return tuple(p for a, b in zip(sizes[:-1], sizes[1:]) for p in (_randn(g, K, a, b, scale=scale),
                                                                   _randn(g, K, 1, b, scale=0.1)))


def _random_stats(g: torch.Generator) -> tuple:
    return (_randn(g, 4, scale=0.2), _randn(g, 4).abs() + 0.5, _randn(g, 3, scale=0.05), _randn(g, 3).abs() * 0.1 + 0.05)


def _obs(theta: list[float], thetadot: list[float]) -> torch.Tensor:
    th = torch.tensor(theta, dtype=torch.float64)
    return torch.stack([th.cos(), th.sin(), torch.tensor(thetadot, dtype=torch.float64)], -1)


def ret_public() -> list[Case]:
    g = torch.Generator().manual_seed(801)
    linear = (t([[[0.0, 0.0, 0.0]] * 4, [[0.0, 0.0, 0.0]] * 4]), t([[[0.0, 0.0, 1.0]], [[0.0, 0.0, -2.0]]]))
    return [
        Case((_zero_net(3, (4, 8, 3)), UNIT + (t([0.0, 0.0, 0.0]), t([1.0, 1.0, 1.0])), t([[1.0, 0.0, 0.0]]),
              t([[[2.0]]])),
             "H = 1: only r(s_0, a_0) = -(0² + 0.1·0² + 0.001·2²) = -0.004, for each of the K = 3 members: shape (3, 1)"),
        Case((_zero_net(1, (4, 3)), UNIT + (t([0.0, 0.0, 1.0]), t([1.0, 1.0, 1.0])), t([[1.0, 0.0, 0.0]]),
              t([[[0.0], [0.0], [0.0]]])),
             "zero network: every step adds μ_Δ = (0, 0, 1), θ̇ = 0, 1, 2; rewards taken *before* each step: "
             "-(0 + 0.1 + 0.4) = -0.5"),
        Case((linear, UNIT + (t([0.0, 0.0, 0.0]), t([1.0, 1.0, 1.0])), t([[1.0, 0.0, 0.0]]), t([[[0.0], [0.0], [0.0]]])),
             "two members: θ̇ grows by +1 in member 0 and by -2 in member 1; each propagates its own state: "
             "[[-0.5], [-2.0]] (averaging the states would give θ̇ = -0.5, -1 and the same row twice)"),
        Case((_zero_net(2, (4, 3)), UNIT + (t([0.0, 0.0, 0.0]), t([1.0, 1.0, 2.0])),
              _obs([math.pi / 2, -3.0], [1.0, 0.0]), t([[[1.0]], [[-1.0]]])),
             "H = 1, θ = π/2 and -3 (θ = atan2(sin θ, cos θ)): r = -(π²/4 + 0.1 + 0.001), -(9 + 0.001)"),
        Case((_random_net(g, 2, (4, 3)), (t([0.5, 0.0, 1.0, 0.0]), t([2.0, 1.0, 4.0, 1.0]), t([0.1, 0.0, -0.2]),
                                             t([0.5, 0.1, 2.0])),
              _obs([0.3, 2.0], [0.5, -1.0]), t([[[1.0], [-1.0]], [[0.5], [2.0]]])),
             "a linear model with normalisation: x = ([s, a] - in_mean) / in_std, s' = s + μ_Δ + σ_Δ f(x)"),
        Case((_random_net(g, 3, (4, 6, 6, 3)), _random_stats(g), _obs([3.0, -0.5, 1.0, 0.0], [0.0, 2.0, -4.0, 1.0]),
              (2 * torch.rand(4, 5, 1, generator=g, dtype=torch.float64) - 1).requires_grad_()),
             "a 2-hidden-layer ReLU ensemble, K = 3, N = 4, H = 5; the return is differentiable in the actions"),
    ]


def ret_hidden(rng: np.random.Generator) -> list[Case]:
    g, cases = _torch_gen(rng), []
    for K, N, H, sizes in [(5, 7, 6, (4, 16, 16, 3)), (1, 3, 4, (4, 8, 3)), (2, 1, 10, (4, 5, 5, 5, 3)),
                           (4, 6, 1, (4, 3)), (3, 5, 8, (4, 12, 12, 3))]:
        obs0 = _obs((torch.rand(N, generator=g) * 6.28 - 3.14).tolist(), (torch.randn(N, generator=g) * 3).tolist())
        acts = (4 * torch.rand(N, H, 1, generator=g, dtype=torch.float64) - 2).requires_grad_(H > 3)
        cases.append(Case((_random_net(g, K, sizes, 0.4), _random_stats(g), obs0, acts),
                          f"random ensemble K={K}, N={N}, H={H}, layers {sizes}"))
    return cases


# ---------------------------------------------------------------- L08_gaussian_nll

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)  # 0.9189


def nll_public() -> list[Case]:
    g = torch.Generator().manual_seed(803)
    return [
        Case((t([0.0], True), t([0.0], True), t([0.0])),
             f"y = μ, σ² = 1: only the constant ½ log 2π = {HALF_LOG_2PI:.4f} is left"),
        Case((t([1.0], True), t([0.0], True), t([3.0])),
             f"y - μ = 2, σ² = 1: ½ (4 + 0 + log 2π) = {2 + HALF_LOG_2PI:.4f}"),
        Case((t([0.0], True), t([1.0], True), t([0.0])),
             f"y = μ, log σ² = 1: a wider Gaussian pays + ½ log σ² even without error: ½ (0 + 1 + log 2π) = "
             f"{0.5 + HALF_LOG_2PI:.4f}"),
        Case((t([1.0], True), t([math.log(4.0)], True), t([3.0])),
             f"y - μ = 2, log σ² = log 4 (σ² = 4, σ = 2): ½ (4/4 + log 4 + log 2π) = "
             f"{0.5 + math.log(2.0) + HALF_LOG_2PI:.4f} (divide by the variance σ², not by σ, nor multiply)"),
        Case((t([0.0, 0.0], True), t([-2.0, 1.0], True), t([0.5, 0.5])),
             f"two entries, log σ² = -2 and 1: the mean of ½ (0.25 e² - 2 + log 2π) and ½ (0.25 e⁻¹ + 1 + log 2π) = "
             f"{0.25 * (0.25 * math.e ** 2 - 2 + 0.25 / math.e + 1) + HALF_LOG_2PI:.4f}, not their sum"),
        Case((_randn(g, 2, 3, 2, grad=True), _randn(g, 2, 3, 2, scale=0.5, grad=True), _randn(g, 2, 3, 2)),
             "a (K=2, B=3, D=2) batch: the mean over every entry (12); gradients in μ and log σ²"),
        Case((_randn(g, 5, 3, grad=True), _randn(g, 3, scale=0.5, grad=True), _randn(g, 5, 3)),
             "log σ² of shape (D,) shared by the batch (5, D): the arguments broadcast"),
    ]


def nll_hidden(rng: np.random.Generator) -> list[Case]:
    g, cases = _torch_gen(rng), []
    for shape, lv_shape in [((7, 3), (7, 3)), ((4, 6, 3), (4, 6, 3)), ((1,), (1,)), ((2, 3, 5, 2), (2, 3, 5, 2)),
                            ((8, 4), (4,)), ((5, 16, 6), (5, 16, 6))]:
        mean = _randn(g, *shape, grad=True)
        cases.append(Case((mean, (_randn(g, *lv_shape, scale=2.0) - 1).requires_grad_(),
                           mean.detach() + _randn(g, *shape, scale=0.7)),
                          f"random batch {shape}, log σ² {lv_shape}"))
    return cases


EXERCISES = [
    Exercise("L08_delta_loss", mb.normalised_delta_loss, delta_public, delta_hidden, points=2,
             hint="target = (next_obs - obs - delta_mean) / delta_std (the normalised change, not next_obs), "
                  "then ((pred - target) ** 2).mean() over every entry."),
    Exercise("L08_ensemble_return", mb.ensemble_return, ret_public, ret_hidden, points=3,
             hint="expand obs0 to (K, N, obs_dim) and loop over t: add r(s_t, a_t) of the state *before* the step, "
                  "then x = (cat([s, a], -1) - in_mean) / in_std, h = x @ W + b with torch.relu between layers, "
                  "s = s + delta_mean + delta_std * h. Each member keeps its own s (never average across K)."),
    Exercise("L08_gaussian_nll", mb.gaussian_nll, nll_public, nll_hidden, points=2,
             hint="0.5 * ((target - mean) ** 2 * torch.exp(-log_var) + log_var + math.log(2 * math.pi)), then "
                  ".mean() over every entry: log_var is log σ² (the variance), and the log σ² term is what stops "
                  "σ² from growing without bound."),
]
