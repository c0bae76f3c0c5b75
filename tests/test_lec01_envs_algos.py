"""Lecture 1's environments, expert, rollouts and algorithm loops (imitation learning)."""
from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from rlcourse_utils import imitation, nets, rollouts
from rlcourse_utils.algos import bc, dagger, mixture
from rlcourse_utils.envs import cartpole, obstacle


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- CartPole expert

def test_lqr_expert_balances_for_500_steps():
    returns = rollouts.evaluate(cartpole.expert_actions, n_episodes=100, seed=0)
    assert returns.shape == (100,)
    assert (returns == 500).all()


def test_linearisation_matches_finite_differences_of_gymnasium_step():
    env = gym.make("CartPole-v1").unwrapped
    env.reset(seed=0)

    def step(state: np.ndarray, action: int) -> np.ndarray:
        env.state = state.astype(np.float64).copy()
        env.steps_beyond_terminated = None
        env.step(action)
        return np.array(env.state, dtype=np.float64)

    A, B = cartpole.linearised_dynamics()
    eps = 1e-5
    A_fd = np.stack([(step(eps * e, 0) - step(-eps * e, 0)) / (2 * eps) for e in np.eye(4)], axis=1)  # (4, 4)
    # gymnasium's step is affine in the force, which is ±force_mag for actions 1 and 0
    B_fd = ((step(np.zeros(4), 1) - step(np.zeros(4), 0)) / (2 * cartpole.FORCE_MAG))[:, None]  # (4, 1)
    np.testing.assert_allclose(A, A_fd, atol=1e-6)
    np.testing.assert_allclose(B, B_fd, atol=1e-9)


def test_lqr_gain_stabilises_the_linear_model():
    A, B = cartpole.linearised_dynamics()
    K = cartpole.lqr_gain()
    assert K.shape == (1, 4)
    assert np.abs(np.linalg.eigvals(A - B @ K)).max() < 1.0


def test_expert_actions_and_partial_observation_shapes():
    states = np.random.default_rng(0).normal(size=(7, 4))
    actions = cartpole.expert_actions(states)
    assert actions.shape == (7,) and actions.dtype == np.int64
    assert set(actions) <= {0, 1}
    assert cartpole.position_only(states).shape == (7, 2)
    np.testing.assert_array_equal(cartpole.position_only(states), states[:, [0, 2]])
    np.testing.assert_array_equal(cartpole.biased_expert_actions(states, bias=0.0), actions)


def test_biased_teacher_is_worse_than_the_expert():
    assert 150 < rollouts.evaluate(cartpole.biased_expert_actions, 10, seed=0).mean() < 400


# ---------------------------------------------------------------- rollouts

def test_rollout_shapes_and_alive_mask():
    rng = np.random.default_rng(0)
    ro = rollouts.rollout(lambda s: rng.integers(0, 2, len(s)), n_envs=5, seed=1)
    assert ro.states.shape == (500, 5, 4)
    assert ro.actions.shape == ro.alive.shape == (500, 5)
    assert ro.alive.dtype == bool and ro.alive[0].all()
    # alive is a prefix: once an episode ends it never comes back
    assert (np.diff(ro.alive.astype(int), axis=0) <= 0).all()
    np.testing.assert_array_equal(ro.returns, ro.alive.sum(0))
    assert ro.returns.max() < 200  # a random policy falls quickly
    assert (ro.states[~ro.alive] == 0).all() and (ro.actions[~ro.alive] == 0).all()  # padding after the end


def test_rollout_history_features_online_equal_offline():
    seen = []

    def policy(features: np.ndarray) -> np.ndarray:  # push toward the side the pole leans to
        seen.append(features.copy())
        return (features[:, -1] > 0).astype(np.int64)

    ro = rollouts.rollout(policy, n_envs=3, seed=0, obs_fn=cartpole.position_only, k=3, max_steps=40)
    assert ro.returns.min() > 5
    offline = ro.features(3, cartpole.position_only)  # (T, N, 6)
    assert offline.shape == (40, 3, 6)
    for t, online in enumerate(seen):
        np.testing.assert_array_equal(online[ro.alive[t]], offline[t][ro.alive[t]])
    np.testing.assert_array_equal(offline[0, :, :2], offline[0, :, 4:])  # t = 0 repeats the first frame


def test_horizon_curves():
    ro = rollouts.rollout(cartpole.expert_actions, n_envs=4, seed=0, max_steps=50)
    np.testing.assert_array_equal(rollouts.survival_curve(ro), np.ones(50))
    np.testing.assert_array_equal(rollouts.mistake_curve(ro, cartpole.expert_actions), np.zeros(50))
    assert rollouts.disagreement(ro, cartpole.expert_actions, cartpole.expert_actions) == 0.0
    flipped = rollouts.rollout(lambda s: 1 - cartpole.expert_actions(s), n_envs=4, seed=0, max_steps=50)
    assert rollouts.mistake_curve(flipped, cartpole.expert_actions)[-1] == flipped.returns.mean()


# ---------------------------------------------------------------- obstacle task

def test_obstacle_env_passes_gymnasium_checker():
    check_env(obstacle.ObstacleEnv(), skip_render_check=True)


def test_obstacle_env_and_batched_step_agree():
    env = obstacle.ObstacleEnv()
    obs, _ = env.reset(seed=3)
    pos = obs.astype(np.float64)[None]
    for _ in range(obstacle.MAX_STEPS):
        action = np.array([0.4], dtype=np.float32)  # passes right of the tree, misses the gate
        obs, reward, terminated, truncated, info = env.step(action)
        pos, finished, crashed = obstacle.step_batch(pos, action[None].astype(np.float64))
        np.testing.assert_allclose(obs, pos[0], atol=1e-6)
        if terminated:
            break
    assert terminated and finished[0] and not crashed[0] and reward == 0.0
    assert not info["success"] and not obstacle.is_success(pos, crashed)[0]


def test_obstacle_expert_succeeds_and_is_bimodal():
    demos = obstacle.expert_demos(200, seed=0)
    assert demos.success.all()
    at_branch = demos.actions[int(obstacle.BRANCH_Y / obstacle.SPEED), :, 0]  # (N,) steering at the branch point
    assert abs(np.mean(at_branch > 0) - 0.5) < 0.01  # half left, half right
    assert np.abs(at_branch).min() > 0.7  # and nobody goes straight
    straight = obstacle.rollout(lambda pos: np.zeros((len(pos), 1)), 10, seed=0)
    assert straight.crashed.all()


# ---------------------------------------------------------------- networks

def test_mixture_policy_matches_mog_log_likelihood_shapes():
    policy = nets.MixturePolicy(obs_dim=2, act_dim=3, n_components=4, hidden=(8,))
    logits, means, log_stds = policy(torch.zeros(5, 2))
    assert logits.shape == (5, 4) and means.shape == log_stds.shape == (5, 4, 3)
    assert imitation.mog_log_likelihood(logits, means, log_stds, torch.zeros(5, 3)).shape == (5,)
    g = torch.Generator().manual_seed(0)
    assert policy.sample(np.zeros((5, 2)), g).shape == (5, 3)
    assert policy.mode(np.zeros((5, 2))).shape == (5, 3)
    assert nets.gaussian_policy(2, 3).n_components == 1
    assert nets.CategoricalPolicy(4, 2, (8,)).act(np.zeros((6, 4))).shape == (6,)


# ---------------------------------------------------------------- algorithms

def test_bc_is_deterministic_for_a_seed():
    cfg = bc.Config(n_demos=1, demo_steps=50, fit_steps=20, eval_episodes=2)
    a, b = bc.train(cfg, seed=4), bc.train(cfg, seed=4)
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.eval_returns, b.eval_returns)
    assert not np.array_equal(a.losses, bc.train(cfg, seed=5).losses)


def test_dagger_is_deterministic_and_counts_labels():
    cfg = dagger.Config(n_iters=2, labels_per_iter=10, fit_steps=10, eval_episodes=2)
    a, b = dagger.train(cfg, seed=1), dagger.train(cfg, seed=1)
    np.testing.assert_array_equal(a.returns, b.returns)
    np.testing.assert_array_equal(a.labels, [20, 30, 40])
    assert len(a.data_actions) == a.labels[-1]


def test_loops_use_the_math_they_are_given():
    calls = []

    def bc_spy(logits, actions):
        calls.append("bc")
        return imitation.bc_loss(logits, actions)

    def ll_spy(*args):
        calls.append("mog")
        return imitation.mog_log_likelihood(*args)

    bc.train(bc.Config(n_demos=1, demo_steps=20, fit_steps=3, eval_episodes=1), seed=0, loss_fn=bc_spy)
    mixture.train(mixture.Config(n_demos=2, fit_steps=2, eval_episodes=1), seed=0, log_likelihood_fn=ll_spy)
    assert calls == ["bc"] * 3 + ["mog"] * 2


def test_dagger_uses_the_aggregate_fn_it_is_given():
    calls = []

    def spy(*args):
        calls.append(args[2].shape)
        return imitation.dagger_aggregate(*args)

    cfg = dagger.Config(n_iters=2, labels_per_iter=10, fit_steps=5, eval_episodes=2, k=2, position_only=True)
    dagger.train(cfg, seed=0, aggregate_fn=spy)
    assert calls == [(10, 4), (10, 4)]  # k * obs_dim = 2 * 2 features per labelled step


def test_dagger_learns_cartpole_with_few_labels():
    result = dagger.train(dagger.Config(), seed=0)
    assert result.returns[-1] >= 475
    assert result.labels[-1] <= 200


def test_history_beats_memoryless_on_position_only_cartpole():
    cfg = bc.Config(position_only=True, n_demos=20, demo_steps=50, fit_steps=200)
    memoryless = bc.train(cfg, seed=0).eval_returns.mean()
    history = bc.train(dataclasses.replace(cfg, k=2), seed=0).eval_returns.mean()
    assert memoryless < 100 and history > 300


def test_mixture_beats_single_gaussian_on_the_obstacle_task():
    single = mixture.train(mixture.Config(n_components=1, eval_episodes=50), seed=0)
    mix = mixture.train(mixture.Config(n_components=5, eval_episodes=50), seed=0)
    assert mix.success_rate >= 0.9 and single.success_rate <= 0.5
    assert mix.losses[-1] < single.losses[-1]


def test_labels_to_reach():
    labels = np.array([10, 20, 40])
    assert dagger.labels_to_reach(labels, np.array([[100, 480, 500], [100, 490, 500]])) == 20
    assert dagger.labels_to_reach(labels, np.array([500, 100, 500])) == 40  # must stay solved
    assert dagger.labels_to_reach(labels, np.array([500, 500, 100])) == float("inf")


def test_mistakes_rate_by_step_and_tightrope_cost_by_hand():
    # two episodes of 4 steps: the first fails after step 1, the second runs on
    states = np.zeros((4, 2, 4))
    states[:, :, 2] = [[0.1, 0.1], [-0.1, 0.1], [0.0, -0.1], [0.0, -0.1]]   # expert: 1, 1 / 0, 1 / 0, 0 / 0, 0
    actions = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
    alive = np.array([[True, True], [True, True], [False, True], [False, True]])
    ro = rollouts.Rollout(states.astype(np.float32), actions, alive, alive.sum(0).astype(float))
    wrong = rollouts.mistakes(ro, cartpole.expert_actions)
    np.testing.assert_array_equal(wrong, [[False, True], [True, False], [False, True], [False, False]])
    # asked on the rollout's states, a policy that always pushes right errs where the expert pushes left
    right = rollouts.mistakes(ro, cartpole.expert_actions, lambda f: np.ones(len(f), dtype=np.int64))
    np.testing.assert_array_equal(right, [[False, False], [True, False], [False, True], [False, True]])
    np.testing.assert_allclose(rollouts.rate_by_step(wrong, alive, np.array([0, 2, 4])), [2 / 4, 1 / 2])
    np.testing.assert_allclose(rollouts.rate_by_step(np.stack([wrong, wrong]), np.stack([alive, alive]),
                                                     np.array([0, 4])), [3 / 6])
    # c_t = mistake or already failed: episode 1 costs 0, 1, 1, 1; episode 2 costs 1, 0, 1, 0
    np.testing.assert_allclose(rollouts.tightrope_cost(wrong, alive), [0.5, 1.0, 2.0, 2.5])


def test_tightrope_cost_of_the_expert_is_zero_and_linear_for_a_flipped_expert():
    ro = rollouts.rollout(cartpole.expert_actions, 5, seed=3, max_steps=60)
    np.testing.assert_array_equal(rollouts.tightrope_cost(rollouts.mistakes(ro, cartpole.expert_actions), ro.alive),
                                  np.zeros(60))
    flipped = rollouts.mistakes(ro, cartpole.expert_actions, lambda f: 1 - cartpole.expert_actions(f))
    np.testing.assert_array_equal(rollouts.tightrope_cost(flipped, ro.alive), np.arange(1, 61))
