"""Lecture 13's experiments on more seeds than the notebook's budget allows (192 s of CPU in the last run).

    .venv/bin/python scripts/lec13_measure.py

1. Physics transfer, seeds 0-4: the specialist (PPO, half-length 1.0 m, 60k steps) and the randomised policy
   (half-lengths log-uniform in [0.15, 2] m, 100k steps), greedy returns at 7 half-lengths; worst cases.
2. Fine-tuning, seeds 0-4, on the 2 m pole: the specialist's zero-shot greedy return; fine-tuned against PPO from
   scratch after 30k target steps (greedy return); env steps until the training mean reaches 475 (100k budget).
3. Bit flipping, n = 15, seeds 0-2: goal-conditioned DQN with and without hindsight relabelling, 150 cycles.
4. Domain adaptation, seeds 0-9: target-camera accuracy of the source-only, MMD-adapted and oracle classifiers;
   the adapted arm again with λ = 3.
5. Modular networks, 10 runs: held-out (robot, task) success of modular against monolithic networks.
Same settings as lectures/13_transfer_multitask.ipynb; every PPO run is built from physics_transfer.PPO_SETTINGS.
"""
import dataclasses
import time

import numpy as np
import torch

from rlcourse_utils.algos import domain_adapt, her, modular, physics_transfer

torch.set_num_threads(1)
LENGTHS = np.geomspace(0.15, 2.0, 7)
TARGET = (2.0, 0.1)


def physics() -> None:
    worst = []
    for seed in range(5):
        spec = physics_transfer.train(physics_transfer.config(total_steps=60_000, stop_at=None), (1.0, 0.1), (1.0, 0.1),
                                      seed=seed)
        dr = physics_transfer.train(physics_transfer.config(total_steps=100_000, stop_at=None), (0.15, 0.1),
                                    (2.0, 0.1), seed=seed)
        s, d = physics_transfer.sweep(spec.model, LENGTHS, n_episodes=8), physics_transfer.sweep(dr.model, LENGTHS, n_episodes=8)
        worst.append((s.min(), d.min()))
        print(f"seed {seed} specialist {s.round(0).tolist()} worst {s.min():.0f}; randomised {d.round(0).tolist()} "
              f"worst {d.min():.0f}", flush=True)
        few = [physics_transfer.train(physics_transfer.config(total_steps=30_000, stop_at=None), TARGET, TARGET,
                                      seed=seed, init_model=init) for init in (spec.model, None)]
        print(f"seed {seed} 2 m pole: zero-shot {physics_transfer.evaluate(spec.model, 2.0):.0f}; after 30k steps "
              f"fine-tuned {physics_transfer.evaluate(few[0].model, 2.0):.0f}, scratch "
              f"{physics_transfer.evaluate(few[1].model, 2.0):.0f} (greedy, 16 episodes)", flush=True)
        ft = physics_transfer.train(physics_transfer.config(total_steps=100_000), TARGET, TARGET, seed=seed,
                                    init_model=spec.model)
        sc = physics_transfer.train(physics_transfer.config(total_steps=100_000), TARGET, TARGET, seed=seed)
        print(f"seed {seed} steps to 475 on the 2 m pole: fine-tuned {ft.steps_to_solve}, scratch {sc.steps_to_solve}",
              flush=True)
    w = np.array(worst)
    print(f"worst case over lengths: randomised higher on {int((w[:, 1] > w[:, 0]).sum())}/5 seeds; "
          f"mean worst specialist {w[:, 0].mean():.0f}, randomised {w[:, 1].mean():.0f}")


def bitflip() -> None:
    for use_her in (True, False):
        finals = [float(her.train(her.Config(n_bits=15, her=use_her, cycles=150), seed=s).success[-1]) for s in range(3)]
        print(f"bit flipping n = 15, {'HER' if use_her else 'plain DQN'}: final greedy success {finals}", flush=True)


def adaptation() -> None:
    cfg = domain_adapt.Config()
    acc = {arm: np.array([domain_adapt.train(cfg, s, arm).target_accuracy for s in range(10)]) for arm in domain_adapt.ARMS}
    for arm, a in acc.items():
        print(f"domain adaptation, {arm}: target accuracy {a.round(3).tolist()}, mean {a.mean():.3f}", flush=True)
    frac = (acc["adapted"] - acc["source"]) / (acc["oracle"] - acc["source"])
    print(f"fraction of the gap recovered per seed {frac.round(2).tolist()}, mean {frac.mean():.2f}")
    strong = [domain_adapt.train(dataclasses.replace(cfg, mmd_weight=3.0), s, "adapted").target_accuracy for s in range(10)]
    print(f"adapted with λ = 3: {np.round(strong, 3).tolist()}, mean {np.mean(strong):.3f}", flush=True)


def modules() -> None:
    cfg = modular.Config()
    for mod in (True, False):
        net, _ = modular.train(cfg, seed=0, modular=mod, runs=10)
        train = np.array([[modular.success_rate(net, r, k, i) for r, k in modular.TRAIN_PAIRS] for i in range(10)])
        held = np.array([[modular.success_rate(net, r, k, i) for r, k in modular.HELD_OUT] for i in range(10)])
        print(f"{'modular' if mod else 'monolithic'}: training pairs mean success {train.mean():.3f} "
              f"(runs with every training pair ≥ 0.9: {int((train.min(1) >= 0.9).sum())}/10); held-out pairs "
              f"{held.round(2).tolist()}, mean {held.mean():.3f}, pairs ≥ 0.9: {int((held >= 0.9).sum())}/30", flush=True)


def main() -> None:
    t0 = time.process_time()
    adaptation()
    modules()
    physics()
    bitflip()
    print(f"CPU {time.process_time() - t0:.0f} s")


if __name__ == "__main__":
    main()
