"""Lecture 7 control: LQR against one KKT solve, scipy's DARE, certainty equivalence; iLQR swing-up."""
import numpy as np
import pytest
import scipy.linalg
import torch

from rlcourse_utils import control
from rlcourse_utils.envs import pendulum


def random_lqr(T, n, m, seed):
    rng = np.random.default_rng(seed)
    F = rng.normal(0, 0.5, (T, n, n + m))
    L = rng.normal(size=(T, n + m, n + m))
    C = L @ np.swapaxes(L, 1, 2) + 0.5 * np.eye(n + m)
    return F, rng.normal(size=(T, n)), C, rng.normal(size=(T, n + m)), rng.normal(size=n)


@pytest.mark.parametrize("T, n, m, seed", [(1, 1, 1, 0), (5, 2, 1, 1), (12, 3, 2, 2), (8, 1, 3, 3)])
def test_backward_pass_equals_one_kkt_solve(T, n, m, seed):
    F, f, C, c, x0 = random_lqr(T, n, m, seed)
    K, k, V, v = control.lqr_backward(F, f, C, c)
    X, U = control.lqr_forward(F, f, K, k, x0)
    Xq, Uq = control.lqr_kkt(F, f, C, c, x0)
    np.testing.assert_allclose(X[:-1], Xq, atol=1e-8)
    np.testing.assert_allclose(U, Uq, atol=1e-8)
    # and no perturbation of the actions lowers the cost (the forward pass is the minimiser)
    rng = np.random.default_rng(seed)
    best = control.lqr_cost(C, c, X, U)
    for _ in range(20):
        U2 = U + 1e-2 * rng.normal(size=U.shape)
        X2 = [x0]
        for t in range(T):
            X2.append(F[t] @ np.r_[X2[-1], U2[t]] + f[t])
        assert control.lqr_cost(C, c, np.array(X2), U2) > best


def test_hand_computed_scalar_two_steps():
    # x' = x + u, cost ½u² at t = 1, ½x² + ½u² at t = 2: V_2 = ½x² - ... computed by hand
    F = np.array([[[1.0, 1.0]], [[1.0, 1.0]]])
    C = np.array([np.diag([0.0, 1.0]), np.diag([1.0, 1.0])])
    K, k, V, v = control.lqr_backward(F, np.zeros((2, 1)), C, np.zeros((2, 2)))
    # t = 2 (last): Q = C, K = 0, V = 1; t = 1: Q = [[1, 1], [1, 2]], K = -1/2, V = 1/2
    np.testing.assert_allclose(K[:, 0, 0], [-0.5, 0.0])
    np.testing.assert_allclose(V[:, 0, 0], [0.5, 1.0, 0.0])


def test_riccati_iteration_converges_to_scipy_dare():
    rng = np.random.default_rng(0)
    for n, m in [(2, 1), (4, 2)]:
        A = np.eye(n) + 0.1 * rng.normal(size=(n, n))
        B = rng.normal(size=(n, m))
        Q, R = np.eye(n), 0.5 * np.eye(m)
        K, P, changes = control.riccati_iteration(A, B, Q, R, 400)
        P_star = scipy.linalg.solve_discrete_are(A, B, Q, R)
        np.testing.assert_allclose(P, P_star, rtol=1e-8)
        np.testing.assert_allclose(K, -np.linalg.solve(R + B.T @ P_star @ B, B.T @ P_star @ A), rtol=1e-8)
        assert changes[-1] < 1e-10 and np.abs(np.linalg.eigvals(A + B @ K)).max() < 1


def test_certainty_equivalence_under_gaussian_noise():
    T, n, m = 10, 2, 1
    F, f, C, c, x0 = random_lqr(T, n, m, 4)
    Sigma = 0.3 * np.eye(n)
    K, k, _, _ = control.lqr_backward(F, f, C, c)
    exact = control.linear_policy_expected_cost(F, f, C, c, K, k, x0, Sigma)
    rng = np.random.default_rng(0)
    noise = rng.multivariate_normal(np.zeros(n), Sigma, size=(T, 20000))
    X, U = control.lqr_forward(F, f, K, k, np.broadcast_to(x0, (20000, n)), noise=noise)
    costs = control.lqr_cost(C, c, X, U)
    assert abs(costs.mean() - exact) < 4 * costs.std() / np.sqrt(len(costs))
    # no other linear policy does better in expectation (the exact cost is minimised at the LQR gains)
    for _ in range(30):
        dK, dk = 0.05 * rng.normal(size=K.shape), 0.05 * rng.normal(size=k.shape)
        assert control.linear_policy_expected_cost(F, f, C, c, K + dK, k + dk, x0, Sigma) > exact
    # with Σ = 0 the formula is the deterministic cost
    X, U = control.lqr_forward(F, f, K, k, x0)
    assert control.linear_policy_expected_cost(F, f, C, c, K, k, x0, 0 * Sigma) == pytest.approx(
        float(control.lqr_cost(C, c, X, U)), rel=1e-12)


def test_ilqr_on_lqr_converges_in_one_step():
    T, n, m = 6, 2, 1
    F, f, C, c, x0 = random_lqr(T, n, m, 5)
    Ft, ft, Ct, ct_ = (torch.tensor(a[0]) for a in (F, f, C, c))   # time-invariant for the torch callables
    dyn = lambda x, u: Ft @ torch.cat([x, u]) + ft                   # noqa: E731
    cost = lambda x, u: 0.5 * torch.cat([x, u]) @ Ct @ torch.cat([x, u]) + torch.cat([x, u]) @ ct_  # noqa: E731
    res = control.ilqr(dyn, cost, x0, np.zeros((T, m)), n_iters=5, reg=0.0)
    Fi, fi, Ci, ci = (np.repeat(a[:1], T, 0) for a in (F, f, C, c))
    K, k, _, _ = control.lqr_backward(Fi, fi, Ci, ci)
    X, U = control.lqr_forward(Fi, fi, K, k, x0)
    np.testing.assert_allclose(res.U, U, atol=1e-6)
    assert res.step_sizes[0] == 1.0                                # a full Newton step solves a quadratic problem


def test_ilqr_swings_the_pendulum_up_to_a_stationary_point():
    torch.set_num_threads(1)
    cost = lambda x, u: pendulum.smooth_cost_torch(x, u) + 0.05 * u[0] ** 2   # noqa: E731
    x0 = np.array([np.pi, 0.0])
    res = control.ilqr(pendulum.smooth_dynamics_torch, cost, x0, np.full((100, 1), 0.1), n_iters=60, tol=1e-10)
    U = torch.tensor(res.U, requires_grad=True)                      # the independent check: autograd's ∇_U J
    J = control.shooting_cost(pendulum.smooth_dynamics_torch, cost, x0, U)
    J.backward()
    assert float(J) == pytest.approx(res.costs[-1], rel=1e-12)
    assert np.abs(U.grad.numpy()).max() < 1e-5
    assert res.costs[-1] < 0.3 * res.costs[0]
    assert abs(pendulum.angle_normalize(res.X[-1, 0])) < 0.05 and abs(res.X[-1, 1]) < 0.1


def test_ilqr_terminates_with_zero_regularisation():
    """reg = 0 on a linear-quadratic problem: after the exact first step no step lowers the cost; iLQR must
    raise μ from 0 (×10 of 0 stays 0) and stop. Run in a child process, killed after 60 s."""
    import subprocess
    import sys
    code = ("import numpy as np, torch; from rlcourse_utils import control; torch.set_num_threads(1)\n"
            "F = torch.tensor([[1.0, 0.1, 0.0], [0.0, 1.0, 0.1]], dtype=torch.float64)\n"
            "dyn = lambda x, u: F @ torch.cat([x, u])\n"
            "cost = lambda x, u: 0.5 * (x @ x + u @ u)\n"
            "res = control.ilqr(dyn, cost, np.array([1.0, 0.0]), np.zeros((10, 1)), n_iters=20, reg=0.0, tol=0.0)\n"
            "print(len(res.costs))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= 2                                     # the first (exact) step was taken


def test_shooting_hessian_matches_autograd_and_kkt_system_solves_lqr():
    T, n, m = 5, 2, 2
    F, f, C, c, x0 = random_lqr(T, n, m, 6)
    def J(u):
        x, total = torch.tensor(x0), 0.0
        for t in range(T):
            z = torch.cat([x, u.reshape(T, m)[t]])
            total = total + 0.5 * z @ torch.tensor(C[t]) @ z + z @ torch.tensor(c[t])
            x = torch.tensor(F[t]) @ z + torch.tensor(f[t])
        return total
    H = torch.autograd.functional.hessian(J, torch.zeros(T * m, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(control.shooting_hessian(F, C), H, atol=1e-10)
    kkt, rhs = control.lqr_kkt_system(F, f, C, c, x0)
    K, k, _, _ = control.lqr_backward(F, f, C, c)
    _, U = control.lqr_forward(F, f, K, k, x0)
    np.testing.assert_allclose(np.linalg.solve(kkt, rhs)[:T * (n + m)].reshape(T, n + m)[:, n:], U, atol=1e-8)


def test_ddp_converges_quadratically_where_ilqr_converges_linearly():
    torch.set_num_threads(1)
    cost = lambda x, u: pendulum.smooth_cost_torch(x, u) + 0.05 * u[0] ** 2   # noqa: E731
    runs = {so: control.ilqr(pendulum.smooth_dynamics_torch, cost, np.array([2.0, 0.0]), np.zeros((30, 1)),
                             n_iters=40, reg=0.0, tol=0.0, second_order=so) for so in (False, True)}
    np.testing.assert_allclose(runs[True].U, runs[False].U, atol=1e-6)
    J_star = min(min(r.costs) for r in runs.values())
    ratio = {}
    for so, r in runs.items():
        gap = np.array(r.costs) - J_star
        w = np.flatnonzero((gap < 1e-1) & (gap > 1e-10))
        ratio[so] = gap[w[1:]] / gap[w[:-1]]
    assert ratio[False][1:].max() < 1.5 * ratio[False][1:].min()       # iLQR: a constant ratio (linear)
    assert np.all(np.diff(ratio[True]) < 0) and ratio[True].min() < 0.1 * ratio[False].min()  # DDP: quadratic


def test_squashed_controls_stay_in_the_box_and_shooting_cost_matches_ilqr():
    torch.set_num_threads(1)
    cost = lambda x, u: pendulum.smooth_cost_torch(x, u) + 0.05 * u[0] ** 2   # noqa: E731
    dyn_v, cost_v = control.squashed(pendulum.smooth_dynamics_torch, cost, 2.0)
    res = control.ilqr(dyn_v, cost_v, np.array([np.pi, 0.0]), np.full((40, 1), 1.0), n_iters=5)
    U = 2 * np.tanh(res.U)
    assert np.abs(U).max() < 2
    J = float(control.shooting_cost(pendulum.smooth_dynamics_torch, cost, np.array([np.pi, 0.0]), torch.tensor(U)))
    assert J == pytest.approx(res.costs[-1], rel=1e-10)
