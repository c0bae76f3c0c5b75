"""Measure Lecture 8's Pendulum arms on more seeds than the notebook runs, with CPU times.

    .venv/bin/python scripts/lec08_measure.py [--seeds 0 1 2 3 4]

Per seed: the same CEM planner on the true dynamics (open loop and MPC), versions 0.5, 0.5+mpc, 1.0 (two rounds)
and 1.5 (three rounds) with the deterministic ensemble, and version 1.5 with PETS (probabilistic members, TS∞;
two rounds). Prints one line per arm and seed, then the means, and checks the notebook's claims on every seed.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from rlcourse_utils.algos import mbrl


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    torch.set_num_threads(1)
    cfg = mbrl.Config()
    arms = {
        "true model, open loop": lambda s: mbrl.true_model_episodes(dataclasses.replace(cfg, version="1.0"), s).mean(),
        "true model, MPC": lambda s: mbrl.true_model_episodes(cfg, s).mean(),
        "0.5 (round 2)": lambda s: mbrl.train(dataclasses.replace(cfg, version="0.5", n_iters=2), s).mean_return[1],
        "0.5+mpc (round 2)": lambda s: mbrl.train(dataclasses.replace(cfg, version="0.5+mpc", start_round=1, n_iters=1),
                                                  s).mean_return[0],
        "1.0 (round 2)": lambda s: mbrl.train(dataclasses.replace(cfg, version="1.0", n_iters=2), s).mean_return[1],
        "1.5 (round 2)": lambda s: mbrl.train(dataclasses.replace(cfg, n_iters=2), s).mean_return[1],
        "PETS 1.5 (round 2)": lambda s: mbrl.train(dataclasses.replace(cfg, model="probabilistic", n_iters=2),
                                                   s).mean_return[1],
    }
    table = {}
    for name, run in arms.items():
        vals, t0 = [], time.process_time()
        for s in args.seeds:
            vals.append(float(run(s)))
        table[name] = np.array(vals)
        print(f"{name:>22}: {np.round(vals, 0).tolist()}  mean {np.mean(vals):.0f}  "
              f"({(time.process_time() - t0) / len(args.seeds):.1f} s CPU per seed)", flush=True)
    assert (table["true model, open loop"] < -500).all() and (table["true model, MPC"] > -300).all()
    assert (table["0.5+mpc (round 2)"] < -500).all() and (table["1.0 (round 2)"] < -600).all()
    gap = table["PETS 1.5 (round 2)"] - table["1.5 (round 2)"]
    print(f"PETS minus deterministic, round 2: {np.round(gap, 0).tolist()}, mean {gap.mean():.0f}")


if __name__ == "__main__":
    main()
