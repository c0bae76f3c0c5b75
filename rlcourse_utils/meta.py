"""Meta-learning math (Lecture 16): batched functional MLPs, MAML's inner step, PEARL's context posterior.

``mlp_apply``: one MLP per task from a flat parameter vector per task, so a whole meta-batch of adapted
    networks runs as batched matrix products (the vectorisation MAML needs on a CPU).
``maml_inner_step``: θ'_i = θ − α ∇_θ L_i^train(θ), kept differentiable so the meta-gradient can flow
    through it (Finn, Abbeel & Levine 2017, "Model-agnostic meta-learning for fast adaptation of deep
    networks"), or cut (first-order MAML).
``product_of_gaussians``: PEARL's posterior over the task variable, q(z | c_{1:N}) ∝ Π_n N(z; μ_n, σ_n²)
    (Rakelly et al. 2019, "Efficient off-policy meta-reinforcement learning via probabilistic context
    variables").
``sinusoid_tasks`` / ``sinusoid_data``: Finn et al.'s regression tasks y = A sin(x − φ).

The exercise references (``mlp_apply``, ``maml_inner_step``, ``product_of_gaussians``) use only ``math``,
``np``, ``torch`` and ``F``, because ``rlcourse solutions`` pastes their source into the notebook.
``maml_inner_step`` calls ``mlp_apply`` by name: in a notebook that is the ``mlp_apply`` of the exercise above it.
"""
from __future__ import annotations

import math

import numpy as np
import torch


def n_params(sizes: tuple[int, ...]) -> int:
    """Number of entries of the flat vector holding an MLP with layer widths ``sizes``: Σ_l (m_l n_l + n_l)."""
    return sum(m * n + n for m, n in zip(sizes[:-1], sizes[1:]))


def mlp_init(sizes: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A flat parameter vector (P,) in ``mlp_apply``'s layout, initialised like ``torch.nn.Linear``
    (weights and biases U[−1/√m, 1/√m] for a layer with m inputs)."""
    parts = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(m)
        parts.append((torch.rand(m * n + n, generator=generator, dtype=dtype) * 2 - 1) * bound)
    return torch.cat(parts)


def mlp_apply(theta: torch.Tensor, x: torch.Tensor, sizes: tuple[int, ...]) -> torch.Tensor:
    """A ReLU MLP whose parameters are a flat vector, one vector per task: f_θ(x).

    Layout of θ: for each layer l = 0, 1, ..., with m = sizes[l] inputs and n = sizes[l + 1] outputs,
    first W_l (m·n entries, row-major, shape (m, n)), then b_l (n entries). The layers compute
    h ← h W_l + b_l, with a ReLU after every layer except the last (a linear output).
    A batch of tasks is a leading axis B on θ and x: task b's inputs go through task b's network,
    as batched matrix products, so a meta-batch of adapted networks costs one forward pass.
    Lecture 16 §MAML (Finn et al. 2017 use sizes (1, 40, 40, 1) for the sinusoid).

    Args:
        theta: (P,) one network, or (B, P) one per task, with P = Σ_l (sizes[l]·sizes[l+1] + sizes[l+1]).
        x: (K, sizes[0]) inputs for the one network, or (B, K, sizes[0]) inputs per task.
            A (P,) θ with a (B, K, d) x applies the same network to every task.
        sizes: layer widths (d_in, hidden..., d_out), at least two entries (two = a linear model).

    Returns:
        (K, d_out) or (B, K, d_out) outputs, differentiable with respect to ``theta`` and ``x``.

    >>> theta = torch.tensor([2.0, 1.0])  # sizes (1, 1): W = 2, b = 1
    >>> mlp_apply(theta, torch.tensor([[3.0]]), (1, 1)).tolist()
    [[7.0]]
    """
    batched = theta.dim() == 2
    h = x if batched else x.unsqueeze(-3) if x.dim() == 2 else x  # (B, K, d) or (1, K, d)
    th = theta if batched else theta.unsqueeze(0)  # (B, P) or (1, P)
    i, n_layers = 0, len(sizes) - 1
    for l, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = th[:, i:i + m * n].reshape(-1, m, n)  # (B, m, n)
        b = th[:, i + m * n:i + m * n + n].unsqueeze(1)  # (B, 1, n)
        i += m * n + n
        h = torch.matmul(h, W) + b  # (B, K, n)
        if l < n_layers - 1:
            h = torch.relu(h)
    return h if batched or x.dim() == 3 else h.squeeze(0)  # (B, K, d_out) or (K, d_out)


def maml_inner_step(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, alpha: float, sizes: tuple[int, ...],
                    first_order: bool = False) -> torch.Tensor:
    """One step of MAML's inner loop on every task of a meta-batch: θ'_b = θ_b − α ∇_θ L_b(θ_b).

    L_b(θ) = (1 / (K d_out)) Σ_k ‖f_θ(x_bk) − y_bk‖², the mean squared error of task b on its K support
    points, with f = ``mlp_apply`` (the exercise above). Each task gets its own gradient: differentiate
    Σ_b L_b(θ_b) with respect to the (B, P) stack of per-task parameters (the tasks do not interact).
    The step stays in the autograd graph (``create_graph=True``), so a loss at θ' can be differentiated
    back to θ: the meta-gradient (I − α ∇²L_b(θ)) ∇L_b^test(θ'_b) with its Hessian term. With
    ``first_order`` the inner gradient is treated as a constant (first-order MAML): dθ'/dθ = I.
    Lecture 16 §MAML (Finn et al. 2017, eq. 1 and §2.2's first-order approximation).

    Args:
        theta: (P,) shared initial parameters (the same start for every task), or (B, P) per task
            (e.g. after earlier steps).
        x: (B, K, sizes[0]) support inputs of each task.
        y: (B, K, sizes[-1]) support targets.
        alpha: inner learning rate α.
        sizes: the MLP's layer widths, as in ``mlp_apply``.
        first_order: drop the second-order term (do not differentiate through the inner gradient).

    Returns:
        (B, P) adapted parameters θ'_b, differentiable with respect to ``theta``.
    """
    B = x.shape[0]
    theta_b = theta.expand(B, -1) if theta.dim() == 1 else theta  # (B, P), still in theta's graph
    if not theta_b.requires_grad:  # a constant start: differentiate with respect to a fresh leaf
        theta_b = theta_b.detach().requires_grad_(True)
    loss = ((mlp_apply(theta_b, x, sizes) - y) ** 2).mean(dim=(1, 2)).sum()  # Σ_b L_b
    (grad,) = torch.autograd.grad(loss, theta_b, create_graph=not first_order)  # (B, P)
    if first_order:
        grad = grad.detach()
    return theta_b - alpha * grad


def product_of_gaussians(mu: torch.Tensor, var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """PEARL's context posterior: the normalised product of N diagonal Gaussian factors over z.

    Π_n N(z; μ_n, σ_n²) ∝ N(z; μ, σ²) with   1/σ² = Σ_n 1/σ_n²,   μ = σ² Σ_n μ_n / σ_n²
    (precisions add; the mean is the precision-weighted mean). Each factor Ψ(z | c_n) comes from one
    transition c_n of the context; include the prior N(0, I) as one more factor to get the exact
    posterior of a linear-Gaussian model. Lecture 16 §Inference-based meta-RL (Rakelly et al. 2019, §4.1).

    Args:
        mu: (..., N, d) factor means (N factors over a d-dimensional z; extra leading axes are tasks).
        var: (..., N, d) factor variances σ_n², positive.

    Returns:
        (mean (..., d), variance (..., d)), differentiable with respect to both inputs.

    >>> m, v = product_of_gaussians(torch.tensor([[0.0], [2.0]]), torch.tensor([[1.0], [1.0]]))
    >>> m.tolist(), v.tolist()
    ([1.0], [0.5])
    """
    precision = (1.0 / var).sum(dim=-2)  # (..., d)
    post_var = 1.0 / precision
    post_mu = post_var * (mu / var).sum(dim=-2)  # (..., d)
    return post_mu, post_var


# ---------------------------------------------------------------- the sinusoid task family

AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, math.pi)
X_RANGE = (-5.0, 5.0)


def sinusoid_tasks(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n tasks of Finn et al.'s regression family: amplitude A ~ U[0.1, 5], phase φ ~ U[0, π]; (n,), (n,)."""
    return rng.uniform(*AMPLITUDE, size=n), rng.uniform(*PHASE, size=n)


def sinusoid_data(amplitude: np.ndarray, phase: np.ndarray, k: int, rng: np.random.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """k points per task, x ~ U[−5, 5], y = A sin(x − φ): float32 tensors (B, k, 1), (B, k, 1)."""
    x = rng.uniform(*X_RANGE, size=(len(amplitude), k, 1))
    y = amplitude[:, None, None] * np.sin(x - phase[:, None, None])
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
