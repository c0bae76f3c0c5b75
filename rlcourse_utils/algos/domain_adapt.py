"""Domain adaptation by feature alignment (Lecture 13): a digit classifier, the perception of a one-step
sorting policy, trained on one camera and deployed on another.

Source domain: scikit-learn's 8×8 digits (``variational.load_digits``), grey levels x ∈ [0, 1], with labels.
Target domain: the same kind of digits seen through a different camera, ``sensor``: x' = 0.3 + 0.5 √x + noise
(a brighter background, a compressed response curve), with NO labels for training. The policy is the
classifier's greedy action a = argmax h(f(x)) (which of 10 bins the robot drops the part in), reward 1 if
a is the digit: its expected reward is the classification accuracy.

Three arms, same network (encoder f: 64 → 64 → 16, head h: 16 → 10) and budget:
    source    cross-entropy on labelled source images only;
    adapted   the same + λ MMD²(f(x_S), f(x_T)) on unlabelled target images (Tzeng et al. 2014, "Deep domain
              confusion"; ``transfer.mmd2``): the encoder must make both cameras' features look alike;
    oracle    cross-entropy on the target images WITH their labels (what adaptation cannot beat).
All arms are scored on held-out target images. Lecture 13 §Domain adaptation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlcourse_utils import nets, transfer, variational

ARMS = ("source", "adapted", "oracle")


@dataclass(frozen=True)
class Config:
    n_source: int = 600
    """Labelled source images; the next ``n_target`` images (shuffled per seed) are the unlabelled target set,
    the remaining 597 the target test set."""
    n_target: int = 600
    iters: int = 300
    """Adam steps."""
    batch_size: int = 64
    """Source images (and as many target images) per step."""
    lr: float = 3e-3
    hidden: tuple[int, ...] = (64,)
    feature_dim: int = 16
    """Width of the feature layer f(x) that MMD aligns."""
    mmd_weight: float = 1.0
    """λ; too large and the features collapse to match (3.0 fails on some seeds)."""
    bandwidths: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    """Gaussian kernel widths σ of ``transfer.mmd2`` (summed), on the scale of the features."""
    noise: float = 0.05
    """Std of the target camera's pixel noise."""


def sensor(images: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """The target camera: (B, 64) grey levels in [0, 1] → 0.3 + 0.5 √x + noise (B, 64) float32."""
    return (0.3 + 0.5 * np.sqrt(images) + noise * rng.normal(size=images.shape)).astype(np.float32)


def data(cfg: Config, seed: int) -> dict[str, torch.Tensor]:
    """The seed's split: source images and labels, target images (train, unlabelled; test) and their labels."""
    images, labels = variational.load_digits()
    x = images.reshape(len(images), 64).astype(np.float32) / 16.0  # (1797, 64)
    rng = np.random.default_rng([seed, 1313])
    perm = rng.permutation(len(x))
    s, t, te = perm[:cfg.n_source], perm[cfg.n_source:cfg.n_source + cfg.n_target], perm[cfg.n_source + cfg.n_target:]
    y = labels.astype(np.int64)
    return {"xs": torch.as_tensor(x[s]), "ys": torch.as_tensor(y[s]),
            "xt": torch.as_tensor(sensor(x[t], rng, cfg.noise)), "yt": torch.as_tensor(y[t]),  # yt: oracle only
            "xte": torch.as_tensor(sensor(x[te], rng, cfg.noise)), "yte": torch.as_tensor(y[te]),
            "xs_te": torch.as_tensor(x[te])}  # the test digits through the source camera


@dataclass(frozen=True)
class Result:
    target_accuracy: float
    """Greedy policy's expected reward on the held-out target images (accuracy)."""
    source_accuracy: float
    """The same digits through the source camera."""
    feature_mmd: float
    """MMD²(f(source test images), f(target test images)) after training (``mmd_fn``): how different the features
    of the same digits look through the two cameras."""
    losses: np.ndarray
    """(iters,) classification loss per step."""


def train(cfg: Config = Config(), seed: int = 0, arm: str = "adapted",
          mmd_fn: Callable[..., torch.Tensor] = transfer.mmd2) -> Result:
    """Train one arm (``ARMS``) on the seed's split and score it on the target test images; ``mmd_fn`` is the
    alignment loss (``transfer.mmd2``)."""
    assert arm in ARMS
    d = data(cfg, seed)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    encoder = nn.Sequential(nets.mlp(64, cfg.feature_dim, cfg.hidden, nn.ReLU), nn.ReLU())
    head = nn.Linear(cfg.feature_dim, 10)
    opt = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=cfg.lr)
    x_lab, y_lab = (d["xt"], d["yt"]) if arm == "oracle" else (d["xs"], d["ys"])
    losses = np.zeros(cfg.iters)
    for i in range(cfg.iters):
        idx = torch.as_tensor(rng.integers(0, len(x_lab), size=cfg.batch_size))
        feats = encoder(x_lab[idx])  # (B, feature_dim)
        loss = F.cross_entropy(head(feats), y_lab[idx])
        losses[i] = loss.item()
        if arm == "adapted":  # unlabelled target images: only their features enter, never their labels
            jdx = torch.as_tensor(rng.integers(0, len(d["xt"]), size=cfg.batch_size))
            loss = loss + cfg.mmd_weight * mmd_fn(feats, encoder(d["xt"][jdx]), cfg.bandwidths)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        f_t, f_s = encoder(d["xte"]), encoder(d["xs_te"])
        acc_t = (head(f_t).argmax(1) == d["yte"]).float().mean().item()
        acc_s = (head(f_s).argmax(1) == d["yte"]).float().mean().item()
        gap = mmd_fn(f_s, f_t, cfg.bandwidths).item()
    return Result(acc_t, acc_s, gap, losses)
