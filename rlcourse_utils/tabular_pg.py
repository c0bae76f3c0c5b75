"""Exact tabular quantities for Lecture 6: the identities behind TRPO, checked without sampling.

On a ``TabularMDP`` with softmax policies π_θ(a|s) = softmax(θ[s])_a everything below is an exact
finite sum or linear solve (``envs.tabular`` provides V^π, Q^π, A^π and the discounted visitation
d^π(s) = Σ_t γ^t p_π(s_t = s)):

    performance difference   J(π') - J(π) = E_{τ~p_π'}[Σ_t γ^t A^π(s_t, a_t)] = Σ_s d^π'(s) Σ_a π'(a|s) A^π(s, a)
    surrogate (old states)   L_π(π')      = Σ_s d^π(s) Σ_a π(a|s) [π'(a|s) / π(a|s)] A^π(s, a)
    the surrogate's error    J(π') - J(π) - L_π(π') = Σ_s (d^π'(s) - d^π(s)) Ā(s),   Ā(s) = E_{a~π'(·|s)}[A^π(s, a)]
    per state                |Ā(s)| ≤ 2 D_TV(π(·|s), π'(·|s)) max_a |A^π(s, a)|   (since E_{a~π}[A^π(s, a)] = 0)
    state mismatch           Σ_s |p_π'(s_t) - p_π(s_t)| ≤ 2 (1 - (1 - α)^t) ≤ 2 α t   (coupling)
    TRPO's bound             |J(π') - J(π) - L_π(π')| ≤ 4 ε γ α² / ((1 - γ)(1 - γ(1 - α))) ≤ 4 ε γ α² / (1 - γ)²,
                             α = max_s D_TV(π(·|s), π'(·|s)),  ε = max_{s,a} |A^π(s, a)|
    mean KL and its Hessian  D̄(θ, θ') = Σ_s ρ(s) D_KL(π_θ(·|s) ‖ π_θ'(·|s)),  ∇²_θ' D̄ |_{θ'=θ} = F(θ)

with ρ = (1 - γ) d^π the normalised discounted state distribution. The last part of the module runs
small experiments on these exact quantities: vanilla versus natural gradient ascent under a badly
scaled parameterisation, and dual gradient descent on the KL-constrained surrogate.
Lecture 6 §Policy gradient as policy iteration, §Bounding the objective, §Natural gradient
(Kakade & Langford 2002; Schulman et al. 2015, Thm 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rlcourse_utils.envs.tabular import (TabularMDP, advantage, discounted_visitation, exact_gradient,
                                         exact_objective, policy_transition, softmax_policy)


# ---------------------------------------------------------------- state distributions and bounds

def state_marginals(mdp: TabularMDP, pi: np.ndarray, horizon: int) -> np.ndarray:
    """p_π(s_t = s) for t = 0 .. horizon-1, starting from p(s_0) = μ0. Returns (H, S)."""
    P_pi, _ = policy_transition(mdp, pi)
    out = np.zeros((horizon, mdp.n_states))
    out[0] = mdp.mu0
    for t in range(1, horizon):
        out[t] = out[t - 1] @ P_pi
    return out


def performance_difference(mdp: TabularMDP, pi_old: np.ndarray, pi_new: np.ndarray) -> float:
    """E_{τ~p_π'}[Σ_t γ^t A^π(s_t, a_t)] = Σ_s d^π'(s) Σ_a π'(a|s) A^π(s, a): states AND actions from the new policy."""
    return float(discounted_visitation(mdp, pi_new) @ (pi_new * advantage(mdp, pi_old)).sum(-1))


def surrogate(mdp: TabularMDP, pi_old: np.ndarray, pi_new: np.ndarray) -> float:
    """L_π(π') = Σ_s d^π(s) Σ_a π(a|s) [π'(a|s)/π(a|s)] A^π(s, a): old policy's states, importance-weighted actions."""
    ratio = pi_new / pi_old  # (S, A) importance weights
    return float(discounted_visitation(mdp, pi_old) @ (pi_old * ratio * advantage(mdp, pi_old)).sum(-1))


def max_tv(pi_a: np.ndarray, pi_b: np.ndarray) -> float:
    """α = max_s D_TV(π_a(·|s), π_b(·|s)) = max_s ½ Σ_a |π_a(a|s) - π_b(a|s)|."""
    return float(0.5 * np.abs(pi_a - pi_b).sum(-1).max())


def expected_advantage(mdp: TabularMDP, pi_old: np.ndarray, pi_new: np.ndarray) -> np.ndarray:
    """Ā(s) = E_{a~π'(·|s)}[A^π(s, a)] = Σ_a (π'(a|s) - π(a|s)) A^π(s, a), the second form because
    E_{a~π}[A^π(s, a)] = 0; hence |Ā(s)| ≤ 2 D_TV(π(·|s), π'(·|s)) max_a |A^π(s, a)|. (S,)"""
    return (pi_new * advantage(mdp, pi_old)).sum(-1)


def mismatch_bound(alpha: float, eps: float, gamma: float) -> float:
    """Σ_t γ^t · 2(1 - (1 - α)^t) · 2αε = 4εγα² / ((1 - γ)(1 - γ(1 - α))): the state mismatch at time t
    (coupling) times the largest per-state |Ā| (2αε), summed over time; at most TRPO's 4εγα² / (1 - γ)²."""
    return 4 * eps * gamma * alpha ** 2 / ((1 - gamma) * (1 - gamma * (1 - alpha)))


def state_kl(pi_a: np.ndarray, pi_b: np.ndarray) -> np.ndarray:
    """D_KL(π_a(·|s) ‖ π_b(·|s)) for every state s. (S, A), (S, A) → (S,)"""
    return (pi_a * (np.log(pi_a) - np.log(pi_b))).sum(-1)


def escape_mdp(gamma: float = 0.9) -> TabularMDP:
    """Two states, two actions: in state 0 action 0 stays and action 1 escapes to the absorbing state 1.
    For π = "always action 0" and π' = "action 1 with probability α" the coupling bound on the state
    mismatch is met with equality: Σ_s |p_π'(s_t) - p_π(s_t)| = 2 (1 - (1 - α)^t)."""
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    return TabularMDP(P, np.zeros((2, 2)), np.array([1.0, 0.0]), gamma)


def trpo_penalty(mdp: TabularMDP, pi_old: np.ndarray, pi_new: np.ndarray) -> float:
    """The penalty of TRPO's Theorem 1, 4 ε γ α² / (1 - γ)², with ε = max |A^π| and α = max_s D_TV."""
    eps = np.abs(advantage(mdp, pi_old)).max()
    return float(4 * eps * mdp.gamma * max_tv(pi_old, pi_new) ** 2 / (1 - mdp.gamma) ** 2)


def state_weights(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    """ρ(s) = (1 - γ) d^π(s), the normalised discounted state distribution (sums to 1). (S,)"""
    return (1 - mdp.gamma) * discounted_visitation(mdp, pi)


# ---------------------------------------------------------------- KL, Fisher

def mean_kl(theta_old: torch.Tensor, theta_new: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """D̄(θ, θ') = Σ_s ρ(s) D_KL(π_θ(·|s) ‖ π_θ'(·|s)) for softmax logits (S, A); differentiable in both."""
    log_p, log_q = torch.log_softmax(theta_old, -1), torch.log_softmax(theta_new, -1)
    return weights @ (log_p.exp() * (log_p - log_q)).sum(-1)


def fisher_matrix(theta: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """F = Σ_s ρ(s) E_{a~π_θ(·|s)}[∇_θ log π_θ(a|s) ∇_θ log π_θ(a|s)ᵀ] for softmax logits, flattened to (SA, SA).

    ∇_{θ[s,·]} log π_θ(a|s) = e_a - π_θ(·|s), so F is block diagonal with blocks ρ(s) (diag π_s - π_s π_sᵀ)."""
    pi = softmax_policy(theta)
    S, A = pi.shape
    F = np.zeros((S * A, S * A))
    for s in range(S):
        F[s * A:(s + 1) * A, s * A:(s + 1) * A] = weights[s] * (np.diag(pi[s]) - np.outer(pi[s], pi[s]))
    return F


def natural_direction(F: np.ndarray, g: np.ndarray, block: int) -> np.ndarray:
    """F⁺ g for a block-diagonal F (one ``block`` × ``block`` block per state), block by block with a
    least-squares solve (minimum norm): F is singular along the softmax's shift direction, whatever the scaling."""
    x = np.zeros_like(g)
    for i in range(0, len(g), block):
        j = slice(i, i + block)
        x[j] = np.linalg.lstsq(F[j, j], g[j], rcond=1e-13)[0]  # minimum-norm solution
    return x


def policy_gradient_eval(mdp: TabularMDP, theta: np.ndarray) -> np.ndarray:
    """∇_θ J in the normalised units of ρ: (1 - γ) ∇_θ J(θ), flattened (SA,), so that g and F share units."""
    return (1 - mdp.gamma) * exact_gradient(mdp, theta).reshape(-1)


# ---------------------------------------------------------------- experiment: vanilla vs natural gradient

@dataclass(frozen=True)
class AscentRun:
    """Exact policy-gradient ascent in the parameters φ of θ = c ⊙ φ, each step sized to a KL budget."""

    J: np.ndarray
    """(n_iters + 1,) J(θ_k) along the run."""
    kl: np.ndarray
    """(n_iters,) measured mean KL D̄(θ_k, θ_{k+1}) of each step."""
    theta: np.ndarray
    """(S, A) final logits."""


def gradient_ascent(mdp: TabularMDP, scales: np.ndarray, n_iters: int, natural: bool, epsilon: float) -> AscentRun:
    """Exact gradient ascent on J(c ⊙ φ) over φ, from φ = 0, every step scaled to the same KL budget ε.

    direction d = ∇_φ J (vanilla) or F_φ⁺ ∇_φ J (natural); step φ ← φ + α d with α = √(2ε / dᵀ F_φ d),
    so that the quadratic KL model ½ Δφᵀ F_φ Δφ equals ε for both: the two differ only in the
    direction, i.e. in how much improvement each buys per unit of KL.

    ∇_φ J = c ⊙ ∇_θ J and F_φ = C F_θ C with C = diag(c): rescaling a parameter rescales its gradient
    once and its Fisher entries twice, so the natural step is the same policy change whatever c is,
    while the vanilla direction is distorted by c². F is singular (softmax is shift-invariant): the
    minimum-norm least-squares solution is used, per state.
    """
    c = np.asarray(scales, dtype=np.float64)
    cf = c.reshape(-1)
    phi = np.zeros_like(c)
    J, kls = [exact_objective(mdp, c * phi)], []
    for _ in range(n_iters):
        theta = c * phi
        rho = state_weights(mdp, softmax_policy(theta))
        g = policy_gradient_eval(mdp, theta) * cf  # (SA,) ∇_φ, in ρ units
        F_phi = cf[:, None] * fisher_matrix(theta, rho) * cf  # (SA, SA) C F_θ C
        d = natural_direction(F_phi, g, c.shape[1]) if natural else g
        delta = np.sqrt(2 * epsilon / max(d @ F_phi @ d, 1e-300)) * d
        phi = phi + delta.reshape(c.shape)
        kls.append(float(mean_kl(torch.as_tensor(theta), torch.as_tensor(c * phi), torch.as_tensor(rho))))
        J.append(exact_objective(mdp, c * phi))
    return AscentRun(np.array(J), np.array(kls), c * phi)


# ---------------------------------------------------------------- experiment: dual gradient descent

@dataclass(frozen=True)
class DualRun:
    """Dual gradient descent on max_θ' L̄(θ') s.t. D̄(θ, θ') ≤ ε."""

    theta_new: np.ndarray
    """(S, A) the final θ'."""
    lam: np.ndarray
    """(n_outer,) the multiplier λ after each dual step."""
    kl: np.ndarray
    """(n_outer,) D̄(θ, θ') after each primal phase."""
    surrogate: np.ndarray
    """(n_outer,) L̄(θ') - L̄(θ) after each primal phase."""


def dual_gradient_descent(mdp: TabularMDP, theta: np.ndarray, epsilon: float, n_outer: int = 40,
                          inner_steps: int = 30, lr_theta: float = 1.0, lr_lambda: float = 50.0,
                          lam0: float = 1.0) -> DualRun:
    """Maximise the Lagrangian ℒ(θ', λ) = L̄(θ') - λ (D̄(θ, θ') - ε) in θ' (``inner_steps`` of gradient
    ascent from the current θ'), then λ ← max(0, λ + lr_lambda (D̄(θ, θ') - ε)), ``n_outer`` times.

    L̄(θ') = Σ_s ρ(s) Σ_a π_θ'(a|s) A^{π_θ}(s, a) (states of the old policy, the normalised surrogate),
    D̄ = Σ_s ρ(s) D_KL(π_θ(·|s) ‖ π_θ'(·|s)). Exact, on the tabular MDP.
    """
    pi = softmax_policy(theta)
    rho = torch.as_tensor(state_weights(mdp, pi))
    A = torch.as_tensor(advantage(mdp, pi))
    th_old = torch.as_tensor(np.asarray(theta, dtype=np.float64))
    th = th_old.clone().requires_grad_(True)
    lam, lams, kls, surrs = lam0, [], [], []
    for _ in range(n_outer):
        for _ in range(inner_steps):  # primal: θ' ← θ' + lr ∇ℒ
            L = rho @ (torch.softmax(th, -1) * A).sum(-1)
            lagrangian = L - lam * (mean_kl(th_old, th, rho) - epsilon)
            (grad,) = torch.autograd.grad(lagrangian, th)
            with torch.no_grad():
                th += lr_theta * grad
        with torch.no_grad():
            kl = float(mean_kl(th_old, th, rho))
            surrs.append(float(rho @ (torch.softmax(th, -1) * A).sum(-1)))
        lam = max(0.0, lam + lr_lambda * (kl - epsilon))  # dual: λ grows while the constraint is violated
        lams.append(lam)
        kls.append(kl)
    return DualRun(th.detach().numpy(), np.array(lams), np.array(kls), np.array(surrs))


def kl_constrained_optimum(mdp: TabularMDP, theta: np.ndarray, epsilon: float) -> tuple[np.ndarray, float, float]:
    """The same problem as ``dual_gradient_descent``, solved by scipy's SLSQP instead: an independent oracle.

    max_θ' L̄(θ') = Σ_s ρ(s) Σ_a π_θ'(a|s) A^{π_θ}(s, a)  s.t.  D̄(θ, θ') = Σ_s ρ(s) D_KL(π_θ(·|s) ‖ π_θ'(·|s)) ≤ ε,
    with the closed-form gradients ∂L̄/∂θ'[s,a] = ρ(s) π'(a|s) (A(s,a) - Σ_b π'(b|s) A(s,b)) and
    ∂D̄/∂θ'[s,a] = ρ(s) (π'(a|s) - π(a|s)). The multiplier comes from stationarity, ∇L̄ = λ ∇D̄ (least squares).

    Returns:
        (θ' (S, A), L̄(θ'), λ).
    """
    from scipy.optimize import minimize

    pi = softmax_policy(theta)
    rho, A = state_weights(mdp, pi), advantage(mdp, pi)

    def surr(x):
        p = softmax_policy(x.reshape(theta.shape))
        return rho @ (p * A).sum(-1), (rho[:, None] * p * (A - (p * A).sum(-1, keepdims=True))).reshape(-1)

    def kl(x):
        p = softmax_policy(x.reshape(theta.shape))
        return rho @ state_kl(pi, p), (rho[:, None] * (p - pi)).reshape(-1)

    res = minimize(lambda x: -surr(x)[0], theta.reshape(-1), jac=lambda x: -surr(x)[1], method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda x: epsilon - kl(x)[0], "jac": lambda x: -kl(x)[1]}],
                   options={"ftol": 1e-14, "maxiter": 500})
    g_L, g_D = surr(res.x)[1], kl(res.x)[1]
    return res.x.reshape(theta.shape), float(surr(res.x)[0]), float(g_L @ g_D / (g_D @ g_D))
