"""Lecture 13's experiments on more seeds than the notebook's budget allows (about 3 CPU-minutes).

    .venv/bin/python scripts/lec13_measure.py

1. Physics transfer, seeds 0-4: the specialist (PPO, half-length 1.0 m, 60k steps) and the randomised policy
   (half-lengths log-uniform in [0.15, 2] m, 100k steps), greedy returns at 7 half-lengths; worst cases.
2. Fine-tuning, seeds 0-4: the specialist fine-tuned on the 2 m pole against PPO from scratch there, env steps
   until the training mean reaches 475 (100k budget; "none" if never).
3. Bit flipping, n = 15, seeds 0-2: goal-conditioned DQN with and without hindsight relabelling, 150 cycles.
Same settings as lectures/13_transfer_multitask.ipynb.
"""
import time

import numpy as np
import torch

from rlcourse_utils.algos import her, physics_transfer, ppo

torch.set_num_threads(1)
LENGTHS = np.geomspace(0.15, 2.0, 7)


def main() -> None:
    t0 = time.process_time()
    worst = []
    for seed in range(5):
        spec = physics_transfer.train(ppo.Config(total_steps=60_000, stop_at=None), (1.0, 0.1), (1.0, 0.1), seed=seed)
        dr = physics_transfer.train(ppo.Config(total_steps=100_000, stop_at=None), (0.15, 0.1), (2.0, 0.1), seed=seed)
        s, d = physics_transfer.sweep(spec.model, LENGTHS, n_episodes=8), physics_transfer.sweep(dr.model, LENGTHS, n_episodes=8)
        worst.append((s.min(), d.min()))
        print(f"seed {seed} specialist {s.round(0).tolist()} worst {s.min():.0f}; randomised {d.round(0).tolist()} "
              f"worst {d.min():.0f}", flush=True)
        ft = physics_transfer.train(ppo.Config(total_steps=100_000), (2.0, 0.1), (2.0, 0.1), seed=seed, init_model=spec.model)
        sc = physics_transfer.train(ppo.Config(total_steps=100_000), (2.0, 0.1), (2.0, 0.1), seed=seed)
        print(f"seed {seed} steps to 475 on the 2 m pole: fine-tuned {ft.steps_to_solve}, scratch {sc.steps_to_solve}",
              flush=True)
    w = np.array(worst)
    print(f"worst case over lengths: randomised higher on {int((w[:, 1] > w[:, 0]).sum())}/5 seeds; "
          f"mean worst specialist {w[:, 0].mean():.0f}, randomised {w[:, 1].mean():.0f}")
    for use_her in (True, False):
        finals = [float(her.train(her.Config(n_bits=15, her=use_her, cycles=150), seed=s).success[-1]) for s in range(3)]
        print(f"bit flipping n = 15, {'HER' if use_her else 'plain DQN'}: final greedy success {finals}", flush=True)
    print(f"CPU {time.process_time() - t0:.0f} s")


if __name__ == "__main__":
    main()
