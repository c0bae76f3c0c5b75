"""Exercises of Lecture 10 (variational inference): public and hidden cases, hand-computable first."""
from __future__ import annotations

import math

import numpy as np
import torch

from rlcourse_utils import variational
from rlcourse_utils.checks.core import Case, Exercise


def _t(a, grad: bool = False, dtype=torch.float32) -> torch.Tensor:
    return torch.tensor(np.asarray(a), dtype=dtype).requires_grad_(grad)


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _vae_case(seed, x_shape: tuple[int, ...], d: int, dtype=torch.float32, scale: float = 1.0) -> tuple:
    """Random binary x (*x_shape), logits of the same shape, and (*batch, d) encoder outputs, all but x
    requiring grad (``seed``: an int, or the grader's Generator)."""
    rng = _rng(seed)
    batch = x_shape[:-1]
    return (_t(rng.integers(0, 2, x_shape), dtype=dtype), _t(scale * rng.normal(size=x_shape), True, dtype),
            _t(rng.normal(size=(*batch, d)), True, dtype), _t(0.5 * rng.normal(size=(*batch, d)), True, dtype))


# ---------------------------------------------------------------- L10_vae_elbo

def vae_elbo_public() -> list[Case]:
    return [
        Case((_t([1.0, 0.0]), _t([0.0, 0.0], True), _t([0.0], True), _t([0.0], True)),
             "logits 0: each pixel has probability ½, log p(x|z) = 2 log ½ = −1.3863; q = N(0, 1) = p(z), KL = 0"),
        Case((_t([1.0]), _t([0.0], True), _t([1.0], True), _t([math.log(2.0)], True)),
             "μ = 1, σ = 2: KL = ½(μ² + σ² − 1 − 2 log σ) = 2 − log 2, ELBO = log ½ − (2 − log 2) = −2 (SUBTRACT "
             "the KL; log σ, not log σ²)"),
        Case((_t([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]), _t([[100.0, -200.0, 3.0], [-100.0, 100.0, 0.5]], True),
              _t([[0.0], [0.0]], True), _t([[0.0], [0.0]], True)),
             "large logits: use F.logsigmoid (log(1 − sigmoid(l)) = logsigmoid(−l)). In float32 log(sigmoid(−200)) "
             "= −inf and 0 · (−inf) = nan; row 2's second pixel is 0 at logit +100: its log-likelihood is −100, "
             "not log(1 − 1) = −inf"),
        Case(_vae_case(1000, (5, 8), 3), "a batch: x (B, D) = (5, 8), μ, log σ (B, d) = (5, 3); sum over pixels and "
                                         "latent dimensions, one ELBO per row"),
        Case(_vae_case(1001, (4, 3, 6), 2), "leading axes (K, B, D) = (4, 3, 6): the last axis only"),
        Case(_vae_case(1002, (7,), 2, torch.float64), "one unbatched example in float64: x (D,), μ (d,)"),
    ]


def vae_elbo_hidden(rng: np.random.Generator) -> list[Case]:
    return [
        Case(_vae_case(rng, (16, 64), 4), "digits-sized batch (16, 64), d = 4"),
        Case(_vae_case(rng, (2, 5, 3), 1, torch.float64), "(2, 5, 3) float64, d = 1"),
        Case(_vae_case(rng, (6, 10), 5, scale=60.0), "large logits ±60·N(0, 1)"),
        Case((_t([0.0, 1.0, 1.0]), _t([-2.0, 1.0, 0.0], True), _t([0.5, -1.5], True), _t([-1.0, 0.3], True)),
             "unbatched, d = 2"),
        Case(_vae_case(rng, (1, 1), 1), "B = D = d = 1"),
    ]


# ---------------------------------------------------------------- L10_score_function_surrogate

def _sf_case(seed, shape: tuple[int, ...], baseline_shape: tuple[int, ...] | None, dtype=torch.float32) -> tuple:
    rng = _rng(seed)
    b = rng.normal() if baseline_shape is None else rng.normal(size=baseline_shape)
    return _t(rng.normal(size=shape), True, dtype), _t(rng.normal(size=shape), True, dtype), _t(b, dtype=dtype)


def sf_public() -> list[Case]:
    return [
        Case((_t([1.0, 3.0], True), _t([2.0, 4.0]), _t(1.0)),
             "(1/M) Σ_j log q_j (f_j − b) = (1·(2 − 1) + 3·(4 − 1)) / 2 = 5; its gradient in log q is (f − b)/M = [.5, 1.5]"),
        Case((_t([1.0, 3.0], True), _t([2.0, 4.0], True), _t(0.0)),
             "f carries a graph (requires_grad): only log q may be differentiated, so the gradient in f must be 0 "
             "(detach f − b)"),
        Case(_sf_case(1100, (6, 3), (3,)), "M = 6 samples of B = 3 examples, one baseline per example (B,): "
                                           "average over the sample axis 0 only, result (B,)"),
        Case(_sf_case(1101, (1, 4), None), "M = 1 sample, a scalar baseline"),
        Case(_sf_case(1102, (5, 2, 3), (2, 3), torch.float64), "float64, leading axes (M, B1, B2) = (5, 2, 3)"),
    ]


def sf_hidden(rng: np.random.Generator) -> list[Case]:
    return [
        Case(_sf_case(rng, (200,), None), "M = 200 samples, scalar baseline"),
        Case(_sf_case(rng, (3, 7), (7,), torch.float64), "(3, 7) float64"),
        Case(_sf_case(rng, (4, 2, 2), (2, 2)), "(4, 2, 2)"),
        Case((_t([-2.0, 0.5, 1.0], True), _t([1.0, 1.0, 1.0], True), _t(1.0)),
             "f = b everywhere: the surrogate and its gradient are 0"),
    ]


# ---------------------------------------------------------------- L10_iwae_bound

def _iwae_case(seed, shape: tuple[int, ...], offset: float = 0.0, dtype=torch.float32) -> tuple:
    rng = _rng(seed)
    return _t(offset + 3 * rng.normal(size=shape), True, dtype), _t(rng.normal(size=shape), True, dtype)


def iwae_public() -> list[Case]:
    return [
        Case((_t([0.0, 0.0], True), _t(np.log([0.5, 1.0]), True)),
             "weights p/q = [2, 1]: L_2 = log((2 + 1)/2) = log 1.5 = 0.4055 (the mean of the weights, not their sum)"),
        Case((_t([[-3.0, 1.0]], True), _t([[-1.0, -1.0]], True)),
             "K = 1 (one row): L_1 = log p − log q = [−2, 2], the single-sample ELBO"),
        Case((_t([-1000.0, -1001.0, -1002.0], True), _t([0.0, 0.0, 0.0], True)),
             "log weights near −1000: exp underflows to 0 in float32, so use torch.logsumexp: "
             "L_3 = −1000 + log(1 + e⁻¹ + e⁻²) − log 3 = −1000.5923"),
        Case(_iwae_case(1200, (10, 4)), "K = 10 samples of B = 4 examples: reduce over axis 0 only, result (B,)"),
        Case(_iwae_case(1201, (5, 2, 3), 500.0, torch.float64), "float64, log weights near +500 (exp overflows), "
                                                               "leading axes (K, B1, B2) = (5, 2, 3)"),
    ]


def iwae_hidden(rng: np.random.Generator) -> list[Case]:
    return [
        Case(_iwae_case(rng, (100, 3)), "K = 100"),
        Case(_iwae_case(rng, (2, 6), -800.0), "K = 2, log weights near −800"),
        Case(_iwae_case(rng, (1, 5), dtype=torch.float64), "K = 1, float64"),
        Case(_iwae_case(rng, (7,), 30.0), "unbatched K = 7"),
    ]


EXERCISES = [
    Exercise("L10_vae_elbo", variational.vae_elbo, vae_elbo_public, vae_elbo_hidden, points=3,
             hint="log p(x|z) = (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum(-1); "
                  "KL(N(μ, σ²) ‖ N(0, 1)) = ½ Σ (μ² + σ² − 1 − 2 log σ) with σ² = exp(2 log_std), summed over the "
                  "last axis; return log p(x|z) − KL."),
    Exercise("L10_score_function_surrogate", variational.score_function_surrogate, sf_public, sf_hidden, points=2,
             hint="(log_q * (f - baseline).detach()).mean(0): the samples' reward is a constant weight on "
                  "∇ log q, so it must not be differentiated; average over the sample axis 0 only."),
    Exercise("L10_iwae_bound", variational.iwae_bound, iwae_public, iwae_hidden, points=2,
             hint="log w = log_p_xz − log_q_z; return torch.logsumexp(log w, dim=0) − log K with K = log w.shape[0] "
                  "(never log(exp(log w).mean(0)), which underflows or overflows)."),
]
