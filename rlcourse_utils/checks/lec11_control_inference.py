"""Exercises of Lecture 11 (control as inference): public and hidden cases, hand-computable first.

The backward pass is checked on stochastic dynamics too, where the variational backup r + E[V'] and the
optimistic one r + log E[exp V'] differ (on deterministic dynamics they agree, so only a stochastic case can tell
them apart). The temperature loss gets a log-probability tensor that carries a gradient, so an answer that lets
the loss reach the policy is caught even when its value is right.
"""
from __future__ import annotations

import numpy as np
import torch

from rlcourse_utils import soft_rl
from rlcourse_utils.checks.core import Case, Exercise
from rlcourse_utils.envs.tabular import chain_mdp, random_mdp, two_state_mdp


def _det_mdp() -> tuple[np.ndarray, np.ndarray]:
    """Two states, two actions, deterministic: a0 stays, a1 moves to state 1. r(0,·) = (0, 1), r(1,·) = (2, 2)."""
    P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    R = np.array([[0.0, 1.0], [2.0, 2.0]])
    return P, R


# ---------------------------------------------------------------- L11_soft_value

def soft_value_public() -> list[Case]:
    rng = np.random.default_rng(1101)
    return [
        Case((np.array([0.0, np.log(3.0)]), 1.0), "α = 1: log(e^0 + e^log 3) = log 4 = 1.3863"),
        Case((np.array([2.0, 2.0, 2.0, 2.0]), 0.5), "four equal values: 2 + α log 4 = 2.6931 (the soft max exceeds the max)"),
        Case((np.array([0.0, np.log(3.0)]), 0.5),
             "α = 0.5: 0.5 log(e^0 + e^(2 log 3)) = 0.5 log 10 = 1.1513 (divide by α inside, multiply outside)"),
        Case((np.array([1.0, 3.0, 2.0]), 1e-3), "α = 0.001: the max, 3 (no overflow from Q / α = 3000)"),
        Case((np.array([1000.0, 999.0]), 1.0), "Q = 1000: 1000 + log(1 + e^-1) = 1000.3133 without overflow (subtract the max)"),
        Case((np.array([[1.0, 2.0], [-3.0, 0.0], [5.0, 5.0]]), 1.0),
             "a batch of states, Q of shape (S, A) = (3, 2): one value per row, over the LAST axis"),
        Case((rng.normal(0, 3, (4, 5, 3)), 0.7), "Q of shape (H, S, A) = (4, 5, 3), as the backward pass holds it"),
        Case((rng.normal(0, 30, (64, 2)).astype(np.float32), 0.05),
             "float32 (B, A) = (64, 2) from a network, α = 0.05: large Q / α"),
    ]


def soft_value_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((rng.normal(0, s, shape), a), f"random Q {shape}, α = {a}")
             for shape, s, a in [((5,), 1.0, 1.0), ((7, 3), 2.0, 0.3), ((2, 3, 4), 5.0, 2.0), ((1,), 1.0, 0.5),
                                 ((6, 2), 100.0, 1.0), ((3, 4), 1.0, 1e-4), ((2, 2, 2, 5), 1.0, 10.0)]]
    return cases + [Case((np.array([-1000.0, -1001.0]), 1.0), "very negative Q: no underflow to log 0"),
                    Case((np.full((3, 6), 4.0), 0.2), "all equal: 4 + 0.2 log 6")]


# ---------------------------------------------------------------- L11_soft_backward_pass

def backward_public() -> list[Case]:
    P, R = _det_mdp()
    m = two_state_mdp()
    g = random_mdp(5, 3, seed=1103)
    return [
        Case((P, R, 1, 1.0), "H = 1: Q_0 = R, V_0 = log Σ_a exp R = [log(1 + e), 2 + log 2], V_1 = 0"),
        Case((P, R, 2, 1.0), "H = 2, deterministic: Q_0 = R + V_1(s'), with s' = s for a0 and s' = 1 for a1"),
        Case((P, R, 3, 0.5), "α = 0.5: V_t = α log Σ_a exp(Q_t / α)"),
        Case((m.P, m.R, 3, 1.0),
             "stochastic transitions: Q_t = r + Σ_s' p(s'|s, a) V_{t+1}(s') (an expectation, not log E exp)"),
        Case((g.P, g.R, 6, 0.3), "S = 5, A = 3, H = 6, α = 0.3"),
        Case((m.P, 50.0 * m.R, 40, 1.0), "rewards up to 100 over H = 40 steps: V reaches thousands (no overflow)"),
    ]


def backward_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for k, (S, A, H, a) in enumerate([(3, 2, 4, 1.0), (6, 4, 5, 0.2), (4, 3, 1, 2.0), (2, 5, 7, 0.05)]):
        m = random_mdp(S, A, seed=int(rng.integers(1 << 30)))
        cases.append(Case((m.P, m.R * rng.uniform(0.5, 3), H, a), f"random MDP S={S} A={A} H={H} α={a}"))
    c = chain_mdp(5, slip=0.3)
    return cases + [Case((c.P, c.R, 10, 1.0), "chain MDP with slip 0.3, H = 10"),
                    Case((c.P, 200 * c.R, 60, 0.5), "large rewards, H = 60")]


# ---------------------------------------------------------------- L11_sac_targets

def _sac_batch(rng: np.random.Generator, B: int, K: int = 2, dtype=np.float64) -> tuple:
    terminated = rng.random(B) < 0.2
    truncated = (rng.random(B) < 0.2) & ~terminated
    return (rng.normal(-3, 2, B).astype(dtype), rng.normal(-50, 20, (K, B)).astype(dtype),
            rng.normal(0, 1, B).astype(dtype), terminated, truncated)


def _f(*xs) -> np.ndarray:
    return np.array(xs, dtype=np.float64)


def _b(*xs) -> np.ndarray:
    return np.array(xs, dtype=bool)


def sac_public() -> list[Case]:
    rng = np.random.default_rng(1104)
    no = _b(False)
    return [
        Case((_f(1.0), np.array([[5.0], [3.0]]), _f(0.0), no, no, 0.5, 0.2),
             "min over the twin critics: 1 + 0.5 · min(5, 3) = 2.5"),
        Case((_f(1.0), np.array([[5.0], [3.0]]), _f(-2.0), no, no, 0.5, 0.2),
             "log π(a'|s') = -2: V(s') = 3 - 0.2 · (-2) = 3.4, so y = 1 + 0.5 · 3.4 = 2.7 (minus α log π)"),
        Case((_f(1.0, 1.0), np.array([[5.0, 5.0], [3.0, 3.0]]), _f(-2.0, -2.0), _b(True, False), _b(False, True),
              0.5, 0.2),
             "terminated: y = r = 1 (no bootstrap); truncated by a time limit: still 2.7 (it bootstraps)"),
        Case((_f(0.5), np.array([[2.0]]), _f(1.0), no, no, 0.9, 0.0), "one critic (K = 1) and α = 0: 0.5 + 0.9 · 2 = 2.3"),
        Case(_sac_batch(rng, 16, K=3) + (0.99, 0.5), "a batch of 16 with K = 3 critics, γ = 0.99, α = 0.5"),
        Case(_sac_batch(rng, 128, dtype=np.float32) + (0.99, 0.13),
             "float32 arrays as the SAC loop passes them: B = 128, next_q_target of shape (2, 128)"),
    ]


def sac_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case(_sac_batch(rng, B, K) + (g, a), f"random batch B = {B}, K = {K}, γ = {g}, α = {a}")
             for B, K, g, a in [(64, 2, 0.99, 0.2), (1, 2, 0.9, 1.0), (33, 4, 0.5, 0.01), (10, 1, 0.0, 0.3),
                                (256, 2, 0.99, 0.05)]]
    return cases + [Case((_f(0.0, 0.0), np.array([[1.0, -1.0], [-1.0, 1.0]]), _f(0.5, -0.5), _b(False, False),
                          _b(True, True), 1.0, 2.0), "both truncated: both bootstrap from min = -1")]


# ---------------------------------------------------------------- L11_sac_temperature_loss

def _t(x, grad: bool = True, dtype=torch.float64) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=dtype).requires_grad_(grad)


def temp_public() -> list[Case]:
    rng = np.random.default_rng(1105)
    return [
        Case((_t(0.0), _t([-1.0], grad=False), -1.0),
             "log α = 0, log π = -1, H̄ = -1: value -(0 · (-2)) = 0; d/d log α = -(log π + H̄) = 2 > 0, so a descent "
             "step lowers α (the entropy 1 is above the target -1)"),
        Case((_t(np.log(0.5)), _t([0.5, 1.5], grad=False), -1.0),
             "log α = log 0.5, log π = [0.5, 1.5], H̄ = -1: -log 0.5 · mean(-0.5, 0.5) = 0, gradient 0"),
        Case((_t(0.3), _t([2.0, 0.0, 1.0], grad=False), -1.0), "log α = 0.3: -0.3 · mean(1, -1, 0) = 0; gradient 0"),
        Case((_t(-1.0), _t([-3.0, -2.0], grad=False), -1.0),
             "entropy 2.5 above the target -1: value -(-1)(-3.5) = -3.5 and d/d log α = 3.5 > 0, so α falls"),
        Case((_t(0.5), _t([1.0, 2.0]), 0.0),
             "log π carries a gradient (as in the SAC loop): it must not reach the loss (detach log π)"),
        Case((_t(0.1, dtype=torch.float32), _t(rng.normal(0, 1, 128), dtype=torch.float32), -1.0),
             "float32 tensors as the SAC loop passes them: log α () and log π (128,) with a gradient"),
    ]


def temp_hidden(rng: np.random.Generator) -> list[Case]:
    return [Case((_t(rng.normal()), _t(rng.normal(m, 1, B), grad=g), h), f"random B = {B}, H̄ = {h}")
            for B, m, g, h in [(64, 0.0, True, -1.0), (1, -2.0, False, -2.0), (17, 1.0, True, 0.5),
                               (256, 0.5, True, -6.0), (8, -0.5, True, 2.0)]] + [
        Case((_t(-2.0, dtype=torch.float32), _t(rng.normal(0, 1, 32), dtype=torch.float32), -1.0),
             "float32, B = 32, log π with a gradient")]


EXERCISES = [
    Exercise("L11_soft_value", soft_rl.soft_value, soft_value_public, soft_value_hidden, points=2,
             hint="V = α log Σ_a exp(Q / α) over the last axis. Subtract m = max_a Q first: "
                  "m + α log Σ_a exp((Q - m) / α), or the exp overflows when Q / α is large."),
    Exercise("L11_soft_backward_pass", soft_rl.soft_backward_pass, backward_public, backward_hidden, points=3,
             hint="V = zeros((H + 1, S)); for t = H-1 down to 0: Q[t] = R + P @ V[t + 1] (the expectation of the next "
                  "soft value, not log E exp), V[t] = α log Σ_a exp(Q[t] / α) computed stably. Return (Q, V)."),
    Exercise("L11_sac_targets", soft_rl.sac_targets, sac_public, sac_hidden, points=2,
             hint="y = r + γ (1 - terminated) (min over axis 0 of next_q_target - α next_log_prob): the min over the "
                  "critics, MINUS α log π, and the mask uses terminated only (a truncated s' bootstraps)."),
    Exercise("L11_sac_temperature_loss", soft_rl.sac_temperature_loss, temp_public, temp_hidden, points=2,
             hint="return -(log_alpha * (log_prob.detach() + target_entropy)).mean(): a torch scalar whose only "
                  "gradient is into log_alpha."),
]
