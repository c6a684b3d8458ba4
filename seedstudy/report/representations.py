"""Representations beside predictions: how alike seeds' pooled vectors are (linear CKA), next to CON.

Du & Nguyen (ACL 2023) found that measures on representations and on predictions can disagree
about how much seeds differ. Per evaluation (task, model, split) whose runs stored representations
(``representations`` run parameter), this lays out linear CKA over every seed pair (debiased,
with the plug-in value beside it: ``stats.representations``) and the same pairs' CON (CON-PEAR
for regression), with their rank correlation over pairs; ``cka_disagreement`` compares the two
rankings of tasks.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..benchmark.tasks import get_task
from ..stats import consistency
from ..stats.representations import pair_ckas
from ..store.runs import Run, load_representations
from ..training.seeds import of_record
from .evaluations import evaluation_label


def _by_evaluation(runs: Sequence[Run]) -> dict[tuple[str, str, str], list[tuple[Run, np.ndarray]]]:
    """Runs that stored representations, with them, grouped by (task, model, split), seeds ascending."""
    groups: dict[tuple[str, str, str], list[tuple[Run, np.ndarray]]] = {}
    for run in sorted(runs, key=lambda r: of_record(r.record)):
        vectors = load_representations(run)
        if vectors is None:
            continue
        for split in run.predictions["split"].unique():
            groups.setdefault((run.record["task"], run.record["model"], split), []).append((run, vectors))
    return groups


def _aligned(run: Run, vectors: np.ndarray, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One split's example ids, predictions and representations, ordered by example id."""
    rows = np.flatnonzero((run.predictions["split"] == split).to_numpy())
    part = run.predictions.iloc[rows]
    order = np.argsort(part["idx"].to_numpy(), kind="stable")
    return (part["idx"].to_numpy()[order], part["pred"].to_numpy()[order],
            np.asarray(vectors[rows[order]], dtype=np.float64))


def cka_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Per evaluation with >= 2 runs holding representations: CKA over seed pairs (mean, min, max;
    debiased, and the plug-in mean), CON (CON-PEAR) over the same pairs, and their Spearman
    correlation across pairs (NaN below 3 pairs or where either is constant). ReCoRD is left out."""
    from scipy.stats import spearmanr

    rows = []
    for (task_key, model, split), group in _by_evaluation(runs).items():
        scored = get_task(task_key).evaluation_task(split)
        if len(group) < 2 or scored.ranks_entities:
            continue
        aligned = [_aligned(run, vectors, split) for run, vectors in group]
        if any(not np.array_equal(a[0], aligned[0][0]) for a in aligned):
            raise ValueError(f"{task_key} {split}: runs with representations predict different examples")
        preds = np.stack([a[1] for a in aligned])
        mats = [a[2] for a in aligned]
        cka = pair_ckas(mats)
        regression = scored.problem_type == "regression"
        con = consistency.pair_pearsons(preds) if regression else consistency.pair_values(preds).mean(axis=1)
        varied = len(cka) >= 3 and np.ptp(cka) > 0 and np.ptp(con) > 0
        rows.append({"task": evaluation_label(task_key, split), "model": model, "n_seeds": len(group),
                     "n_examples": len(mats[0]), "dimensions": mats[0].shape[1],
                     "agreement": "CON-PEAR" if regression else "CON", "con": float(np.mean(con)),
                     "cka": float(np.mean(cka)), "cka_min": float(np.min(cka)), "cka_max": float(np.max(cka)),
                     "cka_plugin": float(np.mean(pair_ckas(mats, debiased=False))),
                     "pairs_spearman": float(spearmanr(cka, con).statistic) if varied else np.nan})
    return pd.DataFrame(rows)


def cka_disagreement(table: pd.DataFrame) -> dict:
    """Do CKA and CON rank the tasks alike? Spearman over tasks (classification only: CON-PEAR is
    another scale), and the tasks whose ranks differ most."""
    from scipy.stats import spearmanr

    classes = table[table["agreement"] == "CON"]
    if len(classes) < 3:
        return {"n_tasks": len(classes), "spearman": np.nan, "largest_rank_gaps": []}
    gap = (classes["cka"].rank() - classes["con"].rank()).abs()
    worst = classes.assign(gap=gap).sort_values("gap", ascending=False)
    return {"n_tasks": len(classes), "spearman": float(spearmanr(classes["cka"], classes["con"]).statistic),
            "largest_rank_gaps": worst.loc[worst["gap"] > 0, "task"].head(3).tolist()}
