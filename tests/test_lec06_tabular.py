"""Lecture 6 on exact tabular MDPs: performance difference lemma, TRPO's bound, state mismatch,
the Fisher matrix as the KL's Hessian, the natural gradient's invariance, dual gradient descent."""
import numpy as np
import pytest
import torch

from rlcourse_utils import tabular_pg as tp
from rlcourse_utils.envs import tabular

torch.set_num_threads(1)


def _pair(seed, scale):
    rng = np.random.default_rng(seed)
    mdp = tabular.random_mdp(4, 3, 0.9, seed=seed)
    theta = rng.normal(size=(4, 3))
    return mdp, theta, theta + scale * rng.normal(size=(4, 3))


@pytest.mark.parametrize("seed", range(5))
def test_performance_difference_lemma_is_exact(seed):
    mdp, th, th2 = _pair(seed, 1.0)
    diff = tabular.exact_objective(mdp, th2) - tabular.exact_objective(mdp, th)
    pi, pi2 = tabular.softmax_policy(th), tabular.softmax_policy(th2)
    assert np.isclose(tp.performance_difference(mdp, pi, pi2), diff, rtol=1e-10, atol=1e-12)
    # an independent formulation: the finite-horizon sum over every trajectory, weighted by p_θ'(τ)
    H = 4
    S, A = tabular.enumerate_trajectories(mdp, H)
    w = np.exp(tabular.trajectory_log_prob(mdp, th2, S, A))
    adv = tabular.advantage(mdp, pi)
    lemma_H = w @ (mdp.gamma ** np.arange(H) * adv[S, A]).sum(1)
    # telescoping over H steps: Σ_{t<H} γ^t E[A^π] = J_H(θ') - E[V^π(s_0)] + γ^H E_{p_θ'}[V^π(s_H)]
    V = tabular.policy_value(mdp, pi)
    marg = tp.state_marginals(mdp, pi2, H + 1)
    lhs = tabular.exact_objective(mdp, th2, horizon=H) - mdp.mu0 @ V + mdp.gamma ** H * marg[H] @ V
    assert np.isclose(lemma_H, lhs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed, scale", [(s, sc) for s in range(4) for sc in (0.01, 0.1, 1.0)])
def test_trpo_lower_bound_and_state_mismatch_bound_hold(seed, scale):
    mdp, th, th2 = _pair(seed, scale)
    pi, pi2 = tabular.softmax_policy(th), tabular.softmax_policy(th2)
    diff = tabular.exact_objective(mdp, th2) - tabular.exact_objective(mdp, th)
    assert diff >= tp.surrogate(mdp, pi, pi2) - tp.trpo_penalty(mdp, pi, pi2) - 1e-12
    alpha, t = tp.max_tv(pi, pi2), np.arange(30)
    l1 = np.abs(tp.state_marginals(mdp, pi, 30) - tp.state_marginals(mdp, pi2, 30)).sum(1)
    assert np.all(l1 <= 2 * (1 - (1 - alpha) ** t) + 1e-12) and np.all(l1 <= 2 * alpha * t + 1e-12)


def test_surrogate_matches_the_objective_to_first_order():
    mdp, th, _ = _pair(7, 0.0)
    d = np.random.default_rng(0).normal(size=th.shape)
    pi = tabular.softmax_policy(th)
    errs = [abs(tabular.exact_objective(mdp, th + h * d) - tabular.exact_objective(mdp, th)
                - tp.surrogate(mdp, pi, tabular.softmax_policy(th + h * d))) for h in (1e-2, 1e-3)]
    assert errs[1] < errs[0] / 50  # second-order error: shrinks ~100× for a 10× smaller step


def test_fisher_matrix_is_the_hessian_of_the_mean_kl():
    mdp, th, _ = _pair(8, 0.0)
    rho = tp.state_weights(mdp, tabular.softmax_policy(th))
    old = torch.as_tensor(th)
    H = torch.autograd.functional.hessian(lambda x: tp.mean_kl(old, x.reshape(th.shape), torch.as_tensor(rho)),
                                          old.reshape(-1).clone())
    np.testing.assert_allclose(H.numpy(), tp.fisher_matrix(th, rho), atol=1e-12)
    np.testing.assert_allclose(rho.sum(), 1.0)


def test_natural_gradient_is_invariant_to_scaling_and_vanilla_is_not():
    mdp = tabular.random_mdp(5, 3, 0.9, seed=0)
    c = np.repeat(10.0 ** np.linspace(-1, 1, 5), 3).reshape(5, 3)[[3, 0, 4, 1, 2]]
    nat1, natc = (tp.gradient_ascent(mdp, s, 10, True, 0.02) for s in (np.ones_like(c), c))
    van1, vanc = (tp.gradient_ascent(mdp, s, 10, False, 0.02) for s in (np.ones_like(c), c))
    np.testing.assert_allclose(nat1.J, natc.J, atol=1e-9)
    assert abs(van1.J[-1] - vanc.J[-1]) > 0.5
    np.testing.assert_allclose(nat1.kl[:3], 0.02, rtol=0.2)  # the quadratic model's KL is close to measured


def test_dual_gradient_descent_meets_the_kl_constraint():
    mdp, th, _ = _pair(0, 0.0)
    run = tp.dual_gradient_descent(mdp, th, epsilon=0.01)
    assert abs(run.kl[-1] - 0.01) < 1e-3 and run.lam[-1] > 0 and run.surrogate[-1] > 0
    assert tabular.exact_objective(mdp, run.theta_new) > tabular.exact_objective(mdp, th)


@pytest.mark.parametrize("seed, scale", [(s, sc) for s in range(4) for sc in (0.01, 0.3, 3.0)])
def test_each_step_from_the_per_state_mismatch_to_the_alpha_squared_bound(seed, scale):
    mdp, th, th2 = _pair(seed, scale)
    pi, pi2 = tabular.softmax_policy(th), tabular.softmax_policy(th2)
    A, A_bar = tabular.advantage(mdp, pi), tp.expected_advantage(mdp, pi, pi2)
    np.testing.assert_allclose((pi * A).sum(-1), 0, atol=1e-12)  # E_{a~π}[A^π] = 0
    tv = 0.5 * np.abs(pi2 - pi).sum(-1)
    assert np.all(np.abs(A_bar) <= 2 * tv * np.abs(A).max(1) + 1e-12)  # per state
    error = (tabular.exact_objective(mdp, th2) - tabular.exact_objective(mdp, th) - tp.surrogate(mdp, pi, pi2))
    d_gap = tabular.discounted_visitation(mdp, pi2) - tabular.discounted_visitation(mdp, pi)
    assert np.isclose(error, d_gap @ A_bar, rtol=1e-8, atol=1e-13)  # exact
    alpha, eps = tp.max_tv(pi, pi2), np.abs(A).max()
    bound = tp.mismatch_bound(alpha, eps, mdp.gamma)
    assert abs(error) <= np.abs(d_gap).sum() * np.abs(A_bar).max() + 1e-12 <= bound + 1e-12
    assert bound <= tp.trpo_penalty(mdp, pi, pi2) + 1e-12
    # the closed form of the time sum
    t = np.arange(3000)
    assert np.isclose(bound, (mdp.gamma ** t * 2 * (1 - (1 - alpha) ** t) * 2 * alpha * eps).sum())


def test_the_coupling_bound_is_attained_on_the_escape_mdp():
    mdp = tp.escape_mdp()
    stay, escape = np.array([[1.0, 0.0]] * 2), np.array([[0.7, 0.3]] * 2)
    l1 = np.abs(tp.state_marginals(mdp, escape, 20) - tp.state_marginals(mdp, stay, 20)).sum(1)
    np.testing.assert_allclose(l1, 2 * (1 - 0.7 ** np.arange(20)), atol=1e-12)
    assert tp.max_tv(stay, escape) == pytest.approx(0.3)


def test_dual_gradient_descent_matches_scipy_on_the_constrained_problem():
    mdp, th, _ = _pair(0, 0.0)
    run = tp.dual_gradient_descent(mdp, th, epsilon=0.01)
    th_star, surr_star, lam_star = tp.kl_constrained_optimum(mdp, th, 0.01)
    rho = tp.state_weights(mdp, tabular.softmax_policy(th))
    assert rho @ tp.state_kl(tabular.softmax_policy(th), tabular.softmax_policy(th_star)) == pytest.approx(0.01, rel=1e-6)
    assert run.surrogate[-1] == pytest.approx(surr_star, rel=0.01) and run.lam[-1] == pytest.approx(lam_star, rel=0.05)
