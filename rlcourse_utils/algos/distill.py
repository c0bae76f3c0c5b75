"""Imitating optimal control with DAgger: distil an MPC planner into a neural network policy.

Lecture 9 §Imitating optimal control with DAgger, §PLATO (Ross et al. 2011; Kahn et al. 2017).
The system is a double integrator with a bounded force (``DoubleIntegrator``): position p and
velocity v, x_{t+1} = A x_t + B u_t, |u| ≤ u_max, cost c(x, u) = p² + 0.1 v² + 0.1 u².
The expert is model-predictive control (``mpc_expert``): at every state it solves the box-constrained
quadratic program over the next H controls (accelerated projected gradient, batched over states)
and returns the first control. With the bound active the expert is a nonlinear function of x.

The DAgger loop (``train``):
    0. run the expert, record (o, u*) pairs: D
    1. fit π_θ(o) to D (mean squared error)
    2. run π_θ (NOT the planner) from fresh initial states, record the visited observations
    3. the planner labels those states, D ← D ∪ D_π (``aggregate_fn``), go to 1
The planner never acts in 2: it only labels states the learner reaches, so the data covers the
learner's own state distribution.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from rlcourse_utils.imitation import dagger_aggregate
from rlcourse_utils.nets import mlp


@dataclass(frozen=True)
class DoubleIntegrator:
    """x = [p, v], x' = A x + B u with |u| ≤ u_max, c(x, u) = xᵀ diag(q) x + r u².

    The acceleration is a p + u: a = 0 is the double integrator, a > 0 a linearised inverted pendulum
    (an unstable equilibrium at 0 that the bounded force can hold only near 0).
    """

    dt: float = 0.1
    """Time step (s)."""
    a: float = 0.0
    """Acceleration per unit position: 0 double integrator, > 0 unstable (inverted-pendulum-like)."""
    u_max: float = 1.0
    """Force bound |u| ≤ u_max."""
    p0: float = 3.0
    """Initial positions are uniform in [−p0, p0]."""
    v0: float = 1.0
    """Initial velocities are uniform in [−v0, v0]."""
    q: tuple[float, float] = (1.0, 0.1)
    r: float = 0.1

    @property
    def A(self) -> np.ndarray:
        return np.array([[1.0 + 0.5 * self.a * self.dt ** 2, self.dt], [self.a * self.dt, 1.0]])

    @property
    def B(self) -> np.ndarray:
        return np.array([[0.5 * self.dt ** 2], [self.dt]])

    def step(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """x (N, 2), u (N,) → (N, 2); u is clipped to the bound."""
        u = np.clip(u, -self.u_max, self.u_max)
        return x @ self.A.T + u[:, None] * self.B[:, 0]

    def cost(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """c(x, u) for x (N, 2), u (N,) → (N,)."""
        u = np.clip(u, -self.u_max, self.u_max)
        return x ** 2 @ np.array(self.q) + self.r * u ** 2

    def sample_states(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Initial states: p ~ U(−p0, p0), v ~ U(−v0, v0).  (n, 2)."""
        return rng.uniform([-self.p0, -self.v0], [self.p0, self.v0], size=(n, 2))


def mpc_expert(system: DoubleIntegrator, horizon: int = 30, iters: int = 100) -> Callable[[np.ndarray], np.ndarray]:
    """The MPC planner: states (N, 2) → first controls (N,) of  min_U Σ_{t<H} c(x_{t+1}, u_t)  s.t. |u_t| ≤ u_max.

    The rollout is linear, X = Φ x₀ + Γ U, so the objective is ½ UᵀHU + x₀ᵀF U + const; FISTA
    (projected gradient with Nesterov momentum, step 1/λ_max(H)) solves all N problems at once.
    """
    n, H = 2, horizon
    A, B = system.A, system.B
    Phi = np.zeros((H * n, n))
    Gam = np.zeros((H * n, H))
    Ak = np.eye(n)
    for t in range(H):
        Ak = A @ Ak
        Phi[t * n:(t + 1) * n] = Ak  # x_{t+1} = A^{t+1} x0 + Σ_{k≤t} A^{t-k} B u_k
        for k in range(t + 1):
            Gam[t * n:(t + 1) * n, k] = (np.linalg.matrix_power(A, t - k) @ B)[:, 0]
    Wq = np.kron(np.eye(H), np.diag(system.q))
    Hess = 2.0 * (Gam.T @ Wq @ Gam + system.r * np.eye(H))  # (H, H)
    F = 2.0 * Phi.T @ Wq @ Gam  # (n, H): gradient = U Hess + x0 F
    step = 1.0 / np.linalg.eigvalsh(Hess).max()

    def expert(states: np.ndarray) -> np.ndarray:
        x0 = np.asarray(states, dtype=np.float64).reshape(-1, n)
        lin = x0 @ F  # (N, H)
        U = np.zeros((len(x0), H))
        Y, t_k = U, 1.0
        for _ in range(iters):
            U_next = np.clip(Y - step * (Y @ Hess + lin), -system.u_max, system.u_max)  # projected gradient
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k ** 2))
            Y = U_next + (t_k - 1.0) / t_next * (U_next - U)  # Nesterov momentum
            U, t_k = U_next, t_next
        return U[:, 0]

    return expert


@dataclass(frozen=True)
class Config:
    """DAgger from an MPC planner on the double integrator."""

    n_envs: int = 8
    """Episodes run in parallel per DAgger iteration (each labels n_envs × episode_len states)."""
    episode_len: int = 60
    """Steps per episode (6 s at dt = 0.1)."""
    n_iters: int = 3
    """DAgger iterations after the expert's own data set (iteration 0)."""
    grad_steps: int = 120
    """Adam steps on the aggregated data set per iteration, minibatch ``batch_size``."""
    batch_size: int = 256
    """Minibatch size of the regression."""
    lr: float = 3e-3
    """Adam learning rate."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the policy network."""
    n_eval: int = 32
    """Evaluation episodes (fixed initial states, shared by the expert and every learner)."""
    dagger: bool = True
    """False: behaviour cloning with the same label budget, all labels on the expert's own trajectories."""


@dataclass
class Result:
    policy: nn.Module
    """The distilled network: observations (B, 2) → controls (B, 1)."""
    returns: list[float] = field(default_factory=list)
    """Mean evaluation return of the learner after each iteration (iteration 0 = behaviour cloning)."""
    n_labels: list[int] = field(default_factory=list)
    """Data set size (planner labels) after each iteration."""
    expert_return: float = 0.0
    """Mean evaluation return of the MPC expert on the same initial states."""


def rollout(system: DoubleIntegrator, act: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, T: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Run ``act`` from x0 (N, 2) for T steps: visited states (T, N, 2) and returns Σ_t −c(x_t, u_t) (N,)."""
    xs = np.zeros((T, *x0.shape))
    ret = np.zeros(len(x0))
    x = x0
    for t in range(T):
        xs[t] = x
        u = act(x)
        ret -= system.cost(x, u)
        x = system.step(x, u)
    return xs, ret


def _policy_act(policy: nn.Module, u_max: float) -> Callable[[np.ndarray], np.ndarray]:
    def act(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return u_max * torch.tanh(policy(torch.as_tensor(x, dtype=torch.float32)))[:, 0].double().numpy()
    return act


def train(cfg: Config = Config(), seed: int = 0, system: DoubleIntegrator = DoubleIntegrator(),
          expert: Callable[[np.ndarray], np.ndarray] | None = None,
          aggregate_fn: Callable = dagger_aggregate) -> Result:
    """DAgger (or behaviour cloning, ``cfg.dagger=False``) from the MPC planner; returns curves per iteration."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    expert = expert if expert is not None else mpc_expert(system)
    x_eval = system.sample_states(cfg.n_eval, np.random.default_rng(10_000))  # same for all seeds and learners
    _, expert_ret = rollout(system, expert, x_eval, cfg.episode_len)
    policy = mlp(2, 1, cfg.hidden)
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    act = _policy_act(policy, system.u_max)
    scale = np.array([system.p0, system.v0])  # fixed input scaling of the observation
    xs, _ = rollout(system, expert, system.sample_states(cfg.n_envs, rng), cfg.episode_len)  # 0. expert data
    obs = xs.reshape(-1, 2)
    data_obs, data_u = obs, expert(obs)[:, None]
    result = Result(policy=policy, expert_return=float(expert_ret.mean()))
    for it in range(cfg.n_iters + 1):
        X = torch.as_tensor(data_obs / scale, dtype=torch.float32)
        Y = torch.as_tensor(data_u, dtype=torch.float32)
        for _ in range(cfg.grad_steps):  # 1. supervised learning on D
            idx = torch.randint(len(X), (cfg.batch_size,))
            loss = ((system.u_max * torch.tanh(policy(X[idx])) - Y[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        act = _policy_act(lambda o: policy(o / torch.as_tensor(scale, dtype=torch.float32)), system.u_max)
        _, ret = rollout(system, act, x_eval, cfg.episode_len)
        result.returns.append(float(ret.mean()))
        result.n_labels.append(len(data_obs))
        if it == cfg.n_iters:
            break
        x0 = system.sample_states(cfg.n_envs, rng)
        runner = act if cfg.dagger else expert  # 2. DAgger runs the LEARNER; BC keeps running the expert
        xs, _ = rollout(system, runner, x0, cfg.episode_len)
        visited = xs.reshape(-1, 2)
        data_obs, data_u = aggregate_fn(data_obs, data_u, visited, visited,
                                        lambda s: expert(s)[:, None])  # 3. the planner labels, D ← D ∪ D_π
    result.policy = policy
    return result
