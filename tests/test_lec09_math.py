"""Lecture 9 math: hand-computed values and independent formulations (scipy's constrained solver, autograd)."""
import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from rlcourse_utils import model_policy as mp
from rlcourse_utils.checks.lec09_model_policy import _qp


def kkt_solution(Q, c, A, b):
    """The KKT system [[Q, Aᵀ], [A, 0]] [x; λ] = [−c; b] (an independent route to the answer)."""
    n, m = Q.shape[0], A.shape[0]
    sol = np.linalg.solve(np.block([[Q, A.T], [A, np.zeros((m, m))]]), np.concatenate([-c, b]))
    return sol[:n], sol[n:]


def test_dual_step_hand_values():
    x, lam = mp.dual_gradient_step(np.diag([2.0, 4.0]), np.array([-2.0, 0.0]), np.array([[0.0, 1.0]]),
                                   np.array([1.0]), np.array([2.0]), 1.0)
    np.testing.assert_allclose(x, [1.0, -0.5])
    np.testing.assert_allclose(lam, [0.5])


def test_augmented_step_hand_values_and_rho_zero_is_dual_step():
    x, lam = mp.augmented_lagrangian_step(np.eye(1), np.zeros(1), np.eye(1), np.ones(1), np.zeros(1), 1.0, 2.0)
    np.testing.assert_allclose([x[0], lam[0]], [2 / 3, -2 / 3])
    Q, c, A, b = _qp(1, 4, 2)
    lam0 = np.array([0.3, -0.1])
    augmented, dual = mp.augmented_lagrangian_step(Q, c, A, b, lam0, 0.0, 0.2), mp.dual_gradient_step(Q, c, A, b, lam0, 0.2)
    for u, v in zip(augmented, dual):
        np.testing.assert_allclose(u, v)


def test_augmented_x_star_minimises_the_augmented_lagrangian():
    Q, c, A, b = _qp(2, 3, 2)
    lam, rho = np.array([0.5, -1.0]), 0.7
    x, _ = mp.augmented_lagrangian_step(Q, c, A, b, lam, rho, 1.0)
    L = lambda z: 0.5 * z @ Q @ z + c @ z + lam @ (A @ z - b) + rho * np.sum((A @ z - b) ** 2)
    np.testing.assert_allclose(minimize(L, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x, x, atol=1e-5)


@pytest.mark.parametrize("augmented", [False, True])
def test_dual_iterations_reach_the_kkt_point(augmented):
    Q, c, A, b = _qp(3, 4, 2)
    x_kkt, lam_kkt = kkt_solution(Q, c, A, b)
    lam = np.zeros(2)
    H_dual = A @ np.linalg.solve(Q, A.T)  # −∇²g: the dual step must be below 2 / its largest eigenvalue
    alpha = 1.0 / np.linalg.eigvalsh(H_dual).max()
    for _ in range(3000):
        x, lam = mp.augmented_lagrangian_step(Q, c, A, b, lam, 1.0, 2.0) if augmented else \
            mp.dual_gradient_step(Q, c, A, b, lam, alpha)
    np.testing.assert_allclose(x, x_kkt, atol=1e-6)
    np.testing.assert_allclose(lam, lam_kkt, atol=1e-6)
    res = minimize(lambda z: 0.5 * z @ Q @ z + c @ z, np.zeros(4), method="SLSQP",
                   constraints=[{"type": "eq", "fun": lambda z: A @ z - b}], options={"ftol": 1e-12})
    np.testing.assert_allclose(x, res.x, atol=1e-4)


def test_dual_ascent_diverges_with_a_large_step_but_the_method_of_multipliers_does_not():
    Q, c, A, b = _qp(4, 3, 1)
    big = 3.0 / (A @ np.linalg.solve(Q, A.T)).item()  # beyond the 2/L stability limit of dual ascent
    lam_d, lam_a = np.zeros(1), np.zeros(1)
    for _ in range(60):
        x_d, lam_d = mp.dual_gradient_step(Q, c, A, b, lam_d, big)
        x_a, lam_a = mp.augmented_lagrangian_step(Q, c, A, b, lam_a, big / 2, big)
    assert abs(A @ x_d - b).item() > 1e6 and abs(A @ x_a - b).item() < 1e-8


def test_q_update_hand_value_and_copy():
    Q = np.array([[0.0, 1.0], [2.0, 4.0]])
    out = mp.q_learning_update(Q, 0, 0, 1.0, 1, False, 0.5, 0.5)
    np.testing.assert_allclose(out, [[1.5, 1.0], [2.0, 4.0]])
    np.testing.assert_allclose(Q, [[0.0, 1.0], [2.0, 4.0]])  # input untouched


def test_q_updates_on_the_exact_model_reach_q_star():
    """Sweeping the Dyna update over every (s, a) of a known deterministic model is Q-value iteration."""
    from rlcourse_utils.envs.maze import Maze
    m = Maze()
    Q = np.zeros((m.n_states, m.n_actions))
    for _ in range(200):
        for s in range(m.n_states):
            for a in range(4):
                Q = mp.q_learning_update(Q, s, a, m.reward[s, a], int(m.next_state[s, a]), bool(m.terminal[s, a]),
                                         1.0, 0.95)
    # Q*(start) = γ^(d − 1) with d the shortest path length (reward 1 on the last step)
    assert np.isclose(Q[m.start].max(), 0.95 ** (m.shortest_path_length() - 1))


def test_bptt_gradient_matches_finite_differences():
    k = torch.tensor([2.0, 0.5], dtype=torch.float64, requires_grad=True)
    x0 = torch.tensor([[0.3, 0.0], [-0.2, 0.5]], dtype=torch.float64)
    J = mp.rollout_cost(k, x0, 30)
    (g,) = torch.autograd.grad(J, k)
    eps = 1e-6
    for i in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[i] = eps
        fd = (mp.rollout_cost(k.detach() + e, x0, 30) - mp.rollout_cost(k.detach() - e, x0, 30)) / (2 * eps)
        assert torch.isclose(g[i], fd, rtol=1e-5)


def test_pendulum_step_matches_the_equations():
    x = torch.tensor([[np.pi / 2, 1.0]], dtype=torch.float64)
    out = mp.pendulum_step(x, torch.tensor([0.5], dtype=torch.float64), dt=0.05)
    thdot = 1.0 + (15.0 * 1.0 + 1.5) * 0.05
    np.testing.assert_allclose(out.numpy(), [[np.pi / 2 + thdot * 0.05, thdot]])


def test_learned_linear_model_recovers_a_linear_system_and_branch_errors_compound():
    rng = np.random.default_rng(0)
    A, B = np.array([[1.0, 0.1], [0.2, 0.9]]), np.array([0.0, 0.1])
    x, u = rng.normal(size=(50, 2)), rng.normal(size=50)
    W = mp.fit_linear_model(x, u, x @ A.T + u[:, None] * B)
    np.testing.assert_allclose(mp.linear_model_step(W, x, u), x @ A.T + u[:, None] * B, atol=1e-10)
    true_step = lambda x, u: x @ A.T + u[:, None] * B
    biased = lambda x, u: true_step(x, u) + 0.01  # a constant one-step error of 0.01 per coordinate
    err, drift = mp.branched_rollout_errors(biased, true_step, lambda x: np.zeros(len(x)), x[:5], 6)
    np.testing.assert_allclose(err, np.full(6, 0.01 * np.sqrt(2)))  # each simulated transition is off by the bias
    assert np.all(np.diff(drift) > 0)  # ... and the state error accumulates along the branch
    err0, drift0 = mp.branched_rollout_errors(true_step, true_step, lambda x: np.zeros(len(x)), x[:5], 6)
    assert err0.max() == 0 and drift0.max() == 0
