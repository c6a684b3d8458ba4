"""How much seeds agree beyond chance, pair by pair, and which examples flip.

Pure functions over a prediction matrix shaped ``(n_seeds, n_examples)`` of class ids (the
micro view for classification; regression has ``consistency.per_example_spread``). Kappas come from
the maintained implementations (statsmodels' Fleiss, scikit-learn's Cohen); churn, vote entropy
and flip rate are one line each and written here.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .consistency import check_runs

Array = Sequence | np.ndarray


def fleiss_kappa(preds: Array) -> float:
    """Fleiss' kappa with seeds as raters and examples as subjects: agreement beyond chance.

    1 when every seed predicts alike everywhere (and more than one class occurs); 0 at the
    agreement chance alone gives; NaN when every seed predicts one single class everywhere.

    >>> round(fleiss_kappa([[0, 0, 1, 1], [0, 0, 1, 1], [0, 1, 1, 1]]), 4)
    0.6571
    """
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as _fleiss

    p = check_runs(preds, min_runs=2)
    table, _ = aggregate_raters(p.T)
    if table.shape[1] < 2:
        return float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(_fleiss(table, method="fleiss"))


def churn(a: Array, b: Array) -> float:
    """Share of examples on which two runs predict differently (Milani Fard et al., 2016).

    >>> churn([0, 1, 1, 0], [0, 1, 0, 1])
    0.5
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"churn needs two equal-length non-empty 1-D arrays, got {a.shape} and {b.shape}")
    return float(np.mean(a != b))


def cohen_kappa(a: Array, b: Array) -> float:
    """Cohen's kappa of two runs' predictions (NaN when both predict one same class throughout)."""
    from sklearn.metrics import cohen_kappa_score

    with np.errstate(invalid="ignore", divide="ignore"):
        return float(cohen_kappa_score(np.asarray(a), np.asarray(b)))


def pair_table(preds: Array, labels: Array, seeds: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per pair of seeds: churn, Cohen's kappa, both accuracies and their difference.

    Churn can never be smaller than the accuracy difference (every point of accuracy one run
    gains over the other is an example on which they disagree); the gap is the disagreement
    that equal accuracies hide.
    """
    p = check_runs(preds, min_runs=2)
    y = np.asarray(labels)
    seeds = list(seeds) if seeds is not None else list(range(p.shape[0]))
    rows = []
    for i, j in itertools.combinations(range(p.shape[0]), 2):
        acc_i, acc_j = float(np.mean(p[i] == y)), float(np.mean(p[j] == y))
        rows.append({"seed_a": seeds[i], "seed_b": seeds[j], "churn": churn(p[i], p[j]),
                     "cohen_kappa": cohen_kappa(p[i], p[j]), "accuracy_a": acc_i,
                     "accuracy_b": acc_j, "accuracy_diff": abs(acc_i - acc_j)})
    return pd.DataFrame(rows)


def vote_counts(preds: Array, n_classes: int | None = None) -> np.ndarray:
    """Per example, how many seeds voted for each class: shape ``(n_examples, n_classes)``."""
    p = check_runs(preds).astype(int)
    k = n_classes or int(p.max()) + 1
    return np.stack([(p == c).sum(axis=0) for c in range(k)], axis=1)


def vote_entropy(preds: Array, n_classes: int | None = None) -> np.ndarray:
    """Per example, the entropy (bits) of the seeds' votes: 0 when all agree, 1 for a 50/50 split.

    >>> vote_entropy([[0, 1], [0, 0], [0, 1], [0, 0]]).tolist()
    [0.0, 1.0]
    """
    from scipy.stats import entropy

    return entropy(vote_counts(preds, n_classes).T, base=2)


def flip_rate(preds: Array) -> np.ndarray:
    """Per example, the share of seed pairs that predict it differently.

    Its mean over examples is one minus ``consistency.pairwise_agreement``.

    >>> flip_rate([[0, 1], [0, 0], [0, 1]]).round(4).tolist()
    [0.0, 0.6667]
    """
    p = check_runs(preds, min_runs=2)
    n = p.shape[0]
    counts = vote_counts(p)
    same_pairs = (counts * (counts - 1)).sum(axis=1) / 2
    return 1 - same_pairs / (n * (n - 1) / 2)


def majority_vote(preds: Array, n_classes: int | None = None, *,
                  seed: int | np.random.Generator = 0) -> np.ndarray:
    """Per example, the class most seeds predict; ties broken uniformly at random (seeded).

    A fixed rule (e.g. the lowest class id) would bias every statistic of the votes: two
    ensembles of two disagreeing seeds would both vote that class and "agree" by construction.
    """
    counts = vote_counts(preds, n_classes)
    return random_argmax(counts, seed)


def random_argmax(scores: np.ndarray, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Per row, the position of the largest value; exact ties broken uniformly at random (seeded)."""
    scores = np.asarray(scores, dtype=float)
    rng = np.random.default_rng(seed)
    top = scores == scores.max(axis=1, keepdims=True)
    return np.argmax(top * rng.random(scores.shape), axis=1)
