"""Run Lecture 6's CartPole experiments on more seeds than the notebook and print what it asserts.

    .venv/bin/python scripts/lec06_measure.py [--seeds 5]

PPO (defaults of ``algos.ppo.Config``): steps to a mean return ≥ 475 within 100k steps, median KL per
update and clip fraction. TRPO (the notebook's 24,576-step budget): every update's measured KL ≤ δ,
backtracking and rejections, final mean return. Wall times are inflated when the machine is shared.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from rlcourse_utils.algos import ppo, trpo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for seed in range(args.seeds):
        r = ppo.train(ppo.Config(), seed=seed)
        print(f"PPO  seed {seed}: solved at {r.steps_to_solve} steps ({r.seconds:.1f}s), "
              f"median KL {np.median(r.kl):.4f}, max KL {r.kl.max():.4f}, clip fraction {r.clip_fraction.mean():.3f}", flush=True)
        assert r.steps_to_solve is not None and r.steps_to_solve <= 100_000
    cfg = trpo.Config(total_steps=24_576)
    for seed in range(args.seeds):
        r = trpo.train(cfg, seed=seed)
        print(f"TRPO seed {seed}: max KL {r.kl.max():.5f} ≤ δ = {cfg.max_kl}, "
              f"backtracked {np.sum(r.step_fraction < 1)}, rejected {np.sum(r.step_fraction == 0)} of {len(r.kl)} updates, final mean return "
              f"{r.mean_return[-1]:.0f} ({r.seconds:.1f}s)", flush=True)
        assert np.all(r.kl <= cfg.max_kl)


if __name__ == "__main__":
    main()
