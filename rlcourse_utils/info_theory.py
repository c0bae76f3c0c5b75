"""Information theory for RL (Lecture 17): entropy, KL, mutual information, empowerment by Blahut–Arimoto,
Skew-Fit's goal weights and DIAYN's pseudo-reward.

All quantities are in nats (natural logarithms) and follow 0 log 0 = 0. Distributions live on the last axis
(or the last two for a joint table); leading axes are batch axes.

    entropy              H(p) = -Σ_x p(x) log p(x)
    KL                   D_KL(p ‖ q) = Σ_x p(x) log(p(x) / q(x))
    mutual information   I(X; Y) = D_KL(p(x, y) ‖ p(x) p(y)) = H(Y) - H(Y | X) = H(X) - H(X | Y)
    empowerment          E(s) = max_{ω(a_{1:n} | s)} I(A_{1:n}; S_{t+n} | s_t = s)   (a channel capacity)
    Skew-Fit             w(x) = p_θ(x)^α, α ∈ [-1, 0):  refitting p_θ to w-weighted samples raises H(p_θ)
    DIAYN                r(s, z) = log q_φ(z | s) - log p(z) ≤ -log p(z) = log K for a uniform prior

Lecture 17 §information theory; Salge, Glackin & Polani 2014 (empowerment); Blahut 1972, Arimoto 1972;
Pong et al. 2019 (Skew-Fit); Eysenbach et al. 2018 (DIAYN). The loops live in ``algos/diayn.py`` and
``algos/skewfit.py``. Every exercise reference uses only ``np``, so ``rlcourse solutions`` can paste it.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


# ---------------------------------------------------------------- entropy, KL, mutual information

def entropy(p: np.ndarray) -> np.ndarray:
    """H(p) = -Σ_x p(x) log p(x) in nats over the last axis, with 0 log 0 = 0. p: (..., K) → (...).

    >>> round(float(entropy(np.array([0.5, 0.5, 0.0]))), 6)   # log 2
    0.693147
    """
    p = np.asarray(p, dtype=np.float64)
    return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(-1)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """D_KL(p ‖ q) = Σ_x p(x) log(p(x) / q(x)) over the last axis (inf where p > 0 = q). (..., K) → (...)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    pos = p > 0
    with np.errstate(divide="ignore"):
        log_q = np.log(np.where(pos, q, 1.0))
    return np.where(pos, p * (np.log(np.where(pos, p, 1.0)) - log_q), 0.0).sum(-1)


def mutual_information(joint: np.ndarray) -> np.ndarray:
    """Mutual information of a joint probability table, I(X; Y) = D_KL(p(x, y) ‖ p(x) p(y)), in nats.

        I(X; Y) = Σ_{x, y} p(x, y) log [ p(x, y) / (p(x) p(y)) ],   p(x) = Σ_y p(x, y),  p(y) = Σ_x p(x, y)

    with 0 log 0 = 0 (zero entries of the table contribute nothing). Lecture 17 §information theory.

    Args:
        joint: (..., X, Y) nonnegative, each (X, Y) table summing to 1; leading axes are a batch.
    Returns:
        (...) float array, I ≥ 0 (0 for a product table, min(H(X), H(Y)) at most).

    >>> round(float(mutual_information(np.array([[0.5, 0.0], [0.0, 0.5]]))), 6)   # Y = X, a fair bit: log 2
    0.693147
    """
    joint = np.asarray(joint, dtype=np.float64)
    px = joint.sum(-1, keepdims=True)                        # (..., X, 1)
    py = joint.sum(-2, keepdims=True)                        # (..., 1, Y)
    pos = joint > 0
    ratio = np.where(pos, joint, 1.0) / np.where(pos, px * py, 1.0)
    return np.where(pos, joint * np.log(ratio), 0.0).sum((-2, -1))


def conditional_entropy(joint: np.ndarray) -> np.ndarray:
    """H(Y | X) = Σ_x p(x) H(p(y | x)) of a joint table (..., X, Y) → (...)."""
    joint = np.asarray(joint, dtype=np.float64)
    px = joint.sum(-1)
    cond = joint / np.where(px > 0, px, 1.0)[..., None]
    return (px * entropy(cond)).sum(-1)


# ---------------------------------------------------------------- channel capacity and empowerment

def blahut_arimoto_step(r: np.ndarray, W: np.ndarray) -> np.ndarray:
    """One Blahut–Arimoto update of the input distribution of a channel p(y | a) = W[a, y].

        q(y) = Σ_a r(a) W(a, y),   D(a) = D_KL(W(a, ·) ‖ q) = Σ_y W(a, y) log(W(a, y) / q(y)),
        r'(a) = r(a) exp(D(a)) / Σ_b r(b) exp(D(b)).

    Each step raises I(A; Y) = Σ_a r(a) D(a) toward the capacity C = max_r I(A; Y) (Blahut 1972,
    Arimoto 1972). Empowerment is the capacity of the channel from n-step action sequences to the state
    reached (Lecture 17 §empowerment; Salge et al. 2014). Zero entries of W (deterministic moves) contribute
    0 log 0 = 0, and an input with r(a) = 0 keeps r'(a) = 0.

    Args:
        r: (..., A) input distribution (sums to 1 over the last axis).
        W: (..., A, Y) channel, each row W[..., a, :] a distribution over outputs; leading axes broadcast
            with r's (one channel per state, say: r (S, A), W (S, A, S)).
    Returns:
        (..., A) the updated input distribution.
    """
    r, W = np.asarray(r, dtype=np.float64), np.asarray(W, dtype=np.float64)
    q = np.einsum("...a,...ay->...y", r, W)                  # (..., Y) output marginal
    pos = W > 0
    ratio = np.where(pos, W, 1.0) / np.where(pos, q[..., None, :], 1.0)
    D = np.where(pos, W * np.log(ratio), 0.0).sum(-1)        # (..., A) KL of each row from q
    logits = np.where(r > 0, np.log(np.where(r > 0, r, 1.0)) + D, -np.inf)
    w = np.exp(logits - logits.max(-1, keepdims=True))
    return w / w.sum(-1, keepdims=True)


def channel_capacity(W: np.ndarray, tol: float = 1e-8, max_iters: int = 10_000,
                     step_fn: Callable[[np.ndarray, np.ndarray], np.ndarray] = blahut_arimoto_step
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Capacity C = max_r I(A; Y) of channels W (..., A, Y) by iterating ``step_fn`` from the uniform r.

    Stops when every channel's certificate gap max_a D(a) - I(r) is below ``tol``: for any r,
    I(r) ≤ C ≤ max_a D_KL(W(a, ·) ‖ q_r) (the Blahut–Arimoto bounds), so the gap bounds the error.
    Returns (C (...), r (..., A), gap (...)), C the lower bound I(r) in nats."""
    W = np.asarray(W, dtype=np.float64)
    r = np.full(W.shape[:-1], 1.0 / W.shape[-2])
    for _ in range(max_iters):
        info, upper = _capacity_bounds(r, W)
        if np.all(upper - info < tol):
            break
        r = step_fn(r, W)
    info, upper = _capacity_bounds(r, W)
    return info, r, upper - info


def _capacity_bounds(r: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(I(r), max_a D(a)) for input r (..., A) and channel W (..., A, Y)."""
    q = np.einsum("...a,...ay->...y", r, W)
    D = kl_divergence(W, q[..., None, :])
    return (r * D).sum(-1), D.max(-1)


def n_step_channel(P: np.ndarray, n: int) -> np.ndarray:
    """The n-step channel of an MDP: W[s, m, s'] = p(s_{t+n} = s' | s_t = s, a_{t:t+n} = sequence m).

    P: (S, A, S) transitions. Returns (S, A^n, S); sequence m = (a_1, ..., a_n) in row-major order
    (a_1 the slowest index). Empowerment of s is the capacity of W[s]. Lecture 17 §empowerment."""
    P = np.asarray(P, dtype=np.float64)
    S, A, _ = P.shape
    W = P
    for _ in range(n - 1):
        W = np.einsum("smt,tau->smau", W, P).reshape(S, -1, S)   # append one more action
    return W


def empowerment(P: np.ndarray, n: int, tol: float = 1e-8) -> np.ndarray:
    """n-step empowerment of every state, E(s) = max_ω I(A_{1:n}; S_{t+n} | s), in nats. P (S, A, S) → (S,).
    With deterministic moves it is log(number of distinct states reachable in exactly n steps)."""
    return channel_capacity(n_step_channel(P, n), tol=tol)[0]


# ---------------------------------------------------------------- Skew-Fit

def skew_fit_weights(log_p: np.ndarray, alpha: float) -> np.ndarray:
    """Skew-Fit's normalised sample weights, w_i = p_θ(x_i)^α / Σ_j p_θ(x_j)^α over the last axis.

    Refitting the generative model p_θ to samples x_i ~ p_θ weighted by w_i fits p_{θ'}(x) ∝ p_θ(x)^{1+α};
    for α ∈ [-1, 0) this flattens the model, and repeated refits raise H(p_θ) toward the uniform
    distribution on its support (Pong et al. 2019, Lemma 3.1); α = 0 is the plain maximum-likelihood refit.
    Lecture 17 §reaching goals without rewards.

    Args:
        log_p: (..., N) log-densities log p_θ(x_i) of N samples (from a VAE or a histogram); they may be
            very negative (-1000: compute in log space, never exponentiate log_p alone).
        alpha: the skew exponent α (≤ 0 in Skew-Fit; any float is accepted).
    Returns:
        (..., N) nonnegative weights summing to 1 over the last axis.
    """
    s = alpha * np.asarray(log_p, dtype=np.float64)         # log w_i up to a constant
    w = np.exp(s - s.max(-1, keepdims=True))
    return w / w.sum(-1, keepdims=True)


def skew_refit(p: np.ndarray, alpha: float) -> np.ndarray:
    """The infinite-sample weighted refit of a categorical model: p'(x) ∝ p(x) · p(x)^α = p(x)^{1+α}.
    p: (..., K) → (..., K); zero entries stay zero."""
    p = np.asarray(p, dtype=np.float64)
    pw = np.where(p > 0, np.where(p > 0, p, 1.0) ** (1.0 + alpha), 0.0)
    return pw / pw.sum(-1, keepdims=True)


# ---------------------------------------------------------------- DIAYN

def diayn_reward(logits: np.ndarray, z: np.ndarray, log_p_z: np.ndarray) -> np.ndarray:
    """DIAYN's pseudo-reward r(s, z) = log q_φ(z | s) - log p(z) (Eysenbach et al. 2018, eq. 3).

    q_φ(z | s) = softmax(logits)_z is the discriminator's posterior over the K skills given the state.
    E_{z∼p, s∼π_z}[r] ≤ I(S; Z) (a variational lower bound, tight when q_φ is the true posterior), and for a
    uniform prior r ≤ log K. Lecture 17 §learning diverse skills.

    Args:
        logits: (..., K) unnormalised discriminator scores of each state (any real numbers).
        z: (...) integer skill indices in [0, K), one per state (same leading shape as logits).
        log_p_z: (K,) log prior log p(z) of the skills (log(1/K) each for a uniform prior).
    Returns:
        (...) float array of rewards.
    """
    logits = np.asarray(logits, dtype=np.float64)
    m = logits.max(-1, keepdims=True)
    log_q = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))   # log-softmax, (..., K)
    z = np.asarray(z, dtype=np.int64)
    return np.take_along_axis(log_q, z[..., None], -1)[..., 0] - np.asarray(log_p_z, dtype=np.float64)[z]
