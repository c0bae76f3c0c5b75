"""Lecture 17's experiments on more seeds than the notebook runs (its FULL sizes), for the prose's numbers.

    .venv/bin/python scripts/lec17_measure.py            # about a minute of CPU

DIAYN on 10 seeds, Skew-Fit's four goal proposals on 20 seeds, Gaussian REINFORCE on the point mass at five
learning rates × 20 seeds, each printed with its spread.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from rlcourse_utils import challenges, info_theory
from rlcourse_utils.algos import diayn, reinforce, skewfit


def main() -> None:
    torch.set_num_threads(1)
    t0 = time.process_time()
    cfg = diayn.Config()
    rows = []
    for s in range(10):
        res = diayn.train(cfg, seed=s)
        d = diayn.skill_marginals(res.mdp, res.policies, cfg.horizon)
        rows.append((diayn.exact_accuracy(res.logits, d), diayn.bayes_accuracy(d),
                     float(info_theory.mutual_information(d.T / cfg.n_skills))))
    rows = np.array(rows)
    print(f"DIAYN, 10 seeds: accuracy {rows[:, 0].min():.3f}-{rows[:, 0].max():.3f} (mean {rows[:, 0].mean():.3f}), "
          f"Bayes {rows[:, 1].mean():.3f}, I(S;Z) {rows[:, 2].min():.3f}-{rows[:, 2].max():.3f} nats")

    arms = {"alpha=0": skewfit.Config(alpha=0.0), "alpha=-0.5": skewfit.Config(alpha=-0.5),
            "alpha=-1": skewfit.Config(alpha=-1.0), "uniform": skewfit.Config(goals="uniform")}
    for name, c in arms.items():
        runs = [skewfit.train(c, seed=s) for s in range(20)]
        cov = np.array([r.coverage_entropy[-1] for r in runs])
        found = np.array([r.discovered[-1] for r in runs])
        mi = np.array([skewfit.goal_state_information(r.goal_dist, c)[0] for r in runs])
        print(f"Skew-Fit {name:10s}, 20 seeds: coverage H {cov.mean():.3f} [{cov.min():.3f}, {cov.max():.3f}], "
              f"cells {found.mean():.1f} [{found.min()}, {found.max()}], I(S;G) {mi.mean():.3f} [{mi.min():.3f}, {mi.max():.3f}]")

    opt = challenges.point_mass_lqr(40)[0]
    for lr in (0.003, 0.01, 0.03, 0.1, 0.3):
        finals = []
        for s in range(20):
            r = reinforce.train_gaussian(reinforce.GaussianConfig(n_envs=64, n_iters=150, horizon=40, gamma=1.0, lr=lr,
                                                                  init_log_std=0.0), seed=s)
            w, b = r.policy.mean.weight.detach().numpy()[0], r.policy.mean.bias.detach().numpy()[0]
            finals.append(challenges.point_mass_expected_return(w, b, 40))
        f = np.array(finals)
        lo, hi = challenges.bootstrap_ci(f)
        print(f"REINFORCE lr {lr:5.3f}, 20 seeds: mean {f.mean():8.3f} [{lo:8.3f}, {hi:8.3f}], worst {f.min():8.3f}, "
              f"best {f.max():7.3f}, J >= 1.5 J*: {(f >= 1.5 * opt).sum()}/20")
    print(f"{time.process_time() - t0:.1f} s CPU")


if __name__ == "__main__":
    main()
