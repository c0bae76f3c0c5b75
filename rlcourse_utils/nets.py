"""Small policy networks: an MLP body and the three heads Lecture 1 compares.

- ``CategoricalPolicy``: logits over discrete actions (CartPole), acts greedily.
- ``MixturePolicy``: a mixture of K diagonal Gaussians (a mixture density network,
  Bishop 1994) returning ``(logits, means, log_stds)`` in the shapes of
  ``imitation.mog_log_likelihood``. The single diagonal Gaussian is its K = 1 case
  (``gaussian_policy``), so both are scored by the same likelihood and trained by
  the same loop.

Every policy standardises its input with a mean and std fixed from the training
data (``set_normalizer``): CartPole's pole angle is a hundredth of its velocities.
Lecture 1 §Why might we fail to fit the expert.
"""
from __future__ import annotations

import weakref

import numpy as np
import torch
from torch import nn


def mlp(in_dim: int, out_dim: int, hidden: tuple[int, ...] = (64, 64), activation: type[nn.Module] = nn.Tanh
        ) -> nn.Sequential:
    """A multilayer perceptron in_dim → hidden... → out_dim, ``activation`` between layers, linear output."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), activation()]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class _Normalized(nn.Module):
    """Base: standardises inputs, (obs - mean) / std, with statistics set from data."""

    def __init__(self, obs_dim: int):
        super().__init__()
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))

    def set_normalizer(self, obs: torch.Tensor) -> None:
        """Fix the input statistics from a (B, obs_dim) training set."""
        self.obs_mean.copy_(obs.mean(0))
        self.obs_std.copy_(obs.std(0).clamp_min(1e-6) if len(obs) > 1 else torch.ones_like(self.obs_std))

    def _normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.obs_mean) / self.obs_std


class CategoricalPolicy(_Normalized):
    """π_θ(a | o) = softmax(logits_θ(o)) over ``n_actions`` discrete actions."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: tuple[int, ...] = (64, 64)):
        super().__init__(obs_dim)
        self.net = mlp(obs_dim, n_actions, hidden)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """(B, obs_dim) observations → (B, n_actions) logits."""
        return self.net(self._normalize(obs))

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Greedy action argmax_a π_θ(a | o): (N, obs_dim) numpy observations → (N,) int64 actions."""
        with torch.no_grad():
            logits = self(torch.as_tensor(obs, dtype=torch.float32))  # (N, n_actions)
        return logits.argmax(-1).numpy()


class MixturePolicy(_Normalized):
    """π_θ(a | o) = Σ_k w_k(o) N(a; μ_k(o), diag σ_k²), a mixture density network.

    One MLP outputs, per component, a logit and an act_dim mean; each component's
    standard deviation σ_k is a learned parameter that does not depend on o (like
    the Gaussian policies of CS285's homework). With K = 1 this is the usual Gaussian policy.
    """

    def __init__(self, obs_dim: int, act_dim: int, n_components: int, hidden: tuple[int, ...] = (64, 64)):
        super().__init__(obs_dim)
        self.act_dim, self.n_components = act_dim, n_components
        self.net = mlp(obs_dim, n_components * (1 + act_dim), hidden)
        self.log_std = nn.Parameter(torch.full((n_components, act_dim), -1.0))  # (K, act_dim), σ_k = e^-1 at init

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, obs_dim) → logits (B, K), means (B, K, act_dim), log_stds (B, K, act_dim)."""
        K, d = self.n_components, self.act_dim
        out = self.net(self._normalize(obs))  # (B, K * (1 + d))
        logits, means = out.split([K, K * d], dim=-1)
        means = means.reshape(-1, K, d)  # (B, K, act_dim)
        log_stds = self.log_std.clamp(-5.0, 2.0).expand_as(means)  # (B, K, act_dim), the same for every o
        return logits, means, log_stds

    def sample(self, obs: np.ndarray, generator: torch.Generator) -> np.ndarray:
        """Draw a ~ π_θ(· | o): a component k ~ Categorical(w), then a ~ N(μ_k, σ_k²).

        Args:
            obs: (N, obs_dim) observations.
            generator: torch Generator, so that rollouts are seeded.

        Returns:
            (N, act_dim) sampled actions.
        """
        with torch.no_grad():
            logits, means, log_stds = self(torch.as_tensor(obs, dtype=torch.float32))
            k = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)  # (N, 1)
            idx = k[:, :, None].expand(-1, 1, self.act_dim)  # (N, 1, act_dim)
            mu = means.gather(1, idx)[:, 0]  # (N, act_dim)
            std = log_stds.gather(1, idx)[:, 0].exp()  # (N, act_dim)
            noise = torch.randn(mu.shape, generator=generator)  # (N, act_dim)
            return (mu + std * noise).numpy()

    def mode(self, obs: np.ndarray) -> np.ndarray:
        """The most likely component's mean, μ_k*(o) with k* = argmax_k w_k(o): (N, obs_dim) → (N, act_dim).

        For K = 1 this is the Gaussian's mean: the deterministic action a single
        Gaussian policy averages the expert's modes into.
        """
        with torch.no_grad():
            logits, means, _ = self(torch.as_tensor(obs, dtype=torch.float32))
            return means[torch.arange(len(means)), logits.argmax(-1)].numpy()  # (N, act_dim)


def gaussian_policy(obs_dim: int, act_dim: int, hidden: tuple[int, ...] = (64, 64)) -> MixturePolicy:
    """A single diagonal Gaussian π_θ(a | o) = N(μ_θ(o), diag σ²): the K = 1 mixture."""
    return MixturePolicy(obs_dim, act_dim, n_components=1, hidden=hidden)


_PARAMS: "weakref.WeakKeyDictionary[nn.Module, tuple[nn.Parameter, ...]]" = weakref.WeakKeyDictionary()


def _cached_parameters(module: nn.Module) -> tuple[nn.Parameter, ...]:
    """``tuple(module.parameters())``, walked once per module: the walk through ``named_modules`` costs more than
    the arithmetic of a Polyak update of a small network, and an agent updates its targets thousands of times."""
    params = _PARAMS.get(module)
    if params is None:
        params = _PARAMS[module] = tuple(module.parameters())
    return params


def polyak_average_(target: nn.Module, online: nn.Module, tau: float, polyak_fn) -> None:
    """Update a target network in place: φ' ← polyak_fn(φ', φ, τ) = τ φ + (1 - τ) φ'. Lecture 5 §target networks.

    All parameters travel as one flat float32 vector, so ``polyak_fn`` (a numpy function of two same-shape arrays,
    possibly a student's) is called once per update rather than once per tensor. ``target`` and ``online`` must
    have the same architecture, fixed after their first update (their parameter lists are cached).
    """
    target_params, online_params = _cached_parameters(target), _cached_parameters(online)
    with torch.no_grad():
        flat_target = torch.cat([p.reshape(-1) for p in target_params])  # (n_params,)
        flat_online = torch.cat([p.reshape(-1) for p in online_params])  # (n_params,)
        new = torch.as_tensor(np.asarray(polyak_fn(flat_target.numpy(), flat_online.numpy(), tau)),
                              dtype=flat_target.dtype)
        if new.shape != flat_target.shape:
            raise ValueError(f"polyak_fn returned shape {tuple(new.shape)}, expected {tuple(flat_target.shape)}")
        offset = 0
        for p in target_params:
            p.copy_(new[offset: offset + p.numel()].view_as(p))
            offset += p.numel()
