"""Transfer and multitask learning, the math (Lecture 13).

``randomise_physics``: the domain-randomisation step, resample the physics of the envs that reset
    (Tobin et al. 2017, "Domain randomization for transferring deep neural networks from simulation
    to the real world").
``goal_reward`` / ``hindsight_relabel``: the goal-reaching reward and hindsight relabelling with the
    "future" strategy (Andrychowicz et al. 2017, "Hindsight experience replay").
``distillation_loss``: the KL between a temperature-sharpened teacher and a student
    (Rusu et al. 2016, "Policy distillation").
``mmd2``: the squared maximum mean discrepancy between two samples of features, the alignment loss of domain
    adaptation (Tzeng et al. 2014, "Deep domain confusion"; Long et al. 2015, multi-kernel MMD).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def randomise_physics(params: np.ndarray, reset: np.ndarray, u: np.ndarray, low: np.ndarray, high: np.ndarray,
                      log_scale: np.ndarray) -> np.ndarray:
    """Domain randomisation: draw new physics for the environments that reset, keep the others'.

    For every env i with reset[i] and every parameter k, from a uniform draw u[i, k] ∈ [0, 1):
        uniform:      ξ_ik = low_k + u_ik (high_k − low_k)
        log-uniform:  ξ_ik = exp(log low_k + u_ik (log high_k − log low_k))   (log_scale[k] True)
    Rows with reset[i] False are returned unchanged: an episode keeps its physics from start to end.
    Lecture 13 §Randomised source domains (Tobin et al. 2017).

    Args:
        params: (N, K) current parameters of N environments (e.g. K = 2: pole half-length, pole mass).
        reset: (N,) bool, which environments start a new episode.
        u: (N, K) uniform draws in [0, 1) (only the rows that reset are used).
        low, high: (K,) positive bounds of each parameter's range.
        log_scale: (K,) bool, sample that parameter log-uniformly (scale parameters such as lengths).

    Returns:
        (N, K) new parameters, a new array (``params`` is not modified).
    """
    params, u = np.asarray(params, dtype=np.float64), np.asarray(u, dtype=np.float64)
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    lin = low + u * (high - low)  # (N, K)
    log = np.exp(np.log(low) + u * (np.log(high) - np.log(low)))  # (N, K)
    drawn = np.where(np.asarray(log_scale, dtype=bool), log, lin)  # (N, K)
    return np.where(np.asarray(reset, dtype=bool)[:, None], drawn, params)


def goal_reward(achieved: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """The sparse goal-reaching reward r(s', g) = 0 if s' = g (every coordinate), else −1.

    Args:
        achieved: (..., n) achieved goals (the bit vector after the action).
        goal: (..., n) desired goals, broadcastable against ``achieved``.

    Returns:
        (...) float64 rewards in {−1, 0}. Lecture 13 §Goal-conditioned policies (Andrychowicz et al. 2017).
    """
    return -np.any(np.asarray(achieved) != np.asarray(goal), axis=-1).astype(np.float64)


def hindsight_relabel(achieved: np.ndarray, future: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hindsight relabelling ("future" strategy): pretend the goal was a state reached later on.

    For step t of an episode whose achieved goals after each action are s'_0 .. s'_{T-1}, and a chosen
    later index j_t ≥ t:
        g'_t = s'_{j_t},        r'_t = r(s'_t, g'_t) = 0 if s'_t = g'_t else −1.
    With j_t = t every relabelled transition is a success. Lecture 13 §Hindsight relabelling.

    Args:
        achieved: (..., T, n) achieved goals after each action (leading axes: a batch of episodes).
        future: (..., T) int indices j_t in [t, T) into the same episode's time axis.

    Returns:
        goals: (..., T, n) relabelled goals g'_t.
        rewards: (..., T) float64 relabelled rewards r'_t ∈ {−1, 0}.
    """
    achieved = np.asarray(achieved)
    future = np.asarray(future, dtype=np.int64)
    goals = np.take_along_axis(achieved, future[..., None], axis=-2)  # (..., T, n)
    rewards = -np.any(achieved != goals, axis=-1).astype(np.float64)  # r(s'_t, g'_t), as goal_reward
    return goals, rewards


def distillation_loss(teacher_logits: torch.Tensor, student_logits: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """Policy distillation: mean over states of KL(softmax(q_T / τ) ‖ softmax(q_S)).

        L = (1/B) Σ_i Σ_a p_i(a) [log p_i(a) − log softmax(q_S,i)(a)],   p_i = softmax(q_T,i / τ)
        ∂L/∂q_S,i = (softmax(q_S,i) − p_i) / B

    A small τ sharpens the teacher (Rusu et al. 2016 use τ = 0.01 on DQN Q-values). The teacher gets
    no gradient. Lecture 13 §Policy distillation.

    Args:
        teacher_logits: (..., A) teacher scores (logits or Q-values); leading axes are states.
        student_logits: (..., A) student logits, same shape.
        tau: temperature > 0 applied to the teacher only.

    Returns:
        Scalar tensor: the KL averaged over all leading axes (0 when the student equals softmax(q_T / τ)).
    """
    log_p = F.log_softmax(teacher_logits.detach() / tau, dim=-1)  # (..., A)
    log_q = F.log_softmax(student_logits, dim=-1)  # (..., A)
    return (log_p.exp() * (log_p - log_q)).sum(-1).mean()


def mmd2(x: torch.Tensor, y: torch.Tensor, bandwidths: tuple[float, ...] = (1.0,)) -> torch.Tensor:
    """Squared maximum mean discrepancy (biased V-statistic) with a sum of Gaussian kernels.

        k(a, b) = Σ_σ exp(−‖a − b‖² / (2σ²))
        MMD² = (1/n²) Σ_ij k(x_i, x_j) + (1/m²) Σ_ij k(y_i, y_j) − (2/(nm)) Σ_ij k(x_i, y_j)

    It is ‖μ_x − μ_y‖² for the kernel mean embeddings μ, so ≥ 0, and 0 (up to rounding) when the two samples are
    the same set. For σ ≫ the data's spread, σ² MMD² → ‖mean(x) − mean(y)‖² (k ≈ 1 − ‖a − b‖²/(2σ²)).
    Differentiable in x and y: domain adaptation adds λ MMD²(f(x_S), f(x_T)) to the source loss so that the
    features f of source and target inputs become indistinguishable. Lecture 13 §Domain adaptation.

    Args:
        x: (n, d) source features.
        y: (m, d) target features (m may differ from n).
        bandwidths: kernel widths σ > 0; the kernels are summed.

    Returns:
        Scalar tensor MMD² (≥ 0 up to rounding).
    """
    z = torch.cat([x, y])  # (n + m, d)
    sq = (z * z).sum(-1)  # (n + m,)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * z @ z.T).clamp_min(0.0)  # (n + m, n + m) squared distances
    k = sum(torch.exp(-d2 / (2.0 * s * s)) for s in bandwidths)
    n = len(x)
    return k[:n, :n].mean() + k[n:, n:].mean() - 2.0 * k[:n, n:].mean()
