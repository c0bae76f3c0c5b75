"""Lecture 2 math: hand-computed values and independent formulations (exact enumeration, autograd)."""
import numpy as np
import torch

from rlcourse_utils import policy_gradient, returns
from rlcourse_utils.envs import tabular


def test_reward_to_go_by_hand_and_by_matrix():
    np.testing.assert_allclose(returns.reward_to_go(np.array([1.0, 2.0, 3.0]), 0.5), [2.75, 3.5, 3.0])
    rng = np.random.default_rng(0)
    r, g = rng.normal(size=(7, 3)), 0.9
    upper = np.triu(g ** (np.arange(7)[None, :] - np.arange(7)[:, None]))  # upper[t, t'] = γ^{t'-t}, t' ≥ t
    np.testing.assert_allclose(returns.reward_to_go(r, g), upper @ r)
    np.testing.assert_allclose(returns.reward_to_go(r, g)[0], returns.discounted_return(r, g))


def test_reward_to_go_episode_ends_equal_separate_episodes():
    r = np.arange(1.0, 6.0)
    ends = np.array([False, True, False, False, True])
    out = returns.reward_to_go(r, 0.7, ends)
    np.testing.assert_allclose(out[:2], returns.reward_to_go(r[:2], 0.7))
    np.testing.assert_allclose(out[2:], returns.reward_to_go(r[2:], 0.7))


def test_pseudo_loss_gradient_is_the_policy_gradient_estimate():
    theta = torch.zeros(3, requires_grad=True)
    actions = torch.tensor([[0, 2], [1, 1]])
    A = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    lp = torch.log_softmax(theta, 0)[actions]
    policy_gradient.pg_pseudo_loss(lp, A).backward()
    pi = torch.full((3,), 1 / 3)
    g = sum(A[t, i] * (torch.nn.functional.one_hot(actions[t, i], 3) - pi) for t in range(2) for i in range(2)) / 2
    torch.testing.assert_close(-theta.grad, g)


def test_importance_weights_match_probability_ratios():
    rng = np.random.default_rng(1)
    p_new, p_old = rng.uniform(0.1, 1, (5, 2)), rng.uniform(0.1, 1, (5, 2))
    w = policy_gradient.importance_weights(torch.tensor(np.log(p_new)), torch.tensor(np.log(p_old))).numpy()
    np.testing.assert_allclose(w, np.cumprod(p_new / p_old, 0))


def test_optimal_baseline_minimises_variance():
    rng = np.random.default_rng(2)
    g = rng.normal(size=(4000, 1))
    r = 3 + 2 * g[:, 0] ** 2 + rng.normal(size=4000)
    b = policy_gradient.optimal_baseline(g, r)[0]
    var = lambda c: np.var(g[:, 0] * (r - c))  # noqa: E731
    assert var(b) <= min(var(b - 0.3), var(b + 0.3), var(r.mean()))


def test_tabular_values_agree_across_formulations():
    mdp = tabular.random_mdp(4, 3, 0.8, seed=3)
    theta = np.random.default_rng(3).normal(size=(4, 3))
    pi = tabular.softmax_policy(theta)
    V, Q = tabular.policy_value(mdp, pi), tabular.q_value(mdp, pi)
    np.testing.assert_allclose((pi * Q).sum(1), V)
    np.testing.assert_allclose(tabular.exact_gradient(mdp, theta), tabular.policy_gradient_theorem(mdp, theta))
    np.testing.assert_allclose(tabular.discounted_visitation(mdp, pi).sum(), 1 / (1 - mdp.gamma))
    # finite horizon: exact enumeration of trajectories equals backward recursion
    H = 3
    S, A = tabular.enumerate_trajectories(mdp, H)
    p = np.exp(tabular.trajectory_log_prob(mdp, theta, S, A))
    np.testing.assert_allclose(p.sum(), 1.0)
    G = (mdp.R[S, A] * mdp.gamma ** np.arange(H)).sum(1)
    np.testing.assert_allclose(p @ G, tabular.exact_objective(mdp, theta, H))


def test_sampled_trajectories_follow_the_policy():
    mdp = tabular.two_state_mdp()
    theta = np.array([[1.0, 0.0], [0.0, 0.0]])
    S, A, R = tabular.sample_trajectories(mdp, theta, 20000, 4, np.random.default_rng(4))
    freq = (A[S == 0] == 0).mean()
    assert abs(freq - tabular.softmax_policy(theta)[0, 0]) < 0.01
    np.testing.assert_array_equal(R, mdp.R[S, A])
    assert abs((S[0] == 0).mean() - mdp.mu0[0]) < 0.015


def test_sampling_from_a_fixed_start_estimates_q():
    mdp = tabular.two_state_mdp(0.8)
    theta = np.array([[0.3, -0.2], [0.5, 0.1]])
    Q = tabular.q_value(mdp, tabular.softmax_policy(theta))
    S, A, R = tabular.sample_trajectories(mdp, theta, 4000, 100, np.random.default_rng(5), start=(1, 0))
    assert np.all(S[0] == 1) and np.all(A[0] == 0)
    G = mdp.gamma ** np.arange(100) @ R
    assert abs(G.mean() - Q[1, 0]) < 4 * G.std() / np.sqrt(len(G))


def _step_scores(theta, S, A):
    """∇_θ log π_θ(a_t|s_t) for softmax logits, every step: (K, H) → (H, K, S, A)."""
    pi, K = tabular.softmax_policy(theta), len(S)
    out = np.zeros((S.shape[1], K, *theta.shape))
    for t in range(S.shape[1]):
        out[t, np.arange(K), S[:, t]] = np.eye(theta.shape[1])[A[:, t]] - pi[S[:, t]]
    return out


def test_off_policy_gradient_with_ratios_up_to_each_reward_is_exact():
    """Σ_t ∇log π_θ'(a_t|s_t) Σ_{t'≥t} w_t' γ^{t'} r_t' under p_θ has mean ∇J(θ'); dropping the future ratios does not."""
    mdp = tabular.random_mdp(3, 2, 0.9, seed=4)
    rng = np.random.default_rng(4)
    theta, theta_new = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    H = 3
    S, A = tabular.enumerate_trajectories(mdp, H)
    p = np.exp(tabular.trajectory_log_prob(mdp, theta, S, A))  # (K,) under the data policy
    lp = lambda th: torch.log_softmax(torch.tensor(th), -1)[S, A].T  # noqa: E731  (H, K)
    w = policy_gradient.importance_weights(lp(theta_new), lp(theta)).numpy()  # (H, K)
    r = mdp.R[S, A].T * mdp.gamma ** np.arange(H)[:, None]  # (H, K) γ^t r_t
    scores = _step_scores(theta_new, S, A)
    exact = np.einsum("k,tk,tksa->sa", p, returns.reward_to_go(w * r, 1.0), scores)
    first_order = np.einsum("k,tk,tksa->sa", p, w * returns.reward_to_go(r, 1.0), scores)
    truth = tabular.exact_gradient(mdp, theta_new, H)
    np.testing.assert_allclose(exact, truth, atol=1e-12)
    assert np.abs(first_order - truth).max() > 1e-2
