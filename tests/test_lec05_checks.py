"""Lecture 5 checkers: the reference passes every case; known-wrong versions fail with a useful message."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rlcourse_utils import checks
from rlcourse_utils.checks import core
from mutants import assert_rejected

LEC05 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "05"]


def test_four_exercises_are_registered():
    assert {ex.id for ex in LEC05} == {"L05_dqn_targets", "L05_double_dqn_targets", "L05_polyak_update",
                                       "L05_huber_loss"}


# ---------------------------------------------------------------- correct alternatives pass

def test_huber_via_torch_with_a_detached_target_passes():
    def huber_loss(q_values, targets, delta=1.0):
        return F.huber_loss(q_values, targets.detach(), delta=delta)

    ex = checks.get("L05_huber_loss")
    assert core.run_cases(ex, huber_loss, ex.public_cases() + ex.hidden()).passed


# ---------------------------------------------------------------- known-wrong versions

def dqn_done_mask(rewards, next_q_target, terminated, truncated, gamma):  # the classic time-limit bug
    return rewards + gamma * (1.0 - (terminated | truncated)) * next_q_target.max(-1)


def dqn_no_mask(rewards, next_q_target, terminated, truncated, gamma):
    return rewards + gamma * next_q_target.max(-1)


def dqn_mean_not_max(rewards, next_q_target, terminated, truncated, gamma):
    return rewards + gamma * (1.0 - terminated) * next_q_target.mean(-1)


def dqn_max_abs(rewards, next_q_target, terminated, truncated, gamma):
    return rewards + gamma * (1.0 - terminated) * np.abs(next_q_target).max(-1)


def dqn_mask_on_reward(rewards, next_q_target, terminated, truncated, gamma):
    return (1.0 - terminated) * (rewards + gamma * next_q_target.max(-1))


def double_is_dqn(rewards, next_q_online, next_q_target, terminated, truncated, gamma):
    return rewards + gamma * (1.0 - terminated) * next_q_target.max(-1)


def double_roles_swapped(rewards, next_q_online, next_q_target, terminated, truncated, gamma):
    a = next_q_target.argmax(-1)
    return rewards + gamma * (1.0 - terminated) * next_q_online[np.arange(len(a)), a]


def double_online_max(rewards, next_q_online, next_q_target, terminated, truncated, gamma):
    return rewards + gamma * (1.0 - terminated) * next_q_online.max(-1)


def double_done_mask(rewards, next_q_online, next_q_target, terminated, truncated, gamma):
    a = next_q_online.argmax(-1)
    return rewards + gamma * (1.0 - (terminated | truncated)) * next_q_target[np.arange(len(a)), a]


def polyak_notes_form(target_params, online_params, tau):  # φ' ← τ φ' + (1 - τ) φ with the small τ
    return tau * target_params + (1 - tau) * online_params


def polyak_in_place(target_params, online_params, tau):
    target_params *= 1 - tau
    target_params += tau * online_params
    return target_params


def polyak_iterates(target_params, online_params, tau):  # loops over the first axis: a 0-d array cannot be iterated
    return np.array([tau * o + (1 - tau) * t for t, o in zip(target_params, online_params)])


def polyak_hard(target_params, online_params, tau):
    return online_params.copy()


def huber_mse(q_values, targets, delta=1.0):
    return 0.5 * ((q_values - targets.detach()) ** 2).mean()


def huber_no_stop_gradient(q_values, targets, delta=1.0):
    return F.huber_loss(q_values, targets, delta=delta)


def huber_sum(q_values, targets, delta=1.0):
    return F.huber_loss(q_values, targets.detach(), delta=delta, reduction="sum")


def huber_wrong_linear_part(q_values, targets, delta=1.0):  # δ|x| - δ² is not continuous at |x| = δ
    x = q_values - targets.detach()
    return torch.where(x.abs() <= delta, 0.5 * x ** 2, delta * x.abs() - delta ** 2).mean()


def huber_ignores_delta(q_values, targets, delta=1.0):
    return F.smooth_l1_loss(q_values, targets.detach())


def huber_detached_prediction(q_values, targets, delta=1.0):
    return F.huber_loss(q_values.detach(), targets.detach(), delta=delta)


MUTANTS = [
    ("L05_dqn_targets", dqn_done_mask, "truncated (time limit)"),
    ("L05_dqn_targets", dqn_no_mask, "terminal"),
    ("L05_dqn_targets", dqn_mean_not_max, "max(2, 5)"),
    ("L05_dqn_targets", dqn_max_abs, "negative values"),
    ("L05_dqn_targets", dqn_mask_on_reward, "y_1 = r_1 = 1"),
    ("L05_double_dqn_targets", double_is_dqn, "DQN's max"),
    ("L05_double_dqn_targets", double_roles_swapped, "the online net picks"),
    ("L05_double_dqn_targets", double_online_max, "the online net picks"),
    ("L05_double_dqn_targets", double_done_mask, "truncated (time limit)"),
    ("L05_polyak_update", polyak_notes_form, "τ weighs the ONLINE"),
    ("L05_polyak_update", polyak_in_place, "in place"),
    ("L05_polyak_update", polyak_hard, "τ = 0.1"),
    ("L05_polyak_update", polyak_iterates, "0-d arrays"),
    ("L05_huber_loss", huber_mse, "linear"),
    ("L05_huber_loss", huber_no_stop_gradient, "gradient of sum(result) with respect to `targets`"),
    ("L05_huber_loss", huber_sum, "mean over the batch"),
    ("L05_huber_loss", huber_wrong_linear_part, "linear"),
    ("L05_huber_loss", huber_ignores_delta, "δ = 2"),
    ("L05_huber_loss", huber_detached_prediction, "cut off from autograd"),
]


@pytest.mark.parametrize("exercise_id, mutant, fragment", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_known_wrong_versions_fail_with_a_useful_message(exercise_id, mutant, fragment):
    assert_rejected(exercise_id, mutant, fragment)


