"""Lecture 8 math: hand-computed values and an independent formulation of each function."""
import functools
import math

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from rlcourse_utils import planning

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
    a = mb.random_shooting(functools.partial(mb.ensemble_return, params, stats), obs, 1, 2000, 1 + 1, -2.0, 2.0, g)
    assert a.shape == (2, 1)
    # the best plan brakes: θ̇ + u ≈ 0 after one step, so u_0 ≈ -θ̇
    assert abs(a[0, 0] + 1.5) < 0.15 and abs(a[1, 0] - 1.0) < 0.15


def test_cem_beats_random_candidates_on_the_toy_model():
    params, stats = _toy_model()
    obs = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    plan = mb.cem_plan(functools.partial(mb.ensemble_return, params, stats), obs, 1, 200, 5, -2.0, 2.0, n_iters=5,
                       n_elite=20, generator=g)
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


def test_cem_plan_refits_with_lecture_7s_update():
    """The planner's refit is planning.cem_update (one CEM for the course): a spy sees batched (M, N, H, A) calls."""
    params, stats = _toy_model()
    calls = []

    def spy(samples, returns, n_elite):
        calls.append((samples.shape, returns.shape, n_elite))
        return planning.cem_update(samples, returns, n_elite)

    obs = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, -0.5]], dtype=torch.float64)
    mb.cem_plan(functools.partial(mb.ensemble_return, params, stats), obs, 1, 30, 4, -2.0, 2.0, n_iters=3, n_elite=5,
                generator=torch.Generator().manual_seed(0), update_fn=spy)
    assert calls == [((2, 30, 4, 1), (2, 30), 5)] * 3


def test_gaussian_nll_is_the_mean_negative_log_density():
    g = torch.Generator().manual_seed(3)
    mean, log_var, y = (torch.randn(2, 7, 3, generator=g, dtype=torch.float64) for _ in range(3))
    want = -torch.distributions.Normal(mean, (0.5 * log_var).exp()).log_prob(y).mean()
    assert torch.allclose(mb.gaussian_nll(mean, log_var, y), want)
    shared = torch.randn(3, generator=g, dtype=torch.float64)  # one log σ² per dimension, broadcast
    want = -torch.distributions.Normal(mean, (0.5 * shared).exp()).log_prob(y).mean()
    assert torch.allclose(mb.gaussian_nll(mean, shared, y), want)


def test_bounded_log_var_stays_inside_its_bounds_and_is_monotone():
    raw = torch.linspace(-10, 10, 1001, dtype=torch.float64)
    lv = mb.bounded_log_var(raw, -3.0, 0.5)
    assert (lv > -3.0).all() and (lv < 0.5 + math.log1p(math.exp(-3.5))).all() and (torch.diff(lv) > 0).all()
    assert float(lv[0]) < -2.99 and float(lv[-1]) > 0.5  # saturates at the bounds (the upper one overshot a little)


def _zero_pe(K: int, logvar_raw: float = 0.0):
    params = [torch.zeros_like(p).double() for p in mb.init_ensemble(K, 4, 6, (8,))]
    params[-1][..., 3:] = logvar_raw  # the raw log-variance output
    return params


def test_pets_return_samples_with_the_heads_variance():
    """Zero network, only θ̇ moves with σ_Δ = 1: after one step θ̇ ~ N(θ̇_0, exp(v)); E r(s_1) = -0.1 (θ̇_0² + e^v)."""
    stats = (torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64), torch.zeros(3, dtype=torch.float64),
             torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    v = float(mb.bounded_log_var(torch.tensor(0.0)))
    obs0, actions = torch.tensor([[1.0, 0.0, 2.0]], dtype=torch.float64), torch.zeros(1, 2, 1, dtype=torch.float64)
    for prop in ["ts_inf", "ts1"]:
        R = mb.pets_return(_zero_pe(3), stats, obs0, actions, n_particles=10_000, propagation=prop,
                           generator=torch.Generator().manual_seed(0))
        assert R.shape == (30_000, 1)
        exact = -0.1 * 4 - 0.1 * (4 + math.exp(v))
        assert abs(float(R.mean()) - exact) < 3 * float(R.std()) / math.sqrt(R.numel())


def test_ts_inf_keeps_members_and_ts1_mixes_them():
    """Two members that differ only in their mean: +1 or -1 per step on θ̇ (normalised, σ_Δ = 1, tiny noise).
    TS∞: a particle's θ̇ after t steps is ±t; TS1: a random walk, mostly in between."""
    params = _zero_pe(2, logvar_raw=-50.0)  # log σ² at its lower bound -3: noise std e^-1.5 ≈ 0.22 per step
    params[-1][0, 0, 2], params[-1][1, 0, 2] = 1.0, -1.0
    stats = (torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64), torch.zeros(3, dtype=torch.float64),
             torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    obs0, actions = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64), torch.zeros(1, 5, 1, dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    e_v = math.exp(float(mb.bounded_log_var(torch.tensor(-50.0))))  # the noise variance per step
    # TS∞: θ̇_t = ±t + noise, E Σ_{t<5} θ̇_t² = Σ (t² + t e^v); TS1: a ±1 random walk, E Σ θ̇_t² = Σ t (1 + e^v)
    for prop, exact in [("ts_inf", -0.1 * (30 + 10 * e_v)), ("ts1", -0.1 * 10 * (1 + e_v))]:
        R = mb.pets_return(params, stats, obs0, actions, n_particles=2000, propagation=prop, generator=g)
        assert abs(float(R.mean()) - exact) < 4 * float(R.std()) / math.sqrt(R.numel()), (prop, float(R.mean()), exact)


def test_true_return_equals_gymnasium_rewards():
    env = gym.make("Pendulum-v1")
    obs, _ = env.reset(seed=4)
    actions = np.random.default_rng(0).uniform(-2, 2, (12, 1)).astype(np.float32)
    total = 0.0
    for a in actions:
        _, r, *_ = env.step(a)
        total += r
    got = mb.true_return(torch.as_tensor(obs[None], dtype=torch.float64), torch.as_tensor(actions[None], dtype=torch.float64))
    assert got.shape == (1, 1) and math.isclose(float(got), total, rel_tol=1e-4)


def test_system_identification_recovers_pendulum_constants_and_predicts_gymnasium():
    from rlcourse_utils.algos import mbrl
    o, a, o2 = mbrl.random_data(200, seed=2, at_rest=False)
    coef = mb.fit_pendulum_physics(o[:5], a[:5], o2[:5])
    np.testing.assert_allclose(coef, [15.0, 3.0], atol=1e-3)
    pred = mb.pendulum_physics_step(o.astype(np.float64), a, np.array([15.0, 3.0]))
    np.testing.assert_allclose(pred, o2, atol=1e-5)  # the identified model is gymnasium's step
    assert mb.unexplained_variance(pred, o, o2) < 1e-9
    mean_change = o + (o2 - o).mean(0)
    assert math.isclose(mb.unexplained_variance(mean_change, o, o2), 1.0, rel_tol=1e-6)
    lin = mb.fit_pendulum_physics(o, a, o2, small_angle=True)
    assert mb.unexplained_variance(mb.pendulum_physics_step(o, a, lin, small_angle=True), o, o2) > 0.1
