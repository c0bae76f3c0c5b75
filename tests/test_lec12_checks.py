"""Lecture 12 checkers: the reference passes every case; known-wrong versions fail with a useful message."""
import numpy as np
import torch

from rlcourse_utils import checks
from mutants import assert_rejected

LEC12 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "12"]


def test_three_exercises_are_registered():
    assert {ex.id for ex in LEC12} == {"L12_visitation_frequencies", "L12_maxent_irl_gradient",
                                       "L12_gail_discriminator_loss"}


def test_references_pass_public_and_hidden_cases():
    for ex in LEC12:
        assert checks.run_check(ex, ex.reference).passed
        assert checks.run_cases(ex, ex.reference, ex.hidden()).passed


# ---------------------------------------------------------------- L12_visitation_frequencies mutants

def vis_probability_space(P, R, mu0, Q):  # exp without log-sum-exp: overflows for large rewards
    H = len(Q)
    alpha, out = np.asarray(mu0, dtype=float), np.zeros(Q.shape)
    with np.errstate(all="ignore"):
        for t in range(H):
            m = alpha[:, None] * np.exp(Q[t])
            out[t] = m / m.sum()
            alpha = np.einsum("s,sa,sat->t", alpha, np.exp(R), P)
    return out


def vis_policy_rollout(P, R, mu0, Q):  # π_t = β_t(s,a)/β_t(s) through the true dynamics: wrong when P is stochastic
    pi = np.exp(Q - Q.max(-1, keepdims=True))
    pi /= pi.sum(-1, keepdims=True)
    d, out = np.asarray(mu0, dtype=float), np.zeros(Q.shape)
    for t in range(len(Q)):
        out[t] = d[:, None] * pi[t]
        d = np.einsum("sa,sat->t", out[t], P)
    return out


def vis_backward_only(P, R, mu0, Q):  # forgets α: μ_t ∝ β_t alone
    m = np.exp(Q - Q.max((1, 2), keepdims=True))
    return m / m.sum((1, 2), keepdims=True)


def vis_forward_without_reward(P, R, mu0, Q):  # α_{t+1} = Σ α_t p(s'|s, a) with no exp(r)
    return vis_probability_space(P, np.zeros_like(R), mu0, Q)


def test_visitation_mutants_are_rejected():
    assert_rejected("L12_visitation_frequencies", vis_policy_rollout, "stochastic dynamics")
    assert_rejected("L12_visitation_frequencies", vis_backward_only, "H = 1")
    assert_rejected("L12_visitation_frequencies", vis_forward_without_reward, "H = 2")


def test_the_probability_space_version_fails_only_on_overflow():
    with np.errstate(all="ignore"):
        assert_rejected("L12_visitation_frequencies", vis_probability_space, "overflows")


# ---------------------------------------------------------------- L12_maxent_irl_gradient mutants

def grad_sum_over_demos(features, states, actions, mu):
    return features[states, actions].sum((0, 1)) - np.einsum("hsa,sak->k", mu, features)


def grad_wrong_sign(features, states, actions, mu):
    return -(features[states, actions].sum(1).mean(0) - np.einsum("hsa,sak->k", mu, features))


def grad_mean_over_time(features, states, actions, mu):
    return features[states, actions].mean((0, 1)) - np.einsum("hsa,sak->k", mu, features) / len(mu)


def grad_expected_last_step_only(features, states, actions, mu):
    return features[states, actions].sum(1).mean(0) - np.einsum("sa,sak->k", mu[-1], features)


def test_gradient_mutants_are_rejected():
    assert_rejected("L12_maxent_irl_gradient", grad_sum_over_demos, "N = 2")
    assert_rejected("L12_maxent_irl_gradient", grad_wrong_sign, "N = 1")
    assert_rejected("L12_maxent_irl_gradient", grad_mean_over_time, "summed over time")
    assert_rejected("L12_maxent_irl_gradient", grad_expected_last_step_only, "Σ_t Σ_{s,a} μ_t f")


# ---------------------------------------------------------------- L12_gail_discriminator_loss mutants

def disc_naive_log(expert_logits, policy_logits):  # log(sigmoid) underflows to -inf
    return -torch.log(torch.sigmoid(expert_logits)).mean() - torch.log(1 - torch.sigmoid(policy_logits)).mean()


def disc_swapped_labels(expert_logits, policy_logits):
    return torch.nn.functional.softplus(expert_logits).mean() + torch.nn.functional.softplus(-policy_logits).mean()


def disc_pooled_mean(expert_logits, policy_logits):  # one mean over both batches: wrong when their sizes differ
    return torch.cat([torch.nn.functional.softplus(-expert_logits), torch.nn.functional.softplus(policy_logits)]).mean() * 2


def disc_detached(expert_logits, policy_logits):
    with torch.no_grad():
        return torch.nn.functional.softplus(-expert_logits).mean() + torch.nn.functional.softplus(policy_logits).mean()


def test_discriminator_mutants_are_rejected():
    assert_rejected("L12_gail_discriminator_loss", disc_naive_log, "large logits")
    assert_rejected("L12_gail_discriminator_loss", disc_swapped_labels, "different sizes")
    assert_rejected("L12_gail_discriminator_loss", disc_pooled_mean, "different sizes")
    assert_rejected("L12_gail_discriminator_loss", disc_detached, "autograd")
