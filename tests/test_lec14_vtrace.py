"""Lecture 14 math: V-trace against its explicit sum, n-step returns, exact expectations and fixed points;
prioritised replay against its definition and unbiasedness."""
import itertools

import numpy as np
import pytest

from rlcourse_utils import advantages, dp, vtrace
from rlcourse_utils.envs import tabular


def explicit_sum(r, v, boot, disc, log_rhos, rho_bar, c_bar):
    """v_s = V(x_s) + Σ_t (Π_{i<t} γ_i c_i) ρ_t δ_t, written out term by term (1-D)."""
    T = len(r)
    ratio = np.exp(log_rhos)
    vv = np.append(v, boot)
    out = np.zeros(T)
    for s in range(T):
        total, coef = 0.0, 1.0
        for t in range(s, T):
            total += coef * min(rho_bar, ratio[t]) * (r[t] + disc[t] * vv[t + 1] - vv[t])
            coef *= disc[t] * min(c_bar, ratio[t])
        out[s] = v[s] + total
    return out


@pytest.mark.parametrize("rho_bar,c_bar", [(1.0, 1.0), (2.0, 0.5), (np.inf, np.inf)])
def test_vtrace_matches_explicit_sum(rho_bar, c_bar):
    rng = np.random.default_rng(0)
    r, v, lr = rng.normal(size=15), rng.normal(size=15), rng.normal(size=15)
    disc = 0.9 * (rng.random(15) > 0.2)
    got = vtrace.vtrace_targets(r, v, 1.5, disc, lr, rho_bar, c_bar)
    assert np.allclose(got, explicit_sum(r, v, 1.5, disc, lr, rho_bar, c_bar))
    batch = vtrace.vtrace_targets(np.stack([r, r], 1), np.stack([v, v], 1), np.array([1.5, 1.5]),
                                  np.stack([disc, disc], 1), np.stack([lr, lr], 1), rho_bar, c_bar)
    assert np.allclose(batch[:, 1], got)


def test_on_policy_is_nstep_return():
    rng = np.random.default_rng(1)
    r, v, b = rng.normal(size=(10, 3)), rng.normal(size=(10, 3)), rng.normal(size=3)
    done = rng.random((10, 3)) < 0.2
    nv = np.concatenate([v[1:], b[None]])
    got = vtrace.vtrace_targets(r, v, b, 0.95 * ~done, np.zeros((10, 3)))
    assert np.allclose(got, advantages.nstep_returns(r, nv, done, np.zeros_like(done), 0.95, 10))


def _setup():
    mdp = tabular.random_mdp(3, 2, gamma=0.8, seed=5)
    rng = np.random.default_rng(5)
    return mdp, rng.dirichlet(np.ones(2), size=3), rng.dirichlet(np.ones(2), size=3)


def test_untruncated_expected_target_is_n_step_policy_evaluation():
    mdp, pi, mu = _setup()
    V = np.array([0.3, -1.0, 2.0])
    n = 2
    for s0 in range(3):
        exp = 0.0
        for a0, s1, a1, s2 in itertools.product(range(2), range(3), range(2), range(3)):
            p = mu[s0, a0] * mdp.P[s0, a0, s1] * mu[s1, a1] * mdp.P[s1, a1, s2]
            st, ac = [s0, s1], [a0, a1]
            t = vtrace.vtrace_targets(mdp.R[st, ac], V[st], V[s2], np.full(n, mdp.gamma),
                                      np.log(pi[st, ac] / mu[st, ac]), np.inf, np.inf)
            exp += p * t[0]
        assert np.isclose(exp, dp.policy_evaluation(mdp.P, mdp.R, pi, mdp.gamma, n, V0=V)[s0])


@pytest.mark.parametrize("rho_bar,c_bar", [(0.5, 0.5), (1.0, 0.3), (3.0, 1.0)])
def test_truncated_fixed_point(rho_bar, c_bar):
    mdp, pi, mu = _setup()
    V = np.zeros(3)
    for _ in range(3000):
        V = vtrace.tabular_vtrace_operator(V, mdp.P, mdp.R, pi, mu, mdp.gamma, rho_bar, c_bar)
    target = dp.policy_evaluation_exact(mdp.P, mdp.R, vtrace.truncated_target_policy(pi, mu, rho_bar), mdp.gamma)
    assert np.allclose(V, target, atol=1e-9)
    if rho_bar < 1:
        assert not np.allclose(V, dp.policy_evaluation_exact(mdp.P, mdp.R, pi, mdp.gamma), atol=1e-3)


def test_untruncated_operator_reaches_v_pi_in_one_step():
    mdp, pi, mu = _setup()
    V = vtrace.tabular_vtrace_operator(np.zeros(3), mdp.P, mdp.R, pi, mu, mdp.gamma, np.inf, np.inf)
    assert np.allclose(V, dp.policy_evaluation_exact(mdp.P, mdp.R, pi, mdp.gamma))


def test_priorities_and_weights_unbiased():
    rng = np.random.default_rng(2)
    p, f = rng.exponential(size=50), rng.normal(size=50)
    P = vtrace.priority_probabilities(p, 0.7)
    assert np.allclose(P, p ** 0.7 / (p ** 0.7).sum())
    w = vtrace.importance_weights(P, np.arange(50), 1.0)
    assert w.max() == pytest.approx(1.0) and np.all(w > 0)
    assert P @ (w * f) / (50 * P.min()) == pytest.approx(f.mean())


def _lagged_pair(seed=0):
    """A random MDP, a behaviour μ and a learner's π one soft improvement step ahead of it."""
    mdp = tabular.random_mdp(4, 3, gamma=0.8, seed=seed)
    mu = np.random.default_rng(seed).dirichlet(2.0 * np.ones(3), size=4)
    Q = tabular.q_value(mdp, mu)
    return mdp, tabular.softmax_policy(np.log(mu) + 2.0 * (Q - Q.mean(-1, keepdims=True))), mu


def test_sampled_evaluation_lands_at_the_predicted_fixed_points():
    mdp, pi, mu = _lagged_pair()
    V = lambda p: dp.policy_evaluation_exact(mdp.P, mdp.R, p, mdp.gamma)  # noqa: E731
    V_pi, V_mu, V_rho = V(pi), V(mu), V(vtrace.truncated_target_policy(pi, mu, 1.0))
    scale = np.abs(V_pi - V_mu).max()
    run = lambda **kw: vtrace.sampled_evaluation(mdp.P, mdp.R, mdp.gamma, pi, mu, n=4, n_walkers=300,  # noqa: E731
                                                 n_iters=200, **kw)
    assert np.abs(run(correction=True) - V_rho).max() < 0.03 * scale
    assert np.abs(run(correction=True, rho_bar=np.inf, c_bar=np.inf) - V_pi).max() < 0.03 * scale
    assert np.abs(run(correction=False) - V_mu).max() < 0.03 * scale
    # a V-trace that drops the ratios is the uncorrected target: it misses V^{π_ρ̄}
    blind = lambda r, v, b, d, lr, rb, cb: vtrace.vtrace_targets(r, v, b, d, 0 * lr, rb, cb)  # noqa: E731
    assert np.abs(run(correction=True, vtrace_fn=blind) - V_rho).max() > 0.3 * scale
    # on-policy data: every rule estimates V^π
    same = vtrace.sampled_evaluation(mdp.P, mdp.R, mdp.gamma, mu, mu, n=4, n_walkers=300, n_iters=200, correction=False)
    assert np.abs(same - V_mu).max() < 0.03 * scale
