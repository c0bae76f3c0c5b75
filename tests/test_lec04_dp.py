"""Lecture 4 math: dynamic programming against an exact linear solve and scipy's LP; gridworld; fitted Q."""
import numpy as np
import pytest
from scipy.optimize import linprog

from rlcourse_utils import dp
from rlcourse_utils.algos import fitted_q
from rlcourse_utils.envs import gridworld, tabular


def lp_v_star(P, R, gamma):
    """V* as the LP min Σ_s V(s) s.t. V(s) ≥ r(s,a) + γ Σ_s' p(s'|s,a) V(s') — independent of any iteration."""
    S, A = R.shape
    A_ub = (gamma * P - np.eye(S)[:, None, :]).reshape(S * A, S)
    res = linprog(np.ones(S), A_ub=A_ub, b_ub=-R.reshape(-1), bounds=[(None, None)] * S, method="highs")
    assert res.status == 0
    return res.x


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vi_pi_qi_agree_with_lp(seed):
    m = tabular.random_mdp(6, 3, 0.9, seed=seed)
    v_lp = lp_v_star(m.P, m.R, m.gamma)
    np.testing.assert_allclose(dp.value_iteration(m.P, m.R, m.gamma, 400), v_lp, atol=1e-7)
    pi, V, _ = dp.policy_iteration(m.P, m.R, m.gamma)
    np.testing.assert_allclose(V, v_lp, atol=1e-7)
    np.testing.assert_allclose(tabular.policy_value(m, pi), v_lp, atol=1e-7)
    np.testing.assert_allclose(dp.q_iteration(m.P, m.R, m.gamma, 400).max(-1), v_lp, atol=1e-7)


def test_gridworld_optimum_and_structure():
    mdp, cells = gridworld.gridworld()
    assert np.allclose(mdp.P.sum(-1), 1)
    v_lp = lp_v_star(mdp.P, mdp.R, mdp.gamma)
    pi, V, _ = dp.policy_iteration(mdp.P, mdp.R, mdp.gamma)
    np.testing.assert_allclose(V, v_lp, atol=1e-8)
    assert V[-1] == pytest.approx(0) and 0 < V[mdp.mu0.argmax()] < 1


def test_contraction_and_hand_values():
    m = tabular.random_mdp(5, 3, 0.8, seed=3)
    rng = np.random.default_rng(0)
    for _ in range(200):
        u, v = rng.normal(0, 10, (2, 5))
        lhs = np.abs(dp.bellman_optimality_backup(u, m.P, m.R, m.gamma) - dp.bellman_optimality_backup(v, m.P, m.R, m.gamma)).max()
        assert lhs <= m.gamma * np.abs(u - v).max() + 1e-12
    pi = tabular.softmax_policy(rng.normal(size=(5, 3)))
    np.testing.assert_allclose(dp.policy_evaluation(m.P, m.R, pi, m.gamma, 300), tabular.policy_value(m, pi), atol=1e-10)
    np.testing.assert_allclose(dp.policy_evaluation_exact(m.P, m.R, pi, m.gamma), tabular.policy_value(m, pi))


def test_exploration_probs():
    np.testing.assert_allclose(dp.epsilon_greedy_probs(np.array([1.0, 3.0, 2.0]), 0.3), [0.1, 0.8, 0.1])
    q = np.array([0.0, np.log(2.0)])
    np.testing.assert_allclose(dp.boltzmann_probs(q, 1.0), [1 / 3, 2 / 3])
    np.testing.assert_allclose(dp.boltzmann_probs(q, 1e-6), [0, 1], atol=1e-12)
    np.testing.assert_allclose(dp.boltzmann_probs(np.array([1000.0, 0.0]), 1.0), [1, 0])


def test_fitted_q_tabular_features_and_divergence():
    mdp, _ = gridworld.gridworld()
    q_star = dp.q_iteration(mdp.P, mdp.R, mdp.gamma, 400)
    S, A = mdp.R.shape
    res = fitted_q.train(mdp, np.eye(S * A).reshape(S, A, S * A), fitted_q.Config(n_samples=20000), q_star=q_star)
    assert res.q_error[-1] < 0.1
    w = fitted_q.tsitsiklis_van_roy(0.9, 20)
    np.testing.assert_allclose(w, 1.08 ** np.arange(21))
    assert abs(fitted_q.tsitsiklis_van_roy(0.8, 200)[-1]) < 1e-2


def test_epsilon_soft_fixed_point():
    mdp = tabular.random_mdp(5, 3, gamma=0.9, seed=3)
    Q_star = dp.q_iteration(mdp.P, mdp.R, mdp.gamma, 1000)
    np.testing.assert_allclose(dp.epsilon_soft_q_iteration(mdp.P, mdp.R, mdp.gamma, 0.0), Q_star, atol=1e-10)
    Q = dp.epsilon_soft_q_iteration(mdp.P, mdp.R, mdp.gamma, 0.3)
    pi = dp.epsilon_greedy_probs(Q, 0.3)
    # a fixed point, and the exact action value of its own ε-greedy policy
    np.testing.assert_allclose(Q, tabular.q_value(mdp, pi), atol=1e-9)
    assert np.all(Q <= Q_star + 1e-12) and np.abs(Q - Q_star).max() > 1e-3


def test_online_q_learning_reaches_q_star_and_sarsa_q_eps():
    from rlcourse_utils.algos import tabular_q
    mdp, _ = gridworld.gridworld(slip=0.2, gamma=0.9)
    Q_star = dp.q_iteration(mdp.P, mdp.R, mdp.gamma, 500)
    Q_eps = dp.epsilon_soft_q_iteration(mdp.P, mdp.R, mdp.gamma, 0.3)
    gap = np.abs(Q_star - Q_eps)[:-1].max()
    targets = {"star": Q_star, "eps": Q_eps}
    cfg = tabular_q.Config(epsilon=0.3, n_iters=3000)
    ql = tabular_q.train(mdp, cfg, seed=5, targets=targets)
    sarsa = tabular_q.train(mdp, tabular_q.Config(rule="sarsa", epsilon=0.3, n_iters=3000), seed=5, targets=targets)
    assert ql.errors["star"][-1] < gap / 3 < ql.errors["eps"][-1]
    assert sarsa.errors["eps"][-1] < gap / 3 < sarsa.errors["star"][-1]
    assert ql.errors["star"][-1] < ql.errors["star"][0]                         # it learned over time
    again = tabular_q.train(mdp, cfg, seed=5, targets=targets)
    np.testing.assert_array_equal(again.q, ql.q)                                 # seeded
    with pytest.raises(ValueError, match="rule"):
        tabular_q.train(mdp, tabular_q.Config(rule="expected_sarsa"))
