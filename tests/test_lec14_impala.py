"""Lecture 14 loops: the fixed schedule (update u learns from actor u mod K's rollout of the weights of
update max(0, u - ℓ)), determinism, the Ray transport equal to the local one bit for bit, a second
``ray.init`` harmless, and nothing left running."""
import logging
import os

import numpy as np
import pytest

from rlcourse_utils.algos import impala


def test_local_is_deterministic_and_learns_a_little():
    cfg = impala.Config(n_updates=40, n_envs=8, unroll=16, lag=3)
    a, b = impala.train_local(cfg, seed=0), impala.train_local(cfg, seed=0)
    assert np.array_equal(a["curve"], b["curve"]) and a["final_eval"] == b["final_eval"]
    assert a["steps"] > 40 * 16 * 8 * 0.9
    assert a["curve"][-1] > a["curve"][1]
    c = impala.train_local(cfg, seed=1)
    assert not np.array_equal(a["curve"], c["curve"])  # the seed matters


@pytest.mark.parametrize("n_actors,lag", [(1, 0), (1, 3), (2, 1), (3, 1), (2, 5)])
def test_schedule_lag_is_exact(n_actors, lag):
    out = impala.train_local(impala.Config(n_updates=12, n_envs=2, unroll=4, n_actors=n_actors, lag=lag))
    assert out["lags"].tolist() == [min(u, lag) for u in range(12)]


def test_lag_zero_rollouts_are_on_policy_and_lag_makes_them_stale():
    cfg = dict(n_updates=30, n_envs=8, unroll=16)
    fresh = impala.train_local(impala.Config(lag=0, **cfg))
    stale = impala.train_local(impala.Config(lag=10, **cfg))
    assert np.allclose(fresh["rho"], 1.0, atol=1e-5) and fresh["small"].max() == 0.0
    assert stale["rho"][15:].mean() < 0.999 and stale["rho"][15:].mean() < fresh["rho"][15:].mean()


def test_collector_reset_restores_the_fresh_state():
    w = impala.get_weights(impala.ActorCritic())
    a, b = impala.Collector(4, 8, seed=5), impala.Collector(4, 8, seed=5)
    a.collect(w)
    a.reset(5)
    x, y = a.collect(w), b.collect(w)
    assert all(np.array_equal(x[k], y[k]) for k in ["obs", "act", "logp", "rew", "done", "mask"])


def test_rollout_masks_autoreset_steps():
    col = impala.Collector(n_envs=4, unroll=200, seed=0)
    out = col.collect(impala.get_weights(impala.ActorCritic()))
    done_t, done_e = np.nonzero(out["done"])
    assert len(done_t) > 0
    for t, e in zip(done_t, done_e):
        if t + 1 < 200:
            assert not out["mask"][t + 1, e] and out["rew"][t + 1, e] == 0.0
    assert out["steps"] == out["mask"].sum()


def test_ray_start_train_stop():
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    ray = pytest.importorskip("ray")
    args = dict(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
                logging_level=logging.ERROR, ignore_reinit_error=True)
    ray.init(**args)
    try:
        ray.init(**args)  # a second init in the same process does not fail
        cfg = impala.Config(n_updates=20, n_envs=4, unroll=8, n_actors=2, lag=1)
        local = impala.train_local(cfg, seed=3)
        out = impala.train_ray(cfg, seed=3)  # its own actors, killed at the end
        assert np.array_equal(out["curve"], local["curve"]) and np.array_equal(out["rho"], local["rho"])
        assert out["episode_returns"] == local["episode_returns"] and out["final_eval"] == local["final_eval"]
        actors = impala.make_actors(3, n_envs=4, unroll=8)
        assert impala.steps_per_second(actors[:1], n_rounds=1) > 0  # moves the actors' state on
        again = impala.train_ray(cfg, seed=3, actors=actors)  # re-seeded: the same run again
        assert np.array_equal(again["curve"], local["curve"])
        early = impala.train_ray(cfg, seed=3, actors=actors, target=0.0, eval_every=5)
        assert len(early["curve"]) == 5 and early["evals"][0][0] == 5
    finally:
        ray.shutdown()
    assert not ray.is_initialized()


def test_time_limit_bootstraps_and_reset_steps_are_cut():
    """A termination sets γ_t = 0; the time limit keeps γ_t = γ (bootstrap from the last observation);
    the reset step after any episode end gets ρ = c = 0 (log ratio -inf), so no trace crosses it."""
    import gymnasium as gym
    import torch

    col = impala.Collector(n_envs=8, unroll=40, seed=1)
    col.env = gym.make_vec("CartPole-v1", num_envs=8, vectorization_mode="vector_entry_point", max_episode_steps=12)
    col.reset(1)
    batch = col.collect(impala.get_weights(impala.ActorCritic()))
    trunc = batch["done"] & ~batch["term"]
    assert trunc.any() and batch["term"].any()
    seen = {}

    def spy(r, v, b, disc, log_rhos, rho_bar, c_bar):
        seen.update(disc=disc, log_rhos=log_rhos)
        return impala.vtrace.vtrace_targets(r, v, b, disc, log_rhos, rho_bar, c_bar)

    model = impala.ActorCritic()
    cfg = impala.Config(gamma=0.9)
    for correction in [True, False]:
        impala.update(model, torch.optim.Adam(model.parameters()), batch, impala.Config(gamma=0.9, correction=correction), spy)
        assert np.all(seen["disc"][batch["term"]] == 0.0) and np.all(seen["disc"][trunc] == cfg.gamma)
        assert np.all(np.isneginf(seen["log_rhos"][~batch["mask"]])) and np.isfinite(seen["log_rhos"][batch["mask"]]).all()


def test_update_equals_an_independent_recomputation_on_a_lagged_batch():
    """The learner's loss, recomputed in float64 from its definition: μ's log-probabilities are those of
    the lagged weights that acted, π's the current learner's; V-trace targets by the explicit double sum,
    advantage ρ_s (r_s + γ_s v_{s+1} - V(x_s)), targets and weights without gradient; without the
    correction ρ = c = 1 (n-step targets of the stale data). Gradients compared before clipping."""
    import copy
    import dataclasses

    import torch

    for corr in [True, False]:
        cfg = dataclasses.replace(impala.LAG, n_envs=4, unroll=12, lag=6, correction=corr, grad_clip=1e9)
        model, opt, _ = impala._new_learner(cfg, 0)
        col = impala.Collector(cfg.n_envs, cfg.unroll, 0)
        old = copy.deepcopy(model)
        for _ in range(6):  # move the learner away from the weights that will act
            impala.update(model, opt, col.collect(impala.get_weights(model)), cfg)
        batch = col.collect(impala.get_weights(old))
        m = copy.deepcopy(model).double()
        obs, a, msk = torch.tensor(batch["obs"], dtype=torch.float64), torch.tensor(batch["act"]), batch["mask"]
        with torch.no_grad():
            lmu = torch.log_softmax(old.double().pi(obs[:-1]), -1).gather(-1, a[..., None])[..., 0].numpy()
        assert np.abs(lmu - batch["logp"])[msk].max() < 1e-5
        logits, V = m(obs)
        lp_all = torch.log_softmax(logits[:-1], -1)
        lpi = lp_all.gather(-1, a[..., None])[..., 0]
        ratio = np.where(msk, np.exp(lpi.detach().numpy() - lmu) if corr else 1.0, 0.0)
        assert corr is False or ratio[msk].min() < 0.95  # the batch really is off-policy
        rho, c = np.minimum(cfg.rho_bar, ratio), np.minimum(cfg.c_bar, ratio)
        g, Vn, r = cfg.gamma * (1.0 - batch["term"]), V.detach().numpy(), batch["rew"].astype(np.float64)
        delta = rho * (r + g * Vn[1:] - Vn[:-1])
        vs = np.zeros_like(r)
        for s in range(cfg.unroll):
            w = np.ones(cfg.n_envs)
            for t in range(s, cfg.unroll):
                vs[s] += w * delta[t]
                w = w * g[t] * c[t]
        vs += Vn[:-1]
        adv = rho * (r + g * np.concatenate([vs[1:], Vn[-1:]]) - Vn[:-1])
        mk = torch.tensor(msk, dtype=torch.float64)
        loss = (-(mk * torch.tensor(adv) * lpi).sum() + cfg.vf_coef * (mk * (torch.tensor(vs) - V[:-1]) ** 2).sum()
                + cfg.ent_coef * (mk * (lp_all.exp() * lp_all).sum(-1)).sum()) / mk.sum()
        want = torch.autograd.grad(loss, list(m.parameters()))
        spy = torch.optim.SGD(model.parameters(), lr=0.0)
        impala.update(model, spy, batch, cfg)
        for p, w_ in zip(model.parameters(), want):
            assert torch.allclose(p.grad.double(), w_, rtol=1e-3, atol=1e-6 * float(w_.abs().max()) + 1e-9)
