"""Lecture 4 checkers: the reference passes every case; known-wrong versions fail with a useful message."""
import numpy as np
import pytest

from rlcourse_utils import checks, dp
from mutants import assert_rejected

LEC04 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "04"]


def test_three_exercises_are_registered():
    assert {ex.id for ex in LEC04} == {"L04_bellman_backup", "L04_value_iteration", "L04_epsilon_greedy"}


# ---------------------------------------------------------------- known-wrong versions

def backup_max_over_states(V, P, R, gamma):
    return (R + gamma * P @ V).max(0)


def backup_max_v_first(V, P, R, gamma):  # max inside the expectation: r + γ max V, ignores dynamics
    return (R + gamma * np.max(V)).max(-1)


def backup_mean_over_actions(V, P, R, gamma):
    return (R + gamma * P @ V).mean(-1)


def backup_wrong_axis(V, P, R, gamma):  # Σ_s P[s', a, s] V(s'): contracts the wrong state axis
    return (R + gamma * np.einsum("tas,t->sa", P, V)).max(-1)


def backup_assumes_s_equals_a(V, P, R, gamma):  # V @ P contracts V with the action axis: only runs when S == A
    return (R + gamma * (V @ P)).max(-1)


def backup_two_actions_only(V, P, R, gamma):
    Q = R + gamma * P @ V
    return np.maximum(Q[:, 0], Q[:, 1])


def vi_two_actions_only(P, R, gamma, n_iters):
    V = np.zeros(len(R))
    for _ in range(n_iters):
        Q = R + gamma * P @ V
        V = np.maximum(Q[:, 0], Q[:, 1])
    return V


def vi_one_extra(P, R, gamma, n_iters):
    return dp.value_iteration(P, R, gamma, n_iters + 1)


def vi_starts_at_rewards(P, R, gamma, n_iters):
    V = np.asarray(R).max(-1)
    for _ in range(n_iters):
        V = (R + gamma * P @ V).max(-1)
    return V


def vi_in_place(P, R, gamma, n_iters):  # Gauss-Seidel sweeps: a different sequence V_k
    V = np.zeros(len(R))
    for _ in range(n_iters):
        for s in range(len(R)):
            V[s] = (R[s] + gamma * P[s] @ V).max()
    return V


def eg_greedy_gets_one_minus_eps_only(Q, epsilon):
    Q = np.asarray(Q, dtype=float)
    n = Q.shape[-1]
    g = np.eye(n)[Q.argmax(-1)]
    return (1 - epsilon) * g + (1 - g) * epsilon / (n - 1)


def eg_ties_share(Q, epsilon):
    Q = np.asarray(Q, dtype=float)
    g = (Q == Q.max(-1, keepdims=True)).astype(float)
    return (1 - epsilon) * g / g.sum(-1, keepdims=True) + epsilon / Q.shape[-1]


def eg_unnormalised(Q, epsilon):
    Q = np.asarray(Q, dtype=float)
    return np.eye(Q.shape[-1])[Q.argmax(-1)] + epsilon / Q.shape[-1]


def eg_2d_only(Q, epsilon):  # indexes rows with np.arange(len(Q)): assumes Q.ndim == 2
    Q = np.asarray(Q, dtype=float)
    p = np.full(Q.shape, epsilon / Q.shape[1])
    p[np.arange(len(Q)), Q.argmax(1)] += 1 - epsilon
    return p


def eg_1d_only(Q, epsilon):  # np.argmax of the flattened array, one distribution of length |A|
    Q = np.asarray(Q, dtype=float)
    n = Q.shape[-1]
    p = np.full(n, epsilon / n)
    p[np.argmax(Q) % n] += 1 - epsilon
    return p


def eg_ties_pick_last(Q, epsilon):
    Q = np.asarray(Q, dtype=float)
    n = Q.shape[-1]
    last = n - 1 - Q[..., ::-1].argmax(-1)
    return (1 - epsilon) * np.eye(n)[last] + epsilon / n


def eg_greedy_misses_eps_share(Q, epsilon):  # greedy gets 1 - ε, not 1 - ε + ε/|A|: rows sum to 1 - ε/|A|
    Q = np.asarray(Q, dtype=float)
    n = Q.shape[-1]
    g = np.eye(n)[Q.argmax(-1)]
    return (1 - epsilon) * g + (1 - g) * epsilon / n


def eg_argmin(Q, epsilon):
    return dp.epsilon_greedy_probs(-np.asarray(Q, dtype=float), epsilon)


MUTANTS = [
    ("L04_bellman_backup", backup_max_over_states, "Inputs:"),
    ("L04_bellman_backup", backup_max_v_first, "a max over Q"),
    ("L04_bellman_backup", backup_mean_over_actions, "V = 0"),
    ("L04_bellman_backup", backup_wrong_axis, "differs at index"),
    ("L04_bellman_backup", backup_assumes_s_equals_a, "a max over Q"),
    ("L04_bellman_backup", backup_two_actions_only, "more than two actions"),
    ("L04_value_iteration", vi_two_actions_only, "more than two actions"),
    ("L04_value_iteration", vi_one_extra, "0 iterations"),
    ("L04_value_iteration", vi_starts_at_rewards, "0 iterations"),
    ("L04_value_iteration", vi_in_place, "synchronous"),
    ("L04_epsilon_greedy", eg_greedy_gets_one_minus_eps_only, "[.1, .8, .1]"),
    ("L04_epsilon_greedy", eg_ties_share, "first maximiser"),
    ("L04_epsilon_greedy", eg_unnormalised, "[.1, .8, .1]"),
    ("L04_epsilon_greedy", eg_argmin, "[.1, .8, .1]"),
    ("L04_epsilon_greedy", eg_2d_only, "shape (A,)"),
    ("L04_epsilon_greedy", eg_1d_only, "shape (B, A)"),
    ("L04_epsilon_greedy", eg_ties_pick_last, "first maximiser"),
    ("L04_epsilon_greedy", eg_greedy_misses_eps_share, "[.1, .8, .1]"),
]


def test_every_form_the_lecture_passes_is_a_public_case():
    """1-D (A,), 2-D (B, A) with B = 64 as tabular_q passes, 3-D; ties; ε = 0 and 1; S ≠ A with A > 2."""
    eg = [c.args for c in checks.get("L04_epsilon_greedy").public_cases()]
    assert {np.asarray(q).ndim for q, _ in eg} >= {1, 2, 3}
    assert any(np.asarray(q).shape == (64, 4) for q, _ in eg) and {0.0, 1.0} <= {e for _, e in eg}
    assert any(np.asarray(q).ndim == 1 and (np.asarray(q) == np.max(q)).sum() > 1 for q, _ in eg)
    for ex_id, v_axis in (("L04_bellman_backup", 1), ("L04_value_iteration", 0)):
        shapes = [np.asarray(c.args[v_axis]).shape for c in checks.get(ex_id).public_cases()]
        assert any(p[0] != p[1] and p[1] > 2 for p in shapes), shapes


@pytest.mark.parametrize("exercise_id, mutant, fragment", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_known_wrong_versions_fail_with_a_useful_message(exercise_id, mutant, fragment):
    assert_rejected(exercise_id, mutant, fragment)


