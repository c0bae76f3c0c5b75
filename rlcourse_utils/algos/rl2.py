"""RL²: a recurrent policy meta-trained on Bernoulli bandit tasks (Lecture 16).

Duan et al. 2016 ("RL²: fast reinforcement learning via slow reinforcement learning") and Wang et al. 2016
("Learning to reinforcement learn"): the policy is a GRU that sees its previous action and reward, and
keeps its hidden state across all the pulls of a task; one episode of the meta-learner is H pulls of one
task. Policy gradient on the total reward of such episodes, over many tasks μ ~ U[0, 1]^K, trains the
GRU's weights (the slow learner); the hidden state is what adapts to each new task (the fast learner).
Meta-RL as a POMDP: the unobserved state is the task μ, and the hidden state summarises the history.

Loss per batch (``train``): the policy-gradient surrogate (``policy_gradient.pg_pseudo_loss``) with
advantages = reward-to-go (``returns.reward_to_go``) − a learned value head, plus a value regression and
an entropy bonus. ``evaluate`` returns the cumulative pseudo-regret Σ_t (μ* − μ_{a_t}) on held-out tasks,
the quantity ``algos.bandits.bernoulli`` reports for ε-greedy and Thompson sampling.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rlcourse_utils import policy_gradient, returns
from rlcourse_utils.algos import bandits


@dataclass(frozen=True)
class RL2Config:
    n_arms: int = 5
    """K arms per task, each Bernoulli with mean μ_k ~ U[0, 1]."""
    horizon: int = 30
    """H pulls per task: one meta-episode (the hidden state is kept across all of them)."""
    n_iters: int = 300
    """Policy-gradient updates."""
    batch_tasks: int = 256
    """Tasks (meta-episodes) per update."""
    hidden: int = 48
    """GRU width."""
    lr: float = 1e-2
    """Adam's learning rate."""
    gamma: float = 0.8
    """Discount of the reward-to-go inside a meta-episode. Regret counts every pull alike (γ = 1), but γ = 0.8
    cuts the variance of the credit assigned to each pull; at γ = 1 the same budget barely learns."""
    entropy_coef: float = 0.01
    """Entropy bonus weight; keeps early exploration of the meta-learner itself (0.001 to 0.05)."""
    value_coef: float = 0.05
    """Weight of the value head's squared error (small: the value head shares the GRU with the policy)."""
    baseline: str = "value"
    """"value": the GRU's value head; "batch": the mean reward-to-go of the batch at each step (tasks are i.i.d.)."""


class RL2Policy(nn.Module):
    """GRU over (one-hot previous action, previous reward, first-step flag) → logits over K arms and a value."""

    def __init__(self, n_arms: int, hidden: int):
        super().__init__()
        self.n_arms = n_arms
        self.cell = nn.GRUCell(n_arms + 2, hidden)
        self.pi = nn.Linear(hidden, n_arms)
        self.v = nn.Linear(hidden, 1)

    def step(self, prev_action: torch.Tensor, prev_reward: torch.Tensor, first: bool, h: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(M,) long, (M,) float, flag, (M, hidden) → logits (M, K), value (M,), new hidden (M, hidden)."""
        inp = torch.cat([nn.functional.one_hot(prev_action, self.n_arms).float() * (not first),
                         prev_reward[:, None] * (not first),
                         torch.full_like(prev_reward[:, None], float(first))], dim=1)  # (M, K + 2)
        h = self.cell(inp, h)
        return self.pi(h), self.v(h).squeeze(-1), h


def rollout(policy: RL2Policy, means: torch.Tensor, horizon: int, generator: torch.Generator,
            greedy: bool = False, memory: bool = True) -> dict[str, torch.Tensor]:
    """Run the policy for ``horizon`` pulls on each task of ``means`` (M, K), hidden state kept throughout.
    ``memory=False`` is a control: the hidden state is zeroed before every pull (the policy still sees the
    last action and reward, nothing older).

    Returns log_probs, entropy, values, rewards (each (H, M)) and actions (H, M) long."""
    M = means.shape[0]
    h = torch.zeros(M, policy.cell.hidden_size)
    a = torch.zeros(M, dtype=torch.long)
    r = torch.zeros(M)
    out: dict[str, list] = {k: [] for k in ("log_probs", "entropy", "values", "rewards", "actions")}
    for t in range(horizon):
        if not memory:
            h = torch.zeros_like(h)
        logits, v, h = policy.step(a, r, t == 0, h)  # the hidden state carries over: never reset within a task
        logp_all = torch.log_softmax(logits, -1)  # (M, K)
        p = logp_all.exp()
        a = logits.argmax(-1) if greedy else torch.multinomial(p.detach(), 1, generator=generator).squeeze(-1)
        r = (torch.rand(M, generator=generator) < means.gather(1, a[:, None]).squeeze(-1)).float()
        for k, val in zip(out, (logp_all.gather(1, a[:, None]).squeeze(-1), -(p * logp_all).sum(-1), v, r, a)):
            out[k].append(val)
    return {k: torch.stack(v) for k, v in out.items()}


def train(cfg: RL2Config = RL2Config(), seed: int = 0, pg_loss_fn=policy_gradient.pg_pseudo_loss) -> dict:
    """Meta-train the GRU on fresh tasks each update. Returns {"policy", "reward": (n_iters,) mean reward per pull}."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    policy = RL2Policy(cfg.n_arms, cfg.hidden)
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    history = np.zeros(cfg.n_iters)
    for it in range(cfg.n_iters):
        means = torch.rand(cfg.batch_tasks, cfg.n_arms, generator=gen)  # a new batch of tasks
        ro = rollout(policy, means, cfg.horizon, gen)
        G = torch.as_tensor(returns.reward_to_go(ro["rewards"].numpy(), cfg.gamma), dtype=torch.float32)  # (H, M)
        b = ro["values"].detach() if cfg.baseline == "value" else G.mean(1, keepdim=True)  # (H, M) or (H, 1)
        adv = G - b
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        loss = (pg_loss_fn(ro["log_probs"], adv) / cfg.horizon + cfg.value_coef * (cfg.baseline == "value") * ((ro["values"] - G) ** 2).mean()
                - cfg.entropy_coef * ro["entropy"].mean())
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        history[it] = ro["rewards"].mean().item()
    return {"policy": policy, "reward": history}


def evaluate(policy: RL2Policy, means: np.ndarray, horizon: int, n_runs: int = 4, seed: int = 0,
             memory: bool = True) -> np.ndarray:
    """Cumulative pseudo-regret of the trained GRU on held-out tasks ``means`` (n_tasks, K), ``n_runs`` per task,
    actions sampled: (n_tasks, n_runs, horizon), the shape of stacking ``bandits.bernoulli`` over tasks."""
    gen = torch.Generator().manual_seed(seed)
    m = torch.as_tensor(np.repeat(means, n_runs, axis=0), dtype=torch.float32)  # (n_tasks * n_runs, K)
    with torch.no_grad():
        actions = rollout(policy, m, horizon, gen, memory=memory)["actions"].numpy().T  # (n_tasks * n_runs, H)
    mu = np.repeat(means, n_runs, axis=0)
    gaps = mu.max(1, keepdims=True) - np.take_along_axis(mu, actions, axis=1)  # (n_tasks * n_runs, H)
    return np.cumsum(gaps, axis=1).reshape(len(means), n_runs, horizon)


def baseline_regret(means: np.ndarray, method: str, horizon: int, n_runs: int = 4, seed: int = 0, **kw) -> np.ndarray:
    """Cumulative pseudo-regret of a classic bandit algorithm on each task (``algos.bandits.bernoulli``, Lecture 15):
    (n_tasks, n_runs, horizon), the shape of ``evaluate``. method: "eps", "thompson" or "ucb"."""
    return np.stack([bandits.bernoulli(m, method, horizon, n_runs, seed=seed + i, **kw) for i, m in enumerate(means)])
