"""Lecture 15's full-size numbers, beyond what the notebook shows by default (run: .venv/bin/python scripts/lec15_measure.py).

1. The chain experiment at FULL size: 50 seeds, lengths up to 60, every arm (the notebook's FULL = True).
2. The 10-armed testbed on 3 independent seeds of 2,000 runs each: the spread of the step-1,000 numbers.
"""
import time

import numpy as np
import torch

from rlcourse_utils.algos import bandits, chain_explore

torch.set_num_threads(1)
t0 = time.process_time()
lengths = [4, 6, 8, 10, 15, 20, 30, 40, 60]
arms = {"eps-greedy": dict(method="eps"), "count bonus (MBIE-EB)": dict(method="count"),
        "bootstrapped heads": dict(method="bootstrap"), "optimistic start, beta = 0": dict(method="count", beta=0.0)}
print("chain: success rate over 50 seeds, 200 episodes")
for name, kw in arms.items():
    s = [float(chain_explore.train(chain_explore.Config(n_states=n, **kw), n_runs=50, seed=8)["success"].mean())
         for n in lengths]
    print(f"  {name:28s}", "  ".join(f"n={n}: {v:.2f}" for n, v in zip(lengths, s)))
print("10-armed testbed, mean of steps 901-1000 (average reward / % optimal), 3 seeds of 2,000 runs:")
for label, kw in [("eps = 0.1", dict(method="eps", eps=0.1)), ("eps = 0.01", dict(method="eps", eps=0.01)),
                  ("UCB c = 2", dict(method="ucb", c=2.0))]:
    rows = [bandits.testbed(seed=seed, **kw) for seed in (11, 12, 13)]
    print(f"  {label:10s}", "  ".join(f"{r['avg_reward'][-100:].mean():.3f} / {100 * r['optimal'][-100:].mean():.1f}%"
                                      for r in rows))
print(f"CPU time {time.process_time() - t0:.1f} s")
