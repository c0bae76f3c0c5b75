"""Policy-gradient math: the reference implementations of Lecture 2's exercises.

Each function is pure and self-contained, because ``rlcourse solutions`` pastes
its source verbatim into the solution notebook (which imports ``np`` and ``torch``).
Time is the leading axis; extra axes are independent trajectories (envs).
"""
from __future__ import annotations

import numpy as np
import torch


def pg_pseudo_loss(log_probs: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The surrogate whose gradient is the policy-gradient estimate (minimise it).

    L̃(θ) = -(1/N) Σ_i Σ_t log π_θ(a_{i,t} | s_{i,t}) Â_{i,t},   so   -∇L̃ = ĝ = (1/N) Σ_i Σ_t ∇log π_θ Â.

    Â is a fixed weight (the full return, the reward-to-go, or either minus a baseline):
    it must not be differentiated, so it is detached. The sum runs over time and the
    mean over the N trajectories (not over all N·T steps: that would rescale ĝ by 1/T).
    Lecture 2 §2 (REINFORCE, Williams 1992; the pseudo-loss autograd differentiates).

    Args:
        log_probs: (T, ...) log π_θ(a_t | s_t), differentiable; extra axes are trajectories.
        advantages: (T, ...) weights Â_t, same shape (gradients never flow into them).
        mask: (T, ...) 1 for real steps, 0 for padding after an episode ended; None = all real.

    Returns:
        A scalar tensor.

    >>> lp = torch.log(torch.tensor([[0.5, 0.5], [0.5, 0.5]]))
    >>> round(pg_pseudo_loss(lp, torch.tensor([[1.0, 2.0], [1.0, 2.0]])).item(), 4)  # 3 log 2
    2.0794
    """
    weighted = log_probs * advantages.detach()  # (T, ...) the weight is a constant
    if mask is not None:
        weighted = weighted * mask
    return -weighted.sum(0).mean()


def importance_weights(logp_new: torch.Tensor, logp_old: torch.Tensor) -> torch.Tensor:
    """Per-step importance weights of off-policy policy gradient, w_t = Π_{t'≤t} π_θ'(a_t'|s_t') / π_θ(a_t'|s_t').

    Samples come from π_θ; the gradient is wanted for π_θ'. The dynamics cancel in the
    ratio p_θ'(τ)/p_θ(τ), leaving the product of policy ratios up to t (causality:
    later actions cannot affect r_t). Computed in log space, w_t = exp(Σ_{t'≤t} (log π_θ' - log π_θ)),
    because products of many small probabilities underflow.
    Lecture 2 §2 (off-policy policy gradient); the product's variance grows
    exponentially with T, which motivates the per-step ratios of Lecture 6.

    Args:
        logp_new: (T, ...) log π_θ'(a_t | s_t) under the policy being improved (may require grad).
        logp_old: (T, ...) log π_θ(a_t | s_t) under the policy that collected the data.

    Returns:
        (T, ...) weights w_t, differentiable with respect to ``logp_new``.

    >>> importance_weights(torch.log(torch.tensor([0.5, 0.5])), torch.log(torch.tensor([0.25, 1.0]))).tolist()
    [2.0, 1.0]
    """
    return torch.exp(torch.cumsum(logp_new - logp_old, dim=0))  # (T, ...)


def optimal_baseline(grad_log_p: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """The variance-minimising constant baseline, one per parameter: b_k = E[g_k² r] / E[g_k²].

    With g = ∇_θ log p_θ(τ) (one row per trajectory) and r = r(τ), the estimator
    g (r - b) is unbiased for every b, and its variance in component k is smallest at
    b_k = E[g_k² r] / E[g_k²]: the return averaged with weights g_k². The average-return
    baseline b = E[r] is the special case where g_k² and r are uncorrelated.
    Lecture 2 §2 (baselines; Greensmith, Bartlett & Baxter 2004).

    Args:
        grad_log_p: (N, D) per-trajectory gradients ∇_θ log p_θ(τ_i).
        returns: (N,) per-trajectory returns r(τ_i).

    Returns:
        (D,) baseline, float64 (components with all g_k = 0 get the mean return).

    >>> optimal_baseline(np.array([[1.0], [2.0]]), np.array([1.0, 6.0]))  # (1 + 4*6) / (1 + 4)
    array([5.])
    """
    g2 = np.asarray(grad_log_p, dtype=np.float64) ** 2  # (N, D)
    r = np.asarray(returns, dtype=np.float64)  # (N,)
    num, den = (g2 * r[:, None]).sum(0), g2.sum(0)  # (D,)
    safe = den > 0
    return np.where(safe, num / np.where(safe, den, 1.0), r.mean())
