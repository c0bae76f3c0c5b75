"""IMPALA-style actor–learner on CartPole-v1: actors roll out a stale policy, one learner applies V-trace.

Lecture 14 §4-5 (Espeholt et al. 2018). One learner loop, ``_train``, with two transports:

* ``train_local(cfg, seed)``: the ``cfg.n_actors`` collectors live in this process and roll out
  one after the other;
* ``train_ray(cfg, seed)``: the collectors are Ray actors (``ray.remote(Collector)``, one process
  each) rolling out in parallel with the learner. The same code runs on a cluster once
  ``ray.init(address=...)`` points at it.

The schedule is fixed, so both transports produce the same numbers bit for bit: update ``u``
consumes the rollout of actor ``u mod K`` (K = ``cfg.n_actors``), generated with the weights of
update ``max(0, u - cfg.lag)`` (the policy lag ℓ). The learner asks an actor for its next rollout as
soon as those weights exist and the actor's previous rollout has been consumed, so with ℓ ≥ K - 1
every actor is busy while the learner updates; Ray's asynchrony changes when a rollout arrives,
never which data an update sees. (IMPALA proper consumes whichever rollout arrives first; its lag
is then a random variable set by timing, and no two runs are the same.)

The environment is gymnasium's numpy-vectorised ``CartPoleVectorEnv`` (N copies in one array).
Its autoreset is "next step": the step after an episode ends only resets (its action is ignored,
reward 0) and the observation returned at the end is the episode's last one. The reset steps are
masked out of the loss and get ρ = c = 0, so their V-trace target is their own value and no trace
crosses into the next episode; a termination (the pole fell) sets γ_t = 0, while the 500-step
time limit keeps γ_t = γ and bootstraps from the last observation's value (the episode was cut,
the state was not terminal).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from rlcourse_utils import nets, vtrace


@dataclass
class Config:
    n_envs: int = 16  # CartPole copies per actor (N)
    unroll: int = 32  # steps per rollout (T)
    n_updates: int = 200  # learner updates, one rollout each
    n_actors: int = 1  # K collectors, used round robin
    lag: int = 0  # ℓ: update u learns from a rollout of the weights of update max(0, u - ℓ)
    lr: float = 3e-3  # Adam, decayed linearly to 0 over n_updates
    gamma: float = 0.99
    rho_bar: float = 1.0
    c_bar: float = 1.0
    correction: bool = True  # False: treat the stale rollouts as on-policy (ρ = c = 1)
    hidden: tuple[int, ...] = (64, 64)
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    grad_clip: float = 1.0


RAY = Config(n_envs=32, unroll=16, gamma=0.98, n_updates=800, n_actors=2, lag=1)
"""The lecture's Ray run: 2 actors, lag 1 (each actor rolls out while the learner updates on the
other's rollout), 32 CartPoles × 16 steps per rollout; stopped early at a greedy mean of 500.
Reached 500 on 10 of 10 seeds (scripts/lec14_measure.py)."""
LAG = Config(n_envs=16, unroll=16, gamma=0.98, lr=5e-3, n_updates=200)
"""The lecture's fixed-lag runs (one collector, ``lag`` and ``correction`` set per run)."""
FRESH_SEED = 20_000  # evaluation episodes independent of the stopping rule's (``evaluate``'s default seed)


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
    """One actor: N vectorised CartPoles and a copy of the policy; ``collect(weights)`` → one rollout.

    Its randomness (environment resets, action sampling) comes from ``seed`` alone, so the rollouts
    it returns depend only on the sequence of weights it is sent."""

    def __init__(self, n_envs: int, unroll: int, seed: int, hidden: tuple[int, ...] = (64, 64)):
        torch.set_num_threads(1)
        self.env = gym.make_vec("CartPole-v1", num_envs=n_envs, vectorization_mode="vector_entry_point")
        self.unroll, self.n = unroll, n_envs
        self.model = ActorCritic(hidden)
        self.reset(seed)

    def reset(self, seed: int) -> None:
        """Back to the state of a fresh ``Collector(..., seed)``: environments and sampler re-seeded."""
        self.obs, _ = self.env.reset(seed=seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.resetting = np.zeros(self.n, dtype=bool)  # the next step is an autoreset step
        self.ep_ret = np.zeros(self.n)

    def collect(self, weights: dict, version: int = 0) -> dict:
        """Roll out T steps of the policy ``weights``; return arrays (T, N) (``done``: an episode ended,
        ``term``: by termination, ``mask``: a real step, not a reset), obs (T+1, N, 4), the behaviour
        log-probabilities ``logp`` = log μ(a_t|x_t), finished episodes' returns, ``version``."""
        self.model.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
        T, N = self.unroll, self.n
        obs = np.zeros((T + 1, N, 4), dtype=np.float32)
        act, logp = np.zeros((T, N), dtype=np.int64), np.zeros((T, N), dtype=np.float32)
        rew, mask = np.zeros((T, N), dtype=np.float32), np.zeros((T, N), bool)
        done, term = np.zeros((T, N), bool), np.zeros((T, N), bool)
        finished = []
        u = torch.rand(T, N, generator=self.gen)  # inverse-CDF sampling: a = #{k : u > P(a ≤ k)}
        for t in range(T):
            obs[t] = self.obs
            with torch.no_grad():
                lp = F.log_softmax(self.model.pi(torch.from_numpy(obs[t])), -1)
                a = (u[t, :, None] > lp.exp().cumsum(-1)[:, :-1]).sum(-1)
            act[t], logp[t] = a.numpy(), lp.gather(-1, a[:, None]).squeeze(-1).numpy()
            mask[t] = ~self.resetting
            self.obs, r, terminated, trunc, _ = self.env.step(act[t])
            rew[t] = np.where(mask[t], r, 0.0)
            done[t], term[t] = (terminated | trunc) & mask[t], terminated & mask[t]
            self.ep_ret += rew[t]
            finished += self.ep_ret[done[t]].tolist()
            self.ep_ret[done[t]] = 0.0
            self.resetting = done[t]
        obs[T] = self.obs
        return dict(obs=obs, act=act, logp=logp, rew=rew, done=done, term=term, mask=mask, returns=finished,
                    version=version, steps=int(mask.sum()))


def update(model: ActorCritic, opt: torch.optim.Optimizer, batch: dict, cfg: Config,
           vtrace_fn=vtrace.vtrace_targets) -> dict:
    """One learner step on a rollout: V-trace targets (or uncorrected ones), policy gradient
    ρ_t (r_t + γ_t v_{t+1} - V(x_t)) ∇ log π(a_t|x_t), value regression to v_t, entropy bonus.

    Returns diagnostics over the rollout's real steps: ``rho`` = mean min(ρ̄, π/μ) (the weight
    V-trace puts on each step), ``small`` = fraction of steps with π/μ < 0.5, and ``entropy``."""
    obs = torch.tensor(batch["obs"])
    logits, v_all = model(obs)  # (T+1, N, 2), (T+1, N)
    lp_all = F.log_softmax(logits[:-1], -1)
    act = torch.tensor(batch["act"])
    logp = lp_all.gather(-1, act[..., None]).squeeze(-1)
    mask = torch.tensor(batch["mask"], dtype=torch.float32)
    disc = cfg.gamma * (1.0 - batch["term"].astype(np.float64))
    true_log_rhos = np.where(batch["mask"], logp.detach().numpy() - batch["logp"], 0.0)
    log_rhos = np.where(batch["mask"], true_log_rhos if cfg.correction else 0.0, -np.inf)  # reset steps: ρ = c = 0
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
    ratio = np.exp(true_log_rhos)[batch["mask"]]
    return dict(v_loss=float(v_loss.detach()), entropy=float(entropy.detach()),
                rho=float(np.minimum(cfg.rho_bar, ratio).mean()), small=float((ratio < 0.5).mean()))


def evaluate(model: ActorCritic, n_episodes: int = 20, seed: int = 10_000) -> float:
    """Mean undiscounted return of the greedy policy over ``n_episodes`` CartPole-v1 episodes (≤ 500)."""
    env = gym.make_vec("CartPole-v1", num_envs=n_episodes, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=seed)
    total, alive = np.zeros(n_episodes), np.ones(n_episodes, bool)
    while alive.any():
        with torch.no_grad():
            a = model.pi(torch.as_tensor(obs, dtype=torch.float32)).argmax(-1).numpy()
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


def actor_seed(seed: int, i: int) -> int:
    """Seed of actor ``i`` in a run seeded ``seed`` (both transports use it)."""
    return seed * 1000 + i


def _train(cfg: Config, seed: int, submit: Callable, fetch: Callable, vtrace_fn, target: float | None,
           eval_every: int) -> dict:
    """The learner loop, shared by both transports. ``submit(i, weights, version)`` asks actor i for a
    rollout and returns a handle; ``fetch(handle)`` returns the rollout.

    Update u consumes actor (u mod K)'s rollout of the weights of update max(0, u - ℓ). Request r is
    sent once its weights exist (r - ℓ ≤ u) and its actor is free (r - K < u)."""
    model, opt, sched = _new_learner(cfg, seed)
    K, lag = cfg.n_actors, cfg.lag
    weights = {0: get_weights(model)}  # version → weights, kept while a request may still need them
    pending, next_req = {}, 0
    returns, curve, lags, rhos, smalls, steps, evals = [], [], [], [], [], 0, []
    for u in range(cfg.n_updates):
        while next_req < cfg.n_updates and next_req - lag <= u and next_req - K < u:
            ver = max(0, next_req - lag)
            pending[next_req] = submit(next_req % K, weights[ver], ver)
            next_req += 1
        batch = fetch(pending.pop(u))
        lags.append(u - batch["version"])
        returns += batch["returns"]
        steps += batch["steps"]
        info = update(model, opt, batch, cfg, vtrace_fn)
        rhos.append(info["rho"])
        smalls.append(info["small"])
        sched.step()
        weights[u + 1] = get_weights(model)
        weights.pop(u + 1 - lag - 1, None)  # no later request uses a version older than u + 1 - ℓ
        curve.append(_running_mean(returns))
        if eval_every and (u + 1) % eval_every == 0:
            evals.append((u + 1, evaluate(model)))
            if target is not None and evals[-1][1] >= target:
                break
    return dict(model=model, episode_returns=returns, curve=np.array(curve), lags=np.array(lags),
                rho=np.array(rhos), small=np.array(smalls), steps=steps, evals=evals, pending=pending)


def train_local(cfg: Config, seed: int = 0, vtrace_fn=vtrace.vtrace_targets, target: float | None = None,
                eval_every: int = 0, final_eval: bool = True) -> dict:
    """The actor–learner schedule in one process (``cfg.n_actors`` collectors stepped in turn).

    Evaluates the greedy policy (20 episodes) every ``eval_every`` updates (0: never) and stops at
    the first evaluation reaching ``target`` (None: runs all ``cfg.n_updates`` updates). Returns dict(model, episode_returns, curve (running
    mean of the last 20 training episodes after each update), lags (per update), rho and small
    (per update, see ``update``), steps (env steps), evals [(update, greedy mean)], final_eval
    (greedy mean over 20 episodes, or None when ``final_eval`` is False))."""
    cols = [Collector(cfg.n_envs, cfg.unroll, actor_seed(seed, i), cfg.hidden) for i in range(cfg.n_actors)]
    out = _train(cfg, seed, lambda i, w, ver: cols[i].collect(w, ver), lambda b: b, vtrace_fn, target, eval_every)
    del out["pending"]
    return dict(out, final_eval=evaluate(out["model"]) if final_eval else None)


def make_actors(n_actors: int, n_envs: int = 16, unroll: int = 32, seed: int = 0,
                hidden: tuple[int, ...] = (64, 64)) -> list:
    """``n_actors`` Ray actors (``ray.remote(Collector)``, one process each), seeded ``actor_seed(seed, i)``.
    Start them once (each process start imports torch and gymnasium: about a second of CPU) and
    reuse them: ``train_ray`` re-seeds the ones it is given. The caller ends them with ``ray.kill``
    or ``ray.shutdown``."""
    import ray

    remote = ray.remote(num_cpus=0)(Collector)
    return [remote.remote(n_envs, unroll, actor_seed(seed, i), hidden) for i in range(n_actors)]


def train_ray(cfg: Config, seed: int = 0, vtrace_fn=vtrace.vtrace_targets, target: float | None = None,
              eval_every: int = 0, actors: list | None = None) -> dict:
    """The same schedule as ``train_local`` with the ``cfg.n_actors`` collectors as Ray actors, rolling
    out while the learner (this process) updates; the caller runs ``ray.init`` / ``ray.shutdown``.
    Uses the first ``cfg.n_actors`` of ``actors`` (from ``make_actors`` with the same n_envs and
    unroll), re-seeded as in ``train_local``, and leaves them running; without ``actors`` it starts
    its own and kills them at the end. Returns what ``train_local`` returns (the same numbers), plus
    ``wall`` (s, the learner loop)."""
    import ray

    own = actors is None
    actors = make_actors(cfg.n_actors, cfg.n_envs, cfg.unroll, seed, cfg.hidden) if own else actors[:cfg.n_actors]
    try:
        ray.get([a.reset.remote(actor_seed(seed, i)) for i, a in enumerate(actors)])
        start = time.perf_counter()
        out = _train(cfg, seed, lambda i, w, ver: actors[i].collect.remote(w, ver), ray.get, vtrace_fn,
                     target, eval_every)
        wall = time.perf_counter() - start
        ray.get(list(out.pop("pending").values()))  # rollouts requested but not used (an early stop)
    finally:
        if own:
            for a in actors:
                ray.kill(a)
    return dict(out, wall=wall, final_eval=evaluate(out["model"]))


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
