"""Lecture 7 planning: CEM on a known optimum, MCTS against exhaustive search, CEM-MPC on Pendulum-v1."""
import dataclasses

import numpy as np
import pytest

from rlcourse_utils import planning


def quadratic_objective(target):
    return lambda A: -((A - target) ** 2).reshape(len(A), -1).sum(1)


def test_cem_finds_the_optimum_of_a_quadratic_and_beats_random_shooting():
    target = np.array([[0.5], [-1.2], [1.5], [0.0], [-0.3]])
    J = quadratic_objective(target)
    rng = np.random.default_rng(0)
    mean, std, best = planning.cem(J, np.zeros((5, 1)), np.ones((5, 1)), -2, 2, 10, 200, 20, rng)
    np.testing.assert_allclose(mean, target, atol=0.05)
    assert std.max() < 0.1 and best[-1] >= best[0]
    _, j_rs = planning.random_shooting(J, (5, 1), -2, 2, 2000, np.random.default_rng(0))
    assert J(mean[None])[0] > j_rs                                   # 2000 CEM samples vs 2000 random ones


@pytest.mark.parametrize("seed", range(5))
def test_mcts_finds_the_optimal_first_action_where_flat_monte_carlo_fails(seed):
    step_fn = planning.deceptive_tree(depth=5, seed=seed)
    exact = planning.exhaustive_search(step_fn, (), 2, 5)
    assert exact.argmax() == 1 and exact[1] == 1.0
    a, n, q = planning.mcts(step_fn, (), 2, 5, 1000, 1 / np.sqrt(2), np.random.default_rng(seed))
    assert a == 1 and n.sum() == 1000
    a_flat, _ = planning.flat_monte_carlo(step_fn, (), 2, 5, 1000, np.random.default_rng(seed))
    assert a_flat == 0


def test_mcts_on_a_random_tree_matches_exhaustive_search():
    rng = np.random.default_rng(3)
    R = rng.uniform(size=(3 ** 4, 3))                               # reward of action a in node (path index)

    def step_fn(path, a):
        idx = int(sum(p * 3 ** i for i, p in enumerate(path))) if path else 0
        return path + (a,), float(R[idx % len(R), a])

    exact = planning.exhaustive_search(step_fn, (), 3, 4)
    a, n, _ = planning.mcts(step_fn, (), 3, 4, 3000, 0.5, np.random.default_rng(0))
    assert a == exact.argmax()


def test_cem_mpc_swings_up_pendulum_on_the_real_env():
    cfg = dataclasses.replace(planning.MPCConfig(), max_steps=120)
    result = planning.run_cem_mpc("Pendulum-v1", cfg, seed=0, n_episodes=3)
    assert len(result.returns) == 3 and result.actions[0].shape == (120, 1)
    assert np.all(np.abs(np.concatenate(result.actions)) <= 2.0)
    # the last 20 steps are spent upright: reward close to 0
    late = np.stack(result.rewards)[:, -20:]
    assert late.mean() > -0.1, late.mean(1)


def test_cem_mpc_is_deterministic_given_the_seed():
    cfg = dataclasses.replace(planning.MPCConfig(), max_steps=15, n_samples=50, n_elite=5)
    a = planning.run_cem_mpc("Pendulum-v1", cfg, seed=3)
    b = planning.run_cem_mpc("Pendulum-v1", cfg, seed=3)
    np.testing.assert_array_equal(a.actions[0], b.actions[0])
