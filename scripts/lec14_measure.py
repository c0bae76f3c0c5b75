"""Lecture 14's measurements over many seeds (the notebook runs one or two seeds of each).

    .venv/bin/python scripts/lec14_measure.py [--seeds 10] [--lag-seeds 4] [--lags 0 8 32 128]
                                              [--skip-ray] [--skip-lag] [--lr 5e-3 1e-2] [--grad-clip 1.0]

1. The Ray actor–learner (``impala.RAY``: 2 actors, lag 1) per seed, exactly as the notebook runs
   it: the update at which the greedy mean over 20 episodes first reaches 500 (evaluated every 10
   updates), and the greedy mean over 50 fresh episodes; the success rate (fresh mean ≥ 475).
   Seed 0 is run twice on Ray and once in one process (``train_local``): all three must agree.
2. Env steps/s against the number of Ray actors (1, 2, 4, 8).
3. Fixed-lag runs (``impala.LAG``, one collector) with V-trace on and off: mean training return
   over the run, final greedy return, mean truncated weight min(1, π/μ) and the fraction of steps
   with π/μ < 0.5, per lag: mean and [min, max] over seeds.
Starts and stops Ray itself.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import logging
import os
import time

import numpy as np
import torch

os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
logging.getLogger("ray").setLevel(logging.ERROR)

from rlcourse_utils.algos import impala  # noqa: E402


def spread(xs) -> str:
    return f"{np.mean(xs):.0f} [{min(xs):.0f}, {max(xs):.0f}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--lag-seeds", type=int, default=4)
    ap.add_argument("--lags", type=int, nargs="+", default=[0, 8, 32, 128])
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--skip-lag", action="store_true")
    ap.add_argument("--lr", type=float, nargs="+", default=[impala.LAG.lr],
                    help="learning rates of the fixed-lag runs (one table each)")
    ap.add_argument("--grad-clip", type=float, default=impala.LAG.grad_clip)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if not args.skip_ray:
        import ray

        with contextlib.redirect_stderr(io.StringIO()):
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
                     logging_level=logging.ERROR, ignore_reinit_error=True)
        try:
            cfg = impala.RAY
            print(f"1. Ray actor-learner {cfg}: stop at the first greedy mean of 500 (every 10 updates)")
            actors = impala.make_actors(8, cfg.n_envs, cfg.unroll)
            fresh, hits = [], []
            for s in range(args.seeds):
                t0 = time.perf_counter()
                run = impala.train_ray(cfg, seed=s, target=500.0, eval_every=10, actors=actors)
                fresh.append(impala.evaluate(run["model"], 50, seed=impala.FRESH_SEED))
                hit = [u for u, r in run["evals"] if r >= 500]
                hits.append(hit[0] if hit else None)
                print(f"  seed {s}: " + (f"500 at update {hit[0]}" if hit else f"no 500 in {cfg.n_updates} updates")
                      + f", {run['steps']} env steps; fresh 50 episodes {fresh[-1]:.1f}; lags {sorted(set(run['lags'].tolist()))}; "
                      f"{time.perf_counter() - t0:.1f} s wall", flush=True)
                if s == 0:
                    again = impala.train_ray(cfg, seed=0, target=500.0, eval_every=10, actors=actors)
                    local = impala.train_local(cfg, seed=0, target=500.0, eval_every=10)
                    same = all(np.array_equal(run["curve"], o["curve"]) and run["evals"] == o["evals"]
                               for o in (again, local))
                    print(f"  seed 0 again on Ray and in one process: identical curves and evaluations: {same}")
            print(f"  success (fresh mean >= 475): {sum(f >= 475 for f in fresh)}/{len(fresh)}; "
                  f"updates to 500: {hits}; fresh means {[round(f, 1) for f in fresh]}")
            print("2. env steps/s against actors")
            for k in [1, 2, 4, 8]:
                print(f"  {k} actor(s): {impala.steps_per_second(actors[:k], n_rounds=8):,.0f}", flush=True)
        finally:
            ray.shutdown()
    if args.skip_lag:
        return
    for lr in args.lr:
        lag_table(dataclasses.replace(impala.LAG, lr=lr, grad_clip=args.grad_clip), args)


def lag_table(base: impala.Config, args) -> None:
    print(f"3. fixed lag {base}, V-trace on/off over {args.lag_seeds} seeds: mean training return "
          "over the run; final greedy; mean min(1, pi/mu); fraction pi/mu < 0.5")
    for lag in args.lags:
        for corr in [True, False] if lag else [True]:
            outs = [impala.train_local(dataclasses.replace(base, lag=lag, correction=corr), seed=s)
                    for s in range(args.lag_seeds)]
            scores = [o['curve'].mean() for o in outs]
            print(f"  lag {lag:3d} V-trace {'on ' if corr else 'off'}: {spread(scores)} {[round(x) for x in scores]}; "
                  f"final {spread([o['final_eval'] for o in outs])}; rho {np.mean([o['rho'].mean() for o in outs]):.3f}; "
                  f"small {np.mean([o['small'].mean() for o in outs]):.3f}", flush=True)


if __name__ == "__main__":
    main()
