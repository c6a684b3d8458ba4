"""Does ensembling buy back stability? Votes of disjoint seed sets, k = 1..N/2.

For each ensemble size k the seeds are split into disjoint sets of k (several random splits,
seeded); each set votes, and the ensembles are scored like single runs: mean accuracy, and
pairwise agreement (CON between ensembles) and all-ensembles agreement. k = 1 is the single-seed
study itself. Disjoint sets keep the ensembles independent, so their agreement is not inflated
by shared members; hence k stops at N/2 (two ensembles are needed to compare).

Votes are SOFT by default: the ensemble predicts the class with the highest mean probability
over its members (the stored class probabilities). Hard (majority) votes are available with
ties broken at random (seeded). With an even k a fixed tie rule would manufacture agreement:
two ensembles whose members disagree would both fall to the same class (in simulated
independent seeds that alone raised pairwise agreement by ~5 points).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..benchmark import metrics
from . import consistency
from .agreement import majority_vote, random_argmax
from .consistency import check_runs

Array = Sequence | np.ndarray
VOTES = ("soft", "hard")


def soft_vote(probs: np.ndarray, *, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Per example, the class with the highest mean probability over the members; ``probs`` is
    (n_members, n_examples, n_classes). Exact ties (rare) are broken at random (seeded)."""
    return random_argmax(np.asarray(probs, dtype=float).mean(axis=0), seed)


def _check_probs(probs: Array | None, p: np.ndarray, vote: str) -> np.ndarray | None:
    """Validate the probabilities a soft vote needs, shaped (n_seeds, n_examples, n_classes)."""
    if vote not in VOTES:
        raise ValueError(f"bad vote={vote!r}: expected one of {VOTES}")
    if vote == "hard":
        return None
    if probs is None:
        raise ValueError("a soft vote needs the runs' class probabilities (probs); use vote='hard' "
                         "for majority votes with random tie-breaks")
    q = np.asarray(probs, dtype=float)
    if q.ndim != 3 or q.shape[:2] != p.shape:
        raise ValueError(f"probs must be shaped (n_seeds, n_examples, n_classes) = {p.shape} + (k,), "
                         f"got {q.shape}")
    return q


def ensemble_curve(preds: Array, labels: Array, probs: Array | None = None, *, vote: str = "soft",
                   splits: int = 20, seed: int = 0, n_classes: int | None = None
                   ) -> dict[int, dict[str, float]]:
    """Accuracy and between-ensemble agreement of ``vote`` ensembles of k seeds, k = 1..N/2.

    Returns ``{k: {"accuracy", "accuracy_std", "pairwise_agreement", "all_agree",
    "n_ensembles"}}``, each averaged over ``splits`` random partitions (all one partition for
    k = 1, where every seed is its own ensemble and its prediction is the stored one).
    ``pairwise_agreement`` is CON between ensembles; ``all_agree`` is over the N // k ensembles,
    so it rises as k grows for that reason alone (fewer members): compare pairwise agreement.
    """
    p = check_runs(preds, min_runs=2)
    y = np.asarray(labels)
    q = _check_probs(probs, p, vote)
    n = p.shape[0]
    k_classes = n_classes or int(max(p.max(), y.max())) + 1
    rng = np.random.default_rng(seed)
    curve = {}
    for k in range(1, n // 2 + 1):
        rows = []
        for _ in range(1 if k == 1 else splits):
            order = rng.permutation(n) if k > 1 else np.arange(n)
            sets = [order[i:i + k] for i in range(0, n - n % k, k)]
            if k == 1:
                votes = p[order]
            elif vote == "soft":
                votes = np.stack([soft_vote(q[s], seed=rng) for s in sets])
            else:
                votes = np.stack([majority_vote(p[s], k_classes, seed=rng) for s in sets])
            accuracies = [metrics.accuracy(y, v) for v in votes]
            rows.append((np.mean(accuracies), np.std(accuracies, ddof=1),
                         consistency.pairwise_agreement(votes), consistency.all_agree(votes)))
        acc, acc_std, pair, every = np.mean(rows, axis=0)
        curve[k] = {"accuracy": float(acc), "accuracy_std": float(acc_std),
                    "pairwise_agreement": float(pair), "all_agree": float(every), "n_ensembles": n // k}
    return curve
