"""Exercises of Lecture 16 (meta-RL): public and hidden cases, hand-computable first.

``mlp_apply`` is checked on one network (P,) with (K, d) inputs, one network applied to a batch of tasks,
and one network per task (B, P); the input gradients are compared too, so a wrong layout that happens to
give the right value on one input still fails. ``maml_inner_step`` gets a linear model small enough to do by
hand (its meta-gradient through the step is printed in the case), the second-order and first-order
variants on the same inputs (same value, different gradient with respect to θ), per-task parameters,
the sinusoid MLP in float32 as the training loop passes it, and a θ without gradient as the evaluation
passes it. ``product_of_gaussians`` gets one factor, equal and unequal variances, tasks × factors × dims.
"""
from __future__ import annotations

import numpy as np
import torch

from rlcourse_utils import meta
from rlcourse_utils.checks.core import Case, Exercise


def _t(x, grad: bool = True, dtype=torch.float64) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=dtype).requires_grad_(grad)


def _theta(rng: np.random.Generator, sizes, batch: tuple[int, ...] = (), grad: bool = True, dtype=torch.float64):
    return _t(rng.normal(0, 0.7, (*batch, meta.n_params(sizes))), grad, dtype)


# ---------------------------------------------------------------- L16_mlp_apply

_W_HAND = [1.0, -1.0, 0.5, 2.0, 0.0, 0.0, 1.0, 1.0, -3.0]  # sizes (2, 2, 1): W0 = [[1, -1], [0.5, 2]], b0 = 0, W1 = [1, 1]ᵀ, b1 = -3


def mlp_public() -> list[Case]:
    rng = np.random.default_rng(1600)
    return [
        Case((_t([2.0, 1.0]), _t([[3.0], [-1.0]], grad=False), (1, 1)),
             "sizes (1, 1), a linear model W = 2, b = 1: inputs 3 and −1 → 7 and −1"),
        Case((_t(_W_HAND), _t([[1.0, 1.0], [2.0, -1.0]], grad=False), (2, 2, 1)),
             "sizes (2, 2, 1): x = (1, 1) → hidden relu(1.5, 1) → 1.5 + 1 − 3 = −0.5; x = (2, −1) → hidden "
             "relu(1.5, −4) = (1.5, 0) → −1.5 (a ReLU that clips; no ReLU on the output)"),
        Case((_theta(rng, (3, 4, 2)), _t(rng.normal(size=(5, 3))), (3, 4, 2)),
             "one network (P,), inputs (K, d) = (5, 3), two outputs; gradients w.r.t. θ and x compared"),
        Case((_theta(rng, (1, 6, 5, 1)), _t(rng.normal(size=(4, 7, 1)), grad=False), (1, 6, 5, 1)),
             "one network (P,) applied to a batch of tasks x (B, K, d) = (4, 7, 1) → (4, 7, 1)"),
        Case((_theta(rng, (1, 6, 5, 1), (4,)), _t(rng.normal(size=(4, 7, 1)), grad=False), (1, 6, 5, 1)),
             "one network per task: θ (B, P) = (4, P), x (4, 7, 1): task b's inputs through task b's network"),
        Case((_theta(rng, (1, 40, 40, 1), (3,), dtype=torch.float32),
              _t(rng.uniform(-5, 5, (3, 10, 1)), grad=False, dtype=torch.float32), (1, 40, 40, 1)),
             "the sinusoid network (1, 40, 40, 1) in float32, 3 tasks × 10 points, as the MAML loop calls it"),
    ]


def mlp_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for sizes, batch, xshape in [((2, 3, 1), (), (6, 2)), ((1, 4, 4, 2), (5,), (5, 3, 1)), ((3, 2), (2,), (2, 4, 3)),
                                 ((2, 5, 3, 4, 1), (), (3, 2, 2)), ((1, 1), (), (1, 1))]:
        cases.append(Case((_theta(rng, sizes, batch), _t(rng.normal(size=xshape)), sizes),
                          f"random sizes {sizes}, θ batch {batch}, x {xshape}"))
    return cases


# ---------------------------------------------------------------- L16_maml_inner_step

def inner_public() -> list[Case]:
    rng = np.random.default_rng(1601)
    x1, y1 = _t([[[1.0], [2.0]]], grad=False), _t([[[3.0], [5.0]]], grad=False)
    s_sin = (1, 40, 40, 1)
    amp, phase = meta.sinusoid_tasks(5, rng)
    xs, ys = meta.sinusoid_data(amp, phase, 10, rng)
    return [
        Case((_t([1.0, 0.0]), x1, y1, 0.1, (1, 1)),
             "linear f = w x + b, θ = (1, 0), points (1, 3), (2, 5): ∇L = (−8, −5), θ' = (1.8, 0.5); the gradient of "
             "sum(θ') w.r.t. θ is (I − αH)ᵀ1 = (0.2, 0.5) with H = [[5, 3], [3, 2]]: the step must stay in the graph"),
        Case((_t([1.0, 0.0]), x1, y1, 0.1, (1, 1), True),
             "the same with first_order=True: the same θ' = (1.8, 0.5), but its gradient w.r.t. θ is (1, 1)"),
        Case((_theta(rng, (1, 8, 1)), _t(rng.normal(size=(3, 6, 1)), grad=False), _t(rng.normal(size=(3, 6, 1)), grad=False),
              0.05, (1, 8, 1)),
             "a shared θ (P,) and B = 3 tasks: each task's own gradient, θ' (3, P), not their sum"),
        Case((_theta(rng, (2, 5, 2), (2,)), _t(rng.normal(size=(2, 4, 2)), grad=False), _t(rng.normal(size=(2, 4, 2)), grad=False),
              0.2, (2, 5, 2)),
             "per-task θ (B, P) = (2, P) (a second inner step), two outputs: the loss averages over K and d_out"),
        Case((_theta(rng, s_sin, dtype=torch.float32), xs, ys, 0.01, s_sin),
             "the sinusoid MLP (1, 40, 40, 1) in float32, 5 tasks × 10 shots, α = 0.01, as meta-training calls it"),
        Case((_theta(rng, (1, 8, 1), (4,), grad=False), _t(rng.normal(size=(4, 10, 1)), grad=False),
              _t(rng.normal(size=(4, 10, 1)), grad=False), 0.01, (1, 8, 1), True),
             "θ (B, P) without requires_grad, first_order=True: the evaluation's call (it must still take the step)"),
    ]


def inner_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for sizes, batch, B, K, alpha, fo in [((1, 6, 1), (), 4, 5, 0.1, False), ((2, 4, 3, 1), (3,), 3, 7, 0.05, False),
                                          ((1, 1), (), 2, 3, 0.3, False), ((3, 5, 2), (), 5, 4, 0.02, True),
                                          ((1, 10, 1), (2,), 2, 10, 0.01, False)]:
        x = _t(rng.normal(size=(B, K, sizes[0])), grad=False)
        y = _t(rng.normal(size=(B, K, sizes[-1])), grad=False)
        cases.append(Case((_theta(rng, sizes, batch), x, y, alpha, sizes, fo),
                          f"random sizes {sizes}, θ batch {batch}, B = {B}, K = {K}, α = {alpha}, first_order {fo}"))
    cases.append(Case((_theta(rng, (1, 5, 1), (3,), grad=False), _t(rng.normal(size=(3, 4, 1)), grad=False),
                       _t(rng.normal(size=(3, 4, 1)), grad=False), 0.1, (1, 5, 1), True), "θ without gradient"))
    return cases


# ---------------------------------------------------------------- L16_product_of_gaussians

def pog_public() -> list[Case]:
    rng = np.random.default_rng(1602)
    return [
        Case((_t([[0.7]]), _t([[2.0]])), "one factor N(0.7, 2): the posterior is that factor"),
        Case((_t([[0.0], [2.0]]), _t([[1.0], [1.0]])), "N(0, 1) · N(2, 1) ∝ N(1, 0.5): equal variances, variance halves"),
        Case((_t([[0.0], [3.0]]), _t([[1.0], [2.0]])),
             "N(0, 1) · N(3, 2): precision 1 + 1/2 = 1.5, variance 2/3, mean (0/1 + 3/2) / 1.5 = 1 (not the plain mean 1.5)"),
        Case((_t(rng.normal(size=(5, 3))), _t(rng.uniform(0.2, 3.0, (5, 3)))), "N = 5 factors over a d = 3 variable"),
        Case((_t(rng.normal(size=(4, 6, 2))), _t(rng.uniform(0.1, 2.0, (4, 6, 2)))),
             "a batch of 4 tasks × 6 context factors × d = 2: reduce over the factor axis (−2) only"),
        Case((_t([[0.0, 0.0], [5.0, -1.0]]), _t([[1.0, 1.0], [1e6, 1e-6]])),
             "a nearly flat factor (σ² = 1e6) barely moves the prior; a sharp one (σ² = 1e−6) dominates"),
    ]


def pog_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape in [(1, 1), (3, 1), (7, 4), (2, 5, 3), (3, 2, 4, 2)]:
        cases.append(Case((_t(rng.normal(0, 2, shape)), _t(rng.uniform(0.05, 5.0, shape))), f"random {shape}"))
    return cases


EXERCISES = [
    Exercise("L16_mlp_apply", meta.mlp_apply, mlp_public, mlp_hidden, points=2,
             hint="Walk the layers with an offset i: W = θ[..., i:i+m·n] reshaped to (B, m, n), then b = the next n "
                  "entries as (B, 1, n); h = h @ W + b; ReLU between layers, not after the last. Give θ a leading "
                  "axis (unsqueeze(0)) when it is (P,), and x one when it is (K, d); squeeze it back at the end."),
    Exercise("L16_maml_inner_step", meta.maml_inner_step, inner_public, inner_hidden, points=3,
             hint="θ_b = θ.expand(B, −1) for a shared (P,) θ; loss = Σ_b mean_{k,out} (mlp_apply(θ_b, x, sizes) − y)²; "
                  "g = torch.autograd.grad(loss, θ_b, create_graph=not first_order)[0]; return θ_b − α g. If θ_b does "
                  "not require grad, differentiate w.r.t. θ_b.detach().requires_grad_(True)."),
    Exercise("L16_product_of_gaussians", meta.product_of_gaussians, pog_public, pog_hidden, points=2,
             hint="Precisions add: 1/σ² = Σ_n 1/σ_n² over axis −2; the mean is σ² Σ_n μ_n/σ_n², a precision-weighted "
                  "mean (not the plain average). Return the tuple (mean, variance)."),
]
