"""Variational inference: the ELBO, its gradients, the IWAE bound, and a model whose posterior is exact.

Latent variable model p(x) = ∫ p(x | z) p(z) dz. For any q(z),

    log p(x) = ELBO(q) + KL(q(z) ‖ p(z | x)),
    ELBO(q)  = E_q[log p(x, z)] + H(q) = E_q[log p(x | z)] - KL(q(z) ‖ p(z)),

so the ELBO is a lower bound with gap KL(q ‖ posterior). The linear-Gaussian model
(z ~ N(0, I_d), x | z ~ N(Wz + b, σ² I_D)) has every term in closed form, which lets
Lecture 10 check the identity, both gradient estimators and the IWAE bound exactly.

Lecture 10 §Variational inference (Kingma & Welling 2014, "Auto-Encoding Variational Bayes";
Burda, Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders").
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


# ---------------------------------------------------------------- data

def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 digits, shipped with the package (``data/digits.npz``; nothing is downloaded).

    Returns:
        images: (1797, 8, 8) uint8 grey levels 0..16.
        labels: (1797,) uint8 digits 0..9.
    """
    with resources.files("rlcourse_utils").joinpath("data/digits.npz").open("rb") as f:
        data = np.load(f)
        return data["images"], data["labels"]


# ---------------------------------------------------------------- exercises

def vae_elbo(x: torch.Tensor, logits: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Single-sample reparameterised ELBO of a VAE with a Bernoulli decoder and a N(0, I) prior.

    ELBO(x) ≈ log p_θ(x | z) - KL(q_φ(z | x) ‖ N(0, I)),   z = μ + σ ε (ε ~ N(0, I), drawn by the caller),
    log p_θ(x | z) = Σ_D [x log sigmoid(l) + (1 - x) log(1 - sigmoid(l))],  l = ``logits`` = decoder(z),
    KL = ½ Σ_d (μ² + σ² - 1 - 2 log σ).
    Use F.logsigmoid (log(1 - sigmoid(l)) = logsigmoid(-l)): log(sigmoid(l)) gives -inf·0 = nan at |l| ≈ 100.
    Lecture 10 §The variational autoencoder (Kingma & Welling 2014, eq. 10).

    Args:
        x: (..., D) binary data (floats 0/1).
        logits: (..., D) decoder logits at the reparameterised sample z.
        mean: (..., d) encoder means μ_φ(x).
        log_std: (..., d) encoder log standard deviations log σ_φ(x).

    Returns:
        (...) the ELBO estimate per example, differentiable in logits, mean and log_std.

    >>> round(vae_elbo(torch.ones(1), torch.zeros(1), torch.zeros(1), torch.zeros(1)).item(), 4)  # log ½ - 0
    -0.6931
    """
    log_lik = (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum(-1)  # (...)
    kl = 0.5 * (mean**2 + torch.exp(2 * log_std) - 1 - 2 * log_std).sum(-1)  # (...)
    return log_lik - kl


def score_function_surrogate(log_q: torch.Tensor, f: torch.Tensor, baseline: torch.Tensor) -> torch.Tensor:
    """Surrogate whose gradient is the score-function (REINFORCE) estimate of ∇_φ E_{z~q_φ}[f(z)].

    ∇_φ E_q[f(z)] ≈ (1/M) Σ_j ∇_φ log q_φ(z_j) (f(z_j) - b),   z_j ~ q_φ sampled (not differentiated),
    so the surrogate is (1/M) Σ_j log q_φ(z_j) · stop_gradient(f(z_j) - b). The samples' f and the
    baseline b carry no gradient (detach them): only log q_φ(z_j) is differentiated.
    Lecture 10 §Amortised inference: the policy-gradient route (Williams 1992; Paisley et al. 2012).

    Args:
        log_q: (M, ...) log q_φ(z_j) of M samples, differentiable in φ.
        f: (M, ...) f(z_j), the samples' "reward" (may carry a graph: detach it).
        baseline: (...) or scalar b subtracted from f, constant over the M samples.

    Returns:
        (...) the surrogate, averaged over the M samples.

    >>> score_function_surrogate(torch.tensor([1.0, 3.0]), torch.tensor([2.0, 4.0]), torch.tensor(1.0)).item()
    5.0
    """
    return (log_q * (f - baseline).detach()).mean(0)


def iwae_bound(log_p_xz: torch.Tensor, log_q_z: torch.Tensor) -> torch.Tensor:
    """The importance-weighted bound L_K = log (1/K) Σ_k p(x, z_k) / q(z_k | x), z_1..z_K ~ q.

    Computed in log space: logsumexp_k(log w_k) - log K with log w_k = log p(x, z_k) - log q(z_k | x),
    so that it neither underflows (log w ≈ -1000) nor overflows. K = 1 is the ELBO estimate;
    E[L_K] rises with K toward log p(x) (Burda, Grosse & Salakhutdinov 2016, Theorem 1).
    Lecture 10 §Tighter bounds: importance weighting.

    Args:
        log_p_xz: (K, ...) log p(x, z_k) of K samples from q.
        log_q_z: (K, ...) log q(z_k | x) of the same samples.

    Returns:
        (...) the bound per example, differentiable in both inputs.

    >>> round(iwae_bound(torch.tensor([0.0, 0.0]), torch.log(torch.tensor([0.5, 1.0]))).item(), 4)  # log(1.5)
    0.4055
    """
    log_w = log_p_xz - log_q_z  # (K, ...)
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


# ---------------------------------------------------------------- densities and KLs

def bernoulli_log_lik(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log Π_D Bernoulli(x; sigmoid(l)) = Σ_D [x logsigmoid(l) + (1 - x) logsigmoid(-l)]: (..., D) → (...).

    (The first term of ``vae_elbo``, which spells it out because students write it there.)
    """
    return (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum(-1)


def diag_gaussian_log_prob(z: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log N(z; μ, diag σ²) = Σ_d [-½((z - μ)/σ)² - log σ - ½ log 2π]: (..., d) broadcast → (...).

    >>> round(diag_gaussian_log_prob(torch.zeros(1), torch.zeros(1), torch.zeros(1)).item(), 4)
    -0.9189
    """
    return (-0.5 * ((z - mean) / log_std.exp()) ** 2 - log_std - 0.5 * LOG_2PI).sum(-1)


def gaussian_kl_full(mean_q: np.ndarray, cov_q: np.ndarray, mean_p: np.ndarray, cov_p: np.ndarray) -> float:
    """KL(N(μ_q, Σ_q) ‖ N(μ_p, Σ_p)) = ½[tr(Σ_p⁻¹Σ_q) + (μ_p - μ_q)ᵀΣ_p⁻¹(μ_p - μ_q) - d + log det Σ_p - log det Σ_q].

    Args: means (d,), covariances (d, d) positive definite. Returns the KL (a float ≥ 0).

    >>> gaussian_kl_full(np.zeros(1), np.eye(1), np.ones(1), np.eye(1))
    0.5
    """
    d = len(mean_q)
    diff = mean_p - mean_q  # (d,)
    trace = np.trace(np.linalg.solve(cov_p, cov_q))
    maha = diff @ np.linalg.solve(cov_p, diff)
    logdet = np.linalg.slogdet(cov_p)[1] - np.linalg.slogdet(cov_q)[1]
    return float(0.5 * (trace + maha - d + logdet))


# ---------------------------------------------------------------- the linear-Gaussian model

@dataclass(frozen=True)
class LinearGaussian:
    """z ~ N(0, I_d), x | z ~ N(W z + b, σ² I_D): the latent variable model whose posterior is Gaussian.

    Marginal p(x) = N(b, W Wᵀ + σ² I); posterior p(z | x) = N(S Wᵀ(x - b)/σ², S), S = (I + WᵀW/σ²)⁻¹.
    (Probabilistic PCA: Tipping & Bishop 1999.)
    """

    W: np.ndarray
    """(D, d) loading matrix."""
    b: np.ndarray
    """(D,) offset."""
    sigma: float
    """Observation noise standard deviation."""

    @staticmethod
    def random(D: int, d: int, sigma: float, seed: int) -> "LinearGaussian":
        rng = np.random.default_rng(seed)
        return LinearGaussian(rng.normal(size=(D, d)), rng.normal(size=D), sigma)

    def sample_x(self, rng: np.random.Generator) -> np.ndarray:
        """(D,) one draw of x from the model."""
        z = rng.normal(size=self.W.shape[1])
        return self.W @ z + self.b + self.sigma * rng.normal(size=len(self.b))

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x, z) = log N(x; Wz + b, σ²I) + log N(z; 0, I): x (D,), z (..., d) → (...)."""
        W, b = torch.as_tensor(self.W, dtype=z.dtype), torch.as_tensor(self.b, dtype=z.dtype)
        log_sigma = torch.full_like(b, math.log(self.sigma))
        zeros = torch.zeros(z.shape[-1], dtype=z.dtype)
        return diag_gaussian_log_prob(x, z @ W.T + b, log_sigma) + diag_gaussian_log_prob(z, zeros, zeros)

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """p(z | x) = N(m, S): x (D,) → m (d,), S (d, d), by Bayes' rule for Gaussians."""
        d = self.W.shape[1]
        S = np.linalg.inv(np.eye(d) + self.W.T @ self.W / self.sigma**2)  # (d, d)
        return S @ self.W.T @ (x - self.b) / self.sigma**2, S

    def expected_log_joint(self, x: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
        """E_{z~q}[log p(x, z)] in closed form for q = N(μ, diag σ²): x (D,), μ, log σ (d,) → scalar.

        E_q[log p(x | z)] = -D/2 log 2πσ² - (‖x - Wμ - b‖² + Σ_j σ_j² ‖W_{:,j}‖²) / (2σ²),
        E_q[log p(z)] = -d/2 log 2π - ½(‖μ‖² + Σ_j σ_j²). Differentiable in μ and log σ (the exact gradient).
        """
        W, b = torch.as_tensor(self.W, dtype=mean.dtype), torch.as_tensor(self.b, dtype=mean.dtype)
        D, d = W.shape
        var = torch.exp(2 * log_std)  # (d,)
        residual = x - W @ mean - b  # (D,)
        e_lik = -0.5 * D * math.log(2 * math.pi * self.sigma**2) - (residual @ residual + (var * (W**2).sum(0)).sum()) / (
            2 * self.sigma**2)
        e_prior = -0.5 * d * LOG_2PI - 0.5 * (mean @ mean + var.sum())
        return e_lik + e_prior

    def elbo(self, x: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
        """ELBO(q) = E_q[log p(x, z)] + H(q), H(N(μ, diag σ²)) = Σ_j (log σ_j + ½ log 2πe): closed form, scalar."""
        entropy = (log_std + 0.5 * (LOG_2PI + 1)).sum()
        return self.expected_log_joint(x, mean, log_std) + entropy
