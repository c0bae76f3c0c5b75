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
    P2 = np.zeros((2, 1, 2)); P2[:, 0, 1] = 1.0
    w = fitted_q.fitted_value_iteration(P2, np.zeros((2, 1)), np.array([[1.0], [2.0]]), 0.8, 200, w0=np.ones(1))
    assert abs(w[-1, 0]) < 1e-2                                                         # 6γ/5 = 0.96 < 1: converges


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


def test_least_squares_projection_is_a_d_norm_non_expansion_not_a_max_norm_one():
    rng = np.random.default_rng(0)
    Phi, d = rng.normal(size=(9, 3)), rng.dirichlet(np.ones(9))
    Pi = dp.least_squares_projection(Phi, d)
    y = rng.normal(size=9)
    w, *_ = np.linalg.lstsq(np.sqrt(d)[:, None] * Phi, np.sqrt(d) * y, rcond=None)   # independent route
    np.testing.assert_allclose(Pi @ y, Phi @ w, atol=1e-10)
    np.testing.assert_allclose(Pi @ Pi, Pi, atol=1e-10)                                # a projection
    gain = np.linalg.norm(np.sqrt(d)[:, None] * Pi / np.sqrt(d), 2)                    # max ‖Πx‖_D / ‖x‖_D
    assert gain == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(dp.least_squares_projection(np.array([[1.0], [2.0]])) @ np.ones(2), [0.6, 1.2])


def test_state_action_visitation_matches_simulated_episodes():
    mdp, _ = gridworld.gridworld()
    S, A = mdp.R.shape
    pi = dp.epsilon_greedy_probs(dp.q_iteration(mdp.P, mdp.R, mdp.gamma, 300), 0.3)
    terminal = np.arange(S) == S - 1
    start = np.where(terminal, 0.0, 1.0) / (S - 1)
    D = dp.state_action_visitation(mdp.P, pi, start, terminal)
    assert D.sum() == pytest.approx(1.0) and np.all(D[-1] == 0)
    rng, counts = np.random.default_rng(0), np.zeros((S, A))
    s = rng.choice(S, size=4000, p=start)
    alive = np.ones(4000, bool)
    for _ in range(200):                                                                # Monte Carlo visit counts
        a = (rng.random(4000)[:, None] > np.cumsum(pi[s], -1)).sum(-1).clip(max=A - 1)
        np.add.at(counts, (s[alive], a[alive]), 1.0)
        s = (rng.random(4000)[:, None] > np.cumsum(mdp.P[s, a], -1)).sum(-1).clip(max=S - 1)
        alive &= s != S - 1
    np.testing.assert_allclose(counts / counts.sum(), D, atol=5e-3)


def test_fitted_value_iteration_matches_the_closed_form():
    P2 = np.zeros((2, 1, 2)); P2[:, 0, 1] = 1.0
    w = fitted_q.fitted_value_iteration(P2, np.zeros((2, 1)), np.array([[1.0], [2.0]]), 0.9, 20, w0=np.ones(1))
    np.testing.assert_allclose(w[:, 0], 1.08 ** np.arange(21))                          # w ← (6γ/5) w


def test_expected_fqi_one_hot_reaches_q_star_and_coordinate_features_diverge_on_behaviour_data():
    mdp, cells = gridworld.gridworld()
    S, A = mdp.R.shape
    Q_star = dp.q_iteration(mdp.P, mdp.R, mdp.gamma, 500)
    terminal = np.arange(S) == S - 1
    D = dp.state_action_visitation(mdp.P, dp.epsilon_greedy_probs(Q_star, 0.1), np.where(terminal, 0.0, 1.0) / (S - 1), terminal)
    onehot = np.eye(S * A).reshape(S, A, S * A)
    np.testing.assert_allclose(onehot @ fitted_q.expected_train(mdp, onehot, D, 200)[-1], Q_star, atol=1e-8)
    F = gridworld.coordinate_features(cells)
    assert F.shape == (S, A, 25)
    ws = fitted_q.expected_train(mdp, F, D, 300)
    assert np.abs(F @ ws[-1]).max() > 1e6                                              # diverges
    uniform = fitted_q.expected_train(mdp, F, np.full((S, A), 1 / (S * A)), 300)
    assert np.abs(uniform[-1] - uniform[-2]).max() < 1e-6                              # converges
    res = fitted_q.train(mdp, F, fitted_q.Config(n_samples=5000, n_iters=60), seed=0, data_dist=D)
    assert res.q_max[-1] > 100 * res.q_max[0]
    s, a, _, _ = res.data
    assert np.all(s != S - 1)                                                          # D is zero on the end state
