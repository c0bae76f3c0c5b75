"""Lecture 15: the exploration math against independent oracles, the checkers against known-wrong versions,
and fast smoke tests (with determinism) of the bandit and chain loops."""
import math

import numpy as np
import pytest
import scipy.stats
import torch

from mutants import assert_rejected
from rlcourse_utils import checks, exploration
from rlcourse_utils.algos import bandits, chain_explore

LEC15 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "15"]


def test_three_exercises_are_registered_and_references_pass():
    assert {ex.id for ex in LEC15} == {"L15_ucb_action", "L15_pseudo_count", "L15_large_margin_loss"}
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


def test_ids_prefers_the_clearly_best_arm_when_certain():
    rng = np.random.default_rng(2)
    samples = np.stack([rng.normal(0.9, 0.001, 500), rng.normal(0.1, 0.001, 500)], 1)
    assert exploration.ids_action(samples) == 0


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


def test_chain_count_bonus_solves_where_eps_fails_and_is_deterministic():
    cfg = chain_explore.Config(n_states=12, method="count", episodes=60)
    r1 = chain_explore.train(cfg, n_runs=5, seed=5)
    r2 = chain_explore.train(cfg, n_runs=5, seed=5)
    assert np.array_equal(r1["return"], r2["return"]) and r1["success"].all()
    eps = chain_explore.train(chain_explore.Config(n_states=12, method="eps", episodes=60), n_runs=5, seed=5)
    assert not eps["success"].any()
    boot = chain_explore.train(chain_explore.Config(n_states=4, method="bootstrap", episodes=60), n_runs=5, seed=5)
    assert boot["success"].shape == (5,)
