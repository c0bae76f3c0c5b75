"""Lecture 14 loops: the local actor–learner is deterministic and runs; the Ray driver starts, tolerates
a second init, trains a few updates, and leaves nothing running."""
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
        out = impala.train_ray(impala.Config(n_updates=6, n_envs=4, unroll=8), seed=0, n_actors=2)
        assert len(out["curve"]) == 6 and out["lags"].min() >= 0 and out["steps"] > 0
        actors = impala.make_actors(2, n_envs=4, unroll=8)
        out = impala.train_ray(impala.Config(n_updates=4, n_envs=4, unroll=8), actors=actors)
        assert len(out["curve"]) == 4
        assert impala.steps_per_second(actors[:1], n_rounds=1) > 0
    finally:
        ray.shutdown()
    assert not ray.is_initialized()
