"""Lecture 12 measurements too long for the notebook: GAIL and its control arms on more seeds, and MaxEnt IRL
on several demonstration draws. Run: .venv/bin/python scripts/lec12_measure.py [--seeds 10]"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from rlcourse_utils import irl, soft_rl
from rlcourse_utils.algos import gail, maxent_irl
from rlcourse_utils.envs import gridworld

LAYOUT = ("....G", ".##..", "...X.", ".#...", "S....")
LAYOUTS = {"top route blocked": ("...#G", ".##..", "...X.", ".#.#.", "S...."),
           "only the middle route left": (".#..G", ".##..", "...X.", ".#...", "S.#..")}


def maxent_draws(n_draws: int) -> None:
    grid, cells = gridworld.gridworld(LAYOUT, slip=0.0)
    H = 12
    pi_e = soft_rl.soft_policy(soft_rl.inference_backward_pass(grid.P, 20.0 * grid.R, H)[0])
    value = lambda pi, mu0: float((irl.policy_visitation(grid.P, pi, mu0) * grid.R).sum())  # noqa: E731
    starts = [s for s, (r, c) in enumerate(cells) if LAYOUT[r][c] not in "GX"]
    for draw in range(n_draws):
        st, ac = irl.sample_trajectories(grid.P, pi_e, grid.mu0, 20, np.random.default_rng(draw))
        fit = maxent_irl.train(maxent_irl.Config(horizon=H, n_iters=1500, lr=0.06, l2=1e-3), grid.P, grid.P, grid.mu0, st, ac)
        pi = soft_rl.soft_policy(soft_rl.inference_backward_pass(grid.P, grid.P @ fit.psi, H)[0])
        bc = np.broadcast_to(irl.tabular_bc(st, ac, grid.n_states, 4), pi.shape)
        ratio = lambda p: np.array([value(p, np.eye(grid.n_states)[s]) / value(pi_e, np.eye(grid.n_states)[s])  # noqa: E731
                                    for s in starts])
        r_irl, r_bc = ratio(pi), ratio(bc)
        for name, new_layout in LAYOUTS.items():
            g2, c2 = gridworld.gridworld(new_layout, slip=0.0)
            same = [cells.index(rc) for rc in c2] + [len(cells)]
            v2 = lambda p: float((irl.policy_visitation(g2.P, p, g2.mu0) * g2.R).sum())  # noqa: E731
            e2 = v2(soft_rl.soft_policy(soft_rl.inference_backward_pass(g2.P, 20.0 * g2.R, H)[0]))
            i2 = v2(soft_rl.soft_policy(soft_rl.inference_backward_pass(g2.P, g2.P @ fit.psi[same], H)[0]))
            b2 = v2(np.broadcast_to(irl.tabular_bc(st, ac, grid.n_states, 4)[same], (H, g2.n_states, 4)))
            print(f"demos draw {draw}, layout '{name}': IRL {i2 / e2:.2f}, BC {b2 / e2:.2f} of the expert", flush=True)
        print(f"demos draw {draw}: IRL {value(pi, grid.mu0) / value(pi_e, grid.mu0):.3f} of the expert, gap "
              f"{fit.count_gap[-1]:.3f}; over starts IRL min {r_irl.min():.2f}, BC min {r_bc.min():.2f} "
              f"(BC < 50% from {int((r_bc < 0.5).sum())} starts)", flush=True)


def gail_seeds(n_seeds: int) -> None:
    arms = {"GAIL −log(1 − D)": gail.Config(reward="softplus"),
            "frozen discriminator": gail.Config(reward="softplus", disc_steps=0),
            "GAIL log D − log(1 − D)": gail.Config(reward="logit")}
    for name, cfg in arms.items():
        rets, agree, t = [], [], time.process_time()
        for seed in range(n_seeds):
            r = gail.train(cfg, seed=seed)
            rets.append(r.eval_returns.mean())
            agree.append(r.agreement)
        print(f"{name}: greedy returns {np.round(rets, 0).tolist()}, ≥ 450 on {int((np.array(rets) >= 450).sum())}/"
              f"{n_seeds}; expert-action agreement {np.mean(agree):.2f}; {(time.process_time() - t) / n_seeds:.1f} CPU-s/seed",
              flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--no-gail", action="store_true", help="only the MaxEnt IRL draws (a few seconds)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    maxent_draws(5)
    if not args.no_gail:
        gail_seeds(args.seeds)
