"""Lecture 3 math: hand-computed values, an independent slow formulation, and the GAE identities."""
import numpy as np
import pytest

from rlcourse_utils import advantages
from rlcourse_utils.checks.lec03_actor_critic import _rollout
from rlcourse_utils.envs import tabular


def naive_nstep(r, nv, term, trunc, gamma, n):
    """One stream, written as the definition reads: walk forward from t, stop at the n-th step or an end."""
    T, out = len(r), np.zeros(len(r))
    for t in range(T):
        g = 0.0
        for k in range(n):
            i = t + k
            g += gamma**k * r[i]
            if term[i]:
                break
            if trunc[i] or k == n - 1 or i == T - 1:
                g += gamma ** (k + 1) * nv[i]
                break
        out[t] = g
    return out


def test_hand_computed_values():
    r, nv = np.ones(3), np.full(3, 10.0)
    f = np.zeros(3, bool)
    assert advantages.td_targets(r, nv, np.array([False, True, False]), 0.5).tolist() == [6.0, 1.0, 6.0]
    assert advantages.nstep_returns(r, nv, f, f, 0.5, 2).tolist() == [4.0, 4.0, 6.0]
    # truncation at 0: bootstrap from V(s'_0) = 10 and stop; termination at 0: no bootstrap
    assert advantages.nstep_returns(r, nv, f, np.array([True, False, False]), 0.5, 2)[0] == 6.0
    assert advantages.nstep_returns(r, nv, np.array([True, False, False]), f, 0.5, 2)[0] == 1.0
    v = np.array([0.0, 10.0])
    assert advantages.gae(np.ones(2), v, np.array([10.0, 10.0]), f[:2], f[:2], 0.5, 0.5).tolist() == [5.0, -4.0]


@pytest.mark.parametrize("n", [1, 2, 5, 40])
def test_nstep_matches_the_naive_definition(n):
    rng = np.random.default_rng(n)
    r, _, nv, term, trunc = _rollout(rng, (30,), 0.1, 0.1)
    np.testing.assert_allclose(advantages.nstep_returns(r, nv, term, trunc, 0.9, n),
                               naive_nstep(r, nv, term, trunc, 0.9, n), rtol=1e-12)


def test_batch_axes_broadcast():
    rng = np.random.default_rng(0)
    r, v, nv, term, trunc = _rollout(rng, (25, 3, 2))
    a = advantages.gae(r, v, nv, term, trunc, 0.95, 0.9)
    g = advantages.nstep_returns(r, nv, term, trunc, 0.95, 4)
    for i in range(3):
        for j in range(2):
            col = (x[:, i, j] for x in (r, v, nv, term, trunc))
            rr, vv, nn, te, tr = col
            np.testing.assert_allclose(a[:, i, j], advantages.gae(rr, vv, nn, te, tr, 0.95, 0.9), rtol=1e-12)
            np.testing.assert_allclose(g[:, i, j], naive_nstep(rr, nn, te, tr, 0.95, 4), rtol=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.9, 1.0])
def test_gae_is_the_lambda_mix_of_nstep_advantages(lam):
    rng = np.random.default_rng(1)
    gamma, T = 0.9, 30
    r, v, nv, term, trunc = _rollout(rng, (T,), 0.1, 0.1)
    done = term | trunc
    A = {n: advantages.nstep_returns(r, nv, term, trunc, gamma, n) - v for n in range(1, T + 1)}
    mix = np.zeros(T)
    for t in range(T):
        m = next(k + 1 for k in range(T - t) if done[t + k] or t + k == T - 1)  # steps left in the episode
        mix[t] = sum((1 - lam) * lam ** (n - 1) * A[n][t] for n in range(1, m)) + lam ** (m - 1) * A[m][t]
    np.testing.assert_allclose(advantages.gae(r, v, nv, term, trunc, gamma, lam), mix, rtol=1e-10, atol=1e-12)


def test_gae_endpoints_are_td_and_monte_carlo():
    rng = np.random.default_rng(2)
    r, v, nv, term, trunc = _rollout(rng, (40, 2))
    td = advantages.td_targets(r, nv, term, 0.99) - v
    mc = advantages.nstep_returns(r, nv, term, trunc, 0.99, 40) - v
    np.testing.assert_allclose(advantages.gae(r, v, nv, term, trunc, 0.99, 0.0), td, rtol=1e-12)
    np.testing.assert_allclose(advantages.gae(r, v, nv, term, trunc, 0.99, 1.0), mc, rtol=1e-10)


def test_td0_with_td_targets_converges_to_exact_v_pi():
    mdp = tabular.random_mdp(5, 2, gamma=0.9, seed=0)
    pi = tabular.softmax_policy(np.random.default_rng(1).normal(size=(5, 2)))
    v_true = tabular.policy_value(mdp, pi)
    rng = np.random.default_rng(0)
    n, iters = 256, 3000
    V, V_avg, s = np.zeros(5), np.zeros(5), rng.choice(5, size=n, p=mdp.mu0)
    for k in range(iters):
        a = (rng.random(n)[:, None] > np.cumsum(pi[s], -1)).sum(-1).clip(max=1)
        s2 = (rng.random(n)[:, None] > np.cumsum(mdp.P[s, a], -1)).sum(-1).clip(max=4)
        y = advantages.td_targets(mdp.R[s, a], V[s2], np.zeros(n, bool), mdp.gamma)
        np.add.at(V, s, 0.1 * (y - V[s]) / np.bincount(s, minlength=5)[s])  # constant step, mean per state
        s = s2
        if k >= iters // 2:
            V_avg += (V - V_avg) / (k - iters // 2 + 1)  # tail (Polyak) averaging
    np.testing.assert_allclose(V_avg, v_true, atol=0.01 * np.abs(v_true).max())


def test_baseline_variance_by_enumeration_and_optimal_baseline_minimises_it():
    import scipy.optimize

    rng = np.random.default_rng(0)
    S, A = 3, 4
    pi = rng.dirichlet(np.ones(A), size=S)
    q = rng.normal(size=(S, A))
    b_star = advantages.optimal_state_baseline(pi, q)
    for s, k in np.ndindex(S, A):
        g = np.eye(A)[:, k] - pi[s, k]  # (a,) the score of θ[s, k] for each action

        def var(b):  # variance by enumerating the actions, written out
            x = g * (q[s] - b)
            return pi[s] @ x**2 - (pi[s] @ x) ** 2

        b = np.full((S, A), 0.7)
        assert np.isclose(advantages.baseline_variance(pi, q, b)[s, k], var(0.7), atol=1e-12)
        assert abs(scipy.optimize.minimize_scalar(var).x - b_star[s, k]) < 1e-6
    v = (pi * q).sum(-1, keepdims=True)
    assert (advantages.baseline_variance(pi, q, b_star) <= advantages.baseline_variance(pi, q, v) + 1e-12).all()


def test_two_action_optimal_baseline_swaps_the_weights_and_has_zero_variance():
    pi, q = np.array([[0.2, 0.8], [0.6, 0.4]]), np.array([[1.0, -2.0], [3.0, 5.0]])
    b_star = advantages.optimal_state_baseline(pi, q)
    np.testing.assert_allclose(b_star, (pi[:, ::-1] * q).sum(-1, keepdims=True).repeat(2, 1))
    np.testing.assert_allclose(advantages.baseline_variance(pi, q, b_star), 0.0, atol=1e-12)
    # a deterministic state has no gradient: the baseline falls back to V
    np.testing.assert_allclose(advantages.optimal_state_baseline(np.array([[1.0, 0.0]]), np.array([[2.0, 9.0]])), [[2.0, 2.0]])
