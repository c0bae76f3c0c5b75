"""DQN and double DQN on CartPole-v1: replay buffer + target network + ε-greedy, Lecture 5.

    repeat:
      1. act ε-greedily in ``n_envs`` environments, add (s, a, r, s', terminated) to the replay buffer
         (with ``n_step`` = n > 1: (s_t, a_t, Σ_{m<k} γ^m r_{t+m}, s_{t+k}, terminated, k), k = n or the steps
         left in the episode; Lecture 5 §multi-step returns)
      2. sample a uniform mini-batch from the buffer
      3. y = r + γ (1 - terminated) max_a' Q_φ'(s', a')              (``dqn_target_fn``), or with
         y = r + γ (1 - terminated) Q_φ'(s', argmax_a' Q_φ(s', a'))  (``double_target_fn``, cfg.double);
         an n-step transition passes γ^(k-1) Q_φ'(s_{t+k}, ·) as the target values, so that γ makes it γ^k
      4. φ ← φ - α ∇_φ huber(Q_φ(s, a) - y)                          (``loss_fn``; no gradient into y)
      5. every ``target_every`` updates: φ' ← τ φ + (1 - τ) φ'        (``polyak_fn``; τ = 1 is a hard copy)

Speed (one torch thread): the environments are gymnasium's numpy-vectorised CartPole, the buffer is preallocated,
acting runs under ``torch.no_grad()``, the online network scores s and s' in one forward pass for double DQN, and
the Q-network keeps all its weights in one flat parameter vector (``QNetwork``), so Adam, gradient clipping and the
Polyak update each touch one tensor. A profile of a 64-64 network on batches of 64 found the forward, backward and
Adam step's arithmetic a small part of an update: most of it is torch's per-call overhead, the same for any
mini-batch up to a few hundred rows, which is why the default mini-batch is 256.

Gymnasium's CartPole vector env resets an episode on the step *after* it ends (next-step autoreset):
that reset step is not a transition of the MDP and is never stored. An episode cut at 500 steps is
truncated, not terminated, and its last transition bootstraps like any other (the buffer keeps both flags
and the target functions must use only ``terminated``).

Every ``eval_every`` env steps the greedy policy plays ``eval_episodes`` fresh episodes; the run records
their mean return and, on their states, the network's estimate Q_φ(s_t, a_t) next to the discounted
return actually collected from s_t (the data of the overestimation plot).

Lecture 5 §DQN, §double Q-learning, §tips (Mnih et al. 2015; van Hasselt et al. 2016).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcourse_utils import nets, q_learning
from rlcourse_utils.algos.actor_critic import Callback, greedy, make_vec
from rlcourse_utils.replay import NStepReplayBuffer

SOLVED = 475.0  # CartPole-v1's "solved" mean return


@dataclass(frozen=True)
class Config:
    """Settings of DQN on CartPole-v1, close to the RL Baselines3 Zoo's with a CPU-sized 64-64 network (the Zoo's is
    256-256), mini-batches of 256 (the Zoo's are 64) and 5-step targets (the Zoo's are one-step). Under ``rlcourse
    bench``'s protocol (greedy evaluation every 2,500 steps) over tuning seeds 0-49 the greedy policy first reached
    a mean return ≥ 475 after a median 12,500 env steps (quartiles 7,500 and 15,000, at most 32,500, none missed
    within 50k), double DQN after 10,000 (10,000 and 15,000, at most 25,000); with one-step targets (``n_step=1``)
    DQN needed a median 22,500 over seeds 0-9 and missed one. With ``n_step=1`` and ``stop_at=SOLVED`` (Lecture 5,
    an evaluation every 1,000 steps) a run stops at 14k env steps (seed 0), 6k (seed 1) and 28k (seed 2); double DQN
    at 33k, not within 50k (seed 1) and 2k. ``buffer_size=n_envs, target_every=1`` is naive online Q-learning (each
    update sees only the latest vector step, and the target is the current network)."""

    env_id: str = "CartPole-v1"
    """The task: a gymnasium id with a vector observation and discrete actions (CartPole-v1, Acrobot-v1, ...)."""
    total_steps: int = 50_000
    """Environment-step budget (all envs together)."""
    n_envs: int = 4
    """Parallel environments N; each vector step adds N transitions."""
    double: bool = False
    """True: double DQN targets (online net selects a', target net evaluates it)."""
    gamma: float = 0.99
    """Discount γ; Q* ≤ 1 / (1 - γ) = 100 on CartPole."""
    lr: float = 2.3e-3
    """Adam learning rate; 3e-4 to 3e-3."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the Q-network (ReLU)."""
    batch_size: int = 256
    """Mini-batch size sampled from the buffer; 32 to 256. At this network size an update's time is mostly fixed
    per-call overhead, so 256 costs little more than 64, and its less noisy gradient reached 475 more reliably."""
    buffer_size: int = 50_000
    """Replay capacity in transitions; older ones are overwritten (= n_envs: no replay, only the latest step)."""
    learning_starts: int = 1_000
    """Env steps of ε-greedy data before the first update."""
    updates_per_step: int = 2
    """Gradient steps per vector step (i.e. per N env steps)."""
    target_every: int = 128
    """Apply ``polyak_fn`` every this many gradient steps (100-1000 for a hard copy, 1 for Polyak)."""
    tau: float = 1.0
    """Polyak τ: 1 = hard update (copy φ into φ'), 0.005 with target_every = 1 = soft update."""
    eps_start: float = 1.0
    """Initial ε of the ε-greedy behaviour policy."""
    eps_end: float = 0.04
    """Final ε."""
    eps_duration: int = 8_000
    """Env steps over which ε decays linearly."""
    huber_delta: float = 1.0
    """δ of the Huber loss (Bellman errors larger than δ get a clipped gradient)."""
    max_grad_norm: float = 10.0
    """Gradient clipping (global norm)."""
    eval_every: int = 1_000
    """Evaluate the greedy policy every this many env steps."""
    eval_episodes: int = 10
    """Greedy episodes per evaluation."""
    q_horizon: int = 100
    """Q estimates are compared with discounted returns on eval states t < q_horizon only: an episode cut at
    500 steps hides at most γ^(500 - t) / (1 - γ) of the return (1.8 at t = 100, γ = 0.99)."""
    stop_at: float | None = None
    """Stop once an evaluation reaches this mean return (None: use the whole budget)."""
    n_step: int = 5
    """Multi-step targets (Lecture 5 §multi-step returns): y = Σ_{m<k} γ^m r_{t+m} + γ^k (1 - terminated)
    max_a' Q_φ'(s_{t+k}, a') with k = n_step, or fewer where the episode ended first (``NStepReplayBuffer``).
    1 is DQN's one-step target. The rewards after the first come from the behaviour policy, so for n > 1 the
    target is biased towards its values; on CartPole the faster propagation of the reward wins. Median env steps
    to 475 under the bench protocol: n = 1 22,500 (seeds 0-9, one missed), 3 18,750 and 8 17,500 (seeds 0-9),
    4 and 5 12,500 (seeds 0-49, none missed)."""


class QNetwork(nn.Module):
    """A ReLU MLP observations (B, obs_dim) → action values (B, n_actions), the same function and initialisation as
    ``nets.mlp``, with all its weights and biases in ONE flat parameter vector ``flat`` (each layer a view of it).

    At DQN's sizes an update's time is mostly per-tensor overhead, not arithmetic: with one parameter tensor, Adam,
    gradient clipping (one norm) and the target update each touch one tensor instead of two per layer."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: tuple[int, ...]):
        super().__init__()
        layers = [m for m in nets.mlp(obs_dim, n_actions, hidden, nn.ReLU) if isinstance(m, nn.Linear)]
        self.shapes = [(m.out_features, m.in_features) for m in layers]
        self.sizes = [n for o, i in self.shapes for n in (o * i, o)]  # weight, bias of each layer in turn
        self.flat = nn.Parameter(torch.cat([t.detach().reshape(-1) for m in layers for t in (m.weight, m.bias)]))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        params = self.flat.split(self.sizes)
        x, last = obs, len(self.shapes) - 1
        for k, shape in enumerate(self.shapes):
            x = torch.addmm(params[2 * k + 1], x, params[2 * k].view(shape).t())  # x Wᵀ + b
            if k < last:
                x = x.relu()
        return x


@dataclass(frozen=True)
class Result:
    """What one DQN run produced; the eval arrays have one entry per evaluation."""

    eval_steps: np.ndarray
    """(E,) env steps at each evaluation (the x-axis)."""
    eval_return: np.ndarray
    """(E,) mean undiscounted return of ``eval_episodes`` greedy episodes."""
    q_estimate: np.ndarray
    """(E,) mean Q_φ(s_t, a_t) over the evaluation states (t < q_horizon): what the network believes."""
    q_true: np.ndarray
    """(E,) mean discounted return Σ_k γ^k r_{t+k} actually collected from those states: the truth."""
    steps_to_solve: int | None
    """First eval step with eval_return ≥ 475, None if never."""
    loss: np.ndarray
    """(U,) Huber loss of every gradient step."""
    model: nn.Module
    """The trained Q-network: (B, 4) observations → (B, 2) action values."""
    seconds: float
    """Wall-clock time of the run."""


def evaluate(q_net: nn.Module, n_episodes: int, gamma: float, seed: int, horizon: int = 100, epsilon: float = 0.0,
             env_id: str = "CartPole-v1") -> tuple[np.ndarray, float, float]:
    """Play ``n_episodes`` ε-greedy (default greedy) episodes of ``env_id`` in parallel, one per env.

    Returns (undiscounted returns (n_episodes,), mean Q_φ(s_t, a_t) and mean discounted return-to-go over
    the states t < horizon of all episodes).
    """
    env = make_vec(env_id, n_episodes)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    active = np.ones(n_episodes, dtype=bool)
    q_taken, rewards = [], []
    while active.any():
        with torch.no_grad():
            q = q_net(torch.as_tensor(obs, dtype=torch.float32)).numpy()  # (N, n_actions)
        action = q.argmax(1)
        explore = rng.random(n_episodes) < epsilon
        action[explore] = rng.integers(0, q.shape[1], explore.sum())
        q_taken.append(np.where(active, q[np.arange(n_episodes), action], np.nan))
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(np.where(active, reward, 0.0))
        active &= ~(terminated | truncated)
    env.close()
    R, Q = np.array(rewards), np.array(q_taken)  # (T, N)
    G = np.zeros_like(R)  # discounted return-to-go
    running = np.zeros(n_episodes)
    for t in reversed(range(len(R))):
        running = R[t] + gamma * running
        G[t] = running
    early = ~np.isnan(Q[:horizon])
    return R.sum(0), float(Q[:horizon][early].mean()), float(G[:horizon][early].mean())


def train(cfg: Config = Config(), seed: int = 0,
          dqn_target_fn: Callable[..., np.ndarray] = q_learning.dqn_targets,
          double_target_fn: Callable[..., np.ndarray] = q_learning.double_dqn_targets,
          polyak_fn: Callable[..., np.ndarray] = q_learning.polyak_update,
          loss_fn: Callable[..., torch.Tensor] = q_learning.huber_loss, callback: Callback | None = None) -> Result:
    """Run DQN (or double DQN with ``cfg.double``) on ``cfg.env_id`` (CartPole-v1) with the given math.

    ``callback(env_steps, act)`` is called after each vector step and its updates; True stops the run (see
    ``actor_critic.Callback``)."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    envs = make_vec(cfg.env_id, cfg.n_envs)
    obs, _ = envs.reset(seed=seed)  # (N, obs_dim)
    obs_dim, n_actions = obs.shape[1], int(envs.single_action_space.n)
    q_net = QNetwork(obs_dim, n_actions, cfg.hidden)
    target_net = QNetwork(obs_dim, n_actions, cfg.hidden)
    target_net.load_state_dict(q_net.state_dict())
    target_net.requires_grad_(False)
    optimizer = torch.optim.Adam(q_net.parameters(), lr=cfg.lr, fused=True)  # one tensor: q_net.flat
    buffer = NStepReplayBuffer(cfg.buffer_size, obs_dim, cfg.n_envs, cfg.n_step, cfg.gamma)
    N, B = cfg.n_envs, cfg.batch_size
    reset_step = np.zeros(N, dtype=bool)  # True: this env's next step only resets it
    log: dict[str, list] = {k: [] for k in ("steps", "ret", "q", "g")}
    steps, n_updates, solved_at, next_eval = 0, 0, None, cfg.eval_every
    losses: list[torch.Tensor] = []  # the Huber loss of every update
    while steps < cfg.total_steps:
        # 1. act ε-greedily, store the real transitions
        eps = q_learning.epsilon_schedule(steps, cfg.eps_start, cfg.eps_end, cfg.eps_duration)
        with torch.no_grad():
            action = q_net(torch.from_numpy(obs)).argmax(1).numpy()  # (N,)
        explore = rng.random(N) < eps
        action[explore] = rng.integers(0, n_actions, explore.sum())
        next_obs, reward, terminated, truncated, _ = envs.step(action)
        valid = ~reset_step  # a reset step is not a transition of the MDP
        buffer.add_step(obs, action, reward, next_obs, terminated, truncated, valid)
        reset_step = terminated | truncated
        obs = next_obs  # CRUCIAL: next-step autoreset gives the true s' here
        steps += N

        # 2-5. updates from the buffer. All U minibatches are drawn at once (the same draws as U calls), and since
        # φ' changes only every ``target_every`` updates, never inside a group when U divides it, one pass of the
        # target network (and one call of the DQN target function) serves the whole group: fewer small calls
        U = cfg.updates_per_step if steps >= cfg.learning_starts else 0
        if U:
            group = buffer.sample(U * B, rng)
            # an n-step transition bootstraps with γ^k: its target values are scaled by γ^(k-1) > 0 (which
            # changes neither max nor argmax), so the one-step target functions' γ makes it γ^k
            scale = cfg.gamma ** (group["steps"][:, None] - 1.0) if cfg.n_step > 1 else None  # (U*B, 1)
            shared_target = cfg.target_every % U == 0
            if shared_target:
                with torch.no_grad():  # the target network's stop-gradient
                    group_next_q_target = target_net(torch.from_numpy(group["next_obs"])).numpy()  # (U*B, 2)
                if scale is not None:
                    group_next_q_target = group_next_q_target * scale
                if not cfg.double:
                    group_y = np.asarray(dqn_target_fn(group["rewards"], group_next_q_target, group["terminated"],
                                                       group["truncated"], cfg.gamma))  # (U*B,)
        for u in range(U):
            part = slice(u * B, (u + 1) * B)
            b = {k: v[part] for k, v in group.items()}
            if cfg.double:  # one forward pass of φ on s and s': Q_φ(s, ·) keeps its graph, Q_φ(s', ·) is detached
                q_all = q_net(torch.from_numpy(np.concatenate([b["obs"], b["next_obs"]])))  # (2B, 2)
                q_sa, next_q_online = q_all[:B], q_all[B:].detach().numpy()
            else:
                q_sa = q_net(torch.from_numpy(b["obs"]))  # (B, 2)
            if shared_target:
                next_q_target = group_next_q_target[part]
            else:
                with torch.no_grad():
                    next_q_target = target_net(torch.from_numpy(b["next_obs"])).numpy()  # (B, 2)
                if scale is not None:
                    next_q_target = next_q_target * scale[part]
            if cfg.double:
                y = double_target_fn(b["rewards"], next_q_online, next_q_target, b["terminated"], b["truncated"],
                                     cfg.gamma)
            elif shared_target:
                y = group_y[part]
            else:
                y = dqn_target_fn(b["rewards"], next_q_target, b["terminated"], b["truncated"], cfg.gamma)
            q = q_sa.gather(1, torch.from_numpy(b["actions"])[:, None])[:, 0]  # (B,) Q_φ(s, a)
            loss = loss_fn(q, torch.as_tensor(np.asarray(y), dtype=torch.float32), cfg.huber_delta)
            q_net.flat.grad = None  # what optimizer.zero_grad() does, without its per-call bookkeeping
            loss.backward()
            with torch.no_grad():  # clip the global gradient norm to max_grad_norm (one tensor: one norm)
                grad = q_net.flat.grad
                grad.mul_((cfg.max_grad_norm / (torch.linalg.vector_norm(grad) + 1e-6)).clamp_(max=1.0))
            optimizer.step()
            n_updates += 1
            losses.append(loss.detach())  # stacked once at the end, not read back every update
            if n_updates % cfg.target_every == 0:
                nets.polyak_average_(target_net, q_net, cfg.tau, polyak_fn)

        # evaluation: greedy return, and Q estimates against the discounted returns really collected
        if steps >= next_eval:
            next_eval += cfg.eval_every
            returns, q_est, g_true = evaluate(q_net, cfg.eval_episodes, cfg.gamma, seed=10_000 + seed + steps,
                                              horizon=cfg.q_horizon, env_id=cfg.env_id)
            for key, val in zip(("steps", "ret", "q", "g"), (steps, returns.mean(), q_est, g_true)):
                log[key].append(val)
            if solved_at is None and returns.mean() >= SOLVED:
                solved_at = steps
            if cfg.stop_at is not None and returns.mean() >= cfg.stop_at:
                break
        if callback is not None and callback(steps, greedy(q_net)):
            break
    envs.close()
    return Result(np.array(log["steps"]), np.array(log["ret"]), np.array(log["q"]), np.array(log["g"]), solved_at,
                  torch.stack(losses).double().numpy() if losses else np.zeros(0), q_net, time.perf_counter() - start)


# ---------------------------------------------------------------- overestimation where the truth is known

@dataclass(frozen=True)
class BiasConfig:
    """Tabular DQN on van Hasselt's example (van Hasselt 2010; Sutton & Barto 2018, Example 6.7).

    State A has two actions: ``right`` ends the episode with reward 0, ``left`` moves to state B with reward 0.
    B has ``n_actions`` actions, each ending the episode with a reward drawn from N(-0.1, 1). With γ = 1 the
    true values are Q(B, ·) = -0.1, Q(A, left) = -0.1 and Q(A, right) = 0. A uniform behaviour policy fills a
    replay buffer (one episode per update); the Q "network" is a table updated on mini-batches with the DQN
    or double DQN target and a target table copied every ``target_every`` updates.
    """

    n_actions: int = 10
    """Actions in state B; the max over more noisy estimates overestimates more."""
    n_updates: int = 2_000
    """Mini-batch updates (one new episode of data before each)."""
    batch_size: int = 32
    """Transitions per mini-batch, sampled uniformly from the buffer."""
    lr: float = 0.1
    """Step size α of the table: Q(s, a) ← Q(s, a) + α (y - Q(s, a)) for each sampled transition."""
    target_every: int = 50
    """Copy the online table into the target table every this many updates."""
    gamma: float = 1.0
    """Discount (the example is episodic)."""


LEFT = 1  # action index of `left` in state A (0 is `right`)


def van_hasselt_bias(cfg: BiasConfig = BiasConfig(), seeds: tuple[int, ...] = tuple(range(20)), double: bool = False,
                     dqn_target_fn: Callable[..., np.ndarray] = q_learning.dqn_targets,
                     double_target_fn: Callable[..., np.ndarray] = q_learning.double_dqn_targets) -> np.ndarray:
    """Q_φ(A, left) along training, one row per seed: its true value is -0.1.

    All seeds run together: their mini-batches are stacked into one batch of S·``batch_size`` rows, so the
    target function is called once per update. Returns (S, n_updates) estimates of Q(A, left).
    """
    S, n, Bsz = len(seeds), cfg.n_actions, cfg.batch_size
    rngs = [np.random.default_rng(s) for s in seeds]
    # the data: one episode per update under the uniform behaviour policy (off-policy, so it never changes)
    stream = []  # per seed: (state, action, reward, terminated) arrays of its transitions in order, and sizes
    for rng in rngs:
        left = rng.random(cfg.n_updates) < 0.5  # (U,) the first action of each episode
        b_act, b_rew = rng.integers(0, n, cfg.n_updates), rng.normal(-0.1, 1.0, cfg.n_updates)
        length = 1 + left  # an episode is 1 transition (right) or 2 (left, then one action in B)
        ep = np.repeat(np.arange(cfg.n_updates), length)
        second = np.concatenate([[False], ep[1:] == ep[:-1]])  # (T,) True for the B-transition of an episode
        state, action = second.astype(int), np.where(second, b_act[ep], left[ep].astype(int))
        stream.append((state, action, np.where(second, b_rew[ep], 0.0), second | ~left[ep], np.cumsum(length)))
    T = max(len(x[0]) for x in stream)
    pad = lambda i: np.stack([np.pad(x[i], (0, T - len(x[i]))) for x in stream])  # noqa: E731  (S, T)
    state, action, reward, terminated, size = pad(0), pad(1), pad(2), pad(3).astype(bool), pad(4)
    q = np.zeros((S, 2, n))  # online table Q_φ(s, a); row 0 = A (actions 0, 1 used), row 1 = B
    q_target = q.copy()
    rows = np.arange(S)[:, None]  # (S, 1)
    trace = np.zeros((S, cfg.n_updates))
    for u in range(cfg.n_updates):
        idx = np.floor(np.stack([r.random(Bsz) for r in rngs]) * size[:, u:u + 1]).astype(int)  # (S, B) uniform
        s, a, r, term = state[rows, idx], action[rows, idx], reward[rows, idx], terminated[rows, idx]  # (S, B)
        next_target = np.repeat(q_target[:, 1], Bsz, 0)  # (S·B, n): s' is B unless terminated (then masked)
        if double:
            y = double_target_fn(r.ravel(), np.repeat(q[:, 1], Bsz, 0), next_target, term.ravel(),
                                 np.zeros(S * Bsz, dtype=bool), cfg.gamma)
        else:
            y = dqn_target_fn(r.ravel(), next_target, term.ravel(), np.zeros(S * Bsz, dtype=bool), cfg.gamma)
        flat = (rows * 2 + s) * n + a  # (S, B) index into q.ravel()
        delta = np.asarray(y, dtype=np.float64).reshape(S, Bsz) - q.ravel()[flat]
        np.add.at(q.ravel(), flat.ravel(), cfg.lr * delta.ravel())  # Q(s, a) += α (y - Q(s, a)), every sample
        if (u + 1) % cfg.target_every == 0:
            q_target = q.copy()
        trace[:, u] = q[:, 0, LEFT]
    return trace
