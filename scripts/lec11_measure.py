"""Lecture 11's full-size runs: SAC on Pendulum-v1 over its whole 10,000-step budget on seeds 0-4 (the notebook's
FULL switch), and the tabular soft Q-learning / DQN comparison on seeds 0-4. Prints one line per run.

    .venv/bin/python scripts/lec11_measure.py [--seeds 5] [--steps 10000]
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from rlcourse_utils import dp, soft_rl
from rlcourse_utils.algos import sac, soft_q
from rlcourse_utils.envs import gridworld


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--skip-sac", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)

    grid, _ = gridworld.gridworld()
    term = np.zeros(grid.n_states, dtype=bool)
    term[-1] = True
    start = int(grid.mu0.argmax())
    for soft in (True, False):
        cfg = soft_q.Config(soft=soft, alpha=0.05)
        exact = soft_q.fixed_point(grid, cfg, term)
        for seed in range(args.seeds):
            cpu = time.process_time()
            r = soft_q.train(grid, term, cfg, seed)
            pi = soft_rl.soft_policy(r.Q, cfg.alpha) if soft else dp.greedy_policy(r.Q)
            ret = soft_rl.soft_policy_value(grid.P, grid.R, pi, cfg.gamma, 0.0, term)[start]
            print(f"{'soft Q' if soft else 'DQN':6s} seed {seed}: mean |Q - fixed point| "
                  f"{np.abs(r.Q - exact)[~term].mean():.4f}, return from start {ret:.4f}, "
                  f"{time.process_time() - cpu:.1f} s CPU", flush=True)

    if args.skip_sac:
        return
    cfg = sac.Config(total_steps=args.steps)
    for seed in range(args.seeds):
        cpu = time.process_time()
        r = sac.train(cfg, seed)
        last = r.eval_return[-4:]
        print(f"SAC seed {seed}: first eval ≥ -200 at {r.steps_to_target} steps; last 4 evals {np.round(last).tolist()}; "
              f"α {r.alpha[-1]:.3f}, entropy (last 500 updates) {r.entropy[-500:].mean():.2f}; "
              f"{time.process_time() - cpu:.1f} s CPU", flush=True)


if __name__ == "__main__":
    main()
