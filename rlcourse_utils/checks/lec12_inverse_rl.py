"""Exercises of Lecture 12 (inverse RL): public and hidden cases, hand-computable first."""
from __future__ import annotations

import numpy as np
import torch

from rlcourse_utils import irl, soft_rl
from rlcourse_utils.checks.core import Case, Exercise
from rlcourse_utils.envs.tabular import random_mdp


def _t(x, grad: bool = False) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64)).requires_grad_(grad)


def _det_chain() -> tuple[np.ndarray, np.ndarray]:
    """Two states, two actions, deterministic: a0 goes to state 0, a1 to state 1."""
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = P[:, 1, 1] = 1.0
    return P, np.array([[0.0, 1.0], [0.0, 1.0]])


def _vis_case(P, R, mu0, H, note) -> Case:
    Q, _ = soft_rl.inference_backward_pass(P, R, H)
    return Case((P, R, np.asarray(mu0, dtype=np.float64), Q), note)


# ---------------------------------------------------------------- L12_visitation_frequencies

def vis_public() -> list[Case]:
    P, R = _det_chain()
    m = random_mdp(3, 2, seed=1201)
    g = random_mdp(5, 3, seed=1202)
    mu0 = np.zeros(5)
    mu0[2] = 1.0
    return [
        _vis_case(P, np.zeros((2, 2)), [1.0, 0.0], 1, "H = 1, r = 0, start in state 0: μ_0 = [[.5, .5], [0, 0]]"),
        _vis_case(P, R, [1.0, 0.0], 2,
                  "H = 2, a1 pays 1 and leads to state 1: μ_0(0, ·) ∝ β_0(0, ·) = [1 + e, e (1 + e)]; μ_1 needs α_1 too"),
        _vis_case(m.P, m.R, m.mu0, 3, "stochastic dynamics, 3 states: α_{t+1} sums α_t(s) exp(r(s, a)) p(s'|s, a)"),
        _vis_case(g.P, g.R, mu0, 4, "S = 5, A = 3, a start distribution with zeros (log 0 = −inf must not give NaN)"),
        _vis_case(m.P, 60.0 * m.R, m.mu0, 50,
                  "rewards × 60 and H = 50: exp(Σ r) overflows float64, so work in log space (log-sum-exp)"),
    ]


def vis_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for S, A, H, scale in [(4, 2, 3, 1.0), (6, 4, 5, 3.0), (3, 3, 30, 20.0), (2, 2, 1, 1.0), (4, 3, 60, 80.0)]:
        m = random_mdp(S, A, seed=int(rng.integers(1 << 30)))
        cases.append(_vis_case(m.P, scale * rng.normal(size=(S, A)), m.mu0, H, f"random MDP S={S} A={A} H={H}"))
    return cases


# ---------------------------------------------------------------- L12_maxent_irl_gradient

def grad_public() -> list[Case]:
    F1 = np.arange(4, dtype=np.float64).reshape(2, 2, 1)  # f(s, a) = 2 s + a
    mu1 = np.full((1, 2, 2), 0.25)
    rng = np.random.default_rng(1210)
    F = rng.normal(size=(3, 2, 4))
    mu = rng.dirichlet(np.ones(6), size=5).reshape(5, 3, 2)
    return [
        Case((F1, np.array([[1]]), np.array([[1]]), mu1),
             "N = 1, H = 1, K = 1: expert f(1, 1) = 3 minus expected (0 + 1 + 2 + 3)/4 = 1.5 → [1.5]"),
        Case((F1, np.array([[0], [1]]), np.array([[0], [1]]), mu1),
             "N = 2 demonstrations: their counts are averaged over demos ((0 + 3)/2 − 1.5 = 0)"),
        Case((F, rng.integers(3, size=(4, 5)), rng.integers(2, size=(4, 5)), mu),
             "N = 4, H = 5, K = 4: counts are summed over time, averaged over demos; expected Σ_t Σ_{s,a} μ_t f"),
        Case((F, rng.integers(3, size=(1, 5)), rng.integers(2, size=(1, 5)), mu), "a single demonstration, H = 5"),
    ]


def grad_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for S, A, K, N, H in [(4, 3, 2, 3, 2), (5, 4, 25, 10, 6), (2, 2, 1, 1, 7)]:
        mu = rng.dirichlet(np.ones(S * A), size=H).reshape(H, S, A)
        cases.append(Case((rng.normal(size=(S, A, K)), rng.integers(S, size=(N, H)), rng.integers(A, size=(N, H)),
                           mu), f"random S={S} A={A} K={K} N={N} H={H}"))
    return cases


# ---------------------------------------------------------------- L12_gail_discriminator_loss

def disc_public() -> list[Case]:
    rng = np.random.default_rng(1220)
    return [
        Case((_t([0.0, 0.0], True), _t([0.0, 0.0], True)), "D = 1/2 everywhere: log 2 + log 2 ≈ 1.386"),
        Case((_t([2.0], True), _t([-1.0, 3.0, 0.5], True)),
             "batches of different sizes (1 expert pair, 3 policy pairs): each expectation is its own batch's mean"),
        Case((_t([50.0, -40.0], True), _t([120.0, -200.0], True)),
             "large logits: log σ(x) = −softplus(−x) stays finite where log(sigmoid(x)) gives −inf"),
        Case((_t(rng.normal(size=16), True), _t(rng.normal(size=16), True)),
             "16 and 16 random logits: expert pairs are labelled 1, the policy's 0"),
    ]


def disc_hidden(rng: np.random.Generator) -> list[Case]:
    return [Case((_t(rng.normal(0, s, size=n), True), _t(rng.normal(0, s, size=m), True)), f"{n} vs {m} logits")
            for n, m, s in [(5, 9, 1.0), (64, 32, 3.0), (1, 1, 30.0)]]


EXERCISES = [
    Exercise("L12_visitation_frequencies", irl.visitation_frequencies, vis_public, vis_hidden, points=3,
             hint="log α_0 = log mu0; at each t: μ_t ∝ exp(log α_t(s) + Q_t(s, a)) normalised over (s, a); then "
                  "log α_{t+1}(s') = logsumexp over (s, a) of log α_t(s) + R(s, a) + log P(s, a, s'). "
                  "Subtract maxima before exp, and rescale log α each step."),
    Exercise("L12_maxent_irl_gradient", irl.maxent_irl_gradient, grad_public, grad_hidden, points=2,
             hint="features[states, actions] has shape (N, H, K): sum over time, mean over demonstrations; "
                  "subtract einsum('hsa,sak->k', mu, features)."),
    Exercise("L12_gail_discriminator_loss", irl.gail_discriminator_loss, disc_public, disc_hidden, points=2,
             hint="−log σ(x) = softplus(−x) and −log(1 − σ(x)) = softplus(x); take each batch's own mean."),
]
