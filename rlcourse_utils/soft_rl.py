"""Control as inference: soft values, backward and forward messages, the variational (soft) backup, SAC's losses.

The graphical model (Lecture 11 §graphical model; Levine 2018, "Reinforcement Learning and Control as
Probabilistic Inference"): states s_t and actions a_t as in any MDP, plus a binary *optimality* variable O_t
per step with p(O_t = 1 | s_t, a_t) = exp(r(s_t, a_t)) (rewards ≤ 0, or any rewards up to a constant). Given
O_{1:T} = 1 the trajectory posterior is

    p(τ | O_{1:T}) ∝ p(τ) exp(Σ_t r(s_t, a_t)),      p(τ) = p(s_1) Π_t p(a_t | s_t) p(s_{t+1} | s_t, a_t).

The action prior p(a | s) is taken uniform and left out (an improper prior of 1 per action): a proper prior
1/|A| only shifts every V_t by a constant and leaves every policy and posterior unchanged.

Tabular conventions as in ``envs/tabular.py`` and ``dp.py``: P[s, a, s'] (S, A, S), R[s, a] (S, A), mu0 (S,).
Finite horizon H, steps t = 0..H-1 (the lecture's 1..T); arrays indexed by time have time as the leading axis:
Q (H, S, A), V (H + 1, S) with V[H] = 0, a time-varying policy pi (H, S, A).

    backward messages   β_t(s, a) = exp(r(s, a)) Σ_s' p(s'|s, a) β_{t+1}(s'),   β_t(s) = Σ_a β_t(s, a), β_H = 1
    in log space        Q_t = r + log E_{s'}[exp V_{t+1}(s')],   V_t = log Σ_a exp Q_t   ("optimistic")
    variational backup  Q_t = r + E_{s'}[V_{t+1}(s')],            V_t = α log Σ_a exp(Q_t / α)
    policy              π_t(a | s) = exp((Q_t(s, a) - V_t(s)) / α)

Every function here is self-contained (uses only ``np`` or ``torch``), so ``rlcourse solutions`` can paste it.
"""
from __future__ import annotations

import numpy as np
import torch


# ---------------------------------------------------------------- soft value and soft policy

def soft_value(Q: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """The soft maximum over actions, V(s) = α log Σ_a exp(Q(s, a) / α), computed without overflow.

    Lecture 11 §backward messages (V = log β) and §temperature: max_a Q ≤ V ≤ max_a Q + α log |A|, so V → max_a Q
    as α → 0 (Levine 2018, eq. 7; Haarnoja et al. 2017).

    Args:
        Q: (..., A) action values; any leading batch axes (states, time, a mini-batch).
        alpha: temperature α > 0.
    Returns:
        (...,) float array: Q's shape without its last axis.

    >>> round(float(soft_value(np.array([0.0, np.log(3.0)]))), 6)          # log(1 + 3)
    1.386294
    >>> soft_value(np.array([[1.0, 1.0], [5.0, -5.0]]), alpha=1e-3)   # small α: max + up to α log 2, per row
    array([1.00069315, 5.        ])
    """
    Q = np.asarray(Q, dtype=np.float64)
    m = Q.max(-1)
    return m + alpha * np.log(np.exp((Q - m[..., None]) / alpha).sum(-1))


def soft_policy(Q: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """π(a | s) = exp((Q(s, a) - V(s)) / α) with V the soft value: (..., A) → (..., A), rows sum to 1. Lecture 11 §policy."""
    Q = np.asarray(Q, dtype=np.float64)
    z = np.exp((Q - Q.max(-1, keepdims=True)) / alpha)
    return z / z.sum(-1, keepdims=True)


# ---------------------------------------------------------------- finite-horizon inference

def backward_messages(P: np.ndarray, R: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Backward messages in probability space, β_t(s, a) = p(O_{t:H} | s_t, a_t) and β_t(s) = p(O_{t:H} | s_t).

        β_H(s) = 1,   β_t(s, a) = exp(r(s, a)) Σ_s' p(s' | s, a) β_{t+1}(s'),   β_t(s) = Σ_a β_t(s, a)

    Lecture 11 §backward messages. P (S, A, S), R (S, A) → (beta_sa (H, S, A), beta_s (H + 1, S)).
    """
    P, R = np.asarray(P, dtype=np.float64), np.asarray(R, dtype=np.float64)
    beta_sa, beta_s = np.zeros((horizon, *R.shape)), np.ones((horizon + 1, R.shape[0]))
    for t in reversed(range(horizon)):
        beta_sa[t] = np.exp(R) * (P @ beta_s[t + 1])
        beta_s[t] = beta_sa[t].sum(-1)
    return beta_sa, beta_s


def inference_backward_pass(P: np.ndarray, R: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """The same messages in log space, Q_t = log β_t(s, a), V_t = log β_t(s): the "optimistic" soft backup.

        V_H = 0,   Q_t(s, a) = r(s, a) + log E_{s' ~ p(·|s, a)}[exp V_{t+1}(s')],   V_t(s) = log Σ_a exp Q_t(s, a)

    Stable for any horizon (no exp overflow). Lecture 11 §the optimism problem.
    P (S, A, S), R (S, A) → (Q (H, S, A), V (H + 1, S)).
    """
    P, R = np.asarray(P, dtype=np.float64), np.asarray(R, dtype=np.float64)
    Q, V = np.zeros((horizon, *R.shape)), np.zeros((horizon + 1, R.shape[0]))
    with np.errstate(divide="ignore"):
        log_P = np.log(P)
    for t in reversed(range(horizon)):
        x = log_P + V[t + 1]  # (S, A, S): log p(s'|s,a) + V_{t+1}(s')
        m = x.max(-1)
        Q[t] = R + m + np.log(np.exp(x - m[..., None]).sum(-1))
        mq = Q[t].max(-1)
        V[t] = mq + np.log(np.exp(Q[t] - mq[:, None]).sum(-1))
    return Q, V


def soft_backward_pass(P: np.ndarray, R: np.ndarray, horizon: int, alpha: float = 1.0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The variational soft Bellman backward pass (soft value iteration, finite horizon), temperature α.

        V_H = 0,   Q_t(s, a) = r(s, a) + E_{s' ~ p(·|s, a)}[V_{t+1}(s')],   V_t(s) = α log Σ_a exp(Q_t(s, a) / α)

    The backup is an *expectation* of V_{t+1}, not the log-expectation of exp V_{t+1} that exact inference
    gives: its policy π_t = exp((Q_t - V_t) / α) maximises E[Σ_t r(s_t, a_t) + α H(π_t(·|s_t))] under the true
    dynamics, and that maximum is E_{s_0 ~ p(s_0)}[V_0(s_0)]. Lecture 11 §control via variational inference
    (Levine 2018, §3; Ziebart 2010).

    Args:
        P: (S, A, S) transition probabilities.  R: (S, A) rewards.  horizon: H ≥ 1 steps.  alpha: α > 0.
    Returns:
        (Q, V): Q of shape (H, S, A) and V of shape (H + 1, S) with V[H] = 0 (float64).
    """
    P, R = np.asarray(P, dtype=np.float64), np.asarray(R, dtype=np.float64)
    Q, V = np.zeros((horizon, *R.shape)), np.zeros((horizon + 1, R.shape[0]))
    for t in reversed(range(horizon)):
        Q[t] = R + P @ V[t + 1]  # (S, A): the expectation of V_{t+1}, not log E exp
        m = Q[t].max(-1)
        V[t] = m + alpha * np.log(np.exp((Q[t] - m[:, None]) / alpha).sum(-1))
    return Q, V


def forward_messages(P: np.ndarray, R: np.ndarray, mu0: np.ndarray, horizon: int) -> np.ndarray:
    """Forward messages α_t(s) = p(s_t | O_{0:t-1}), normalised: α_0 = p(s_0),

        α_{t+1}(s') ∝ Σ_{s, a} p(s' | s, a) exp(r(s, a)) α_t(s)      (uniform action prior absorbed)

    Lecture 11 §forward messages. P (S, A, S), R (S, A), mu0 (S,) → (H, S), each row sums to 1.
    """
    P, R = np.asarray(P, dtype=np.float64), np.asarray(R, dtype=np.float64)
    alpha = np.zeros((horizon, R.shape[0]))
    alpha[0] = mu0
    for t in range(horizon - 1):
        nxt = np.einsum("s,sa,sat->t", alpha[t], np.exp(R), P)
        alpha[t + 1] = nxt / nxt.sum()
    return alpha


def posterior_state_marginals(P: np.ndarray, R: np.ndarray, mu0: np.ndarray, horizon: int) -> np.ndarray:
    """p(s_t | O_{0:H-1}) ∝ β_t(s_t) α_t(s_t): forward times backward message. (H, S), rows sum to 1. Lecture 11."""
    _, beta_s = backward_messages(P, R, horizon)
    m = forward_messages(P, R, mu0, horizon) * beta_s[:horizon]
    return m / m.sum(-1, keepdims=True)


def posterior_transition(P: np.ndarray, R: np.ndarray, horizon: int) -> np.ndarray:
    """The transition the posterior believes in, p(s_{t+1} | s_t, a_t, O_{0:H-1}) ∝ p(s_{t+1} | s_t, a_t) β_{t+1}(s_{t+1}).

    Different from p(s' | s, a) whenever the dynamics are stochastic and β_{t+1} is not constant: the optimism
    problem (Lecture 11). P (S, A, S), R (S, A) → (H - 1, S, A, S) for t = 0..H-2.
    """
    _, beta_s = backward_messages(P, R, horizon)
    post = np.asarray(P, dtype=np.float64)[None] * beta_s[1:horizon, None, None, :]  # (H-1, S, A, S)
    return post / post.sum(-1, keepdims=True)


def enumerate_posterior(P: np.ndarray, R: np.ndarray, mu0: np.ndarray, horizon: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Brute force: every trajectory τ = (s_0, a_0, ..., s_{H-1}, a_{H-1}) and its posterior weight
    p(τ | O) = p(s_0) Π_t p(s_{t+1} | s_t, a_t) exp(Σ_t r(s_t, a_t)) / Z (uniform action prior).

    K = (S A)^H trajectories: keep S, A, H tiny. Lecture 11 §inference, an oracle independent of the messages.
    Returns states (K, H), actions (K, H), weights (K,) summing to 1.
    """
    P, R, mu0 = (np.asarray(x, dtype=np.float64) for x in (P, R, mu0))
    S, A = R.shape
    grid = np.indices((S, A) * horizon).reshape(2 * horizon, -1).T  # (K, 2H): s_0, a_0, s_1, a_1, ...
    states, actions = grid[:, 0::2], grid[:, 1::2]
    w = mu0[states[:, 0]] * np.exp(R[states, actions].sum(1))
    w = w * P[states[:, :-1], actions[:, :-1], states[:, 1:]].prod(1)
    return states, actions, w / w.sum()


def soft_objective(P: np.ndarray, R: np.ndarray, mu0: np.ndarray, pi: np.ndarray, alpha: float = 1.0) -> float:
    """J(π) = E_{τ ~ π, true dynamics}[Σ_t r(s_t, a_t) + α H(π_t(·|s_t))], exactly, for a time-varying policy.

    The variational lower bound on log p(O_{0:H-1}) (at α = 1) with q(τ) = p(s_0) Π_t p(s_{t+1}|s_t, a_t) π_t(a_t|s_t).
    Lecture 11 §control via variational inference. P (S, A, S), R (S, A), mu0 (S,), pi (H, S, A) → float.
    """
    P, R, pi = (np.asarray(x, dtype=np.float64) for x in (P, R, pi))
    d, total = np.asarray(mu0, dtype=np.float64), 0.0
    for t in range(len(pi)):
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = -np.where(pi[t] > 0, pi[t] * np.log(pi[t]), 0.0).sum(-1)  # (S,)
        total += d @ ((pi[t] * R).sum(-1) + alpha * ent)
        d = np.einsum("s,sa,sat->t", d, pi[t], P)
    return float(total)


def soft_objective_torch(P: torch.Tensor, R: torch.Tensor, mu0: torch.Tensor, logits: torch.Tensor,
                         alpha: float = 1.0) -> torch.Tensor:
    """``soft_objective`` of the softmax policy π_t = softmax(logits[t]) as a differentiable torch scalar.

    P (S, A, S), R (S, A), mu0 (S,), logits (H, S, A), all float64 tensors → () tensor. Lecture 11 §entropy-
    regularised policy gradient: autograd of this is the exact gradient a soft policy gradient estimates.
    """
    log_pi = torch.log_softmax(logits, -1)
    d, total = mu0, torch.zeros((), dtype=logits.dtype)
    for t in range(len(logits)):
        pi = log_pi[t].exp()
        total = total + d @ (pi * (R - alpha * log_pi[t])).sum(-1)
        d = torch.einsum("s,sa,sat->t", d, pi, P)
    return total


def soft_q_iteration(P: np.ndarray, R: np.ndarray, gamma: float, alpha: float, n_iters: int,
                     terminal: np.ndarray | None = None) -> np.ndarray:
    """Discounted soft Q-iteration: Q ← r + γ Σ_s' p(s'|s, a) V(s'), V(s') = α log Σ_a' exp(Q(s', a') / α).

    ``terminal`` (S,) bool marks absorbing end states whose value is 0 (an episode ends on entering them, as
    in the soft Q-learning loop). Converges to the soft-optimal Q* (a γ-contraction). Lecture 11 §soft
    Q-learning (Haarnoja et al. 2017). P (S, A, S), R (S, A) → (S, A).
    """
    P, R = np.asarray(P, dtype=np.float64), np.asarray(R, dtype=np.float64)
    keep = np.ones(len(P)) if terminal is None else 1.0 - np.asarray(terminal, dtype=np.float64)
    Q = np.zeros_like(R)
    for _ in range(n_iters):
        m = Q.max(-1)
        V = (m + alpha * np.log(np.exp((Q - m[:, None]) / alpha).sum(-1))) * keep
        Q = R + gamma * P @ V
    return Q


# ---------------------------------------------------------------- sample-based targets and losses

def soft_q_targets(rewards: np.ndarray, next_q_target: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                   gamma: float, alpha: float) -> np.ndarray:
    """Soft Q-learning target y = r + γ (1 - terminated) α log Σ_a' exp(Q_φ'(s', a') / α).

    DQN's target (Lecture 5, ``q_learning.dqn_targets``) with the max replaced by the soft max; α → 0 gives DQN's.
    Only ``terminated`` stops the bootstrap. Lecture 11 §soft Q-learning (Haarnoja et al. 2017).
    rewards (B,), next_q_target (B, A), terminated and truncated (B,) bool → (B,) float64.
    """
    q = np.asarray(next_q_target, dtype=np.float64)
    m = q.max(-1)
    v = m + alpha * np.log(np.exp((q - m[..., None]) / alpha).sum(-1))  # (B,) soft max over a'
    return np.asarray(rewards, dtype=np.float64) + gamma * (1.0 - np.asarray(terminated, dtype=np.float64)) * v


def sac_targets(rewards: np.ndarray, next_q_target: np.ndarray, next_log_prob: np.ndarray,
                terminated: np.ndarray, truncated: np.ndarray, gamma: float, alpha: float) -> np.ndarray:
    """SAC's critic target, y = r + γ (1 - terminated) (min_i Q_φ'_i(s', a') - α log π(a' | s')), a' ~ π(·|s').

    The soft value V(s') = E_{a'~π}[Q(s', a') - α log π(a'|s')] estimated with one fresh action a' from the
    *current* policy; the min over the twin target critics curbs overestimation (TD3's trick, Lecture 5).
    Only ``terminated`` stops the bootstrap. Lecture 11 §SAC (Haarnoja et al. 2018, eq. 3 and 5).

    Args:
        rewards: (B,).  next_q_target: (K, B) Q_φ'_i(s', a') of K ≥ 1 target critics (K = 2 in SAC).
        next_log_prob: (B,) log π(a'|s').  terminated, truncated: (B,) bool.  gamma: γ.  alpha: α ≥ 0.
    Returns:
        (B,) float64 targets.
    """
    v = np.asarray(next_q_target, dtype=np.float64).min(0) - alpha * np.asarray(next_log_prob, dtype=np.float64)
    return np.asarray(rewards, dtype=np.float64) + gamma * (1.0 - np.asarray(terminated, dtype=np.float64)) * v


def sac_temperature_loss(log_alpha: torch.Tensor, log_prob: torch.Tensor, target_entropy: float) -> torch.Tensor:
    """SAC's automatic temperature: L(α) = -E_{a~π}[log α · (log π(a|s) + H̄)], gradient into log α only.

    Descending it raises α when the policy's entropy -E[log π] is below the target H̄ and lowers it when above,
    so the entropy is held near H̄ (a dual variable for the constraint E[-log π] ≥ H̄). Lecture 11 §SAC
    (Haarnoja et al. 2018b, "SAC algorithms and applications", eq. 18; parametrised by log α).

    Args:
        log_alpha: () tensor log α, requires grad.  log_prob: (B,) log π(a|s) of fresh policy actions (any
            grad it carries must not reach the loss).  target_entropy: H̄ (e.g. -act_dim).
    Returns:
        () tensor.
    """
    return -(log_alpha * (log_prob.detach() + target_entropy)).mean()


def tanh_gaussian_log_prob(u: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor, scale: float = 1.0
                           ) -> torch.Tensor:
    """log π(a|s) of a = scale · tanh(u), u ~ N(mean, diag exp(log_std)²): the change of variables

        log π(a) = Σ_j [log N(u_j; mean_j, σ_j²) - log(scale (1 - tanh² u_j))],
        log(1 - tanh² u) = 2 (log 2 - u - softplus(-2u))   (stable for large |u|)

    Lecture 11 §SAC (Haarnoja et al. 2018, appendix C). u, mean, log_std (B, act_dim) → (B,).
    """
    normal = -0.5 * ((u - mean) / log_std.exp()) ** 2 - log_std - 0.5 * np.log(2 * np.pi)
    log_det = 2.0 * (np.log(2.0) - u - torch.nn.functional.softplus(-2.0 * u)) + np.log(scale)
    return (normal - log_det).sum(-1)


def soft_policy_value(P: np.ndarray, R: np.ndarray, pi: np.ndarray, gamma: float, alpha: float,
                      terminal: np.ndarray | None = None) -> np.ndarray:
    """Exact discounted soft value of a stationary policy, V^π = (I - γ P_π)^{-1} (r_π + α H_π), by a linear solve.

    H_π(s) = -Σ_a π(a|s) log π(a|s), set to 0 on ``terminal`` states (S,) bool, whose value is 0 (the episode
    is over). α = 0 gives the ordinary V^π (Lecture 2). An oracle independent of soft Q-iteration: at π ∝ exp(Q*/α)
    it equals the soft value α log Σ_a exp(Q*(s, a)/α). Lecture 11 §soft Q-learning. P (S, A, S), R (S, A),
    pi (S, A) → (S,).
    """
    P, R, pi = (np.asarray(x, dtype=np.float64) for x in (P, R, pi))
    keep = np.ones(len(P)) if terminal is None else 1.0 - np.asarray(terminal, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(pi > 0, pi * np.log(pi), 0.0).sum(-1)
    r_pi = ((pi * R).sum(-1) + alpha * ent) * keep
    P_pi = np.einsum("sa,sat->st", pi, P) * keep[:, None]  # no value flows out of a terminal state
    return np.linalg.solve(np.eye(len(P)) - gamma * P_pi, r_pi)


def soft_policy_gradient_by_enumeration(P: np.ndarray, R: np.ndarray, mu0: np.ndarray, logits: np.ndarray,
                                        alpha: float = 1.0, entropy: bool = True) -> np.ndarray:
    """The entropy-regularised policy gradient as an exact sum over all trajectories (score-function form):

        ∇_θ J = Σ_τ p_θ(τ) Σ_t ∇_θ log π_t(a_t|s_t) Σ_{t' ≥ t} (r(s_t', a_t') - α log π_t'(a_t'|s_t'))

    (the extra -α ∇ log π_t term of differentiating the entropy has zero mean and is dropped). ``entropy=False``
    drops the -α log π rewards too: the gradient of the plain return, the wrong one for the soft objective.
    Softmax policy π_t = softmax(logits[t]); ∇ log π_t(a|s) w.r.t. logits[t, s] is one_hot(a) - π_t(·|s).
    Lecture 11 §policy gradient with soft optimality. P (S, A, S), R (S, A), mu0 (S,), logits (H, S, A) → (H, S, A).
    """
    P, R, mu0, logits = (np.asarray(x, dtype=np.float64) for x in (P, R, mu0, logits))
    H, (S, A) = len(logits), R.shape
    z = np.exp(logits - logits.max(-1, keepdims=True))
    pi = z / z.sum(-1, keepdims=True)  # (H, S, A)
    grid = np.indices((S, A) * H).reshape(2 * H, -1).T
    states, actions = grid[:, 0::2], grid[:, 1::2]  # (K, H)
    t_idx = np.arange(H)
    log_pi = np.log(pi[t_idx, states, actions])  # (K, H)
    w = mu0[states[:, 0]] * np.exp(log_pi.sum(1)) * P[states[:, :-1], actions[:, :-1], states[:, 1:]].prod(1)  # (K,)
    rew = R[states, actions] - (alpha * log_pi if entropy else 0.0)  # (K, H)
    togo = np.cumsum(rew[:, ::-1], 1)[:, ::-1]  # (K, H) Σ_{t' ≥ t}
    grad = np.zeros((H, S, A))
    for t in range(H):
        score = np.eye(A)[actions[:, t]] - pi[t, states[:, t]]  # (K, A)
        np.add.at(grad[t], states[:, t], (w * togo[:, t])[:, None] * score)
    return grad


def lottery_mdp() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The optimism example: from the start (state 0), "safe" (a = 0) leads to a quiet state (3, reward 0 per step);
    "gamble" (a = 1) reaches a jackpot (state 1, +3 per step) with probability 0.1 and a bust (state 2, -1 per step)
    with probability 0.9. Every later state keeps itself whatever the action. Returns (P (4, 2, 4), R (4, 2), mu0 (4,)).
    Lecture 11 §the optimism problem.
    """
    P = np.zeros((4, 2, 4))
    P[0, 0, 3] = 1.0
    P[0, 1, 1], P[0, 1, 2] = 0.1, 0.9
    for s in (1, 2, 3):
        P[s, :, s] = 1.0
    R = np.array([[0.0, 0.0], [3.0, 3.0], [-1.0, -1.0], [0.0, 0.0]])
    return P, R, np.eye(4)[0]
