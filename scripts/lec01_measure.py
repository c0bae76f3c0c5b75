"""Run Lecture 1's experiments the way the notebook does (3 seeds) and print figures and wall times.

    .venv/bin/python scripts/lec01_measure.py [--threads 1] [--extra]

Each block prints what the notebook asserts, and asserts it here too, so this
script is a quick check that the package still meets the lecture's claims.
``--extra`` adds measurements the notebook does not run (short demonstrations).
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

import rlcourse_utils as rcu
from rlcourse_utils.algos import bc, dagger, mixture
from rlcourse_utils.envs import cartpole, obstacle

SEEDS = (0, 1, 2)
SOLVED = 475.0


class Timer:
    """Prints the wall time of a block."""

    total = 0.0

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        elapsed = time.perf_counter() - self.start
        Timer.total += elapsed
        print(f"  [{self.name}: {elapsed:.1f} s]\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--extra", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with Timer("expert"):
        returns = rcu.rollouts.evaluate(cartpole.expert_actions, 100, seed=0)
        print(f"LQR expert: mean return {returns.mean():.1f}, min {returns.min():.0f} over 100 episodes")
        assert returns.min() == 500

    with Timer("teacher bound: BC of a biased teacher"):
        teacher = rcu.rollouts.evaluate(cartpole.biased_expert_actions, 10, seed=0).mean()
        learner = [bc.train(bc.Config(n_demos=2), seed=s, expert=cartpole.biased_expert_actions)
                   .eval_returns.mean() for s in SEEDS]
        print(f"biased teacher {teacher:.0f}; BC of it per seed {np.round(learner)}")
        assert max(learner) <= teacher + 25

    with Timer("BC sweep over whole demonstrations"):
        n_demos = [1, 2, 4]
        bc_runs = [[bc.train(bc.Config(n_demos=n), seed=s) for n in n_demos] for s in SEEDS]
        bc_labels = np.array([r.n_labels for r in bc_runs[0]])
        bc_returns = np.array([[r.eval_returns.mean() for r in runs] for runs in bc_runs])  # (S, L)
        bc_need = dagger.labels_to_reach(bc_labels, bc_returns, SOLVED)
        print(f"BC labels {bc_labels}\n  returns per seed\n{np.round(bc_returns)}\n  BC needs {bc_need} labels")

    with Timer("DAgger"):
        dagger_runs = [dagger.train(dagger.Config(), seed=s) for s in SEEDS]
        d_labels = dagger_runs[0].labels
        d_returns = np.array([r.returns for r in dagger_runs])  # (S, I)
        d_need = dagger.labels_to_reach(d_labels, d_returns, SOLVED)
        print(f"DAgger labels {d_labels}\n  returns per seed\n{np.round(d_returns)}\n  DAgger needs {d_need} labels")
        assert d_returns[:, -1].mean() >= SOLVED and d_need < bc_need

    with Timer("distribution shift + horizon curves"):
        for name, runs in [("BC, 1 demo", [r[0] for r in bc_runs]), ("DAgger", dagger_runs)]:
            eps = [(np.mean(r.policy.act(r.data_obs) != r.data_actions),  # on its training data, p_data
                    rcu.rollouts.disagreement(r.eval_rollout, r.policy.act, cartpole.expert_actions),  # on p_pi
                    rcu.rollouts.disagreement(rcu.rollouts.rollout(cartpole.expert_actions, 10, seed=100 + i),
                                              r.policy.act, cartpole.expert_actions))  # on fresh expert episodes
                   for i, r in enumerate(runs)]
            print(f"{name}: per-step disagreement (train data, own states, held-out expert states) per seed:",
                  [tuple(round(float(e), 3) for e in seed_eps) for seed_eps in eps])
            if name.startswith("BC"):
                assert all(own > 10 * train for train, own, _ in eps)
        survival_bc = np.mean([rcu.rollouts.survival_curve(r[0].eval_rollout) for r in bc_runs], 0)
        survival_dagger = np.mean([rcu.rollouts.survival_curve(r.eval_rollout) for r in dagger_runs], 0)
        mistakes_bc = np.mean([rcu.rollouts.mistake_curve(r[0].eval_rollout, cartpole.expert_actions)
                               for r in bc_runs], 0)
        mistakes_dagger = np.mean([rcu.rollouts.mistake_curve(r.eval_rollout, cartpole.expert_actions)
                                   for r in dagger_runs], 0)
        print(f"survival at t=499: BC {survival_bc[-1]:.2f}, DAgger {survival_dagger[-1]:.2f}; "
              f"mistakes by t=100: BC {mistakes_bc[100]:.1f}, DAgger {mistakes_dagger[100]:.1f}")

    with Timer("compounding: per-step mistake rate on own vs expert states, J(T) slopes"):
        expert_eps = rcu.rollouts.rollout(cartpole.expert_actions, 50, seed=100)
        Ts = np.array([50, 100, 200, 400])
        for name, runs in [("BC, 1 demo", [r[0] for r in bc_runs]), ("DAgger", dagger_runs)]:
            own = [rcu.rollouts.rollout(r.policy.act, 50, seed=1000 + s) for s, r in zip(SEEDS, runs)]
            wrong = np.array([rcu.rollouts.mistakes(ep, cartpole.expert_actions) for ep in own])  # (S, T, N)
            alive = np.array([ep.alive for ep in own])
            on_expert = np.array([rcu.rollouts.mistakes(expert_eps, cartpole.expert_actions, r.policy.act)
                                  for r in runs])
            eps = rcu.rollouts.rate_by_step(on_expert, np.broadcast_to(expert_eps.alive, on_expert.shape),
                                            np.array([0, 500]))[0]
            J = np.mean([rcu.rollouts.tightrope_cost(w, a) for w, a in zip(wrong, alive)], 0)[Ts - 1]
            slope = np.polyfit(np.log(Ts), np.log(J), 1)[0]
            print(f"{name}: own-state rate {rcu.rollouts.rate_by_step(wrong, alive, np.array([0, 500]))[0]:.3f}, "
                  f"expert-state ε {eps:.3f}; J(T) {np.round(J, 1)} at T={Ts}, slope {slope:.2f}, "
                  f"J/εT {np.round(J / (eps * Ts), 2)}, failed by 400: {1 - alive[:, 399].mean():.2f}")

    with Timer("history on position-only CartPole (BC, k=1 vs k=2)"):
        cfg = bc.Config(position_only=True, n_demos=20, demo_steps=50, fit_steps=200)
        hist = {k: [bc.train(dataclasses.replace(cfg, k=k), seed=s) for s in SEEDS] for k in (1, 2)}
        for k, runs in hist.items():
            print(f"k={k}: returns per seed {[round(r.eval_returns.mean()) for r in runs]}, "
                  f"final loss {[round(float(r.losses[-1]), 3) for r in runs]}")
        mean = {k: np.mean([r.eval_returns.mean() for r in runs]) for k, runs in hist.items()}
        assert mean[2] >= 200 and mean[2] >= 5 * mean[1]

    with Timer("single Gaussian vs mixture (obstacle)"):
        mix = {K: [mixture.train(mixture.Config(n_components=K), seed=s) for s in SEEDS] for K in (1, 5)}
        for K, runs in mix.items():
            modes = [float(obstacle.rollout(r.policy.mode, 100, seed=7).success.mean()) for r in runs]
            print(f"K={K}: success sampled {[r.success_rate for r in runs]}, with the mode {modes}, "
                  f"final NLL {[round(float(r.losses[-1]), 2) for r in runs]}")
        sampled = {K: np.mean([r.success_rate for r in runs]) for K, runs in mix.items()}
        assert sampled[5] >= 0.9 and sampled[1] <= 0.5

    print(f"TOTAL of the notebook's experiments: {Timer.total:.1f} s")

    if args.extra:
        print("\n--- extra (not in the notebook) ---")
        with Timer("BC with short demonstrations"):
            for n, steps in [(2, 25), (5, 20), (4, 25), (10, 20)]:
                r = [bc.train(bc.Config(n_demos=n, demo_steps=steps), seed=s).eval_returns.mean() for s in SEEDS]
                print(f"BC {n} demos x {steps} steps = {n * steps} labels: {np.round(r)}")
        with Timer("DAgger with history on position-only CartPole"):
            for k in (1, 2):
                cfg = dagger.Config(position_only=True, k=k, n_demos=2, labels_per_iter=50)
                r = np.array([dagger.train(cfg, seed=s).returns for s in SEEDS])
                print(f"DAgger k={k}: returns per iteration\n{np.round(r)}")


if __name__ == "__main__":
    main()
