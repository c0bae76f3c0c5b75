"""Lecture 9 checkers: the reference passes every case; known-wrong versions fail with a useful message."""
import numpy as np
import pytest

from rlcourse_utils import checks, model_policy
from mutants import assert_rejected

LEC09 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "09"]


def test_three_exercises_are_registered():
    assert {ex.id for ex in LEC09} == {"L09_dual_gradient_step", "L09_augmented_lagrangian_step",
                                       "L09_q_learning_update"}


# ---------------------------------------------------------------- known-wrong versions

def dual_descent_sign(Q, c, A, b, lam, alpha):  # gradient DESCENT on the dual
    x = np.linalg.solve(Q, -(c + A.T @ lam))
    return x, lam - alpha * (A @ x - b)


def dual_ignores_lambda(Q, c, A, b, lam, alpha):  # x* = argmin f, not argmin L(·, λ)
    x = np.linalg.solve(Q, -c)
    return x, lam + alpha * (A @ x - b)


def dual_violation_sign(Q, c, A, b, lam, alpha):  # b − Ax instead of Ax − b
    x = np.linalg.solve(Q, -(c + A.T @ lam))
    return x, lam + alpha * (b - A @ x)


def dual_x_sign(Q, c, A, b, lam, alpha):  # x* = +Q⁻¹(c + Aᵀλ)
    x = np.linalg.solve(Q, c + A.T @ lam)
    return x, lam + alpha * (A @ x - b)


def dual_returns_lambda_only(Q, c, A, b, lam, alpha):
    return model_policy.dual_gradient_step(Q, c, A, b, lam, alpha)[1]


def al_half_rho(Q, c, A, b, lam, rho, alpha):  # the (ρ/2)‖C‖² convention: drops the factor 2
    x = np.linalg.solve(Q + rho * A.T @ A, -c - A.T @ lam + rho * A.T @ b)
    return x, lam + alpha * (A @ x - b)


def al_no_ata(Q, c, A, b, lam, rho, alpha):  # penalty gradient without its Hessian
    x = np.linalg.pinv(Q) @ (-c - A.T @ lam + 2 * rho * A.T @ b)
    return x, lam + alpha * (A @ x - b)


def al_b_sign(Q, c, A, b, lam, rho, alpha):
    x = np.linalg.solve(Q + 2 * rho * A.T @ A, -c - A.T @ lam - 2 * rho * A.T @ b)
    return x, lam + alpha * (A @ x - b)


def al_is_dual_step(Q, c, A, b, lam, rho, alpha):  # forgets the penalty when minimising over x
    return model_policy.dual_gradient_step(Q, c, A, b, lam, alpha)


def al_rho_step(Q, c, A, b, lam, rho, alpha):  # λ step uses ρ instead of α
    x = np.linalg.solve(Q + 2 * rho * A.T @ A, -c - A.T @ lam + 2 * rho * A.T @ b)
    return x, lam + rho * (A @ x - b)


def al_two_rho_step(Q, c, A, b, lam, rho, alpha):  # the method of multipliers' α = 2ρ hard-wired
    x = np.linalg.solve(Q + 2 * rho * A.T @ A, -c - A.T @ lam + 2 * rho * A.T @ b)
    return x, lam + 2 * rho * (A @ x - b)


def al_lambda_sign(Q, c, A, b, lam, rho, alpha):  # +Aᵀλ on the right-hand side
    x = np.linalg.solve(Q + 2 * rho * A.T @ A, -c + A.T @ lam + 2 * rho * A.T @ b)
    return x, lam + alpha * (A @ x - b)


def dual_a_not_transposed(Q, c, A, b, lam, alpha):  # A @ λ instead of Aᵀλ: a shape error unless m = n
    x = np.linalg.solve(Q, -(c + A @ lam))
    return x, lam + alpha * (A @ x - b)


def q_max_over_s(Q, s, a, r, s_next, terminated, alpha, gamma):
    Q = np.array(Q, dtype=float)
    Q[s, a] += alpha * (r + gamma * (1 - terminated) * Q[s].max() - Q[s, a])
    return Q


def q_sarsa_like(Q, s, a, r, s_next, terminated, alpha, gamma):  # Q(s', a) instead of max_a'
    Q = np.array(Q, dtype=float)
    Q[s, a] += alpha * (r + gamma * (1 - terminated) * Q[s_next, a] - Q[s, a])
    return Q


def q_bootstraps_terminal(Q, s, a, r, s_next, terminated, alpha, gamma):
    return model_policy.q_learning_update(Q, s, a, r, s_next, False, alpha, gamma)


def q_no_step_size(Q, s, a, r, s_next, terminated, alpha, gamma):  # Q ← y
    Q = np.array(Q, dtype=float)
    Q[s, a] = r + gamma * (1 - terminated) * Q[s_next].max()
    return Q


def q_in_place(Q, s, a, r, s_next, terminated, alpha, gamma):  # mutates the caller's table
    Q[s, a] += alpha * (r + gamma * (1 - terminated) * Q[s_next].max() - Q[s, a])
    return Q


def q_updates_row(Q, s, a, r, s_next, terminated, alpha, gamma):  # updates every action of s
    Q = np.array(Q, dtype=float)
    Q[s] += alpha * (r + gamma * (1 - terminated) * Q[s_next].max() - Q[s])
    return Q


MUTANTS = [
    ("L09_dual_gradient_step", dual_descent_sign, "ASCENT"),
    ("L09_dual_gradient_step", dual_ignores_lambda, "λ enters x*"),
    ("L09_dual_gradient_step", dual_violation_sign, "ASCENT"),
    ("L09_dual_gradient_step", dual_x_sign, "λ enters x*"),
    ("L09_dual_gradient_step", dual_returns_lambda_only, "tuple"),
    ("L09_augmented_lagrangian_step", al_half_rho, "2ρ(x − 1)"),
    ("L09_augmented_lagrangian_step", al_no_ata, "2ρ(x − 1)"),
    ("L09_augmented_lagrangian_step", al_b_sign, "2ρ(x − 1)"),
    ("L09_augmented_lagrangian_step", al_is_dual_step, "2ρ(x − 1)"),
    ("L09_augmented_lagrangian_step", al_rho_step, "2ρ(x − 1)"),
    ("L09_augmented_lagrangian_step", al_two_rho_step, "ρ = 0 is dual gradient descent"),
    ("L09_augmented_lagrangian_step", al_lambda_sign, "ρ = 0 is dual gradient descent"),
    ("L09_dual_gradient_step", dual_a_not_transposed, "ASCENT"),
    ("L09_q_learning_update", q_max_over_s, "not over s"),
    ("L09_q_learning_update", q_sarsa_like, "not Q(s', a)"),
    ("L09_q_learning_update", q_bootstraps_terminal, "terminated"),
    ("L09_q_learning_update", q_no_step_size, "Q(0, 0) ← 0 + .5"),
    ("L09_q_learning_update", q_updates_row, "other entries are unchanged"),
    ("L09_q_learning_update", q_in_place, "in place"),
]


@pytest.mark.parametrize("exercise_id, mutant, fragment", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_known_wrong_versions_fail_with_a_useful_message(exercise_id, mutant, fragment):
    assert_rejected(exercise_id, mutant, fragment)


