"""Batched Pendulum-v1 dynamics equal gymnasium's PendulumEnv.step, in numpy and in torch."""
import gymnasium as gym
import numpy as np
import torch

from rlcourse_utils.envs import pendulum


def _gym_trajectory(seed: int, n_steps: int = 200):
    env = gym.make("Pendulum-v1")
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    states, actions, rewards, next_obs = [], [], [], []
    for _ in range(n_steps):
        states.append(env.unwrapped.state.copy())
        a = rng.uniform(-3, 3, size=1).astype(np.float32)          # beyond the bounds: the clip must match
        obs, r, terminated, truncated, _ = env.step(a)
        actions.append(a), rewards.append(r), next_obs.append(obs)
    return np.array(states), np.array(actions), np.array(rewards), np.array(next_obs)


def test_numpy_step_matches_gymnasium_exactly_on_a_batch():
    for seed in range(3):
        S, A, R, O2 = _gym_trajectory(seed)
        S2, r = pendulum.step_state(S, A)                          # all 200 transitions as one batch
        np.testing.assert_allclose(r, R, rtol=1e-14, atol=0)       # the same expressions, to the last bit or so
        np.testing.assert_allclose(pendulum.state_to_obs(S2), O2, rtol=0, atol=1e-6)  # gym's obs is float32
        # rolled forward from the first state only, the trajectory stays identical
        s = S[0]
        for t in range(len(A)):
            s, rt = pendulum.step_state(s, A[t])
            assert abs(rt - R[t]) <= 1e-14 * abs(R[t])
        np.testing.assert_allclose(pendulum.state_to_obs(s), O2[-1], atol=1e-6)


def test_observation_api_and_extra_batch_axes():
    S, A, R, O2 = _gym_trajectory(5, 60)
    obs = pendulum.state_to_obs(S)
    next_obs, r = pendulum.step(obs.reshape(3, 20, 3), A.reshape(3, 20, 1))
    assert next_obs.shape == (3, 20, 3) and r.shape == (3, 20)
    np.testing.assert_allclose(next_obs.reshape(60, 3), O2, atol=1e-6)
    np.testing.assert_allclose(r.reshape(60), R, rtol=1e-9)
    np.testing.assert_allclose(pendulum.obs_to_state(obs)[:, 0], pendulum.angle_normalize(S[:, 0]), atol=1e-9)
    assert np.all(np.abs(O2) <= pendulum.OBS_HIGH + 1e-6)


def test_torch_twin_matches_numpy_and_is_differentiable():
    S, A, R, _ = _gym_trajectory(7, 100)
    A = A.astype(np.float64)
    s2, r = pendulum.step_state(S, A)
    ts, ta = torch.tensor(S, requires_grad=True), torch.tensor(A.astype(np.float64), requires_grad=True)
    ts2, tr = pendulum.step_state_torch(ts, ta)
    np.testing.assert_allclose(ts2.detach().numpy(), s2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tr.detach().numpy(), r, rtol=1e-12, atol=1e-12)
    tr.sum().backward()
    assert torch.isfinite(ts.grad).all() and (ta.grad != 0).any()
    o2, ro = pendulum.step_torch(torch.tensor(pendulum.state_to_obs(S)), torch.tensor(A.astype(np.float64)))
    np.testing.assert_allclose(o2.numpy(), pendulum.state_to_obs(s2), atol=1e-9)
    np.testing.assert_allclose(ro.numpy(), r, rtol=1e-9)


def test_smooth_dynamics_agree_inside_the_bounds():
    rng = np.random.default_rng(0)
    S = np.stack([rng.uniform(-np.pi, np.pi, 500), rng.uniform(-4, 4, 500)], -1)
    A = rng.uniform(-2, 2, (500, 1))
    s2, _ = pendulum.step_state(S, A)
    np.testing.assert_allclose(pendulum.smooth_dynamics_torch(torch.tensor(S), torch.tensor(A)).numpy(), s2, atol=1e-12)
