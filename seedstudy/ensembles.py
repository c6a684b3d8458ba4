"""Does ensembling buy back stability? Majority votes of disjoint seed sets, k = 1..N/2.

For each ensemble size k the seeds are split into disjoint sets of k (several random splits,
seeded); each set votes (``agreement.majority_vote``), and the ensembles are scored like single
runs: mean accuracy, and consistency and pairwise agreement *between ensembles*. k = 1 is the
single-seed study itself. Disjoint sets keep the ensembles independent, so their agreement is
not inflated by shared members; hence k stops at N/2 (two ensembles are needed to compare).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import metrics
from .agreement import majority_vote
from .metrics import _runs

Array = Sequence | np.ndarray


def ensemble_curve(preds: Array, labels: Array, *, splits: int = 20, seed: int = 0,
                   n_classes: int | None = None) -> dict[int, dict[str, float]]:
    """Accuracy and between-ensemble consistency of majority-vote ensembles of k seeds.

    Returns ``{k: {"accuracy", "accuracy_std", "consistency", "pairwise_agreement",
    "n_ensembles"}}``, each averaged over ``splits`` random partitions (all one partition for
    k = 1). Votes tie-break to the lowest class id.
    """
    p = _runs(preds, min_runs=2)
    y = np.asarray(labels)
    n = p.shape[0]
    k_classes = n_classes or int(max(p.max(), y.max())) + 1
    rng = np.random.default_rng(seed)
    curve = {}
    for k in range(1, n // 2 + 1):
        rows = []
        for _ in range(1 if k == 1 else splits):
            order = rng.permutation(n) if k > 1 else np.arange(n)
            sets = [order[i:i + k] for i in range(0, n - n % k, k)]
            votes = np.stack([majority_vote(p[s], k_classes) for s in sets])
            rows.append((np.mean([metrics.accuracy(y, v) for v in votes]),
                         np.std([metrics.accuracy(y, v) for v in votes], ddof=1),
                         metrics.consistency(votes), metrics.pairwise_agreement(votes)))
        acc, acc_std, cons, pair = np.mean(rows, axis=0)
        curve[k] = {"accuracy": float(acc), "accuracy_std": float(acc_std), "consistency": float(cons),
                    "pairwise_agreement": float(pair), "n_ensembles": n // k}
    return curve
