"""Lecture 1 checkers, more known-wrong versions (tests/test_checks.py holds the first ones):
each must fail the public check, and the hidden cases too, with a useful message."""
import numpy as np
import pytest
import torch

from rlcourse_utils import checks, imitation
from mutants import assert_rejected


def bc_logits_as_log_probs(logits, expert_actions):  # forgets the softmax: -mean logit of the expert action
    return -logits.gather(-1, expert_actions.long().unsqueeze(-1)).mean()


def bc_softmax_over_batch(logits, expert_actions):  # normalises across states instead of actions
    return -torch.log_softmax(logits, 0).gather(-1, expert_actions.long().unsqueeze(-1)).mean()


def bc_mean_over_all_entries(logits, expert_actions):  # averages the one-hot product over B * n_actions
    one_hot = torch.nn.functional.one_hot(expert_actions.long(), logits.shape[-1])
    return -(one_hot * torch.log_softmax(logits, -1)).mean()


def stack_zero_padding(obs, episode_start, k):  # pads before an episode with zeros, not its first frame
    out = imitation.stack_history(obs, episode_start, k)
    T, d = obs.shape[0], obs.shape[-1]
    starts = np.array(episode_start, dtype=bool)
    starts[0] = True
    t = np.arange(T).reshape((T,) + (1,) * (starts.ndim - 1))
    first = np.maximum.accumulate(np.where(starts, t, 0), axis=0)
    for i, lag in enumerate(range(k - 1, -1, -1)):
        before = (t - lag < first)[..., None]
        out[..., i * d:(i + 1) * d] = np.where(before, 0.0, out[..., i * d:(i + 1) * d])
    return out


def stack_one_env_only(obs, episode_start, k):  # works for (T, obs_dim) only
    T = len(obs)
    starts = np.asarray(episode_start, dtype=bool).copy()
    starts[0] = True
    first = np.maximum.accumulate(np.where(starts, np.arange(T), 0))
    return np.concatenate([obs[np.maximum(np.arange(T) - lag, first)] for lag in range(k - 1, -1, -1)], -1)


def stack_needs_k_frames(obs, episode_start, k):  # indexes t - lag without clipping: wraps when T < k
    if len(obs) < k:
        return np.concatenate([np.roll(obs, lag, 0) for lag in range(k - 1, -1, -1)], -1)
    return imitation.stack_history(obs, episode_start, k)


def mog_no_normaliser(logits, means, log_stds, actions):  # drops -log σ - log(2π)/2
    log_w = torch.log_softmax(logits, -1)
    z = (actions.unsqueeze(-2) - means) / log_stds.exp()
    return torch.logsumexp(log_w + (-0.5 * z**2).sum(-1), -1)


def mog_max_component(logits, means, log_stds, actions):  # hard max instead of logsumexp
    log_w = torch.log_softmax(logits, -1)
    z = (actions.unsqueeze(-2) - means) / log_stds.exp()
    return (log_w + (-0.5 * z**2 - log_stds - 0.5 * np.log(2 * np.pi)).sum(-1)).max(-1).values


MUTANTS = [
    ("L01_bc_loss", bc_logits_as_log_probs, "expected"),
    ("L01_bc_loss", bc_softmax_over_batch, "expected"),
    ("L01_bc_loss", bc_mean_over_all_entries, "expected"),
    ("L01_stack_history", stack_zero_padding, "differs at index"),
    ("L01_stack_history", stack_one_env_only, "raised"),
    ("L01_stack_history", stack_needs_k_frames, "differs at index"),
    ("L01_mog_log_likelihood", mog_no_normaliser, "expected"),
    ("L01_mog_log_likelihood", mog_max_component, "expected"),
]


@pytest.mark.parametrize("exercise_id, mutant, fragment", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_known_wrong_versions_fail_with_a_useful_message(exercise_id, mutant, fragment):
    assert_rejected(exercise_id, mutant, fragment)


def test_public_cases_cover_the_forms_the_lecture_passes():
    """The rollout stacks a float32 window of T < k steps over N envs; the loops feed float32 tensors."""
    stack = checks.get("L01_stack_history").public_cases()
    assert any(c.args[0].ndim == 3 and c.args[0].shape[0] < c.args[2] and c.args[0].dtype == np.float32 for c in stack)
    assert any(c.args[0].ndim == 3 and not np.asarray(c.args[1]).any() for c in stack)
    mog = checks.get("L01_mog_log_likelihood").public_cases()
    assert any(c.args[0].dtype == torch.float32 for c in mog)
