"""Lecture 16's full-size numbers, beyond what the notebook shows by default (run: .venv/bin/python scripts/lec16_measure.py).

1. MAML on the sinusoids at the paper's size (70,000 meta-iterations, the notebook's FULL = True) and the
   pretrained baseline trained as long, beside Finn et al.'s numbers; first-order MAML at the default budget.
2. The default-budget sinusoid run on 3 seeds: the spread of the 1/5/10-step numbers and of the ratio.
3. RL² on 3 training seeds: final regret against ε-greedy and Thompson sampling, and the no-memory control.
4. MAML-PG on 2-D navigation on 3 seeds: return before/after one step, against the pretrained policy.
"""
import dataclasses
import time

import numpy as np
import torch

from rlcourse_utils.algos import maml, maml_rl, rl2

torch.set_num_threads(1)
t0 = time.process_time()
PAPER = {"MAML": (0.67, 0.38, 0.35), "pretrained": (2.41, 2.23, 2.19)}


def sinusoid(cfg, seed, first_order_too=False):
    ev = {"MAML": maml.evaluate(maml.train(cfg, seed=seed)["theta"], cfg),
          "pretrained": maml.evaluate(maml.pretrain(cfg, seed=seed)["theta"], cfg)}
    if first_order_too:
        fo = dataclasses.replace(cfg, first_order=True)
        ev["first-order MAML"] = maml.evaluate(maml.train(fo, seed=seed)["theta"], fo)
    return {k: v[[1, 5, 10]].mean(1) for k, v in ev.items()}


print("1. sinusoid, full size (70,000 meta-iterations), seed 0: held-out MSE after 1 / 5 / 10 steps")
t = time.process_time()
full = sinusoid(maml.SinusoidConfig(n_iters=70000), seed=0)
for k, v in full.items():
    print(f"  {k:18s}", " / ".join(f"{x:.3f}" for x in v), "   paper", " / ".join(f"{x:.2f}" for x in PAPER[k]),
          "   ratio to paper", " / ".join(f"{x / p:.2f}" for x, p in zip(v, PAPER[k])))
print(f"  ({time.process_time() - t:.0f} s CPU)")

print("2. sinusoid, default budget (3,000 meta-iterations), 3 seeds")
for seed in (0, 1, 2):
    r = sinusoid(maml.SinusoidConfig(), seed=seed, first_order_too=seed == 0)
    print(f"  seed {seed}:", "; ".join(f"{k} " + " / ".join(f"{x:.3f}" for x in v) for k, v in r.items()),
          "; pretrained/MAML", " / ".join(f"{p / m:.2f}" for p, m in zip(r["pretrained"], r["MAML"])))

print("3. RL² on 5-armed Bernoulli bandits, 30 pulls, 500 held-out tasks × 4 runs, 3 training seeds")
cfg = rl2.RL2Config()
means = np.random.default_rng(1616).uniform(size=(500, cfg.n_arms))
base = {m: rl2.baseline_regret(means, m, cfg.horizon, seed=7, **kw)[:, :, -1].mean(1)
        for m, kw in [("eps", {"eps": 0.1}), ("thompson", {}), ("ucb", {"c": 2 ** 0.5})]}
print("  baselines:", "; ".join(f"{m} {v.mean():.2f} ± {1.96 * v.std() / np.sqrt(len(v)):.2f}" for m, v in base.items()))
for seed in (0, 1, 2):
    pol = rl2.train(cfg, seed=seed)["policy"]
    r = rl2.evaluate(pol, means, cfg.horizon, seed=7)[:, :, -1].mean(1)
    nm = rl2.evaluate(pol, means, cfg.horizon, seed=7, memory=False)[:, :, -1].mean(1)
    d_eps, d_ts = r - base["eps"], r - base["thompson"]
    print(f"  seed {seed}: RL² {r.mean():.2f} ± {1.96 * r.std() / np.sqrt(len(r)):.2f}, no-memory control {nm.mean():.2f}; "
          f"RL² − ε-greedy {d_eps.mean():.2f} ± {1.96 * d_eps.std() / np.sqrt(len(r)):.2f}; "
          f"RL² − Thompson {d_ts.mean():.2f} ± {1.96 * d_ts.std() / np.sqrt(len(r)):.2f}")

print("4. MAML-PG on 2-D navigation, 40 held-out goals, 3 seeds: mean return before → after one step (α = 0.01)")
ncfg = maml_rl.NavConfig()
goals = np.random.default_rng(1617).uniform(-0.5, 0.5, (40, 2))
for seed in (0, 1, 2):
    m = maml_rl.evaluate(maml_rl.train(ncfg, seed=seed)["theta"], goals, ncfg, seed=5)
    pt = maml_rl.pretrain(ncfg, seed=seed)["theta"]
    p = maml_rl.evaluate(pt, goals, ncfg, seed=5)
    p10 = maml_rl.evaluate(pt, goals, dataclasses.replace(ncfg, inner_lr=10 * ncfg.inner_lr), seed=5)
    print(f"  seed {seed}: MAML {m[0].mean():.2f} → {m[1].mean():.2f}; pretrained {p[0].mean():.2f} → {p[1].mean():.2f} "
          f"(at 10α: → {p10[1].mean():.2f}); MAML after > pretrained after on {int((m[1] > p[1]).sum())}/40 goals")
print(f"CPU time {time.process_time() - t0:.1f} s")
