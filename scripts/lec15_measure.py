"""Lecture 15's full-size numbers, beyond what the notebook shows by default (run: .venv/bin/python scripts/lec15_measure.py).

1. The chain experiment at FULL size: 50 seeds, lengths up to 60, every arm (the notebook's FULL = True).
2. The 10-armed testbed on 3 independent seeds of 2,000 runs each: the spread of the step-1,000 numbers.
3. IDS against Thompson sampling on Russo & Van Roy's Bernoulli problem (10 arms, μ ~ U(0, 1), T = 1,000): 3 seeds
   of 200 paired runs each.
4. MountainCar-v0, 30,000 env steps per run: ε-greedy DQN, DQN + RND bonus and DQN + grid-count bonus on 20 seeds.
5. DQfD against its ablations on the slippery gridworld: 30 seeds.
"""
import math
import time

import numpy as np
import torch

from rlcourse_utils.algos import bandits, chain_explore, dqfd, mountaincar_explore

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
print("IDS vs Thompson sampling, 10 Bernoulli arms, mu ~ U(0, 1), T = 1000, 200 paired runs per seed:", flush=True)
for seed in (21, 22, 23):
    mu = np.random.default_rng(seed).random((200, 10))
    ids = bandits.bernoulli(mu, "ids", 1000, 200, seed=seed + 100, ids_samples=150)[:, -1]
    ts = bandits.bernoulli(mu, "thompson", 1000, 200, seed=seed + 100)[:, -1]
    d = ids - ts
    print(f"  seed {seed}: IDS {ids.mean():.1f}, TS {ts.mean():.1f}, paired difference {d.mean():.1f} "
          f"± {2 * d.std(ddof=1) / math.sqrt(200):.1f} (2 s.e.), IDS lower on {int((d < 0).sum())}/200", flush=True)
print("MountainCar-v0, 30,000 env steps, 20 seeds (0-19):", flush=True)
mc = mountaincar_explore.train(mountaincar_explore.Config(total_steps=30_000), arms=("none", "rnd", "count"),
                               seeds=tuple(range(20)))
for arm, r in mc.items():
    print(f"  {arm:5s}: reached the flag in training on {int((r['goal_hits'] > 0).sum())}/20 seeds "
          f"(median {int(np.median(r['goal_hits']))} episodes); final greedy policy succeeds (>= 80% of 20 episodes) on "
          f"{int((r['eval_success'] >= 0.8).sum())}/20, any success on {int((r['eval_success'] > 0).sum())}/20; "
          f"mean success {r['eval_success'].mean():.2f}, mean return {r['eval_return'].mean():.1f}", flush=True)
print("DQfD on the slippery gridworld, 30 seeds (fraction of the optimal return):", flush=True)
dq = dqfd.train(dqfd.Config(), seeds=tuple(range(30)))
auc = {arm: (dq[arm]["curve"] / dq["optimal"]).mean(1) for arm in dqfd.ARMS}
for arm in dqfd.ARMS:
    f = dq[arm]["curve"] / dq["optimal"]
    print(f"  {arm:9s} AUC mean {auc[arm].mean():.2f} (min {auc[arm].min():.2f}, max {auc[arm].max():.2f}); "
          f"final mean {f[:, -1].mean():.2f} (min {f[:, -1].min():.2f}); DQfD's AUC above it on "
          f"{int((auc['dqfd'] > auc[arm]).sum())}/30 seeds")
print(f"CPU time {time.process_time() - t0:.1f} s")
