"""Lecture 2 algorithms: REINFORCE variants, determinism and learning."""
import dataclasses

import numpy as np
import pytest

from rlcourse_utils.algos import reinforce


def test_advantage_variants():
    r = np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    m = np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(reinforce.advantages(r, m, "full_return", 1.0), [[3, 1], [3, 0], [3, 0]])
    np.testing.assert_allclose(reinforce.advantages(r, m, "reward_to_go", 1.0), [[3, 1], [2, 0], [1, 0]])
    np.testing.assert_allclose(reinforce.advantages(r, m, "baseline", 1.0), [[1, -1], [0, 0], [0, 0]])
    with pytest.raises(ValueError):
        reinforce.advantages(r, m, "nope", 1.0)


def test_same_seed_same_curve():
    cfg = reinforce.Config(total_steps=3000, n_envs=4)
    a, b = reinforce.train(cfg, 5), reinforce.train(cfg, 5)
    np.testing.assert_array_equal(a.returns, b.returns)
    assert a.steps[-1] >= 3000 and np.all(np.diff(a.steps) > 0)


def test_reinforce_with_baseline_solves_cartpole():
    res = reinforce.train(reinforce.Config(variant="baseline"), seed=1)
    assert res.eval_returns.mean() >= 475


def test_gaussian_reinforce_learns_point_mass():
    do_nothing = reinforce.point_mass_return(lambda s: 0 * s[:, 0], 40, 256, 0)
    res = reinforce.train_gaussian(dataclasses.replace(reinforce.GaussianConfig(), n_iters=100), seed=0)
    assert res.eval_return > do_nothing / 3
    assert res.stds[-1] < res.stds[0]


def test_point_mass_optimum_matches_its_own_rollouts():
    value, gains = reinforce.point_mass_optimum(40)
    env = reinforce.PointMass(20000, np.random.default_rng(0))
    s, total = env.reset(), 0.0
    for t in range(40):
        s, r = env.step(-s @ gains[t])
        total = total + r
    assert abs(total.mean() / value - 1) < 0.03
    learned = reinforce.train_gaussian(reinforce.GaussianConfig(n_iters=100), seed=0).eval_return
    assert learned < value + 0.1  # nothing beats the optimum (up to sampling noise)


def test_offscreen_rendering_writes_nothing_to_stderr():
    """Importing the package gives SDL a private XDG_RUNTIME_DIR, so rgb_array rendering on a headless machine
    does not print libwayland's "XDG_RUNTIME_DIR is invalid or not set" into notebook outputs (Lectures 2 and 6)."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "SDL_VIDEODRIVER", "DISPLAY",
                                                             "WAYLAND_DISPLAY")}
    code = ("import rlcourse_utils as rcu\n"
            "frames, total = rcu.plotting.episode_frames('CartPole-v1', lambda obs: 0, seed=0, every=5)\n"
            "assert len(frames) >= 2 and frames[0].shape == (400, 600, 3) and total > 0\n"
            "import gymnasium as gym\n"
            "env = gym.make('CartPole-v1', render_mode='rgb_array'); env.reset(seed=0); env.render(); env.close()\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr == "", out.stderr


def test_an_unknown_optimizer_is_named():
    with pytest.raises(ValueError, match="'rmsprop' or 'adam', not 'sgd'"):
        reinforce.train(reinforce.Config(optimizer="sgd", total_steps=100), seed=0)
