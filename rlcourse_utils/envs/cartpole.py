"""A CartPole-v1 expert that needs no weights: LQR on the linearised dynamics.

The imitation-learning experiments of Lecture 1 need a teacher π*(s). Instead
of shipping a trained network we derive one: linearise CartPole's equations of
motion around the upright equilibrium, discretise them with the same Euler step
gymnasium uses, solve the discrete-time Riccati equation for the LQR gain K,
and push right exactly when the LQR force u = -K s is positive (bang-bang,
because CartPole only offers a force of ±10 N). It balances for the full 500
steps in every episode we tried (tests/test_lec01_envs_algos.py runs 100).

Lecture 1 §Imitation learning: the expert; LQR itself is Lecture 7.
State s = (x, ẋ, θ, θ̇): cart position, cart velocity, pole angle, pole angular velocity.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

# gymnasium's CartPole-v1 constants (gymnasium/envs/classic_control/cartpole.py)
GRAVITY = 9.8
MASSCART = 1.0
MASSPOLE = 0.1
HALF_LENGTH = 0.5  # gymnasium's `length` is half the pole's length
FORCE_MAG = 10.0
TAU = 0.02  # seconds per step (Euler integration)

STATE_DIM = 4
N_ACTIONS = 2


def linearised_dynamics() -> tuple[np.ndarray, np.ndarray]:
    """CartPole's Euler-discretised dynamics linearised at the upright rest state.

    s_{t+1} ≈ A s_t + B u_t,   A = I + τ ∂f/∂s,  B = τ ∂f/∂u  at s = 0, u = 0,

    where ṡ = f(s, u) are gymnasium's equations of motion with horizontal force u (N).
    At θ = 0 (cos θ = 1, sin θ ≈ θ, θ̇² ≈ 0):
        θ̈ = (g θ - u / M) / (l (4/3 - m / M)),   ẍ = u / M - m l θ̈ / M,   M = m + m_cart.

    Returns:
        A: (4, 4) state transition matrix.
        B: (4, 1) force-to-state matrix (per newton).
    """
    total_mass = MASSPOLE + MASSCART
    denom = HALF_LENGTH * (4.0 / 3.0 - MASSPOLE / total_mass)
    # continuous time: θ̈ = a_th * θ + b_th * u ;  ẍ = a_x * θ + b_x * u
    a_th, b_th = GRAVITY / denom, -1.0 / (total_mass * denom)
    a_x = -MASSPOLE * HALF_LENGTH * a_th / total_mass
    b_x = 1.0 / total_mass - MASSPOLE * HALF_LENGTH * b_th / total_mass
    A_c = np.array([[0.0, 1.0, 0.0, 0.0],
                    [0.0, 0.0, a_x, 0.0],
                    [0.0, 0.0, 0.0, 1.0],
                    [0.0, 0.0, a_th, 0.0]])
    B_c = np.array([[0.0], [b_x], [0.0], [b_th]])
    return np.eye(STATE_DIM) + TAU * A_c, TAU * B_c


def lqr_gain(Q: np.ndarray | None = None, R: np.ndarray | None = None) -> np.ndarray:
    """Infinite-horizon discrete LQR gain for the linearised CartPole.

    K = (R + Bᵀ P B)⁻¹ Bᵀ P A, with P the solution of the discrete algebraic Riccati
    equation; the optimal force is u = -K s. Lecture 7 §LQR (used here as Lecture 1's expert).

    Args:
        Q: (4, 4) state cost, default diag(1, 1, 10, 1) (the pole angle matters most).
        R: (1, 1) force cost, default 1.

    Returns:
        K: (1, 4) feedback gain.

    >>> A, B = linearised_dynamics()
    >>> bool(np.abs(np.linalg.eigvals(A - B @ lqr_gain())).max() < 1)  # the closed loop is stable
    True
    """
    A, B = linearised_dynamics()
    Q = np.diag([1.0, 1.0, 10.0, 1.0]) if Q is None else np.asarray(Q, dtype=float)
    R = np.eye(1) if R is None else np.atleast_2d(np.asarray(R, dtype=float))
    P = scipy.linalg.solve_discrete_are(A, B, Q, R)  # (4, 4)
    return np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)  # (1, 4)


_K = lqr_gain()  # (1, 4) the expert's gain, computed once at import


def expert_actions(states: np.ndarray) -> np.ndarray:
    """The expert π*(s): push right (action 1) iff the LQR force -K s is positive.

    Args:
        states: (N, 4) full CartPole states (x, ẋ, θ, θ̇).

    Returns:
        (N,) int64 actions in {0 (push left), 1 (push right)}.

    >>> expert_actions(np.array([[0.0, 0.0, 0.05, 0.0], [0.0, 0.0, -0.05, 0.0]])).tolist()  # push under the pole
    [1, 0]
    """
    force = -np.asarray(states, dtype=np.float64) @ _K.T  # (N, 1)
    return (force[:, 0] > 0).astype(np.int64)


def biased_expert_actions(states: np.ndarray, bias: float = 2.0) -> np.ndarray:
    """A deliberately worse teacher: push right only when the LQR force exceeds ``bias`` newtons.

    It still balances the pole, but leans left: the cart drifts until it leaves the
    track, after roughly 280 steps with bias = 2 N (170 with 3 N). A learner that clones it
    faithfully inherits the drift: it cannot beat its teacher (Lecture 1 §Imitation learning).

    Args:
        states: (N, 4) full states.
        bias: force threshold in newtons, 0 gives ``expert_actions``; 1.5 to 5 is interesting.

    Returns:
        (N,) int64 actions.
    """
    force = -np.asarray(states, dtype=np.float64) @ _K.T  # (N, 1)
    return (force[:, 0] > bias).astype(np.int64)


def position_only(states: np.ndarray) -> np.ndarray:
    """The partial observation of the non-Markovian demo: o = (x, θ), velocities hidden.

    The expert still acts on the full state; a memoryless learner on o cannot tell
    a pole falling from a pole rising. Lecture 1 §Non-Markovian behaviour.

    Args:
        states: (..., 4) full states.

    Returns:
        (..., 2) observations (x, θ).

    >>> position_only(np.array([1.0, 2.0, 3.0, 4.0])).tolist()
    [1.0, 3.0]
    """
    return np.asarray(states)[..., [0, 2]]
