"""Inverse reinforcement learning: the MaxEnt likelihood, its partition function, visitation frequencies,
the MaxEnt IRL gradient, importance-sampled partition estimates and the adversarial (GAN) losses.

The model (Lecture 12 §learning the optimality variable; Ziebart et al. 2008, "Maximum Entropy Inverse
Reinforcement Learning"): with a reward r_ψ(s, a) = ψ · f(s, a), linear in features f, demonstrations are
explained as samples of the trajectory posterior of Lecture 11,

    p(τ | O_{1:H}, ψ) = p(τ) exp(r_ψ(τ)) / Z(ψ),   p(τ) = p(s_0) Π_t p(s_{t+1} | s_t, a_t),   r_ψ(τ) = Σ_t r_ψ(s_t, a_t)
    Z(ψ) = Σ_τ p(τ) exp(r_ψ(τ))                                           (the partition function)
    L(ψ) = (1/N) Σ_i r_ψ(τ_i) − log Z(ψ)                                   (the log-likelihood of N demos)
    ∇_ψ L = (1/N) Σ_i Σ_t f(s_{i,t}, a_{i,t}) − Σ_t Σ_{s,a} μ_t(s, a) f(s, a)      (expert − expected counts)

with μ_t(s, a) = p(s_t = s, a_t = a | O_{1:H}, ψ) ∝ α_t(s) β_t(s, a): forward message times backward message.
The backward pass is Lecture 11's log-space message recursion (``soft_rl.inference_backward_pass``, with the
improper uniform action prior of that lecture); this module adds the forward pass, the gradient and the
sample-based estimates that guided cost learning (Finn et al. 2016) and GAIL (Ho & Ermon 2016) build on.

Tabular conventions as in ``envs/tabular.py``: P (S, A, S), R (S, A), mu0 (S,); features F (S, A, K);
finite horizon H, steps t = 0..H-1, time the leading axis. Every function is self-contained (``np``/``torch``).
"""
from __future__ import annotations

import numpy as np
import torch

from rlcourse_utils import soft_rl


# ---------------------------------------------------------------- the forward pass

def visitation_frequencies(P: np.ndarray, R: np.ndarray, mu0: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """State-action visitation frequencies of the MaxEnt trajectory posterior, μ_t(s, a) = p(s_t = s, a_t = a | O, ψ).

    The forward pass, given the backward pass's log messages Q_t(s, a) = log β_t(s, a) (Lecture 11's
    ``soft_rl.inference_backward_pass``). With the unnormalised forward message
    α_t(s) = Σ_{s_0, a_0, ..., a_{t-1}} p(s_0, ..., s_t = s) exp(Σ_{k<t} r(s_k, a_k)):

        α_0(s) = p(s_0 = s),   α_{t+1}(s') = Σ_{s,a} α_t(s) exp(r(s, a)) p(s' | s, a)
        μ_t(s, a) = α_t(s) β_t(s, a) / Σ_{s,a} α_t(s) β_t(s, a)

    Computed in log space (log-sum-exp), so large rewards and long horizons neither overflow nor underflow;
    any constant factor in α_t cancels in μ_t. Lecture 12 §the MaxEnt IRL algorithm (forward pass).

    Args:
        P: (S, A, S) transition probabilities p(s' | s, a).
        R: (S, A) rewards r_ψ(s, a).
        mu0: (S,) initial state distribution (zeros allowed).
        Q: (H, S, A) log backward messages log β_t(s, a), t = 0..H-1.
    Returns:
        (H, S, A) float64 array; each μ_t sums to 1 over (s, a).
    """
    P, R, Q = (np.asarray(x, dtype=np.float64) for x in (P, R, Q))
    H, S, A = Q.shape
    with np.errstate(divide="ignore"):
        log_P, log_alpha = np.log(P), np.log(np.asarray(mu0, dtype=np.float64))  # log α_0
    mu = np.zeros((H, S, A))
    for t in range(H):
        joint = log_alpha[:, None] + Q[t]  # (S, A): log α_t(s) + log β_t(s, a)
        mu[t] = np.exp(joint - joint.max())
        mu[t] /= mu[t].sum()
        y = (log_alpha[:, None] + R)[..., None] + log_P  # (S, A, S'): log α_t(s) exp(r(s, a)) p(s'|s, a)
        m = y.max((0, 1))
        m = np.where(np.isfinite(m), m, 0.0)  # an unreachable s' stays at log 0
        with np.errstate(divide="ignore"):
            log_alpha = m + np.log(np.exp(y - m).sum((0, 1)))  # (S',) log α_{t+1}
        log_alpha = log_alpha - log_alpha[np.isfinite(log_alpha)].max()  # rescale: the constant cancels in μ
    return mu


# ---------------------------------------------------------------- the gradient

def maxent_irl_gradient(features: np.ndarray, expert_states: np.ndarray, expert_actions: np.ndarray,
                        mu: np.ndarray) -> np.ndarray:
    """∇_ψ L of the MaxEnt IRL log-likelihood for a linear reward r_ψ(s, a) = ψ · f(s, a):

        ∇_ψ L = (1/N) Σ_i Σ_t f(s_{i,t}, a_{i,t})  −  Σ_t Σ_{s,a} μ_t(s, a) f(s, a)

    the demonstrations' mean feature counts minus the counts the current reward's trajectory posterior
    expects. Lecture 12 §the IRL partition function (Ziebart et al. 2008).

    Args:
        features: (S, A, K) feature vectors f(s, a).
        expert_states: (N, H) integer states of N demonstrations of H steps.
        expert_actions: (N, H) integer actions.
        mu: (H, S, A) visitation frequencies μ_t(s, a) of the current reward (``visitation_frequencies``).
    Returns:
        (K,) float64 gradient.
    """
    F = np.asarray(features, dtype=np.float64)
    s, a = np.asarray(expert_states), np.asarray(expert_actions)
    expert = F[s, a].sum(1).mean(0)  # (K,) mean over demos of Σ_t f(s_t, a_t)
    expected = np.einsum("hsa,sak->k", np.asarray(mu, dtype=np.float64), F)  # (K,)
    return expert - expected


# ---------------------------------------------------------------- exact references on tiny MDPs

def log_partition_torch(P: torch.Tensor, R: torch.Tensor, mu0: torch.Tensor, horizon: int) -> torch.Tensor:
    """log Z = log Σ_τ p(τ) exp(Σ_t r(s_t, a_t)) by the backward messages, differentiable in R (autograd route).

    log β_H = 0, log β_t(s, a) = r(s, a) + log Σ_s' p(s'|s, a) β_{t+1}(s'), log β_t(s) = logsumexp_a log β_t(s, a),
    log Z = log Σ_s p(s_0 = s) β_0(s). P (S, A, S), R (S, A), mu0 (S,) → scalar. Lecture 12 §partition function.
    """
    log_P, log_mu0 = torch.log(P), torch.log(mu0)
    V = torch.zeros(P.shape[0], dtype=R.dtype)
    for _ in range(horizon):
        V = torch.logsumexp(R + torch.logsumexp(log_P + V, -1), -1)  # (S,)
    return torch.logsumexp(log_mu0 + V, 0)


def enumerate_with_partition(P: np.ndarray, R: np.ndarray, mu0: np.ndarray, horizon: int
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Brute force over every trajectory: Lecture 11's ``soft_rl.enumerate_posterior`` (states (K, H), actions
    (K, H), p(τ | O, ψ) (K,)) plus log Z, from any one trajectory: log Z = log[p(τ) exp r(τ)] − log p(τ | O, ψ).

    K = (S A)^H trajectories: keep S, A, H tiny. An oracle independent of the backward messages.
    """
    states, actions, post = soft_rl.enumerate_posterior(P, R, mu0, horizon)
    k = int(np.argmax(post))
    s, a = states[k], actions[k]
    log_joint = (np.log(np.asarray(mu0, dtype=np.float64)[s[0]]) + np.log(np.asarray(P)[s[:-1], a[:-1], s[1:]]).sum()
                 + np.asarray(R, dtype=np.float64)[s, a].sum())  # log p(τ) + r(τ) of that trajectory
    return states, actions, post, float(log_joint - np.log(post[k]))


# ---------------------------------------------------------------- sample-based estimates (guided cost learning)

def importance_log_weights(rewards: np.ndarray, log_pi: np.ndarray) -> np.ndarray:
    """log w_j = Σ_t r_ψ(s_t, a_t) − Σ_t log π(a_t | s_t): the importance weight of a trajectory sampled from the
    policy π for the target p(τ) exp(r_ψ(τ)) (the dynamics cancel). rewards, log_pi (M, H) → (M,).
    E_π[w] = Z(ψ). Lecture 12 §guided cost learning (Finn et al. 2016)."""
    return np.asarray(rewards, dtype=np.float64).sum(-1) - np.asarray(log_pi, dtype=np.float64).sum(-1)


def partition_estimate(log_w: np.ndarray, z: float = 3.0) -> tuple[float, float, float]:
    """Ẑ = (1/M) Σ_j w_j with its CLT interval Ẑ ± z σ̂_w / √M, in a numerically safe way. Returns (Ẑ, low, high)."""
    log_w = np.asarray(log_w, dtype=np.float64)
    m = log_w.max()
    w = np.exp(log_w - m)
    half = z * w.std(ddof=1) / np.sqrt(len(w))
    scale = np.exp(m)
    return float(w.mean() * scale), float((w.mean() - half) * scale), float((w.mean() + half) * scale)


def self_normalised_mean(log_w: np.ndarray, values: np.ndarray, z: float = 3.0
                         ) -> tuple[np.ndarray, np.ndarray, float]:
    """Self-normalised importance sampling: Ê[f] = Σ_j w_j f_j / Σ_j w_j, with its delta-method half-width
    z sqrt(Σ_j w̄_j² (f_j − Ê)²) (w̄ the normalised weights), and the effective sample size 1 / Σ_j w̄_j².
    log_w (M,), values (M, K) → (Ê (K,), half-width (K,), ESS). The second term of GCL's gradient."""
    log_w = np.asarray(log_w, dtype=np.float64)
    wb = np.exp(log_w - log_w.max())
    wb /= wb.sum()
    f = np.asarray(values, dtype=np.float64).reshape(len(wb), -1)
    est = wb @ f
    half = z * np.sqrt((wb[:, None] ** 2 * (f - est) ** 2).sum(0))
    return est, half, float(1.0 / (wb ** 2).sum())


# ---------------------------------------------------------------- adversarial imitation

def gail_discriminator_loss(expert_logits: torch.Tensor, policy_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss in GAIL (and GAN-IRL): D = σ(logit) is the probability that a sample is the expert's,

        L(D) = −E_{(s,a) ~ expert}[log D(s, a)] − E_{(s,a) ~ π}[log(1 − D(s, a))]

    each expectation the mean over its own batch (the two batches may differ in size). Computed from logits with
    log σ(x) = −softplus(−x) and log(1 − σ(x)) = −softplus(x): finite for any logit. Lecture 12 §GAIL (Ho & Ermon
    2016); with logit = r_ψ − log π it is the IRL-as-GAN discriminator D = exp(r)/(exp(r) + π) (Finn et al. 2016).

    Args:
        expert_logits: (B_E,) discriminator logits on expert pairs.
        policy_logits: (B_π,) logits on the policy's pairs.
    Returns:
        Scalar tensor, differentiable in both inputs.

    >>> round(gail_discriminator_loss(torch.zeros(3), torch.zeros(5)).item(), 4)  # D = 1/2: 2 log 2
    1.3863
    """
    return torch.nn.functional.softplus(-expert_logits).mean() + torch.nn.functional.softplus(policy_logits).mean()


# ---------------------------------------------------------------- policies on a finite horizon

def policy_visitation(P: np.ndarray, pi: np.ndarray, mu0: np.ndarray) -> np.ndarray:
    """Exact state-action visitation of a time-varying policy run in the true dynamics:
    d_0 = mu0, μ_t(s, a) = d_t(s) π_t(a | s), d_{t+1}(s') = Σ_{s,a} μ_t(s, a) p(s' | s, a).
    P (S, A, S), pi (H, S, A), mu0 (S,) → (H, S, A). Its expected return is Σ μ · R."""
    P, pi = np.asarray(P, dtype=np.float64), np.asarray(pi, dtype=np.float64)
    d, out = np.asarray(mu0, dtype=np.float64), np.zeros(pi.shape)
    for t in range(len(pi)):
        out[t] = d[:, None] * pi[t]
        d = np.einsum("sa,sat->t", out[t], P)
    return out


def sample_trajectories(P: np.ndarray, pi: np.ndarray, mu0: np.ndarray, n: int, rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray]:
    """n trajectories of a time-varying policy pi (H, S, A) in dynamics P: states (n, H), actions (n, H) ints."""
    H, S, A = np.shape(pi)
    states, actions = np.zeros((n, H), np.int64), np.zeros((n, H), np.int64)
    s = rng.choice(S, size=n, p=mu0)
    for t in range(H):
        a = (rng.random(n)[:, None] > np.cumsum(pi[t][s], -1)).sum(-1).clip(max=A - 1)  # inverse-CDF sampling
        states[:, t], actions[:, t] = s, a
        s = (rng.random(n)[:, None] > np.cumsum(P[s, a], -1)).sum(-1).clip(max=S - 1)
    return states, actions


def tabular_bc(states: np.ndarray, actions: np.ndarray, n_states: int, n_actions: int) -> np.ndarray:
    """Behaviour cloning in a table: π(a | s) = the demonstrations' action frequencies at s, uniform where the
    demonstrations never went (there is nothing to copy). (N, H) ints → (S, A). Lecture 1's BC, tabular."""
    counts = np.zeros((n_states, n_actions))
    np.add.at(counts, (np.ravel(states), np.ravel(actions)), 1.0)
    seen = counts.sum(-1, keepdims=True) > 0
    return np.where(seen, counts / np.maximum(counts.sum(-1, keepdims=True), 1.0), 1.0 / n_actions)
