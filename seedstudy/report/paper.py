"""The reference study's tables, per (task, model, evaluation split): VAR over seeds and the
pairwise CON, ACC-CON and CON-PEAR, our all-seeds agreement and its curve over k, the lucky-seed
test and stability against training-set size. Runs in, DataFrames (numbers, unformatted) out;
``formatting`` lays them out and ``writing`` writes them.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..benchmark import metrics
from ..benchmark.tasks import get_task
from ..stats import acrosstasks, consistency, macro, uncertainty
from ..store.runs import Run
from .evaluations import (
    GROUP,
    by_evaluation,
    evaluation_label,
    example_groups,
    lead_scores,
    prediction_matrix,
    primary_split,
    seed_scores,
)


def variance_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Per (task, model, metric): macro summary over seeds, baseline, failed and degenerate counts."""
    scores = seed_scores(runs)
    rows = []
    for (task, model, metric), g in scores.groupby(GROUP + ["metric"], sort=False):
        summary = macro.macro_summary(g["value"].to_numpy())
        rows.append({"task": task, "model": model, "metric": metric, "lead": bool(g["lead"].iloc[0]),
                     **summary, "baseline": float(g["baseline"].iloc[0]),
                     "n_failed": int(g["failed"].sum()), "n_degenerate": int(g["degenerate"].sum())})
    return pd.DataFrame(rows)


def micro_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Per (task, model, evaluation split): the paper's pairwise metrics and our all-seeds ones.

    The reference study's (means over all seed pairs, ``consistency.con`` / ``acc_con`` /
    ``con_pear``): ``con`` and ``acc_con`` for classification, multiple choice and ReCoRD,
    ``con_pear`` for regression (STS-B), where ACC-CON is not defined. Ours: ``all_agree``
    (all N seeds agree), ``all_correct`` (all N right) and, for grouped tasks (MultiRC questions,
    AX-g pairs), ``group_all_agree``; regression adds ``pairwise_within_tol`` (two seeds within
    the task's tolerance, STS-B 0.5 on the 0-5 scale; ``all_agree`` uses the same tolerance) and
    the mean per-example spread. Tasks with several evaluation splits (MNLI matched and
    mismatched) get one row per split; COPA's prediction is the chosen option; ReCoRD's the entity
    chosen per query (``scoring.decisions``); diagnostic sets (AX-b, AX-g) get rows of their own.
    """
    rows = []
    for (task_key, model, split), group in by_evaluation(runs).items():
        scored = get_task(task_key).evaluation_task(split)
        tol = scored.consistency_tolerance
        preds, labels, _ = prediction_matrix(group)
        pairs, regression = len(group) >= 2, tol is not None
        groups = example_groups(group)
        rows.append({
            "task": evaluation_label(task_key, split), "task_key": scored.key, "split": split,
            "model": model, "n_seeds": len(group), "n_examples": preds.shape[1], "tolerance": tol,
            "con": consistency.con(preds) if pairs and not regression else np.nan,
            "acc_con": consistency.acc_con(preds, labels) if pairs and not regression else np.nan,
            "con_pear": consistency.con_pear(preds) if pairs and regression else np.nan,
            "all_agree": consistency.all_agree(preds, tol=tol),
            "all_correct": consistency.all_correct(preds, labels, tol=tol),
            "pairwise_within_tol": consistency.pairwise_agreement(preds, tol=tol) if pairs and regression
            else np.nan,
            "mean_accuracy": np.nan if regression else
            float(np.mean([metrics.accuracy(labels, p) for p in preds])),
            "mean_spread": float(consistency.per_example_spread(preds).mean()) if regression else np.nan,
            "group_all_agree": np.nan if groups is None else consistency.group_all_agree(preds, groups)})
    return pd.DataFrame(rows)


def paper_table(runs: Sequence[Run], micro: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reference study's table, per (task, model, evaluation split): the lead metric's mean,
    VAR (sample variance over seeds, ddof = 1) and std, with CON and ACC-CON (CON-PEAR for
    regression), the training-set size and the majority baseline. ``primary``: the task's first
    evaluation split the runs cover (False for MNLI's mismatched set beside its matched one, and for
    diagnostic sets, which share their host's training set and are not tasks of their own)."""
    micro = micro_table(runs) if micro is None else micro
    micro = micro.set_index(["task", "model"])
    evaluations = by_evaluation(runs)
    rows = []
    for (task_key, model, split), group in evaluations.items():
        task = get_task(task_key)
        lead = task.metric_name(task.evaluation_task(split).lead_metric, split)
        summary = macro.macro_summary([r.record["metrics"][lead] for r in group])
        label = evaluation_label(task_key, split)
        m = micro.loc[(label, model)]
        rows.append({"task": label, "model": model, "metric": lead, "n_seeds": summary["n"],
                     "mean": summary["mean"], "var": summary["var"], "std": summary["std"],
                     "con": m["con"], "acc_con": m["acc_con"], "con_pear": m["con_pear"],
                     "n_train": float(np.median([r.record.get("run", {}).get("n_train", np.nan) for r in group])),
                     "baseline": group[0].record["majority_baseline"].get(lead, np.nan),
                     "n_failed": sum(bool(r.record["failed"]) for r in group),
                     "primary": split == primary_split(task_key, model, evaluations)})
    return pd.DataFrame(rows)


def all_agree_curves(runs: Sequence[Run], *, seed: int = 0) -> pd.DataFrame:
    """Long table of all-seeds agreement vs number of seeds (2..N) for every (task, model, split):
    the expected value over seed subsets, its 95 % interval over examples, the range over subsets.
    At k = 2 the expected value is the paper's CON (and all-correct its ACC-CON)."""
    rows = []
    for (task_key, model, split), group in by_evaluation(runs).items():
        if len(group) < 2:
            continue
        preds, labels, _ = prediction_matrix(group)
        tol = get_task(task_key).evaluation_task(split).consistency_tolerance
        intervals = uncertainty.all_agree_curve_intervals(preds, labels, tol=tol, seed=seed,
                                                          groups=example_groups(group))
        for k, point in consistency.all_agree_curve(preds, labels, tol=tol, seed=seed).items():
            rows.append({"task": evaluation_label(task_key, split), "model": model, "n_seeds": k,
                         **point, **intervals[k]})
    return pd.DataFrame(rows)


def seed_by_task(runs: Sequence[Run]) -> dict[str, pd.DataFrame]:
    """Per model, the lead score of each seed on each task: a (task x seed) table over the seeds
    every task of that model has (tied integer seeds only; tasks with undefined scores left out)."""
    lead = lead_scores(runs)
    out = {}
    for model, g in lead.groupby("model", sort=False):
        g = g[g["seed"].map(lambda s: isinstance(s, (int, np.integer)))]
        wide = g.pivot_table(index="task", columns="seed", values="value", sort=False)
        wide = wide.dropna(axis=1).loc[lambda t: np.isfinite(t).all(axis=1)]
        if wide.shape[0] >= 2 and wide.shape[1] >= 3:
            out[model] = wide
    return out


def lucky_seed_table(scores: dict[str, pd.DataFrame], *, seed: int = 0) -> pd.DataFrame:
    """Per model: is some seed better across tasks? ``acrosstasks.lucky_seed_test`` on the
    seed-by-task scores (Kendall's W, Friedman's test, permutation p, the best seed by mean rank)."""
    rows = []
    for model, wide in scores.items():
        result = acrosstasks.lucky_seed_test(wide.to_numpy(), seed=seed)
        rows.append({"model": model, "tasks": ", ".join(wide.index), **result,
                     "best_seed": wide.columns[result["best"]],
                     "best_mean_rank": result["mean_ranks"][result["best"]]})
    return pd.DataFrame(rows)


STABILITY = {"var": "VAR", "con": "CON", "acc_con": "ACC-CON"}


SIZE_COLUMNS = ["model", "statistic", "n_tasks", "pearson", "pearson_low", "pearson_high", "spearman", "spearman_p"]


def size_table(paper: pd.DataFrame) -> pd.DataFrame:
    """Per model and statistic (VAR, CON, ACC-CON): its correlation across tasks with the log
    training-set size (``acrosstasks.size_correlation``), one point per task (its primary
    evaluation: a second split or a diagnostic set would count the same training set twice)."""
    rows = []
    for model, g in paper[paper["primary"]].groupby("model", sort=False):
        for column, name in STABILITY.items():
            result = acrosstasks.size_correlation(g["n_train"], g[column])
            rows.append({"model": model, "statistic": name, **result})
    return pd.DataFrame(rows, columns=SIZE_COLUMNS)


def run_index(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run with what traces a table cell to it: config hash, commit, precision, time."""
    return pd.DataFrame([{
        "task": r.record["task"], "model": r.record["model"], "seed": r.record["seed"],
        "lead_metric": r.record["lead_metric"], "score": r.record["metrics"][r.record["lead_metric"]],
        "failed": r.record["failed"], "config_hash": r.record["config_hash"],
        "precision": r.record["config"]["precision"],
        "git_commit": (r.record["provenance"]["git"]["commit"] or "")[:12],
        "wall_seconds": None if r.record.get("wall_seconds") is None else round(r.record["wall_seconds"], 1),
    } for r in runs])


def summarise(runs: Sequence[Run]) -> dict[str, pd.DataFrame]:
    """Every numeric table the paper needs, computed once: the paper's table, variance, micro
    metrics, all-seeds curves, lead scores, the runs."""
    if not runs:
        raise ValueError("no finished runs to report")
    micro = micro_table(runs)
    paper = paper_table(runs, micro)
    by_task = seed_by_task(runs)
    return {"paper": paper, "variance": variance_table(runs), "micro": micro,
            "curves": all_agree_curves(runs), "lead": lead_scores(runs), "seed_by_task": by_task,
            "lucky_seed": lucky_seed_table(by_task), "size": size_table(paper), "runs": run_index(runs)}
