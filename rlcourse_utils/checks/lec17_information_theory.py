"""Exercises of Lecture 17 (information theory, challenges): public and hidden cases, hand-computable first.

Mutual information gets tables with zero entries (0 log 0 = 0), a whole zero row, product tables (I = 0)
and batches of tables. Blahut–Arimoto gets a fixed point, the Z-channel by hand, deterministic channels
(zeros in W), inputs with r(a) = 0 and a batch of one channel per gridworld cell, as the empowerment cell
passes it. Skew-Fit's weights get log-densities of -1000 (exp underflows) and batches. DIAYN's reward gets
a non-uniform prior, logits of ±1000 and the (S, K, K) form the DIAYN loop passes.
"""
from __future__ import annotations

import numpy as np

from rlcourse_utils import info_theory
from rlcourse_utils.checks.core import Case, Exercise
from rlcourse_utils.envs.gridworld import gridworld


def _tables(rng: np.random.Generator, shape: tuple[int, ...], zeros: float = 0.0) -> np.ndarray:
    """Random joint tables (..., X, Y), a fraction ``zeros`` of entries set to 0, each table normalised."""
    t = rng.dirichlet(np.ones(shape[-1] * shape[-2]), size=shape[:-2]).reshape(shape)
    t = np.where(rng.random(shape) < zeros, 0.0, t)
    t[..., 0, 0] += 1e-3                                      # never an all-zero table
    return t / t.sum((-2, -1), keepdims=True)


# ---------------------------------------------------------------- L17_mutual_information

def mi_public() -> list[Case]:
    rng = np.random.default_rng(1701)
    product = np.outer([0.2, 0.8], [0.3, 0.5, 0.2])
    d = rng.dirichlet(np.ones(30) * 0.3, size=4)              # 4 skills' state distributions, many near 0
    d[:, :5] = 0.0
    d /= d.sum(1, keepdims=True)
    return [
        Case((np.array([[0.5, 0.0], [0.0, 0.5]]),), "Y = X, a fair bit: I = log 2 = 0.6931 (zeros count as 0 log 0 = 0)"),
        Case((product,), "a product table p(x) p(y): I = 0"),
        Case((np.array([[0.25, 0.25], [0.0, 0.5]]),),
             "the Z-channel table: p(x) = (1/2, 1/2), p(y) = (1/4, 3/4): I = 0.25 log 2 + 0.25 log(2/3) + 0.5 log(4/3) = 0.2158"),
        Case((np.array([[0.0, 0.0, 0.0], [0.1, 0.2, 0.3], [0.3, 0.1, 0.0]]),), "a zero row p(x) = 0 (no 0/0)"),
        Case((_tables(rng, (4, 3, 5)),), "a batch of 4 tables (4, 3, 5) → 4 values"),
        Case((d.T / 4,), "the lecture's (S, K) = (30, 4) table p(s, z) of four skills, with zero rows"),
    ]


def mi_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((_tables(rng, shape, zeros),), f"random {shape}, {zeros:.0%} zeros")
             for shape, zeros in [((2, 2), 0.0), ((5, 7), 0.3), ((3, 4, 6), 0.2), ((2, 2, 3, 3), 0.0), ((1, 9), 0.0)]]
    p, q = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(6))
    perm = rng.permutation(5)
    return cases + [Case((np.outer(p, q),), "a random product table: 0"),
                    Case((np.eye(5)[perm] / 5,), "a random permutation channel: log 5")]


# ---------------------------------------------------------------- L17_blahut_arimoto_step

def _grid_channel(n_cells: int) -> np.ndarray:
    mdp, cells = gridworld(("..#", "...", "#.."), slip=0.2)
    W = info_theory.n_step_channel(mdp.P[:-1, :, :-1], 2)     # (7, 16, 7)
    return W[:n_cells]


def ba_public() -> list[Case]:
    rng = np.random.default_rng(1702)
    bsc = np.array([[0.9, 0.1], [0.1, 0.9]])
    W = _grid_channel(7)
    return [
        Case((np.array([0.5, 0.5]), bsc), "a binary symmetric channel from uniform r: a fixed point, r' = (0.5, 0.5)"),
        Case((np.array([0.5, 0.5]), np.array([[1.0, 0.0], [0.5, 0.5]])),
             "the Z-channel: q = (0.75, 0.25), D = (log 4/3, ½ log 2/3 + ½ log 2) = (0.2877, 0.1438), "
             "r' ∝ (0.5 e^0.2877, 0.5 e^0.1438) = (0.5359, 0.4641)"),
        Case((np.array([0.2, 0.3, 0.5]), np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])),
             "a deterministic channel (zeros in W), two inputs with the same output"),
        Case((np.array([0.0, 0.4, 0.6]), rng.dirichlet(np.ones(4), size=3)), "r(a) = 0 stays 0"),
        Case((np.full((7, 16), 1 / 16), W),
             "one channel per cell, (S, A^n) = (7, 16) and (S, A^n, S) = (7, 16, 7): 2-step gridworld moves, as "
             "`empowerment` passes them"),
        Case((rng.dirichlet(np.ones(16), size=7), W), "the same channels from random inputs"),
    ]


def ba_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for A, Y, zeros in [(2, 2, 0.0), (4, 3, 0.3), (6, 5, 0.5), (3, 8, 0.0)]:
        W = np.where(rng.random((A, Y)) < zeros, 0.0, rng.dirichlet(np.ones(Y), size=A))
        W[:, 0] += 1e-3
        cases.append(Case((rng.dirichlet(np.ones(A)), W / W.sum(1, keepdims=True)), f"random A = {A}, Y = {Y}"))
    B = int(rng.integers(2, 6))
    return cases + [Case((rng.dirichlet(np.ones(5), size=B), rng.dirichlet(np.ones(4), size=(B, 5))),
                         f"a batch of {B} channels"),
                    Case((rng.dirichlet(np.ones(16), size=4), _grid_channel(4)), "gridworld channels, random r")]


# ---------------------------------------------------------------- L17_skew_weights

def sw_public() -> list[Case]:
    rng = np.random.default_rng(1703)
    return [
        Case((np.log([0.5, 0.25, 0.25]), -1.0), "α = -1: w ∝ 1/p = (2, 4, 4) → (0.2, 0.4, 0.4)"),
        Case((np.log([0.5, 0.25, 0.25]), 0.0), "α = 0: every sample weighs the same, (1/3, 1/3, 1/3)"),
        Case((np.log([0.64, 0.16, 0.04]), -0.5), "α = -1/2: w ∝ (1.25, 2.5, 5) → (1/7, 2/7, 4/7)"),
        Case((np.array([-1000.0, -1001.0, -1003.0]), -1.0),
             "log-densities of -1000 (a VAE's on images): exp(log p) is 0 in float64; w ∝ (1, e, e³)"),
        Case((np.log(rng.dirichlet(np.ones(8), size=3)), -0.75), "a batch (3, 8): weights per row"),
        Case((np.log([0.7, 0.2, 0.1]), 1.0), "α = 1 (any float is accepted): w ∝ p, sharper"),
    ]


def sw_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((np.log(rng.dirichlet(np.ones(n), size=shape)), float(a)), f"random {shape + (n,)}, α = {a:.2f}")
             for shape, n, a in [((), 5, rng.uniform(-1, 0)), ((4,), 6, rng.uniform(-1, 0)), ((2, 3), 4, -1.0),
                                 ((), 50, rng.uniform(-1, 0))]]
    return cases + [Case((rng.uniform(-900, -700, 10), -1.0), "log-densities near -800"),
                    Case((np.log(rng.dirichlet(np.ones(3))), 0.0), "α = 0")]


# ---------------------------------------------------------------- L17_diayn_reward

def dr_public() -> list[Case]:
    rng = np.random.default_rng(1704)
    K, S = 4, 12
    log_u = np.full(K, -np.log(K))
    logits = rng.normal(0, 2, (S, K))
    return [
        Case((np.array([0.0, 0.0]), np.array(0), np.log([0.5, 0.5])),
             "q = (1/2, 1/2), uniform prior: log(1/2) - log(1/2) = 0"),
        Case((np.array([[10.0, -10.0], [10.0, -10.0]]), np.array([0, 1]), np.log([0.5, 0.5])),
             "a sure discriminator: r(s, 0) = log 2 - log(1 + e^-20) ≈ 0.6931 (≤ log K), r(s, 1) ≈ -20 + log 2"),
        Case((np.array([[1.0, 2.0, 3.0]]), np.array([2]), np.log([0.2, 0.3, 0.5])),
             "a non-uniform prior p(z) = (0.2, 0.3, 0.5): log softmax(1, 2, 3)_2 - log 0.5 = -0.4076 + 0.6931"),
        Case((np.array([[1000.0, 0.0], [0.0, -1000.0]]), np.array([1, 0]), np.log([0.5, 0.5])),
             "logits of ±1000: softmax then log underflows to -inf; log-softmax gives -1000 + log 2 and log 2"),
        Case((logits, rng.integers(0, K, S), log_u), "a batch of states (12, K = 4), one skill each"),
        Case((np.repeat(logits[:, None, :], K, 1), np.broadcast_to(np.arange(K), (S, K)), log_u),
             "the DIAYN loop's form: logits (S, K, K), z (S, K) = every skill for every state → r(s, z) (S, K)"),
    ]


def dr_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, K in [((7,), 3), ((2, 5), 6), ((1,), 2), ((20,), 10)]:
        prior = rng.dirichlet(np.ones(K))
        cases.append(Case((rng.normal(0, 3, shape + (K,)), rng.integers(0, K, shape), np.log(prior)),
                          f"random {shape}, K = {K}, a random prior"))
    return cases + [Case((rng.normal(0, 500, (5, 4)), rng.integers(0, 4, 5), np.full(4, -np.log(4))),
                         "logits of hundreds (overflow)")]


EXERCISES = [
    Exercise("L17_mutual_information", info_theory.mutual_information, mi_public, mi_hidden, points=2,
             hint="p(x) = joint.sum(-1), p(y) = joint.sum(-2) (keepdims); sum p(x, y) log(p(x, y) / (p(x) p(y))) over "
                  "the last two axes, only where p(x, y) > 0 (np.where, so 0 log 0 gives 0 and never nan)."),
    Exercise("L17_blahut_arimoto_step", info_theory.blahut_arimoto_step, ba_public, ba_hidden, points=2,
             hint="q = einsum('...a,...ay->...y', r, W); D(a) = Σ_y W log(W / q) with 0 log 0 = 0; "
                  "r' = r exp(D) normalised over the last axis (subtract max D before exp)."),
    Exercise("L17_skew_weights", info_theory.skew_fit_weights, sw_public, sw_hidden, points=1,
             hint="log w_i = α log p_i up to a constant: a softmax of alpha * log_p over the last axis, "
                  "with the max subtracted before exp."),
    Exercise("L17_diayn_reward", info_theory.diayn_reward, dr_public, dr_hidden, points=2,
             hint="log q(z | s) = log_softmax(logits) (subtract the max, then log-sum-exp), picked at z with "
                  "np.take_along_axis(log_q, z[..., None], -1)[..., 0]; then subtract log_p_z[z]."),
]
