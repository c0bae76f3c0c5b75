"""Exercises of Lecture 1 (imitation learning): public and hidden cases, hand-computable first.

Public cases are what a student's check cell runs; hidden cases (more inputs,
harder edge cases, other seeds) are what the grader runs. Tensors that a loss
must differentiate are created with ``requires_grad=True``, so a detached answer
is caught.
"""
from __future__ import annotations

import numpy as np
import torch

from rlcourse_utils import imitation
from rlcourse_utils.checks.core import Case, Exercise
from rlcourse_utils.checks.wire import LinearThresholdPolicy


def _t(x, grad: bool = False) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64)).requires_grad_(grad)


def _a(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.int64))


# ---------------------------------------------------------------- L01_bc_loss

def _bc_random(rng: np.random.Generator, batch: int, n_actions: int, scale: float = 2.0) -> tuple:
    return (_t(rng.normal(0, scale, (batch, n_actions)), grad=True), _a(rng.integers(0, n_actions, batch)))


def bc_loss_public() -> list[Case]:
    rng = np.random.default_rng(101)
    return [
        Case((_t([[0.0, 0.0], [2.0, 0.0]], grad=True), _a([0, 0])),
             "two states: (log 2 + log(1 + e^-2)) / 2 = 0.4100"),
        Case((_t([[0.0, 0.0], [2.0, 0.0]], grad=True), _a([1, 1])), "the other action: (log 2 + log(1 + e^2)) / 2"),
        Case(_bc_random(rng, 1, 3), "a batch of one"),
        Case(_bc_random(rng, 8, 4), "8 states, 4 actions"),
        Case((_t([[1000.0, 0.0], [0.0, -1000.0]], grad=True), _a([1, 1])),
             "large logits: log(softmax(x)) overflows; log_softmax does not"),
    ]


def _bc_extreme(rng: np.random.Generator) -> tuple:
    """One state, 3 actions: logits of about ±800 and one moderate one, in random order; the expert picks the
    hugely negative one (log_softmax ≈ -1600, where log(softmax) gives -inf)."""
    logits = rng.permutation([-rng.uniform(600.0, 1000.0), rng.uniform(600.0, 1000.0), rng.normal()])
    return (_t(logits[None, :], grad=True), _a([int(np.argmin(logits))]))


def bc_loss_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case(_bc_random(rng, b, n), f"random, B={b}, {n} actions") for b, n in [(64, 2), (33, 5), (200, 7)]]
    cases += [
        Case((_t(rng.normal(0, 3, (5, 1)), grad=True), _a(np.zeros(5))), "one action: the loss is 0"),
        Case(_bc_extreme(rng), "extreme logits (about ±800), the unlikely action"),
        Case(_bc_random(rng, 16, 3, scale=30.0), "wide logits"),
        Case((_t(rng.normal(size=(9, 2))).float().requires_grad_(), _a(rng.integers(0, 2, 9))), "float32 logits"),
    ]
    return cases


# ---------------------------------------------------------------- L01_dagger_aggregate

def _dagger_random(rng: np.random.Generator, b: int, m: int, obs_dim: int, state_dim: int) -> tuple:
    w = tuple(float(x) for x in rng.normal(size=state_dim))
    return (rng.normal(size=(b, obs_dim)), rng.integers(0, 2, b).astype(np.int64), rng.normal(size=(m, obs_dim)),
            rng.normal(size=(m, state_dim)), LinearThresholdPolicy(w, float(rng.normal())))


def dagger_aggregate_public() -> list[Case]:
    rng = np.random.default_rng(102)
    expert = LinearThresholdPolicy((1.0, 0.0))
    return [
        Case((np.zeros((1, 2)), np.array([0]), np.ones((2, 2)), np.ones((2, 2)), expert),
             "one old pair, two visited states, both labelled 1 by the expert"),
        Case((np.zeros((2, 1)), np.array([1, 0]), np.array([[5.0], [6.0], [7.0]]),
              np.array([[1.0, 0.0], [-1.0, 0.0], [2.0, 9.0]]), expert),
             "the learner sees o (1 number), the expert labels the state s (2 numbers): labels [1, 0, 1]"),
        Case((np.zeros((0, 2)), np.zeros(0, dtype=np.int64), np.eye(2), np.eye(2), LinearThresholdPolicy((0.0, 1.0))),
             "first iteration: the dataset starts empty"),
        Case(_dagger_random(rng, 5, 4, 3, 3), "random, fully observed"),
    ]


def dagger_aggregate_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case(_dagger_random(rng, b, m, o, s), f"random, B={b}, M={m}") for b, m, o, s in
             [(50, 20, 4, 4), (7, 1, 2, 4), (0, 30, 2, 4), (100, 100, 6, 3)]]
    expert = LinearThresholdPolicy(tuple(float(x) for x in rng.uniform(0.5, 2.0, 2)))  # positive weights, b = 0
    cases.append(Case((rng.uniform(0.5, 2.0, (3, 2)), np.array([1, 1, 1]), -rng.uniform(0.5, 2.0, (2, 2)),
                       -rng.uniform(0.5, 2.0, (2, 2)), expert),
                      "the expert disagrees with the old data (old labels 1, visited states all labelled 0)"))
    return cases


# ---------------------------------------------------------------- L01_stack_history

def _starts(rng: np.random.Generator, shape: tuple, p: float) -> np.ndarray:
    return rng.random(shape) < p


def stack_history_public() -> list[Case]:
    rng = np.random.default_rng(103)
    return [
        Case((np.array([[1.0], [2.0], [3.0]]), np.array([True, False, True]), 2),
             "a new episode at t=2 must not see t=1: [[1, 1], [1, 2], [3, 3]]"),
        Case((np.arange(8.0).reshape(4, 2), np.array([True, False, False, False]), 1), "k = 1 is the identity"),
        Case((np.arange(10.0).reshape(5, 2), np.array([True, False, False, False, False]), 3),
             "one episode, k = 3: early steps repeat the first frame"),
        Case((np.arange(6.0).reshape(6, 1), np.array([False, False, False, True, False, False]), 3),
             "row 0 counts as a start even when episode_start[0] is False"),
        Case((rng.normal(size=(5, 2, 3)), np.array([[True, True], [False, False], [False, True],
                                                    [True, False], [False, False]]), 2),
             "two envs (T, N, obs_dim), episodes starting at different times"),
        Case((rng.normal(size=(2, 3, 2)).astype(np.float32), np.array([[True] * 3, [False] * 3]), 3),
             "T = 2 < k = 3 with three envs in float32, as the rollout's early steps ask"),
        Case((rng.normal(size=(4, 2, 2)).astype(np.float32), np.zeros((4, 2), dtype=bool), 3),
             "two envs, no start flagged: row 0 is the start of every env"),
    ]


def stack_history_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((rng.normal(size=(t, d)), _starts(rng, (t,), p), k), f"random, T={t}, k={k}")
             for t, d, k, p in [(40, 3, 4, 0.1), (12, 1, 5, 0.3), (30, 2, 2, 0.5)]]
    cases += [
        Case((rng.normal(size=(3, 2)), np.array([True, False, False]), 6), "k longer than the episode"),
        Case((rng.normal(size=(1, 4)), np.array([True]), 3), "T = 1"),
        Case((rng.normal(size=(20, 3, 2)), _starts(rng, (20, 3), 0.2), 3), "three envs"),
        Case((rng.normal(size=(10, 2)), np.ones(10, dtype=bool), 3), "every step a new episode"),
        Case((rng.normal(size=(2, 4, 3)).astype(np.float32), np.zeros((2, 4), dtype=bool), 4),
             "T = 2 < k, four envs, float32, no start flagged"),
    ]
    return cases


# ---------------------------------------------------------------- L01_mog_log_likelihood

def _mog_random(rng: np.random.Generator, b: int, k: int, d: int, spread: float = 1.0) -> tuple:
    return (_t(rng.normal(size=(b, k)), True), _t(rng.normal(0, spread, (b, k, d)), True),
            _t(rng.normal(-0.5, 0.5, (b, k, d)), True), _t(rng.normal(0, spread, (b, d))))


def mog_log_likelihood_public() -> list[Case]:
    rng = np.random.default_rng(104)
    z = np.zeros((1, 1, 1))
    return [
        Case((_t([[0.0]], True), _t(z, True), _t(z, True), _t([[0.0]])),
             "one standard normal at its mean: -log(2π)/2 = -0.9189"),
        Case((_t([[0.0, 0.0]], True), _t([[[1.0], [-1.0]]], True), _t(np.zeros((1, 2, 1)), True), _t([[0.0]])),
             "two equal components at ±1, action 0: -0.9189 - 0.5 = -1.4189"),
        Case((_t([[np.log(3.0), 0.0]], True), _t([[[0.0], [4.0]]], True), _t(np.zeros((1, 2, 1)), True),
              _t([[0.0]])), "weights 3/4 and 1/4: the softmax of the logits"),
        Case(_mog_random(rng, 4, 3, 2), "4 states, 3 components, 2-D actions"),
        Case((_t([[0.0, 0.0]], True), _t(np.zeros((1, 2, 1)), True), _t(np.full((1, 2, 1), -3.0), True),
              _t([[50.0]])), "an action far from every mean: sum the exps in log space (logsumexp)"),
        Case(tuple(x.detach().float().requires_grad_(x.requires_grad) for x in _mog_random(rng, 5, 2, 1)),
             "float32 inputs, as the mixture policy network produces"),
    ]


def _mog_misweighted(rng: np.random.Generator) -> tuple:
    """One state, 2 components, 2-D action: logits ≈ ±30 put almost all weight on component 0, whose mean is
    about one unit away from the action; component 1 sits on the action."""
    action = rng.normal(size=2)
    far = action + rng.choice([-1.0, 1.0], 2) * rng.uniform(0.5, 1.5, 2)
    near = action + rng.normal(0, 0.05, 2)
    logits = [rng.uniform(25.0, 35.0), -rng.uniform(25.0, 35.0)]
    return (_t([logits], True), _t([[far, near]], True), _t(rng.normal(0, 0.2, (1, 2, 2)), True), _t([action]))


def mog_log_likelihood_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case(_mog_random(rng, b, k, d), f"random, B={b}, K={k}, act_dim={d}")
             for b, k, d in [(32, 2, 2), (10, 5, 3), (1, 1, 4), (64, 8, 1)]]
    cases += [
        Case(_mog_random(rng, 16, 4, 2, spread=20.0), "actions far from the components"),
        Case(_mog_misweighted(rng), "almost all weight on the component that does not fit"),
        Case(tuple(x.detach().float().requires_grad_(x.requires_grad) for x in _mog_random(rng, 12, 3, 2)),
             "float32 inputs"),
    ]
    return cases


EXERCISES = [
    Exercise("L01_bc_loss", imitation.bc_loss, bc_loss_public, bc_loss_hidden, points=2,
             hint="take log_softmax of the logits, pick each row's expert action (gather), "
                  "average and negate; keep everything in torch."),
    Exercise("L01_dagger_aggregate", imitation.dagger_aggregate, dagger_aggregate_public, dagger_aggregate_hidden,
             points=2, hint="label with expert(visited_states), not the learner's observations; "
                            "append to the old data (old rows first) rather than replacing it."),
    Exercise("L01_stack_history", imitation.stack_history, stack_history_public, stack_history_hidden, points=3,
             hint="for each step find where its episode began (a running maximum of start indices); "
                  "frame t - lag is clipped to that start."),
    Exercise("L01_mog_log_likelihood", imitation.mog_log_likelihood, mog_log_likelihood_public,
             mog_log_likelihood_hidden, points=3,
             hint="log w_k + log N(a; μ_k, σ_k²), summed over action dimensions, then torch.logsumexp "
                  "over the K components."),
]
