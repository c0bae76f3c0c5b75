"""Lecture 12 math against independent oracles (enumeration, autograd, torch's BCE, Monte Carlo), and smoke and
determinism tests of the MaxEnt IRL and GAIL loops and of PPO's reward hook."""
import dataclasses

import numpy as np
import torch

from rlcourse_utils import irl, soft_rl
from rlcourse_utils.algos import gail, maxent_irl, ppo
from rlcourse_utils.envs import gridworld, tabular

torch.set_num_threads(1)


def _enumerated_marginals(P, R, mu0, H):
    s, a, p, log_Z = irl.enumerate_with_partition(P, R, mu0, H)
    mu = np.zeros((H, *R.shape))
    for t in range(H):
        np.add.at(mu[t], (s[:, t], a[:, t]), p)
    return mu, log_Z


def test_forward_backward_marginals_equal_enumeration_with_stochastic_dynamics():
    for seed, (S, A, H) in enumerate([(3, 2, 3), (2, 3, 4), (4, 2, 2)]):
        m = tabular.random_mdp(S, A, seed=seed)
        R = np.random.default_rng(seed).normal(size=(S, A)) * 2
        Q, V = soft_rl.inference_backward_pass(m.P, R, H)
        mu_enum, log_Z = _enumerated_marginals(m.P, R, m.mu0, H)
        np.testing.assert_allclose(irl.visitation_frequencies(m.P, R, m.mu0, Q), mu_enum, atol=1e-12)
        assert abs(log_Z - np.log(m.mu0 @ np.exp(V[0]))) < 1e-10
        R_t = torch.as_tensor(R)
        assert abs(log_Z - irl.log_partition_torch(torch.as_tensor(m.P), R_t, torch.as_tensor(m.mu0), H).item()) < 1e-10


def test_with_deterministic_dynamics_the_posterior_policy_rollout_is_exact():
    grid, _ = gridworld.gridworld((".G", "S."), slip=0.0)
    R = np.random.default_rng(0).normal(size=grid.R.shape)
    Q, _ = soft_rl.inference_backward_pass(grid.P, R, 4)
    np.testing.assert_allclose(irl.visitation_frequencies(grid.P, R, grid.mu0, Q),
                               irl.policy_visitation(grid.P, soft_rl.soft_policy(Q), grid.mu0), atol=1e-12)


def test_gradient_equals_autograd_of_the_exact_log_likelihood():
    m = tabular.random_mdp(3, 2, seed=5)
    rng = np.random.default_rng(5)
    H, K = 3, 4
    F = rng.normal(size=(3, 2, K))
    psi = rng.normal(size=K)
    s, a = rng.integers(3, size=(6, H)), rng.integers(2, size=(6, H))
    R = F @ psi
    mu = irl.visitation_frequencies(m.P, R, m.mu0, soft_rl.inference_backward_pass(m.P, R, H)[0])
    psi_t = torch.tensor(psi, requires_grad=True)
    R_t = torch.as_tensor(F) @ psi_t
    (R_t[s, a].sum(1).mean() - irl.log_partition_torch(torch.as_tensor(m.P), R_t, torch.as_tensor(m.mu0), H)).backward()
    np.testing.assert_allclose(irl.maxent_irl_gradient(F, s, a, mu), psi_t.grad.numpy(), atol=1e-10)


def test_importance_sampled_partition_and_counts_fall_in_their_intervals():
    m = tabular.random_mdp(3, 2, seed=7)
    R = np.random.default_rng(7).normal(size=(3, 2))
    H = 3
    mu, log_Z = _enumerated_marginals(m.P, R, m.mu0, H)
    pi = np.full((H, 3, 2), 0.5)
    s, a = irl.sample_trajectories(m.P, pi, m.mu0, 5000, np.random.default_rng(0))
    log_w = irl.importance_log_weights(R[s, a], np.log(pi[np.arange(H), s, a]))
    Z_hat, lo, hi = irl.partition_estimate(log_w)
    assert lo <= np.exp(log_Z) <= hi and hi - lo < 0.2 * np.exp(log_Z)
    est, half, ess = irl.self_normalised_mean(log_w, R[s, a].sum(1)[:, None])
    assert abs(est[0] - (mu * R).sum()) <= half[0] and 1 < ess <= 5000


def test_discriminator_loss_equals_torchs_binary_cross_entropy():
    e, p = torch.randn(7, dtype=torch.float64) * 5, torch.randn(3, dtype=torch.float64) * 5
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    want = bce(e, torch.ones(7, dtype=torch.float64)) + bce(p, torch.zeros(3, dtype=torch.float64))
    assert torch.isclose(irl.gail_discriminator_loss(e, p), want)


def test_tabular_bc_copies_frequencies_and_is_uniform_where_no_data():
    pi = irl.tabular_bc(np.array([[0, 0, 1]]), np.array([[1, 1, 0]]), 3, 2)
    np.testing.assert_allclose(pi, [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])


def _small_irl():
    grid, _ = gridworld.gridworld((".G", "S."), slip=0.0)
    pi = soft_rl.soft_policy(soft_rl.inference_backward_pass(grid.P, 5 * grid.R, 4)[0])
    s, a = irl.sample_trajectories(grid.P, pi, grid.mu0, 10, np.random.default_rng(0))
    return grid, s, a


def test_maxent_irl_likelihood_rises_and_counts_approach_the_expert_and_repeat():
    grid, s, a = _small_irl()
    cfg = maxent_irl.Config(horizon=4, n_iters=200, lr=0.1, l2=1e-3)
    r1 = maxent_irl.train(cfg, grid.P, grid.P, grid.mu0, s, a)
    r2 = maxent_irl.train(cfg, grid.P, grid.P, grid.mu0, s, a)
    assert np.all(np.diff(r1.log_likelihood) > -1e-9) and r1.count_gap[-1] < 0.1 * r1.count_gap[0]
    np.testing.assert_array_equal(r1.psi, r2.psi)


def test_ppo_reward_hook_is_behaviour_preserving():
    cfg = dataclasses.replace(ppo.Config(), n_envs=4, n_steps=32, total_steps=4 * 32 * 3, stop_at=None)
    plain = ppo.train(cfg, seed=0)
    hooked = ppo.train(cfg, seed=0, reward_fn=lambda batch: batch.rewards.copy())
    np.testing.assert_array_equal(plain.kl, hooked.kl)
    np.testing.assert_array_equal(plain.mean_return, hooked.mean_return)


def test_gail_smoke_and_determinism():
    cfg = gail.Config(n_demos=1, ppo=ppo.Config(n_envs=4, n_steps=32, total_steps=4 * 32 * 3, stop_at=None),
                      eval_episodes=2)
    r1, r2 = gail.train(cfg, seed=0), gail.train(cfg, seed=0)
    assert len(r1.d_expert) == 3 and np.all((r1.d_policy > 0) & (r1.d_policy < 1))
    np.testing.assert_array_equal(r1.d_expert, r2.d_expert)
    np.testing.assert_array_equal(r1.eval_returns, r2.eval_returns)
