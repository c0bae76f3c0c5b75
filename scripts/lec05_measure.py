"""Run Lecture 5's experiments the way the notebook does, on more seeds, and print figures and times.

    .venv/bin/python scripts/lec05_measure.py [--seeds 0 1 2] [--skip-dqn] [--skip-td3]

Asserts on every seed: DQN reaches a mean greedy return ≥ 475 over 10 evaluation episodes within 50,000 env
steps; naive online Q-learning (no replay, no target network) with the same network and budget stays below 50
and its Q estimate exceeds 1/(1 - γ); TD3 reaches ≥ -200 on Pendulum-v1 within 20,000 env steps. Prints double
DQN's steps to 475, and the bias of DQN and double DQN on van Hasselt's example over 100 seeds with 95% intervals.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch
from scipy import stats

from rlcourse_utils.algos import ddpg, dqn


def t_interval(x: np.ndarray) -> tuple[float, float]:
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--skip-dqn", action="store_true")
    parser.add_argument("--skip-td3", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    failures = []
    bias_cfg = dqn.BiasConfig()
    bias = {double: dqn.van_hasselt_bias(bias_cfg, tuple(range(100)), double=double)[:, bias_cfg.n_updates // 2:].mean(1)
            + 0.1 for double in (False, True)}
    for double, b in bias.items():
        print(f"van Hasselt's example, {'double DQN' if double else 'DQN':10s}: bias {b.mean():+.3f}, "
              f"95% interval {np.round(t_interval(b), 3).tolist()} (100 seeds)")
    if t_interval(bias[False])[0] <= 0 or t_interval(bias[False] - bias[True])[0] <= 0:
        failures.append("van Hasselt's example")
    if not args.skip_dqn:
        cfg = dqn.Config(stop_at=dqn.SOLVED, n_step=1)  # as the notebook: one-step targets
        for seed in args.seeds:
            for name, c in (("DQN", cfg), ("double DQN", dataclasses.replace(cfg, double=True))):
                t = time.process_time()
                r = dqn.train(c, seed)
                print(f"{name:10s} seed {seed}: 475 at {r.steps_to_solve} env steps, {len(r.loss)} gradient steps, "
                      f"{time.process_time() - t:.1f} s CPU", flush=True)
                if name == "DQN":
                    dqn_run = r
                    if r.steps_to_solve is None or r.steps_to_solve > 50_000:
                        failures.append(f"DQN seed {seed}")
            naive = dqn.train(dataclasses.replace(cfg, buffer_size=cfg.n_envs, target_every=1, stop_at=None,
                                                  total_steps=int(dqn_run.eval_steps[-1])), seed)
            print(f"naive      seed {seed}: best return {naive.eval_return.max():.0f}, final Q {naive.q_estimate[-1]:.3g} "
                  f"after {naive.eval_steps[-1]} env steps", flush=True)
            if naive.eval_return.max() >= 50 or naive.q_estimate[-1] <= 1 / (1 - cfg.gamma):
                failures.append(f"naive seed {seed}")
    if not args.skip_td3:
        for seed in args.seeds:
            t = time.process_time()
            r = ddpg.train(ddpg.Config(stop_at=ddpg.TARGET), seed)
            print(f"TD3 seed {seed}: -200 at {r.steps_to_target} env steps, returns {np.round(r.eval_return).tolist()}, "
                  f"{time.process_time() - t:.1f} s CPU", flush=True)
            if r.steps_to_target is None or r.steps_to_target > 20_000:
                failures.append(f"TD3 seed {seed}")
    assert not failures, failures


if __name__ == "__main__":
    main()
