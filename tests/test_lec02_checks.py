"""Lecture 2 checker tests: the reference passes every case; known-wrong versions fail with a useful message."""
import numpy as np
import pytest
import torch

from rlcourse_utils import checks, policy_gradient, returns
from mutants import assert_rejected

LEC02 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "02"]


def test_lecture_has_at_least_three_exercises():
    assert len(LEC02) >= 3


# ---------------------------------------------------------------- known-wrong versions

def rtg_ignores_ends(rewards, gamma, episode_end=None):
    return returns.reward_to_go(rewards, gamma)


def rtg_forward_cumsum(rewards, gamma, episode_end=None):
    r = np.asarray(rewards, dtype=np.float64)
    return np.cumsum(r, axis=0)


def rtg_no_discount(rewards, gamma, episode_end=None):
    return returns.reward_to_go(rewards, 1.0, episode_end)


def rtg_full_return(rewards, gamma, episode_end=None):
    g = returns.reward_to_go(rewards, gamma, episode_end)
    return np.broadcast_to(g[:1], g.shape).copy()


def rtg_flattens(rewards, gamma, episode_end=None):
    r = np.asarray(rewards, dtype=np.float64).reshape(len(rewards), -1)
    e = None if episode_end is None else np.asarray(episode_end).reshape(len(rewards), -1)
    return returns.reward_to_go(r, gamma, e)[:, 0]


def pg_no_sign(log_probs, advantages, mask=None):
    return -policy_gradient.pg_pseudo_loss(log_probs, advantages, mask)


def pg_mean_over_steps(log_probs, advantages, mask=None):
    w = log_probs * advantages.detach()
    if mask is not None:
        w = w * mask
    return -w.mean()


def pg_ignores_mask(log_probs, advantages, mask=None):
    return policy_gradient.pg_pseudo_loss(log_probs, advantages)


def pg_detached(log_probs, advantages, mask=None):
    return policy_gradient.pg_pseudo_loss(log_probs, advantages, mask).detach()


def pg_probs_not_logs(log_probs, advantages, mask=None):
    return policy_gradient.pg_pseudo_loss(log_probs.exp(), advantages, mask)


def iw_inverted(logp_new, logp_old):
    return policy_gradient.importance_weights(logp_old, logp_new)


def iw_per_step(logp_new, logp_old):
    return torch.exp(logp_new - logp_old)


def iw_total_product(logp_new, logp_old):
    w = torch.exp((logp_new - logp_old).sum(0, keepdim=True))
    return w.expand_as(logp_new)


def iw_prob_space(logp_new, logp_old):
    return torch.cumprod(logp_new.exp(), 0) / torch.cumprod(logp_old.exp(), 0)


def pg_assumes_2d(log_probs, advantages, mask=None):
    w = log_probs * advantages.detach()
    if mask is not None:
        w = w * mask
    return -w.sum() / log_probs.shape[1]  # IndexError on a (T,) trajectory


def ob_no_guard(grad_log_p, returns_):
    g2 = np.asarray(grad_log_p, dtype=np.float64) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return (g2 * returns_[:, None]).sum(0) / g2.sum(0)  # 0/0 = NaN for a parameter never scored


def ob_guard_zero(grad_log_p, returns_):
    g2 = np.asarray(grad_log_p, dtype=np.float64) ** 2
    den = g2.sum(0)
    return np.where(den > 0, (g2 * returns_[:, None]).sum(0) / np.where(den > 0, den, 1.0), 0.0)


def ob_mean_return(grad_log_p, returns_):
    return np.full(grad_log_p.shape[1], np.mean(returns_))


def ob_unsquared(grad_log_p, returns_):
    g = np.asarray(grad_log_p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (g * returns_[:, None]).sum(0) / g.sum(0)


def ob_scalar(grad_log_p, returns_):
    g2 = (np.asarray(grad_log_p) ** 2).sum(1)
    return np.full(grad_log_p.shape[1], (g2 * returns_).sum() / g2.sum())


MUTANTS = [
    ("L02_reward_to_go", rtg_ignores_ends, "differs", True),
    ("L02_reward_to_go", rtg_forward_cumsum, "differs", True),
    ("L02_reward_to_go", rtg_no_discount, "differs", True),
    ("L02_reward_to_go", rtg_full_return, "differs", True),
    ("L02_reward_to_go", rtg_flattens, "shape", True),
    ("L02_pg_pseudo_loss", pg_no_sign, "expected", True),
    ("L02_pg_pseudo_loss", pg_mean_over_steps, "expected", True),
    ("L02_pg_pseudo_loss", pg_ignores_mask, "expected", True),
    ("L02_pg_pseudo_loss", pg_detached, "autograd", True),
    ("L02_pg_pseudo_loss", pg_probs_not_logs, "expected", True),
    ("L02_pg_pseudo_loss", pg_assumes_2d, "IndexError", True),
    ("L02_importance_weights", iw_inverted, "differs", True),
    ("L02_importance_weights", iw_per_step, "differs", True),
    ("L02_importance_weights", iw_total_product, "differs", True),
    ("L02_importance_weights", iw_prob_space, "NaN", True),  # the public T = 400 case underflows it
    ("L02_optimal_baseline", ob_mean_return, "differs", True),
    ("L02_optimal_baseline", ob_unsquared, "differs", True),
    ("L02_optimal_baseline", ob_scalar, "differs", True),
    ("L02_optimal_baseline", ob_no_guard, "NaN", True),
    ("L02_optimal_baseline", ob_guard_zero, "differs", True),
]


@pytest.mark.parametrize("ex_id, mutant, fragment, public", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_known_wrong_versions_fail(ex_id, mutant, fragment, public):
    assert_rejected(ex_id, mutant, fragment, public)
