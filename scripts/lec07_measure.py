"""Measure Lecture 7's experiments on more seeds than the notebook runs, with wall times.

    .venv/bin/python scripts/lec07_measure.py [--episodes 10] [--mcts-seeds 20]

CEM-MPC with the true model on Pendulum-v1 (episodes seeded 0..N-1, the notebook runs 0-4),
MCTS/UCT against flat Monte Carlo on the deceptive tree, iLQR's pendulum swing-up (checked by the
autograd gradient), and iLQR against DDP from several starts.
Each block asserts what the notebook asserts.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from rlcourse_utils import control, planning
from rlcourse_utils.envs import pendulum


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--mcts-seeds", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)

    t0 = time.perf_counter()
    res = planning.run_cem_mpc("Pendulum-v1", planning.MPCConfig(), seed=0, n_episodes=args.episodes)
    returns = np.array(res.returns)
    print(f"CEM-MPC ({planning.MPCConfig()}): returns {returns.round(1)}")
    print(f"  mean {returns.mean():.1f}, min {returns.min():.1f}; {time.perf_counter() - t0:.1f} s")
    assert returns.mean() >= -200

    t0 = time.perf_counter()
    uct_ok = flat_ok = 0
    for seed in range(args.mcts_seeds):
        step_fn = planning.deceptive_tree(5, seed=seed)
        assert planning.exhaustive_search(step_fn, (), 2, 5).argmax() == 1
        uct_ok += planning.mcts(step_fn, (), 2, 5, 1000, 1 / np.sqrt(2), np.random.default_rng(seed))[0] == 1
        flat_ok += planning.flat_monte_carlo(step_fn, (), 2, 5, 1000, np.random.default_rng(seed))[0] == 1
    print(f"deceptive tree, depth 5, 1000 simulations: UCT optimal in {uct_ok}/{args.mcts_seeds} seeds, "
          f"flat Monte Carlo in {flat_ok}/{args.mcts_seeds}; {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    cost = lambda x, u: pendulum.smooth_cost_torch(x, u) + 0.05 * u[0] ** 2   # noqa: E731
    x0 = np.array([np.pi, 0.0])
    r = control.ilqr(pendulum.smooth_dynamics_torch, cost, x0, np.full((100, 1), 0.1), n_iters=60, tol=1e-10)
    U = torch.tensor(r.U, requires_grad=True)
    control.shooting_cost(pendulum.smooth_dynamics_torch, cost, x0, U).backward()
    grad = float(U.grad.abs().max())
    print(f"iLQR swing-up: {len(r.costs) - 1} iterations, cost {r.costs[0]:.1f} -> {r.costs[-1]:.2f}, "
          f"max |dJ/du| (autograd) {grad:.1e}, final θ {pendulum.angle_normalize(r.X[-1, 0]):.1e}; "
          f"{time.perf_counter() - t0:.1f} s (includes torch.func's first import)")
    assert grad < 1e-5

    t0 = time.perf_counter()
    for x_start in ([1.0, 0.0], [2.0, 0.0], [2.5, 0.0]):
        line = []
        for second_order in (False, True):
            rr = control.ilqr(pendulum.smooth_dynamics_torch, cost, np.array(x_start), np.zeros((30, 1)), n_iters=40,
                              reg=0.0, tol=0.0, second_order=second_order)
            line.append(f"{'DDP' if second_order else 'iLQR'} {len(rr.costs) - 1} it, J {rr.costs[-1]:.6f}")
        print(f"x0 = {x_start}, T = 30: " + "; ".join(line))
    print(f"  {time.perf_counter() - t0:.1f} s")

if __name__ == "__main__":
    main()
