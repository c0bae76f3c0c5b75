"""Lecture 10 math against independent oracles, and fast smoke and determinism tests of its loops."""
import dataclasses
import math

import numpy as np
import pytest
import scipy.stats as st
import torch

from rlcourse_utils import variational as vi
from rlcourse_utils.algos import latent_policy, mixture, vae

torch.set_num_threads(1)


def test_digits_ship_with_the_package():
    images, labels = vi.load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 16
    assert np.array_equal(np.bincount(labels), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_vae_elbo_against_torch_distributions():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 2, (4, 6), generator=g).double()
    logits, mean, log_std = (torch.randn(4, 6, generator=g, dtype=torch.float64),
                             torch.randn(4, 2, generator=g, dtype=torch.float64),
                             0.3 * torch.randn(4, 2, generator=g, dtype=torch.float64))
    bern = torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(-1)
    q, p = torch.distributions.Normal(mean, log_std.exp()), torch.distributions.Normal(0.0, 1.0)
    kl = torch.distributions.kl_divergence(q, p).sum(-1)
    torch.testing.assert_close(vi.vae_elbo(x, logits, mean, log_std), bern - kl)
    torch.testing.assert_close(vi.bernoulli_log_lik(x, logits), bern)


def test_iwae_bound_against_direct_sum_and_k1():
    lp, lq = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    torch.testing.assert_close(vi.iwae_bound(lp, lq), torch.log(torch.exp(lp - lq).mean(0)))
    torch.testing.assert_close(vi.iwae_bound(lp[:1], lq[:1]), (lp - lq)[0])


def test_score_function_surrogate_gradient_is_reinforce():
    log_q = torch.randn(6, requires_grad=True)
    f = torch.randn(6, requires_grad=True)
    vi.score_function_surrogate(log_q, f, torch.tensor(0.5)).backward()
    torch.testing.assert_close(log_q.grad, (f.detach() - 0.5) / 6)
    assert f.grad is None


def test_diag_gaussian_log_prob_against_scipy():
    z, m, s = np.random.default_rng(0).normal(size=(3, 4))
    want = st.multivariate_normal(m, np.diag(np.exp(2 * s))).logpdf(z)
    got = vi.diag_gaussian_log_prob(torch.tensor(z), torch.tensor(m), torch.tensor(s)).item()
    assert abs(got - want) < 1e-10


def test_gaussian_kl_full_against_monte_carlo():
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(2, 3, 3))
    Sq, Sp = A @ A.T + 0.5 * np.eye(3), B @ B.T + 0.5 * np.eye(3)
    mq, mp = rng.normal(size=(2, 3))
    z = rng.multivariate_normal(mq, Sq, size=200_000)
    vals = st.multivariate_normal(mq, Sq).logpdf(z) - st.multivariate_normal(mp, Sp).logpdf(z)
    assert abs(vals.mean() - vi.gaussian_kl_full(mq, Sq, mp, Sp)) < 4 * vals.std() / math.sqrt(len(vals))


def test_linear_gaussian_identity_and_posterior():
    model = vi.LinearGaussian.random(4, 2, 0.5, seed=3)
    x = model.sample_x(np.random.default_rng(3))
    log_px = st.multivariate_normal(model.b, model.W @ model.W.T + 0.25 * np.eye(4)).logpdf(x)
    m, S = model.posterior(x)
    # posterior by conditioning the joint Gaussian of (z, x): an independent route
    Sxx = model.W @ model.W.T + 0.25 * np.eye(4)
    np.testing.assert_allclose(m, model.W.T @ np.linalg.solve(Sxx, x - model.b), atol=1e-10)
    np.testing.assert_allclose(S, np.eye(2) - model.W.T @ np.linalg.solve(Sxx, model.W), atol=1e-10)
    for mu, ls in [(np.zeros(2), np.zeros(2)), (m, 0.5 * np.log(np.diag(S)))]:
        elbo = model.elbo(torch.tensor(x), torch.tensor(mu), torch.tensor(ls)).item()
        kl = vi.gaussian_kl_full(mu, np.diag(np.exp(2 * ls)), m, S)
        assert abs(log_px - (elbo + kl)) < 1e-9
    # q = the exact posterior makes the bound tight (with a full covariance; a diagonal q cannot)
    z = torch.tensor(np.random.default_rng(4).multivariate_normal(m, S, size=8))
    log_q = torch.tensor(st.multivariate_normal(m, S).logpdf(z.numpy()))
    np.testing.assert_allclose((model.log_joint(torch.tensor(x), z) - log_q).numpy(), log_px, atol=1e-9)


def test_vae_train_smoke_and_determinism():
    cfg = dataclasses.replace(vae.Config(), epochs=2)
    a, b = vae.train(cfg, seed=0), vae.train(cfg, seed=0)
    np.testing.assert_array_equal(a.train_elbo, b.train_elbo)
    assert a.train_elbo[-1] > a.train_elbo[0] + 5  # two epochs already gain nats
    assert a.x_train.shape == (1500, 64) and a.x_test.shape == (297, 64)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        iw = a.model.iwae(a.x_test, 20, g).mean().item()
    assert iw > a.test_elbo[-1] - 1.0  # L_20 ≥ ELBO up to the single-sample noise
    assert a.model.sample(3, g).shape == (3, 8, 8) and a.model.reconstruct(a.x_test[:2]).shape == (2, 8, 8)


def test_beta_weighted_objective_reaches_the_kl():
    cfg = dataclasses.replace(vae.Config(), epochs=2)
    assert vae.train(dataclasses.replace(cfg, beta=8.0), 0).model.kl(vae.binarized_digits()[1]).mean() < \
        vae.train(cfg, 0).model.kl(vae.binarized_digits()[1]).mean()


def test_latent_policy_smoke_determinism_and_same_demos_as_mixture():
    cfg = dataclasses.replace(latent_policy.Config(), fit_steps=30, eval_episodes=10)
    a, b = latent_policy.train(cfg, seed=1), latent_policy.train(cfg, seed=1)
    np.testing.assert_array_equal(a.elbos, b.elbos)
    np.testing.assert_array_equal(a.eval_rollout.obs, b.eval_rollout.obs)
    out = latent_policy.outcomes(a.eval_rollout)
    assert abs(sum(out.values()) - 1.0) < 1e-12
    m = mixture.train(dataclasses.replace(mixture.Config(n_components=1), fit_steps=2, eval_episodes=10), seed=1)
    np.testing.assert_array_equal(m.eval_rollout.obs[0], a.eval_rollout.obs[0])  # the same start positions


def test_outcomes_classify_expert_sides():
    from rlcourse_utils.envs import obstacle
    demos = obstacle.expert_demos(40, seed=0)
    out = latent_policy.outcomes(demos)
    assert out["left"] == pytest.approx(0.5) and out["right"] == pytest.approx(0.5) and out["crash"] == 0.0
