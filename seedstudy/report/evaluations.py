"""From finished runs to what the statistics take: runs grouped by evaluation (task, model,
split), each group's prediction matrix (seeds x examples), class probabilities and groups, and
per-seed scores.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..benchmark import metrics, scoring
from ..benchmark.tasks import get_task
from ..stats import uncertainty
from ..store.runs import Run
from ..training.seeds import of_record

GROUP = ["task", "model"]


def seed_scores(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per (task, model, seed, metric): score, majority baseline, failed/degenerate flags."""
    rows = []
    for run in runs:
        r = run.record
        for metric, value in r["metrics"].items():
            rows.append({"task": r["task"], "model": r["model"], "seed": r["seed"],
                         "metric": metric, "lead": metric == r["lead_metric"], "value": value,
                         "baseline": r["majority_baseline"][metric], "failed": r["failed"],
                         "degenerate": r["degenerate"], "precision": r["config"]["precision"]})
    return pd.DataFrame(rows, columns=["task", "model", "seed", "metric", "lead", "value",
                                       "baseline", "failed", "degenerate", "precision"])


def lead_scores(runs: Sequence[Run]) -> pd.DataFrame:
    """Per-seed lead-metric scores, for the distribution figure."""
    scores = seed_scores(runs)
    return scores[scores["lead"]].reset_index(drop=True)


def prediction_matrix(runs: Sequence[Run]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack one task's per-seed predictions as (n_seeds, n_examples), aligned by example id."""
    if not runs:
        raise ValueError("no runs given")
    frames = [r.predictions.sort_values("idx", kind="stable") for r in runs]
    ids = frames[0]["idx"].to_numpy()
    for run, frame in zip(runs, frames):
        if not np.array_equal(frame["idx"].to_numpy(), ids):
            raise ValueError(f"{run.path}: its example ids differ from {runs[0].path}; "
                             "runs of one task must predict the same evaluation examples")
    preds = np.stack([f["pred"].to_numpy() for f in frames])
    return preds, frames[0]["label"].to_numpy(), ids


def class_probabilities(runs: Sequence[Run]) -> np.ndarray | None:
    """The runs' stored class probabilities as (n_seeds, n_examples, n_classes), examples in
    ``prediction_matrix`` order; None when the runs stored none."""
    frames = [r.predictions.sort_values("idx", kind="stable") for r in runs]
    columns = sorted((c for c in frames[0] if c.startswith("prob_")), key=lambda c: int(c[5:]))
    if not columns or any(not set(columns) <= set(f) for f in frames):
        return None
    return np.stack([f[columns].to_numpy(dtype=float) for f in frames])


def example_groups(runs: Sequence[Run]) -> np.ndarray | None:
    """Group ids (MultiRC questions) in ``prediction_matrix`` order, or None for ungrouped tasks."""
    first = runs[0].predictions
    return first.sort_values("idx", kind="stable")["group"].to_numpy() if "group" in first else None


def by_evaluation(runs: Sequence[Run]) -> dict[tuple[str, str, str], list[Run]]:
    """Group runs by (task, model, evaluation split), seeds ascending.

    Each run keeps the decisions of that split only (``scoring.decisions``: its prediction rows,
    or for ReCoRD one chosen entity per query).
    """
    groups: dict[tuple[str, str, str], list[Run]] = {}
    for run in sorted(runs, key=lambda r: of_record(r.record)):
        task = get_task(run.record["task"])
        for split, part in run.predictions.groupby("split", sort=False):
            key = (run.record["task"], run.record["model"], split)
            groups.setdefault(key, []).append(Run(run.record, scoring.decisions(task, split, part),
                                                  run.path))
    return groups


def primary_split(task_key: str, model: str, evaluations: dict) -> str | None:
    """The first of the task's evaluation splits this model's runs cover in ``by_evaluation``'s
    groups: a task's own evaluation (MNLI runs imported on the mismatched set alone have that)."""
    return next((s for s in get_task(task_key).eval_splits if (task_key, model, s) in evaluations), None)


def evaluation_label(task_key: str, split: str) -> str:
    """A table row's task label: the task key, plus the split's suffix when it has several
    (glue-mnli-m); a diagnostic set is labelled by its own key (superglue-axb)."""
    task = get_task(task_key)
    if split not in task.eval_splits:
        return task.evaluation_task(split).key
    suffix = task.eval_splits[split]
    return f"{task_key}-{suffix}" if suffix else task_key


def classification_groups(runs: Sequence[Run]):
    """(label, model, task, split, runs) of each evaluation with class predictions and >= 2 seeds.

    ReCoRD is left out too: its decisions are entity ids, not a fixed set of classes to vote on.
    """
    for (task_key, model, split), group in by_evaluation(runs).items():
        scored = get_task(task_key).evaluation_task(split)
        if scored.consistency_tolerance is None and not scored.ranks_entities and len(group) >= 2:
            yield evaluation_label(task_key, split), model, task_key, split, group


def n_classes(task_key: str, split: str, preds: np.ndarray) -> int:
    """Classes a vote runs over: the evaluated task's labels or choices (more if predictions say so)."""
    return max(get_task(task_key).evaluation_task(split).num_labels, int(preds.max()) + 1)


def lead_scorer(task_key: str, split: str) -> tuple[str, Callable | None, bool]:
    """The lead metric's table name, a function scoring one seed's predictions with it
    (``score(labels, preds[, groups])``, for ``uncertainty.resampled_scores``) and whether it
    needs the groups; no function for ReCoRD, whose score needs the candidates' texts."""
    task = get_task(task_key)
    scored = task.evaluation_task(split)
    name = task.metric_name(scored.lead_metric, split)
    if scored.ranks_entities:
        return name, None, False
    if scored.lead_metric in metrics.GROUP_METRICS:
        return name, metrics.GROUP_METRICS[scored.lead_metric], True
    return name, metrics.METRICS[scored.lead_metric], False


def resampled_lead_scores(group: Sequence[Run], task_key: str, split: str,
                          resamples: Sequence[np.ndarray]) -> np.ndarray | None:
    """Each seed's lead score on all examples (row 0) and on each example resample: (1 + B, N);
    None when the lead metric cannot be recomputed from the predictions (ReCoRD)."""
    _, score, grouped = lead_scorer(task_key, split)
    if score is None:
        return None
    preds, labels, _ = prediction_matrix(group)
    groups = example_groups(group) if grouped else None
    return uncertainty.resampled_scores(score, labels, preds, resamples, groups=groups)
