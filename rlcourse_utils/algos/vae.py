"""A variational autoencoder on the 8×8 digits: amortised inference trained with the reparameterised ELBO.

Encoder q_φ(z | x) = N(μ_φ(x), diag σ_φ(x)²), decoder p_θ(x | z) = Π_D Bernoulli(sigmoid(l_θ(z))),
prior p(z) = N(0, I). Each step draws ε ~ N(0, I), sets z = μ + σ ε and ascends
β-weighted ELBO = log p_θ(x | z) - β KL(q_φ(z | x) ‖ p(z)) in θ and φ together (β = 1 is the ELBO;
``elbo_fn`` computes it, and a β ≠ 1 run is scored by the true ELBO, β = 1).

Lecture 10 §The variational autoencoder (Kingma & Welling 2014).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from rlcourse_utils import nets, trust_region, variational

ElboFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
IwaeFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Config:
    """Settings of the digits VAE."""

    latent_dim: int = 4
    """d, the size of z; 2 (plottable) to 16."""
    hidden: tuple[int, ...] = (128,)
    """Hidden widths of the encoder and of the decoder MLPs."""
    epochs: int = 60
    """Passes over the training images; 30 to 300."""
    batch_size: int = 64
    """Images per step; 32 to 256."""
    lr: float = 2e-3
    """Adam learning rate; 1e-3 to 3e-3."""
    beta: float = 1.0
    """KL weight β of the training objective; 1 is the ELBO, β > 1 squeezes the code (β-VAE), 0 an autoencoder."""
    n_test: int = 297
    """Held-out images (never trained on); the other 1500 train."""


class VAE(nn.Module):
    """Encoder x (..., 64) → (μ, log σ) (..., d) each; decoder z (..., d) → Bernoulli logits (..., 64)."""

    def __init__(self, x_dim: int, latent_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.encoder = nets.mlp(x_dim, 2 * latent_dim, hidden, nn.ReLU)
        self.decoder = nets.mlp(latent_dim, x_dim, hidden, nn.ReLU)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.encoder(x).chunk(2, dim=-1)  # (..., d) each
        return mean, log_std.clamp(-6.0, 2.0)

    def elbo(self, x: torch.Tensor, eps: torch.Tensor, elbo_fn: ElboFn = variational.vae_elbo) -> torch.Tensor:
        """Single-sample ELBO per image at noise ε: x (B, 64), ε (B, d) → (B,)."""
        mean, log_std = self.encode(x)
        z = mean + log_std.exp() * eps  # (B, d) CRUCIAL: the reparameterisation, gradients flow into μ, σ
        return elbo_fn(x, self.decoder(z), mean, log_std)

    def kl(self, x: torch.Tensor) -> torch.Tensor:
        """(B,) KL(q_φ(z | x) ‖ N(0, I)) in closed form (Lecture 6's diagonal-Gaussian KL)."""
        mean, log_std = self.encode(x)
        zeros = torch.zeros_like(mean)
        return trust_region.gaussian_kl(mean, log_std, zeros, zeros)

    def iwae(self, x: torch.Tensor, k: int, generator: torch.Generator,
             iwae_fn: IwaeFn = variational.iwae_bound) -> torch.Tensor:
        """The K-sample importance-weighted bound per image: x (B, 64) → (B,) (Burda et al. 2016)."""
        mean, log_std = self.encode(x)  # (B, d)
        z = mean + log_std.exp() * torch.randn((k, *mean.shape), generator=generator)  # (K, B, d)
        logits = self.decoder(z)  # (K, B, 64)
        zeros = torch.zeros_like(mean)
        log_p = variational.bernoulli_log_lik(x, logits) + variational.diag_gaussian_log_prob(z, zeros, zeros)  # (K, B) log p(x, z_k)
        return iwae_fn(log_p, variational.diag_gaussian_log_prob(z, mean, log_std))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> np.ndarray:
        """(n, 8, 8) pixel probabilities sigmoid(l_θ(z)) of z ~ N(0, I)."""
        z = torch.randn((n, self.decoder[0].in_features), generator=generator)
        return torch.sigmoid(self.decoder(z)).reshape(n, 8, 8).numpy()

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> np.ndarray:
        """(B, 8, 8) pixel probabilities decoded from the encoder's mean μ_φ(x)."""
        return torch.sigmoid(self.decoder(self.encode(x)[0])).reshape(-1, 8, 8).numpy()


@dataclass(frozen=True)
class Result:
    model: VAE
    train_elbo: np.ndarray
    """(epochs + 1,) mean ELBO (nats per image) on the training images before training and after each epoch."""
    test_elbo: np.ndarray
    """(epochs + 1,) the same on the held-out images."""
    x_train: torch.Tensor
    """(1500, 64) binarised training images."""
    x_test: torch.Tensor
    """(297, 64) binarised held-out images."""


def binarized_digits(n_test: int = 297) -> tuple[torch.Tensor, torch.Tensor]:
    """The shipped digits as (N, 64) float 0/1 images (grey level ≥ 8 of 16 is ink), split by a fixed
    permutation (seed 0, independent of the training seed): (1797 - n_test, 64) train, (n_test, 64) test."""
    images, _ = variational.load_digits()
    x = torch.as_tensor((images.reshape(len(images), 64) >= 8).astype(np.float32))  # (1797, 64)
    order = torch.as_tensor(np.random.default_rng(0).permutation(len(x)))
    return x[order[n_test:]], x[order[:n_test]]


@torch.no_grad()
def mean_elbo(model: VAE, x: torch.Tensor, seed: int, elbo_fn: ElboFn = variational.vae_elbo) -> float:
    """Mean single-sample ELBO over the images x (B, 64), with noise seeded by ``seed``."""
    eps = torch.randn((len(x), model.decoder[0].in_features), generator=torch.Generator().manual_seed(seed))
    return float(model.elbo(x, eps, elbo_fn).mean())


def train(cfg: Config, seed: int = 0, elbo_fn: ElboFn = variational.vae_elbo) -> Result:
    """Fit the VAE by minibatch Adam on -(log p(x|z) - β KL), z = μ + σε, one ε per image per step.

    Args:
        cfg: settings.
        seed: seeds the initialisation, the minibatch order and the noise (not the train/test split).
        elbo_fn: (x, logits, mean, log_std) → (B,) ELBO, the reference ``variational.vae_elbo`` by default.

    Returns:
        A Result with the model and its ELBO curves on training and held-out images.
    """
    x_train, x_test = binarized_digits(cfg.n_test)
    torch.manual_seed(seed)
    model = VAE(x_train.shape[1], cfg.latent_dim, cfg.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    generator = torch.Generator().manual_seed(seed)
    train_curve, test_curve = [mean_elbo(model, x_train, 1, elbo_fn)], [mean_elbo(model, x_test, 2, elbo_fn)]
    for epoch in range(cfg.epochs):
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(x_train), cfg.batch_size):
            x = x_train[order[start:start + cfg.batch_size]]  # (B, 64)
            eps = torch.randn((len(x), cfg.latent_dim), generator=generator)  # (B, d)
            objective = model.elbo(x, eps, elbo_fn)  # (B,) log p(x|z) - KL
            if cfg.beta != 1.0:  # β-weighted: log p(x|z) - β KL = ELBO + (1 - β) KL
                objective = objective + (1.0 - cfg.beta) * model.kl(x)
            loss = -objective.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        train_curve.append(mean_elbo(model, x_train, 1, elbo_fn))
        test_curve.append(mean_elbo(model, x_test, 2, elbo_fn))
    return Result(model, np.array(train_curve), np.array(test_curve), x_train, x_test)


def independent_pixels_log_lik(x_train: torch.Tensor, x_test: torch.Tensor) -> float:
    """Exact mean held-out log-likelihood of the best model WITHOUT a latent variable and correlations:
    independent Bernoulli pixels p_j = (count_j + 1) / (N + 2) (Laplace smoothing). A VAE's ELBO above it
    shows the latent code captures what pixels share."""
    p = (x_train.sum(0) + 1) / (len(x_train) + 2)  # (64,)
    return float((x_test * p.log() + (1 - x_test) * (1 - p).log()).sum(-1).mean())
