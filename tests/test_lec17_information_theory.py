"""Lecture 17: the information-theory math against independent oracles (scipy, enumeration, closed forms,
an SLSQP optimiser, LQR), the checkers against known-wrong versions, and fast smoke tests with determinism
of the DIAYN and Skew-Fit loops and the challenge measurements."""
import math

import numpy as np
import pytest
import scipy.optimize
import scipy.stats
import torch

from mutants import assert_rejected
from rlcourse_utils import challenges, checks, info_theory
from rlcourse_utils.algos import diayn, reinforce, skewfit
from rlcourse_utils.envs.gridworld import gridworld

LEC17 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "17"]


def test_four_exercises_are_registered_and_references_pass():
    assert {ex.id for ex in LEC17} == {"L17_mutual_information", "L17_blahut_arimoto_step", "L17_skew_weights",
                                       "L17_diayn_reward"}
    for ex in LEC17:
        assert checks.run_check(ex, ex.reference).passed
        hidden = ex.hidden()
        assert len(hidden) >= 3 and checks.run_cases(ex, ex.reference, hidden).passed
        assert checks.run_cases(ex, ex.reference, ex.hidden("another secret")).passed


# ---------------------------------------------------------------- math against oracles

def test_mutual_information_identities_against_scipy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        joint = rng.dirichlet(np.ones(12)).reshape(3, 4)
        px, py = joint.sum(1), joint.sum(0)
        kl = scipy.stats.entropy(joint.ravel(), np.outer(px, py).ravel())
        h_y_given_x = sum(px[i] * scipy.stats.entropy(joint[i] / px[i]) for i in range(3))
        mi = float(info_theory.mutual_information(joint))
        assert mi == pytest.approx(kl, abs=1e-12)
        assert mi == pytest.approx(scipy.stats.entropy(py) - h_y_given_x, abs=1e-12)
        assert float(info_theory.conditional_entropy(joint)) == pytest.approx(h_y_given_x, abs=1e-12)
        assert float(info_theory.kl_divergence(joint.ravel(), np.outer(px, py).ravel())) == pytest.approx(kl)


def test_entropy_matches_scipy_with_zeros():
    p = np.array([0.2, 0.0, 0.5, 0.3])
    assert float(info_theory.entropy(p)) == pytest.approx(scipy.stats.entropy(p), abs=1e-14)


def test_blahut_arimoto_matches_slsqp_and_known_capacities():
    # binary symmetric channel: C = log 2 - H(ε)
    eps = 0.11
    C, _, gap = info_theory.channel_capacity(np.array([[1 - eps, eps], [eps, 1 - eps]]), tol=1e-12)
    assert float(C) == pytest.approx(math.log(2) - scipy.stats.entropy([eps, 1 - eps]), abs=1e-10)
    # a random channel against a generic optimiser over the simplex
    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.ones(5), size=4)
    C, r, gap = info_theory.channel_capacity(W, tol=1e-11)
    res = scipy.optimize.minimize(lambda x: -float(info_theory.mutual_information(x[:, None] * W)), np.full(4, 0.25),
                                  method="SLSQP", bounds=[(0, 1)] * 4,
                                  constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}], options={"ftol": 1e-14})
    assert float(C) == pytest.approx(-res.fun, abs=1e-8) and float(gap) < 1e-10


def test_deterministic_empowerment_is_log_of_reachable_states():
    mdp, cells = gridworld(("..#.", "....", "#..."), slip=0.0)
    P = mdp.P[:-1, :, :-1]
    for n in (1, 2, 3):
        reach = (info_theory.n_step_channel(P, n).sum(1) > 0).sum(-1)
        assert np.allclose(info_theory.empowerment(P, n), np.log(reach), atol=1e-9)


def test_n_step_channel_matches_enumeration():
    mdp, _ = gridworld(("...", ".#.", "..."), slip=0.2)
    P = mdp.P[:-1, :, :-1]
    W = info_theory.n_step_channel(P, 2)
    for a1 in range(4):
        for a2 in range(4):
            assert np.allclose(W[:, a1 * 4 + a2], P[:, a1] @ P[:, a2])


def test_skew_refit_entropy_rises_to_uniform_and_alpha_zero_is_a_fixed_point():
    p = np.random.default_rng(2).dirichlet(np.ones(10) * 0.5)
    for alpha in (-1.0, -0.5, -0.1):
        q, hs = p.copy(), [scipy.stats.entropy(p)]
        for k in range(30):
            q = info_theory.skew_refit(q, alpha)
            hs.append(scipy.stats.entropy(q))
        assert np.all(np.diff(hs) >= -1e-12) and hs[-1] > hs[0]
        closed = p ** ((1 + alpha) ** 30)
        assert np.allclose(q, closed / closed.sum())
    assert np.allclose(info_theory.skew_refit(p, 0.0), p)


def test_skew_weights_refit_by_sampling_is_p_to_the_one_plus_alpha():
    rng = np.random.default_rng(3)
    p = np.array([0.6, 0.3, 0.1])
    x = rng.choice(3, size=200_000, p=p)
    w = info_theory.skew_fit_weights(np.log(p[x]), -0.5)
    refit = np.bincount(x, weights=w, minlength=3)
    assert np.allclose(refit, info_theory.skew_refit(p, -0.5), atol=5e-3)


def test_diayn_reward_bound_and_variational_gap():
    rng = np.random.default_rng(4)
    K, S = 4, 9
    d = rng.dirichlet(np.ones(S), size=K)                       # p(s | z)
    joint = d / K                                               # p(z, s)
    post = joint / joint.sum(0, keepdims=True)                  # true posterior p(z | s), (K, S)
    log_pz = np.full(K, -math.log(K))
    z = np.broadcast_to(np.arange(K)[:, None], (K, S))
    r_true = info_theory.diayn_reward(np.log(post).T[None].repeat(K, 0), z, log_pz)   # (K, S)
    assert float((joint * r_true).sum()) == pytest.approx(float(info_theory.mutual_information(joint)), abs=1e-12)
    r_other = info_theory.diayn_reward(rng.normal(size=(K, S, K)), z, log_pz)
    assert float((joint * r_other).sum()) < float(info_theory.mutual_information(joint))
    assert r_other.max() <= math.log(K) + 1e-12


def test_point_mass_exact_return_matches_lqr_and_monte_carlo():
    opt, gains = reinforce.point_mass_optimum(40)
    value, K = challenges.point_mass_lqr(40)
    assert value == pytest.approx(opt, abs=1e-12) and np.allclose(K, -gains)
    assert challenges.point_mass_expected_return(K, 0.0, 40) == pytest.approx(opt, abs=1e-12)
    w, b = np.array([-2.0, -1.5]), 0.2
    mc = reinforce.point_mass_return(lambda s: s @ w + b, 40, 100_000, 0)
    assert mc == pytest.approx(challenges.point_mass_expected_return(w, b, 40), rel=1e-2)


def test_bootstrap_ci_matches_scipy_percentile():
    x = np.random.default_rng(5).normal(size=10)
    lo, hi = challenges.bootstrap_ci(x, n_boot=20_000)
    ref = scipy.stats.bootstrap((x,), np.mean, n_resamples=20_000, method="percentile", random_state=0).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.03) and hi == pytest.approx(ref.high, abs=0.03)


def test_steps_to_threshold():
    steps = np.arange(1, 11) * 100
    assert challenges.steps_to_threshold(steps, np.arange(10.0), 3.0, window=3) == 500.0
    assert challenges.steps_to_threshold(steps, np.zeros(10), 1.0, window=3) == float("inf")


# ---------------------------------------------------------------- checker mutants

def mi_log2(joint):
    return info_theory.mutual_information(joint) / math.log(2)


def mi_naive(joint):  # nan where p(x, y) = 0
    joint = np.asarray(joint, float)
    with np.errstate(all="ignore"):
        return (joint * np.log(joint / (joint.sum(-1, keepdims=True) * joint.sum(-2, keepdims=True)))).sum((-2, -1))


def mi_reverse_kl(joint):
    joint = np.asarray(joint, float)
    prod = joint.sum(-1, keepdims=True) * joint.sum(-2, keepdims=True)
    return info_theory.kl_divergence(prod.reshape(*prod.shape[:-2], -1), joint.reshape(*joint.shape[:-2], -1))


def mi_wrong_identity(joint):  # H(Y) - H(X | Y) instead of H(Y) - H(Y | X)
    joint = np.asarray(joint, float)
    return info_theory.entropy(joint.sum(-2)) - info_theory.conditional_entropy(np.swapaxes(joint, -1, -2))


def mi_no_batch(joint):
    joint = np.asarray(joint, float)
    if joint.ndim == 2:
        return info_theory.mutual_information(joint)
    return info_theory.mutual_information(joint.reshape(-1, joint.shape[-1]) / joint.reshape(-1, joint.shape[-1]).sum())


@pytest.mark.parametrize("mutant, fragment", [(mi_log2, ""), (mi_naive, "NaN"), (mi_reverse_kl, ""),
                                              (mi_wrong_identity, ""), (mi_no_batch, "")])
def test_mutual_information_mutants_rejected(mutant, fragment):
    assert_rejected("L17_mutual_information", mutant, fragment)


def ba_without_r(r, W):
    return info_theory.blahut_arimoto_step(np.full_like(np.asarray(r, float), 1.0 / np.shape(r)[-1]), W)


def ba_minus_d(r, W):
    r, W = np.asarray(r, float), np.asarray(W, float)
    new = info_theory.blahut_arimoto_step(r, W)
    with np.errstate(all="ignore"):
        D = np.log(np.where(r > 0, new / np.where(r > 0, r, 1), 1.0))
    w = r * np.exp(-D)
    return w / w.sum(-1, keepdims=True)


def ba_q_ignores_r(r, W):
    r, W = np.asarray(r, float), np.asarray(W, float)
    q = W.mean(-2)
    with np.errstate(all="ignore"):
        D = np.where(W > 0, W * np.log(W / q[..., None, :]), 0.0).sum(-1)
    w = r * np.exp(D)
    return w / w.sum(-1, keepdims=True)


def ba_naive_zeros(r, W):
    r, W = np.asarray(r, float), np.asarray(W, float)
    q = np.einsum("...a,...ay->...y", r, W)
    with np.errstate(all="ignore"):
        D = (W * np.log(W / q[..., None, :])).sum(-1)
    w = r * np.exp(D)
    return w / w.sum(-1, keepdims=True)


def ba_unnormalised(r, W):
    r, W = np.asarray(r, float), np.asarray(W, float)
    q = np.einsum("...a,...ay->...y", r, W)
    D = info_theory.kl_divergence(W, q[..., None, :])
    return r * np.exp(D)


@pytest.mark.parametrize("mutant, fragment", [(ba_without_r, ""), (ba_minus_d, ""), (ba_q_ignores_r, ""),
                                              (ba_naive_zeros, "NaN"), (ba_unnormalised, "")])
def test_blahut_arimoto_mutants_rejected(mutant, fragment):
    assert_rejected("L17_blahut_arimoto_step", mutant, fragment)


def sw_refit_not_weights(log_p, alpha):  # p^(1+α): the refit model, not the sample weights
    return info_theory.skew_fit_weights(log_p, 1.0 + alpha)


def sw_unnormalised(log_p, alpha):
    return np.exp(alpha * np.asarray(log_p, float))


def sw_underflow(log_p, alpha):
    with np.errstate(all="ignore"):
        w = np.exp(np.asarray(log_p, float)) ** alpha
        return w / w.sum(-1, keepdims=True)


def sw_flat_normalised(log_p, alpha):
    w = np.exp(alpha * np.asarray(log_p, float))
    return w / w.sum()


def sw_no_log(log_p, alpha):
    return info_theory.skew_fit_weights(np.exp(np.asarray(log_p, float)), alpha)


@pytest.mark.parametrize("mutant, fragment", [(sw_refit_not_weights, ""), (sw_unnormalised, ""),
                                              (sw_underflow, ""), (sw_flat_normalised, ""), (sw_no_log, "")])
def test_skew_weights_mutants_rejected(mutant, fragment):
    assert_rejected("L17_skew_weights", mutant, fragment)


def dr_no_prior(logits, z, log_p_z):  # log q(z | s) alone: ≤ 0, never the bonus of a rare skill
    return info_theory.diayn_reward(logits, z, np.zeros_like(np.asarray(log_p_z, float)))


def dr_uniform_prior(logits, z, log_p_z):
    K = np.shape(log_p_z)[0]
    return info_theory.diayn_reward(logits, z, np.full(K, -math.log(K)))


def dr_probability(logits, z, log_p_z):
    return np.exp(info_theory.diayn_reward(logits, z, log_p_z) + np.asarray(log_p_z, float)[np.asarray(z)])


def dr_raw_logits(logits, z, log_p_z):
    z = np.asarray(z)
    return np.take_along_axis(np.asarray(logits, float), z[..., None], -1)[..., 0] - np.asarray(log_p_z)[z]


def dr_naive_softmax(logits, z, log_p_z):
    logits, z = np.asarray(logits, float), np.asarray(z)
    with np.errstate(all="ignore"):
        q = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        return np.log(np.take_along_axis(q, z[..., None], -1)[..., 0]) - np.asarray(log_p_z)[z]


@pytest.mark.parametrize("mutant, fragment", [(dr_no_prior, ""), (dr_uniform_prior, "prior"),
                                              (dr_probability, ""), (dr_raw_logits, ""), (dr_naive_softmax, "")])
def test_diayn_reward_mutants_rejected(mutant, fragment):
    assert_rejected("L17_diayn_reward", mutant, fragment)


# ---------------------------------------------------------------- loops: smoke and determinism

def test_diayn_small_run_separates_skills_and_is_deterministic():
    torch.set_num_threads(1)
    cfg = diayn.Config(n_rounds=12)
    a, b = diayn.train(cfg, seed=0), diayn.train(cfg, seed=0)
    assert np.array_equal(a.accuracy, b.accuracy) and np.allclose(a.logits, b.logits)
    d = diayn.skill_marginals(a.mdp, a.policies, cfg.horizon)
    assert np.allclose(d.sum(1), 1.0)
    acc, bayes = diayn.exact_accuracy(a.logits, d), diayn.bayes_accuracy(d)
    assert acc <= bayes + 1e-12 and acc > 0.6


def test_diayn_rollouts_match_exact_marginals():
    mdp, _ = gridworld(diayn.ROOM, slip=0.1)
    pi = np.random.default_rng(0).dirichlet(np.ones(4), size=(2, mdp.n_states))
    traj = diayn.rollouts(mdp, pi, 4000, 5, np.random.default_rng(1))
    emp = np.stack([np.bincount(traj[k, :, 1:].ravel(), minlength=mdp.n_states) / traj[k, :, 1:].size for k in range(2)])
    assert np.abs(emp - diayn.skill_marginals(mdp, pi, 5)).max() < 0.01


def test_skewfit_small_run_and_determinism():
    cfg = skewfit.Config(n_iters=10)
    a, b = skewfit.train(cfg, seed=1), skewfit.train(cfg, seed=1)
    assert np.array_equal(a.counts, b.counts)
    assert a.discovered[-1] >= a.discovered[0] and a.counts.sum() == 1 + 10 * cfg.episodes_per_iter * cfg.horizon
    mi, h_g, h_g_s = skewfit.goal_state_information(a.goal_dist, cfg)
    assert 0 <= mi <= h_g + 1e-12 and h_g_s >= -1e-12


def test_skewfit_final_state_distribution_matches_sampling():
    nxt, dist, start, _ = skewfit.maze()
    pi = skewfit.goal_policy(nxt, dist, 0.2)
    exact = skewfit.final_state_given_goal(nxt, pi, start, 10)
    rng, g = np.random.default_rng(0), 30
    s = np.full(20_000, start)
    for _ in range(10):
        a = (rng.random(len(s))[:, None] > np.cumsum(pi[g, s], -1)).sum(-1).clip(max=4)
        s = nxt[s, a]
    assert np.abs(np.bincount(s, minlength=len(nxt)) / len(s) - exact[g]).max() < 0.01
