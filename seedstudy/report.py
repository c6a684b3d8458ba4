"""From finished runs to the paper's tables: per-seed scores, variance and consistency.

The builders take a list of ``runs.Run`` and return DataFrames (numbers, unformatted); the
writers at the bottom format them as LaTeX and Markdown. Figures live in ``seedstudy.figures``.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import metrics, scoring, uncertainty
from .runs import Run
from .seeds import of_record
from .tasks import get_task

GROUP = ["task", "model"]
SKIPPED_FILE = "skipped.json"


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


def variance_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Per (task, model, metric): macro summary over seeds, baseline, failed and degenerate counts."""
    scores = seed_scores(runs)
    rows = []
    for (task, model, metric), g in scores.groupby(GROUP + ["metric"], sort=False):
        summary = metrics.macro_summary(g["value"].to_numpy())
        rows.append({"task": task, "model": model, "metric": metric, "lead": bool(g["lead"].iloc[0]),
                     **summary, "baseline": float(g["baseline"].iloc[0]),
                     "n_failed": int(g["failed"].sum()), "n_degenerate": int(g["degenerate"].sum())})
    return pd.DataFrame(rows)


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


def example_groups(runs: Sequence[Run]) -> np.ndarray | None:
    """Group ids (MultiRC questions) in ``prediction_matrix`` order, or None for ungrouped tasks."""
    first = runs[0].predictions
    return first.sort_values("idx", kind="stable")["group"].to_numpy() if "group" in first else None


def _by_evaluation(runs: Sequence[Run]) -> dict[tuple[str, str, str], list[Run]]:
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


def _label(task_key: str, split: str) -> str:
    """A table row's task label: the task key, plus the split's suffix when it has several
    (glue-mnli-m); a diagnostic set is labelled by its own key (superglue-axb)."""
    task = get_task(task_key)
    if split not in task.eval_splits:
        return task.evaluation_task(split).key
    suffix = task.eval_splits[split]
    return f"{task_key}-{suffix}" if suffix else task_key


def consistency_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Per (task, model, evaluation split): consistency, correct consistency, pairwise agreement.

    Tasks with several evaluation splits (MNLI matched / mismatched) get one row per split.

    Regression tasks use the task's tolerance (STS-B: predictions within 0.5 on the 0-5 scale)
    and also report the mean per-example spread (max - min across seeds). Grouped tasks (MultiRC)
    add ``group_consistency``: share of questions whose every answer option all seeds label alike.
    Multiple choice (COPA): the prediction is the chosen option, so consistency is on the choice.
    ReCoRD: on the entity chosen per query (see ``scoring.decisions``). Diagnostic sets (AX-b,
    AX-g after SuperGLUE RTE) get rows of their own; AX-g's groups are its minimal pairs.
    """
    rows = []
    for (task_key, model, split), group in _by_evaluation(runs).items():
        scored = get_task(task_key).evaluation_task(split)
        tol = scored.consistency_tolerance
        preds, labels, _ = prediction_matrix(group)
        enough = len(group) >= 2
        row = {"task": _label(task_key, split), "task_key": scored.key, "split": split,
               "model": model, "n_seeds": len(group),
               "n_examples": preds.shape[1], "tolerance": tol,
               "consistency": metrics.consistency(preds, tol=tol),
               "correct_consistency": metrics.correct_consistency(preds, labels, tol=tol),
               "pairwise_agreement": metrics.pairwise_agreement(preds, tol=tol) if enough else np.nan,
               "mean_accuracy": float(np.mean([metrics.accuracy(labels, p) for p in preds]))
               if tol is None else np.nan,
               "mean_spread": float(metrics.per_example_spread(preds).mean()) if tol else np.nan}
        groups = example_groups(group)
        row["group_consistency"] = (np.nan if groups is None
                                    else metrics.group_consistency(preds, groups))
        rows.append(row)
    return pd.DataFrame(rows)


def consistency_curves(runs: Sequence[Run], *, seed: int = 0) -> pd.DataFrame:
    """Long table of consistency vs number of seeds (2..N) for every (task, model, split): the
    expected value over seed subsets, its 95 % interval over examples, the range over subsets."""
    rows = []
    for (task_key, model, split), group in _by_evaluation(runs).items():
        if len(group) < 2:
            continue
        preds, labels, _ = prediction_matrix(group)
        tol = get_task(task_key).evaluation_task(split).consistency_tolerance
        intervals = uncertainty.consistency_curve_intervals(preds, labels, tol=tol, seed=seed)
        for k, point in metrics.consistency_curve(preds, labels, tol=tol, seed=seed).items():
            rows.append({"task": _label(task_key, split), "model": model, "n_seeds": k,
                         **point, **intervals[k]})
    return pd.DataFrame(rows)


def lead_scores(runs: Sequence[Run]) -> pd.DataFrame:
    """Per-seed lead-metric scores, for the distribution figure."""
    scores = seed_scores(runs)
    return scores[scores["lead"]].reset_index(drop=True)


def skipped_tasks(results_dir: Path, study: str) -> list[dict]:
    """Tasks the study runner skipped (with the reason), as recorded beside the runs."""
    path = results_dir / study / SKIPPED_FILE
    return json.loads(path.read_text()) if path.is_file() else []


# ---------------------------------------------------------------- formatting and writing
def _pts(x: float, digits: int = 1) -> str:
    """A score in points (x100); undefined values print as an en dash."""
    return "–" if not np.isfinite(x) else f"{100 * x:.{digits}f}"


def _interval(value: float, low: float, high: float) -> str:
    """``value [low, high]`` in points."""
    return f"{_pts(value)} [{_pts(low)}, {_pts(high)}]"


def format_variance(table: pd.DataFrame) -> pd.DataFrame:
    """Human-readable variance table: scores in points (x100), variance in points squared."""
    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"],
        "Metric": [m + (" (lead)" if lead else "") for m, lead in zip(table["metric"], table["lead"])],
        "Seeds": table["n"],
        "Mean ± std": [f"{_pts(m)} ± {_pts(s)}" for m, s in zip(table["mean"], table["std"])],
        "Var": ["–" if not np.isfinite(v) else f"{1e4 * v:.2f}" for v in table["var"]],
        "Min": table["min"].map(_pts), "Max": table["max"].map(_pts),
        "Range": table["range"].map(_pts), "Majority": table["baseline"].map(_pts),
        "Failed": [f"{f}/{n}" for f, n in zip(table["n_failed"], table["n"])],
    })


def format_consistency(table: pd.DataFrame) -> pd.DataFrame:
    """Human-readable consistency table, shares in percent."""
    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"], "Seeds": table["n_seeds"],
        "Examples": table["n_examples"],
        "Consistency": table["consistency"].map(_pts),
        "Correct consistency": table["correct_consistency"].map(_pts),
        "Pairwise agreement": table["pairwise_agreement"].map(_pts),
        "Mean accuracy": table["mean_accuracy"].map(_pts),
        "Per-group consistency": table["group_consistency"].map(_pts),
        "Agreement rule": [_rule(t, get_task(k)) for t, k in zip(table["tolerance"].astype(float),
                                                                  table["task_key"])],
    })


def format_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """Human-readable consistency-vs-seeds table: expected values with intervals, in percent."""
    def interval(name: str) -> list[str]:
        return [_interval(*r) for r in curves[[name, f"{name}_low", f"{name}_high"]].to_numpy()]

    table = pd.DataFrame({"Task": curves["task"], "Model": curves["model"], "Seeds": curves["n_seeds"],
                          "Consistency [95 % CI]": interval("consistency"),
                          "Range over subsets": [f"{_pts(lo)}–{_pts(hi)}" for lo, hi in
                                                 zip(curves["subsets_low"], curves["subsets_high"])]})
    if "correct_consistency_low" in curves:
        table["Correct consistency [95 % CI]"] = interval("correct_consistency")
    return table


def _rule(tolerance: float, task) -> str:
    """How two predictions are judged to agree, for the table's last column."""
    if np.isfinite(tolerance):
        return f"within ±{tolerance:g}"
    if task.problem_type == "multiple_choice":
        return "same choice"
    if task.ranks_entities:
        return "same chosen entity per query (gold aliases count as one)"
    return f"same label; group = {task.grouped_by}" if task.grouped_by else "same label"


def write_table(table: pd.DataFrame, name: str, out_dir: Path, caption: str) -> list[Path]:
    """Write a formatted table as ``<name>.tex`` (booktabs) and ``<name>.md``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    styled = table.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    tex = styled.to_latex(
        caption=caption.replace("%", r"\%"), label=f"tab:{name}", hrules=True, position="t").replace("±", r"$\pm$")
    tex = tex.replace("–", "--")
    # a wide table shrinks to the line width, a narrow one keeps its size (graphicx's \width)
    tex = tex.replace(r"\begin{tabular}", r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%"
                      "\n" r"\begin{tabular}").replace(r"\end{tabular}", r"\end{tabular}}")
    md = f"{caption}\n\n{table.to_markdown(index=False)}\n"
    paths = [out_dir / f"{name}.tex", out_dir / f"{name}.md"]
    paths[0].write_text(tex)
    paths[1].write_text(md)
    return paths


def run_index(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run with what traces a table cell to it: config hash, commit, precision, time."""
    return pd.DataFrame([{
        "task": r.record["task"], "model": r.record["model"], "seed": r.record["seed"],
        "lead_metric": r.record["lead_metric"], "score": r.record["metrics"][r.record["lead_metric"]],
        "failed": r.record["failed"], "config_hash": r.record["config_hash"],
        "precision": r.record["config"]["precision"],
        "git_commit": (r.record["provenance"]["git"]["commit"] or "")[:12],
        "wall_seconds": round(r.record["wall_seconds"], 1),
    } for r in runs])


CAPTIONS = {
    "variance": "Variance across seeds. Scores in points (x100), variance in points squared; "
                "Majority: the majority-class baseline; Failed: runs at or below it (or undefined).",
    "consistency": "Consistency across seeds: share of evaluation examples on which all seeds agree "
                   "(Consistency), all seeds are right (Correct consistency), and the mean share on "
                   "which two seeds agree (Pairwise agreement), in percent.",
    "consistency_curve": "Consistency against the number of seeds k: the expected value over all "
                         "subsets of k seeds with its 95 % bootstrap interval over examples, the "
                         "range (2.5th-97.5th percentile) over the subsets themselves, and the same "
                         "expected value for correct consistency, in percent.",
    "runs": "Every run behind the tables, with its configuration hash and code version.",
}


def summarise(runs: Sequence[Run]) -> dict[str, pd.DataFrame]:
    """Every numeric table the paper needs, computed once: variance, consistency, curves, lead scores, runs."""
    if not runs:
        raise ValueError("no finished runs to report")
    return {"variance": variance_table(runs), "consistency": consistency_table(runs),
            "curves": consistency_curves(runs), "lead": lead_scores(runs), "runs": run_index(runs)}


def build_tables(summary: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The paper's formatted tables (from ``summarise``), keyed by file name."""
    return {"variance": format_variance(summary["variance"]),
            "consistency": format_consistency(summary["consistency"]),
            **({} if summary["curves"].empty else {"consistency_curve": format_curves(summary["curves"])}),
            "runs": summary["runs"]}


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Write every table as LaTeX and Markdown under ``out_dir``."""
    return [p for name, t in tables.items() for p in write_table(t, name, out_dir, CAPTIONS[name])]
