"""Lecture 6 math: KL against torch.distributions, Fisher-vector products against the explicit Fisher
matrix and the KL's Hessian, conjugate gradient against a direct solve, the natural step size, PPO's clip."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from rlcourse_utils import trust_region as tr

torch.set_num_threads(1)


def test_categorical_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    p, q = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g) * 3
    want = torch.distributions.kl_divergence(torch.distributions.Categorical(logits=p),
                                             torch.distributions.Categorical(logits=q))
    torch.testing.assert_close(tr.categorical_kl(p, q), want)
    assert torch.all(tr.categorical_kl(p, p).abs() < 1e-6)


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(1)
    mp, mq, lp, lq = (torch.randn(5, 3, generator=g) for _ in range(4))
    Normal, kl = torch.distributions.Normal, torch.distributions.kl_divergence
    torch.testing.assert_close(tr.gaussian_kl(mp, lp, mq, lq), kl(Normal(mp, lp.exp()), Normal(mq, lq.exp())).sum(-1))


def test_pinsker_total_variation_is_bounded_by_the_kl():
    rng = np.random.default_rng(2)
    for _ in range(500):
        p, q = (torch.as_tensor(rng.normal(0, rng.uniform(0.1, 4), 5)) for _ in range(2))
        tv = 0.5 * (p.softmax(-1) - q.softmax(-1)).abs().sum()
        assert tv <= math.sqrt(0.5 * tr.categorical_kl(p, q).item()) + 1e-12


def _tiny_policy_and_states():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4)).double()
    return net, torch.randn(50, 3, dtype=torch.float64)


def test_fisher_vector_product_equals_the_explicit_fisher_and_the_kl_hessian():
    net, obs = _tiny_policy_and_states()
    params = list(net.parameters())
    D = sum(p.numel() for p in params)
    with torch.no_grad():
        old = net(obs)
    kl = tr.categorical_kl(old, net(obs)).mean()
    # explicit Fisher: F = mean_s Σ_a π(a|s) ∇log π(a|s) ∇log π(a|s)ᵀ
    logp = torch.log_softmax(net(obs), -1)
    F = torch.zeros(D, D, dtype=torch.float64)
    for s in range(len(obs)):
        for a in range(4):
            score = tr.flat_grad(logp[s, a], params)
            F += logp[s, a].exp().item() * torch.outer(score, score) / len(obs)
    # the KL's Hessian, column by column with double backprop, equals F
    H = torch.stack([tr.fisher_vector_product(kl, params, e) for e in torch.eye(D, dtype=torch.float64)])
    torch.testing.assert_close(H, F, atol=1e-10, rtol=1e-8)
    v = torch.randn(D, dtype=torch.float64)
    torch.testing.assert_close(tr.fisher_vector_product(kl, params, v, damping=0.1), F @ v + 0.1 * v)


def test_conjugate_gradient_with_fisher_vector_products_matches_the_direct_solve():
    net, obs = _tiny_policy_and_states()
    params = list(net.parameters())
    with torch.no_grad():
        old = net(obs)
    kl = tr.categorical_kl(old, net(obs)).mean()
    D = sum(p.numel() for p in params)
    g = torch.randn(D, dtype=torch.float64)
    fvp = lambda v: tr.fisher_vector_product(kl, params, v, damping=0.1)  # noqa: E731
    F = torch.stack([fvp(e) for e in torch.eye(D, dtype=torch.float64)])
    x = tr.conjugate_gradient(fvp, g, n_iters=3 * D, residual_tol=1e-24)
    torch.testing.assert_close(x, torch.linalg.solve(F, g), atol=1e-8, rtol=1e-6)
    torch.testing.assert_close(tr.conjugate_gradient(F, g, 3 * D, 1e-24), x, atol=1e-8, rtol=1e-6)  # matrix form


@pytest.mark.parametrize("n", [1, 3, 8])
def test_conjugate_gradient_solves_n_by_n_in_n_iterations(n):
    rng = np.random.default_rng(n)
    M = torch.as_tensor(rng.normal(size=(n, n)))
    A, b = M @ M.T + torch.eye(n, dtype=torch.float64), torch.as_tensor(rng.normal(size=n))
    torch.testing.assert_close(tr.conjugate_gradient(A, b, n_iters=n), torch.linalg.solve(A, b))


def test_natural_step_lands_on_the_quadratic_kl_boundary():
    rng = np.random.default_rng(4)
    M = torch.as_tensor(rng.normal(size=(5, 5)))
    F, g = M @ M.T + 0.1 * torch.eye(5, dtype=torch.float64), torch.as_tensor(rng.normal(size=5))
    x = torch.linalg.solve(F, g)
    step = tr.natural_step_size(g, x, 0.02) * x
    assert math.isclose(0.5 * float(step @ F @ step), 0.02, rel_tol=1e-10)


def test_ppo_clip_loss_gradient_at_the_old_policy_is_the_policy_gradient():
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(20, 3, generator=g, requires_grad=True)
    actions, adv = torch.randint(0, 3, (20,), generator=g), torch.randn(20, generator=g)
    logp = torch.distributions.Categorical(logits=logits).log_prob(actions)
    (g_clip,) = torch.autograd.grad(tr.ppo_clip_loss(logp, logp.detach(), adv, 0.2), logits, retain_graph=True)
    (g_pg,) = torch.autograd.grad(-(logp * adv).mean(), logits)
    torch.testing.assert_close(g_clip, g_pg)


def test_ppo_clip_loss_is_flat_beyond_the_clip_in_the_advantages_direction():
    lp_old = torch.log(torch.full((2,), 0.5))
    lp_new = torch.log(torch.tensor([0.9, 0.1])).requires_grad_(True)  # r = 1.8 and 0.2
    tr.ppo_clip_loss(lp_new, lp_old, torch.tensor([1.0, -1.0]), 0.2).backward()
    assert torch.all(lp_new.grad == 0)  # r > 1+ε with Â > 0, r < 1-ε with Â < 0: no incentive to go further
    lp_new.grad = None
    tr.ppo_clip_loss(lp_new, lp_old, torch.tensor([-1.0, 1.0]), 0.2).backward()
    assert torch.all(lp_new.grad != 0)  # moving the wrong way is never clipped


def test_backtracking_line_search_takes_the_first_admissible_fraction():
    assert tr.backtracking_line_search(lambda f: (f, f**2), max_kl=0.1) == (0.25, 3)
    assert tr.backtracking_line_search(lambda f: (-f, 0.0), max_kl=0.1, max_backtracks=5) == (0.0, 5)
    assert tr.backtracking_line_search(lambda f: (f, 0.0), max_kl=0.1) == (1.0, 1)
