"""Deep Q-learning from demonstrations (DQfD, Hester et al. 2018) on a slippery gridworld, tabular, against its
ablations (Lecture 15 §Q-learning from demonstrations).

The task: Lecture 4's ``envs.gridworld`` on a larger sparse layout (``LAYOUT``): +1 on entering the goal, 0
elsewhere, γ = 0.95, a slip of 0.2 to a perpendicular direction, episodes cut after ``horizon`` steps. It was chosen
because each ingredient fails alone for a reason one can see: the reward is far from the start, so ε-greedy
Q-learning finds it late (exploration); a handful of expert episodes covers only the cells along the expert's
path, and the slip pushes the agent off it into cells the demonstrations never show, so imitation alone is
stuck there (covariate shift, Lecture 1). Values are a table Q (K runs, S, A) trained by SGD, so every arm has the
same function class and the greedy policy is evaluated exactly (``dp.policy_evaluation_exact``).

Arms (``ARMS``), all with the same seeds, initial tables, update count and, where they act, the same env steps:

- ``"dqfd"``: the demonstrations stay in the buffer; each mini-batch mixes demo and own transitions; loss =
  TD + λ J_E on the demo samples (``large_margin_fn``); ``pretrain_updates`` on demos only before acting;
- ``"rl"``: the same loop with no demonstrations (TD on own transitions, ε-greedy);
- ``"demos"``: imitation alone, J_E on the demonstrations only (no TD, no environment);
- ``"demos_td"``: the control: demonstrations in the buffer and TD, but λ = 0 (no large-margin loss).

    loop:  act ε-greedily in K gridworlds → store (s, a, r, s', terminated)
           batch = demo samples (fraction ``demo_fraction``) + own samples
           loss = Σ_batch ½ (Q(s, a) − y)² + λ n_demo J_E(Q; demo samples),   y = r + γ (1 − terminated) max Q(s', ·)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from rlcourse_utils import dp, exploration
from rlcourse_utils.envs.gridworld import gridworld

LAYOUT = ("S.........",
          "..........",
          "..######..",
          "..#....#..",
          "..#.##.#..",
          "....#G.#..",
          "..###..#..",
          "..........",
          "..........")
ARMS = ("dqfd", "rl", "demos", "demos_td")


@dataclass(frozen=True)
class Config:
    """Settings shared by every arm."""

    layout: tuple[str, ...] = LAYOUT
    """Gridworld layout (``envs.gridworld`` characters)."""
    slip: float = 0.2
    """Probability that a move goes sideways."""
    gamma: float = 0.95
    """Discount γ (shorter routes to the goal are worth more)."""
    horizon: int = 60
    """Steps per episode (a time limit: truncation bootstraps)."""
    n_demos: int = 3
    """Expert episodes (from the optimal policy, in the slippery world)."""
    total_steps: int = 3_000
    """Environment steps per run (arms that act)."""
    pretrain_updates: int = 200
    """DQfD's updates on demonstrations only, before acting (also given to ``demos`` and ``demos_td``)."""
    batch_size: int = 32
    """Transitions per update."""
    demo_fraction: float = 0.25
    """Share of each mini-batch drawn from the demonstrations once the agent has its own data."""
    lr: float = 0.1
    """SGD step on the table (per sample: Q(s, a) += lr × TD error; 0.2 makes the greedy policy flicker more)."""
    margin: float = 0.1
    """Large-margin m of J_E."""
    lam: float = 1.0
    """Weight λ of J_E."""
    eps: float = 0.1
    """ε of the behaviour policy."""
    init_scale: float = 1e-3
    """Initial table ~ N(0, init_scale²): ties in never-trained states are broken at random, per seed."""
    eval_every: int = 100
    """Evaluate the greedy policy every this many env steps (updates, for the ``demos`` arm)."""


def make_mdp(cfg: Config):
    """(mdp, cells, terminal (S,) bool): the gridworld and which states end an episode when entered."""
    mdp, cells = gridworld(cfg.layout, slip=cfg.slip, gamma=cfg.gamma)
    terminal = np.zeros(mdp.n_states, dtype=bool)
    terminal[[i for i, (r, c) in enumerate(cells) if cfg.layout[r][c] in "GX"]] = True
    terminal[-1] = True
    return mdp, cells, terminal


def greedy_values(mdp, Q: np.ndarray) -> np.ndarray:
    """Exact discounted return from the start of the greedy policy of each table: Q (K, S, A) → (K,)."""
    out = np.empty(len(Q))
    for k, q in enumerate(Q):
        V = dp.policy_evaluation_exact(mdp.P, mdp.R, dp.greedy_policy(q), mdp.gamma)
        out[k] = mdp.mu0 @ V
    return out


def _step(P: np.ndarray, s: np.ndarray, a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sample s' ~ P(· | s, a) for a batch: (K,) states and actions → (K,) next states."""
    cdf = P[s, a].cumsum(-1)  # (K, S)
    return np.minimum((rng.random(len(s))[:, None] > cdf).sum(-1), P.shape[-1] - 1)


def demonstrations(cfg: Config, mdp, terminal: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """``n_demos`` episodes of the optimal policy from the start state: arrays s, a, r, s2, terminated (D,)."""
    rng = np.random.default_rng(seed)
    expert = dp.q_iteration(mdp.P, mdp.R, mdp.gamma, 500).argmax(-1)  # (S,) optimal actions
    out = {k: [] for k in ("s", "a", "r", "s2", "terminated")}
    for _ in range(cfg.n_demos):
        s = np.array([int(np.argmax(mdp.mu0))])
        for _ in range(cfg.horizon):
            a = expert[s]
            s2 = _step(mdp.P, s, a, rng)
            for key, val in zip(out, (s, a, mdp.R[s, a], s2, terminal[s2])):
                out[key].append(val[0])
            if terminal[s2[0]]:
                break
            s = s2
    return {k: np.array(v) for k, v in out.items()}


def train(cfg: Config = Config(), seeds: tuple[int, ...] = (0, 1, 2, 3, 4), arms: tuple[str, ...] = ARMS,
          large_margin_fn: Callable[..., torch.Tensor] = exploration.large_margin_loss) -> dict:
    """Run every arm on every seed (K = len(arms) × len(seeds) tables at once). Seed ``sd`` fixes the initial table
    and the demonstrations, shared by the arms. Returns {"steps": (E,) x-axis, "optimal": V*(start),
    arm: {"curve": (len(seeds), E) exact greedy return at each evaluation, "n_demo_transitions": (len(seeds),)}}."""
    mdp, cells, terminal = make_mdp(cfg)
    S, A, S_ = mdp.n_states, mdp.n_actions, len(seeds)
    K = len(arms) * S_
    kind = np.repeat(np.array(arms), S_)  # (K,)
    acts = np.isin(kind, ["dqfd", "rl", "demos_td"])
    use_demos = kind != "rl"
    use_td = kind != "demos"
    lam = np.where(np.isin(kind, ["dqfd", "demos"]), cfg.lam, 0.0)  # (K,)
    demos = [demonstrations(cfg, mdp, terminal, seed=1_000 + sd) for sd in seeds]
    n_demo_tr = np.array([len(d["s"]) for d in demos])[np.arange(K) % S_]  # (K,) demo transitions of each run
    D = int(n_demo_tr.max())
    demo_arr = {key: np.stack([np.pad(d[key], (0, D - len(d[key]))) for d in demos]).astype(
        np.int64 if key in ("s", "a", "s2") else float) for key in ("s", "a", "r", "s2", "terminated")}  # (seeds, D)
    Q0 = np.stack([np.random.default_rng(sd).normal(0, cfg.init_scale, (S, A)) for sd in seeds])
    Q = torch.tensor(np.tile(Q0, (len(arms), 1, 1)), requires_grad=True)  # (K, S, A)
    opt = torch.optim.SGD([Q], lr=cfg.lr)
    rng = np.random.default_rng(list(seeds) + [7])
    start = int(np.argmax(mdp.mu0))
    own = {k: np.zeros((K, cfg.total_steps), dtype=np.int64 if k in "sas2" else float)
           for k in ("s", "a", "r", "s2", "terminated")}
    rows = np.arange(K)
    B = cfg.batch_size

    def update(n_own: int) -> None:
        # the batch: demo samples for runs that use them (all of it before acting), own samples for the rest
        mixed = acts & (n_own > 0)  # (K,) runs whose batch mixes demonstrations and own data
        n_demo = np.where(use_demos, np.where(mixed, int(round(cfg.demo_fraction * B)), B), 0)  # (K,)
        col = np.arange(B)[None, :]
        is_demo = col < n_demo[:, None]  # (K, B): the first n_demo samples of run k are demonstrations
        i = (rng.random((K, B)) * n_demo_tr[:, None]).astype(np.int64)  # (K, B) demo indices
        j = rng.integers(0, max(n_own, 1), (K, B))  # (K, B) own-data indices
        batch = {key: np.where(is_demo, demo_arr[key][rows % S_][rows[:, None], i], own[key][rows[:, None], j])
                 for key in own}
        active = torch.from_numpy((is_demo | mixed[:, None]).astype(np.float64))  # (K, B) rows that count
        q = Q[rows[:, None], torch.from_numpy(batch["s"])]  # (K, B, A)
        q_sa = q.gather(2, torch.from_numpy(batch["a"])[..., None])[..., 0]  # (K, B)
        with torch.no_grad():  # the bootstrap target is a constant
            y = torch.from_numpy(batch["r"]) + cfg.gamma * (1 - torch.from_numpy(batch["terminated"])) * \
                Q[rows[:, None], torch.from_numpy(batch["s2"])].max(-1).values
        td = (0.5 * (q_sa - y) ** 2 * active * torch.from_numpy(use_td[:, None].astype(np.float64))).sum()
        mask = torch.from_numpy(is_demo & (lam[:, None] > 0)).reshape(-1)
        n_lm = float(mask.sum())
        lm = large_margin_fn(q.reshape(K * B, A), torch.from_numpy(batch["a"]).reshape(-1), cfg.margin, mask)
        loss = td + cfg.lam * n_lm * lm  # Σ over samples: each one moves its table entry by lr × its own gradient
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(cfg.pretrain_updates):
        update(0)
    steps = np.arange(0, cfg.total_steps + 1, cfg.eval_every)
    curve = np.zeros((K, len(steps)))
    curve[:, 0] = greedy_values(mdp, Q.detach().numpy())
    s = np.full(K, start)
    t_ep = np.zeros(K, dtype=int)
    for t in range(cfg.total_steps):
        with torch.no_grad():
            greedy = Q[rows, torch.from_numpy(s)].argmax(-1).numpy()
        a = np.where(rng.random(K) < cfg.eps, rng.integers(0, A, K), greedy)
        s2 = _step(mdp.P, s, a, rng)
        for key, val in zip(own, (s, a, mdp.R[s, a], s2, terminal[s2].astype(float))):
            own[key][:, t] = val
        t_ep += 1
        restart = terminal[s2] | (t_ep >= cfg.horizon)
        s = np.where(restart, start, s2)
        t_ep[restart] = 0
        update(t + 1)
        if (t + 1) % cfg.eval_every == 0:
            curve[:, (t + 1) // cfg.eval_every] = greedy_values(mdp, Q.detach().numpy())
    V_star = float(mdp.mu0 @ dp.q_iteration(mdp.P, mdp.R, mdp.gamma, 500).max(-1))
    out = {"steps": steps, "optimal": V_star}
    for i, arm in enumerate(arms):
        out[arm] = {"curve": curve[i * S_:(i + 1) * S_], "n_demo_transitions": np.array([len(d["s"]) for d in demos])}
    return out
