"""Lecture 16: the meta-learning math against independent oracles (nn.Sequential, explicit Hessians, finite
differences, Gaussian conditioning, grid integration), the checkers against known-wrong versions, and fast
smoke tests (with determinism) of the MAML, RL² and MAML-PG loops."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from mutants import assert_rejected
from rlcourse_utils import checks, meta
from rlcourse_utils.algos import maml, maml_rl, rl2

LEC16 = [ex for ex in checks.EXERCISES.values() if ex.lecture == "16"]


def test_three_exercises_are_registered_and_references_pass():
    assert {ex.id for ex in LEC16} == {"L16_mlp_apply", "L16_maml_inner_step", "L16_product_of_gaussians"}
    for ex in LEC16:
        assert checks.run_check(ex, ex.reference).passed
        hidden = ex.hidden()
        assert len(hidden) >= 3 and checks.run_cases(ex, ex.reference, hidden).passed
        assert checks.run_cases(ex, ex.reference, ex.hidden("another secret")).passed


# ---------------------------------------------------------------- math against oracles

def _sequential(theta: torch.Tensor, sizes) -> nn.Sequential:
    """nn.Linear layers holding θ's entries (Linear stores W transposed: weight = Wᵀ)."""
    layers, i = [], 0
    for l, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(m, n).double()
        with torch.no_grad():
            lin.weight.copy_(theta[i:i + m * n].reshape(m, n).T)
            lin.bias.copy_(theta[i + m * n:i + m * n + n])
        i += m * n + n
        layers += [lin] + ([nn.ReLU()] if l < len(sizes) - 2 else [])
    assert i == theta.numel() == meta.n_params(sizes)
    return nn.Sequential(*layers)


def test_mlp_apply_matches_nn_sequential_per_task():
    sizes = (3, 7, 5, 2)
    theta = torch.randn(4, meta.n_params(sizes), dtype=torch.float64)
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    out = meta.mlp_apply(theta, x, sizes)
    for b in range(4):
        assert torch.allclose(out[b], _sequential(theta[b], sizes)(x[b]))
    assert torch.allclose(meta.mlp_apply(theta[1], x[2], sizes), _sequential(theta[1], sizes)(x[2]))
    assert torch.allclose(meta.mlp_apply(theta[0], x, sizes)[3], _sequential(theta[0], sizes)(x[3]))


def _setup(seed=0, sizes=(1, 8, 8, 1), B=3):
    g = torch.Generator().manual_seed(seed)
    theta = meta.mlp_init(sizes, g, torch.float64)
    rng = np.random.default_rng(seed)
    amp, phase = meta.sinusoid_tasks(B, rng)
    x, y = (t.double() for t in meta.sinusoid_data(amp, phase, 20, rng))
    return theta, x[:, :10], y[:, :10], x[:, 10:], y[:, 10:], sizes


def _query_loss(theta, xs, ys, xq, yq, alpha, sizes, first_order=False):
    adapted = meta.maml_inner_step(theta, xs, ys, alpha, sizes, first_order)
    return ((meta.mlp_apply(adapted, xq, sizes) - yq) ** 2).mean(dim=(1, 2)).sum()


def test_maml_meta_gradient_equals_hessian_formula_and_finite_differences():
    theta, xs, ys, xq, yq, sizes = _setup()
    alpha = 0.05
    th = theta.clone().requires_grad_(True)
    auto = torch.autograd.grad(_query_loss(th, xs, ys, xq, yq, alpha, sizes), th)[0]
    fo = torch.autograd.grad(_query_loss(th, xs, ys, xq, yq, alpha, sizes, True), th)[0]
    want, hess_term = torch.zeros_like(theta), torch.zeros_like(theta)
    for b in range(3):  # per task, with an explicit Hessian matrix: (I − αH_b) ∇L_b^q(θ'_b)
        def support(t, b=b):
            return ((meta.mlp_apply(t, xs[b], sizes) - ys[b]) ** 2).mean()
        H = torch.autograd.functional.hessian(support, theta)
        g_s = torch.autograd.functional.jacobian(support, theta)
        adapted = theta - alpha * g_s
        g_q = torch.autograd.functional.jacobian(lambda t: ((meta.mlp_apply(t, xq[b], sizes) - yq[b]) ** 2).mean(), adapted)
        want += g_q - alpha * H @ g_q
        hess_term += -alpha * H @ g_q
    assert torch.allclose(auto, want, atol=1e-10)
    assert torch.allclose(auto - fo, hess_term, atol=1e-10)
    assert (auto - fo).norm() > 1e-3 * auto.norm()  # the term is not negligible here
    eps = 1e-6
    for i in np.random.default_rng(1).choice(theta.numel(), 6, replace=False):
        e = torch.zeros_like(theta)
        e[i] = eps
        fd = (_query_loss(theta + e, xs, ys, xq, yq, alpha, sizes) - _query_loss(theta - e, xs, ys, xq, yq, alpha, sizes)) / (2 * eps)
        assert abs(fd.item() - auto[i].item()) < 1e-6


def test_product_of_gaussians_is_the_exact_conjugate_posterior():
    """z ~ N(0, s0²), c_n = z + noise_n with noise_n ~ N(0, s_n²): condition the joint Gaussian (Schur complement)."""
    rng = np.random.default_rng(3)
    s0, s = 1.3, rng.uniform(0.3, 2.0, 6)
    c = rng.normal(size=6)
    cov = s0 ** 2 * np.ones((7, 7)) + np.diag(np.r_[0.0, s ** 2])  # joint covariance of (z, c_1..c_6)
    mean_z = cov[0, 1:] @ np.linalg.solve(cov[1:, 1:], c)
    var_z = cov[0, 0] - cov[0, 1:] @ np.linalg.solve(cov[1:, 1:], cov[1:, 0])
    mu = torch.tensor(np.r_[0.0, c])[:, None]
    var = torch.tensor(np.r_[s0 ** 2, s ** 2])[:, None]
    m, v = meta.product_of_gaussians(mu, var)  # the prior is one more factor
    assert math.isclose(m.item(), mean_z, rel_tol=1e-12) and math.isclose(v.item(), var_z, rel_tol=1e-12)
    grid = np.linspace(-8, 8, 200001)  # and by brute-force integration of prior × likelihood
    logp = -0.5 * grid ** 2 / s0 ** 2 - 0.5 * (((c[:, None] - grid) / s[:, None]) ** 2).sum(0)
    p = np.exp(logp - logp.max())
    p /= np.trapezoid(p, grid)
    gm = np.trapezoid(grid * p, grid)
    assert abs(gm - mean_z) < 1e-8 and abs(np.trapezoid((grid - gm) ** 2 * p, grid) - var_z) < 1e-8


# ---------------------------------------------------------------- checkers reject known-wrong versions

def _mlp_relu_out(theta, x, sizes):
    return torch.relu(meta.mlp_apply(theta, x, sizes))


def _mlp_col_major(theta, x, sizes):
    batched = theta.dim() == 2
    h = x if batched else x.unsqueeze(-3) if x.dim() == 2 else x
    th = theta if batched else theta.unsqueeze(0)
    i = 0
    for l, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = th[:, i:i + m * n].reshape(-1, n, m).transpose(1, 2)  # column-major: the wrong layout
        b = th[:, i + m * n:i + m * n + n].unsqueeze(1)
        i += m * n + n
        h = torch.matmul(h, W) + b
        if l < len(sizes) - 2:
            h = torch.relu(h)
    return h if batched or x.dim() == 3 else h.squeeze(0)


def _mlp_tanh(theta, x, sizes):
    batched = theta.dim() == 2
    h = x if batched else x.unsqueeze(-3) if x.dim() == 2 else x
    th = theta if batched else theta.unsqueeze(0)
    i = 0
    for l, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = th[:, i:i + m * n].reshape(-1, m, n)
        b = th[:, i + m * n:i + m * n + n].unsqueeze(1)
        i += m * n + n
        h = torch.matmul(h, W) + b
        if l < len(sizes) - 2:
            h = torch.tanh(h)
    return h if batched or x.dim() == 3 else h.squeeze(0)


def _mlp_unbatched_only(theta, x, sizes):
    if theta.dim() == 2:
        raise ValueError("one network only")
    return meta.mlp_apply(theta, x, sizes)


@pytest.mark.parametrize("mutant, fragment", [(_mlp_relu_out, "case 1/6"), (_mlp_col_major, "case 2/6"),
                                              (_mlp_tanh, "case 2/6"), (_mlp_unbatched_only, "case 5/6")])
def test_mlp_apply_checker_rejects(mutant, fragment):
    assert_rejected("L16_mlp_apply", mutant, fragment)


def _inner_first_order_always(theta, x, y, alpha, sizes, first_order=False):
    return meta.maml_inner_step(theta, x, y, alpha, sizes, True)


def _inner_ascent(theta, x, y, alpha, sizes, first_order=False):
    return meta.maml_inner_step(theta, x, y, -alpha, sizes, first_order)


def _inner_sum_over_k(theta, x, y, alpha, sizes, first_order=False):
    return meta.maml_inner_step(theta, x, y, alpha * x.shape[1], sizes, first_order)


def _inner_mean_over_tasks(theta, x, y, alpha, sizes, first_order=False):
    return meta.maml_inner_step(theta, x, y, alpha / x.shape[0], sizes, first_order)


def _inner_shared_gradient(theta, x, y, alpha, sizes, first_order=False):
    """One gradient of Σ_b L_b for the shared θ, applied to every task: the tasks' gradients summed."""
    th = theta if theta.requires_grad else theta.detach().requires_grad_(True)
    loss = ((meta.mlp_apply(th, x, sizes) - y) ** 2).mean(dim=(1, 2)).sum()
    g = torch.autograd.grad(loss, th, create_graph=not first_order)[0]
    out = th - alpha * g
    return out.expand(x.shape[0], -1) if out.dim() == 1 else out


def _inner_needs_grad(theta, x, y, alpha, sizes, first_order=False):
    B = x.shape[0]
    tb = theta.expand(B, -1) if theta.dim() == 1 else theta
    loss = ((meta.mlp_apply(tb, x, sizes) - y) ** 2).mean(dim=(1, 2)).sum()
    g = torch.autograd.grad(loss, tb, create_graph=not first_order)[0]
    return tb - alpha * g


@pytest.mark.parametrize("mutant, fragment", [(_inner_first_order_always, "autograd would train on the wrong gradient"),
                                              (_inner_ascent, "case 1/6"), (_inner_sum_over_k, "case 1/6"),
                                              (_inner_mean_over_tasks, "case 3/6"),
                                              (_inner_shared_gradient, "case 3/6"),
                                              (_inner_needs_grad, "case 6/6")])
def test_maml_inner_step_checker_rejects(mutant, fragment):
    assert_rejected("L16_maml_inner_step", mutant, fragment)


def _pog_plain_mean(mu, var):
    return mu.mean(-2), 1.0 / (1.0 / var).sum(-2)


def _pog_sum_var(mu, var):
    m, _ = meta.product_of_gaussians(mu, var)
    return m, var.sum(-2)


def _pog_last_axis(mu, var):
    return meta.product_of_gaussians(mu.transpose(-1, -2), var.transpose(-1, -2))


def _pog_mean_var(mu, var):
    m, _ = meta.product_of_gaussians(mu, var)
    return m, 1.0 / (1.0 / var).mean(-2)


@pytest.mark.parametrize("mutant, fragment", [(_pog_plain_mean, "case 3/6"), (_pog_sum_var, "case 2/6"),
                                              (_pog_last_axis, "has shape"), (_pog_mean_var, "case 2/6")])
def test_product_of_gaussians_checker_rejects(mutant, fragment):
    assert_rejected("L16_product_of_gaussians", mutant, fragment)


# ---------------------------------------------------------------- loops: smoke tests and determinism

def test_maml_sinusoid_runs_and_is_deterministic():
    cfg = maml.SinusoidConfig(n_iters=30, meta_batch=5, hidden=(10, 10))
    a, b = maml.train(cfg, seed=1), maml.train(cfg, seed=1)
    assert np.array_equal(a["loss"], b["loss"]) and torch.equal(a["theta"], b["theta"])
    fo = maml.train(maml.SinusoidConfig(n_iters=30, meta_batch=5, hidden=(10, 10), first_order=True), seed=1)
    assert not torch.equal(fo["theta"], a["theta"])  # the Hessian term changes the updates
    ev = maml.evaluate(a["theta"], cfg, n_tasks=20, max_steps=3)
    assert ev.shape == (4, 20) and np.isfinite(ev).all()
    assert ev[1].mean() < ev[0].mean()  # one step on the shots lowers the held-out error


def test_rl2_runs_and_is_deterministic():
    cfg = rl2.RL2Config(n_iters=5, batch_tasks=16, horizon=6, n_arms=3, hidden=8)
    a, b = rl2.train(cfg, seed=2), rl2.train(cfg, seed=2)
    assert np.array_equal(a["reward"], b["reward"])
    means = np.random.default_rng(0).uniform(size=(7, 3))
    reg = rl2.evaluate(a["policy"], means, 6, n_runs=2)
    assert reg.shape == (7, 2, 6) and (np.diff(reg, axis=2) >= -1e-12).all()
    assert rl2.baseline_regret(means, "thompson", 6, n_runs=2).shape == (7, 2, 6)


def test_rl2_regret_matches_a_hand_count():
    """A policy that always pulls arm 0 has regret t · (μ* − μ_0) after t pulls."""
    cfg = rl2.RL2Config(n_arms=2, hidden=4)
    policy = rl2.RL2Policy(2, 4)
    with torch.no_grad():
        for p in policy.parameters():
            p.zero_()
        policy.pi.bias.copy_(torch.tensor([30.0, -30.0]))
    reg = rl2.evaluate(policy, np.array([[0.3, 0.9]]), 5, n_runs=3)
    assert np.allclose(reg, np.tile(0.6 * np.arange(1, 6), (1, 3, 1)))
    assert cfg.n_arms == 2


def test_maml_rl_runs_and_is_deterministic():
    cfg = maml_rl.NavConfig(n_iters=3, meta_batch=4, n_traj=5, horizon=6, hidden=(8,))
    a, b = maml_rl.train(cfg, seed=3), maml_rl.train(cfg, seed=3)
    assert np.array_equal(a["post"], b["post"]) and torch.equal(a["theta"], b["theta"])
    p = maml_rl.pretrain(cfg, seed=3)
    ev = maml_rl.evaluate(p["theta"], np.array([[0.3, -0.2], [0.0, 0.4]]), cfg, n_steps=2, n_eval=10)
    assert ev.shape == (3, 2) and (ev < 0).all()


def test_maml_rl_log_probs_match_torch_distributions():
    cfg = maml_rl.NavConfig(n_traj=4, horizon=5, hidden=(6,))
    theta = torch.stack([maml_rl.init_theta(cfg, s) for s in range(3)])
    batch = maml_rl.sample(theta, torch.zeros(3, 2), cfg, torch.Generator().manual_seed(0))
    lp = maml_rl.log_probs(theta, batch, cfg)
    for b in range(3):
        mu = meta.mlp_apply(theta[b, :-2], batch["obs"][:, b], cfg.sizes)
        want = torch.distributions.Normal(mu, theta[b, -2:].exp()).log_prob(batch["actions"][:, b]).sum(-1)
        assert torch.allclose(lp[:, b], want, atol=1e-5)
