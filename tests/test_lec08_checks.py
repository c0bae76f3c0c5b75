"""Lecture 8 checkers: the reference passes every case; known-wrong versions fail with a useful message."""
import pytest
import torch
import torch.nn.functional as F

from rlcourse_utils import checks
from rlcourse_utils import model_based as mb
from mutants import assert_rejected

LEC08 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "08"]
pytestmark = pytest.mark.filterwarnings("ignore:std\\(\\)")  # the unbiased-std mutant on a single elite


def test_three_exercises_are_registered():
    assert {ex.id for ex in LEC08} == {"L08_delta_loss", "L08_ensemble_return", "L08_cem_update"}


# ---------------------------------------------------------------- known-wrong versions: L08_delta_loss

def loss_on_next_obs(pred, obs, next_obs, delta_mean, delta_std):  # predicts s', not Δ
    return ((pred - (next_obs - delta_mean) / delta_std) ** 2).mean()


def loss_times_std(pred, obs, next_obs, delta_mean, delta_std):
    return ((pred - (next_obs - obs - delta_mean) * delta_std) ** 2).mean()


def loss_unnormalised(pred, obs, next_obs, delta_mean, delta_std):
    return ((pred - (next_obs - obs)) ** 2).mean()


def loss_summed(pred, obs, next_obs, delta_mean, delta_std):
    return ((pred - (next_obs - obs - delta_mean) / delta_std) ** 2).sum()


def loss_sum_over_dims(pred, obs, next_obs, delta_mean, delta_std):  # mean over the batch only
    return ((pred - (next_obs - obs - delta_mean) / delta_std) ** 2).sum(-1).mean()


def loss_detached(pred, obs, next_obs, delta_mean, delta_std):
    return F.mse_loss(pred.detach(), (next_obs - obs - delta_mean) / delta_std)


# ---------------------------------------------------------------- L08_ensemble_return

def _rollout(params, stats, obs0, actions, mean_field=False, reward_after=False, raw_inputs=False,
             absolute=False, first_member=False, activation=torch.relu):
    in_mean, in_std, delta_mean, delta_std = stats
    K, L = params[0].shape[0], len(params) // 2
    s = obs0.expand(K, *obs0.shape)
    total = torch.zeros(K, obs0.shape[0], dtype=obs0.dtype)
    for t in range(actions.shape[1]):
        a = actions[:, t].expand(K, *actions[:, t].shape)
        if not reward_after:
            total = total + mb.pendulum_reward(s, a)
        h = torch.cat([s, a], -1) if raw_inputs else (torch.cat([s, a], -1) - in_mean) / in_std
        for l in range(L):
            h = h @ params[2 * l] + params[2 * l + 1]
            if l < L - 1:
                h = activation(h)
        s = (delta_mean + delta_std * h) if absolute else s + delta_mean + delta_std * h
        if mean_field:
            s = s.mean(0, keepdim=True).expand(K, *s.shape[1:])
        if first_member:
            s = s[:1].expand(K, *s.shape[1:])
        if reward_after:
            total = total + mb.pendulum_reward(s, a)
    return total


def ret_mean_field(params, stats, obs0, actions):  # averages the members' states at every step
    return _rollout(params, stats, obs0, actions, mean_field=True)


def ret_reward_after_step(params, stats, obs0, actions):  # r(s_{t+1}, a_t)
    return _rollout(params, stats, obs0, actions, reward_after=True)


def ret_unnormalised_inputs(params, stats, obs0, actions):
    return _rollout(params, stats, obs0, actions, raw_inputs=True)


def ret_absolute_prediction(params, stats, obs0, actions):  # treats the output as s', forgetting "s +"
    return _rollout(params, stats, obs0, actions, absolute=True)


def ret_mean_over_members(params, stats, obs0, actions):  # (N,) instead of (K, N)
    return mb.ensemble_return(params, stats, obs0, actions).mean(0)


def ret_tanh(params, stats, obs0, actions):
    return _rollout(params, stats, obs0, actions, activation=torch.tanh)


def ret_first_member(params, stats, obs0, actions):  # every member continues from member 0's state
    return _rollout(params, stats, obs0, actions, first_member=True)


def ret_no_grad(params, stats, obs0, actions):
    with torch.no_grad():
        return mb.ensemble_return(params, stats, obs0, actions)


# ---------------------------------------------------------------- L08_cem_update

def cem_lowest(actions, returns, n_elite, mean, std, alpha):
    return mb.cem_update(actions, -returns, n_elite, mean, std, alpha)


def cem_unbiased_std(actions, returns, n_elite, mean, std, alpha):
    idx = returns.topk(n_elite, dim=-1).indices
    e = torch.take_along_dim(actions, idx[..., None, None], dim=-3)
    return alpha * mean + (1 - alpha) * e.mean(-3), alpha * std + (1 - alpha) * e.std(-3)


def cem_alpha_swapped(actions, returns, n_elite, mean, std, alpha):
    return mb.cem_update(actions, returns, n_elite, mean, std, 1 - alpha)


def cem_std_of_all(actions, returns, n_elite, mean, std, alpha):
    new_mean, _ = mb.cem_update(actions, returns, n_elite, mean, std, alpha)
    return new_mean, alpha * std + (1 - alpha) * actions.std(-3, unbiased=False)


def cem_variance(actions, returns, n_elite, mean, std, alpha):  # smooths the variance, returns σ²
    idx = returns.topk(n_elite, dim=-1).indices
    e = torch.take_along_dim(actions, idx[..., None, None], dim=-3)
    return alpha * mean + (1 - alpha) * e.mean(-3), alpha * std + (1 - alpha) * e.var(-3, unbiased=False)


def cem_flat_topk(actions, returns, n_elite, mean, std, alpha):  # elites over a flattened batch
    r = returns.reshape(-1)
    idx = r.topk(n_elite).indices
    e = actions.reshape(-1, *actions.shape[-2:])[idx]
    return alpha * mean + (1 - alpha) * e.mean(0), alpha * std + (1 - alpha) * e.std(0, unbiased=False)


MUTANTS = [
    ("L08_delta_loss", loss_on_next_obs, "not s'"),
    ("L08_delta_loss", loss_times_std, "divide by σ_Δ"),
    ("L08_delta_loss", loss_unnormalised, "normalised target is 0"),
    ("L08_delta_loss", loss_summed, "0.125"),
    ("L08_delta_loss", loss_sum_over_dims, "0.125"),
    ("L08_delta_loss", loss_detached, "autograd"),
    ("L08_ensemble_return", ret_mean_field, "own state"),
    ("L08_ensemble_return", ret_reward_after_step, "taken *before* each step"),
    ("L08_ensemble_return", ret_unnormalised_inputs, "normalisation"),
    ("L08_ensemble_return", ret_absolute_prediction, "zero network"),
    ("L08_ensemble_return", ret_mean_over_members, "shape (3, 1)"),
    ("L08_ensemble_return", ret_tanh, "ReLU"),
    ("L08_ensemble_return", ret_first_member, "own state"),
    ("L08_ensemble_return", ret_no_grad, "autograd"),
    ("L08_cem_update", cem_lowest, "highest returns"),
    ("L08_cem_update", cem_unbiased_std, "population std"),
    ("L08_cem_update", cem_alpha_swapped, "mean 2, std 1"),
    ("L08_cem_update", cem_std_of_all, "population std"),
    ("L08_cem_update", cem_variance, "√(2/3)"),
]


@pytest.mark.parametrize("exercise_id, mutant, fragment", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_known_wrong_versions_fail_with_a_useful_message(exercise_id, mutant, fragment):
    assert_rejected(exercise_id, mutant, fragment)


def test_elites_over_a_flattened_batch_are_caught_by_hidden_cases_only():
    assert_rejected("L08_cem_update", cem_flat_topk, "random batch", public=False)


