"""A small tabular MDP with exact answers: V^π, Q^π, J(θ) and ∇J(θ) for a softmax policy.

Lectures 2 and 3 check their estimators against these exact values: a Monte
Carlo policy gradient must land within its confidence interval of
``exact_gradient``; TD(0) must converge to ``policy_value``.

Conventions (states s ∈ {0..S-1}, actions a ∈ {0..A-1}):
    P[s, a, s'] = p(s' | s, a)          transition probabilities, (S, A, S)
    R[s, a]     = r(s, a)               expected reward, (S, A)
    mu0[s]      = p(s_1 = s)            initial distribution, (S,)
    pi[s, a]    = π(a | s)              a stochastic policy, (S, A)
    theta[s, a]                          softmax logits: π_θ(a | s) = exp θ[s,a] / Σ_b exp θ[s,b]

Two objectives:
    * infinite-horizon discounted (``horizon=None``):
          V^π = r_π + γ P_π V^π   ⇒   V^π = (I - γ P_π)^{-1} r_π     (a linear solve)
          Q^π(s, a) = r(s, a) + γ Σ_s' P[s, a, s'] V^π(s'),  J = μ0 · V^π
    * finite horizon H (``horizon=H``): J = E[Σ_{t=0}^{H-1} γ^t r_t], by backward recursion
          V_H = 0,  Q_h = R + γ P V_{h+1},  V_h(s) = Σ_a π(a|s) Q_h(s, a).
``exact_gradient`` differentiates either objective with torch autograd (float64);
``policy_gradient_theorem`` gives the infinite-horizon gradient in closed form,
∂J/∂θ[s,a] = d^π(s) π(a|s) A^π(s, a), with d^π = μ0ᵀ (I - γ P_π)^{-1}, an independent check.

Lecture 2 §MDP & RL intro (V, Q, J) and §2 Policy gradient; Lecture 3 §policy evaluation.

>>> mdp = two_state_mdp()
>>> pi = np.full((2, 2), 0.5)
>>> V = policy_value(mdp, pi)
>>> bool(np.allclose(V, mdp.R.mean(1) + mdp.gamma * np.einsum("sa,sat,t->s", pi, mdp.P, V)))
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class TabularMDP:
    """A finite MDP given by its tables. Build one with ``two_state_mdp``, ``chain_mdp`` or ``random_mdp``."""

    P: np.ndarray
    """(S, A, S) transition probabilities p(s' | s, a); each P[s, a] sums to 1."""
    R: np.ndarray
    """(S, A) expected reward r(s, a)."""
    mu0: np.ndarray
    """(S,) initial state distribution p(s_1)."""
    gamma: float = 0.9
    """Discount factor γ ∈ [0, 1); γ = 1 is allowed with a finite horizon."""

    def __post_init__(self) -> None:
        S, A, S2 = self.P.shape
        if S != S2 or self.R.shape != (S, A) or self.mu0.shape != (S,):
            raise ValueError(f"inconsistent shapes P{self.P.shape}, R{self.R.shape}, mu0{self.mu0.shape}")
        if not np.allclose(self.P.sum(-1), 1.0) or not np.isclose(self.mu0.sum(), 1.0):
            raise ValueError("P[s, a] and mu0 must be probability distributions")

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]


# ---------------------------------------------------------------- examples

def two_state_mdp(gamma: float = 0.9) -> TabularMDP:
    """Two states, two actions, stochastic transitions: small enough to check by hand."""
    P = np.array([[[0.8, 0.2], [0.1, 0.9]],
                  [[0.7, 0.3], [0.05, 0.95]]])
    R = np.array([[1.0, 0.0],
                  [-1.0, 2.0]])
    return TabularMDP(P, R, np.array([0.6, 0.4]), gamma)


def chain_mdp(n_states: int = 4, gamma: float = 0.9, slip: float = 0.1) -> TabularMDP:
    """A chain: action 1 moves right, action 0 left (each slips the other way with prob ``slip``).
    Reward 1 for taking action 1 in the rightmost state, 0.1 for action 0 in the leftmost; start leftmost."""
    S = n_states
    P = np.zeros((S, 2, S))
    for s in range(S):
        left, right = max(s - 1, 0), min(s + 1, S - 1)
        P[s, 0, left] += 1 - slip
        P[s, 0, right] += slip
        P[s, 1, right] += 1 - slip
        P[s, 1, left] += slip
    R = np.zeros((S, 2))
    R[S - 1, 1] = 1.0
    R[0, 0] = 0.1
    mu0 = np.zeros(S)
    mu0[0] = 1.0
    return TabularMDP(P, R, mu0, gamma)


def random_mdp(n_states: int = 3, n_actions: int = 2, gamma: float = 0.9, seed: int = 0) -> TabularMDP:
    """A random MDP: Dirichlet transitions and initial state, Gaussian rewards (seeded)."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions))
    R = rng.normal(size=(n_states, n_actions))
    return TabularMDP(P, R, rng.dirichlet(np.ones(n_states)), gamma)


# ---------------------------------------------------------------- policies

def softmax_policy(theta: np.ndarray) -> np.ndarray:
    """π_θ(a | s) = softmax(θ[s])_a.  theta: (S, A) logits → (S, A) probabilities."""
    z = np.exp(theta - theta.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


# ---------------------------------------------------------------- exact evaluation (infinite horizon)

def policy_transition(mdp: TabularMDP, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P_π[s, s'] = Σ_a π(a|s) P[s, a, s'] and r_π[s] = Σ_a π(a|s) r(s, a): (S, S) and (S,)."""
    return np.einsum("sa,sat->st", pi, mdp.P), (pi * mdp.R).sum(-1)


def policy_value(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    """V^π by solving the Bellman equation V = r_π + γ P_π V as a linear system. Returns (S,)."""
    P_pi, r_pi = policy_transition(mdp, pi)
    return np.linalg.solve(np.eye(mdp.n_states) - mdp.gamma * P_pi, r_pi)


def q_value(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    """Q^π(s, a) = r(s, a) + γ Σ_s' p(s'|s, a) V^π(s'). Returns (S, A)."""
    return mdp.R + mdp.gamma * mdp.P @ policy_value(mdp, pi)


def advantage(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    """A^π(s, a) = Q^π(s, a) - V^π(s). Returns (S, A)."""
    Q = q_value(mdp, pi)
    return Q - (pi * Q).sum(-1, keepdims=True)


def discounted_visitation(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    """d^π(s) = Σ_t γ^t p(s_t = s) = [μ0ᵀ (I - γ P_π)^{-1}](s), unnormalised (sums to 1 / (1 - γ)). (S,)"""
    P_pi, _ = policy_transition(mdp, pi)
    return np.linalg.solve((np.eye(mdp.n_states) - mdp.gamma * P_pi).T, mdp.mu0)


# ---------------------------------------------------------------- exact J(θ) and ∇J(θ)

def _objective_torch(P, R, mu0, gamma: float, theta: torch.Tensor, horizon: int | None) -> torch.Tensor:
    pi = torch.softmax(theta, -1)  # (S, A)
    if horizon is None:
        P_pi = torch.einsum("sa,sat->st", pi, P)
        V = torch.linalg.solve(torch.eye(P.shape[0], dtype=P.dtype) - gamma * P_pi, (pi * R).sum(-1))
        return mu0 @ V
    V = torch.zeros(P.shape[0], dtype=P.dtype)
    for _ in range(horizon):  # backward: V_h = Σ_a π (R + γ P V_{h+1})
        V = (pi * (R + gamma * P @ V)).sum(-1)
    return mu0 @ V


def exact_objective(mdp: TabularMDP, theta: np.ndarray, horizon: int | None = None) -> float:
    """J(θ) = E_{τ∼p_θ}[Σ_t γ^t r(s_t, a_t)] for the softmax policy with logits ``theta`` (S, A).
    ``horizon=None``: infinite discounted sum; ``horizon=H``: the first H steps."""
    t = lambda x: torch.as_tensor(np.asarray(x, dtype=np.float64))  # noqa: E731
    return float(_objective_torch(t(mdp.P), t(mdp.R), t(mdp.mu0), mdp.gamma, t(theta), horizon))


def exact_gradient(mdp: TabularMDP, theta: np.ndarray, horizon: int | None = None) -> np.ndarray:
    """∇_θ J(θ), (S, A), by autograd through the exact objective (float64)."""
    t = lambda x: torch.as_tensor(np.asarray(x, dtype=np.float64))  # noqa: E731
    th = t(theta).clone().requires_grad_(True)
    _objective_torch(t(mdp.P), t(mdp.R), t(mdp.mu0), mdp.gamma, th, horizon).backward()
    return th.grad.numpy()


def policy_gradient_theorem(mdp: TabularMDP, theta: np.ndarray) -> np.ndarray:
    """Closed-form infinite-horizon gradient: ∂J/∂θ[s,a] = d^π(s) π(a|s) A^π(s, a). (S, A)"""
    pi = softmax_policy(theta)
    return discounted_visitation(mdp, pi)[:, None] * pi * advantage(mdp, pi)


# ---------------------------------------------------------------- trajectories

def sample_trajectories(mdp: TabularMDP, theta: np.ndarray, n: int, horizon: int,
                        rng: np.random.Generator, start: tuple[int, int] | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample n trajectories of length H from p_θ(τ) = p(s_1) Π_t π_θ(a_t|s_t) p(s_{t+1}|s_t, a_t).

    ``start=(s, a)`` fixes s_1 = s and a_1 = a (then π_θ from step 2 on): the average discounted
    return of such trajectories is a Monte Carlo estimate of Q^π(s, a), independent of any solve.

    Returns:
        states (H, n) int, actions (H, n) int, rewards (H, n) float (undiscounted r(s_t, a_t)).
    """
    pi = softmax_policy(theta)
    S, A = pi.shape
    states, actions = np.zeros((horizon, n), np.int64), np.zeros((horizon, n), np.int64)
    s = rng.choice(S, size=n, p=mdp.mu0) if start is None else np.full(n, start[0])
    for t in range(horizon):
        a = (rng.random(n)[:, None] > np.cumsum(pi[s], -1)).sum(-1).clip(max=A - 1)  # inverse-CDF sampling
        if t == 0 and start is not None:
            a = np.full(n, start[1])
        states[t], actions[t] = s, a
        s = (rng.random(n)[:, None] > np.cumsum(mdp.P[s, a], -1)).sum(-1).clip(max=S - 1)
    return states, actions, mdp.R[states, actions]


def enumerate_trajectories(mdp: TabularMDP, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Every state-action sequence of length H: states (K, H) and actions (K, H), K = (S A)^H.

    With ``trajectory_log_prob`` this turns any expectation over τ into an exact finite sum.
    """
    S, A = mdp.n_states, mdp.n_actions
    grid = np.indices((S, A) * horizon).reshape(2 * horizon, -1).T  # (K, 2H): s_1, a_1, s_2, a_2, ...
    return grid[:, 0::2], grid[:, 1::2]


def trajectory_log_prob(mdp: TabularMDP, theta: np.ndarray, states: np.ndarray,
                        actions: np.ndarray) -> np.ndarray:
    """log p_θ(τ) = log p(s_1) + Σ_t log π_θ(a_t|s_t) + Σ_t log p(s_{t+1}|s_t, a_t), for (K, H) sequences. (K,)"""
    with np.errstate(divide="ignore"):
        log_pi = np.log(softmax_policy(theta))
        log_P, log_mu0 = np.log(mdp.P), np.log(mdp.mu0)
    lp = log_mu0[states[:, 0]] + log_pi[states, actions].sum(1)
    return lp + log_P[states[:, :-1], actions[:, :-1], states[:, 1:]].sum(1)
