"""Lecture 6 checkers: the reference passes every case; known-wrong versions fail with a useful message."""
import numpy as np
import torch
import torch.nn.functional as F
import pytest

from rlcourse_utils import checks, trust_region
from mutants import assert_rejected


LEC06 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "06"]


def test_four_exercises_are_registered():
    assert {ex.id for ex in LEC06} == {"L06_categorical_kl", "L06_gaussian_kl", "L06_conjugate_gradient",
                                       "L06_ppo_clip_loss"}


# ---------------------------------------------------------------- known-wrong versions

def ckl_reversed(logits_p, logits_q):
    return trust_region.categorical_kl(logits_q, logits_p)


def ckl_logits_as_log_probs(logits_p, logits_q):  # forgets to normalise
    return (logits_p.exp() * (logits_p - logits_q)).sum(-1)


def ckl_log_of_softmax(logits_p, logits_q):  # underflows: log(0) = -inf
    p, q = torch.softmax(logits_p, -1), torch.softmax(logits_q, -1)
    return (p * (torch.log(p) - torch.log(q))).sum(-1)


def ckl_mean_over_actions(logits_p, logits_q):
    lp, lq = F.log_softmax(logits_p, -1), F.log_softmax(logits_q, -1)
    return (lp.exp() * (lp - lq)).mean(-1)


def ckl_detached_q(logits_p, logits_q):  # right value, no gradient into q
    return trust_region.categorical_kl(logits_p, logits_q.detach())


def gkl_std_not_log(mean_p, log_std_p, mean_q, log_std_q):  # treats log_std as σ
    vp, vq = log_std_p ** 2, log_std_q ** 2
    return (torch.log(log_std_q.abs() / log_std_p.abs()) + (vp + (mean_p - mean_q) ** 2) / (2 * vq) - 0.5).sum(-1)


def gkl_reversed(mean_p, log_std_p, mean_q, log_std_q):
    return trust_region.gaussian_kl(mean_q, log_std_q, mean_p, log_std_p)


def gkl_mean_over_dims(mean_p, log_std_p, mean_q, log_std_q):
    return trust_region.gaussian_kl(mean_p, log_std_p, mean_q, log_std_q) / mean_p.shape[-1]


def gkl_std_not_var(mean_p, log_std_p, mean_q, log_std_q):  # σ where σ² belongs
    sp, sq = log_std_p.exp(), log_std_q.exp()
    return (log_std_q - log_std_p + (sp + (mean_p - mean_q) ** 2) / (2 * sq) - 0.5).sum(-1)


def cg_exact_solve(A, b, n_iters=10, residual_tol=1e-10):
    return torch.linalg.solve(A, b)


def cg_no_early_stop(A, b, n_iters=10, residual_tol=1e-10):
    x, r = torch.zeros_like(b), b.clone()
    p, rr = r.clone(), r @ r
    for _ in range(n_iters):
        Ap = A @ p
        alpha = rr / (p @ Ap)
        x, r = x + alpha * p, r - alpha * Ap
        rr_new = r @ r
        p, rr = r + rr_new / rr * p, rr_new
    return x


def cg_steepest_descent(A, b, n_iters=10, residual_tol=1e-10):  # p = r: no conjugation
    x, r = torch.zeros_like(b), b.clone()
    for _ in range(n_iters):
        if r @ r < residual_tol:
            break
        alpha = (r @ r) / (r @ (A @ r))
        x, r = x + alpha * r, r - alpha * (A @ r)
    return x


def cg_beta_wrong(A, b, n_iters=10, residual_tol=1e-10):  # β = rᵀr / r_newᵀr_new (inverted)
    x, r = torch.zeros_like(b), b.clone()
    p, rr = r.clone(), r @ r
    for _ in range(n_iters):
        if rr < residual_tol:
            break
        Ap = A @ p
        alpha = rr / (p @ Ap)
        x, r = x + alpha * p, r - alpha * Ap
        rr_new = r @ r
        p, rr = r + rr / rr_new * p, rr_new
    return x


def cg_ignores_a_callable(A, b, n_iters=10, residual_tol=1e-10):  # right for matrices, crashes in TRPO
    x, r = torch.zeros_like(b), b.clone()
    p, rr = r.clone(), r @ r
    for _ in range(n_iters):
        if rr < residual_tol:
            break
        Ap = A @ p
        alpha = rr / (p @ Ap)
        x, r = x + alpha * p, r - alpha * Ap
        rr_new = r @ r
        p, rr = r + rr_new / rr * p, rr_new
    return x


def ppo_no_min(logp_new, logp_old, advantages, clip_eps):  # clipped term only
    r = torch.exp(logp_new - logp_old.detach())
    return -(torch.clamp(r, 1 - clip_eps, 1 + clip_eps) * advantages.detach()).mean()


def ppo_max(logp_new, logp_old, advantages, clip_eps):
    r = torch.exp(logp_new - logp_old.detach())
    a = advantages.detach()
    return -torch.max(r * a, torch.clamp(r, 1 - clip_eps, 1 + clip_eps) * a).mean()


def ppo_old_not_detached(logp_new, logp_old, advantages, clip_eps):
    r = torch.exp(logp_new - logp_old)
    a = advantages.detach()
    return -torch.min(r * a, torch.clamp(r, 1 - clip_eps, 1 + clip_eps) * a).mean()


def ppo_plus_sign(logp_new, logp_old, advantages, clip_eps):  # the objective, not the loss
    return -trust_region.ppo_clip_loss(logp_new, logp_old, advantages, clip_eps)


def ppo_ratio_of_logs(logp_new, logp_old, advantages, clip_eps):  # log π'/log π is not a probability ratio
    r = logp_new / logp_old.detach()
    a = advantages.detach()
    return -torch.min(r * a, torch.clamp(r, 1 - clip_eps, 1 + clip_eps) * a).mean()


MUTANTS = [
    ("L06_categorical_kl", ckl_reversed, "0.1438"),
    ("L06_categorical_kl", ckl_logits_as_log_probs, "the same distribution"),
    ("L06_categorical_kl", ckl_log_of_softmax, "log_softmax"),
    ("L06_categorical_kl", ckl_mean_over_actions, "0.1438"),
    ("L06_categorical_kl", ckl_detached_q, "cut off from autograd"),
    ("L06_gaussian_kl", gkl_std_not_log, "N(0, 1)"),
    ("L06_gaussian_kl", gkl_reversed, "log_std is log σ"),
    ("L06_gaussian_kl", gkl_mean_over_dims, "summed over act_dim"),
    ("L06_gaussian_kl", gkl_std_not_var, "log_std is log σ"),
    ("L06_conjugate_gradient", cg_exact_solve, "steepest descent"),
    ("L06_conjugate_gradient", cg_no_early_stop, "no 0/0"),
    ("L06_conjugate_gradient", cg_steepest_descent, "2 iterations"),
    ("L06_conjugate_gradient", cg_beta_wrong, "2 × 2 system"),
    ("L06_ppo_clip_loss", ppo_no_min, "r = 1.6"),
    ("L06_ppo_clip_loss", ppo_max, "r = 1.6"),
    ("L06_ppo_clip_loss", ppo_old_not_detached, "autograd would train on the wrong gradient"),
    ("L06_ppo_clip_loss", ppo_plus_sign, "r = 1.6"),
    ("L06_ppo_clip_loss", ppo_ratio_of_logs, "r = 1.6"),
]


@pytest.mark.parametrize("exercise_id, mutant, fragment", MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_known_wrong_versions_fail_with_a_useful_message(exercise_id, mutant, fragment):
    assert_rejected(exercise_id, mutant, fragment)


def test_conjugate_gradient_that_ignores_a_callable_a_fails_public_and_hidden_cases():
    # TRPO passes the Fisher-vector product as a function: `A @ p` passes every matrix case and crashes there
    assert_rejected("L06_conjugate_gradient", cg_ignores_a_callable, "A given as a function")


def test_reference_conjugate_gradient_agrees_on_a_matrix_and_on_its_function():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    A = torch.as_tensor(q @ np.diag(np.geomspace(1, 50, 6)) @ q.T)
    b = torch.as_tensor(rng.normal(size=6))
    for n in (1, 3, 6):
        torch.testing.assert_close(trust_region.conjugate_gradient(lambda p: A @ p, b, n),
                                   trust_region.conjugate_gradient(A, b, n))


def test_a_cg_iterate_satisfies_the_galerkin_condition_that_trpo_step_size_relies_on():
    # x_kᵀ A x_k = bᵀ x_k for every CG iterate, so ½ α² xᵀAx = δ exactly with α = √(2δ / bᵀx); the steepest-descent
    # and inverted-β mutants break it (the TRPO cell's assert on ½Δθᵀ(F + cI)Δθ = δ catches them)
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    A = torch.as_tensor(q @ np.diag(np.geomspace(1, 100, 8)) @ q.T)
    b = torch.as_tensor(rng.normal(size=8))
    for k in (1, 3, 5):
        x = trust_region.conjugate_gradient(A, b, k)
        assert abs(float(x @ A @ x) / float(b @ x) - 1) < 1e-10
    for wrong in (cg_steepest_descent, cg_beta_wrong):
        x = wrong(A, b, 5)
        assert abs(float(x @ A @ x) / float(b @ x) - 1) > 1e-3, wrong.__name__


