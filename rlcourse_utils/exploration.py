"""Exploration and learning from demonstrations (Lecture 15): bandit rules, count and pseudo-count
bonuses, information gain, self-normalised importance sampling, DQfD's large-margin loss.

Pure functions; the loops live in ``rlcourse_utils.algos.bandits`` and ``algos.chain_explore``.
References: Auer et al. 2002 (UCB1); Thompson 1933, Russo & Van Roy 2014/2018 (Thompson sampling,
information-directed sampling); Strehl & Littman 2008 (MBIE-EB); Bellemare et al. 2016 (pseudo-counts);
Tang et al. 2017 (hashing); Burda et al. 2018 (RND); Houthooft et al. 2016 (VIME); Hester et al. 2018 (DQfD).
"""
from __future__ import annotations

import math

import numpy as np
import torch


# ---------------------------------------------------------------- bandits

def ucb_action(q: np.ndarray, n: np.ndarray, t, c: float) -> np.ndarray:
    """UCB1's action (Lecture 15 §bandits; Auer et al. 2002; Sutton & Barto eq. 2.10):

        a_t = argmax_a [ Q(a) + c sqrt(ln t / N(a)) ],   an arm with N(a) = 0 first.

    q: (..., K) value estimates; n: (..., K) pull counts (integers ≥ 0, same shape); t: the step number
    t ≥ 1 (an int, or an array of shape (...) for one per run); c ≥ 0. Returns (...) integer actions.
    Every untried arm counts as maximising (its bonus is infinite): the lowest-index untried arm is
    chosen; ties otherwise go to the lowest index (np.argmax)."""
    q = np.asarray(q, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    log_t = np.log(np.maximum(np.asarray(t, dtype=np.float64), 1.0))[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = q + c * np.sqrt(log_t / n)
    score = np.where(n == 0, np.inf, score)
    return np.argmax(score, axis=-1)


def beta_bernoulli_update(alpha: np.ndarray, beta: np.ndarray, arm, reward):
    """The conjugate update of Thompson sampling on Bernoulli arms (Lecture 15 §Thompson sampling):
    a Beta(α, β) prior and reward r ∈ {0, 1} give the posterior Beta(α + r, β + 1 − r) for the pulled arm.
    alpha, beta: (R, K); arm, reward: (R,). Returns new (alpha, beta) arrays."""
    alpha, beta = alpha.copy(), beta.copy()
    rows = np.arange(alpha.shape[0])
    alpha[rows, arm] += reward
    beta[rows, arm] += 1 - reward
    return alpha, beta


def ids_action(samples: np.ndarray) -> int:
    """Information-directed sampling, variance form (Russo & Van Roy 2018), over deterministic actions:
    a = argmin_a Δ(a)² / g(a), with Δ(a) = E[max_b θ_b] − E[θ_a] the expected regret and
    g(a) = Σ_{a*} P(A* = a*) (E[θ_a | A* = a*] − E[θ_a])² the variance proxy of the information about A*.
    samples: (M, K) posterior draws of the arm means. (The full IDS randomises over pairs of actions.)"""
    M, K = samples.shape
    best = np.argmax(samples, axis=1)
    mean = samples.mean(0)
    regret = samples.max(1).mean() - mean
    g = np.zeros(K)
    for b in range(K):
        sel = best == b
        if sel.any():
            g += sel.mean() * (samples[sel].mean(0) - mean) ** 2
    ratio = np.where(g > 0, regret ** 2 / np.maximum(g, 1e-300), np.where(regret > 0, np.inf, 0.0))
    return int(np.argmin(ratio))


# ---------------------------------------------------------------- counts and pseudo-counts

def count_bonus(n: np.ndarray, beta: float) -> np.ndarray:
    """MBIE-EB's bonus (Strehl & Littman 2008): r⁺ = r + β / sqrt(N(s, a)), with N = 0 read as N = 1. n: any shape."""
    return beta / np.sqrt(np.maximum(np.asarray(n, dtype=np.float64), 1.0))


def pseudo_count(rho: np.ndarray, rho_prime: np.ndarray) -> np.ndarray:
    """The pseudo-count of Bellemare et al. 2016 (Lecture 15 §pseudo-counts). With ρ = p_θ(x) the density
    model's probability of x before it is updated on x, and ρ' = p_θ'(x) its "recoding" probability after one
    update on x, solve ρ = N̂ / n̂ and ρ' = (N̂ + 1) / (n̂ + 1) for N̂:

        N̂(x) = ρ (1 − ρ') / (ρ' − ρ).

    rho, rho_prime: arrays of the same shape (or floats) with 0 ≤ ρ < ρ' ≤ 1 elementwise. Returns that shape."""
    rho = np.asarray(rho, dtype=np.float64)
    rho_prime = np.asarray(rho_prime, dtype=np.float64)
    return rho * (1.0 - rho_prime) / (rho_prime - rho)


def empirical_density(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An empirical density over a finite alphabet and its recoding probabilities (Lecture 15 §pseudo-counts):
    ρ(x) = N(x) / n and ρ'(x) = (N(x) + 1) / (n + 1). counts: (X,) with n = Σ N > 0. Returns (ρ, ρ')."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum()
    return counts / n, (counts + 1.0) / (n + 1.0)


def simhash_codes(x: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Tang et al. 2017's SimHash: φ(s) = sgn(A s) ∈ {−1, 1}^k, returned as one integer code per state.
    x: (B, D); A: (k, D) Gaussian. Returns (B,) int64 codes to count with a dict or np.unique."""
    bits = (x @ A.T) > 0
    return (bits * (1 << np.arange(A.shape[0]))).sum(-1).astype(np.int64)


# ---------------------------------------------------------------- information gain

def entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """H(p) = −Σ p log p in nats over ``axis`` (0 log 0 = 0)."""
    p = np.asarray(p, dtype=np.float64)
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=axis)


def information_gain(prior: np.ndarray, likelihood: np.ndarray) -> tuple[float, float]:
    """The information an observation y carries about a parameter θ (Lecture 15 §information gain; VIME),
    two ways. prior: (M,) p(θ); likelihood: (M, Y) p(y | θ). Returns

        (H(θ) − E_y[H(θ | y)],   E_y[KL(p(θ | y) ‖ p(θ))]),

    which are equal: both are the mutual information I(θ; y)."""
    joint = prior[:, None] * likelihood
    p_y = joint.sum(0)
    post = joint / np.where(p_y > 0, p_y, 1.0)
    reduction = entropy(prior) - float(np.sum(p_y * entropy(post, axis=0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.where(post > 0, np.log(np.where(post > 0, post, 1.0) / prior[:, None]), 0.0)
    kl = np.sum(post * log_ratio, axis=0)
    return float(reduction), float(np.sum(p_y * kl))


# ---------------------------------------------------------------- importance sampling with demonstrations

def snis_estimate(f: np.ndarray, log_w: np.ndarray) -> np.ndarray:
    """Self-normalised importance sampling (Lecture 15 §IS with demonstrations): Σ_i w_i f_i / Σ_i w_i over the
    last axis, w_i = p(x_i) / q(x_i) known only up to a constant (log weights, stabilised by their max).
    f, log_w: (..., n). Returns (...)."""
    w = np.exp(log_w - log_w.max(-1, keepdims=True))
    return (w * f).sum(-1) / w.sum(-1)


# ---------------------------------------------------------------- demonstrations: DQfD

def large_margin_loss(q: torch.Tensor, expert_actions: torch.Tensor, margin: float,
                      demo_mask: torch.Tensor | None = None) -> torch.Tensor:
    """DQfD's supervised large-margin loss (Hester et al. 2018, eq. 2; Lecture 15 §Q-learning from demonstrations):

        J_E(Q) = mean over demonstration samples of [ max_a (Q(s, a) + l(a_E, a)) − Q(s, a_E) ],
        l(a_E, a) = margin if a ≠ a_E, else 0.

    q: (B, A) Q-values (gradients flow into q); expert_actions: (B,) long; margin ≥ 0; demo_mask: optional
    (B,) bool, True where the sample is a demonstration (the loss is the mean over those only; 0 with a
    gradient path when there are none). Returns a scalar tensor ≥ 0."""
    a = expert_actions.long()
    l = torch.full_like(q, float(margin))
    l.scatter_(1, a[:, None], 0.0)
    per = (q + l).max(dim=1).values - q.gather(1, a[:, None]).squeeze(1)
    if demo_mask is None:
        return per.mean()
    m = demo_mask.to(q.dtype)
    return (per * m).sum() / m.sum().clamp(min=1.0)


def rnd_bonus(target_features: torch.Tensor, predictor_features: torch.Tensor) -> torch.Tensor:
    """Random network distillation's bonus (Burda et al. 2018): ‖f̂(s) − f(s)‖² per state, the predictor's
    squared error against a fixed random target network. Both (B, D); returns (B,) (no gradient into the target)."""
    return ((predictor_features - target_features.detach()) ** 2).sum(-1)
