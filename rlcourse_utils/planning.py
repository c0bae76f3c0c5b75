"""Planning with a known model: random shooting, the cross-entropy method (and CEM-MPC), MCTS with UCT.

Open-loop planning (Lecture 7 §stochastic optimization) picks a whole action sequence
A = (a_1, ..., a_H) maximising J(A) = Σ_h r(s_h, a_h) under the model:
    random shooting: sample A_1..A_N, keep the argmax.
    cross-entropy method (CEM): sample A_i ~ N(μ, diag σ²), keep the M elites with the highest J,
        refit (μ, σ) to them (``cem_update``), repeat.
MPC replans at every step from the state reached and executes only the first action (closed loop);
the previous plan, shifted by one step, warm-starts the next (``run_cem_mpc``).
MCTS (Lecture 7 §MCTS; Browne et al. 2012): grow a search tree with the UCT tree policy
    Score(s_t) = Q(s_t)/N(s_t) + 2C sqrt(2 ln N(s_{t-1}) / N(s_t))          (``uct_score``)
evaluate new leaves with random rollouts (default policy) and back up returns along the path.

The math (``cem_update``, ``uct_score``) is pure numpy; the loops take it as a parameter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from rlcourse_utils.envs import pendulum


# ---------------------------------------------------------------- pure math

def cem_update(samples: np.ndarray, returns: np.ndarray, n_elite: int) -> tuple[np.ndarray, np.ndarray]:
    """Refit the CEM sampling distribution to the elites: the n_elite samples with the highest return.

    μ = mean of the elites, σ = their standard deviation (per coordinate, 1/M normalisation: the
    maximum-likelihood Gaussian fit). Lecture 7 §cross-entropy method (reused by Lecture 8's CEM-MPC).
    Leading batch axes (independent problems, e.g. one per environment) are refitted separately.

    Args:
        samples: (..., K, D) K sampled action sequences per problem; D is one or more trailing axes,
            e.g. (K, act_dim), (K, H, act_dim) or (N, K, H, act_dim) for N problems.
        returns: (..., K) J(A_k) of each sample; its shape fixes where the batch axes end.
        n_elite: M, 1 ≤ M ≤ K. The elites are the M highest returns along the K axis, exactly M of them
            (a tie at the cut may go either way; this reference keeps the earlier sample).
    Returns:
        mean (..., D), std (..., D): the new sampling distribution of each problem.

    >>> mean, std = cem_update(np.array([[0.0], [1.0], [3.0], [5.0]]), np.array([1.0, 4.0, 3.0, 0.0]), 2)
    >>> mean, std          # elites: samples 1 and 2 (returns 4 and 3)
    (array([2.]), array([1.]))
    >>> cem_update(np.array([[[0.0], [1.0]], [[2.0], [6.0]]]), np.array([[1.0, 0.0], [0.0, 1.0]]), 1)[0]
    array([[0.],
           [6.]])
    """
    samples, returns = np.asarray(samples, dtype=np.float64), np.asarray(returns)
    if samples.shape[:returns.ndim] != returns.shape or samples.ndim == returns.ndim:
        raise ValueError(f"samples {samples.shape} must be returns' shape {returns.shape} plus sample axes")
    axis = returns.ndim - 1                                       # the K axis
    order = np.argsort(-returns, axis=-1, kind="stable")[..., :n_elite]   # (..., M) highest return first
    order = order.reshape(order.shape + (1,) * (samples.ndim - returns.ndim))
    elites = np.take_along_axis(samples, order, axis=axis)        # (..., M, D)
    return elites.mean(axis), elites.std(axis)


def uct_score(q_sum: np.ndarray, n_visits: np.ndarray, n_parent: int, c: float) -> np.ndarray:
    """UCT score of each child: Q/N + 2C sqrt(2 ln N_parent / N), and +inf for an unvisited child.

    Lecture 7 §MCTS (UCT TreePolicy); Kocsis & Szepesvári (2006), Browne et al. (2012) eq. 2.

    Args:
        q_sum: (A,) Q(s_{t+1}): the SUM of the returns backed up through each child.
        n_visits: (A,) N(s_{t+1}): visits of each child.  n_parent: N(s_t), visits of the parent.
        c: exploration constant C ≥ 0.
    Returns:
        (A,) float scores; the tree policy takes their argmax.

    >>> uct_score(np.array([3.0, 1.0, 0.0]), np.array([4, 1, 0]), 5, 0.0)   # c = 0: the mean return
    array([0.75, 1.  ,  inf])
    """
    q_sum, n = np.asarray(q_sum, dtype=np.float64), np.asarray(n_visits, dtype=np.float64)
    safe_n = np.maximum(n, 1.0)                                   # avoid 0/0; unvisited children get inf below
    score = q_sum / safe_n + 2 * c * np.sqrt(2 * np.log(n_parent) / safe_n)
    return np.where(n > 0, score, np.inf)


# ---------------------------------------------------------------- shooting and CEM

def random_shooting(objective: Callable[[np.ndarray], np.ndarray], shape: tuple, low: float, high: float,
                    n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """argmax of J over n_samples sequences drawn uniformly in [low, high]^shape; returns (best (shape), J(best))."""
    samples = rng.uniform(low, high, size=(n_samples, *shape))
    J = objective(samples)                                        # (K,)
    best = int(np.argmax(J))
    return samples[best], float(J[best])


def cem(objective: Callable[[np.ndarray], np.ndarray], mean: np.ndarray, std: np.ndarray, low: float, high: float,
        n_iters: int, n_samples: int, n_elite: int, rng: np.random.Generator,
        update_fn: Callable = cem_update) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """The cross-entropy method: n_iters rounds of (sample, evaluate, refit to the elites).

    Samples A_k ~ N(mean, diag std²) clipped to [low, high]; ``objective`` maps (K, *mean.shape) to
    (K,) returns. Returns the final (mean, std) and the best return of each round.
    """
    best = []
    for _ in range(n_iters):
        samples = np.clip(mean + std * rng.standard_normal((n_samples, *mean.shape)), low, high)
        J = objective(samples)
        best.append(float(J.max()))
        mean, std = update_fn(samples, J, n_elite)
    return mean, std, best


# ---------------------------------------------------------------- CEM-MPC on a gymnasium env

@dataclass(frozen=True)
class MPCConfig:
    """CEM model-predictive control (replan every step, execute the first action)."""

    horizon: int = 20
    """H, planning horizon in steps (Pendulum-v1: 20 steps = 1 s; 10-40)."""
    n_samples: int = 200
    """K, action sequences per CEM round (the population), evaluated in one batched rollout."""
    n_elite: int = 20
    """M, elites refitted per round (usually 5-20 % of K)."""
    n_iters: int = 3
    """CEM rounds per environment step (1 = warm-started random shooting around the old plan)."""
    init_std: float = 1.0
    """σ of a fresh sampling distribution, in action units (Pendulum-v1 torque: ±2)."""
    max_steps: int = 200
    """Environment steps per episode (Pendulum-v1 truncates at 200)."""


@dataclass
class MPCResult:
    returns: list[float] = field(default_factory=list)
    """Undiscounted return of each episode on the real environment."""
    rewards: list[np.ndarray] = field(default_factory=list)
    """(steps,) rewards of each episode."""
    actions: list[np.ndarray] = field(default_factory=list)
    """(steps, act_dim) executed actions of each episode."""
    planned_returns: list[np.ndarray] = field(default_factory=list)
    """(steps,) best model return over the horizon in the last CEM round at each step."""


def run_cem_mpc(env_id: str = "Pendulum-v1", cfg: MPCConfig = MPCConfig(), seed: int = 0, n_episodes: int = 1,
                dynamics_fn: Callable = pendulum.step_state, obs_to_model: Callable = pendulum.obs_to_state,
                update_fn: Callable = cem_update) -> MPCResult:
    """CEM-MPC on the real gymnasium env ``env_id``, ``n_episodes`` episodes run side by side (seeds
    seed, seed + 1, ...), with a batched model ``dynamics_fn(x (B, d), action (B, act_dim)) -> (next_x (B, d),
    reward (B,))`` on model states x = ``obs_to_model(obs)``: by default the true Pendulum-v1 on (θ, θ̇);
    in Lecture 8 a learned model on observations (``obs_to_model=lambda o: o``).

    Each step, for every episode: CEM over (K, H, act_dim) sequences from the current state (all
    episodes × K samples in one batched rollout, a loop over the horizon only), execute the first
    action of the final mean, then shift the mean by one step as the next warm start.
    """
    import gymnasium as gym
    rng = np.random.default_rng(seed)
    envs = [gym.make(env_id) for _ in range(n_episodes)]
    space = envs[0].action_space
    low, high, act_dim = float(space.low.min()), float(space.high.max()), space.shape[0]
    N, K, H = n_episodes, cfg.n_samples, cfg.horizon
    obs = np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(envs)]).astype(np.float64)  # (N, obs_dim)
    mean = np.zeros((N, H, act_dim))
    active = np.ones(N, dtype=bool)
    rewards, actions, planned = [], [], []
    for _ in range(cfg.max_steps):
        x0 = obs_to_model(obs)                                     # (N, d)
        std = np.full((N, H, act_dim), cfg.init_std)
        for _ in range(cfg.n_iters):
            samples = np.clip(mean[:, None] + std[:, None] * rng.standard_normal((N, K, H, act_dim)), low, high)
            x = np.repeat(x0, K, axis=0)                           # (N * K, d)
            J = np.zeros(N * K)
            flat = samples.reshape(N * K, H, act_dim)
            for h in range(H):                                     # one batched model call per planning step
                x, r = dynamics_fn(x, flat[:, h])
                J += r
            J = J.reshape(N, K)
            mean, std = update_fn(samples, J, cfg.n_elite)         # (N, H, act_dim) each: one refit per episode
        action = np.clip(mean[:, 0], low, high)                    # (N, act_dim): execute the first action only
        step_rewards = np.zeros(N)
        for i, e in enumerate(envs):
            if active[i]:
                o, r, terminated, truncated, _ = e.step(action[i].astype(space.dtype))
                obs[i], step_rewards[i] = o, r
                active[i] = not (terminated or truncated)
        rewards.append(step_rewards)
        actions.append(action)
        planned.append(J.max(1))
        mean = np.concatenate([mean[:, 1:], np.zeros((N, 1, act_dim))], 1)  # warm start: the old plan, shifted
        if not active.any():
            break
    rewards = np.stack(rewards, 1)                                 # (N, steps); zeros after an episode ends
    return MPCResult(list(rewards.sum(1)), list(rewards), list(np.stack(actions, 1)), list(np.stack(planned, 1)))


# ---------------------------------------------------------------- MCTS with UCT

@dataclass
class Node:
    """A search-tree node: the state reached, the reward of the edge into it, visit count N and return sum Q."""

    state: object
    depth: int
    reward: float = 0.0
    n: int = 0
    q: float = 0.0
    children: dict = field(default_factory=dict)


def mcts(step_fn: Callable, root_state, n_actions: int, depth: int, n_simulations: int, c: float,
         rng: np.random.Generator, score_fn: Callable = uct_score) -> tuple[int, np.ndarray, np.ndarray]:
    """UCT search on a deterministic finite-horizon problem ``step_fn(state, action) -> (next_state, reward)``.

    Each simulation: TreePolicy (descend by argmax ``score_fn`` while the node is fully expanded;
    expand one untried action), DefaultPolicy (uniform random actions until ``depth``), then add the
    return to Q and 1 to N of every node on the path. Lecture 7 §MCTS.

    Returns:
        the recommended root action (the most visited child), root children's N (n_actions,)
        and their mean returns Q/N (n_actions,).
    """
    root = Node(root_state, 0)
    for _ in range(n_simulations):
        node, path = root, [root]
        # TreePolicy: descend through fully expanded nodes, then expand one new child
        while node.depth < depth and len(node.children) == n_actions:
            kids = [node.children[a] for a in range(n_actions)]
            scores = score_fn(np.array([k.q for k in kids]), np.array([k.n for k in kids]), node.n, c)
            node = kids[int(np.argmax(scores))]
            path.append(node)
        if node.depth < depth:
            untried = [a for a in range(n_actions) if a not in node.children]
            a = untried[rng.integers(len(untried))]
            next_state, r = step_fn(node.state, a)
            node.children[a] = Node(next_state, node.depth + 1, float(r))
            node = node.children[a]
            path.append(node)
        # DefaultPolicy: a uniformly random rollout to the horizon
        G, s = 0.0, node.state
        for _ in range(node.depth, depth):
            s, r = step_fn(s, int(rng.integers(n_actions)))
            G += r
        # back up: each node's Q sums the returns from its incoming edge onward
        for nd in reversed(path):
            G += nd.reward
            nd.n += 1
            nd.q += G
    n = np.array([root.children[a].n if a in root.children else 0 for a in range(n_actions)])
    q = np.array([root.children[a].q if a in root.children else 0.0 for a in range(n_actions)])
    return int(np.argmax(n)), n, q / np.maximum(n, 1)


def flat_monte_carlo(step_fn: Callable, root_state, n_actions: int, depth: int, n_simulations: int,
                     rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """Baseline without a tree: the mean return of uniformly random rollouts after each first action."""
    means = np.zeros(n_actions)
    per_action = n_simulations // n_actions
    for a in range(n_actions):
        total = 0.0
        for _ in range(per_action):
            s, G = step_fn(root_state, a)
            for _ in range(1, depth):
                s, r = step_fn(s, int(rng.integers(n_actions)))
                G += r
            total += G
        means[a] = total / per_action
    return int(np.argmax(means)), means


def exhaustive_search(step_fn: Callable, root_state, n_actions: int, depth: int) -> np.ndarray:
    """Exact optimal return after each first action, by enumerating all n_actions^depth sequences. (n_actions,)"""
    def best(state, d: int) -> float:
        if d == depth:
            return 0.0
        return max(r + best(s, d + 1) for s, r in (step_fn(state, a) for a in range(n_actions)))
    return np.array([r + best(s, 1) for s, r in (step_fn(root_state, a) for a in range(n_actions))])


def deceptive_tree(depth: int = 6, seed: int = 0) -> Callable:
    """A binary tree whose random-rollout averages mislead: ``step_fn(path, a) -> (path + (a,), reward)``.

    The reward comes at the last step. Below first action 0 every leaf pays U(0.4, 0.6) (mean 0.5);
    below first action 1 every leaf pays 0 except one hidden path paying 1. Optimal first action: 1.
    The state is the tuple of actions taken (start from ``()``).
    """
    rng = np.random.default_rng(seed)
    good_leaves = rng.uniform(0.4, 0.6, size=2 ** (depth - 1))
    hidden = tuple(int(b) for b in rng.integers(2, size=depth - 1))

    def step_fn(path: tuple, a: int) -> tuple[tuple, float]:
        path = path + (int(a),)
        if len(path) < depth:
            return path, 0.0
        if path[0] == 0:
            return path, float(good_leaves[int("".join(map(str, path[1:])), 2)])
        return path, 1.0 if path[1:] == hidden else 0.0

    return step_fn
