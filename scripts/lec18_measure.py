"""Lecture 18's numbers on 5 seeds (the notebook's FULL = True), run: .venv/bin/python scripts/lec18_measure.py

1. The gap against the number of training levels (1 to 1,024), plain agents, 5 seeds, with t-intervals.
2. The dihedral augmentation on 4, 16 and 64 levels against the plain agents (paired by seed), and the wrong
   augmentation (image turned, action not) on 16 levels.
3. The biased generator: 1,024 levels of A (goal right of the start), evaluated on held-out A and B levels,
   with and without the augmentation; the unbiased 1,024-level agents as the control arm.
The agents of one batch share the environment's random stream, so seeds 0-2 here do not reproduce the
notebook's 3-seed batch exactly; the settings are the same (``level_agent.Config()``).
"""
import time

import numpy as np
import scipy.stats
import torch

from rlcourse_utils import generalization
from rlcourse_utils.algos import level_agent
from rlcourse_utils.envs import procgrid

torch.set_num_threads(1)
t0 = time.process_time()
SEEDS = list(range(5))
CFG = level_agent.Config()
COUNTS, AUG_COUNTS, WRONG = [1, 4, 16, 64, 256, 1024], [4, 16, 64], 16
t_S = float(scipy.stats.t.ppf(0.975, len(SEEDS) - 1))
augment = generalization.dihedral_augment
image_only = lambda obs, actions, k: (augment(obs, actions, k)[0], np.asarray(actions))


def levels_of(goal_side: int, first_seed: int, n_stream: int, n_train: int):
    stream = procgrid.make_levels(range(first_seed, first_seed + n_stream), goal_side=goal_side)
    train_idx, test_idx = generalization.split_levels(procgrid.level_keys(stream), 500)
    take = lambda idx: procgrid.LevelSet(*(getattr(stream, f)[idx] for f in ("seeds", "walls", "start", "goal", "distance")))
    return train_idx, take, take(test_idx)


def ci(x):
    return f"{float(x.mean()):.3f} ± {t_S * float(x.std(ddof=1)) / np.sqrt(len(x)):.3f}"


train_idx, take, test_levels = levels_of(0, 0, 2_000, 1024)
train_sets = {n: take(train_idx[:n]) for n in COUNTS}
runs, arm = [], []
for s in SEEDS:
    runs += [level_agent.Run(train_sets[n], s) for n in COUNTS]
    arm += [("plain", n, s) for n in COUNTS]
    runs += [level_agent.Run(train_sets[n], s, augment) for n in AUG_COUNTS]
    arm += [("augmented", n, s) for n in AUG_COUNTS]
    runs.append(level_agent.Run(train_sets[WRONG], s, image_only))
    arm.append(("wrong map", WRONG, s))
result = level_agent.train(CFG, runs)
train_ret = level_agent.evaluate(result, [r.levels for r in runs], 256).mean(1)
test_ret = level_agent.evaluate(result, test_levels, 500).mean(1)
pick = lambda x, a, n: np.array([x[i] for i, (ai, ni, _) in enumerate(arm) if ai == a and ni == n])
print(f"1. {len(runs)} agents, {result.seconds:.0f} s CPU; optimal held-out return "
      f"{float(procgrid.optimal_return(test_levels, 30).mean()):.3f}")
for n in COUNTS:
    tr, te = pick(train_ret, "plain", n), pick(test_ret, "plain", n)
    g, lo, hi = generalization.generalization_gap(tr[:, None], te[:, None], t_S)
    print(f"  {n:5d} levels: train {ci(tr)}, test {ci(te)}, gap {float(g):.3f} [{float(lo):+.3f}, {float(hi):+.3f}], "
          f"per seed {np.round(tr - te, 3).tolist()}")
print("2. augmentation (paired by seed)")
for n in AUG_COUNTS:
    gp = pick(train_ret, "plain", n) - pick(test_ret, "plain", n)
    ga = pick(train_ret, "augmented", n) - pick(test_ret, "augmented", n)
    d, lo, hi = generalization.generalization_gap((gp - ga)[:, None], np.zeros((len(SEEDS), 1)), t_S)
    print(f"  {n:5d} levels: gap plain {np.round(gp, 3).tolist()} → augmented {np.round(ga, 3).tolist()}; "
          f"narrower on {int(np.sum(ga < gp))}/{len(SEEDS)} seeds; paired Δ {float(d):.3f} [{float(lo):+.3f}, "
          f"{float(hi):+.3f}]; test {ci(pick(test_ret, 'plain', n))} → {ci(pick(test_ret, 'augmented', n))}")
print(f"  wrong map on {WRONG} levels: train {ci(pick(train_ret, 'wrong map', WRONG))}, "
      f"test {ci(pick(test_ret, 'wrong map', WRONG))}")

tr_A, take_A, test_A = levels_of(+1, 10_000, 1_600, 1024)
_, _, test_B = levels_of(-1, 20_000, 1_600, 1024)
train_A = take_A(tr_A[:1024])
res_AB = level_agent.train(CFG, [level_agent.Run(train_A, s, fn) for s in SEEDS for fn in (None, augment)])
on_A, on_B = level_agent.evaluate(res_AB, test_A, 500).mean(1), level_agent.evaluate(res_AB, test_B, 500).mean(1)
uni = [i for i, a in enumerate(arm) if a[:2] == ("plain", 1024)]
uni_A, uni_B = level_agent.evaluate(result, test_A, 500)[uni].mean(1), level_agent.evaluate(result, test_B, 500)[uni].mean(1)
print("3. biased generator: held-out A / held-out B")
for name, a, b in [("trained on A", on_A[0::2], on_B[0::2]), ("trained on A, augmented", on_A[1::2], on_B[1::2]),
                   ("unbiased 1,024 levels", uni_A, uni_B)]:
    print(f"  {name:24s}: A {np.round(a, 3).tolist()}, B {np.round(b, 3).tolist()}")
print(f"total {time.process_time() - t0:.0f} s CPU")
