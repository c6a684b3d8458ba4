"""How alike two runs' representations are: linear CKA between their pooled vectors of the same examples.

Linear CKA (Kornblith et al., ICML 2019) compares two runs' (n examples x d features) matrices
X and Y after centring each feature: HSIC(X, Y) / sqrt(HSIC(X, X) HSIC(Y, Y)) with the linear
kernel. It is invariant to rotations, isotropic scaling and translation of either space (two seeds'
heads may read the same information in differently rotated coordinates), and 1 when one space
is such a transform of the other.

Two estimators. The plug-in (``debiased=False``) uses the biased HSIC estimate and is biased
upwards when d is not small against n: two *independent* random spaces score well above 0
(about 0.5 at n = 50, d = 40). The debiased one (``debiased=True``, the default) uses the
unbiased HSIC estimator of Song et al. (JMLR 2012), as Nguyen, Raghu & Kornblith (ICLR 2021)
do; independent spaces score 0 on average, and values can be slightly negative or above 1.
Both are computed in feature space (O(n d^2)), never with n x n Gram matrices, so large
evaluation sets cost little.
"""
from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np


def linear_cka(x: np.ndarray, y: np.ndarray, debiased: bool = True) -> float:
    """Linear CKA between two runs' representations of the same n examples (rows aligned)."""
    x, y = _centred(x), _centred(y)
    if len(x) != len(y):
        raise ValueError(f"representations of {len(x)} and {len(y)} examples: rows must be the same examples")
    if debiased and len(x) < 4:
        raise ValueError("the debiased CKA needs at least 4 examples")
    hsic = _hsic_unbiased if debiased else _hsic_biased
    xy, xx, yy = hsic(x, y), hsic(x, x), hsic(y, y)
    if xx <= 0 or yy <= 0:
        return float("nan")  # a space without variance (or, debiased, without detectable signal)
    return float(xy / np.sqrt(xx * yy))


def pair_ckas(matrices: Sequence[np.ndarray], debiased: bool = True) -> np.ndarray:
    """CKA of every pair of runs, in ``itertools.combinations`` order (the order of seed pairs)."""
    return np.array([linear_cka(a, b, debiased) for a, b in combinations(matrices, 2)])


def _centred(x: np.ndarray) -> np.ndarray:
    """The matrix in float64 with each feature's mean removed."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"representations must be (examples, features), got shape {x.shape}")
    return x - x.mean(axis=0)


def _hsic_biased(x: np.ndarray, y: np.ndarray) -> float:
    """tr(K L) for centred features, K = X X^T, L = Y Y^T: ||X^T Y||_F^2 (the 1/(n-1)^2 cancels in CKA)."""
    return float(np.sum((x.T @ y) ** 2))


def _hsic_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Song et al.'s unbiased HSIC, in feature space.

    With K, L the Gram matrices with zeroed diagonals (K~, L~) and 1 the ones vector:
    [tr(K~ L~) + (1'K~1)(1'L~1) / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1] / (n (n-3)); each term is
    rewritten with X^T Y, row norms and column sums, so no n x n matrix is formed.
    """
    n = len(x)
    nx, ny = np.sum(x * x, axis=1), np.sum(y * y, axis=1)  # diagonals of K and L
    trace = np.sum((x.T @ y) ** 2) - np.dot(nx, ny)  # sum_{i != j} K_ij L_ij
    sx, sy = x.sum(axis=0), y.sum(axis=0)
    kx, ly = x @ sx - nx, y @ sy - ny  # row sums of K~ and L~
    total = (sx @ sx - nx.sum()) * (sy @ sy - ny.sum()) / ((n - 1) * (n - 2))
    return float((trace + total - 2.0 / (n - 2) * np.dot(kx, ly)) / (n * (n - 3)))
