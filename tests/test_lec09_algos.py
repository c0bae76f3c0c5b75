"""Lecture 9 loops: the maze, Dyna-Q, DAgger from an MPC planner and deterministic GPS really work."""
import dataclasses

import numpy as np
import torch
from scipy.optimize import minimize

from rlcourse_utils.algos import distill, dyna, gps
from rlcourse_utils.envs.maze import Maze


def test_maze_layout_and_step():
    m = Maze()
    assert (m.n_rows, m.n_cols) == (6, 9) and m.walls.sum() == 7
    assert m.shortest_path_length() == 14  # Sutton & Barto's Dyna maze
    s, _ = m.reset()
    s2, r, term, trunc, _ = m.step(3)  # left from the start: off the grid, stays
    assert s2 == s and r == 0.0 and not term and not trunc
    terminal = m.tables()[2]
    terminal[m.goal] = False  # the goal and the walls are never acted from
    terminal[m.walls.reshape(-1)] = False
    assert np.argwhere(terminal).tolist() == [[m.goal + m.n_cols, 0]]  # only 'up' from below: left of G is a wall


def test_dyna_is_seeded_and_planning_saves_real_steps():
    cfg = dyna.Config(n_episodes=30)
    a = dyna.train(dataclasses.replace(cfg, n_planning=5), seed=0)
    b = dyna.train(dataclasses.replace(cfg, n_planning=5), seed=0)
    np.testing.assert_array_equal(a.steps_per_episode, b.steps_per_episode)
    after_first = {n: np.mean([dyna.train(dataclasses.replace(cfg, n_planning=n), seed=s).steps_per_episode[1:].sum()
                               for s in range(3)]) for n in (0, 10)}
    assert after_first[10] < 0.5 * after_first[0]


def test_dyna_rollouts_learn_the_shortest_path():
    res = dyna.train(dyna.Config(n_episodes=30, n_planning=10, rollout_length=3, epsilon=0.1), seed=1)
    assert res.n_model_updates == 10 * res.steps_per_episode.sum()
    m = Maze()
    s, steps = m.reset()[0], 0
    while s != m.goal and steps < 100:  # the greedy policy of the learned Q
        s = int(m.next_state[s, res.Q[s].argmax()])
        steps += 1
    assert steps <= 16


def test_mpc_expert_solves_its_quadratic_program():
    sysm = distill.DoubleIntegrator()
    x = sysm.sample_states(20, np.random.default_rng(0))
    u_fast, u_exact = distill.mpc_expert(sysm)(x), distill.mpc_expert(sysm, iters=3000)(x)
    assert np.abs(u_fast - u_exact).max() < 0.02 and np.abs(u_fast).max() <= sysm.u_max


def test_dagger_distils_the_planner_to_90_percent_of_its_return():
    torch.set_num_threads(1)
    res = distill.train(distill.Config(n_iters=1, n_envs=4, grad_steps=120, n_eval=16), seed=0)
    assert len(res.returns) == 2 and res.n_labels == [240, 480]
    assert res.returns[-1] < 0 and res.returns[-1] >= res.expert_return / 0.9  # costs: ≥ 90% of the expert


def test_gps_converges_to_the_best_linear_policy():
    sysm = distill.DoubleIntegrator(a=1.0)
    A, B, q = sysm.A, sysm.B, np.array(sysm.q)
    x0 = np.array([[2.0, 0.0], [-1.0, 1.0], [0.5, -1.0], [-2.5, -0.5]])
    res = gps.train(A, B, q, sysm.r, x0, gps.Config(n_iters=80))
    assert res.violation[-1] < 1e-4 < res.violation[0]
    f = lambda k: gps.trajectory_cost(*gps.policy_rollout(A, B, k[None], x0, 40), q, sysm.r).sum()
    direct = minimize(f, np.array([-1.0, -1.0]), method="BFGS", options={"gtol": 1e-9})
    np.testing.assert_allclose(res.K[0], direct.x, atol=2e-3)
    assert abs(res.policy_cost[-1] - direct.fun) < 1e-3 * direct.fun


def test_the_planner_labels_the_learners_states_and_never_acts():
    sysm = distill.DoubleIntegrator()
    expert = distill.mpc_expert(sysm)
    cfg = distill.Config(n_iters=1, n_envs=3, grad_steps=20, n_eval=4)
    visited = {}

    for dagger in (True, False):
        def spy(data_obs, data_u, visited_obs, visited_states, label):
            visited[dagger] = visited_states.copy()
            return distill.dagger_aggregate(data_obs, data_u, visited_obs, visited_states, label)

        distill.train(dataclasses.replace(cfg, dagger=dagger), seed=0, system=sysm, expert=expert, aggregate_fn=spy)
    rng = np.random.default_rng(0)
    sysm.sample_states(3, rng)  # iteration 0's initial states
    x0 = sysm.sample_states(3, rng)  # iteration 1's
    xs_expert, _ = distill.rollout(sysm, expert, x0, cfg.episode_len)
    np.testing.assert_allclose(visited[False], xs_expert.reshape(-1, 2))  # BC: the expert's own states
    np.testing.assert_allclose(visited[True][:3], x0)  # DAgger: same start ...
    assert not np.allclose(visited[True], xs_expert.reshape(-1, 2), atol=1e-6)  # ... but the learner's states


def test_gps_adaptive_teacher_matters_only_for_a_restricted_learner():
    """Velocity-only policy: a one-shot fit to the open-loop optimum diverges, GPS reaches the best gain.
    Full-state policy (the control arm): both agree."""
    sysm = distill.DoubleIntegrator(a=1.0)
    A, B, q = sysm.A, sysm.B, np.array(sysm.q)
    x0 = np.array([[2.0, 0.0], [-1.0, 1.0], [0.5, -1.0], [-2.5, -0.5]])
    cfg, once_cfg = gps.Config(n_iters=80), gps.Config(n_iters=1, rho=1e-12)
    C_v = np.array([[0.0, 1.0]])
    res, once = gps.train(A, B, q, sysm.r, x0, cfg, C=C_v), gps.train(A, B, q, sysm.r, x0, once_cfg, C=C_v)
    f = lambda k: gps.trajectory_cost(*gps.policy_rollout(A, B, k[None], x0, 40, C_v), q, sysm.r).sum()
    direct = minimize(f, np.array([-1.0]), method="BFGS", options={"gtol": 1e-9})
    assert res.violation[-1] < 1e-6 and abs(res.policy_cost[-1] / direct.fun - 1) < 1e-6
    assert once.policy_cost[-1] > 100 * res.policy_cost[-1]
    full, full_once = gps.train(A, B, q, sysm.r, x0, cfg), gps.train(A, B, q, sysm.r, x0, once_cfg)
    assert abs(full_once.policy_cost[-1] / full.policy_cost[-1] - 1) < 1e-4


def test_gps_with_identity_observation_is_the_full_state_policy():
    sysm = distill.DoubleIntegrator(a=1.0)
    x0 = np.array([[1.0, 0.5], [-0.5, 0.2]])
    a = gps.train(sysm.A, sysm.B, np.array(sysm.q), sysm.r, x0, gps.Config(n_iters=5))
    b = gps.train(sysm.A, sysm.B, np.array(sysm.q), sysm.r, x0, gps.Config(n_iters=5), C=np.eye(2))
    np.testing.assert_allclose(a.K, b.K)


def test_gps_velocity_only_gap_holds_for_other_initial_states():
    """The adaptive-teacher gap is not an accident of the notebook's four initial states."""
    sysm = distill.DoubleIntegrator(a=1.0)
    A, B, q = sysm.A, sysm.B, np.array(sysm.q)
    C_v = np.array([[0.0, 1.0]])
    for seed in range(3):
        x0 = sysm.sample_states(4, np.random.default_rng(seed))
        res = gps.train(A, B, q, sysm.r, x0, gps.Config(n_iters=80), C=C_v)
        once = gps.train(A, B, q, sysm.r, x0, gps.Config(n_iters=1, rho=1e-12), C=C_v)
        assert res.violation[-1] < 1e-6 and once.policy_cost[-1] > 100 * res.policy_cost[-1]
        assert res.traj_cost[-1] > 2 * res.traj_cost[0] and res.policy_cost[0] > 100 * res.policy_cost[-1]
