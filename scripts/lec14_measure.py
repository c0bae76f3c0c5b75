"""Lecture 14's full-size measurements (the notebook's FULL runs, over several seeds).

    .venv/bin/python scripts/lec14_measure.py [--seeds 3] [--updates 600]

1. The Ray actor–learner (2 actors) per seed: the update and env steps at which the greedy policy's
   mean return over 20 episodes first reaches 475 (evaluated every 25 updates), and the policy lag.
2. Fixed-lag runs (train_local) with V-trace on and off: mean training return over the run and
   final greedy return, per lag, mean and range over seeds.
3. Env steps/s against the number of Ray actors (1, 2, 4, 8).
Starts and stops Ray itself.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import time

import numpy as np
import torch

os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
logging.getLogger("ray").setLevel(logging.ERROR)

from rlcourse_utils.algos import impala  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--updates", type=int, default=600)
    ap.add_argument("--lags", type=int, nargs="+", default=[0, 32, 96])
    args = ap.parse_args()
    torch.set_num_threads(1)
    import ray

    with contextlib.redirect_stderr(io.StringIO()):
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 logging_level=logging.ERROR, ignore_reinit_error=True)
    try:
        print("1. Ray actor–learner, 2 actors, target greedy mean 475")
        for s in range(args.seeds):
            t0 = time.perf_counter()
            run = impala.train_ray(impala.Config(n_updates=args.updates, lr=3e-3), seed=s, n_actors=2, target=475.0)
            hit = [u for u, r in run["evals"] if r >= 475]
            print(f"  seed {s}: " + (f"reached at update {hit[0]}, {run['steps']} env steps" if hit else
                                     f"not reached in {args.updates} updates (best {max(r for _, r in run['evals']):.0f})")
                  + f"; lag mean {run['lags'].mean():.2f} max {run['lags'].max()}; {time.perf_counter() - t0:.1f} s wall",
                  flush=True)
        print("3. env steps/s against actors")
        actors = impala.make_actors(8)
        for k in [1, 2, 4, 8]:
            print(f"  {k} actor(s): {impala.steps_per_second(actors[:k], n_rounds=8):,.0f}", flush=True)
    finally:
        ray.shutdown()
    print("2. fixed lag, V-trace on/off: mean training return over the run (final greedy return)")
    for lag in args.lags:
        for corr in [True, False]:
            outs = [impala.train_local(impala.Config(lag=lag, correction=corr, n_updates=args.updates, lr=3e-3), seed=s)
                    for s in range(args.seeds)]
            m = [o["curve"].mean() for o in outs]
            f = [o["final_eval"] for o in outs]
            print(f"  lag {lag:3d} correction {'on ' if corr else 'off'}: {np.mean(m):.0f} "
                  f"[{min(m):.0f}, {max(m):.0f}] ({np.mean(f):.0f} [{min(f):.0f}, {max(f):.0f}])", flush=True)


if __name__ == "__main__":
    main()
