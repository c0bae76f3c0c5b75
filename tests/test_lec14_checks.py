"""Lecture 14 checkers: the reference passes every case; known-wrong versions fail with a useful message."""
import numpy as np

from rlcourse_utils import checks, vtrace
from mutants import assert_rejected

LEC14 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "14"]


def test_three_exercises_are_registered():
    assert {ex.id for ex in LEC14} == {"L14_vtrace_targets", "L14_priority_probabilities", "L14_importance_weights"}


def test_reference_passes_public_and_hidden():
    for ex in LEC14:
        assert checks.run_check(ex, ex.reference).passed
        assert checks.run_cases(ex, ex.reference, ex.hidden("some secret")).passed


def test_hidden_cases_depend_on_the_secret():
    ex = checks.get("L14_vtrace_targets")
    a, b = ex.hidden("one"), ex.hidden("two")
    assert not np.allclose(a[0].args[0], b[0].args[0])


# ---------------------------------------------------------------- known-wrong versions

def vt_no_truncation(r, v, b, d, lr, rho_bar, c_bar):
    return vtrace.vtrace_targets(r, v, b, d, lr, np.inf, np.inf)


def vt_c_uses_rho_bar(r, v, b, d, lr, rho_bar, c_bar):
    return vtrace.vtrace_targets(r, v, b, d, lr, rho_bar, rho_bar)


def vt_ignores_correction(r, v, b, d, lr, rho_bar, c_bar):  # the uncorrected n-step return
    return vtrace.vtrace_targets(r, v, b, d, np.zeros_like(lr), rho_bar, c_bar)


def vt_ratio_inverted(r, v, b, d, lr, rho_bar, c_bar):  # μ/π instead of π/μ
    return vtrace.vtrace_targets(r, v, b, d, -np.asarray(lr), rho_bar, c_bar)


def vt_one_step(r, v, b, d, lr, rho_bar, c_bar):  # δ_s only, no trace
    return vtrace.vtrace_targets(r, v, b, d, lr, rho_bar, 0.0)


def vt_discount_ignores_ends(r, v, b, d, lr, rho_bar, c_bar):
    return vtrace.vtrace_targets(r, v, b, np.full(np.shape(d), np.max(d)), lr, rho_bar, c_bar)


def test_vtrace_mutants_rejected():
    assert_rejected("L14_vtrace_targets", vt_no_truncation, "π/μ = 2 truncated")
    assert_rejected("L14_vtrace_targets", vt_c_uses_rho_bar, "ρ̄ = 2, c̄ = 1")
    assert_rejected("L14_vtrace_targets", vt_ignores_correction, "π/μ = 0.5")
    assert_rejected("L14_vtrace_targets", vt_ratio_inverted, "π/μ = 2 truncated")
    assert_rejected("L14_vtrace_targets", vt_one_step, "π = μ, V = 0")
    assert_rejected("L14_vtrace_targets", vt_discount_ignores_ends, "episode ends at t = 0")


def pr_no_alpha(p, alpha):
    return np.asarray(p, float) / np.sum(p)


def pr_unnormalised(p, alpha):
    return np.asarray(p, float) ** alpha


def pr_softmax(p, alpha):
    e = np.exp(alpha * np.asarray(p, float))
    return e / e.sum()


def test_priority_mutants_rejected():
    assert_rejected("L14_priority_probabilities", pr_no_alpha, "α = 0.5")
    assert_rejected("L14_priority_probabilities", pr_unnormalised, "α = 1")
    assert_rejected("L14_priority_probabilities", pr_softmax, "α = 1")


def iw_batch_max(probs, idx, beta):  # normalises by the batch's max, not the buffer's
    w = (len(probs) * np.asarray(probs)[idx]) ** (-beta)
    return w / w.max()


def iw_unnormalised(probs, idx, beta):
    return (len(probs) * np.asarray(probs)[idx]) ** (-beta)


def iw_wrong_sign(probs, idx, beta):
    w = (len(probs) * np.asarray(probs)) ** beta
    return w[idx] / w.max()


def test_weights_mutants_rejected():
    assert_rejected("L14_importance_weights", iw_batch_max, "only item 1 sampled")
    assert_rejected("L14_importance_weights", iw_unnormalised, "β = 1")
    assert_rejected("L14_importance_weights", iw_wrong_sign, "β = 1")
