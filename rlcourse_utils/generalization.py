"""Generalization in RL, the math (Lecture 18).

``split_levels``: held-out test levels and a training pool with no level in both, even when two seeds
    generate the same level (Cobbe et al. 2019, "Quantifying generalization in reinforcement learning").
``dihedral_augment``: a data augmentation that is a symmetry of gridworld navigation, a rotation or
    mirror of the egocentric image together with the same rotation or mirror of the action
    (in the spirit of RAD, Laskin et al. 2020, and DrQ, Kostrikov et al. 2020).
``generalization_gap``: the train-minus-test return per seed and its t-interval over seeds.
"""
from __future__ import annotations

import numpy as np


def split_levels(keys: np.ndarray, n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """Split a stream of generated levels into held-out test levels and a training pool, no level in both.

    Levels i = 0, 1, ... come from seeds in order; ``keys[i]`` identifies the level's content, so two
    seeds that generate the same level have the same key.
      test:  the first ``n_test`` indices, in order, whose key has not occurred earlier in the stream;
      train: every later index whose key occurs neither in the test set nor earlier in the stream.
    A training set of k levels is then ``train[:k]``: the sets are nested, every level in them is
    distinct, and none is a test level in disguise. Lecture 18 §Train and test levels.

    Args:
        keys: (M,) int content keys of the generated levels (``envs.procgrid.level_key``).
        n_test: number of test levels, 0 ≤ n_test ≤ the number of distinct keys.

    Returns:
        train: (M_train,) int64 indices into ``keys``, in stream order.
        test: (n_test,) int64 indices into ``keys``, in stream order.

    >>> split_levels(np.array([5, 7, 5, 9, 7, 2]), 2)   # 5 and 7 are test levels; their copies are dropped
    (array([3, 5]), array([0, 1]))
    """
    keys = np.asarray(keys)
    _, first = np.unique(keys, return_index=True)  # index of each key's first occurrence
    first = np.sort(first)  # (distinct,) in stream order: a copy of an earlier level is never new
    return first[n_test:].astype(np.int64), first[:n_test].astype(np.int64)


def dihedral_augment(obs: np.ndarray, actions: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply element k of the dihedral group D4 to egocentric images and, consistently, to actions.

    g_k = (k mod 4) quarter turns counter-clockwise (``np.rot90`` on the image axes), followed, for
    k ≥ 4, by a left-right mirror (reversing the column axis). Actions 0, 1, 2, 3 are up, right, down,
    left (clockwise), so a quarter turn counter-clockwise maps a to (a − 1) mod 4 and the mirror maps
    a to (−a) mod 4 (it swaps right and left):
        g_k · a = (a − k) mod 4 for k < 4,   g_k · a = (−(a − k)) mod 4 = (k − a) mod 4 for k ≥ 4.
    The rotated level is one the generator could have drawn, and the move g_k · a reaches the cell that
    a reached, turned with it: so π(g·a | g·o) = π(a | o) holds for the optimal policy, and training on
    (g·o, g·a) adds levels without changing what is right. Lecture 18 §Augmentation.

    Args:
        obs: (B, C, V, V) images (square: the agent's egocentric window).
        actions: (B,) int actions in {0, 1, 2, 3}.
        k: (B,) int group elements in {0, ..., 7}, one per image.

    Returns:
        obs_aug: (B, C, V, V) the transformed images, same dtype.
        actions_aug: (B,) int64 the transformed actions.

    >>> o = np.zeros((1, 1, 3, 3)); o[0, 0, 1, 2] = 1   # the goal is to the right of the centre
    >>> oa, aa = dihedral_augment(o, np.array([1]), np.array([1]))   # turn left: it is now above
    >>> np.argwhere(oa[0, 0]).tolist(), aa.tolist()                    # and "right" became "up"
    ([[0, 1]], [0])
    """
    obs, actions, k = np.asarray(obs), np.asarray(actions, dtype=np.int64), np.asarray(k, dtype=np.int64)
    out = np.empty_like(obs)
    for g in range(8):
        sel = k == g
        img = np.rot90(obs[sel], g % 4, axes=(-2, -1))  # (b, C, V, V)
        out[sel] = img[..., ::-1] if g >= 4 else img
    turned = (actions - k) % 4
    return out, np.where(k >= 4, (-turned) % 4, turned)


def generalization_gap(train_returns: np.ndarray, test_returns: np.ndarray, t_crit: float
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The generalization gap over S seeds and its Student-t confidence interval.

    For seed s, with E_train and E_test episode returns:  gap_s = mean(train_s) − mean(test_s).
    The seeds are the independent units (not the episodes, which share one trained network):
        ḡ = (1/S) Σ_s gap_s,   se = std(gap_1..S, ddof=1) / √S,   interval ḡ ± t_crit · se,
    with t_crit the (1 + c)/2 quantile of Student's t with S − 1 degrees of freedom for confidence c
    (``scipy.stats.t.ppf(0.975, S - 1)``: 12.71 for S = 2, 4.303 for S = 3, 2.776 for S = 5).
    Lecture 18 §Measuring generalization (Cobbe et al. 2019 report train and test returns over seeds).

    Args:
        train_returns: (..., S, E_train) returns on each seed's training levels; leading axes are
            separate experiments (e.g. one row per number of training levels).
        test_returns: (..., S, E_test) returns on held-out levels, same leading axes and S.
        t_crit: the t quantile for S − 1 degrees of freedom.

    Returns:
        gap, low, high: (...) float64, the mean gap over seeds and the interval's ends. With S = 1 the
        interval is undefined: low = −inf, high = +inf.

    >>> g, lo, hi = generalization_gap(np.array([[1.0, 1.0], [0.8, 0.8]]), np.array([[0.5], [0.5]]), 12.71)
    >>> round(float(g), 3), round(float(hi), 3)   # gaps 0.5 and 0.3; se = 0.1; 0.4 + 12.71 · 0.1
    (0.4, 1.671)
    """
    gaps = (np.mean(np.asarray(train_returns, dtype=np.float64), axis=-1)
            - np.mean(np.asarray(test_returns, dtype=np.float64), axis=-1))  # (..., S)
    S = gaps.shape[-1]
    mean = np.asarray(gaps.mean(axis=-1))
    if S < 2:
        return mean, np.full_like(mean, -np.inf), np.full_like(mean, np.inf)
    half = t_crit * gaps.std(axis=-1, ddof=1) / np.sqrt(S)
    return mean, mean - half, mean + half
