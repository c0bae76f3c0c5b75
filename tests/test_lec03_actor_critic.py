"""Lecture 3 algorithm loop: A2C with GAE on CartPole-v1 — masks as gymnasium defines them, diagnostics, learning."""
import dataclasses

import numpy as np
import pytest
import torch

from rlcourse_utils import advantages
from rlcourse_utils.algos import actor_critic as ac

SMALL = ac.Config(n_envs=4, n_steps=64, total_steps=4 * 64 * 12, stop_at=None)


def test_masks_reaching_the_advantage_fn_follow_gymnasium():
    seen = []

    def spy(rewards, values, next_values, terminated, truncated, gamma, lam):
        seen.append((rewards.copy(), values.copy(), next_values.copy(), terminated.copy(), truncated.copy()))
        return advantages.gae(rewards, values, next_values, terminated, truncated, gamma, lam)

    torch.set_num_threads(1)
    result = ac.train(SMALL, seed=0, advantage_fn=spy)
    assert len(seen) == len(result.env_steps) == 12
    r, v, nv = (np.concatenate([s[i] for s in seen]) for i in range(3))
    term, trunc = (np.concatenate([s[i] for s in seen]) for i in (3, 4))
    assert r.shape == term.shape == (12 * 64, 4)
    fake = r == 0.0  # the reset step after an episode ends: reward 0, action ignored
    real_end = term & ~fake
    assert real_end.sum() >= 10 and fake.sum() >= 10
    assert term[fake].all()  # a fake transition neither bootstraps nor links its neighbours
    # every real termination is followed, in the same env, by the fake reset step
    t, n = np.nonzero(real_end[:-1])
    assert fake[t + 1, n].all()
    # within a batch, V(s'_t) is the value of the next row's observation (next-step autoreset)
    np.testing.assert_allclose(seen[0][2][:-1], seen[0][1][1:], rtol=1e-6)


def test_truncation_bootstraps_in_a_long_episode():
    # A 500-step CartPole episode is truncated, not terminated: with a constant critic V, GAE at the
    # truncated step bootstraps (δ = r + γV - V), which a terminated step would not (δ = r - V).
    rewards, values = np.ones((3, 1)), np.full((3, 1), 50.0)
    term, trunc = np.zeros((3, 1), bool), np.array([[False], [True], [False]])
    adv = advantages.gae(rewards, values, values, term, trunc, 0.99, 0.95)
    assert np.isclose(adv[1, 0], 1 + 0.99 * 50 - 50)
    assert np.isclose(adv[0, 0], (1 + 0.99 * 50 - 50) * (1 + 0.99 * 0.95))  # δ_0 + γλ δ_1


def test_diagnostics_have_one_entry_per_update_and_sane_ranges():
    result = ac.train(SMALL, seed=1)
    n = len(result.env_steps)
    assert n == 12 and np.all(np.diff(result.env_steps) == 256)
    for arr in (result.mean_return, result.entropy, result.value_loss, result.explained_variance):
        assert arr.shape == (n,)
    assert np.isclose(result.entropy[0], np.log(2), atol=0.01)  # the small last layer: a uniform start
    assert np.all(result.entropy <= np.log(2) + 1e-6) and np.all(result.value_loss >= 0)
    assert np.all(result.explained_variance <= 1.0)


def test_seeded_runs_repeat_and_shared_network_runs():
    a, b = ac.train(SMALL, seed=3), ac.train(SMALL, seed=3)
    np.testing.assert_array_equal(a.mean_return, b.mean_return)
    shared = ac.train(dataclasses.replace(SMALL, shared=True, critic_steps=1), seed=0)
    assert np.isfinite(shared.value_loss).all()
    logits, values = shared.model(torch.zeros(5, 4))
    assert logits.shape == (5, 2) and values.shape == (5,)


def test_default_config_solves_cartpole():
    torch.set_num_threads(1)
    result = ac.train(ac.Config(), seed=0)
    assert result.steps_to_solve is not None and result.steps_to_solve <= ac.Config().total_steps
    assert result.mean_return[-1] >= 475
    assert result.explained_variance[len(result.explained_variance) // 2:].mean() > 0.3


def test_online_actor_critic_is_the_one_step_special_case():
    cfg = dataclasses.replace(SMALL, n_steps=1, lam=0.0, total_steps=4 * 300)
    result = ac.train(cfg, seed=0)
    assert len(result.env_steps) == 300 and result.env_steps[-1] == 1200  # one transition per env per update
    assert np.isfinite(result.value_loss).all()


def test_an_unknown_optimizer_is_named():
    with pytest.raises(ValueError, match="'rmsprop' or 'adam', not 'sgd'"):
        ac.train(ac.Config(optimizer="sgd", total_steps=40), seed=0)


def test_orthogonal_initialisation_starts_from_a_near_uniform_policy():
    torch.manual_seed(0)
    model = ac.ActorCritic(4, 2, (64, 64), shared=False, ortho_init=True)
    w = model.actor[0].weight.detach()
    torch.testing.assert_close(w.T @ w, 2.0 * torch.eye(4), atol=1e-5, rtol=0)  # orthogonal columns, gain √2
    probs = torch.softmax(model.policy(torch.randn(256, 4)), -1)
    assert (probs - 0.5).abs().max() < 0.05 and model.critic[-1].bias.abs().max() == 0
