"""From one run's per-example predictions to official scores, and to the units consistency compares.

Kept apart from ``metrics`` (arrays in, numbers out) because it reads prediction frames and task
shapes. Most tasks score their rows as they are. ReCoRD rows are (query, candidate) pairs: a
query's prediction is its highest-scoring candidate, scored as text against the gold answers.
Diagnostic sets (AX, AX-b, AX-g) are scored with their own metrics under prefixed names.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import metrics
from .tasks import Task


def split_scores(task: Task, split: str, part: pd.DataFrame, majority: float
                 ) -> tuple[dict[str, float], dict[str, float]]:
    """Official scores of one evaluation split, and the majority baseline's, by table metric name.

    The baseline predicts ``majority`` (the training majority class, or mean score) everywhere.
    For ReCoRD a constant score makes every query pick its first candidate (entities are sorted),
    so the baseline is that first-candidate guess.
    """
    scored = task.evaluation_task(split)
    if scored.ranks_entities:
        scores = entity_scores(part, part["prob_1"].to_numpy())
        baseline = entity_scores(part, np.zeros(len(part)))
    else:
        labels, preds = part["label"].to_numpy(), part["pred"].to_numpy()
        groups = part["group"].to_numpy() if "group" in part else None
        scores = metrics.task_scores(scored.metrics, labels, preds, groups)
        baseline = metrics.baseline_scores(scored.metrics, labels, majority, groups)
    name = {m: task.metric_name(m, split) for m in scored.metrics}
    return ({name[m]: v for m, v in scores.items()}, {name[m]: v for m, v in baseline.items()})


def entity_scores(part: pd.DataFrame, scores: np.ndarray) -> dict[str, float]:
    """ReCoRD F1 and EM when each query picks its highest-scoring candidate entity."""
    chosen = part.iloc[metrics.best_in_group(scores, part["group"].to_numpy())]
    result = metrics.record_scores(chosen["candidate"].tolist(), [list(a) for a in chosen["answers"]])
    return {"record_f1": result["f1"], "record_em": result["em"]}


def decisions(task: Task, split: str, part: pd.DataFrame) -> pd.DataFrame:
    """The units whose predictions consistency compares across seeds, with ``idx``, ``label``, ``pred``.

    Usually the prediction rows themselves. ReCoRD: one row per query (``idx`` = query id),
    ``pred`` = id of the chosen candidate and ``label`` = id of the query's first gold candidate
    (-1 if no candidate is gold). Gold answers are aliases of one entity, so choosing any gold
    candidate counts as choosing that first one: two seeds that both pick a right alias agree,
    and ``pred == label`` exactly when the choice is right.
    """
    if not task.evaluation_task(split).ranks_entities:
        return part
    chosen = part.iloc[metrics.best_in_group(part["prob_1"].to_numpy(), part["group"].to_numpy())]
    gold = part[part["label"] == 1].groupby("group")["idx"].min()
    label = gold.reindex(chosen["group"]).fillna(-1).astype("int64").to_numpy()
    pred = np.where(chosen["label"].to_numpy() == 1, label, chosen["idx"].to_numpy())
    return pd.DataFrame({"split": split, "idx": chosen["group"].to_numpy(), "label": label,
                         "pred": pred})
