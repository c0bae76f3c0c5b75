"""Lecture 8 math: hand-computed values and an independent formulation of each function."""
import math

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from rlcourse_utils import model_based as mb


def _net(K=3, sizes=(4, 8, 8, 3), seed=0):
    g = torch.Generator().manual_seed(seed)
    params = [p.detach().double() for p in mb.init_ensemble(K, sizes[0], sizes[-1], sizes[1:-1], g)]
    stats = (torch.randn(4, generator=g, dtype=torch.float64) * 0.1, torch.rand(4, generator=g, dtype=torch.float64) + 0.5,
             torch.randn(3, generator=g, dtype=torch.float64) * 0.01, torch.rand(3, generator=g, dtype=torch.float64) * 0.1 + 0.05)
    return params, stats


def test_delta_loss_equals_mse_on_normalised_deltas():
    g = torch.Generator().manual_seed(1)
    pred, obs, nxt = (torch.randn(4, 6, 3, generator=g, dtype=torch.float64) for _ in range(3))
    m, s = torch.randn(3, dtype=torch.float64, generator=g), torch.rand(3, dtype=torch.float64, generator=g) + 0.1
    want = F.mse_loss(pred, (nxt - obs - m) / s)
    assert torch.allclose(mb.normalised_delta_loss(pred, obs, nxt, m, s), want)
    # hand value: target (1, 1.5), prediction (1, 2): (0 + 0.25) / 2
    one = torch.tensor([[1.0, 2.0]])
    assert math.isclose(float(mb.normalised_delta_loss(one, torch.zeros(1, 2), torch.tensor([[3.0, 4.0]]),
                                                       torch.ones(2), torch.full((2,), 2.0))), 0.125)


def test_normalisation_stats_standardise():
    x = torch.randn(500, 4, dtype=torch.float64) * torch.tensor([1.0, 10.0, 0.1, 3.0]) + 5
    m, s = mb.normalisation_stats(x)
    z = (x - m) / s
    assert torch.allclose(z.mean(0), torch.zeros(4, dtype=torch.float64), atol=1e-10)
    assert torch.allclose(z.std(0, unbiased=False), torch.ones(4, dtype=torch.float64))
    assert (mb.normalisation_stats(torch.ones(3, 2))[1] > 0).all()  # a constant column is not divided by 0


def test_ensemble_forward_equals_k_separate_mlps():
    params, _ = _net()
    x = torch.randn(3, 5, 4, dtype=torch.float64)
    out = mb.ensemble_forward(params, x)
    for k in range(3):
        h = x[k]
        for l in range(3):
            h = F.linear(h, params[2 * l][k].T, params[2 * l + 1][k, 0])
            h = torch.relu(h) if l < 2 else h
        assert torch.allclose(out[k], h)


def test_ensemble_return_equals_step_by_step_rollout_through_predict_next_obs():
    params, stats = _net()
    N, H = 6, 7
    th = torch.linspace(-3, 3, N, dtype=torch.float64)
    obs0 = torch.stack([th.cos(), th.sin(), torch.linspace(-2, 2, N, dtype=torch.float64)], -1)
    actions = torch.rand(N, H, 1, dtype=torch.float64) * 4 - 2
    s, total = obs0.expand(3, N, 3), torch.zeros(3, N, dtype=torch.float64)
    for t in range(H):
        total += mb.pendulum_reward(s, actions[:, t].expand(3, N, 1))
        s = mb.predict_next_obs(params, stats, s, actions[:, t].expand(3, N, 1))
    assert torch.allclose(mb.ensemble_return(params, stats, obs0, actions), total)


def test_pendulum_reward_matches_gymnasium():
    env = gym.make("Pendulum-v1")
    obs, _ = env.reset(seed=3)
    for u in [-2.0, 0.7, 1.9, 0.0]:
        next_obs, r, *_ = env.step(np.array([u], dtype=np.float32))
        got = mb.pendulum_reward(torch.as_tensor(obs, dtype=torch.float64), torch.tensor([u], dtype=torch.float64))
        assert math.isclose(float(got), r, rel_tol=1e-5, abs_tol=1e-5)
        obs = next_obs


def test_cem_update_matches_a_numpy_argsort():
    rng = np.random.default_rng(2)
    actions, returns = rng.normal(size=(3, 9, 4, 2)), rng.normal(size=(3, 9))
    mean, std = rng.normal(size=(3, 4, 2)), rng.random((3, 4, 2))
    new_mean, new_std = mb.cem_update(*(torch.as_tensor(x) for x in (actions, returns)), 4, torch.as_tensor(mean),
                                      torch.as_tensor(std), 0.25)
    for m in range(3):
        elite = actions[m, np.argsort(-returns[m])[:4]]
        np.testing.assert_allclose(new_mean[m], 0.25 * mean[m] + 0.75 * elite.mean(0))
        np.testing.assert_allclose(new_std[m], 0.25 * std[m] + 0.75 * elite.std(0))


def _toy_model():
    """A linear one-member 'ensemble' with θ̇' = θ̇ + u (inputs unnormalised): pendulum-free, solvable by hand."""
    W = torch.zeros(1, 4, 3, dtype=torch.float64)
    W[0, 3, 2] = 1.0  # Δθ̇ = u
    stats = (torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64),
             torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    return (W, torch.zeros(1, 1, 3, dtype=torch.float64)), stats


def test_random_shooting_returns_the_first_action_of_the_best_candidate():
    params, stats = _toy_model()
    obs = torch.tensor([[1.0, 0.0, 1.5], [1.0, 0.0, -1.0]], dtype=torch.float64)  # θ = 0, θ̇ = 1.5 and -1
    g = torch.Generator().manual_seed(0)
    a = mb.random_shooting(params, stats, obs, 2000, 1 + 1, -2.0, 2.0, g)
    assert a.shape == (2, 1)
    # the best plan brakes: θ̇ + u ≈ 0 after one step, so u_0 ≈ -θ̇
    assert abs(a[0, 0] + 1.5) < 0.15 and abs(a[1, 0] - 1.0) < 0.15


def test_cem_beats_random_candidates_on_the_toy_model():
    params, stats = _toy_model()
    obs = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    plan = mb.cem_plan(params, stats, obs, 200, 5, -2.0, 2.0, n_iters=5, n_elite=20, generator=g)
    assert plan.shape == (1, 5, 1) and abs(plan[0, 0, 0] + 1.0) < 0.1  # brakes on the first step
    random_plans = torch.rand(1000, 5, 1, generator=g, dtype=torch.float64) * 4 - 2
    random_returns = mb.ensemble_return(params, stats, obs.expand(1000, 3), random_plans)[0]
    assert mb.ensemble_return(params, stats, obs, plan)[0, 0] > random_returns.quantile(0.99)


def test_disagreement_is_zero_for_identical_members_and_positive_otherwise():
    params, stats = _net(K=1)
    same = [p.expand(4, *p.shape[1:]).clone() for p in params]
    obs, act = torch.randn(10, 3, dtype=torch.float64), torch.randn(10, 1, dtype=torch.float64)
    assert torch.allclose(mb.ensemble_disagreement(same, stats, obs, act), torch.zeros(10, dtype=torch.float64))
    params, stats = _net(K=4)
    assert (mb.ensemble_disagreement(params, stats, obs, act) > 0).all()
