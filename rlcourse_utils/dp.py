"""Dynamic programming with known dynamics: Bellman backups, value/policy/Q-iteration, exploration policies.

Pure, time-free tabular functions on arrays (states s ∈ {0..S-1}, actions a ∈ {0..A-1}):
    P[s, a, s'] = p(s' | s, a)   (S, A, S)      R[s, a] = r(s, a)   (S, A)      V (S,), Q (S, A), pi (S, A)

    Bellman backup for π:        (B^π V)(s) = Σ_a π(a|s) [r(s,a) + γ Σ_s' p(s'|s,a) V(s')]
    Bellman optimality backup:   (B V)(s)   = max_a [r(s,a) + γ Σ_s' p(s'|s,a) V(s')]
    Q-iteration:                 Q(s,a) ← r(s,a) + γ Σ_s' p(s'|s,a) max_a' Q(s',a')

B is a γ-contraction in the max norm, ‖BV - BV'‖∞ ≤ γ ‖V - V'‖∞, so value iteration converges to
the unique fixed point V*. Lecture 4 §policy iteration, §value iteration, §Q-iteration, §exploration.
Every function here is self-contained (uses only ``np``), so ``rlcourse solutions`` can paste it.

>>> P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]]); R = np.array([[0.0, 1.0], [2.0, 2.0]])
>>> bellman_optimality_backup(np.zeros(2), P, R, 0.5)
array([1., 2.])
>>> epsilon_greedy_probs(np.array([[1.0, 3.0, 2.0]]), 0.3)
array([[0.1, 0.8, 0.1]])
"""
from __future__ import annotations

import numpy as np


def q_from_v(V: np.ndarray, P: np.ndarray, R: np.ndarray, gamma: float) -> np.ndarray:
    """Q(s, a) = r(s, a) + γ Σ_s' p(s'|s, a) V(s').  V (S,), P (S, A, S), R (S, A) → (S, A)."""
    return np.asarray(R, dtype=np.float64) + gamma * np.asarray(P, dtype=np.float64) @ np.asarray(V, dtype=np.float64)


def bellman_backup(V: np.ndarray, P: np.ndarray, R: np.ndarray, pi: np.ndarray, gamma: float) -> np.ndarray:
    """(B^π V)(s) = Σ_a π(a|s) [r(s,a) + γ Σ_s' p(s'|s,a) V(s')], shape (S,). Lecture 4 §policy evaluation."""
    Q = np.asarray(R, dtype=np.float64) + gamma * np.asarray(P, dtype=np.float64) @ np.asarray(V, dtype=np.float64)
    return (np.asarray(pi, dtype=np.float64) * Q).sum(-1)


def bellman_optimality_backup(V: np.ndarray, P: np.ndarray, R: np.ndarray, gamma: float) -> np.ndarray:
    """(B V)(s) = max_a [r(s, a) + γ Σ_s' p(s'|s, a) V(s')].

    Args:
        V: (S,) current value estimate.  P: (S, A, S) transitions.  R: (S, A) rewards.  gamma: discount.
    Returns:
        (S,) float array. Lecture 4 §value iteration.
    """
    Q = np.asarray(R, dtype=np.float64) + gamma * np.asarray(P, dtype=np.float64) @ np.asarray(V, dtype=np.float64)
    return Q.max(-1)


def value_iteration(P: np.ndarray, R: np.ndarray, gamma: float, n_iters: int) -> np.ndarray:
    """n_iters steps of V_{k+1} = B V_k from V_0 = 0; returns V_{n_iters}, shape (S,).

    Lecture 4 §value iteration: V_k → V* at rate γ^k because B is a γ-contraction.
    """
    P, R = np.asarray(P, dtype=np.float64), np.asarray(R, dtype=np.float64)
    V = np.zeros(P.shape[0])
    for _ in range(n_iters):
        V = (R + gamma * P @ V).max(-1)
    return V


def q_iteration(P: np.ndarray, R: np.ndarray, gamma: float, n_iters: int) -> np.ndarray:
    """n_iters steps of Q ← r + γ P max_a' Q from Q_0 = 0; returns (S, A). Lecture 4 §Q-iteration."""
    P, R = np.asarray(P, dtype=np.float64), np.asarray(R, dtype=np.float64)
    Q = np.zeros_like(R)
    for _ in range(n_iters):
        Q = R + gamma * P @ Q.max(-1)
    return Q


def greedy_policy(Q: np.ndarray) -> np.ndarray:
    """π'(a|s) = 1 if a = argmax_a Q(s, a) (first maximiser on ties) else 0.  Q (S, A) → one-hot (S, A)."""
    Q = np.asarray(Q, dtype=np.float64)
    return np.eye(Q.shape[-1])[Q.argmax(-1)]


def policy_evaluation(P: np.ndarray, R: np.ndarray, pi: np.ndarray, gamma: float, n_iters: int,
                      V0: np.ndarray | None = None) -> np.ndarray:
    """Iterative policy evaluation: n_iters steps of V ← B^π V from V0 (default 0). (S,)"""
    P, R, pi = (np.asarray(x, dtype=np.float64) for x in (P, R, pi))
    V = np.zeros(P.shape[0]) if V0 is None else np.asarray(V0, dtype=np.float64)
    for _ in range(n_iters):
        V = (pi * (R + gamma * P @ V)).sum(-1)
    return V


def policy_evaluation_exact(P: np.ndarray, R: np.ndarray, pi: np.ndarray, gamma: float) -> np.ndarray:
    """V^π = (I - γ P_π)^{-1} r_π by a linear solve. (S,)"""
    P, R, pi = (np.asarray(x, dtype=np.float64) for x in (P, R, pi))
    P_pi, r_pi = np.einsum("sa,sat->st", pi, P), (pi * R).sum(-1)
    return np.linalg.solve(np.eye(P.shape[0]) - gamma * P_pi, r_pi)


def policy_iteration(P: np.ndarray, R: np.ndarray, gamma: float, max_iters: int = 100
                     ) -> tuple[np.ndarray, np.ndarray, int]:
    """Policy iteration: evaluate V^π exactly, set π ← argmax_a Q^π (greedy, i.e. argmax of A^π), repeat
    until the policy is stable. Returns (pi (S, A) one-hot, V^π (S,), number of improvement steps)."""
    P, R = np.asarray(P, dtype=np.float64), np.asarray(R, dtype=np.float64)
    S, A = R.shape
    pi = np.eye(A)[np.zeros(S, dtype=np.int64)]
    for k in range(1, max_iters + 1):
        V = policy_evaluation_exact(P, R, pi, gamma)
        Q = R + gamma * P @ V
        # keep the current action on ties, so the loop stops
        new = np.where(np.isclose(Q.max(-1), (pi * Q).sum(-1), rtol=0, atol=1e-12), pi.argmax(-1), Q.argmax(-1))
        new_pi = np.eye(A)[new]
        if np.array_equal(new_pi, pi):
            return pi, V, k
        pi = new_pi
    return pi, policy_evaluation_exact(P, R, pi, gamma), max_iters


def epsilon_greedy_probs(Q: np.ndarray, epsilon: float) -> np.ndarray:
    """π(a|s) = 1 - ε + ε/|A| for a = argmax_a' Q(s, a') (the first maximiser on ties), ε/|A| otherwise.

    Args:
        Q: (..., A) action values: (A,) for one state, (B, A) for a batch, any number of leading axes;
            the argmax is over the last axis only.  epsilon: exploration probability in [0, 1].
    Returns:
        (..., A) float probabilities, the shape of Q, each row sums to 1. Lecture 4 §exploration.
    """
    Q = np.asarray(Q, dtype=np.float64)
    n = Q.shape[-1]
    greedy = np.eye(n)[Q.argmax(-1)]
    return (1.0 - epsilon) * greedy + epsilon / n


def epsilon_soft_q_iteration(P: np.ndarray, R: np.ndarray, gamma: float, epsilon: float,
                             n_iters: int = 1000) -> np.ndarray:
    """Q_ε: the fixed point of Q(s,a) = r(s,a) + γ Σ_s' p(s'|s,a) Σ_a' π_ε(a'|s'; Q) Q(s',a'), π_ε ε-greedy in Q.

    What SARSA with a fixed ε converges to: the value of acting ε-greedily in its own Q. ε = 0 gives Q*.
    (S, A, S), (S, A) → (S, A).

    >>> P = np.array([[[1.0], [1.0]]]); R = np.array([[1.0, 0.0]])   # one state, actions pay 1 and 0
    >>> np.round(epsilon_soft_q_iteration(P, R, 0.5, 0.5, 200), 6)   # π_ε = (3/4, 1/4): V = 3/4 + V/2 = 1.5
    array([[1.75, 0.75]])
    """
    Q = np.zeros_like(R, dtype=np.float64)
    for _ in range(n_iters):
        Q = R + gamma * P @ (epsilon_greedy_probs(Q, epsilon) * Q).sum(-1)
    return Q


def boltzmann_probs(Q: np.ndarray, temperature: float) -> np.ndarray:
    """π(a|s) = exp(Q(s,a)/τ) / Σ_a' exp(Q(s,a')/τ), numerically stable; (..., A) → (..., A)."""
    z = np.asarray(Q, dtype=np.float64) / temperature
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def least_squares_projection(features: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Π = Φ (Φᵀ D Φ)^{-1} Φᵀ D: the matrix of the weighted least-squares fit onto span(Φ).

    (Π y) = Φ w* with w* = argmin_w Σ_i d_i (Φ_i · w − y_i)^2; D = diag(weights) is the sampling distribution
    of the regression (default uniform). Π is the orthogonal projection in ‖x‖_D = sqrt(Σ_i d_i x_i^2), so
    ‖Π x‖_D ≤ ‖x‖_D (a non-expansion, with equality on span(Φ)); it is not one in ‖·‖_∞. Lecture 4 §theory.

    Args:
        features: (n, d) rows Φ_i, full column rank on the support of ``weights``.  weights: (n,) d_i ≥ 0.
    Returns:
        (n, n) matrix Π.

    >>> least_squares_projection(np.array([[1.0], [2.0]])) @ np.array([1.0, 1.0])   # w* = 3/5: (w*, 2w*)
    array([0.6, 1.2])
    """
    Phi = np.asarray(features, dtype=np.float64)
    d = np.ones(len(Phi)) if weights is None else np.asarray(weights, dtype=np.float64)
    return Phi @ np.linalg.solve(Phi.T @ (d[:, None] * Phi), Phi.T * d)


def state_action_visitation(P: np.ndarray, pi: np.ndarray, start: np.ndarray, terminal: np.ndarray) -> np.ndarray:
    """d(s, a) ∝ π(a|s) E[number of visits to s in an episode]: the state-action distribution of the data a
    behaviour policy π collects in episodes that begin at s_0 ~ ``start`` and end on entering a ``terminal`` state.

    Visits n = startᵀ (I − P_π)^{-1} over the non-terminal states (P_π restricted to them; π must reach a
    terminal state from every start), n = 0 on terminal states.
    P (S, A, S), pi (S, A), start (S,), terminal (S,) bool → (S, A), summing to 1. Lecture 4 §fitted Q-iteration.
    """
    P, pi = np.asarray(P, dtype=np.float64), np.asarray(pi, dtype=np.float64)
    keep = ~np.asarray(terminal, dtype=bool)
    P_pi = np.einsum("sa,sat->st", pi, P)[np.ix_(keep, keep)]
    n = np.zeros(len(P))
    n[keep] = np.linalg.solve((np.eye(int(keep.sum())) - P_pi).T, np.asarray(start, dtype=np.float64)[keep])
    dsa = n[:, None] * pi
    return dsa / dsa.sum()
