"""rlcourse_utils: the helper package of the rlcourse deep RL course.

Use it as ``import rlcourse_utils as rcu`` and call with the module visible:
``rcu.imitation.bc_loss``, ``rcu.algos.dagger.train``, ``rcu.checks.check``.
"""
from __future__ import annotations

import importlib
import sys

_REQUIRED = {"numpy": "numpy", "torch": "torch", "gymnasium": "gymnasium", "matplotlib": "matplotlib"}


def _missing_dependencies() -> list[str]:
    missing = []
    for module, package in _REQUIRED.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    return missing


_missing = _missing_dependencies()
if _missing:
    raise ImportError(
        f"rlcourse_utils needs {', '.join(_missing)}, which this Python cannot import "
        f"({sys.executable}). Set the course up with `python3 course.py lab` from the "
        "repository root, then pick the kernel 'Python 3.11 (rlcourse)' in Jupyter."
    )

from rlcourse_utils import (  # noqa: E402
    advantages,
    algos,
    checks,
    control,
    dp,
    envs,
    imitation,
    irl,
    model_based,
    model_policy,
    planning,
    plotting,
    policy_gradient,
    q_learning,
    replay,
    returns,
    rollouts,
    tabular_pg,
    trust_region,
    variational,
)
from rlcourse_utils import soft_rl  # noqa: E402
from rlcourse_utils import exploration  # noqa: E402
from rlcourse_utils import vtrace  # noqa: E402
from rlcourse_utils import transfer  # noqa: E402
from rlcourse_utils import challenges, info_theory  # noqa: E402
from rlcourse_utils import generalization  # noqa: E402
from rlcourse_utils import meta  # noqa: E402

__all__ = ["advantages", "algos", "checks", "control", "dp", "envs", "imitation", "irl", "model_based", "model_policy",
           "planning", "plotting", "policy_gradient", "q_learning", "replay", "returns", "rollouts",
           "tabular_pg", "trust_region", "variational", "soft_rl", "exploration", "vtrace",
           "transfer", "info_theory", "challenges"]
__all__ += ["generalization"]
__all__ += ["meta"]
