"""Optimal control with known dynamics: LQR (finite and infinite horizon), LQR as one linear solve (collocation)
and its shooting Hessian, iLQR and DDP, control limits by squashing.

Linear-quadratic regulator, time t = 1..T, z_t = [x_t; u_t] (n + m,):
    x_{t+1} = F_t z_t + f_t,        c(x_t, u_t) = ½ z_t^T C_t z_t + z_t^T c_t
Backward recursion (Lecture 7 §LQR), from V_{T+1} = 0, v_{T+1} = 0:
    Q_t = C_t + F_t^T V_{t+1} F_t          q_t = c_t + F_t^T V_{t+1} f_t + F_t^T v_{t+1}
    K_t = -Q_uu^{-1} Q_ux                   k_t = -Q_uu^{-1} q_u
    V_t = Q_xx + Q_xu K_t + K_t^T Q_ux + K_t^T Q_uu K_t
    v_t = q_x + Q_xu k_t + K_t^T q_u + K_t^T Q_uu k_t
Forward pass: u_t = K_t x_t + k_t, x_{t+1} = F_t [x_t; u_t] + f_t.
With x_{t+1} ~ N(F_t z_t + f_t, Σ_t) the Q-function only gains the constant ½ tr(V_{t+1} Σ_t), so the
same K_t, k_t are optimal (certainty equivalence).
iLQR (Lecture 7 §DDP/iterative LQR): linearise f and quadratise c around the current trajectory,
solve that LQR for (δu = K δx + k), roll the true dynamics forward with a line search on k: a
Gauss-Newton-like step on the whole trajectory. DDP also keeps the second derivatives of f; its step is
not exactly Newton's step on J(u_1, ..., u_T) (Pantoja's stagewise Newton is), but it shares Newton's
local quadratic convergence.

Functions taking arrays are pure numpy (the LQR backward step is pasted into the solution notebook).
Shapes: T horizon, n state dim, m action dim.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch


def lqr_backward_step(F: np.ndarray, f: np.ndarray, C: np.ndarray, c: np.ndarray, V_next: np.ndarray,
                      v_next: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One step of the LQR backward recursion at time t.

    Q_t = C_t + F_t^T V_{t+1} F_t,  q_t = c_t + F_t^T V_{t+1} f_t + F_t^T v_{t+1};
    K_t = -Q_uu^{-1} Q_ux,  k_t = -Q_uu^{-1} q_u;
    V_t = Q_xx + Q_xu K_t + K_t^T Q_ux + K_t^T Q_uu K_t,  v_t = q_x + Q_xu k_t + K_t^T q_u + K_t^T Q_uu k_t.
    Lecture 7 §LQR (backward recursion); the first n entries of z_t = [x_t; u_t] are the state.

    Args:
        F: (n, n + m) dynamics matrix, x_{t+1} = F z_t + f.   f: (n,) dynamics offset.
        C: (n + m, n + m) symmetric cost Hessian.   c: (n + m,) cost gradient.
        V_next: (n, n) and v_next: (n,): V(x_{t+1}) = ½ x^T V_next x + x^T v_next + const (zeros at t = T).
    Returns:
        K (m, n), k (m,), V (n, n), v (n,).

    >>> K, k, V, v = lqr_backward_step(np.array([[1.0, 1.0]]), np.zeros(1), np.eye(2), np.zeros(2),
    ...                                np.zeros((1, 1)), np.zeros(1))
    >>> K, V      # cost ½x² + ½u² and nothing afterwards: u = 0, V(x) = ½ x·1·x
    (array([[-0.]]), array([[1.]]))
    """
    n = F.shape[0]
    Q = C + F.T @ V_next @ F                                    # (n + m, n + m)
    q = c + F.T @ V_next @ f + F.T @ v_next                     # (n + m,)
    Q_xx, Q_xu, Q_ux, Q_uu = Q[:n, :n], Q[:n, n:], Q[n:, :n], Q[n:, n:]
    q_x, q_u = q[:n], q[n:]
    K = -np.linalg.solve(Q_uu, Q_ux)                            # (m, n)
    k = -np.linalg.solve(Q_uu, q_u)                             # (m,)
    V = Q_xx + Q_xu @ K + K.T @ Q_ux + K.T @ Q_uu @ K           # (n, n)
    v = q_x + Q_xu @ k + K.T @ q_u + K.T @ Q_uu @ k             # (n,)
    return K, k, V, v


def lqr_backward(F: np.ndarray, f: np.ndarray, C: np.ndarray, c: np.ndarray, step_fn: Callable = lqr_backward_step
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The LQR backward recursion for t = T..1 from V_{T+1} = 0, v_{T+1} = 0. Lecture 7 §LQR.

    Args:
        F (T, n, n + m), f (T, n), C (T, n + m, n + m), c (T, n + m); ``step_fn``: one backward step.
    Returns:
        K (T, m, n), k (T, m), V (T + 1, n, n), v (T + 1, n): gains and value terms, V[T] = 0.
    """
    T, n = f.shape
    m = C.shape[-1] - n
    K, k = np.zeros((T, m, n)), np.zeros((T, m))
    V, v = np.zeros((T + 1, n, n)), np.zeros((T + 1, n))
    for t in reversed(range(T)):
        K[t], k[t], V[t], v[t] = step_fn(F[t], f[t], C[t], c[t], V[t + 1], v[t + 1])
    return K, k, V, v


def lqr_forward(F: np.ndarray, f: np.ndarray, K: np.ndarray, k: np.ndarray, x0: np.ndarray,
                noise: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Forward pass u_t = K_t x_t + k_t, x_{t+1} = F_t [x_t; u_t] + f_t (+ noise_t).

    Args:
        F (T, n, n + m), f (T, n), K (T, m, n), k (T, m); x0: (..., n) start state(s);
        noise: optional (T, ..., n) additive dynamics noise (the stochastic case).
    Returns:
        X (T + 1, ..., n) states x_1..x_{T+1}, U (T, ..., m) actions.
    """
    T = len(f)
    x = np.asarray(x0, dtype=np.float64)
    X, U = [x], []
    for t in range(T):
        u = x @ K[t].T + k[t]
        x = np.concatenate([x, u], -1) @ F[t].T + f[t]
        if noise is not None:
            x = x + noise[t]
        X.append(x)
        U.append(u)
    return np.stack(X), np.stack(U)


def lqr_cost(C: np.ndarray, c: np.ndarray, X: np.ndarray, U: np.ndarray) -> np.ndarray:
    """Σ_t ½ z_t^T C_t z_t + z_t^T c_t with z_t = [x_t; u_t]; X (T + 1, ..., n) (last state unused), U (T, ..., m) → (...)."""
    Z = np.concatenate([X[:-1], U], -1)                          # (T, ..., n + m)
    return (0.5 * np.einsum("t...i,tij,t...j->t...", Z, C, Z) + np.einsum("t...i,ti->t...", Z, c)).sum(0)


def lqr_kkt_system(F: np.ndarray, f: np.ndarray, C: np.ndarray, c: np.ndarray, x0: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The collocation form of LQR: the KKT matrix and right-hand side of the equality-constrained QP.

    min over w = (z_1, ..., z_T) of Σ_t ½ z_t^T C_t z_t + z_t^T c_t  s.t.  x_1 = x0,
    x_{t+1} = F_t z_t + f_t (t < T). Its KKT system [[H, A^T], [A, 0]] [w; λ] = [-g; b] is linear, with
    H = blockdiag(C_1, ..., C_T): states and actions are both unknowns. Lecture 7 §shooting vs collocation.

    Returns:
        kkt (T(n + m) + Tn, T(n + m) + Tn), rhs (T(n + m) + Tn,).
    """
    T, n = f.shape
    nm = C.shape[-1]
    H = np.zeros((T * nm, T * nm))
    g = np.concatenate(list(c))
    for t in range(T):
        H[t * nm:(t + 1) * nm, t * nm:(t + 1) * nm] = C[t]
    A = np.zeros((T * n, T * nm))                                # n constraints per time step
    b = np.zeros(T * n)
    A[:n, :n], b[:n] = np.eye(n), x0                             # x_1 = x0
    for t in range(T - 1):                                       # x_{t+1} - F_t z_t = f_t
        rows = slice((t + 1) * n, (t + 2) * n)
        A[rows, (t + 1) * nm:(t + 1) * nm + n] = np.eye(n)
        A[rows, t * nm:(t + 1) * nm] = -F[t]
        b[rows] = f[t]
    return np.block([[H, A.T], [A, np.zeros((T * n, T * n))]]), np.concatenate([-g, b])


def lqr_kkt(F: np.ndarray, f: np.ndarray, C: np.ndarray, c: np.ndarray, x0: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """The whole LQR problem as one equality-constrained QP (collocation), solved by one linear solve.

    See ``lqr_kkt_system``. Returns:
        X (T, n) states x_1..x_T, U (T, m) actions.
    """
    T, n = f.shape
    kkt, rhs = lqr_kkt_system(F, f, C, c, x0)
    w = np.linalg.solve(kkt, rhs)[:T * C.shape[-1]].reshape(T, -1)
    return w[:, :n], w[:, n:]


def shooting_hessian(F: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Hessian of the shooting form of LQR, J(u_1, ..., u_T) with the states substituted: (Tm, Tm).

    With x_1 fixed, z = [x; u] depends linearly on U: z_t = M_t U with ∂x_{t+1}/∂U = F_t M_t, so
    ∇²J = Mᵀ blockdiag(C_1, ..., C_T) M. For x' = A x + B u, M holds A^k B: for an unstable A (|λ| > 1)
    the Hessian's conditioning grows like |λ|^{2T}. Lecture 7 §shooting vs collocation.

    Args:
        F (T, n, n + m), C (T, n + m, n + m).
    """
    T, n, nm = F.shape
    m = nm - n
    M, dx = np.zeros((T, nm, T * m)), np.zeros((n, T * m))      # dz_t/dU, dx_t/dU
    for t in range(T):
        M[t, :n] = dx
        M[t, n:, t * m:(t + 1) * m] = np.eye(m)
        dx = F[t] @ M[t]
    return np.einsum("tia,tij,tjb->ab", M, C, M)


def riccati_iteration(A: np.ndarray, B: np.ndarray, Q: np.ndarray, R: np.ndarray, n_iters: int
                      ) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """The LQR backward step repeated on x' = A x + B u, c = ½ x^T Q x + ½ u^T R u (a horizon growing to ∞).

    Returns the gain K (m, n) and value matrix P (n, n) after ``n_iters`` steps, and ‖K_i - K_{i-1}‖
    per step. As n_iters → ∞, P solves the discrete algebraic Riccati equation
    P = Q + A^T P A - A^T P B (R + B^T P B)^{-1} B^T P A and u = K x is the stationary optimal policy.
    """
    n, m = B.shape
    F = np.hstack([A, B])
    C = np.block([[Q, np.zeros((n, m))], [np.zeros((m, n)), R]])
    P, v, K_prev, changes = np.zeros((n, n)), np.zeros(n), np.zeros((m, n)), []
    for _ in range(n_iters):
        K, _, P, v = lqr_backward_step(F, np.zeros(n), C, np.zeros(n + m), P, v)
        changes.append(float(np.abs(K - K_prev).max()))
        K_prev = K
    return K, P, changes


def linear_policy_expected_cost(F: np.ndarray, f: np.ndarray, C: np.ndarray, c: np.ndarray, K: np.ndarray,
                                k: np.ndarray, x0: np.ndarray, Sigma: np.ndarray) -> float:
    """Exact E[Σ_t c(x_t, u_t)] of u_t = K_t x_t + k_t under x_{t+1} ~ N(F_t z_t + f_t, Σ), x_1 = x0.

    Propagates the state mean μ and covariance P: z has mean [μ; Kμ + k] and covariance G P G^T with
    G = [I; K], and E[½ z^T C z + z^T c] = ½ (tr(C Cov z) + E[z]^T C E[z]) + E[z]^T c.
    """
    T, n = f.shape
    mu, P, total = np.asarray(x0, dtype=np.float64), np.zeros((n, n)), 0.0
    for t in range(T):
        G = np.vstack([np.eye(n), K[t]])                          # z = G x + [0; k]
        mz, Pz = np.concatenate([mu, K[t] @ mu + k[t]]), G @ P @ G.T
        total += 0.5 * (np.trace(C[t] @ Pz) + mz @ C[t] @ mz) + mz @ c[t]
        mu, P = F[t] @ mz + f[t], F[t] @ Pz @ F[t].T + Sigma
    return float(total)


# ---------------------------------------------------------------- iLQR

@dataclass
class ILQRResult:
    X: np.ndarray
    """(T + 1, n) final state trajectory."""
    U: np.ndarray
    """(T, m) final actions."""
    K: np.ndarray
    """(T, m, n) feedback gains of the last LQR solve (u = U + K (x - X))."""
    costs: list[float] = field(default_factory=list)
    """Total cost before the first iteration and after each accepted iteration."""
    step_sizes: list[float] = field(default_factory=list)
    """Line-search step α accepted at each iteration."""


def shooting_cost(dynamics: Callable, cost: Callable, x0: np.ndarray, U: torch.Tensor) -> torch.Tensor:
    """The shooting objective J(U) = Σ_t c(x_t, u_t) with x_{t+1} = f(x_t, u_t) from x0, differentiable in U.

    dynamics, cost: torch callables on (n,), (m,) tensors (as for ``ilqr``); U (T, m) float64 → scalar.
    Lecture 7 §shooting: the states are substituted, only the actions are unknowns.
    """
    X = rollout(dynamics, torch.as_tensor(x0, dtype=U.dtype), U)
    return torch.func.vmap(cost)(X[:-1], U).sum()


def rollout(dynamics: Callable, x0: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
    """x_1..x_{T+1} (T + 1, n) of x_{t+1} = f(x_t, u_t) from x0 (n,) under U (T, m), torch in and out."""
    xs = [x0]
    for t in range(len(U)):
        xs.append(dynamics(xs[-1], U[t]))
    return torch.stack(xs)


def _regularised_backward(F: np.ndarray, C: np.ndarray, c: np.ndarray, mu: float, F_zz: np.ndarray | None = None
                          ) -> tuple[np.ndarray, np.ndarray] | None:
    """LQR backward pass on (δx, δu) with μ added to C_uu; None if some Q_uu is not positive definite.

    With the dynamics' Hessians F_zz (T, n, n + m, n + m) it is DDP's backward pass: Q_t gains
    Σ_i (v_{t+1})_i ∇²f_i, the next value gradient contracted with the curvature of the dynamics."""
    T, n = F.shape[0], F.shape[1]
    m = C.shape[-1] - n
    K, k = np.zeros((T, m, n)), np.zeros((T, m))
    V, v = np.zeros((n, n)), np.zeros(n)
    for t in reversed(range(T)):
        Ct = C[t] + mu * np.diag(np.r_[np.zeros(n), np.ones(m)])
        if F_zz is not None:
            Ct = Ct + np.einsum("i,ijk->jk", v, F_zz[t])          # DDP: the second-order dynamics term
        Q_uu = Ct[n:, n:] + F[t, :, n:].T @ V @ F[t, :, n:]
        if np.linalg.eigvalsh(0.5 * (Q_uu + Q_uu.T)).min() <= 0:
            return None
        K[t], k[t], V, v = lqr_backward_step(F[t], np.zeros(n), Ct, c[t], V, v)
        V = 0.5 * (V + V.T)
    return K, k


ALPHAS = (1.0, 0.5, 0.25, 0.1, 0.03, 0.01)
"""Line-search step sizes on k, tried largest first."""


def _rollout_feedback(dynamics: Callable, x0: torch.Tensor, X: torch.Tensor, U: torch.Tensor, K: np.ndarray,
                      k: np.ndarray, alphas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """u_t = U_t + K_t (x_t - X_t) + α k_t, x_{t+1} = f(x_t, u_t) from x0, for every α at once.

    Returns X_new (A, T + 1, n), U_new (A, T, m) for the A step sizes ``alphas``."""
    K_t, k_t = torch.as_tensor(K), torch.as_tensor(k)
    step = torch.func.vmap(dynamics)
    x = x0.expand(len(alphas), -1)                               # (A, n)
    xs, us = [x], []
    for t in range(len(U)):
        us.append(U[t] + (x - X[t]) @ K_t[t].T + alphas[:, None] * k_t[t])   # (A, m)
        x = step(x, us[-1])
        xs.append(x)
    return torch.stack(xs, 1), torch.stack(us, 1)


MU_MIN = 1e-6
"""The smallest μ a failure raises to: ×10 from 0 would stay 0 and the loop would never end."""


def ilqr(dynamics: Callable, cost: Callable, x0: np.ndarray, U0: np.ndarray, n_iters: int = 50,
         reg: float = 1e-3, tol: float = 1e-6, second_order: bool = False) -> ILQRResult:
    """Iterative LQR: repeat (linearise f, quadratise c around (X, U); LQR on (δx, δu); line search).

    ``second_order=True`` is DDP (Mayne 1966; Jacobson & Mayne 1970): the backward pass keeps the
    dynamics' second derivatives, Q_zz = C_zz + F_zᵀ V' F_z + Σ_i V'_{x,i} ∇²_zz f_i, and so converges
    quadratically near a solution like Newton's method; iLQR drops the last term (Gauss-Newton-like).

    Args:
        dynamics: torch x_{t+1} = f(x_t, u_t) on (n,), (m,) tensors; cost: torch c(x_t, u_t) → scalar.
            Their Jacobians and Hessians come from torch.func (autograd), per time step.
        x0: (n,) start state.  U0: (T, m) initial actions.  reg ≥ 0: initial μ added to C_uu (Levenberg-
            Marquardt; ×10 (at least to MU_MIN) after a failed line search, ÷3 after a success). μ also grows
            until every Q_uu is positive definite, so each LQR step is a descent direction (Tassa, Erez &
            Todorov 2012). The loop stops after n_iters iterations, when an accepted step improves the cost
            by less than tol, or when no step lowers it even at μ = 1e8 (bounded: at most 15 raises of μ).
    Returns:
        ILQRResult; ``costs`` never increases: a step is taken only if the line search lowers the cost
        (so a falling cost checks nothing about the solution; check the gradient at the result).
    Lecture 7 §iterative LQR; Tassa, Erez & Todorov (2012), Li & Todorov (2004).
    """
    from torch.func import hessian, jacrev, vmap
    dt = torch.float64
    x0_t, U = torch.as_tensor(x0, dtype=dt), torch.as_tensor(U0, dtype=dt).clone()
    n, (T, m) = x0_t.shape[0], U.shape
    total = lambda X, U: float(vmap(cost)(X[:-1], U).sum())   # noqa: E731
    jac_f = vmap(jacrev(dynamics, argnums=(0, 1)))
    z_cost = lambda z: cost(z[:n], z[n:])                       # noqa: E731
    grad_c, hess_c = vmap(jacrev(z_cost)), vmap(hessian(z_cost))
    hess_f = vmap(hessian(lambda z: dynamics(z[:n], z[n:])))      # (T, n, n + m, n + m), DDP only
    X = rollout(dynamics, x0_t, U)
    result = ILQRResult(X.numpy(), U.numpy(), np.zeros((T, m, n)), [total(X, U)])
    mu, alphas = reg, torch.tensor(ALPHAS, dtype=dt)
    for _ in range(n_iters):
        fx, fu = jac_f(X[:-1], U)                                  # (T, n, n), (T, n, m)
        Z = torch.cat([X[:-1], U], -1)                             # (T, n + m)
        F = torch.cat([fx, fu], -1).numpy()
        C, c = hess_c(Z).numpy(), grad_c(Z).numpy()
        F_zz = hess_f(Z).numpy() if second_order else None
        accepted = False
        while not accepted and mu <= 1e8:
            gains = _regularised_backward(F, C, c, mu, F_zz)          # δx_{t+1} = F δz_t: no offset around a rollout
            if gains is None:                                      # some Q_uu not positive definite
                mu = max(10 * mu, MU_MIN)
                continue
            K, k = gains
            Xs, Us = _rollout_feedback(dynamics, x0_t, X, U, K, k, alphas)  # on the TRUE dynamics, all α at once
            new_costs = vmap(vmap(cost))(Xs[:, :-1], Us).sum(1)         # (A,)
            lower = torch.nonzero(new_costs < result.costs[-1])
            if len(lower):                                              # the largest α that lowers the cost
                a = int(lower[0, 0])
                alpha, new_cost, X_new, U_new, accepted = ALPHAS[a], float(new_costs[a]), Xs[a], Us[a], True
            mu = mu / 3 if accepted else max(10 * mu, MU_MIN)    # from μ = 0 too: ≤ 15 failures reach 1e8
        if not accepted:
            break                                                  # no step lowers the cost: converged
        improvement = result.costs[-1] - new_cost
        X, U = X_new, U_new
        result.costs.append(new_cost)
        result.step_sizes.append(alpha)
        result.X, result.U, result.K = X.numpy(), U.numpy(), K
        if improvement < tol:
            break
    return result


def squashed(dynamics: Callable, cost: Callable, u_max: float) -> tuple[Callable, Callable]:
    """A control-limited problem as an unconstrained one: optimise v with u = u_max tanh(v) ∈ (-u_max, u_max).

    Returns (dynamics, cost) in terms of v, ready for ``ilqr``; map the result back with
    u_max * np.tanh(V). The cost is still paid on u. Lecture 7 §iLQR (control limits); Tassa, Mansard &
    Todorov (2014) solve a box-constrained QP in the backward pass instead.
    """
    squash = lambda v: u_max * torch.tanh(v)                      # noqa: E731
    return (lambda x, v: dynamics(x, squash(v))), (lambda x, v: cost(x, squash(v)))
