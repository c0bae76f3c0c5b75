"""Lecture 8 loop: versions 0.5 / 1.0 / 1.5 do what they say, are seeded, and version 1.5 really learns."""
import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlcourse_utils import model_based as mb
from rlcourse_utils.algos import mbrl

TINY = mbrl.Config(n_random_steps=200, n_iters=2, n_envs=1, ensemble_size=2, hidden=(8,), fit_steps=10,
                   batch_size=16, horizon=3, n_candidates=4, cem_iters=1, n_elite=2)


def test_versions_differ_in_data_and_replanning():
    torch.set_num_threads(1)
    calls, runs = {}, {}
    for v in ["0.5", "0.5+mpc", "1.0", "1.5"]:
        n = [0]

        def spy(params, stats, obs0, actions):
            n[0] += 1
            return mb.ensemble_return(params, stats, obs0, actions)

        r = mbrl.train(dataclasses.replace(TINY, version=v), seed=0, return_fn=spy)
        calls[v], runs[v] = n[0], r
        assert r.env_steps.tolist() == [400, 600]  # every real step counts, random data included
        assert len(r.visited) == 2 and r.visited[0].shape == (200, 3) and r.episode_returns.shape == (2, 1)
        expected = 200 if v in ("0.5", "0.5+mpc") else 600  # versions 0.5 and 0.5+mpc never aggregate
        assert len(r.data[0]) == expected, (v, len(r.data[0]))
    assert calls["1.5"] == calls["0.5+mpc"] == 2 * 200  # MPC: one plan per step (one CEM iteration each)
    assert calls["0.5"] == calls["1.0"] == 2 * int(np.ceil(200 / 3))  # open loop: one plan per H steps
    # round 1 is the same experiment for 0.5 and 1.0, and for 0.5+mpc and 1.5 (same model, same start states)
    assert runs["0.5"].mean_return[0] == runs["1.0"].mean_return[0]
    assert runs["0.5+mpc"].mean_return[0] == runs["1.5"].mean_return[0]
    with pytest.raises(ValueError):
        mbrl.train(dataclasses.replace(TINY, version="2.0"))


def test_true_model_planner_uses_the_same_start_states_and_no_model():
    r_open = mbrl.true_model_episodes(dataclasses.replace(TINY, version="1.0", n_candidates=8), seed=0)
    assert r_open.shape == (1,) and np.isfinite(r_open).all()
    learned = mbrl.train(dataclasses.replace(TINY, version="1.0", n_iters=1), seed=0)
    # same start state: the first observation the learned planner saw is the true-model episode's start
    env = gym.make("Pendulum-v1")
    obs, _ = env.reset(seed=10_000 * 0 + 1000)
    np.testing.assert_allclose(learned.visited[0][0], obs, rtol=1e-6)


def test_pets_runs_with_a_probabilistic_ensemble():
    torch.set_num_threads(1)
    for prop in ["ts_inf", "ts1"]:
        r = mbrl.train(dataclasses.replace(TINY, model="probabilistic", propagation=prop, n_particles=2), seed=0)
        assert r.params[-1].shape == (2, 1, 6)  # mean and log-variance heads
        assert np.isfinite(r.mean_return).all() and (r.train_error < 1).all()


def test_same_seed_same_numbers():
    a, b = mbrl.train(TINY, seed=3), mbrl.train(TINY, seed=3)
    np.testing.assert_array_equal(a.mean_return, b.mean_return)
    np.testing.assert_array_equal(a.train_error, b.train_error)


def test_random_data_starts_at_rest():
    obs, act, next_obs = mbrl.random_data(400, seed=1, at_rest=True)
    assert obs.shape == (400, 3) and act.shape == (400, 1) and np.abs(act).max() <= 2
    first = obs[::200]  # the two episodes' first observations: hanging down, θ̇ = 0
    assert (first[:, 0] < -0.99).all() and (first[:, 2] == 0).all()
    np.testing.assert_array_equal(obs[1:200], next_obs[:199])  # consecutive transitions chain


def test_mpc_with_a_learned_ensemble_swings_the_pendulum_up():
    torch.set_num_threads(1)
    cfg = mbrl.Config(random_at_rest=False, n_iters=1)  # uniform random data, one round of 4 MPC episodes
    assert mbrl.Config().n_iters == 3
    r = mbrl.train(cfg, seed=0)
    assert r.env_steps.tolist() == [1200]
    assert r.mean_return[0] >= -300, r.mean_return  # a random policy scores about -1200
    assert r.train_error[0] < 0.01


def test_render_and_latent_model():
    img = mbrl.render_pendulum(np.array([0.0, np.pi]), size=16)
    assert img.shape == (2, 16, 16) and img.max() <= 1
    top, bottom = img[:, :5].sum((1, 2)), img[:, -5:].sum((1, 2))
    assert top[0] > 5 * bottom[0] and bottom[1] > 5 * top[1]  # θ = 0 is upright, θ = π hangs down
    data = mbrl.image_transitions(2, seed=5)
    assert data["obs"].shape == (398, 2, 16, 16) and data["next_frame"].shape == (398, 16, 16)
    np.testing.assert_array_equal(data["obs"][1:199, 1], data["next_frame"][:198])
    latent, pixel = mbrl.LatentModel(), mbrl.PixelModel()
    history = mbrl.train_image_model(latent, data, steps=150)
    assert history.shape == (150, 3)  # reconstruction, latent dynamics, reward
    assert history[-20:, 0].mean() < 0.7 * history[:20, 0].mean()
    assert mbrl.train_image_model(pixel, data, steps=20).shape == (20, 1)
    o, a, x, o_next = mbrl.open_loop_frames(data, 5)
    assert len(o) == 2 * (199 - 5) and a.shape == (len(o), 5, 1) and x.shape == (len(o), 5, 16, 16)
    np.testing.assert_array_equal(o_next[:, :, 1], x)  # o_{t+k} ends with frame x_{t+k}
    np.testing.assert_array_equal(o_next[:, 0, 0], o[:, 1])  # and starts with x_{t+k-1}
    with torch.no_grad():
        for model in (latent, pixel):
            assert model.predict_frames(torch.as_tensor(o[:3]), torch.as_tensor(a[:3])).shape == (3, 5, 16, 16)


def test_random_shooting_runs_as_mpc_only():
    r = mbrl.train(dataclasses.replace(TINY, planner="random", n_iters=1), seed=0)
    assert r.env_steps.tolist() == [400] and np.isfinite(r.mean_return).all()
    try:
        mbrl.train(dataclasses.replace(TINY, planner="random", version="1.0"), seed=0)
    except ValueError as e:
        assert "MPC version" in str(e)
    else:
        raise AssertionError("random shooting with open-loop execution should be refused")


def test_start_round_runs_round_two_of_version_0_5_with_round_ones_model():
    torch.set_num_threads(1)
    full = mbrl.train(dataclasses.replace(TINY, version="1.5"), seed=0)
    late = mbrl.train(dataclasses.replace(TINY, version="0.5+mpc", start_round=1, n_iters=1), seed=0)
    assert late.train_error[0] == full.train_error[0]  # the same model: fitted once on the random data
    env = gym.make("Pendulum-v1")
    obs, _ = env.reset(seed=1000 + 100 * 1)  # round 2's start state
    np.testing.assert_allclose(late.visited[0][0], obs, rtol=1e-6)
    np.testing.assert_allclose(full.visited[1][0], obs, rtol=1e-6)
    with pytest.raises(ValueError):
        mbrl.train(dataclasses.replace(TINY, version="1.5", start_round=1))
