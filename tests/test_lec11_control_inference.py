"""Lecture 11 math against independent oracles, checker mutants, and smoke/determinism tests of the loops."""
import dataclasses

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from rlcourse_utils import checks, dp, soft_rl
from rlcourse_utils.algos import sac, soft_q
from rlcourse_utils.checks import core
from rlcourse_utils.envs import gridworld, tabular
from mutants import assert_rejected

LEC11 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "11"]


def test_four_exercises_are_registered():
    assert {ex.id for ex in LEC11} == {"L11_soft_value", "L11_soft_backward_pass", "L11_sac_targets",
                                       "L11_sac_temperature_loss"}


# ---------------------------------------------------------------- math against oracles

@pytest.mark.parametrize("alpha", [1e-3, 0.3, 1.0, 7.0])
def test_soft_value_is_scipy_logsumexp_and_within_its_bounds(alpha):
    Q = np.random.default_rng(0).normal(0, 5, (6, 4))
    V = soft_rl.soft_value(Q, alpha)
    np.testing.assert_allclose(V, alpha * logsumexp(Q / alpha, -1), rtol=1e-12)
    assert np.all(V >= Q.max(-1)) and np.all(V <= Q.max(-1) + alpha * np.log(4) + 1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_messages_in_probability_and_log_space_match_enumeration(seed):
    m = tabular.random_mdp(3, 2, seed=seed)
    H = 4
    beta_sa, beta_s = soft_rl.backward_messages(m.P, m.R, H)
    Q, V = soft_rl.inference_backward_pass(m.P, m.R, H)
    np.testing.assert_allclose(np.log(beta_sa), Q, atol=1e-12)
    np.testing.assert_allclose(np.log(beta_s), V, atol=1e-12)
    states, actions, w = soft_rl.enumerate_posterior(m.P, m.R, m.mu0, H)
    for t in range(H):
        joint = np.zeros((3, 2))
        np.add.at(joint, (states[:, t], actions[:, t]), w)
        np.testing.assert_allclose(joint / joint.sum(1, keepdims=True), np.exp(Q[t] - V[t][:, None]), atol=1e-12)
        np.testing.assert_allclose(joint.sum(1), soft_rl.posterior_state_marginals(m.P, m.R, m.mu0, H)[t], atol=1e-12)
    # log p(O) = log Σ_s p(s_0) β_0(s) is the enumeration's normaliser (up to the uniform-prior constant)
    K = np.exp(m.R[states, actions].sum(1)) * m.mu0[states[:, 0]] * m.P[states[:, :-1], actions[:, :-1], states[:, 1:]].prod(1)
    np.testing.assert_allclose(m.mu0 @ beta_s[0], K.sum(), rtol=1e-12)


def test_posterior_transition_matches_enumeration_and_is_optimistic():
    P, R, mu0 = soft_rl.lottery_mdp()
    post = soft_rl.posterior_transition(P, R, 3)
    s, a, w = soft_rl.enumerate_posterior(P, R, mu0, 3)
    g = (s[:, 0] == 0) & (a[:, 0] == 1)
    assert np.isclose(post[0, 0, 1, 1], w[g & (s[:, 1] == 1)].sum() / w[g].sum(), atol=1e-12)
    assert post[0, 0, 1, 1] > 0.99 and P[0, 1, 1] == 0.1


@pytest.mark.parametrize("alpha", [0.3, 1.0])
def test_variational_policy_maximises_the_soft_objective(alpha):
    m = tabular.random_mdp(4, 3, seed=7)
    Q, V = soft_rl.soft_backward_pass(m.P, m.R, 5, alpha)
    pi = soft_rl.soft_policy(Q, alpha)
    J = soft_rl.soft_objective(m.P, m.R, m.mu0, pi, alpha)
    assert np.isclose(J, m.mu0 @ V[0], atol=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(200):
        other = soft_rl.soft_policy(Q / alpha + 0.5 * rng.normal(size=Q.shape))
        assert soft_rl.soft_objective(m.P, m.R, m.mu0, other, alpha) < J


def test_deterministic_dynamics_make_both_backups_agree_and_stochastic_ones_do_not():
    m = tabular.random_mdp(3, 2, seed=4)
    P_det = np.eye(3)[np.random.default_rng(0).integers(0, 3, (3, 2))]
    np.testing.assert_allclose(soft_rl.soft_backward_pass(P_det, m.R, 4)[0],
                               soft_rl.inference_backward_pass(P_det, m.R, 4)[0], atol=1e-12)
    gap = np.abs(soft_rl.soft_backward_pass(m.P, m.R, 4)[0] - soft_rl.inference_backward_pass(m.P, m.R, 4)[0]).max()
    assert gap > 1e-2


def test_soft_policy_gradient_by_enumeration_is_autograd():
    m = tabular.random_mdp(3, 2, seed=5)
    theta = np.random.default_rng(1).normal(size=(3, 3, 2))
    logits = torch.tensor(theta, requires_grad=True)
    soft_rl.soft_objective_torch(*(torch.tensor(x) for x in (m.P, m.R, m.mu0)), logits, 0.7).backward()
    np.testing.assert_allclose(soft_rl.soft_policy_gradient_by_enumeration(m.P, m.R, m.mu0, theta, 0.7),
                               logits.grad.numpy(), atol=1e-12)


def test_soft_q_iteration_fixed_point_is_its_policy_value_and_tends_to_q_star():
    grid, _ = gridworld.gridworld()
    term = np.zeros(grid.n_states, dtype=bool)
    term[-1] = True
    Q = soft_rl.soft_q_iteration(grid.P, grid.R, 0.9, 0.1, 500, term)
    V = soft_rl.soft_policy_value(grid.P, grid.R, soft_rl.soft_policy(Q, 0.1), 0.9, 0.1, term)
    np.testing.assert_allclose(V, soft_rl.soft_value(Q, 0.1) * ~term, atol=1e-10)
    np.testing.assert_allclose(soft_rl.soft_q_iteration(grid.P, grid.R, 0.9, 1e-6, 500, term),
                               dp.q_iteration(grid.P, grid.R, 0.9, 500), atol=1e-4)


def test_soft_q_targets_reduce_to_dqn_targets_as_alpha_goes_to_zero():
    rng = np.random.default_rng(0)
    r, q, term = rng.normal(size=8), rng.normal(size=(8, 3)), rng.random(8) < 0.3
    trunc = np.zeros(8, dtype=bool)
    from rlcourse_utils import q_learning
    np.testing.assert_allclose(soft_rl.soft_q_targets(r, q, term, trunc, 0.9, 1e-8),
                               q_learning.dqn_targets(r, q, term, trunc, 0.9), atol=1e-7)


def test_tanh_gaussian_log_prob_matches_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    mean, log_std = torch.randn(64, 2, generator=gen), torch.randn(64, 2, generator=gen) * 0.5
    u = mean + 3 * log_std.exp() * torch.randn(64, 2, generator=gen)
    dist = torch.distributions.TransformedDistribution(
        torch.distributions.Normal(mean, log_std.exp()),
        [torch.distributions.TanhTransform(), torch.distributions.AffineTransform(0.0, 2.0)])
    a = (2 * torch.tanh(u)).clamp(-2 + 1e-6, 2 - 1e-6)
    ok = u.abs().max(-1).values < 4  # where tanh is not saturated in float32, the two must agree
    np.testing.assert_allclose(soft_rl.tanh_gaussian_log_prob(u, mean, log_std, 2.0)[ok].numpy(),
                               dist.log_prob(a).sum(-1)[ok].numpy(), atol=1e-3)


# ---------------------------------------------------------------- checker mutants

def sv_no_alpha_outside(Q, alpha=1.0):
    return logsumexp(np.asarray(Q) / alpha, -1)


def sv_unstable(Q, alpha=1.0):
    with np.errstate(over="ignore"):
        return alpha * np.log(np.exp(np.asarray(Q, dtype=np.float64) / alpha).sum(-1))


def sv_hard_max(Q, alpha=1.0):
    return np.asarray(Q).max(-1)


def sv_log_mean_exp(Q, alpha=1.0):
    return alpha * (logsumexp(np.asarray(Q) / alpha, -1) - np.log(np.shape(Q)[-1]))


def sv_axis0(Q, alpha=1.0):
    return alpha * logsumexp(np.asarray(Q) / alpha, 0)


@pytest.mark.parametrize("mutant,fragment", [(sv_no_alpha_outside, "α log 4"), (sv_unstable, "overflow"),
                                             (sv_hard_max, "log 4"), (sv_log_mean_exp, "log 4"),
                                             (sv_axis0, "LAST axis")])
def test_soft_value_mutants_are_rejected(mutant, fragment):
    assert_rejected("L11_soft_value", mutant, fragment)


def bp_optimistic(P, R, horizon, alpha=1.0):
    Q, V = np.zeros((horizon, *R.shape)), np.zeros((horizon + 1, R.shape[0]))
    for t in reversed(range(horizon)):
        Q[t] = R + alpha * np.log(P @ np.exp(V[t + 1] / alpha))  # log E exp: exact inference
        V[t] = alpha * logsumexp(Q[t] / alpha, -1)
    return Q, V


def bp_hard_max(P, R, horizon, alpha=1.0):
    Q, V = np.zeros((horizon, *R.shape)), np.zeros((horizon + 1, R.shape[0]))
    for t in reversed(range(horizon)):
        Q[t] = R + P @ V[t + 1]
        V[t] = Q[t].max(-1)
    return Q, V


def bp_no_alpha(P, R, horizon, alpha=1.0):
    Q, V = np.zeros((horizon, *R.shape)), np.zeros((horizon + 1, R.shape[0]))
    for t in reversed(range(horizon)):
        Q[t] = R + P @ V[t + 1]
        V[t] = logsumexp(Q[t], -1)
    return Q, V


def bp_unstable(P, R, horizon, alpha=1.0):
    Q, V = np.zeros((horizon, *R.shape)), np.zeros((horizon + 1, R.shape[0]))
    for t in reversed(range(horizon)):
        Q[t] = R + P @ V[t + 1]
        with np.errstate(over="ignore"):
            V[t] = alpha * np.log(np.exp(Q[t] / alpha).sum(-1))
    return Q, V


def bp_v_without_terminal_row(P, R, horizon, alpha=1.0):
    Q, V = bp_no_alpha(P, R, horizon, 1.0) if alpha == 1.0 else soft_rl.soft_backward_pass(P, R, horizon, alpha)
    return Q, V[:horizon]


@pytest.mark.parametrize("mutant,fragment", [(bp_optimistic, "stochastic transitions"), (bp_hard_max, "H = 1"),
                                             (bp_no_alpha, "α = 0.5"), (bp_unstable, "overflow"),
                                             (bp_v_without_terminal_row, "item 1")])
def test_backward_pass_mutants_are_rejected(mutant, fragment):
    assert_rejected("L11_soft_backward_pass", mutant, fragment)


def sac_max_critic(r, q, logp, term, trunc, gamma, alpha):
    return r + gamma * (1.0 - term) * (np.max(q, 0) - alpha * logp)


def sac_plus_entropy_sign(r, q, logp, term, trunc, gamma, alpha):
    return r + gamma * (1.0 - term) * (np.min(q, 0) + alpha * logp)


def sac_done_mask(r, q, logp, term, trunc, gamma, alpha):
    return r + gamma * (1.0 - (term | trunc)) * (np.min(q, 0) - alpha * logp)


def sac_no_entropy(r, q, logp, term, trunc, gamma, alpha):
    return r + gamma * (1.0 - term) * np.min(q, 0)


def sac_mean_critic(r, q, logp, term, trunc, gamma, alpha):
    return r + gamma * (1.0 - term) * (np.mean(q, 0) - alpha * logp)


@pytest.mark.parametrize("mutant,fragment", [(sac_max_critic, "min"), (sac_plus_entropy_sign, "minus α log π"),
                                             (sac_done_mask, "truncated"), (sac_no_entropy, "minus α log π"),
                                             (sac_mean_critic, "min")])
def test_sac_target_mutants_are_rejected(mutant, fragment):
    assert_rejected("L11_sac_targets", mutant, fragment)


def temp_no_detach(log_alpha, log_prob, target_entropy):
    return -(log_alpha * (log_prob + target_entropy)).mean()


def temp_sign(log_alpha, log_prob, target_entropy):
    return (log_alpha * (log_prob.detach() + target_entropy)).mean()


def temp_alpha_not_log(log_alpha, log_prob, target_entropy):
    return -(log_alpha.exp() * (log_prob.detach() + target_entropy)).mean()


def temp_target_sign(log_alpha, log_prob, target_entropy):
    return -(log_alpha * (log_prob.detach() - target_entropy)).mean()


@pytest.mark.parametrize("mutant,fragment", [(temp_no_detach, "gradient"), (temp_sign, "log α"),
                                             (temp_alpha_not_log, "log α"), (temp_target_sign, "H̄")])
def test_temperature_loss_mutants_are_rejected(mutant, fragment):
    assert_rejected("L11_sac_temperature_loss", mutant, fragment)


# ---------------------------------------------------------------- loops: smoke and determinism

def _grid():
    grid, _ = gridworld.gridworld()
    term = np.zeros(grid.n_states, dtype=bool)
    term[-1] = True
    return grid, term


def test_soft_q_loop_converges_to_its_fixed_point_and_is_deterministic():
    grid, term = _grid()
    cfg = soft_q.Config(alpha=0.05, total_steps=16_000)
    a, b = soft_q.train(grid, term, cfg, seed=0), soft_q.train(grid, term, cfg, seed=0)
    np.testing.assert_array_equal(a.Q, b.Q)
    assert a.q_error[-1] < 0.05 < a.q_error[0]
    d = soft_q.train(grid, term, dataclasses.replace(cfg, soft=False), seed=0)
    assert np.abs(d.Q - dp.q_iteration(grid.P, grid.R, 0.9, 500))[~term].mean() < 0.05


def test_sac_smoke_and_determinism():
    cfg = sac.Config(total_steps=400, learning_starts=200, eval_every=400, eval_episodes=2, batch_size=32)
    a, b = sac.train(cfg, seed=0), sac.train(cfg, seed=0)
    np.testing.assert_array_equal(a.alpha, b.alpha)
    np.testing.assert_array_equal(a.eval_return, b.eval_return)
    assert len(a.alpha) == 200 and np.all(np.isfinite(a.q_mean)) and a.alpha[-1] < 1.0
