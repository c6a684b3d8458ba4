"""Micro statistics: how each example's prediction agrees across seeds, ``preds`` shaped
``(n_seeds, n_examples)``.

The reference study's metrics (Zhou et al., arXiv 2503.07329, §2-3) are defined on PAIRS of runs
and averaged over all N(N-1)/2 seed pairs: ``con`` (CON: share of examples two runs label alike),
``acc_con`` (ACC-CON: share both get right), ``con_pear`` (CON-PEAR: Pearson correlation of two
runs' predictions, regression). They do not depend on N in expectation. Our extensions, named so
they cannot be mistaken for CON: ``all_agree`` (share of examples on which ALL N seeds agree,
falls as seeds are added), ``all_correct``, ``group_all_agree``, ``subset_agreement`` /
``subset_correct`` / ``all_agree_curve`` (all-agree over k of the N seeds),
``pairwise_agreement`` with a tolerance (regression), ``per_example_spread``. With ``tol=None``
predictions must be equal (class labels); with a ``tol`` (regression, e.g. STS-B scores on 0-5)
two predictions agree when they differ by at most ``tol``.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..benchmark.metrics import pearson

Array = np.ndarray | Sequence


def check_runs(preds: Array, *, min_runs: int = 1) -> np.ndarray:
    """Validate a (n_seeds, n_examples) prediction matrix."""
    p = np.asarray(preds)
    if p.ndim != 2 or p.shape[1] == 0:
        raise ValueError(f"preds must be shaped (n_seeds, n_examples) with n_examples > 0, "
                         f"got shape {p.shape}")
    if p.shape[0] < min_runs:
        raise ValueError(f"needs at least {min_runs} runs (rows of preds), got {p.shape[0]}")
    return p


def _agree(a: np.ndarray, b: np.ndarray, tol: float | None) -> np.ndarray:
    """Element-wise agreement: equality, or |a - b| <= tol."""
    return a == b if tol is None else np.abs(a.astype(float) - b.astype(float)) <= tol


def per_example_spread(preds: Array) -> np.ndarray:
    """Per example, max minus min prediction across seeds (regression scores)."""
    p = check_runs(preds).astype(float)
    return p.max(axis=0) - p.min(axis=0)


def seed_pairs(n: int) -> list[tuple[int, int]]:
    """Every pair of seed rows (a, b), a < b, in the order ``pair_values`` uses."""
    return list(itertools.combinations(range(n), 2))


def pair_values(preds: Array, labels: Array | None = None) -> np.ndarray:
    """Per seed pair (rows, ``seed_pairs`` order) and example: 1 where the two runs label it alike
    (with ``labels``: where both are right). CON is its mean, ACC-CON too with labels."""
    p = check_runs(preds, min_runs=2)
    if labels is None:
        return np.array([p[a] == p[b] for a, b in seed_pairs(p.shape[0])], dtype=float)
    right = p == _labels_for(p, labels)[None, :]
    return np.array([right[a] & right[b] for a, b in seed_pairs(p.shape[0])], dtype=float)


def con(preds: Array) -> float:
    """CON of the reference study: mean over seed pairs of the share of examples both label alike.

    No gold label is involved. Needs at least two seeds. For classes, choices and chosen entities.

    >>> round(con([[0, 1, 1], [0, 1, 0], [0, 1, 1]]), 4)
    0.7778
    """
    return pairwise_agreement(preds)


def acc_con(preds: Array, labels: Array) -> float:
    """ACC-CON of the reference study: mean over seed pairs of the share of examples on which the
    two runs agree AND are right (both correct). Not defined for regression.

    >>> round(acc_con([[0, 1, 1], [0, 1, 0], [0, 0, 1]], [0, 1, 1]), 4)  # pairs: 2/3, 2/3, 1/3
    0.5556
    """
    return float(np.mean(pair_values(preds, labels).mean(axis=1)))


def con_pear(preds: Array) -> float:
    """CON-PEAR of the reference study (regression): mean over seed pairs of the Pearson
    correlation between the two runs' prediction vectors; NaN when a run predicts a constant.

    >>> round(con_pear([[0.0, 1.0, 2.0], [0.0, 2.0, 4.0], [2.0, 1.0, 0.0]]), 4)  # pairs: 1, -1, -1
    -0.3333
    """
    return float(np.mean(pair_pearsons(preds)))


def pair_pearsons(preds: Array) -> np.ndarray:
    """Per seed pair (``seed_pairs`` order): the Pearson correlation of the two runs' predictions
    (CON-PEAR is their mean); NaN for a pair where a run predicts a constant."""
    p = check_runs(preds, min_runs=2).astype(float)
    return np.array([pearson(p[a], p[b]) for a, b in seed_pairs(p.shape[0])])


def _labels_for(p: np.ndarray, labels: Array) -> np.ndarray:
    """Labels as an array with one entry per column of the prediction matrix, or a clear error."""
    y = np.asarray(labels)
    if y.shape != (p.shape[1],):
        raise ValueError(f"labels must have shape ({p.shape[1]},) to match preds, got {y.shape}")
    return y


def all_agree(preds: Array, *, tol: float | None = None) -> float:
    """Share of examples on which ALL seeds agree (our extension; not the paper's CON).

    Classification: all seeds predict the same label. With ``tol``: the predictions span at most
    ``tol`` (max - min <= tol). One seed agrees with itself: 1.0. Falls as seeds are added
    (``all_agree_curve``); CON (``con``) is its k = 2 value averaged over pairs.

    >>> round(all_agree([[0, 1, 1], [0, 1, 0]]), 4)
    0.6667
    """
    p = check_runs(preds)
    if tol is None:
        return float(np.mean(np.all(p == p[0], axis=0)))
    return float(np.mean(per_example_spread(p) <= tol))


def all_correct(preds: Array, labels: Array, *, tol: float | None = None) -> float:
    """Share of examples every seed gets right (with ``tol``: within ``tol`` of the label); our
    extension, the all-seeds counterpart of ACC-CON.

    >>> round(all_correct([[0, 1, 1], [0, 1, 0]], [0, 0, 1]), 4)
    0.3333
    """
    p = check_runs(preds)
    y = _labels_for(p, labels)
    return float(np.mean(np.all(_agree(p, y[None, :], tol), axis=0)))


def group_all_agree(preds: Array, groups: Array) -> float:
    """Share of groups on which all seeds give identical predictions for every member.

    MultiRC: a question counts when every seed labels all its answer options alike.

    >>> group_all_agree([[1, 0, 1, 1], [1, 0, 0, 1]], groups=[7, 7, 8, 8])
    0.5
    """
    p = check_runs(preds)
    g = np.asarray(groups)
    if g.shape != (p.shape[1],):
        raise ValueError(f"groups must have shape ({p.shape[1]},) to match preds, got {g.shape}")
    return float(pd.Series(np.all(p == p[0], axis=0)).groupby(g).all().mean())


def pairwise_agreement(preds: Array, *, tol: float | None = None) -> float:
    """Mean over all seed pairs of the share of examples on which the pair agrees.

    Without ``tol`` this is the paper's CON (``con``); with ``tol`` (regression) our extension.
    Needs at least two seeds (with one there is no pair).

    >>> round(pairwise_agreement([[0, 1, 1], [0, 1, 0], [0, 1, 1]]), 4)
    0.7778
    """
    p = check_runs(preds, min_runs=2)
    return float(np.mean([np.mean(_agree(p[a], p[b], tol)) for a, b in seed_pairs(p.shape[0])]))


def _subset_size(k: int, p: np.ndarray) -> int:
    """The number of seeds N, after checking that k seeds can be drawn from them."""
    n = p.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"bad k={k}: expected 1 <= k <= {n} (the number of seeds)")
    return n


def subset_agreement(preds: Array, k: int, *, tol: float | None = None) -> np.ndarray:
    """Per example, the chance that ``k`` seeds drawn without replacement from the N all agree.

    Its mean over examples is the all-agree share averaged over all C(N, k) subsets of k seeds,
    exactly and without enumerating them: with an example's N predictions sorted, a subset
    agrees when the k - 1 others lie within ``tol`` below its largest member i (equal, without
    ``tol``), and there are C(w_i, k - 1) of those, w_i counting the earlier predictions close
    enough to the i-th. (Written here: no library counts agreeing subsets.)

    >>> subset_agreement([[0, 1], [0, 1], [1, 1]], 2).round(4).tolist()
    [0.3333, 1.0]
    """
    from scipy.special import comb

    p = check_runs(preds)
    n = _subset_size(k, p)
    if tol is None:  # any labels (ints, strings) -> integer codes; equal means difference 0
        codes = np.unique(p, return_inverse=True)[1].reshape(p.shape)
        s, limit = np.sort(codes, axis=0).astype(float), 0.0
    else:
        s, limit = np.sort(p.astype(float), axis=0), tol
    earlier = np.tril(np.ones((n, n), dtype=bool), k=-1)[:, :, None]  # [i, j]: j sorts before i
    close = (s[:, None, :] - s[None, :, :]) <= limit
    w = (close & earlier).sum(axis=1)
    return comb(w, k - 1).sum(axis=0) / comb(n, k)


def subset_correct(preds: Array, labels: Array, k: int, *, tol: float | None = None) -> np.ndarray:
    """Per example, the chance that ``k`` seeds drawn without replacement from the N are all right.

    >>> subset_correct([[0, 1], [0, 0], [1, 1]], [0, 1], 2).round(4).tolist()
    [0.3333, 0.3333]
    """
    from scipy.special import comb

    p = check_runs(preds)
    y = _labels_for(p, labels)
    _subset_size(k, p)
    right = _agree(p, y[None, :], tol).sum(axis=0)
    return comb(right, k) / comb(p.shape[0], k)


def all_agree_curve(preds: Array, labels: Array | None = None, *, tol: float | None = None,
                    max_subsets: int = 200, seed: int | np.random.Generator = 0
                    ) -> dict[int, dict[str, float]]:
    """All-seeds agreement (and all-seeds correct, with labels) as a function of the number of seeds.

    For each k in 2..n_seeds: the expected all-agree share over all subsets of k seeds (exact,
    from ``subset_agreement``; at k = 2 it equals CON), and its spread over subsets: all subsets
    when there are at most ``max_subsets``, else ``max_subsets`` random ones drawn with ``seed``.
    Returns ``{k: {"all_agree": expected value, "all_agree_std": std over subsets,
    "subsets_low"/"subsets_high": 2.5th/97.5th percentile over subsets (the range a study with k
    of these seeds could have reported), ["all_correct": expected value]}}``.
    ``uncertainty.all_agree_curve_intervals`` gives the expected value's interval over examples.
    """
    p = check_runs(preds, min_runs=2)
    rng = np.random.default_rng(seed)
    n = p.shape[0]
    curve: dict[int, dict[str, float]] = {}
    for k in range(2, n + 1):
        if math.comb(n, k) <= max_subsets:
            subsets = [list(c) for c in itertools.combinations(range(n), k)]
        else:
            subsets = [sorted(rng.choice(n, size=k, replace=False)) for _ in range(max_subsets)]
        shares = [all_agree(p[s], tol=tol) for s in subsets]
        point = {"all_agree": float(np.mean(subset_agreement(p, k, tol=tol))),
                 "all_agree_std": float(np.std(shares)),
                 "subsets_low": float(np.percentile(shares, 2.5)),
                 "subsets_high": float(np.percentile(shares, 97.5))}
        if labels is not None:
            point["all_correct"] = float(np.mean(subset_correct(p, labels, k, tol=tol)))
        curve[k] = point
    return curve
