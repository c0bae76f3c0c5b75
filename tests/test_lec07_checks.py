"""Lecture 7 checkers: the reference passes every case; known-wrong versions fail with a useful message."""
import numpy as np
import pytest

from rlcourse_utils import checks, control, planning
from mutants import assert_rejected

LEC07 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "07"]


def test_three_exercises_are_registered():
    assert {ex.id for ex in LEC07} == {"L07_lqr_backward_step", "L07_cem_update", "L07_uct_score"}


# ---------------------------------------------------------------- known-wrong versions

def _split(F, f, C, c, V_next, v_next):
    n = F.shape[0]
    Q = C + F.T @ V_next @ F
    q = c + F.T @ V_next @ f + F.T @ v_next
    return n, Q, q


def _finish(n, Q, q, K, k):
    V = Q[:n, :n] + Q[:n, n:] @ K + K.T @ Q[n:, :n] + K.T @ Q[n:, n:] @ K
    v = q[:n] + Q[:n, n:] @ k + K.T @ q[n:] + K.T @ Q[n:, n:] @ k
    return K, k, V, v


def lqr_plus_sign(F, f, C, c, V_next, v_next):  # K = +Q_uu⁻¹ Q_ux: maximises instead of minimising
    n, Q, q = _split(F, f, C, c, V_next, v_next)
    return _finish(n, Q, q, np.linalg.solve(Q[n:, n:], Q[n:, :n]), np.linalg.solve(Q[n:, n:], q[n:]))


def lqr_ignores_offset(F, f, C, c, V_next, v_next):  # q without Fᵀ V_next f
    return control.lqr_backward_step(F, np.zeros_like(f), C, c, V_next, v_next)


def lqr_ignores_v_next(F, f, C, c, V_next, v_next):  # q without Fᵀ v_next
    return control.lqr_backward_step(F, f, C, c, V_next, np.zeros_like(v_next))


def lqr_uses_C_not_Q(F, f, C, c, V_next, v_next):  # forgets the future: Q = C
    n = F.shape[0]
    return _finish(n, C, c, -np.linalg.solve(C[n:, n:], C[n:, :n]), -np.linalg.solve(C[n:, n:], c[n:]))


def lqr_V_without_cross_terms(F, f, C, c, V_next, v_next):  # V = Q_xx + Kᵀ Q_uu K
    K, k, _, v = control.lqr_backward_step(F, f, C, c, V_next, v_next)
    n, Q, _ = _split(F, f, C, c, V_next, v_next)
    return K, k, Q[:n, :n] + K.T @ Q[n:, n:] @ K, v


def lqr_action_first(F, f, C, c, V_next, v_next):  # reads z = [u; x]
    m = C.shape[0] - F.shape[0]
    n, Q, q = _split(F, f, C, c, V_next, v_next)
    K = -np.linalg.solve(Q[:m, :m], Q[:m, m:])
    k = -np.linalg.solve(Q[:m, :m], q[:m])
    V = Q[m:, m:] + Q[m:, :m] @ K + K.T @ Q[:m, m:] + K.T @ Q[:m, :m] @ K
    v = q[m:] + Q[m:, :m] @ k + K.T @ q[:m] + K.T @ Q[:m, :m] @ k
    return K, k, V, v


def cem_lowest(samples, returns, n_elite):
    return planning.cem_update(samples, -np.asarray(returns), n_elite)


def _elites(samples, returns, n_elite):  # the right elites, (..., M, D), and the K axis
    samples, returns = np.asarray(samples, dtype=float), np.asarray(returns)
    order = np.argsort(-returns, axis=-1, kind="stable")[..., :n_elite]
    order = order.reshape(order.shape + (1,) * (samples.ndim - returns.ndim))
    return np.take_along_axis(samples, order, axis=returns.ndim - 1), returns.ndim - 1


def cem_ddof1(samples, returns, n_elite):
    elites, axis = _elites(samples, returns, n_elite)
    with np.errstate(divide="ignore", invalid="ignore"):          # M = 1: 0/0
        return elites.mean(axis), elites.std(axis, ddof=1)


def cem_variance(samples, returns, n_elite):
    mean, std = planning.cem_update(samples, returns, n_elite)
    return mean, std ** 2


def cem_all_samples(samples, returns, n_elite):
    axis = np.ndim(returns) - 1
    return np.asarray(samples).mean(axis), np.asarray(samples).std(axis)


def cem_one_short(samples, returns, n_elite):  # argsort(...)[-n_elite:-1]-style off-by-one
    order = np.argsort(np.asarray(returns))
    elites = np.asarray(samples)[order[-n_elite - 1:-1]]
    return elites.mean(0), elites.std(0)


def cem_no_batch_axes(samples, returns, n_elite):  # the (K, D)-only version: elites along axis 0
    elites = np.asarray(samples)[np.argsort(-np.asarray(returns), kind="stable")[:n_elite]]
    return elites.mean(0), elites.std(0)


def cem_flat_topk(samples, returns, n_elite):  # one elite set across all problems of the batch
    order = np.argsort(-np.asarray(returns).reshape(-1), kind="stable")[:n_elite]
    flat = np.asarray(samples).reshape(np.size(returns), *np.shape(samples)[np.ndim(returns):])
    elites = flat[order]                                          # top M over ALL problems at once
    mean, std = elites.mean(0), elites.std(0)
    lead = np.shape(returns)[:-1]
    return np.broadcast_to(mean, lead + mean.shape), np.broadcast_to(std, lead + std.shape)


def cem_threshold(samples, returns, n_elite):  # returns >= the M-th best: keeps every tied sample at the cut
    samples, returns = np.asarray(samples, dtype=float), np.asarray(returns)
    assert returns.ndim == 1
    elites = samples[returns >= np.sort(returns)[-n_elite]]
    return elites.mean(0), elites.std(0)


def uct_q_not_averaged(q_sum, n_visits, n_parent, c):
    n = np.asarray(n_visits, dtype=float)
    s = np.asarray(q_sum) + 2 * c * np.sqrt(2 * np.log(n_parent) / np.maximum(n, 1))
    return np.where(n > 0, s, np.inf)


def uct_log_of_child(q_sum, n_visits, n_parent, c):
    n = np.asarray(n_visits, dtype=float)
    s = np.asarray(q_sum) / np.maximum(n, 1) + 2 * c * np.sqrt(2 * np.log(np.maximum(n, 1)) / n_parent)
    return np.where(n > 0, s, np.inf)


def uct_no_factor_two(q_sum, n_visits, n_parent, c):
    n = np.asarray(n_visits, dtype=float)
    s = np.asarray(q_sum) / np.maximum(n, 1) + c * np.sqrt(2 * np.log(n_parent) / np.maximum(n, 1))
    return np.where(n > 0, s, np.inf)


def uct_unvisited_zero(q_sum, n_visits, n_parent, c):
    return np.nan_to_num(planning.uct_score(q_sum, n_visits, n_parent, c), posinf=0.0)


def uct_divides_by_zero(q_sum, n_visits, n_parent, c):
    n = np.asarray(n_visits, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(q_sum) / n + 2 * c * np.sqrt(2 * np.log(n_parent) / n)


MUTANTS = [
    ("L07_lqr_backward_step", lqr_plus_sign, "K = -C_uu⁻¹ C_ux"),
    ("L07_lqr_backward_step", lqr_ignores_offset, "offset f"),
    ("L07_lqr_backward_step", lqr_ignores_v_next, "v_next = [2]"),
    ("L07_lqr_backward_step", lqr_uses_C_not_Q, "Q = C + Fᵀ V_next F"),
    ("L07_lqr_backward_step", lqr_V_without_cross_terms, "base case"),
    ("L07_lqr_backward_step", lqr_action_first, "Inputs:"),
    ("L07_cem_update", cem_lowest, "elites are samples 1 and 2"),
    ("L07_cem_update", cem_ddof1, "elites are samples 1 and 2"),
    ("L07_cem_update", cem_variance, "M = K"),
    ("L07_cem_update", cem_all_samples, "elites are samples 1 and 2"),
    ("L07_cem_update", cem_one_short, "elites are samples 1 and 2"),
    ("L07_cem_update", cem_no_batch_axes, "leading batch axis (B, K, D)"),
    ("L07_cem_update", cem_flat_topk, "leading batch axis (B, K, D)"),
    ("L07_cem_update", cem_threshold, "a tie at the cut"),
    ("L07_uct_score", uct_q_not_averaged, "Q/N"),
    ("L07_uct_score", uct_log_of_child, "N_parent = 3"),
    ("L07_uct_score", uct_no_factor_two, "N_parent = 3"),
    ("L07_uct_score", uct_unvisited_zero, "unvisited"),
    ("L07_uct_score", uct_divides_by_zero, "unvisited"),
]


@pytest.mark.parametrize("exercise_id, mutant, fragment", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_known_wrong_versions_fail_with_a_useful_message(exercise_id, mutant, fragment):
    assert_rejected(exercise_id, mutant, fragment)


