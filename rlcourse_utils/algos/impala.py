"""IMPALA-style actor–learner on CartPole-v1: actors roll out a stale policy, one learner applies V-trace.

Lecture 14 §IMPALA (Espeholt et al. 2018). Two drivers share one ``Collector`` and one ``update``:

* ``train_local(cfg, seed)``: in one process, with a *fixed* policy lag: the behaviour policy of
  each rollout is the learner's policy from ``cfg.lag`` updates ago (a deque of old weights).
  Deterministic for a seed; the lag experiment uses it.
* ``train_ray(cfg, seed, n_actors)``: ``n_actors`` Ray actors (``ray.remote(Collector)``), each
  rolling out the weights it last received while the learner (the driver) updates on whichever
  rollout arrives first (``ray.wait``) and sends that actor the new weights. The lag is then
  whatever the system produces (recorded per batch). The same code runs on a cluster once
  ``ray.init(address=...)`` points at it. Not bit-reproducible: arrival order depends on timing.

The environment is gymnasium's numpy-vectorised ``CartPoleVectorEnv`` (N copies in one array).
Its autoreset is "next step": the step after an episode ends only resets (its action is ignored,
reward 0); those steps are masked out of the loss, and an episode's end (terminated or the
500-step truncation) cuts the V-trace recursion (γ_t = 0): the truncation is treated as a
termination, a small bias at the cap that CartPole tolerates.
"""
from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from rlcourse_utils import nets, vtrace


@dataclass
class Config:
    n_envs: int = 16  # CartPole copies per actor
    unroll: int = 32  # steps per rollout (T)
    n_updates: int = 200  # learner updates
    lr: float = 3e-3
    gamma: float = 0.99
    rho_bar: float = 1.0
    c_bar: float = 1.0
    correction: bool = True  # False: treat the stale rollouts as on-policy (ρ = c = 1)
    lag: int = 0  # train_local only: behaviour weights are this many updates old
    hidden: tuple[int, ...] = (64, 64)
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    grad_clip: float = 1.0
    extra: dict = field(default_factory=dict)


class ActorCritic(torch.nn.Module):
    """Policy logits and value from two ``nets.mlp`` heads on the CartPole observation."""

    def __init__(self, hidden: tuple[int, ...] = (64, 64)):
        super().__init__()
        self.pi = nets.mlp(4, 2, hidden)
        self.v = nets.mlp(4, 1, hidden)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(..., 4) observations → (..., 2) logits, (...) values."""
        return self.pi(obs), self.v(obs).squeeze(-1)


def get_weights(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone().numpy() for k, v in model.state_dict().items()}


class Collector:
    """One actor: N vectorised CartPoles and a copy of the policy; ``collect(weights)`` → one rollout."""

    def __init__(self, n_envs: int, unroll: int, seed: int, hidden: tuple[int, ...] = (64, 64)):
        torch.set_num_threads(1)
        self.env = gym.make_vec("CartPole-v1", num_envs=n_envs, vectorization_mode="vector_entry_point")
        self.obs, _ = self.env.reset(seed=seed)
        self.unroll, self.n = unroll, n_envs
        self.model = ActorCritic(hidden)
        self.gen = torch.Generator().manual_seed(seed)
        self.resetting = np.zeros(n_envs, dtype=bool)  # the next step is an autoreset step
        self.ep_ret = np.zeros(n_envs)

    def collect(self, weights: dict, version: int = 0) -> dict:
        """Roll out T steps of the policy ``weights``; return arrays (T, N) and (T+1, N, 4) obs."""
        self.model.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
        T, N = self.unroll, self.n
        obs = np.zeros((T + 1, N, 4), dtype=np.float32)
        act, logp = np.zeros((T, N), dtype=np.int64), np.zeros((T, N), dtype=np.float32)
        rew, done, mask = np.zeros((T, N), dtype=np.float32), np.zeros((T, N), bool), np.zeros((T, N), bool)
        finished = []
        for t in range(T):
            obs[t] = self.obs
            with torch.no_grad():
                logits, _ = self.model(torch.as_tensor(self.obs, dtype=torch.float32))
                lp = F.log_softmax(logits, -1)
                a = torch.multinomial(lp.exp(), 1, generator=self.gen).squeeze(-1)
            act[t], logp[t] = a.numpy(), lp.gather(-1, a[:, None]).squeeze(-1).numpy()
            mask[t] = ~self.resetting
            self.obs, r, term, trunc, _ = self.env.step(act[t])
            rew[t] = np.where(mask[t], r, 0.0)
            done[t] = (term | trunc) & mask[t]
            self.ep_ret += rew[t]
            finished += self.ep_ret[done[t]].tolist()
            self.ep_ret[done[t]] = 0.0
            self.resetting = done[t]
        obs[T] = self.obs
        return dict(obs=obs, act=act, logp=logp, rew=rew, done=done, mask=mask, returns=finished,
                    version=version, steps=int(mask.sum()))


def update(model: ActorCritic, opt: torch.optim.Optimizer, batch: dict, cfg: Config,
           vtrace_fn=vtrace.vtrace_targets) -> dict:
    """One learner step on a rollout: V-trace targets (or uncorrected ones), policy gradient
    ρ_t (r_t + γ_t v_{t+1} - V(x_t)) ∇ log π(a_t|x_t), value regression to v_t, entropy bonus."""
    obs = torch.tensor(batch["obs"])
    logits, values = model(obs)  # (T+1, N, 2), (T+1, N)
    logits, v_all = logits[:-1], values
    lp_all = F.log_softmax(logits, -1)
    act = torch.tensor(batch["act"])
    logp = lp_all.gather(-1, act[..., None]).squeeze(-1)
    mask = torch.tensor(batch["mask"], dtype=torch.float32)
    disc = cfg.gamma * (1.0 - batch["done"].astype(np.float64))
    log_rhos = (logp.detach().numpy() - batch["logp"]) if cfg.correction else np.zeros_like(batch["logp"])
    log_rhos = np.where(batch["mask"], log_rhos, 0.0)
    v_np = v_all.detach().numpy().astype(np.float64)
    vs = vtrace_fn(batch["rew"], v_np[:-1], v_np[-1], disc, log_rhos, cfg.rho_bar, cfg.c_bar)
    vs_next = np.concatenate([vs[1:], v_np[-1:]], 0)
    rho = np.minimum(cfg.rho_bar, np.exp(log_rhos))
    pg_adv = rho * (batch["rew"] + disc * vs_next - v_np[:-1])
    pg_adv, vs_t = torch.as_tensor(pg_adv, dtype=torch.float32), torch.as_tensor(vs, dtype=torch.float32)
    n = mask.sum().clamp_min(1.0)
    pg_loss = -(mask * pg_adv * logp).sum() / n
    v_loss = (mask * (vs_t - v_all[:-1]) ** 2).sum() / n
    entropy = -(mask * (lp_all.exp() * lp_all).sum(-1)).sum() / n
    loss = pg_loss + cfg.vf_coef * v_loss - cfg.ent_coef * entropy
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()
    return dict(v_loss=float(v_loss.detach()), entropy=float(entropy.detach()), rho_mean=float(np.exp(log_rhos)[batch["mask"]].mean()))


def evaluate(model: ActorCritic, n_episodes: int = 20, seed: int = 10_000) -> float:
    """Mean undiscounted return of the greedy policy over ``n_episodes`` CartPole-v1 episodes (≤ 500)."""
    env = gym.make_vec("CartPole-v1", num_envs=n_episodes, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=seed)
    total, alive = np.zeros(n_episodes), np.ones(n_episodes, bool)
    while alive.any():
        with torch.no_grad():
            a = model(torch.as_tensor(obs, dtype=torch.float32))[0].argmax(-1).numpy()
        obs, r, term, trunc, _ = env.step(a)
        total += r * alive
        alive &= ~(term | trunc)
    env.close()
    return float(total.mean())


def _new_learner(cfg: Config, seed: int) -> tuple[ActorCritic, torch.optim.Optimizer, object]:
    """Model, Adam, and a learning rate decaying linearly to 0 over ``cfg.n_updates`` (as in IMPALA)."""
    torch.manual_seed(seed)
    model = ActorCritic(cfg.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    return model, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda u: max(0.0, 1.0 - u / cfg.n_updates))


def _running_mean(returns: list, k: int = 20) -> float:
    return float(np.mean(returns[-k:])) if returns else 0.0


def train_local(cfg: Config, seed: int = 0, vtrace_fn=vtrace.vtrace_targets) -> dict:
    """Single-process actor–learner with a fixed lag of ``cfg.lag`` updates. Deterministic per seed.

    Returns dict(model, episode_returns (list), curve (running mean of the last 20 episodes after
    each update, (n_updates,)), steps (env steps), final_eval (greedy mean over 20 episodes))."""
    model, opt, sched = _new_learner(cfg, seed)
    actor = Collector(cfg.n_envs, cfg.unroll, seed, cfg.hidden)
    old = collections.deque([get_weights(model)], maxlen=cfg.lag + 1)
    returns, curve, steps = [], [], 0
    for _ in range(cfg.n_updates):
        batch = actor.collect(old[0])  # the oldest kept weights: `lag` updates behind
        returns += batch["returns"]
        steps += batch["steps"]
        update(model, opt, batch, cfg, vtrace_fn)
        sched.step()
        old.append(get_weights(model))
        curve.append(_running_mean(returns))
    return dict(model=model, episode_returns=returns, curve=np.array(curve), steps=steps,
                final_eval=evaluate(model))


def make_actors(n_actors: int, n_envs: int = 16, unroll: int = 32, seed: int = 0,
                hidden: tuple[int, ...] = (64, 64)) -> list:
    """``n_actors`` Ray actors (``ray.remote(Collector)``, one process each), seeded seed*1000 + i.
    Start them once and reuse them: each process start imports torch and gymnasium (about a second
    of CPU). The caller ends them with ``ray.kill`` or ``ray.shutdown``."""
    import ray

    remote = ray.remote(num_cpus=0)(Collector)
    return [remote.remote(n_envs, unroll, seed * 1000 + i, hidden) for i in range(n_actors)]


def train_ray(cfg: Config, seed: int = 0, n_actors: int = 2, vtrace_fn=vtrace.vtrace_targets,
              target: float | None = None, actors: list | None = None) -> dict:
    """Asynchronous actor–learner on Ray (the caller runs ``ray.init`` / ``ray.shutdown``).

    Each of ``n_actors`` remote ``Collector``s rolls out with the weights it was last sent; the
    learner takes the first finished rollout (``ray.wait``), updates, and sends that actor the new
    weights. Stops after ``cfg.n_updates`` updates, or earlier once the greedy evaluation (every
    25 updates) reaches ``target``. Returns dict(model, curve, lags (per update: learner version
    minus the rollout's version), steps, wall (s), final_eval)."""
    import ray

    model, opt, sched = _new_learner(cfg, seed)
    own = actors is None
    if own:
        actors = make_actors(n_actors, cfg.n_envs, cfg.unroll, seed, cfg.hidden)
    version = 0
    w = ray.put(get_weights(model))
    pending = {a.collect.remote(w, version): a for a in actors}
    returns, curve, lags, steps, evals = [], [], [], 0, []
    start = time.perf_counter()
    for u in range(cfg.n_updates):
        ready, _ = ray.wait(list(pending), num_returns=1)
        actor = pending.pop(ready[0])
        batch = ray.get(ready[0])
        lags.append(version - batch["version"])
        returns += batch["returns"]
        steps += batch["steps"]
        update(model, opt, batch, cfg, vtrace_fn)
        sched.step()
        version += 1
        pending[actor.collect.remote(ray.put(get_weights(model)), version)] = actor
        curve.append(_running_mean(returns))
        if target is not None and (u + 1) % 25 == 0:
            evals.append((u + 1, evaluate(model)))
            if evals[-1][1] >= target:
                break
    wall = time.perf_counter() - start
    ray.get(list(pending))  # let the last rollouts finish before the actors go (or are reused)
    if own:
        for a in actors:
            ray.kill(a)
    return dict(model=model, curve=np.array(curve), lags=np.array(lags), steps=steps, wall=wall,
                evals=evals, final_eval=evaluate(model))


def steps_per_second(actors: list, n_rounds: int = 4) -> float:
    """Environment steps per second of the given Ray actors rolling out a fixed policy in parallel
    (no learning): total steps / wall time of ``n_rounds`` rounds of one rollout per actor, after one
    warm-up round. The actors are left running (pass a prefix of a list to time 1, 2, ... of them)."""
    import ray

    w = ray.put(get_weights(ActorCritic()))
    ray.get([a.collect.remote(w) for a in actors])  # warm-up: processes started, imports done
    start = time.perf_counter()
    steps = 0
    for _ in range(n_rounds):
        steps += sum(b["steps"] for b in ray.get([a.collect.remote(w) for a in actors]))
    return steps / (time.perf_counter() - start)
