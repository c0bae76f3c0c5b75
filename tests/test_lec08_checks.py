"""Lecture 8 checkers: the reference passes every case; known-wrong versions fail with a useful message."""
import math

import pytest
import torch
import torch.nn.functional as F

from rlcourse_utils import checks
from rlcourse_utils import model_based as mb
from mutants import assert_rejected

LEC08 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "08"]


def test_three_exercises_are_registered():
    assert {ex.id for ex in LEC08} == {"L08_delta_loss", "L08_ensemble_return", "L08_gaussian_nll"}


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


# ---------------------------------------------------------------- L08_gaussian_nll

LOG_2PI = math.log(2 * math.pi)


def nll_no_log_var(mean, log_var, target):  # drops the log σ² term: σ² → ∞ minimises it
    return 0.5 * ((target - mean) ** 2 * torch.exp(-log_var) + LOG_2PI).mean()


def nll_wrong_sign_exponent(mean, log_var, target):  # multiplies by σ² instead of dividing
    return 0.5 * ((target - mean) ** 2 * torch.exp(log_var) + log_var + LOG_2PI).mean()


def nll_wrong_sign_log(mean, log_var, target):  # - log σ²
    return 0.5 * ((target - mean) ** 2 * torch.exp(-log_var) - log_var + LOG_2PI).mean()


def nll_divides_by_std(mean, log_var, target):  # (y - μ)² / σ: std for variance
    return 0.5 * ((target - mean) ** 2 * torch.exp(-0.5 * log_var) + log_var + LOG_2PI).mean()


def nll_log_var_as_log_std(mean, log_var, target):  # reads log_var as log σ: σ² = exp(2 log_var)
    return 0.5 * ((target - mean) ** 2 * torch.exp(-2 * log_var) + 2 * log_var + LOG_2PI).mean()


def nll_no_constant(mean, log_var, target):
    return 0.5 * ((target - mean) ** 2 * torch.exp(-log_var) + log_var).mean()


def nll_no_half(mean, log_var, target):
    return ((target - mean) ** 2 * torch.exp(-log_var) + log_var + LOG_2PI).mean()


def nll_summed(mean, log_var, target):
    return 0.5 * ((target - mean) ** 2 * torch.exp(-log_var) + log_var + LOG_2PI).sum()


def nll_detached_var(mean, log_var, target):  # no gradient reaches the variance head
    return mb.gaussian_nll(mean, log_var.detach(), target)


def nll_no_broadcast(mean, log_var, target):  # assumes log_var has mean's shape
    return 0.5 * ((target - mean) ** 2 * torch.exp(-log_var.reshape(mean.shape)) + log_var.reshape(mean.shape)
                  + LOG_2PI).mean()


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
    ("L08_gaussian_nll", nll_no_log_var, "pays + ½ log σ²"),
    ("L08_gaussian_nll", nll_wrong_sign_exponent, "nor multiply"),
    ("L08_gaussian_nll", nll_wrong_sign_log, "pays + ½ log σ²"),
    ("L08_gaussian_nll", nll_divides_by_std, "not by σ"),
    ("L08_gaussian_nll", nll_log_var_as_log_std, "pays + ½ log σ²"),
    ("L08_gaussian_nll", nll_no_constant, "½ log 2π"),
    ("L08_gaussian_nll", nll_no_half, "½ log 2π"),
    ("L08_gaussian_nll", nll_summed, "not their sum"),
    ("L08_gaussian_nll", nll_detached_var, "autograd"),
    ("L08_gaussian_nll", nll_no_broadcast, "broadcast"),
]


@pytest.mark.parametrize("exercise_id, mutant, fragment", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_known_wrong_versions_fail_with_a_useful_message(exercise_id, mutant, fragment):
    assert_rejected(exercise_id, mutant, fragment)
