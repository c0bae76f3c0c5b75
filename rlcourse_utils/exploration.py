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


def ids_quantities(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What information-directed sampling needs, from M posterior draws of the arm means of Bernoulli arms
    (Russo & Van Roy 2018; Lecture 15 §information-directed sampling). With A* = argmax_b θ_b:

        Δ(a) = E[max_b θ_b] − E[θ_a]                                   expected regret of arm a
        g(a) = I(A*; Y_a) = Σ_{a*} P(A* = a*) KL(Bern(E[θ_a | A* = a*]) ‖ Bern(E[θ_a]))

    g is the information an observation Y_a ~ Bern(θ_a) of arm a carries about the optimal arm's identity: given
    A* = a*, Y_a is Bernoulli with mean E[θ_a | A* = a*], unconditionally with mean E[θ_a].

    samples: (..., M, K) posterior draws, independent across arms. Returns (p_star, Δ, g), each (..., K):
    P(A* = a), Δ(a) and g(a) in nats. Terms with P(A* = a*) = 0 contribute nothing."""
    M, K = samples.shape[-2:]
    onehot = (samples.argmax(-1)[..., None] == np.arange(K)).astype(np.float64)  # (..., M, K) A* of each draw
    counts = onehot.sum(-2)  # (..., K) draws in which each arm is the best
    sums = np.swapaxes(onehot, -1, -2) @ samples  # (..., K*, K): Σ of θ_a over the draws with A* = a*
    p_star = counts / M
    cond = sums / np.maximum(counts, 1)[..., :, None]  # E[θ_a | A* = a*]
    mean = sums.sum(-2) / M  # (..., K) E[θ_a]
    delta = np.diagonal(sums, axis1=-2, axis2=-1).sum(-1)[..., None] / M - mean  # E[max_b θ_b] − E[θ_a]
    eps = 1e-12
    c, m = np.clip(cond, eps, 1 - eps), np.clip(mean, eps, 1 - eps)[..., None, :]
    kl = c * np.log(c / m) + (1 - c) * np.log((1 - c) / (1 - m))  # (..., K*, K) KL of the two Bernoullis
    g = (p_star[..., :, None] * kl).sum(-2)
    return p_star, delta, g


def ids_distribution(delta: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The IDS action distribution (Russo & Van Roy 2018): π = argmin over distributions on the arms of

        Ψ(π) = (Σ_a π_a Δ(a))² / (Σ_a π_a g(a)),

    which is attained on at most two arms. For each pair (a, b) and π = q δ_a + (1 − q) δ_b, Ψ is minimised over
    q ∈ [0, 1] in closed form: setting dΨ/dq = 0 gives q = Δ_b / (Δ_a − Δ_b) − 2 g_b / (g_a − g_b), clipped to
    [0, 1] (and the two ends q = 0, 1 are compared too). delta, g: (..., K) with g ≥ 0. Returns π (..., K)."""
    K = delta.shape[-1]
    da, db = delta[..., :, None], delta[..., None, :]  # (..., K, K) arm a on rows, b on columns
    ga, gb = np.maximum(g[..., :, None], 1e-300), np.maximum(g[..., None, :], 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        q_star = np.nan_to_num(db / (da - db) - 2 * gb / (ga - gb), nan=0.0, posinf=0.0, neginf=0.0)
    qs = np.stack([np.zeros_like(da + db), np.ones_like(da + db), np.clip(q_star, 0.0, 1.0)], -1)  # (..., K, K, 3)
    ratio = (qs * da[..., None] + (1 - qs) * db[..., None]) ** 2 / (qs * ga[..., None] + (1 - qs) * gb[..., None])
    best_q = np.take_along_axis(qs, ratio.argmin(-1)[..., None], -1)[..., 0]  # (..., K, K)
    flat = ratio.min(-1).reshape(*ratio.shape[:-3], K * K).argmin(-1)  # the best pair
    a, b = np.divmod(flat, K)
    q = np.take_along_axis(best_q.reshape(*best_q.shape[:-2], K * K), flat[..., None], -1)[..., 0]
    pi = np.zeros(delta.shape)
    np.put_along_axis(pi, a[..., None], q[..., None], -1)
    np.put_along_axis(pi, b[..., None], np.take_along_axis(pi, b[..., None], -1) + (1 - q)[..., None], -1)
    return pi


def ids_gain_quadrature(alpha: np.ndarray, beta: np.ndarray, n_grid: int = 4001) -> tuple[np.ndarray, np.ndarray]:
    """P(A* = a) and g(a) for independent Beta(α_a, β_a) posteriors by quadrature on a grid, with no sampling
    (the route Russo & Van Roy 2018 take for Beta posteriors): with densities f_a and CDFs F_a,

        P(A* = a*) = ∫ f_{a*}(x) Π_{b≠a*} F_b(x) dx,
        E[θ_{a*} | A* = a*] = ∫ x f_{a*}(x) Π_{b≠a*} F_b(x) dx / P(A* = a*),
        E[θ_a | A* = a*] = ∫ f_{a*}(x) Π_{b≠a*,a} F_b(x) (∫_0^x y f_a(y) dy) dx / P(A* = a*),   a ≠ a*.

    The independent route to ``ids_quantities``'s g. alpha, beta: (K,). Returns (p_star (K,), g (K,))."""
    from scipy import stats
    x = np.linspace(0.0, 1.0, n_grid)
    K = len(alpha)
    f = np.stack([stats.beta(alpha[k], beta[k]).pdf(x) for k in range(K)])  # (K, X)
    F = np.stack([stats.beta(alpha[k], beta[k]).cdf(x) for k in range(K)])
    partial = np.stack([stats.beta(alpha[k] + 1, beta[k]).cdf(x) * alpha[k] / (alpha[k] + beta[k])
                        for k in range(K)])  # ∫_0^x y f_a(y) dy
    mean = alpha / (alpha + beta)
    p_star, cond = np.zeros(K), np.zeros((K, K))
    for s in range(K):
        others = np.prod(np.delete(F, s, 0), 0)
        p_star[s] = np.trapezoid(f[s] * others, x)
        for a in range(K):
            if a == s:
                cond[s, a] = np.trapezoid(x * f[s] * others, x) / p_star[s]
            else:
                rest = np.prod(np.delete(F, [s, a], 0), 0)
                cond[s, a] = np.trapezoid(f[s] * rest * partial[a], x) / p_star[s]
    kl = cond * np.log(cond / mean) + (1 - cond) * np.log((1 - cond) / (1 - mean))
    return p_star, (p_star[:, None] * kl).sum(0)


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
    """Random network distillation's bonus and loss (Burda et al. 2018; Lecture 15 §prediction-error bonuses):

        b(s) = ‖f̂_φ(s) − f(s)‖² = Σ_d (f̂_φ(s)_d − f(s)_d)²,

    the squared error of a trained predictor f̂_φ against a fixed, randomly initialised target network f. The
    same number is the predictor's loss (its mean over a batch) and, once scaled, the exploration bonus.
    target_features: (..., D) outputs f(s) of the target network, which is never trained (no gradient may flow
    into it, even when it arrives with one); predictor_features: (..., D) outputs f̂_φ(s). Returns (...): one
    bonus per state, e.g. (B,) for a batch or (K, B) for K runs of B states."""
    return ((predictor_features - target_features.detach()) ** 2).sum(-1)
