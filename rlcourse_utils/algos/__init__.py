"""Algorithm loops, one module each: ``train(cfg, seed=..., <math>_fn=reference)``.

Lecture 1: ``bc`` (behaviour cloning), ``dagger`` (DAgger), ``mixture`` (single
Gaussian versus mixture-of-Gaussians policies on multimodal demonstrations).
"""
from rlcourse_utils.algos import bc, dagger, mixture

__all__ = ["bc", "dagger", "mixture"]
