"""Lecture 10 checkers: the reference passes every case; known-wrong versions fail with a useful message."""
import math

import pytest
import torch
import torch.nn.functional as F

from rlcourse_utils import checks
from mutants import assert_rejected

LEC10 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "10"]


def test_three_exercises_are_registered():
    assert {ex.id for ex in LEC10} == {"L10_vae_elbo", "L10_score_function_surrogate", "L10_iwae_bound"}


# ---------------------------------------------------------------- known-wrong versions

def _log_lik(x, logits):
    return (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum(-1)


def _kl(mean, log_std):
    return 0.5 * (mean**2 + torch.exp(2 * log_std) - 1 - 2 * log_std).sum(-1)


def elbo_adds_kl(x, logits, mean, log_std):
    return _log_lik(x, logits) + _kl(mean, log_std)


def elbo_log_std_as_log_var(x, logits, mean, log_std):  # σ² = exp(log σ), log σ² = log σ
    return _log_lik(x, logits) - 0.5 * (mean**2 + torch.exp(log_std) - 1 - log_std).sum(-1)


def elbo_naive_log_sigmoid(x, logits, mean, log_std):  # log(sigmoid(l)) underflows
    p = torch.sigmoid(logits)
    return (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(-1) - _kl(mean, log_std)


def elbo_mean_over_pixels(x, logits, mean, log_std):
    return (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).mean(-1) - _kl(mean, log_std)


def elbo_no_kl(x, logits, mean, log_std):  # a plain autoencoder's likelihood
    return _log_lik(x, logits)


def elbo_kl_without_minus_one(x, logits, mean, log_std):
    return _log_lik(x, logits) - 0.5 * (mean**2 + torch.exp(2 * log_std) - 2 * log_std).sum(-1)


def elbo_batch_mean(x, logits, mean, log_std):  # one number instead of one ELBO per example
    return (_log_lik(x, logits) - _kl(mean, log_std)).mean()


def elbo_detached_kl(x, logits, mean, log_std):  # the value is right, the encoder gets no KL gradient
    return _log_lik(x, logits) - _kl(mean, log_std).detach()


def elbo_sums_everything(x, logits, mean, log_std):  # flattens the batch axes
    return _log_lik(x, logits).sum() - _kl(mean, log_std).sum()


def sf_not_detached(log_q, f, baseline):
    return (log_q * (f - baseline)).mean(0)


def sf_sum(log_q, f, baseline):
    return (log_q * (f - baseline).detach()).sum(0)


def sf_ignores_baseline(log_q, f, baseline):
    return (log_q * f.detach()).mean(0)


def sf_adds_baseline(log_q, f, baseline):
    return (log_q * (f + baseline).detach()).mean(0)


def sf_mean_all(log_q, f, baseline):
    return (log_q * (f - baseline).detach()).mean()


def sf_reward_only(log_q, f, baseline):  # forgets the score: no gradient reaches log q
    return (f - baseline).detach().mean(0) + 0 * log_q.sum(0)


def iwae_elbo(log_p_xz, log_q_z):  # the average of the log weights: the ELBO, not the IWAE bound
    return (log_p_xz - log_q_z).mean(0)


def iwae_no_log_k(log_p_xz, log_q_z):  # log of the SUM of the weights
    return torch.logsumexp(log_p_xz - log_q_z, dim=0)


def iwae_naive(log_p_xz, log_q_z):  # log(mean(exp)) under/overflows
    return torch.log(torch.exp(log_p_xz - log_q_z).mean(0))


def iwae_weight_sign(log_p_xz, log_q_z):  # q/p instead of p/q
    return torch.logsumexp(log_q_z - log_p_xz, dim=0) - math.log(log_p_xz.shape[0])


def iwae_last_axis(log_p_xz, log_q_z):
    return torch.logsumexp(log_p_xz - log_q_z, dim=-1) - math.log(log_p_xz.shape[-1])


def iwae_max(log_p_xz, log_q_z):  # the largest weight only
    return (log_p_xz - log_q_z).max(0).values


MUTANTS = [
    ("L10_vae_elbo", elbo_adds_kl, "SUBTRACT"),
    ("L10_vae_elbo", elbo_log_std_as_log_var, "log σ, not log σ²"),
    ("L10_vae_elbo", elbo_naive_log_sigmoid, "logsigmoid"),
    ("L10_vae_elbo", elbo_mean_over_pixels, "log p(x|z) = 2 log ½"),
    ("L10_vae_elbo", elbo_no_kl, "SUBTRACT"),
    ("L10_vae_elbo", elbo_kl_without_minus_one, "KL = 0"),
    ("L10_vae_elbo", elbo_batch_mean, "shape"),
    ("L10_vae_elbo", elbo_detached_kl, "gradient"),
    ("L10_vae_elbo", elbo_sums_everything, "shape"),
    ("L10_score_function_surrogate", sf_not_detached, "detach"),
    ("L10_score_function_surrogate", sf_sum, "= 5"),
    ("L10_score_function_surrogate", sf_ignores_baseline, "= 5"),
    ("L10_score_function_surrogate", sf_adds_baseline, "= 5"),
    ("L10_score_function_surrogate", sf_mean_all, "axis 0 only"),
    ("L10_score_function_surrogate", sf_reward_only, "gradient"),
    ("L10_iwae_bound", iwae_elbo, "log 1.5"),
    ("L10_iwae_bound", iwae_no_log_k, "log 1.5"),
    ("L10_iwae_bound", iwae_naive, "logsumexp"),
    ("L10_iwae_bound", iwae_weight_sign, "log 1.5"),
    ("L10_iwae_bound", iwae_last_axis, "shape"),
    ("L10_iwae_bound", iwae_max, "log 1.5"),
]


@pytest.mark.parametrize("exercise_id, mutant, fragment", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_mutant_is_rejected(exercise_id, mutant, fragment):
    assert_rejected(exercise_id, mutant, fragment)


def test_public_cases_cover_batch_axes_float64_and_gradients():
    """Every docstring promises leading batch axes and differentiability: the public cases hold a 3-D case,
    a float64 case and tensors that require grad (so a detached answer is caught)."""
    for ex in LEC10:
        cases = ex.public_cases()
        tensors = [a for c in cases for a in c.args if isinstance(a, torch.Tensor)]
        assert any(a.dim() == 3 for a in tensors), ex.id
        assert any(a.dtype == torch.float64 for a in tensors), ex.id
        assert any(a.requires_grad for a in tensors), ex.id
