"""Lecture 15: the exploration math against independent oracles, the checkers against known-wrong versions,
the vectorised MountainCar against gymnasium step for step, and fast smoke tests (with determinism) of the bandit,
chain, MountainCar and DQfD loops."""
import math

import numpy as np
import pytest
import gymnasium as gym
import scipy.optimize
import scipy.stats
import torch

from mutants import assert_rejected
from rlcourse_utils import checks, exploration
from rlcourse_utils.algos import bandits, chain_explore, dqfd, mountaincar_explore
from rlcourse_utils.envs.mountaincar import MountainCarVec

LEC15 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "15"]


def test_four_exercises_are_registered_and_references_pass():
    assert {ex.id for ex in LEC15} == {"L15_ucb_action", "L15_pseudo_count", "L15_large_margin_loss", "L15_rnd_bonus"}
    for ex in LEC15:
        assert checks.run_check(ex, ex.reference).passed
        hidden = ex.hidden()
        assert len(hidden) >= 3 and checks.run_cases(ex, ex.reference, hidden).passed
        assert checks.run_cases(ex, ex.reference, ex.hidden("another secret")).passed


# ---------------------------------------------------------------- math against oracles

def test_ucb_action_matches_a_loop_over_runs():
    rng = np.random.default_rng(0)
    q, n = rng.normal(size=(50, 6)), rng.integers(0, 5, (50, 6)).astype(float)
    t = rng.integers(1, 100, 50)
    got = exploration.ucb_action(q, n, t, 1.3)
    for i in range(50):
        untried = np.flatnonzero(n[i] == 0)
        want = untried[0] if untried.size else int(np.argmax(q[i] + 1.3 * np.sqrt(math.log(t[i]) / n[i])))
        assert got[i] == want


def test_pseudo_count_recovers_empirical_counts_and_total():
    counts = np.array([7.0, 0.0, 3.0, 12.0])
    rho, rho_p = exploration.empirical_density(counts)
    assert np.allclose(exploration.pseudo_count(rho, rho_p), counts)


def test_beta_update_matches_grid_bayes():
    grid = np.linspace(1e-6, 1 - 1e-6, 4001)
    post = np.ones_like(grid)
    a, b = np.ones((1, 1)), np.ones((1, 1))
    for r in [1, 0, 1, 1, 0, 1]:
        post *= grid if r else 1 - grid
        a, b = exploration.beta_bernoulli_update(a, b, np.array([0]), np.array([float(r)]))
    post /= np.trapezoid(post, grid)
    assert np.abs(post - scipy.stats.beta(a[0, 0], b[0, 0]).pdf(grid)).max() < 1e-3


def test_information_gain_equals_mutual_information():
    rng = np.random.default_rng(1)
    prior, lik = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(3), size=4)
    joint = prior[:, None] * lik
    mi = np.sum(joint * np.log(joint / (prior[:, None] * joint.sum(0))))
    red, kl = exploration.information_gain(prior, lik)
    assert red == pytest.approx(mi, abs=1e-12) and kl == pytest.approx(mi, abs=1e-12)


def test_snis_is_exact_for_equal_weights_and_uses_relative_weights():
    f = np.array([1.0, 2.0, 6.0])
    assert exploration.snis_estimate(f, np.zeros(3)) == pytest.approx(3.0)
    assert exploration.snis_estimate(f, np.log([1.0, 1.0, 2.0]) + 500) == pytest.approx(15 / 4)


def test_large_margin_gradient_matches_finite_differences():
    q = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    a = torch.tensor([0, 1, 2, 1, 0])
    torch.autograd.gradcheck(lambda x: exploration.large_margin_loss(x, a, 0.7), (q,))


def test_ids_gain_from_draws_matches_quadrature():
    alpha, beta = np.array([2.0, 6.0, 3.0]), np.array([3.0, 2.0, 3.0])
    draws = np.random.default_rng(2).beta(alpha, beta, size=(300_000, 3))
    p_star, delta, g = exploration.ids_quantities(draws)
    p_quad, g_quad = exploration.ids_gain_quadrature(alpha, beta)
    assert np.allclose(p_star, p_quad, atol=4e-3) and np.allclose(g, g_quad, rtol=0.02)
    assert np.allclose(delta, draws.max(1).mean() - draws.mean(0))
    # batched (R, M, K) equals one call per run
    batch = np.random.default_rng(3).beta(1.0, 1.0, size=(4, 500, 3))
    _, d_b, g_b = exploration.ids_quantities(batch)
    for r in range(4):
        _, d_r, g_r = exploration.ids_quantities(batch[r])
        assert np.allclose(d_b[r], d_r) and np.allclose(g_b[r], g_r)


def _pair_optimum(d, g):
    return min(scipy.optimize.minimize_scalar(lambda q: (q * d[a] + (1 - q) * d[b]) ** 2 / (q * g[a] + (1 - q) * g[b]),
                                              bounds=(0, 1), method="bounded", options={"xatol": 1e-12}).fun
               for a in range(len(d)) for b in range(a + 1, len(d)))


def _ids_wrong_sign(delta, g):  # q* with Δ_b / (Δ_b − Δ_a): the stationary point's sign flipped
    K = len(delta)
    best, pi = np.inf, None
    for a in range(K):
        for b in range(K):
            q = 0.0 if g[a] == g[b] or delta[a] == delta[b] else delta[b] / (delta[b] - delta[a]) - 2 * g[b] / (g[a] - g[b])
            for qq in (0.0, 1.0, float(np.clip(q, 0, 1))):
                val = (qq * delta[a] + (1 - qq) * delta[b]) ** 2 / (qq * g[a] + (1 - qq) * g[b])
                if val < best:
                    best, pi = val, np.eye(K)[a] * qq + np.eye(K)[b] * (1 - qq)
    return pi


@pytest.mark.parametrize("fn, ok", [(exploration.ids_distribution, True), (_ids_wrong_sign, False)])
def test_ids_distribution_attains_the_best_pair(fn, ok):
    rng = np.random.default_rng(4)
    worst = 0.0
    for _ in range(60):
        d, g = 0.01 + rng.random(4) ** 2, 1e-4 + 0.1 * rng.random(4) ** 3
        pi = fn(d, g)
        assert pi.shape == (4,) and pi.min() >= 0 and pi.sum() == pytest.approx(1.0)
        worst = max(worst, (pi @ d) ** 2 / (pi @ g) / _pair_optimum(d, g) - 1)
    assert (worst < 1e-6) == ok


def test_ids_distribution_is_batched_and_picks_a_certain_best_arm():
    rng = np.random.default_rng(5)
    d, g = rng.random((3, 2, 5)) + 0.01, rng.random((3, 2, 5)) + 0.01
    pi = exploration.ids_distribution(d, g)
    assert np.allclose(pi[1, 0], exploration.ids_distribution(d[1, 0], g[1, 0]))
    assert exploration.ids_distribution(np.array([0.0, 0.5]), np.array([1e-3, 0.2]))[0] == 1.0


def test_mountaincar_matches_gymnasium_step_for_step():
    rng = np.random.default_rng(6)
    for ep in range(6):
        env = gym.make("MountainCar-v0")
        obs, _ = env.reset(seed=ep)
        mine = MountainCarVec(1)
        mine_obs, _ = mine.reset(env.unwrapped.state[None])
        assert np.array_equal(mine_obs[0], obs)
        for _ in range(200):  # even episodes: a bang-bang controller that reaches the flag
            a = int(rng.integers(3)) if ep % 2 else (2 if obs[1] >= 0 else 0)
            obs, r, term, trunc, _ = env.step(a)
            m_obs, m_r, m_term, m_trunc, info = mine.step(np.array([a]))
            assert np.array_equal(info["final_obs"][0], obs) and m_r[0] == r
            assert (m_term[0], m_trunc[0]) == (term, trunc)
            if term or trunc:
                assert term == (ep % 2 == 0)
                break


def test_mountaincar_loop_smoke_and_determinism():
    cfg = mountaincar_explore.Config(total_steps=1_600, learning_starts=400, n_envs=4, eval_episodes=2)
    a = mountaincar_explore.train(cfg, arms=("none", "rnd", "count"), seeds=(0, 1))
    b = mountaincar_explore.train(cfg, arms=("none", "rnd", "count"), seeds=(0, 1))
    for arm in ("none", "rnd", "count"):
        assert a[arm]["visits"].shape == (2, cfg.hist_bins, cfg.hist_bins)
        assert a[arm]["visits"].sum() == 2 * cfg.total_steps
        assert np.array_equal(a[arm]["eval_return"], b[arm]["eval_return"])
        assert np.array_equal(a[arm]["visits"], b[arm]["visits"])


def test_batched_mlp_runs_are_independent_networks():
    net = mountaincar_explore.BatchedMLP([3, 9], 2, 3, 16)
    alone = mountaincar_explore.BatchedMLP([9], 2, 3, 16)
    x = torch.randn(2, 5, 2)
    assert torch.allclose(net(x)[1], alone(x[1:])[0])  # run 1's weights depend on its seed only
    net(x)[0].sum().backward()
    assert net.W0.grad[1].abs().sum() == 0  # run 0's loss does not touch run 1


def test_dqfd_smoke_determinism_and_ordering():
    cfg = dqfd.Config(total_steps=1_000, eval_every=100)
    a = dqfd.train(cfg, seeds=(0, 1))
    b = dqfd.train(cfg, seeds=(0, 1))
    assert np.array_equal(a["dqfd"]["curve"], b["dqfd"]["curve"])
    assert a["dqfd"]["curve"].shape == (2, 11) and np.all(a["dqfd"]["curve"] <= a["optimal"] + 1e-9)
    auc = {arm: a[arm]["curve"].mean(1) for arm in dqfd.ARMS}
    assert (auc["dqfd"] > auc["rl"]).all() and (auc["dqfd"] > auc["demos"]).all()
    assert np.ptp(a["demos"]["curve"][:, 1:], axis=1).max() == 0  # imitation alone never changes after its updates


# ---------------------------------------------------------------- checker mutants

def ucb_ignores_untried(q, n, t, c):
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.nan_to_num(np.asarray(q) + c * np.sqrt(np.log(np.asarray(t, float))[..., None] / np.asarray(n)), nan=-1e9, posinf=-1e9)
    return np.argmax(s, axis=-1)


def ucb_no_log(q, n, t, c):
    n = np.asarray(n, float)
    s = np.where(n == 0, np.inf, np.asarray(q) + c * np.sqrt(np.asarray(t, float)[..., None] / np.maximum(n, 1)))
    return np.argmax(s, axis=-1)


def ucb_scalar_t_only(q, n, t, c):
    n = np.asarray(n, float)
    tt = float(np.max(t))
    s = np.where(n == 0, np.inf, np.asarray(q) + c * np.sqrt(math.log(tt) / np.maximum(n, 1)))
    return np.argmax(s, axis=-1)


def pc_wrong(rho, rho_prime):
    return np.asarray(rho_prime) / (np.asarray(rho_prime) - np.asarray(rho))


def pc_inverted(rho, rho_prime):
    return np.asarray(rho_prime) * (1 - np.asarray(rho)) / (np.asarray(rho_prime) - np.asarray(rho))


def lm_margin_everywhere(q, a, m, demo_mask=None):  # adds the margin to the expert's action too
    per = (q + m).max(1).values - q.gather(1, a.long()[:, None]).squeeze(1)
    return per.mean() if demo_mask is None else (per * demo_mask).sum() / demo_mask.sum().clamp(min=1)


def lm_ignores_mask(q, a, m, demo_mask=None):
    return exploration.large_margin_loss(q, a, m)


def lm_nan_without_demos(q, a, m, demo_mask=None):
    l = torch.full_like(q, float(m)).scatter(1, a.long()[:, None], 0.0)
    per = (q + l).max(1).values - q.gather(1, a.long()[:, None]).squeeze(1)
    return per.mean() if demo_mask is None else per[demo_mask].mean()


def lm_detached(q, a, m, demo_mask=None):
    return exploration.large_margin_loss(q.detach(), a, m, demo_mask)


def rnd_mean_over_features(t, p):
    return ((p - t.detach()) ** 2).mean(-1)


def rnd_trains_target(t, p):
    return ((p - t) ** 2).sum(-1)


def rnd_norm_not_squared(t, p):
    return (p - t.detach()).norm(dim=-1)


def rnd_flattens_batch(t, p):
    return ((p - t.detach()) ** 2).reshape(p.shape[0], -1).sum(-1)


@pytest.mark.parametrize("mutant, fragment", [(rnd_mean_over_features, ""), (rnd_trains_target, "gradient"),
                                              (rnd_norm_not_squared, ""), (rnd_flattens_batch, "")])
def test_rnd_mutants_rejected(mutant, fragment):
    assert_rejected("L15_rnd_bonus", mutant, fragment)


@pytest.mark.parametrize("mutant, fragment", [(ucb_ignores_untried, "untried"), (ucb_no_log, ""),
                                              (ucb_scalar_t_only, "per run")])
def test_ucb_mutants_rejected(mutant, fragment):
    assert_rejected("L15_ucb_action", mutant, fragment)


@pytest.mark.parametrize("mutant", [pc_wrong, pc_inverted])
def test_pseudo_count_mutants_rejected(mutant):
    assert_rejected("L15_pseudo_count", mutant, "")


@pytest.mark.parametrize("mutant, fragment", [(lm_margin_everywhere, ""), (lm_ignores_mask, "demo_mask"),
                                              (lm_nan_without_demos, "no demonstrations"), (lm_detached, "")])
def test_large_margin_mutants_rejected(mutant, fragment):
    assert_rejected("L15_large_margin_loss", mutant, fragment)


# ---------------------------------------------------------------- loops: smoke and determinism

def test_testbed_small_and_deterministic():
    a = bandits.testbed("eps", eps=0.1, n_runs=50, n_steps=100, seed=3)
    b = bandits.testbed("eps", eps=0.1, n_runs=50, n_steps=100, seed=3)
    assert np.array_equal(a["avg_reward"], b["avg_reward"])
    u = bandits.testbed("ucb", c=2.0, n_runs=50, n_steps=100, seed=3)
    assert u["optimal"].shape == (100,) and 0 <= u["optimal"].min() <= u["optimal"].max() <= 1


def test_bernoulli_regret_monotone_and_thompson_beats_eps():
    means = np.array([0.8, 0.4])
    ts = bandits.bernoulli(means, "thompson", 500, 40, seed=4)
    ep = bandits.bernoulli(means, "eps", 500, 40, seed=4, eps=0.2)
    assert np.all(np.diff(ts, axis=1) >= 0)
    assert ts[:, -1].mean() < ep[:, -1].mean()
    assert bandits.bernoulli(means, "ids", 50, 2, seed=4).shape == (2, 50)
    per_run = np.array([[0.8, 0.4], [0.3, 0.6]])  # one problem per run
    assert bandits.bernoulli(per_run, "ids", 30, 2, seed=4).shape == (2, 30)


def test_bernoulli_rewards_are_common_across_methods():
    # with one arm every method pulls it: identical rewards ⇒ identical Beta posteriors ⇒ zero regret, same shape
    r1 = bandits.bernoulli(np.array([0.5]), "thompson", 20, 3, seed=9)
    r2 = bandits.bernoulli(np.array([0.5]), "ids", 20, 3, seed=9)
    assert np.array_equal(r1, r2)


def test_chain_count_bonus_solves_where_eps_fails_and_is_deterministic():
    cfg = chain_explore.Config(n_states=12, method="count", episodes=60)
    r1 = chain_explore.train(cfg, n_runs=5, seed=5)
    r2 = chain_explore.train(cfg, n_runs=5, seed=5)
    assert np.array_equal(r1["return"], r2["return"]) and r1["success"].all()
    eps = chain_explore.train(chain_explore.Config(n_states=12, method="eps", episodes=60), n_runs=5, seed=5)
    assert not eps["success"].any()
    boot = chain_explore.train(chain_explore.Config(n_states=4, method="bootstrap", episodes=60), n_runs=5, seed=5)
    assert boot["success"].shape == (5,)
