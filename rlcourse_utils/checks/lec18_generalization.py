"""Exercises of Lecture 18 (generalization): public and hidden cases, hand-computable first.

The split gets duplicated levels inside the test set, copies of test levels later in the stream (the
leak), duplicates inside the training pool, n_test = 0 and n_test = all distinct levels (an empty
training pool). The augmentation gets every group element on one asymmetric image, a batch with
one k per image, several channels, float32 images. The gap gets S = 1 (no interval), a leading axis of
experiments, unequal numbers of train and test episodes, equal gaps (a zero-width interval) and a
negative gap.
"""
from __future__ import annotations

import numpy as np

from rlcourse_utils import generalization
from rlcourse_utils.checks.core import Case, Exercise


# ---------------------------------------------------------------- L18_split_levels

def split_public() -> list[Case]:
    rng = np.random.default_rng(1800)
    return [
        Case((np.array([5, 7, 5, 9, 7, 2]), 2),
             "keys 5 and 7 are the test levels; their later copies (indices 2 and 4) must not train: train [3, 5]"),
        Case((np.arange(10, 18), 3), "8 distinct levels, 3 test: test [0, 1, 2], train [3, ..., 7]"),
        Case((np.array([4, 4, 1, 2, 2, 2, 3]), 2),
             "a duplicate inside the test stream (index 1 is level 4 again): test [0, 2]; train [3, 6]"),
        Case((np.array([8, 3, 8, 3, 6]), 0), "n_test = 0: all distinct levels train, first copies only: [0, 1, 4]"),
        Case((np.array([1, 2, 1, 3]), 3), "n_test = every distinct level: an empty training pool, shape (0,)"),
        Case((rng.integers(0, 40, size=300), 15), "300 draws from 40 possible levels: many repeats"),
        Case((rng.integers(0, 2**55, size=50), 10), "hash-like keys up to 2^55, all distinct"),
    ]


def split_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((rng.integers(0, n_keys, size=M), n_test), f"M = {M} draws from {n_keys} levels, {n_test} test")
             for M, n_keys, n_test in [(200, 30, 10), (60, 1000, 20), (25, 5, 2)]]
    keys = rng.integers(0, 2**50, size=12)
    cases.append(Case((np.concatenate([keys, keys[:4]]), 6), "the first four levels appear again at the end"))
    cases.append(Case((np.repeat(rng.integers(0, 100, size=6), 3), 2), "every level three times in a row"))
    cases.append(Case((np.array([3, 1, 2]), 0), "three distinct levels, no test set"))
    return cases


# ---------------------------------------------------------------- L18_dihedral_augment

def _asymmetric_image() -> np.ndarray:
    img = np.zeros((1, 2, 3, 3))
    img[0, 0, 0, 1], img[0, 0, 2, 2], img[0, 1, 1, 2] = 1.0, 1.0, 1.0  # no symmetry maps it to itself
    return img


def aug_public() -> list[Case]:
    rng = np.random.default_rng(1810)
    goal_right = np.zeros((1, 1, 3, 3))
    goal_right[0, 0, 1, 2] = 1.0
    img8 = np.repeat(_asymmetric_image(), 8, axis=0)
    return [
        Case((goal_right, np.array([1]), np.array([1])),
             "goal right of centre, action right, k = 1 (a quarter turn counter-clockwise): goal above, action up (0)"),
        Case((goal_right, np.array([1]), np.array([4])), "k = 4, the mirror alone: goal left of centre, action left (3)"),
        Case((img8, np.full(8, 1), np.arange(8)), "one asymmetric image under all 8 elements k = 0..7, action right"),
        Case((img8, np.arange(8) % 4, np.full(8, 6)), "k = 6 for all: two quarter turns then the mirror"),
        Case((rng.uniform(size=(16, 2, 9, 9)).astype(np.float32), rng.integers(0, 4, 16), rng.integers(0, 8, 16)),
             "the lecture's form: (B, C, V, V) = (16, 2, 9, 9) float32 images, one k per image"),
        Case((rng.uniform(size=(3, 1, 5, 5)), rng.integers(0, 4, 3), np.array([7, 3, 0])), "B = 3, one channel"),
    ]


def aug_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((rng.uniform(size=(B, C, V, V)), rng.integers(0, 4, B), rng.integers(0, 8, B)),
                  f"random B = {B}, C = {C}, V = {V}") for B, C, V in [(32, 2, 9), (1, 3, 4), (10, 1, 7)]]
    cases.append(Case((np.repeat(_asymmetric_image(), 8, axis=0), rng.integers(0, 4, 8), rng.permutation(8)),
                      "every element once, in a random order"))
    cases.append(Case((rng.uniform(size=(5, 2, 9, 9)).astype(np.float32), np.zeros(5, np.int64),
                       np.full(5, int(rng.integers(4, 8)))), "one mirror element for all, action up"))
    return cases


# ---------------------------------------------------------------- L18_generalization_gap

def gap_public() -> list[Case]:
    rng = np.random.default_rng(1820)
    return [
        Case((np.array([[1.0, 1.0], [0.8, 0.8]]), np.array([[0.5], [0.5]]), 12.71),
             "S = 2 seeds, gaps 0.5 and 0.3: mean 0.4, se = std(ddof=1) / √2 = 0.1, interval 0.4 ± 1.271"),
        Case((rng.uniform(0.6, 0.9, size=(3, 5)), rng.uniform(0.1, 0.4, size=(3, 7)), 4.303),
             "S = 3, 5 train and 7 test episodes per seed (a mean per seed first)"),
        Case((rng.uniform(0, 1, size=(6, 3, 8)), rng.uniform(0, 1, size=(6, 3, 10)), 4.303),
             "a leading axis: 6 numbers of training levels × 3 seeds → gap, low, high of shape (6,)"),
        Case((np.array([[0.9, 0.7]]), np.array([[0.2, 0.4, 0.3]]), 12.71),
             "S = 1: gap 0.5, no interval (low = −inf, high = +inf)"),
        Case((np.array([[0.6, 0.8], [0.5, 0.9], [0.7, 0.7]]), np.array([[0.2], [0.3], [0.3]]), 4.303),
             "every seed has the gap 0.5: a zero-width interval [0.5, 0.5]"),
        Case((rng.uniform(0.1, 0.3, size=(5, 4)), rng.uniform(0.4, 0.6, size=(5, 4)), 2.776),
             "S = 5 and a negative gap (test above train)"),
    ]


def gap_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((rng.uniform(0, 1, size=(*lead, S, E1)), rng.uniform(0, 1, size=(*lead, S, E2)), t),
                  f"random, shape {(*lead, S)}, {E1} and {E2} episodes")
             for lead, S, E1, E2, t in [((), 4, 10, 3, 3.182), ((5,), 3, 6, 6, 4.303), ((2, 3), 2, 1, 4, 12.71)]]
    cases.append(Case((rng.uniform(0, 1, size=(4, 1, 6)), rng.uniform(0, 1, size=(4, 1, 2)), 12.71),
                      "4 experiments of S = 1 seed each: infinite intervals"))
    cases.append(Case((np.full((3, 2), 0.5), np.full((3, 5), 0.5), 4.303), "train = test everywhere: gap 0, width 0"))
    return cases


EXERCISES = [
    Exercise("L18_split_levels", generalization.split_levels, split_public, split_hidden, points=2,
             hint="np.unique(keys, return_index=True) gives each distinct key's first index; sort those indices "
                  "back into stream order; the first n_test of them are the test set and the rest the training "
                  "pool (a later copy of a test level is not a first occurrence, so it never trains)."),
    Exercise("L18_dihedral_augment", generalization.dihedral_augment, aug_public, aug_hidden, points=2,
             hint="Loop over the 8 elements g: for the images with k == g, np.rot90(obs, g % 4, axes=(-2, -1)), "
                  "then [..., ::-1] if g ≥ 4. Actions: a' = (a − k) % 4, then (−a') % 4 for k ≥ 4 "
                  "(a quarter turn counter-clockwise makes right into up)."),
    Exercise("L18_generalization_gap", generalization.generalization_gap, gap_public, gap_hidden, points=2,
             hint="gaps = train.mean(-1) − test.mean(-1) (one per seed, shape (..., S)); "
                  "half-width = t_crit · gaps.std(-1, ddof=1) / √S; with S = 1 return ∓inf for the ends."),
]
