"""Advantage actor-critic (A2C) with GAE on CartPole-v1: the batch actor-critic of Lecture 3.

    repeat:
      1. run π_θ for ``n_steps`` in each of ``n_envs`` environments: {(s_t, a_t, r_t, s'_t)}
      2. fit V_φ to bootstrapped targets  y_t = Â_t + V_φ(s_t)  (the λ-return)
      3. evaluate Â^π(s_t, a_t) with ``advantage_fn`` (GAE(γ, λ) by default)
      4. ∇_θ J ≈ (1/NT) Σ ∇_θ log π_θ(a_t | s_t) Â_t  (+ an entropy bonus)
      5. θ ← θ + α ∇_θ J

With n_steps = 1 and λ = 0 this is the online actor-critic (one transition per
environment per update, the TD advantage). The defaults are the small-batch A2C of Mnih et al. (8 environments ×
5 steps per update, λ = 1: each step's advantage is its return up to the rollout's end, bootstrapped there, minus V;
one critic step; no advantage standardisation; RMSprop and orthogonal initialisation, as in their paper and in
Stable-Baselines3); Lecture 3 runs the batch version (16 × 32, λ = 0.95, 10 critic steps, standardised advantages,
the critic predicting V / 100, Adam, PyTorch's default initialisation).

Gymnasium's CartPole vector env resets an episode on the step *after* it ends
(next-step autoreset): the observation returned at the end is the true s'_t, and
the following transition (final state → reset state, reward 0) is fake and
masked out of both losses. A truncated episode (500 steps) bootstraps from
V(s'_t); a terminated one (the pole fell) does not.

Lecture 3 §Batch actor-critic, §Online actor-critic (Mnih et al. 2016, A3C/A2C;
Schulman et al. 2016, GAE).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcourse_utils import advantages, nets

AdvantageFn = Callable[..., np.ndarray]  # (rewards, values, next_values, terminated, truncated, gamma, lam) -> (T, N)
Act = Callable[[np.ndarray], np.ndarray]  # observations (n, obs_dim) -> the deterministic policy's actions (n, ...)
Callback = Callable[[int, Act], bool]
"""``callback(env_steps, act) -> stop?``: called by every agent's ``train`` after every vector step (the on-policy
agents inside their rollouts too, as SB3 does; their policy changes only at updates) with the environment steps taken
so far and the current deterministic policy; returning True ends the run. The benchmark (``rlcourse_utils.bench``)
evaluates and times the agents through it."""

SOLVED = 475.0  # CartPole-v1's "solved" mean return


def make_vec(env_id: str, n_envs: int) -> gym.vector.VectorEnv:
    """``n_envs`` copies of the task ``env_id`` with next-step autoreset: gymnasium's numpy-vectorised version where
    the task has one (CartPole-v1), otherwise the copies stepped one after another in this process (Acrobot-v1)."""
    if gym.spec(env_id).vector_entry_point is not None:
        return gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point")
    return gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="sync")


def greedy(logits_fn: Callable[[torch.Tensor], torch.Tensor]) -> Act:
    """The deterministic policy argmax_a of a logits (or Q-value) network, on numpy observations."""
    def act(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return logits_fn(torch.as_tensor(obs, dtype=torch.float32)).argmax(-1).numpy()
    return act


@dataclass(frozen=True)
class Config:
    """Settings of A2C with GAE. With the defaults the greedy policy first scores 475 on CartPole-v1 (10 episodes,
    checked every 2,500 steps) after a median 7.5k steps over seeds 0-39 (quartiles 5k and 10k, at most 37.5k;
    median 0.56 CPU s on one core), where Stable-Baselines3's A2C with the RL Zoo's settings (the same algorithm at
    lr 7e-4 and γ 0.99) needs a median 10k (quartiles 7.5k and 17.5k, at most 67.5k). The sampling policy stays
    more random, and the training curve (last 16 episodes) reaches 475 only after 54k-96k steps (seeds 0-2).
    Lecture 3's batch settings (n_envs=16, n_steps=32, lam=0.95, lr=5e-3, critic_steps=10, value_scale=100,
    normalize_advantages=True, max_grad_norm=10, with γ 0.99, Adam and the default initialisation) reach 475 on
    the training curve in 31k-44k steps, but the greedy policy only after 10k-35k (median 18k)."""

    env_id: str = "CartPole-v1"
    """The task: a gymnasium id with a vector observation and discrete actions (CartPole-v1, Acrobot-v1, ...)."""
    n_envs: int = 8
    """Parallel environments N; 4 to 64. More envs = more decorrelated samples per update."""
    n_steps: int = 5
    """Rollout length T per update; the batch is N * T transitions. 1 with lam=0 = online actor-critic. Small batches
    (8 × 5 = 40) take many more updates per sample than 16 × 32 = 512, which on CartPole costs fewer samples."""
    total_steps: int = 100_000
    """Environment-step budget (all envs together); training stops early once ``stop_at`` is reached."""
    gamma: float = 0.995
    """Discount γ: the critic's horizon is about 1 / (1 - γ) steps; 0.9 to 0.999. On CartPole (over seeds 0-39)
    0.995 reached 475 in a median 7.5k steps with quartiles 5k-10k, 0.99 in 10k with 5k-15k."""
    lam: float = 1.0
    """GAE λ: 0 = one-step TD advantage (low variance, biased), 1 = Monte Carlo up to the rollout's end (here 5
    steps, then bootstrapped: the n-step return of A3C/A2C); 0.9 to 1."""
    lr: float = 1.5e-3
    """Learning rate of actor and critic; RMSprop at 1.5e-3 with the small unstandardised batches (over seeds 0-39,
    1e-3 needed a median 10k steps and 2e-3 had a longer tail, upper quartile 20k against 10k), Adam at 5e-3 with
    512 standardised ones (Lecture 3)."""
    optimizer: str = "rmsprop"
    """"rmsprop" (decay 0.99, ε 1e-5: Mnih et al.'s and SB3's A2C) or "adam". Over seeds 0-19 at γ 0.99, Adam at
    1e-3 and 2e-3 needed a median 11k-14k steps, RMSprop at 1.5e-3 and 2e-3 7.5k-10k."""
    ortho_init: bool = True
    """Orthogonal initial weights (gain √2 in hidden layers, 0.01 on the policy's output, 1 on the value's) and zero
    biases, as in SB3; False: PyTorch's default initialisation with the policy's last layer scaled by 0.01."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the MLPs."""
    shared: bool = False
    """True: one network body with a policy head and a value head; False: separate actor and critic networks."""
    critic_steps: int = 1
    """Gradient steps on the value loss per batch (the actor takes one); 1 to 10. Fitting V
    better is plain supervised learning on the same targets, and lowers the advantages' variance.
    With ``shared=True`` these extra steps also move the shared body."""
    vf_coef: float = 0.5
    """Weight of the value loss in the total loss (matters most with a shared body)."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus; 0 to 0.01."""
    value_scale: float = 1.0
    """The critic predicts V / value_scale; 100 keeps its outputs O(1) on CartPole (V ≤ 1/(1-γ) = 100), but with one
    critic step per 40 transitions 1 learned in fewer samples (on seed 0, 100 needed 118k steps against 10k)."""
    normalize_advantages: bool = False
    """Standardise Â over each batch (scale-free step size); the lecture's estimator is unchanged up to scale. Off by
    default: over 40 transitions it throws away how large the advantages are (with it, at lr 7e-4: median 22.5k
    steps instead of 12.5k, seeds 0-4)."""
    max_grad_norm: float = 0.5
    """Gradient clipping (global norm)."""
    window: int = 16
    """Learning curve: mean return of the last ``window`` finished training episodes."""
    stop_at: float | None = SOLVED
    """Stop once the curve reaches this mean return (None: use the whole budget)."""

    @property
    def batch_size(self) -> int:
        """Transitions per update, N * T."""
        return self.n_envs * self.n_steps


class ActorCritic(nn.Module):
    """π_θ(a | s) and V_φ(s): two MLPs, or one shared body with two linear heads (``shared=True``)."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: tuple[int, ...], shared: bool, ortho_init: bool = False):
        super().__init__()
        self.shared = shared
        if shared:
            self.body = nets.mlp(obs_dim, hidden[-1], hidden[:-1])
            self.pi_head, self.v_head = nn.Linear(hidden[-1], n_actions), nn.Linear(hidden[-1], 1)
            gains = [(m, 2 ** 0.5) for m in self.body if isinstance(m, nn.Linear)] + [(self.pi_head, 0.01),
                                                                                       (self.v_head, 1.0)]
        else:
            self.actor, self.critic = nets.mlp(obs_dim, n_actions, hidden), nets.mlp(obs_dim, 1, hidden)
            gains = [(m, out_gain if m is net[-1] else 2 ** 0.5)
                     for net, out_gain in ((self.actor, 0.01), (self.critic, 1.0))
                     for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            if ortho_init:  # orthogonal weights, zero biases (Saxe et al. 2014; SB3's ActorCriticPolicy)
                for layer, gain in gains:  # gain √2 in hidden layers, 0.01 on the policy's output, 1 on the value's
                    nn.init.orthogonal_(layer.weight, gain=gain)
                    layer.bias.zero_()
            else:  # a near-uniform initial policy (small last layer): no early accidental preference
                last = self.pi_head if shared else self.actor[-1]
                last.weight.mul_(0.01)
                last.bias.zero_()

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, obs_dim) → logits (B, n_actions), values (B,) (in units of value_scale)."""
        if self.shared:
            h = torch.tanh(self.body(obs))  # (B, hidden)
            return self.pi_head(h), self.v_head(h)[:, 0]
        return self.actor(obs), self.critic(obs)[:, 0]

    def policy(self, obs: torch.Tensor) -> torch.Tensor:
        """The logits alone (what acting needs; separate networks skip the critic)."""
        return self(obs)[0] if self.shared else self.actor(obs)


@dataclass(frozen=True)
class Result:
    """What one A2C run produced; every array has one entry per update."""

    env_steps: np.ndarray
    """(U,) environment steps taken by the end of each update (the x-axis of a learning curve)."""
    mean_return: np.ndarray
    """(U,) mean undiscounted return of the last ``cfg.window`` finished episodes (NaN before the first)."""
    entropy: np.ndarray
    """(U,) mean policy entropy, nats; starts at log 2 ≈ 0.69 and should fall slowly, not collapse to 0 early."""
    value_loss: np.ndarray
    """(U,) critic's mean squared error on its targets, in units of value_scale²."""
    explained_variance: np.ndarray
    """(U,) 1 - Var[y - V] / Var[y] of the critic before its update: rises towards 1 in a healthy run."""
    steps_to_solve: int | None
    """First env step count at which mean_return ≥ 475, None if never."""
    model: ActorCritic
    """The trained networks: ``model.policy(obs)`` gives (B, 2) logits, ``model(obs)[1]`` V / value_scale."""
    seconds: float
    """Wall-clock time of the run."""


def train(cfg: Config, seed: int = 0, advantage_fn: AdvantageFn = advantages.gae,
          callback: Callback | None = None) -> Result:
    """Run A2C with ``advantage_fn`` on ``cfg.env_id`` (CartPole-v1) and record the learning curve against env steps.

    Args:
        cfg: settings.
        seed: seeds the environments, the network and the action sampling.
        advantage_fn: GAE-like estimator (rewards, values, next_values, terminated, truncated, gamma, lam),
            all (T, N) arrays, returning (T, N) advantages.
        callback: ``callback(env_steps, act)`` after each vector step (the policy changes only at updates); True
            stops the run (see ``Callback``).

    Returns:
        A Result with the curve and the healthy-run diagnostics.
    """
    start = time.perf_counter()
    torch.manual_seed(seed)
    envs = make_vec(cfg.env_id, cfg.n_envs)
    obs, _ = envs.reset(seed=seed)  # (N, obs_dim)
    model = ActorCritic(obs.shape[1], int(envs.single_action_space.n), cfg.hidden, cfg.shared, cfg.ortho_init)
    params = list(model.parameters())
    if cfg.optimizer == "rmsprop":  # foreach: one kernel per op for all tensors
        optimizer: torch.optim.Optimizer = torch.optim.RMSprop(params, lr=cfg.lr, alpha=0.99, eps=1e-5, foreach=True)
    elif cfg.optimizer == "adam":
        optimizer = torch.optim.Adam(params, lr=cfg.lr, foreach=True)
    else:
        raise ValueError(f"optimizer must be 'rmsprop' or 'adam', not {cfg.optimizer!r}")
    act_now = greedy(model.policy)  # the current deterministic policy, for the callback
    T, N = cfg.n_steps, cfg.n_envs
    ep_return, finished = np.zeros(N), []
    reset_step = np.zeros(N, dtype=bool)  # True: this env's next step only resets it (next-step autoreset)
    log: dict[str, list] = {k: [] for k in ("steps", "ret", "ent", "vloss", "ev")}
    steps, solved_at = 0, None
    while steps < cfg.total_steps:
        # 1. collect T steps in N envs, acting under no_grad
        b_obs = np.zeros((T + 1, N, obs.shape[1]), dtype=np.float32)  # o_0 .. o_T; o_{t+1} is s'_t
        b_act, b_rew = np.zeros((T, N), dtype=np.int64), np.zeros((T, N))
        b_term, b_trunc, b_valid = (np.zeros((T, N), dtype=bool) for _ in range(3))
        stop = False
        for t in range(T):
            # the callback sees every vector step, as SB3's does (so both are evaluated at the same points)
            if t > 0 and callback is not None and callback(steps + t * N, act_now):
                stop = True
                break
            b_obs[t] = obs
            with torch.no_grad():
                logits = model.policy(torch.as_tensor(obs, dtype=torch.float32))  # (N, n_actions)
            action = torch.multinomial(torch.softmax(logits, -1), 1)[:, 0].numpy()  # (N,) a ~ π_θ(· | s)
            obs, reward, terminated, truncated, _ = envs.step(action)
            b_act[t], b_rew[t], b_term[t], b_trunc[t] = action, reward, terminated, truncated
            b_valid[t] = ~reset_step  # a reset step is not a transition of the MDP: masked out
            ep_return += reward
            ended = terminated | truncated
            finished += ep_return[ended].tolist()
            ep_return[ended] = 0.0
            reset_step = ended  # CRUCIAL: the env resets on the next step, whatever action we send
        if stop:
            break
        b_obs[T] = obs
        b_term |= ~b_valid  # a fake transition neither bootstraps nor links its neighbours
        steps += T * N

        # 2-3. values of o_0..o_T in one pass; advantages and λ-return targets without gradient
        o = torch.as_tensor(b_obs.reshape((T + 1) * N, -1))
        with torch.no_grad():
            v_all = model(o)[1].reshape(T + 1, N).numpy() * cfg.value_scale  # (T+1, N)
        values, next_values = v_all[:-1], v_all[1:]  # next-step autoreset: o_{t+1} is the true s'_t
        adv = np.asarray(advantage_fn(b_rew, values, next_values, b_term, b_trunc, cfg.gamma, cfg.lam))  # (T, N)
        targets = adv + values  # (T, N) the critic's regression targets

        # 4-5. one gradient step on policy-gradient + value loss - entropy bonus, valid steps only
        mask = torch.as_tensor(b_valid.reshape(-1), dtype=torch.float32)  # (T*N,)
        a = torch.as_tensor(adv.reshape(-1), dtype=torch.float32)  # (T*N,)
        if cfg.normalize_advantages:
            mean = (a * mask).sum() / mask.sum()
            std = (((a - mean) ** 2 * mask).sum() / mask.sum()).sqrt()
            a = (a - mean) / (std + 1e-8)
        logits, v = model(o[: T * N])  # (T*N, 2), (T*N,)
        log_pi = torch.log_softmax(logits, -1)  # (T*N, n_actions)
        logp = log_pi.gather(-1, torch.as_tensor(b_act.reshape(-1, 1)))[:, 0]  # (T*N,) log π_θ(a_t | s_t)
        y = torch.as_tensor(targets.reshape(-1) / cfg.value_scale, dtype=torch.float32)  # (T*N,)
        masked_mean = lambda x: (x * mask).sum() / mask.sum()  # noqa: E731
        pg_loss = -masked_mean(logp * a)
        v_loss = masked_mean((v - y) ** 2)
        entropy = masked_mean(-(log_pi.exp() * log_pi).sum(-1))
        loss = pg_loss + cfg.vf_coef * v_loss - cfg.ent_coef * entropy
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, cfg.max_grad_norm, foreach=True)
        optimizer.step()
        for _ in range(cfg.critic_steps - 1):  # extra regression steps of the critic alone (separate networks)
            v_loss_extra = masked_mean((model(o[: T * N])[1] - y) ** 2)
            optimizer.zero_grad()
            (cfg.vf_coef * v_loss_extra).backward()
            nn.utils.clip_grad_norm_(params, cfg.max_grad_norm, foreach=True)
            optimizer.step()

        # diagnostics of a healthy run
        ok = b_valid
        ev = 1.0 - np.var(targets[ok] - values[ok]) / max(np.var(targets[ok]), 1e-8)
        mean_ret = float(np.mean(finished[-cfg.window:])) if finished else np.nan
        for key, val in zip(log, (steps, mean_ret, entropy.item(), v_loss.item(), ev)):
            log[key].append(val)
        if solved_at is None and len(finished) >= cfg.window and mean_ret >= SOLVED:
            solved_at = steps
        if cfg.stop_at is not None and len(finished) >= cfg.window and mean_ret >= cfg.stop_at:
            break
        if callback is not None and callback(steps, act_now):
            break
    envs.close()
    return Result(np.array(log["steps"]), np.array(log["ret"]), np.array(log["ent"]), np.array(log["vloss"]),
                  np.array(log["ev"]), solved_at, model,
                  time.perf_counter() - start)
