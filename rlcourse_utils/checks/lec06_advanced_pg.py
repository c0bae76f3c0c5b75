"""Exercises of Lecture 6 (advanced policy gradients): public and hidden cases, hand-computable first.

Tensors a loss or divergence is differentiated through are created with requires_grad=True, so
the check also compares input gradients (a ratio whose old log-probabilities are not detached
has the right value and the wrong gradient). The public cases also hold every input form the
lecture's own loops pass: float32 batches as TRPO and PPO build them, and conjugate gradient's
``A`` as a function p ↦ A p (TRPO's Fisher-vector product) as well as a matrix.
"""
from __future__ import annotations


import numpy as np
import torch

from rlcourse_utils import trust_region
from rlcourse_utils.checks import wire
from rlcourse_utils.checks.core import Case, Exercise

# A callable A must cross the wire as plain data (the grader's child rebuilds it): ``wire.MatrixOperator``.
_OPERATOR = wire.MatrixOperator


def _fn(A: torch.Tensor):
    """A as the function p ↦ A p (what TRPO passes to conjugate gradient)."""
    return _OPERATOR(A.detach().numpy())


def _t(x, grad: bool = False, dtype=torch.float64) -> torch.Tensor:
    return torch.tensor(np.asarray(x), dtype=dtype).requires_grad_(grad)


def _log(probs, grad: bool = True, dtype=torch.float64) -> torch.Tensor:
    return _t(np.log(np.asarray(probs, dtype=np.float64)), grad, dtype)


def _randn(rng: np.random.Generator, shape, scale: float = 1.0, grad: bool = True, dtype=torch.float64):
    return _t(rng.normal(0, scale, shape), grad, dtype)


def _spd(rng: np.random.Generator, n: int, cond: float = 10.0) -> torch.Tensor:
    """A random symmetric positive-definite n × n matrix with eigenvalues from 1 to ``cond`` (float64)."""
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return _t(q @ np.diag(np.geomspace(1.0, cond, n)) @ q.T)


# ---------------------------------------------------------------- L06_categorical_kl

def ckl_public() -> list[Case]:
    rng = np.random.default_rng(601)
    return [
        Case((_log([0.5, 0.5]), _log([0.25, 0.75])),
             "p = [.5, .5], q = [.25, .75]: .5 log(.5/.25) + .5 log(.5/.75) = 0.1438 (KL(p‖q), not KL(q‖p) = 0.1308)"),
        Case((_log([0.2, 0.3, 0.5]), _log([0.2, 0.3, 0.5])), "p = q: KL = 0"),
        Case((_t([0.0, 0.0], True), _t([3.0, 3.0], True)),
             "logits [0, 0] and [3, 3] are the same distribution (logits are defined up to a constant): KL = 0"),
        Case((_t([0.0, 0.0], True, torch.float32), _t([0.0, -150.0], True, torch.float32)),
             "float32, q(a=1) = e^-150 underflows in softmax: use log_softmax; "
             "KL = .5 log .5 + .5 (log .5 + 150) ≈ 74.3"),
        Case((_randn(rng, (4, 3)), _randn(rng, (4, 3))), "a batch (B, A) = (4, 3): one KL per row, shape (4,)"),
        Case((_randn(rng, (6, 2), grad=False, dtype=torch.float32), _randn(rng, (6, 2), dtype=torch.float32)),
             "as TRPO calls it: float32 (B, 2) logits, the old policy's fixed (no grad), the new one's trained"),
    ]


def _ckl_extreme(rng: np.random.Generator) -> tuple:
    """float32 (1, 3) logits: p puts about -200 on one action, q about -300 on another one, where p has mass."""
    i, j = rng.permutation(3)[:2]
    p, q = rng.normal(0, 3, 3), rng.normal(0, 3, 3)
    p[i], q[j] = -rng.uniform(150.0, 250.0), -rng.uniform(250.0, 350.0)
    return _t(p[None, :], True, torch.float32), _t(q[None, :], True, torch.float32)


def ckl_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((_randn(rng, s, sc), _randn(rng, s, sc)), f"random logits {s}, scale {sc}")
             for s, sc in [((10, 2), 1.0), ((3, 5, 4), 2.0), ((6,), 0.5), ((1, 7), 5.0), ((8, 3), 0.01)]]
    cases += [
        Case(_ckl_extreme(rng), "float32, extreme logits on both sides (about -200 in p, -300 in q, elsewhere)"),
        Case((_t(rng.normal(size=(5, 3)) + 100.0, True), _t(rng.normal(size=(5, 3)) - 50.0, True)),
             "large offsets (the same distributions as without them)"),
    ]
    return cases


# ---------------------------------------------------------------- L06_gaussian_kl

def gkl_public() -> list[Case]:
    rng = np.random.default_rng(602)
    z = lambda: _t([0.0], True)  # noqa: E731
    return [
        Case((z(), z(), _t([1.0], True), z()), "N(0, 1) ‖ N(1, 1): (μ_p - μ_q)² / 2 = 0.5"),
        Case((z(), z(), z(), _t([1.0], True)),
             "N(0, 1) ‖ N(0, e²) (log σ_q = 1): log e + 1 / (2 e²) - 1/2 = 0.5677 (log_std is log σ, not σ)"),
        Case((_t([1.0], True), _t([1.0], True), z(), z()),
             "N(1, e²) ‖ N(0, 1): -1 + (e² + 1) / 2 - 1/2 = 2.6945 (not symmetric)"),
        Case((_t([0.0, 0.0], True), _t([0.0, 0.0], True), _t([1.0, 1.0], True), _t([0.0, 0.0], True)),
             "two action dimensions: summed over act_dim, 0.5 + 0.5 = 1"),
        Case((_randn(rng, (5, 3)), _randn(rng, (3,), 0.3), _randn(rng, (5, 3)), _randn(rng, (3,), 0.3)),
             "batch (5, 3) of means, state-independent log_std (3,): broadcast, one KL per row, shape (5,)"),
        Case(tuple(_randn(rng, (2,), 0.5, grad=False, dtype=torch.float32) for _ in range(4)),
             "float32 vectors of shape (act_dim,) = (2,), no grad (the lecture's Monte Carlo check): a scalar KL"),
    ]


def gkl_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((_randn(rng, s), _randn(rng, s, 0.5), _randn(rng, s), _randn(rng, s, 0.5)), f"random, shape {s}")
             for s in [(7, 1), (4, 6), (2, 3, 2), (5,)]]
    cases += [
        Case((_randn(rng, (6, 2)), _t([-rng.uniform(2.5, 3.5), rng.uniform(1.0, 2.0)], True), _randn(rng, (6, 2)),
              _t([rng.uniform(1.5, 2.5), -rng.uniform(0.5, 1.5)], True)),
             "very different scales (log σ from about -3 to 2), broadcast log_std"),
        Case(tuple(_t(x, True) for x in 2 * [rng.normal(size=(1, 2)), rng.normal(0, 0.5, (1, 2))]),
             "p = q: KL = 0"),
        Case(tuple(_randn(rng, (3,), 0.7, grad=False, dtype=torch.float32) for _ in range(4)), "float32, (act_dim,), no grad"),
    ]
    return cases


# ---------------------------------------------------------------- L06_conjugate_gradient

def cg_public() -> list[Case]:
    rng = np.random.default_rng(603)
    A2, b2 = _t([[4.0, 1.0], [1.0, 3.0]]), _t([1.0, 2.0])
    A5 = _spd(rng, 5)
    b5 = _t(rng.normal(size=5))
    cases = [
        Case((A2, b2, 2, 1e-10), "2 × 2 system, 2 iterations: exact, x = A⁻¹ b = [1/11, 7/11] = [0.0909, 0.6364]"),
        Case((A2, b2, 1, 1e-10),
             "1 iteration is steepest descent with exact line search: x = (bᵀb / bᵀAb) b = (5/20) [1, 2] = [.25, .5]"),
        Case((A2, b2, 0, 1e-10), "0 iterations: the start point x = 0"),
        Case((torch.eye(3, dtype=torch.float64) * 2, _t([2.0, -4.0, 6.0]), 5, 1e-10),
             "A = 2 I: solved in one iteration, x = b / 2 = [1, -2, 3]; then r = 0, so stop (no 0/0)"),
        Case((A5, b5, 3, 1e-10), "5 × 5 SPD, 3 iterations: the CG iterate x_3 (not the exact solution)"),
        Case((A5, torch.zeros(5, dtype=torch.float64), 4, 1e-10), "b = 0: x = 0 at once (the residual is already 0)"),
    ]
    cases += [
        Case((_fn(A2), b2, 2, 1e-10), "A given as a function p ↦ A p, as TRPO passes its Fisher-vector product: "
                                     "call A(p) when A is callable (A @ p fails on a function); x = [0.0909, 0.6364]"),
        Case((_fn(A5), _t(rng.normal(size=5), dtype=torch.float32), 10),
             "as TRPO calls it: cg(fvp, g, n_iters) with a function, float32 g, residual_tol left at its default"),
    ]
    return cases


def cg_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, cond, iters in [(8, 100.0, 8), (8, 100.0, 4), (20, 10.0, 10), (6, 1e3, 30), (12, 5.0, 1)]:
        cases.append(Case((_spd(rng, n, cond), _t(rng.normal(size=n)), iters, 1e-10),
                          f"SPD {n} × {n}, condition number {cond:g}, {iters} iterations"))
    c = float(2 ** rng.integers(1, 4))  # a power of 2 and an integer b: every float operation below is exact
    b = rng.choice([-1.0, 1.0], 4) * rng.integers(1, 6, 4)
    cases.append(Case((torch.eye(4, dtype=torch.float64) * c, _t(b), 6, 1e-10),
                      "A = c I (c = 2, 4 or 8), 6 iterations: exact after one, then the residual is exactly 0 "
                      "(stop, no 0/0)"))
    A = _spd(rng, 6, 50.0)
    cases.append(Case((A, _t(rng.normal(size=6)), 6, 1e-3), "a loose residual_tol = 1e-3 stops early"))
    cases.append(Case((A.to(torch.float32), _t(rng.normal(size=6), dtype=torch.float32), 3, 1e-10), "float32"))
    cases += [Case((_fn(_spd(rng, n, cond)), _t(rng.normal(size=n), dtype=dt), iters), f"A as a function, {n} × {n}, {dt}")
              for n, cond, iters, dt in [(7, 30.0, 7, torch.float64), (30, 10.0, 10, torch.float32),
                                         (4, 1e3, 2, torch.float64)]]
    return cases


# ---------------------------------------------------------------- L06_ppo_clip_loss

def ppo_public() -> list[Case]:
    rng = np.random.default_rng(604)
    lp_old = lambda n: _log(np.full(n, 0.5))  # noqa: E731
    B = 12
    return [
        Case((_log([0.8, 0.8]), lp_old(2), _t([1.0, -1.0], True), 0.2),
             "r = 1.6 on both: A = +1 → min(1.6, 1.2) = 1.2, A = -1 → min(-1.6, -1.2) = -1.6; "
             "loss = -(1.2 - 1.6)/2 = 0.2"),
        Case((_log([0.5, 0.5, 0.5]), lp_old(3), _t([2.0, -1.0, 0.5], True), 0.2),
             "r = 1 (the policy has not moved yet): loss = -mean(Â) = -0.5, gradient = the policy gradient"),
        Case((_log([0.25, 0.25]), lp_old(2), _t([1.0, -1.0], True), 0.2),
             "r = 0.5: A = +1 → min(0.5, 0.8) = 0.5 (not clipped: moving the wrong way is never rewarded), "
             "A = -1 → min(-0.5, -0.8) = -0.8 (clipped, zero gradient); loss = 0.15"),
        Case((_log([0.55, 0.45]), lp_old(2), _t([1.0, 1.0], True), 0.3),
             "r = 1.1 and 0.9 inside [0.7, 1.3]: nothing clipped, loss = -mean(r Â) = -1"),
        Case((_randn(rng, B, 0.3), _randn(rng, B, 0.3), _randn(rng, B), 0.2),
             "random batch of 12, logp_old and Â require grad: their gradient must be zero (detach them)"),
        Case((_randn(rng, 16, 0.3, dtype=torch.float32), _randn(rng, 16, 0.3, grad=False, dtype=torch.float32),
              _randn(rng, 16, grad=False, dtype=torch.float32), 0.2),
             "as PPO calls it: float32 minibatch of 16, logp_old and Â without grad"),
    ]


def ppo_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((_randn(rng, B, s), _randn(rng, B, s), _randn(rng, B), eps), f"random, B = {B}, ε = {eps}")
             for B, s, eps in [(64, 0.5, 0.2), (7, 0.1, 0.1), (100, 1.0, 0.3), (1, 0.4, 0.2)]]
    lp = _randn(rng, 20, 0.2)
    cases += [
        Case((lp, lp.detach().clone().requires_grad_(True), _randn(rng, 20), 0.2), "θ' = θ: r = 1 everywhere"),
        Case((_randn(rng, 30, 2.0), _randn(rng, 30, 2.0), _t(np.abs(rng.normal(size=30)), True), 0.05),
             "all advantages positive, ε = 0.05"),
        Case((_randn(rng, 30, 2.0, dtype=torch.float32), _randn(rng, 30, 2.0, dtype=torch.float32),
              _randn(rng, 30, dtype=torch.float32), 0.2), "float32"),
    ]
    return cases


EXERCISES = [
    Exercise("L06_categorical_kl", trust_region.categorical_kl, ckl_public, ckl_hidden, points=2,
             hint="normalise both with log_softmax, then sum over the last axis p·(log p - log q) with p = exp(log p); "
                  "the first argument is p (the expectation is under p)."),
    Exercise("L06_gaussian_kl", trust_region.gaussian_kl, gkl_public, gkl_hidden, points=2,
             hint="per dimension log(σ_q/σ_p) + (σ_p² + (μ_p - μ_q)²) / (2σ_q²) - 1/2 with σ = exp(log_std), "
                  "summed over the last axis."),
    Exercise("L06_conjugate_gradient", trust_region.conjugate_gradient, cg_public, cg_hidden, points=3,
             hint="x = 0, r = p = b; each iteration: stop if rᵀr < residual_tol, then α = rᵀr / pᵀAp, x += αp, "
                  "r -= αAp, p = r_new + (r_newᵀr_new / rᵀr) p. Products via A(p) if A is callable (TRPO's "
                  "Fisher-vector product), else A @ p: matvec = A if callable(A) else (lambda p: A @ p)."),
    Exercise("L06_ppo_clip_loss", trust_region.ppo_clip_loss, ppo_public, ppo_hidden, points=3,
             hint="r = exp(logp_new - logp_old) with logp_old and Â detached; "
                  "loss = -mean(min(r Â, clamp(r, 1-ε, 1+ε) Â))."),
]
