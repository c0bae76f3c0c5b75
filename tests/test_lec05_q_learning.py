"""Lecture 5 math: hand-computed targets and losses, and independent formulations (torch, brute force, scipy)."""
import numpy as np
import torch
import torch.nn.functional as F
from scipy import optimize

from rlcourse_utils import q_learning as ql
import pytest

from rlcourse_utils.replay import NStepReplayBuffer, ReplayBuffer

NO2 = np.zeros(2, dtype=bool)


def test_dqn_targets_by_hand():
    q = np.array([[2.0, 5.0], [2.0, 5.0]])
    np.testing.assert_allclose(ql.dqn_targets(np.ones(2), q, np.array([False, True]), NO2, 0.9), [5.5, 1.0])
    np.testing.assert_allclose(ql.dqn_targets(np.ones(2), q, NO2, np.array([False, True]), 0.9), [5.5, 5.5])


def test_double_dqn_equals_dqn_when_both_networks_agree():
    rng = np.random.default_rng(0)
    r, q = rng.normal(size=20), rng.normal(size=(20, 4))
    term, trunc = rng.random(20) < 0.3, rng.random(20) < 0.3
    np.testing.assert_allclose(ql.double_dqn_targets(r, q, q, term, trunc, 0.95), ql.dqn_targets(r, q, term, trunc, 0.95))
    q_online = rng.normal(size=(20, 4))
    # double DQN never exceeds DQN: Q'(s', argmax Q) ≤ max Q'(s', ·)
    assert np.all(ql.double_dqn_targets(r, q_online, q, term, trunc, 0.95) <= ql.dqn_targets(r, q, term, trunc, 0.95) + 1e-12)


def test_polyak_is_an_exponential_moving_average():
    target, online = np.array([4.0, -4.0]), np.array([1.0, 2.0])
    for _ in range(30):
        target = ql.polyak_update(target, online, 0.1)
    np.testing.assert_allclose(target - online, 0.9 ** 30 * (np.array([4.0, -4.0]) - online))


def test_huber_matches_torch_and_has_no_target_gradient():
    rng = np.random.default_rng(1)
    for delta in (0.3, 1.0, 2.5):
        q = torch.tensor(rng.normal(0, 3, 50), requires_grad=True)
        y = torch.tensor(rng.normal(0, 3, 50), requires_grad=True)
        ours = ql.huber_loss(q, y, delta)
        torch.testing.assert_close(ours, F.huber_loss(q, y.detach(), delta=delta))
        gq, gy = torch.autograd.grad(ours, [q, y], allow_unused=True)
        torch.testing.assert_close(gq, (q - y).detach().clamp(-delta, delta) / 50)
        assert gy is None or torch.all(gy == 0)


def test_nstep_targets_by_hand_and_against_a_loop():
    np.testing.assert_allclose(ql.nstep_targets(np.ones((1, 3)), np.zeros((1, 3), bool), np.array([10.0]), 0.5),
                               [1 + 0.5 + 0.25 + 0.125 * 10])
    np.testing.assert_allclose(ql.nstep_targets(np.ones((1, 3)), np.array([[False, True, False]]), np.array([10.0]), 0.5),
                               [1.5])
    rng = np.random.default_rng(2)
    r, term, boot = rng.normal(size=(30, 4)), rng.random((30, 4)) < 0.2, rng.normal(size=30)
    expected = []
    for b in range(30):
        y, disc = 0.0, 1.0
        for k in range(4):
            y += disc * r[b, k]
            disc *= 0.9
            if term[b, k]:
                break
        else:
            y += disc * boot[b]
        expected.append(y)
    np.testing.assert_allclose(ql.nstep_targets(r, term, boot, 0.9), expected)


def test_naf_argmax_is_mu():
    g = torch.Generator().manual_seed(0)
    mu, v = torch.randn(3, 2, generator=g, dtype=torch.float64), torch.randn(3, generator=g, dtype=torch.float64)
    L = torch.tril(torch.randn(3, 2, 2, generator=g, dtype=torch.float64), -1) + torch.diag_embed(torch.ones(3, 2, dtype=torch.float64))
    torch.testing.assert_close(ql.naf_q_values(mu, mu, L, v), v)
    for b in range(3):
        res = optimize.minimize(lambda a: -ql.naf_q_values(torch.tensor(a)[None], mu[b:b + 1], L[b:b + 1], v[b:b + 1]).item(),
                                np.array([3.0, -3.0]), method="BFGS")
        np.testing.assert_allclose(res.x, mu[b].numpy(), atol=1e-4)


def test_cem_and_sampling_find_a_quadratic_max():
    q_fn = lambda a: -((a - [0.5, -1.0]) ** 2).sum(-1)  # noqa: E731
    rng = np.random.default_rng(0)
    a, q = ql.cem_argmax(q_fn, np.array([-2.0, -2.0]), np.array([2.0, 2.0]), 64, 8, 6, rng)
    np.testing.assert_allclose(a, [0.5, -1.0], atol=0.05)
    a_s, q_s = ql.sample_argmax(q_fn, np.array([-2.0, -2.0]), np.array([2.0, 2.0]), 64, rng)
    assert q_s <= q + 1e-12 and q_s <= 0 and np.isclose(q_fn(a_s[None])[0], q_s)


def test_epsilon_schedule():
    assert ql.epsilon_schedule(0, 1.0, 0.1, 100) == 1.0
    assert np.isclose(ql.epsilon_schedule(50, 1.0, 0.1, 100), 0.55)
    assert np.isclose(ql.epsilon_schedule(10_000, 1.0, 0.1, 100), 0.1)


def test_replay_buffer_ring_and_uniform_sampling():
    buf = ReplayBuffer(capacity=10, obs_dim=2, act_shape=(1,), act_dtype=np.float32)
    for i in range(4):  # 4 batches of 4 transitions: 16 > capacity
        idx = np.arange(4 * i, 4 * i + 4)
        buf.add(np.stack([idx, idx], 1), idx[:, None], idx.astype(float), np.stack([idx + 1] * 2, 1),
                idx % 5 == 0, idx % 7 == 0)
    assert len(buf) == 10 and sorted(buf.obs[:, 0].astype(int)) == list(range(6, 16))
    b = buf.sample(5000, np.random.default_rng(0))
    s = b["obs"][:, 0].astype(int)
    np.testing.assert_array_equal(b["next_obs"][:, 0], s + 1)  # fields stay aligned
    np.testing.assert_array_equal(b["terminated"], s % 5 == 0)
    np.testing.assert_array_equal(b["truncated"], s % 7 == 0)
    counts = np.bincount(s - 6, minlength=10)
    assert counts.min() > 400 and counts.max() < 600
    b2 = buf.sample(64, np.random.default_rng(0))
    np.testing.assert_array_equal(b2["obs"], buf.sample(64, np.random.default_rng(0))["obs"])  # seeded


def _vector_episodes(n_envs, n_vector_steps, seed):
    """Vector-env steps with gymnasium's next-step autoreset: random rewards, episodes of random length that end
    terminated or truncated, and after each end one step that only resets (valid False). Every observation is a
    unique number, and each step's next observation is the next step's observation."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n_envs, dtype=float)  # the current observation of each env
    left = rng.integers(1, 9, n_envs)  # steps left in each env's episode
    reset = np.zeros(n_envs, bool)
    steps = []
    for _ in range(n_vector_steps):
        valid = ~reset
        end = valid & (left == 1)
        terminated = end & (rng.random(n_envs) < 0.5)
        truncated = end & ~terminated
        reward = rng.normal(size=n_envs)
        next_ids = ids + n_envs  # unique over all envs and steps
        steps.append((ids[:, None].copy(), rng.integers(0, 3, n_envs), reward, next_ids[:, None].copy(),
                      terminated, truncated, valid))
        left = np.where(reset, rng.integers(1, 9, n_envs), left - valid)
        ids = next_ids
        reset = terminated | truncated
    return steps


def test_nstep_buffer_equals_n_step_sums_over_each_episode():
    """Every step of an ended episode is stored once as (s_t, a_t, Σ_{m<k} γ^m r_{t+m}, s_{t+k}, flags of the end
    if t+k is the end, k) with k = min(n, steps left): a brute-force count over each environment's episodes."""
    n, gamma, N = 3, 0.9, 3
    steps = _vector_episodes(N, 400, seed=0)
    buf = NStepReplayBuffer(capacity=5000, obs_dim=1, n_envs=N, n_step=n, gamma=gamma)
    for step in steps:
        buf.add_step(*step)
    expected = {}
    for i in range(N):  # brute force: cut each env's valid steps into episodes, then sum
        episode = []
        for obs, act, rew, nxt, te, tr, valid in steps:
            if not valid[i]:
                continue
            episode.append((obs[i, 0], act[i], rew[i], nxt[i, 0], te[i], tr[i]))
            if te[i] or tr[i]:
                L = len(episode)
                for t in range(L):
                    k = min(n, L - t)
                    R = sum(gamma ** m * episode[t + m][2] for m in range(k))
                    at_end = t + k == L
                    expected[episode[t][0]] = (episode[t][1], R, episode[t + k - 1][3], at_end and te[i],
                                               at_end and tr[i], k)
                episode = []
        for t in range(len(episode) - n + 1):  # the unfinished episode: only steps with n rewards known
            expected[episode[t][0]] = (episode[t][1], sum(gamma ** m * episode[t + m][2] for m in range(n)),
                                       episode[t + n - 1][3], False, False, n)
    assert len(buf) == len(expected) > 500  # each transition stored once
    got = {buf.obs[j, 0]: (buf.actions[j], buf.rewards[j], buf.next_obs[j, 0], buf.terminated[j], buf.truncated[j],
                           buf.steps[j]) for j in range(len(buf))}
    assert got.keys() == expected.keys()
    for key, (a, R, nxt, te, tr, k) in expected.items():
        ga, gR, gnxt, gte, gtr, gk = got[key]
        assert (ga, gnxt, gte, gtr, gk) == (a, nxt, te, tr, k), key
        assert np.isclose(gR, R, rtol=1e-6), key  # stored as float32
    assert {1, 2, 3} <= set(buf.steps[:len(buf)].tolist()) and buf.terminated.any() and buf.truncated.any()
    b = buf.sample(256, np.random.default_rng(0))
    np.testing.assert_array_equal(b["steps"], [got[o][5] for o in b["obs"][:, 0]])  # sample keeps k aligned


def test_nstep_buffer_with_one_step_stores_what_replay_buffer_stores():
    steps = _vector_episodes(4, 200, seed=1)
    one, plain = NStepReplayBuffer(1000, 1, n_envs=4, n_step=1, gamma=0.99), ReplayBuffer(1000, 1)
    for obs, act, rew, nxt, te, tr, v in steps:
        one.add_step(obs, act, rew, nxt, te, tr, v)
        plain.add(obs[v], act[v], rew[v], nxt[v], te[v], tr[v])
    for field in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated"):
        np.testing.assert_array_equal(getattr(one, field), getattr(plain, field))  # same values, same order
    assert len(one) == len(plain) and np.all(one.steps == 1)
    with pytest.raises(ValueError, match="n_step"):
        NStepReplayBuffer(10, 1, n_envs=1, n_step=0, gamma=0.99)
