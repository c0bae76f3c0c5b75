"""Lecture 5 loops: DQN / double DQN on CartPole-v1 and TD3 / DDPG on Pendulum-v1 — masks, determinism, learning.

The full thresholds (DQN ≥ 475 within 50k env steps, TD3 ≥ -200 within 20k) are asserted by the
executed solution notebook and, over more seeds, by ``scripts/lec05_measure.py``; the runs here are short.
"""
import dataclasses

import numpy as np
import pytest
import torch

from rlcourse_utils import nets, q_learning, replay
from rlcourse_utils.algos import ddpg, dqn

torch.set_num_threads(1)
DQN_SMALL = dqn.Config(total_steps=1_200, learning_starts=400, eval_every=600, eval_episodes=3, hidden=(32, 32),
                       n_step=1)
TD3_SMALL = ddpg.Config(total_steps=1_000, learning_starts=600, eval_every=500, eval_episodes=2)


def test_dqn_stores_only_real_transitions_and_passes_both_flags():
    seen = []

    def spy(rewards, next_q_target, terminated, truncated, gamma):
        seen.append((rewards.copy(), terminated.copy(), truncated.copy(), next_q_target.shape))
        return q_learning.dqn_targets(rewards, next_q_target, terminated, truncated, gamma)

    result = dqn.train(DQN_SMALL, seed=0, dqn_target_fn=spy)
    # one call per vector step serves its updates_per_step minibatches (the target network is fixed between them)
    group = DQN_SMALL.updates_per_step * DQN_SMALL.batch_size
    assert len(seen) * DQN_SMALL.updates_per_step == len(result.loss) > 100
    assert all(s[3] == (group, 2) and s[0].shape == s[1].shape == s[2].shape == (group,) for s in seen)
    rewards = np.concatenate([s[0] for s in seen])
    assert np.all(rewards == 1.0)                    # a reset step (reward 0) never reaches the buffer
    assert np.concatenate([s[1] for s in seen]).mean() > 0.01      # random-ish CartPole: many terminations
    assert result.eval_return.shape == result.q_estimate.shape == result.q_true.shape == (2,)
    assert np.all(result.q_true > 0) and np.all(result.q_true <= 1 / (1 - DQN_SMALL.gamma))


@pytest.mark.parametrize("n_step, double", [(1, False), (4, False), (4, True)])
def test_grouped_targets_give_the_same_run_as_one_target_pass_per_update(n_step, double):
    """With updates_per_step dividing target_every, DQN computes the targets of a vector step's minibatches in one
    pass; with a target update inside the group (target_every=1, Polyak) it must fall back to one pass per update.
    Both agree with a plain per-update loop written out here, whose n-step target is written out too:
    y = R + γ^k (1 - terminated) max_a' Q_φ'(s_{t+k}, a') (the agent scales Q_φ' by γ^(k-1) instead), or for double
    DQN y = R + γ^k (1 - terminated) Q_φ'(s_{t+k}, argmax_a' Q_φ(s_{t+k}, a'))."""
    for target_every, tau in ((128, 1.0), (1, 0.005)):
        cfg = dataclasses.replace(DQN_SMALL, total_steps=600, eval_every=10**9, target_every=target_every, tau=tau,
                                  n_step=n_step, double=double)
        calls = []
        spy = lambda r, nq, te, tr, g: calls.append(len(r)) or q_learning.dqn_targets(r, nq, te, tr, g)  # noqa: E731
        run = dqn.train(cfg, seed=2, dqn_target_fn=spy)
        per_update = cfg.batch_size * (cfg.updates_per_step if target_every == 128 else 1)
        assert len(run.loss) == 2 * ((600 - 400) // 4 + 1)  # steps 400, 404, .., 600
        assert set(calls) == (set() if double else {per_update})
        # the reference: the same updates, one minibatch and one target pass at a time
        torch.manual_seed(2)
        rng = np.random.default_rng(2)
        envs = dqn.make_vec(cfg.env_id, cfg.n_envs)
        obs, _ = envs.reset(seed=2)
        q_net, target_net = dqn.QNetwork(4, 2, cfg.hidden), dqn.QNetwork(4, 2, cfg.hidden)
        target_net.load_state_dict(q_net.state_dict())
        opt = torch.optim.Adam(q_net.parameters(), lr=cfg.lr, fused=True)
        buffer = replay.NStepReplayBuffer(cfg.buffer_size, 4, cfg.n_envs, n_step, cfg.gamma)
        reset, steps, n, losses, ks = np.zeros(4, bool), 0, 0, [], []
        while steps < cfg.total_steps:
            eps = q_learning.epsilon_schedule(steps, cfg.eps_start, cfg.eps_end, cfg.eps_duration)
            with torch.no_grad():
                action = q_net(torch.from_numpy(obs)).argmax(1).numpy()
            explore = rng.random(4) < eps
            action[explore] = rng.integers(0, 2, explore.sum())
            nxt, r, te, tr, _ = envs.step(action)
            buffer.add_step(obs, action, r, nxt, te, tr, ~reset)
            reset, obs, steps = te | tr, nxt, steps + 4
            for _ in range(cfg.updates_per_step if steps >= cfg.learning_starts else 0):
                b = buffer.sample(cfg.batch_size, rng)
                with torch.no_grad():
                    nq = target_net(torch.from_numpy(b["next_obs"])).numpy()
                    best = q_net(torch.from_numpy(b["next_obs"])).numpy().argmax(1)  # double DQN: φ selects a'
                boot = nq[np.arange(len(best)), best] if double else nq.max(1)
                y = b["rewards"] + cfg.gamma ** b["steps"] * (1.0 - b["terminated"]) * boot
                q = q_net(torch.from_numpy(b["obs"])).gather(1, torch.from_numpy(b["actions"])[:, None])[:, 0]
                loss = q_learning.huber_loss(q, torch.as_tensor(y, dtype=torch.float32), cfg.huber_delta)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(q_net.parameters(), cfg.max_grad_norm)
                opt.step()
                n += 1
                losses.append(loss.item())
                ks.append(b["steps"])
                if n % cfg.target_every == 0:
                    nets.polyak_average_(target_net, q_net, cfg.tau, q_learning.polyak_update)
        envs.close()
        np.testing.assert_allclose(run.loss, losses, rtol=1e-5, atol=1e-7)
        assert set(np.concatenate(ks).tolist()) == set(range(1, n_step + 1))  # short windows at episode ends too


def test_double_dqn_uses_the_double_target_and_is_seeded():
    calls = []

    def spy(rewards, next_q_online, next_q_target, terminated, truncated, gamma):
        calls.append(1)
        return q_learning.double_dqn_targets(rewards, next_q_online, next_q_target, terminated, truncated, gamma)

    cfg = dataclasses.replace(DQN_SMALL, double=True)
    a = dqn.train(cfg, seed=3, double_target_fn=spy)
    b = dqn.train(cfg, seed=3)
    assert len(calls) == len(a.loss)
    np.testing.assert_array_equal(a.loss, b.loss)
    np.testing.assert_array_equal(a.eval_return, b.eval_return)


def test_dqn_hard_target_copy_happens_every_target_every_updates():
    taus = []

    def spy(target, online, tau):
        taus.append(tau)
        return q_learning.polyak_update(target, online, tau)

    result = dqn.train(dataclasses.replace(DQN_SMALL, target_every=50), seed=0, polyak_fn=spy)
    assert len(taus) == len(result.loss) // 50 and set(taus) == {1.0}  # one call on all the flattened weights


def test_dqn_learns_on_a_short_budget():
    cfg = dataclasses.replace(dqn.Config(), total_steps=6_000, eval_every=2_000, eval_episodes=5)
    result = dqn.train(cfg, seed=0)
    assert result.eval_return.max() > 100       # random play lasts about 20 steps


def test_td3_on_pendulum_bootstraps_everywhere_and_is_seeded():
    taus = []

    def spy(target, online, tau):
        taus.append(tau)
        return q_learning.polyak_update(target, online, tau)

    a = ddpg.train(TD3_SMALL, seed=0, polyak_fn=spy)
    b = ddpg.train(TD3_SMALL, seed=0)
    n_updates = len(a.critic_loss)
    assert n_updates == 1_000 - 600                      # one update per env step after the random phase
    # TD3: actor and both targets every policy_delay = 2 critic updates, one call per target network
    assert len(taus) == (n_updates // 2) * 2 and set(taus) == {TD3_SMALL.tau}
    np.testing.assert_array_equal(a.critic_loss, b.critic_loss)
    assert a.eval_steps.tolist() == [500, 1000] and np.all(a.eval_return < 0)


def test_ddpg_variant_runs_with_one_critic():
    result = ddpg.train(dataclasses.replace(TD3_SMALL, td3=False, total_steps=800), seed=1)
    assert len(result.critic.qs) == 1 and len(result.critic_loss) == 200


def test_td3_learns_on_a_short_budget():
    cfg = dataclasses.replace(ddpg.Config(), total_steps=5_000, eval_every=2_500, eval_episodes=4)
    result = ddpg.train(cfg, seed=0)
    assert result.eval_return[-1] > result.eval_return[0] + 300   # random play: about -1200


def test_polyak_on_flat_weights_equals_the_update_of_each_tensor():
    torch.manual_seed(0)
    online, target = nets.mlp(3, 2, (8,), torch.nn.ReLU), nets.mlp(3, 2, (8,), torch.nn.ReLU)
    expected = [0.3 * p.detach() + 0.7 * p_t.detach() for p, p_t in zip(online.parameters(), target.parameters())]
    nets.polyak_average_(target, online, 0.3, q_learning.polyak_update)
    for want, got in zip(expected, target.parameters()):
        torch.testing.assert_close(got.detach(), want)



def test_polyak_with_cached_parameter_lists_tracks_every_update():
    """The parameter lists are cached on the first call: later calls must still read the current weights."""
    torch.manual_seed(1)
    online, target = nets.mlp(3, 2, (8,), torch.nn.ReLU), nets.mlp(3, 2, (8,), torch.nn.ReLU)
    expected = [p_t.detach().clone() for p_t in target.parameters()]
    for step in range(3):
        with torch.no_grad():
            for p in online.parameters():
                p.add_(0.1 * (step + 1))  # the online net moves between updates
        expected = [0.5 * p.detach() + 0.5 * e for p, e in zip(online.parameters(), expected)]
        nets.polyak_average_(target, online, 0.5, q_learning.polyak_update)
    for want, got in zip(expected, target.parameters()):
        torch.testing.assert_close(got.detach(), want)


def test_polyak_names_a_wrong_shape_from_polyak_fn():
    online, target = nets.mlp(3, 2, (8,), torch.nn.ReLU), nets.mlp(3, 2, (8,), torch.nn.ReLU)
    with np.testing.assert_raises_regex(ValueError, r"polyak_fn returned shape \(1,\), expected \(50,\)"):
        nets.polyak_average_(target, online, 0.5, lambda t, o, tau: np.zeros(1, dtype=np.float32))

def test_naive_online_q_learning_diverges_where_dqn_does_not():
    """The control arm of the notebook: no replay (buffer of the latest vector step) and no target network."""
    cfg = dataclasses.replace(dqn.Config(), total_steps=4_000, eval_every=2_000, eval_episodes=3)
    naive = dqn.train(dataclasses.replace(cfg, buffer_size=cfg.n_envs, target_every=1), seed=0)
    with_fixes = dqn.train(cfg, seed=0)
    assert len(naive.loss) == len(with_fixes.loss)
    assert naive.q_estimate[-1] > 1 / (1 - cfg.gamma) > with_fixes.q_estimate[-1] > 0


def test_van_hasselt_example_dqn_overestimates_and_double_dqn_less():
    cfg = dqn.BiasConfig(n_updates=600)
    single = dqn.van_hasselt_bias(cfg, seeds=(0, 1, 2, 3), double=False)[:, 300:].mean(1) + 0.1
    double = dqn.van_hasselt_bias(cfg, seeds=(0, 1, 2, 3), double=True)[:, 300:].mean(1) + 0.1
    assert single.shape == (4,) and np.all(single > 0.15) and np.all(double < single)
    again = dqn.van_hasselt_bias(cfg, seeds=(0, 1, 2, 3), double=False)[:, 300:].mean(1) + 0.1
    np.testing.assert_array_equal(single, again)  # same seeds, same numbers


def test_van_hasselt_example_with_a_mean_target_is_unbiased_on_average():
    """Oracle for the loop itself: replacing the max by the mean over B's actions gives an unbiased target for the
    uniform policy's value, -0.1, so the bias measured with it must be near 0 (the loop adds no bias of its own)."""
    def mean_target(rewards, next_q_target, terminated, truncated, gamma):
        return rewards + gamma * (1.0 - terminated) * next_q_target.mean(-1)

    cfg = dqn.BiasConfig(n_updates=600)
    bias = dqn.van_hasselt_bias(cfg, seeds=tuple(range(8)), dqn_target_fn=mean_target)[:, 300:].mean(1) + 0.1
    assert abs(bias.mean()) < 3 * bias.std(ddof=1) / np.sqrt(len(bias)) + 0.02


def test_flat_q_network_is_the_mlp_it_replaces():
    """dqn.QNetwork keeps nets.mlp's weights (same seed, same initialisation) in one flat parameter vector."""
    torch.manual_seed(0)
    reference = nets.mlp(4, 2, (16, 8), torch.nn.ReLU)
    torch.manual_seed(0)
    flat = dqn.QNetwork(4, 2, (16, 8))
    assert [p.shape for p in flat.parameters()] == [torch.Size([4 * 16 + 16 + 16 * 8 + 8 + 8 * 2 + 2])]
    x = torch.randn(5, 4)
    torch.testing.assert_close(flat(x), reference(x))
