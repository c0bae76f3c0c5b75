"""Proximal policy optimisation (PPO, clipped surrogate) with GAE on CartPole-v1.

    repeat:
      1. run π_θ for ``n_steps`` in each of ``n_envs`` environments; store log π_θ(a_t|s_t)
      2. Â_t = GAE(γ, λ) with the critic V_φ  (``advantages.gae``, Lecture 3: one function, reused)
      3. for ``n_epochs`` passes over the batch, in shuffled minibatches, minimise
             ppo_clip_loss(log π_θ', log π_θ, Â, ε)  +  c_v (V_φ(s_t) - (Â_t + V(s_t)))²  -  c_H H[π_θ']
         i.e. take many gradient steps on the importance-sampled surrogate while the clip keeps
         π_θ' near the π_θ that collected the data
      4. record what a healthy run looks like: mean KL D_KL(π_θ ‖ π_θ') of each update (a few
         hundredths at most), the fraction of samples whose ratio was clipped (0.05-0.3), entropy.

Rollout collection (``collect``) follows ``algos.actor_critic``: gymnasium's next-step autoreset,
fake reset transitions masked out, truncation bootstraps and termination does not. ``algos.trpo``
reuses it. Lecture 6 §PPO (Schulman et al. 2017); CleanRL's ``ppo.py`` for the tricks
(advantage normalisation per minibatch, gradient clipping).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcourse_utils import advantages, trust_region
from rlcourse_utils.algos.actor_critic import SOLVED, ActorCritic, Callback, greedy, make_vec

AdvantageFn = Callable[..., np.ndarray]  # (rewards, values, next_values, terminated, truncated, gamma, lam) -> (T, N)
ClipLossFn = Callable[..., torch.Tensor]  # (logp_new, logp_old, advantages, clip_eps) -> scalar loss


@dataclass(frozen=True)
class Config:
    """Settings of PPO-clip. With ``n_epochs=4`` (Lectures 6, 12 and 13 pin it) the training curve reaches a mean
    return ≥ 475 in 30k-55k steps (seeds 0-4); the default 10 epochs reuse each batch more: under the benchmark's
    protocol (``rlcourse bench``: greedy evaluations every 2,500 steps) the median over seeds 0-4 fell from 30k
    steps and 2.6 CPU-s to 12.8k steps and 2.2 CPU-s. More epochs or minibatches solve in fewer steps but cost
    more compute per step."""

    env_id: str = "CartPole-v1"
    """The task: a gymnasium id with a vector observation and discrete actions (CartPole-v1, Acrobot-v1, ...)."""
    n_envs: int = 16
    """Parallel environments N; 4 to 64."""
    n_steps: int = 32
    """Rollout length T per update; the batch is N * T transitions."""
    total_steps: int = 100_000
    """Environment-step budget; training stops early once ``stop_at`` is reached."""
    gamma: float = 0.99
    """Discount γ."""
    lam: float = 0.95
    """GAE λ."""
    clip_eps: float = 0.2
    """Clip range ε of the ratio π_θ'/π_θ; usually 0.1 to 0.3. Larger = bigger, riskier updates."""
    n_epochs: int = 10
    """Passes over each batch; 3 to 10. More reuse of the data, more drift from π_θ (the clip limits it)."""
    n_minibatches: int = 2
    """Minibatches per epoch."""
    lr: float = 3e-3
    """Adam learning rate of actor and critic; 3e-4 to 3e-3."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the actor's and the critic's MLPs."""
    vf_coef: float = 0.5
    """Weight of the value loss."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus; 0 to 0.01."""
    value_scale: float = 100.0
    """The critic predicts V / value_scale (V ≤ 1/(1-γ) = 100 on CartPole)."""
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


@dataclass
class Batch:
    """One rollout of T steps in N environments, time first."""

    obs: np.ndarray  # (T+1, N, obs_dim) o_0 .. o_T; with next-step autoreset o_{t+1} is the true s'_t
    actions: np.ndarray  # (T, N) int64
    rewards: np.ndarray  # (T, N)
    terminated: np.ndarray  # (T, N) bool, True also on fake reset steps (they neither bootstrap nor link)
    truncated: np.ndarray  # (T, N) bool
    valid: np.ndarray  # (T, N) bool, False on the fake transition that only resets an env
    logits: np.ndarray  # (T, N, n_actions) logits of the policy that acted


class Collector:
    """Runs a policy in a vector of ``env_id`` environments (CartPole-v1) and keeps the training-episode returns."""

    def __init__(self, n_envs: int, seed: int, envs: gym.vector.VectorEnv | None = None,
                 env_id: str = "CartPole-v1"):
        self.envs = envs if envs is not None else make_vec(env_id, n_envs)
        self.n_actions = int(self.envs.single_action_space.n)
        self.obs, _ = self.envs.reset(seed=seed)  # (N, obs_dim)
        self.ep_return, self.finished = np.zeros(n_envs), []
        self.reset_step = np.zeros(n_envs, dtype=bool)  # next step only resets this env (next-step autoreset)
        self.steps = 0

    def collect(self, policy: Callable[[torch.Tensor], torch.Tensor], T: int,
                on_step: Callable[[int], bool] | None = None) -> Batch | None:
        """T steps of ``policy`` (observations → logits) in every environment. ``on_step(env_steps) -> stop?`` is
        called before each vector step but the first, with the steps taken so far; when it returns True the
        rollout is abandoned and ``collect`` returns None (``steps`` then counts the steps taken)."""
        N = len(self.obs)
        obs = np.zeros((T + 1, N, self.obs.shape[1]), dtype=np.float32)
        actions, rewards = np.zeros((T, N), dtype=np.int64), np.zeros((T, N))
        term, trunc, valid = (np.zeros((T, N), dtype=bool) for _ in range(3))
        logits = np.zeros((T, N, self.n_actions), dtype=np.float32)
        for t in range(T):
            if t > 0 and on_step is not None and on_step(self.steps + t * N):
                self.steps += t * N
                return None
            obs[t] = self.obs
            with torch.no_grad():
                lg = policy(torch.as_tensor(self.obs, dtype=torch.float32))  # (N, n_actions)
                # a ~ softmax(lg): what Categorical(logits=lg).sample() computes, without building the object
                probs = torch.softmax(lg - lg.logsumexp(-1, keepdim=True), -1)
            action = torch.multinomial(probs, 1, True)[:, 0].numpy()  # (N,)
            self.obs, reward, terminated, truncated, _ = self.envs.step(action)
            actions[t], rewards[t], term[t], trunc[t], logits[t] = action, reward, terminated, truncated, lg.numpy()
            valid[t] = ~self.reset_step  # a reset step is not a transition of the MDP
            self.ep_return += reward
            ended = terminated | truncated
            self.finished += self.ep_return[ended].tolist()
            self.ep_return[ended] = 0.0
            self.reset_step = ended  # CRUCIAL: the env resets on the next step, whatever action we send
        obs[T] = self.obs
        self.steps += T * N
        return Batch(obs, actions, rewards, term | ~valid, trunc, valid, logits)

    def mean_return(self, window: int) -> float:
        return float(np.mean(self.finished[-window:])) if self.finished else np.nan

    def close(self) -> None:
        self.envs.close()


def advantages_and_targets(model: ActorCritic, batch: Batch, gamma: float, lam: float, value_scale: float,
                           advantage_fn: AdvantageFn) -> tuple[np.ndarray, np.ndarray]:
    """GAE advantages Â (T, N) and the critic's λ-return targets Â + V (T, N), from one value pass."""
    T, N = batch.actions.shape
    with torch.no_grad():
        v_all = model(torch.as_tensor(batch.obs.reshape((T + 1) * N, -1)))[1].reshape(T + 1, N).numpy()
    v_all = v_all * value_scale  # (T+1, N)
    values, next_values = v_all[:-1], v_all[1:]  # next-step autoreset: o_{t+1} is the true s'_t
    adv = np.asarray(advantage_fn(batch.rewards, values, next_values, batch.terminated, batch.truncated, gamma, lam))
    return adv, adv + values


@dataclass(frozen=True)
class Result:
    """What one PPO run produced; every array has one entry per update."""

    env_steps: np.ndarray
    """(U,) environment steps taken by the end of each update."""
    mean_return: np.ndarray
    """(U,) mean undiscounted return of the last ``cfg.window`` finished episodes (NaN before the first)."""
    kl: np.ndarray
    """(U,) mean D_KL(π_θ ‖ π_θ') over the batch's states between the policy before and after the update."""
    clip_fraction: np.ndarray
    """(U,) fraction of samples whose ratio was outside [1-ε, 1+ε] in the update's last epoch."""
    entropy: np.ndarray
    """(U,) mean policy entropy on the batch, nats (log 2 ≈ 0.69 at the start)."""
    steps_to_solve: int | None
    """First env step count at which mean_return ≥ 475, None if never."""
    model: ActorCritic
    """The trained actor and critic."""
    seconds: float
    """Wall-clock time of the run."""


def train(cfg: Config, seed: int = 0, clip_loss_fn: ClipLossFn = trust_region.ppo_clip_loss,
          advantage_fn: AdvantageFn = advantages.gae, reward_fn: Callable[[Batch], np.ndarray] | None = None,
          envs: gym.vector.VectorEnv | None = None, init_model: ActorCritic | None = None,
          callback: Callback | None = None) -> Result:
    """Run PPO-clip on ``cfg.env_id`` (CartPole-v1) and record the learning curve, per-update KL and clip fraction.

    Args:
        cfg: settings.
        seed: seeds the environments, the networks, the action sampling and the minibatch shuffles.
        clip_loss_fn: (logp_new, logp_old, advantages, clip_eps) ↦ scalar loss, ``ppo_clip_loss`` by default.
        advantage_fn: GAE-like estimator on (T, N) arrays, ``advantages.gae`` by default.
        reward_fn: None trains on the environment's reward. Otherwise it maps each fresh ``Batch`` to the
            (T, N) rewards PPO trains on instead (a learned reward: GAIL's discriminator, Lecture 12); the
            learning curve ``mean_return`` still reports the environment's return.
        envs: None runs CartPole-v1; otherwise a CartPole-like vector env of ``cfg.n_envs`` envs with
            next-step autoreset (changed physics, domain randomisation: Lecture 13).
        init_model: None starts from a fresh network; otherwise a copy of it is trained (fine-tuning, Lecture 13).
        callback: ``callback(env_steps, act)`` after every vector step (the policy changes only at updates, and each
            update is followed by a call); True stops the run (see ``actor_critic.Callback``).
    """
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    col = Collector(cfg.n_envs, seed, envs, cfg.env_id)
    model = ActorCritic(col.obs.shape[1], col.n_actions, cfg.hidden, shared=False)
    if init_model is not None:
        model.load_state_dict(init_model.state_dict())
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    log: dict[str, list] = {k: [] for k in ("steps", "ret", "kl", "clip", "ent")}
    solved_at = None
    act_now = greedy(model.policy)  # the current deterministic policy, for the callback
    on_step = None if callback is None else lambda steps: callback(steps, act_now)
    while col.steps < cfg.total_steps:
        # 1-2. rollout with the current policy π_θ; advantages and critic targets (no gradient)
        batch = col.collect(model.policy, cfg.n_steps, on_step)
        if batch is None:  # the callback stopped the run mid-rollout
            break
        if reward_fn is not None:  # a learned reward replaces the environment's (Lecture 12, GAIL)
            batch.rewards = np.asarray(reward_fn(batch), dtype=np.float64).reshape(batch.rewards.shape)
        adv, targets = advantages_and_targets(model, batch, cfg.gamma, cfg.lam, cfg.value_scale, advantage_fn)
        keep = batch.valid.reshape(-1)  # drop the fake reset transitions
        obs = torch.as_tensor(batch.obs[:-1].reshape(cfg.batch_size, -1)[keep])  # (B, 4)
        act = torch.as_tensor(batch.actions.reshape(-1)[keep])  # (B,)
        old_logits = torch.as_tensor(batch.logits.reshape(cfg.batch_size, -1)[keep])  # (B, 2) π_θ, fixed
        logp_old = torch.distributions.Categorical(logits=old_logits).log_prob(act)  # (B,)
        a_all = torch.as_tensor(adv.reshape(-1)[keep], dtype=torch.float32)  # (B,)
        y_all = torch.as_tensor(targets.reshape(-1)[keep] / cfg.value_scale, dtype=torch.float32)  # (B,)

        # 3. several epochs of minibatch steps on the clipped surrogate + value loss
        B = len(act)
        mb = max(B // cfg.n_minibatches, 1)
        for epoch in range(cfg.n_epochs):
            clipped = []
            for idx in np.array_split(rng.permutation(B), max(B // mb, 1)):
                idx = torch.as_tensor(idx)
                logits, v = model(obs[idx])
                dist = torch.distributions.Categorical(logits=logits)
                logp = dist.log_prob(act[idx])
                a = a_all[idx]
                a = (a - a.mean()) / (a.std() + 1e-8)  # per-minibatch advantage normalisation
                loss = (clip_loss_fn(logp, logp_old[idx], a, cfg.clip_eps)
                        + cfg.vf_coef * ((v - y_all[idx]) ** 2).mean() - cfg.ent_coef * dist.entropy().mean())
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                optimizer.step()
                with torch.no_grad():
                    clipped.append(((logp - logp_old[idx]).exp() - 1).abs() > cfg.clip_eps)

        # 4. diagnostics: how far did this update move the policy?
        with torch.no_grad():
            new_logits = model.policy(obs)
            kl = trust_region.categorical_kl(old_logits, new_logits).mean().item()
            ent = torch.distributions.Categorical(logits=new_logits).entropy().mean().item()
        mean_ret = col.mean_return(cfg.window)
        for key, val in zip(log, (col.steps, mean_ret, kl, torch.cat(clipped).float().mean().item(), ent)):
            log[key].append(val)
        enough = len(col.finished) >= cfg.window
        if solved_at is None and enough and mean_ret >= SOLVED:
            solved_at = col.steps
        if cfg.stop_at is not None and enough and mean_ret >= cfg.stop_at:
            break
        if callback is not None and callback(col.steps, act_now):
            break
    col.close()
    return Result(np.array(log["steps"]), np.array(log["ret"]), np.array(log["kl"]), np.array(log["clip"]),
                  np.array(log["ent"]), solved_at, model, time.perf_counter() - start)
