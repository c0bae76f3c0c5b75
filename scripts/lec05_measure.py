"""Run Lecture 5's experiments the way the notebook does, on more seeds, and print figures and wall times.

    .venv/bin/python scripts/lec05_measure.py [--seeds 0 1 2] [--skip-dqn] [--skip-td3]

Asserts the issue's bars on every seed: DQN reaches a mean greedy return ≥ 475 over 10 evaluation episodes
within 50,000 env steps; TD3 reaches ≥ -200 on Pendulum-v1 within 20,000 env steps. Also prints, per seed,
how far DQN's and double DQN's Q estimates sit from the measured discounted returns.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from rlcourse_utils.algos import ddpg, dqn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--skip-dqn", action="store_true")
    parser.add_argument("--skip-td3", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    failures = []
    if not args.skip_dqn:
        gaps = {}
        for double in (False, True):
            name = "double DQN" if double else "DQN"
            cfg = dataclasses.replace(dqn.Config(stop_at=dqn.SOLVED), double=double)
            for seed in args.seeds:
                t = time.perf_counter()
                r = dqn.train(cfg, seed)
                gap = float(np.abs(r.q_estimate - r.q_true).mean())
                gaps.setdefault(name, []).append(gap)
                print(f"{name:10s} seed {seed}: 475 at {r.steps_to_solve} env steps, |Q - G| {gap:5.1f}, "
                      f"{time.perf_counter() - t:.0f} s", flush=True)
                if not double and (r.steps_to_solve is None or r.steps_to_solve > 50_000):
                    failures.append(f"DQN seed {seed}")
        print("mean |Q - G|:", {k: round(float(np.mean(v)), 2) for k, v in gaps.items()})
    if not args.skip_td3:
        for seed in args.seeds:
            t = time.perf_counter()
            r = ddpg.train(ddpg.Config(stop_at=ddpg.TARGET), seed)
            print(f"TD3 seed {seed}: -200 at {r.steps_to_target} env steps, returns {np.round(r.eval_return).tolist()}, "
                  f"{time.perf_counter() - t:.0f} s", flush=True)
            if r.steps_to_target is None or r.steps_to_target > 20_000:
                failures.append(f"TD3 seed {seed}")
    assert not failures, failures


if __name__ == "__main__":
    main()
