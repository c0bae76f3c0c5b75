"""Trust-region math of Lecture 6: KL divergences, Fisher-vector products, conjugate gradient,
the natural step size, PPO's clipped surrogate and TRPO's backtracking line search.

The reference implementations of Lecture 6's exercises, used by ``algos.trpo`` and ``algos.ppo``.
Each exercise function is self-contained (``rlcourse solutions`` pastes its source into the
notebook, where only ``np``, ``torch``, ``F``, ``math`` and ``Callable`` are defined).

    D_KL(p ‖ q) = Σ_x p(x) log p(x) / q(x)
    D_KL(π_θ ‖ π_θ') ≈ ½ (θ' - θ)ᵀ F (θ' - θ),   F = E_{π_θ}[∇log π_θ ∇log π_θᵀ] = ∇²_θ' D_KL |_{θ'=θ}
    natural gradient:  θ' = θ + α F⁻¹ g,  α = √(2ε / gᵀ F⁻¹ g)  (then ½ (θ'-θ)ᵀ F (θ'-θ) = ε)
    PPO:  L^CLIP(θ') = E[min(r_t Â_t, clip(r_t, 1-ε, 1+ε) Â_t)],  r_t = π_θ'(a_t|s_t) / π_θ(a_t|s_t)

Lecture 6 §Advanced policy gradients (Kakade 2002; Peters & Schaal 2008; Schulman et al. 2015, TRPO;
Schulman et al. 2017, PPO).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F


def categorical_kl(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """KL divergence D_KL(p ‖ q) = Σ_a p(a) (log p(a) - log q(a)) between categoricals given by logits.

    p = softmax(logits_p) and q = softmax(logits_q) along the last axis. Logits are defined up
    to an additive constant, so normalise with log_softmax (never log(softmax(·)), which
    underflows to -inf for very negative logits). Differentiable in both arguments.
    Lecture 6 §KL divergence (the trust region of TRPO: D_KL(π_θ(·|s) ‖ π_θ'(·|s))).

    Args:
        logits_p: (..., A) logits of p.
        logits_q: (..., A) logits of q, same shape.

    Returns:
        (...) KL per row, ≥ 0, zero iff p = q.

    >>> round(categorical_kl(torch.log(torch.tensor([0.5, 0.5])), torch.log(torch.tensor([0.25, 0.75]))).item(), 4)
    0.1438
    """
    log_p = F.log_softmax(logits_p, dim=-1)  # (..., A)
    log_q = F.log_softmax(logits_q, dim=-1)  # (..., A)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def gaussian_kl(mean_p: torch.Tensor, log_std_p: torch.Tensor, mean_q: torch.Tensor,
                log_std_q: torch.Tensor) -> torch.Tensor:
    """KL divergence D_KL(p ‖ q) between diagonal Gaussians p = N(μ_p, diag σ_p²), q = N(μ_q, diag σ_q²).

    Per dimension: log(σ_q / σ_p) + (σ_p² + (μ_p - μ_q)²) / (2 σ_q²) - ½, summed over the last
    (action) axis. Lecture 6 §KL divergence (continuous actions).

    Args:
        mean_p, log_std_p: (..., act_dim) mean and log standard deviation of p.
        mean_q, log_std_q: (..., act_dim) of q; all four broadcast against each other.

    Returns:
        (...) KL per row (summed over act_dim).

    >>> gaussian_kl(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([1.0]), torch.tensor([0.0])).item()
    0.5
    """
    var_p, var_q = torch.exp(2 * log_std_p), torch.exp(2 * log_std_q)
    per_dim = log_std_q - log_std_p + (var_p + (mean_p - mean_q) ** 2) / (2 * var_q) - 0.5  # (..., act_dim)
    return per_dim.sum(-1)


def flat_grad(y: torch.Tensor, params: list[torch.Tensor], create_graph: bool = False) -> torch.Tensor:
    """∇_params y flattened into one vector (zeros for parameters y does not depend on). (D,)"""
    grads = torch.autograd.grad(y, params, create_graph=create_graph, retain_graph=True, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads)])


def fisher_vector_product(kl: torch.Tensor, params: list[torch.Tensor], v: torch.Tensor,
                          damping: float = 0.0) -> torch.Tensor:
    """F v without forming F, by double backprop through the mean KL: F v = ∇_θ ((∇_θ D̄_KL) · v).

    ``kl`` must be D̄_KL(π_old ‖ π_θ) with π_old held fixed (detached) and evaluated at θ = θ_old:
    its gradient there is zero and its Hessian is the Fisher matrix F. Costs two backward passes,
    never D² memory. ``damping`` adds c v (i.e. uses F + c I), which keeps CG stable where F is
    singular (softmax logits are shift-invariant). Lecture 6 §Natural gradient (Schulman et al. 2015, App. C).

    Args:
        kl: scalar tensor, differentiable in ``params``.
        params: the policy's parameters θ (list of tensors, D entries in total).
        v: (D,) vector.
        damping: c ≥ 0.

    Returns:
        (D,) the product (F + c I) v.
    """
    grad_kl = flat_grad(kl, params, create_graph=True)  # (D,) ∇D̄, zero in value but differentiable
    return flat_grad(grad_kl @ v, params) + damping * v  # (D,)


def conjugate_gradient(A: torch.Tensor | Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, n_iters: int = 10,
                       residual_tol: float = 1e-10) -> torch.Tensor:
    """Solve A x = b for a symmetric positive-definite A by conjugate gradient, starting from x = 0.

        r_0 = p_0 = b;   α_k = r_kᵀ r_k / p_kᵀ A p_k;   x ← x + α_k p_k;   r_{k+1} = r_k - α_k A p_k;
        β_k = r_{k+1}ᵀ r_{k+1} / r_kᵀ r_k;   p_{k+1} = r_{k+1} + β_k p_k.

    Stop after ``n_iters`` iterations, or as soon as r_kᵀ r_k < residual_tol (then return x as it
    is). CG only needs products A p: TRPO passes a function computing Fisher-vector products, so
    ``A`` may be an (n, n) matrix (use ``A @ p``) or a callable p ↦ A p (use ``A(p)``). In exact
    arithmetic it solves an n × n system in n iterations. Lecture 6 §Natural gradient, TRPO
    (Nocedal & Wright 2006, Alg. 5.2).

    Args:
        A: (n, n) symmetric positive-definite tensor, or a callable returning A p for an (n,) tensor p.
        b: (n,) right-hand side.
        n_iters: maximum number of iterations (each costs one product A p).
        residual_tol: stop when the squared residual norm falls below this.

    Returns:
        (n,) approximate solution x ≈ A⁻¹ b, same dtype as b.

    >>> conjugate_gradient(torch.tensor([[4.0, 1.0], [1.0, 3.0]]), torch.tensor([1.0, 2.0]), 2)
    tensor([0.0909, 0.6364])
    """
    matvec = A if callable(A) else (lambda p: A @ p)
    x = torch.zeros_like(b)
    r, p = b.clone(), b.clone()  # residual b - A x and search direction
    rr = r @ r
    for _ in range(n_iters):
        if rr < residual_tol:
            break
        Ap = matvec(p)
        alpha = rr / (p @ Ap)
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def natural_step_size(g: torch.Tensor, Finv_g: torch.Tensor, epsilon: float) -> float:
    """α = √(2ε / gᵀ F⁻¹ g): the step along F⁻¹ g that reaches the KL trust-region boundary.

    With Δθ = α F⁻¹ g the quadratic KL model is ½ Δθᵀ F Δθ = ½ α² gᵀ F⁻¹ g = ε.
    Lecture 6 §Natural gradient.

    Args:
        g: (D,) policy gradient.  Finv_g: (D,) the natural direction F⁻¹ g (e.g. from CG).
        epsilon: trust-region size ε (a KL, in nats).

    >>> natural_step_size(torch.tensor([1.0, 0.0]), torch.tensor([2.0, 0.0]), 0.01)  # √(0.02 / 2)
    0.1
    """
    return math.sqrt(2 * epsilon / max(float(g @ Finv_g), 1e-12))


def ppo_clip_loss(logp_new: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor,
                  clip_eps: float) -> torch.Tensor:
    """PPO's clipped surrogate, as a loss to minimise:

        L = -mean_t min(r_t Â_t, clip(r_t, 1-ε, 1+ε) Â_t),   r_t = exp(log π_θ'(a_t|s_t) - log π_θ(a_t|s_t)).

    The minimum makes it a pessimistic bound: once r_t leaves [1-ε, 1+ε] in the direction the
    advantage pushes it, the term is flat and its gradient is zero; moving the other way is never
    clipped. ``logp_old`` and ``advantages`` come from the rollout and must not be differentiated.
    At θ' = θ (r = 1) its gradient is the policy gradient. Lecture 6 §PPO (Schulman et al. 2017, eq. 7).

    Args:
        logp_new: (B,) log π_θ'(a_t | s_t) under the policy being optimised (requires grad).
        logp_old: (B,) log π_θ(a_t | s_t) under the policy that collected the data.
        advantages: (B,) Â_t.
        clip_eps: ε, usually 0.1 to 0.3.

    Returns:
        A scalar tensor.

    >>> lp_old = torch.log(torch.tensor([0.5, 0.5]))
    >>> round(ppo_clip_loss(torch.log(torch.tensor([0.8, 0.8])), lp_old, torch.tensor([1.0, -1.0]), 0.2).item(), 4)
    0.2
    """
    ratio = torch.exp(logp_new - logp_old.detach())  # (B,) r_t
    adv = advantages.detach()
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)  # (B,)
    return -torch.min(ratio * adv, clipped * adv).mean()


def backtracking_line_search(evaluate: Callable[[float], tuple[float, float]], max_kl: float,
                             backtrack_coef: float = 0.5, max_backtracks: int = 10) -> tuple[float, int]:
    """TRPO's line search: try the fractions 1, β, β², ... of the full natural step and keep the first
    whose measured KL is within the trust region and whose surrogate actually improves.

    The quadratic model of the KL and the linear model of the objective are only local, so the
    full step α F⁻¹ g may overshoot; measuring the true D̄_KL and ΔL̄ at each candidate is what
    makes "KL ≤ δ after every update" hold. Lecture 6 §TRPO (Schulman et al. 2015, App. C).

    Args:
        evaluate: fraction f ↦ (surrogate improvement L̄(θ + f Δθ) - L̄(θ), mean KL D̄_KL(θ, θ + f Δθ)).
        max_kl: trust-region size δ.
        backtrack_coef: β in (0, 1).
        max_backtracks: candidates to try before giving up.

    Returns:
        (fraction accepted, number of candidates tried); fraction 0.0 means no step was accepted.

    >>> backtracking_line_search(lambda f: (f, f ** 2), max_kl=0.1)  # f² ≤ 0.1 first at f = 1/4
    (0.25, 3)
    """
    fraction = 1.0
    for i in range(max_backtracks):
        improvement, kl = evaluate(fraction)
        if kl <= max_kl and improvement > 0:
            return fraction, i + 1
        fraction *= backtrack_coef
    return 0.0, max_backtracks
