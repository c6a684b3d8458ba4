"""From finished runs to the paper's tables: per-seed scores, VAR, CON, ACC-CON, CON-PEAR.

The builders take a list of ``runs.Run`` and return DataFrames (numbers, unformatted); the
writers at the bottom format them as LaTeX and Markdown. Figures live in ``seedstudy.figures``.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import acrosstasks, metrics, scoring, uncertainty
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


def evaluation_label(task_key: str, split: str) -> str:
    """A table row's task label: the task key, plus the split's suffix when it has several
    (glue-mnli-m); a diagnostic set is labelled by its own key (superglue-axb)."""
    task = get_task(task_key)
    if split not in task.eval_splits:
        return task.evaluation_task(split).key
    suffix = task.eval_splits[split]
    return f"{task_key}-{suffix}" if suffix else task_key


def micro_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Per (task, model, evaluation split): the paper's pairwise metrics and our all-seeds ones.

    The reference study's (means over all seed pairs, ``metrics.con`` / ``acc_con`` /
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
            "con": metrics.con(preds) if pairs and not regression else np.nan,
            "acc_con": metrics.acc_con(preds, labels) if pairs and not regression else np.nan,
            "con_pear": metrics.con_pear(preds) if pairs and regression else np.nan,
            "all_agree": metrics.all_agree(preds, tol=tol),
            "all_correct": metrics.all_correct(preds, labels, tol=tol),
            "pairwise_within_tol": metrics.pairwise_agreement(preds, tol=tol) if pairs and regression
            else np.nan,
            "mean_accuracy": np.nan if regression else
            float(np.mean([metrics.accuracy(labels, p) for p in preds])),
            "mean_spread": float(metrics.per_example_spread(preds).mean()) if regression else np.nan,
            "group_all_agree": np.nan if groups is None else metrics.group_all_agree(preds, groups)})
    return pd.DataFrame(rows)


def paper_table(runs: Sequence[Run], micro: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reference study's table, per (task, model, evaluation split): the lead metric's mean,
    VAR (sample variance over seeds, ddof = 1) and std, with CON and ACC-CON (CON-PEAR for
    regression), the training-set size and the majority baseline. ``primary``: the task's first
    evaluation split (False for MNLI's mismatched set and for diagnostic sets, which share their
    host's training set and are not tasks of their own)."""
    micro = micro_table(runs) if micro is None else micro
    micro = micro.set_index(["task", "model"])
    rows = []
    for (task_key, model, split), group in by_evaluation(runs).items():
        task = get_task(task_key)
        lead = task.metric_name(task.evaluation_task(split).lead_metric, split)
        summary = metrics.macro_summary([r.record["metrics"][lead] for r in group])
        label = evaluation_label(task_key, split)
        m = micro.loc[(label, model)]
        rows.append({"task": label, "model": model, "metric": lead, "n_seeds": summary["n"],
                     "mean": summary["mean"], "var": summary["var"], "std": summary["std"],
                     "con": m["con"], "acc_con": m["acc_con"], "con_pear": m["con_pear"],
                     "n_train": float(np.median([r.record.get("run", {}).get("n_train", np.nan) for r in group])),
                     "baseline": group[0].record["majority_baseline"].get(lead, np.nan),
                     "n_failed": sum(bool(r.record["failed"]) for r in group),
                     "primary": split == next(iter(task.eval_splits))})
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
        for k, point in metrics.all_agree_curve(preds, labels, tol=tol, seed=seed).items():
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


def size_table(paper: pd.DataFrame) -> pd.DataFrame:
    """Per model and statistic (VAR, CON, ACC-CON): its correlation across tasks with the log
    training-set size (``acrosstasks.size_correlation``), one point per task (its primary
    evaluation: a second split or a diagnostic set would count the same training set twice)."""
    rows = []
    for model, g in paper[paper["primary"]].groupby("model", sort=False):
        for column, name in STABILITY.items():
            result = acrosstasks.size_correlation(g["n_train"], g[column])
            rows.append({"model": model, "statistic": name, **result})
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
def points(x: float, digits: int = 1) -> str:
    """A score in points (x100); undefined values print as an en dash."""
    return "–" if not np.isfinite(x) else f"{100 * x:.{digits}f}"


def squared_points(x: float) -> str:
    """A variance in points squared (x1e4), two decimals; undefined values print as an en dash."""
    return "–" if not np.isfinite(x) else f"{1e4 * x:.2f}"


def coefficient(x: float) -> str:
    """A coefficient (kappa, correlation) with two decimals; undefined as an en dash."""
    return "–" if not np.isfinite(x) else f"{x:.2f}"


def format_interval(value: float, low: float, high: float) -> str:
    """``value [low, high]`` in points."""
    return f"{points(value)} [{points(low)}, {points(high)}]"


def format_variance(table: pd.DataFrame) -> pd.DataFrame:
    """Human-readable variance table: scores in points (x100), variance in points squared."""
    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"],
        "Metric": [m + (" (lead)" if lead else "") for m, lead in zip(table["metric"], table["lead"])],
        "Seeds": table["n"],
        "Mean ± std": [f"{points(m)} ± {points(s)}" for m, s in zip(table["mean"], table["std"])],
        "Var": table["var"].map(squared_points),
        "Min": table["min"].map(points), "Max": table["max"].map(points),
        "Range": table["range"].map(points), "Majority": table["baseline"].map(points),
        "Failed": [f"{f}/{n}" for f, n in zip(table["n_failed"], table["n"])],
    })


def format_paper(table: pd.DataFrame) -> pd.DataFrame:
    """The reference study's table, formatted: scores in points (x100), VAR in points squared,
    CON and ACC-CON in percent, CON-PEAR x100."""
    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"], "Metric": table["metric"],
        "Seeds": table["n_seeds"], "Mean": table["mean"].map(points),
        "VAR": table["var"].map(squared_points),
        "Std": table["std"].map(points), "CON": table["con"].map(points),
        "ACC-CON": table["acc_con"].map(points), "CON-PEAR": table["con_pear"].map(points),
        "Train": table["n_train"].map(lambda n: "–" if not np.isfinite(n) else f"{n:,.0f}"),
    })


def format_all_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """Our all-seeds agreement table (not the paper's CON), shares in percent."""
    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"], "Seeds": table["n_seeds"],
        "Examples": table["n_examples"],
        "All seeds agree": table["all_agree"].map(points),
        "All seeds correct": table["all_correct"].map(points),
        "Pairs within tol.": table["pairwise_within_tol"].map(points),
        "Mean accuracy": table["mean_accuracy"].map(points),
        "Per-group all agree": table["group_all_agree"].map(points),
        "Agreement rule": [_rule(t, get_task(k)) for t, k in zip(table["tolerance"].astype(float),
                                                                  table["task_key"])],
    })


def format_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """All-seeds agreement against the number of seeds, formatted: expected values with intervals, in percent."""
    def interval(name: str) -> list[str]:
        return [format_interval(*r) for r in curves[[name, f"{name}_low", f"{name}_high"]].to_numpy()]

    table = pd.DataFrame({"Task": curves["task"], "Model": curves["model"], "Seeds": curves["n_seeds"],
                          "All agree [95 % CI]": interval("all_agree"),
                          "Range over subsets": [f"{points(lo)}–{points(hi)}" for lo, hi in
                                                 zip(curves["subsets_low"], curves["subsets_high"])]})
    if "all_correct_low" in curves:
        table["All correct [95 % CI]"] = interval("all_correct")
    return table


def format_lucky_seed(table: pd.DataFrame) -> pd.DataFrame:
    """The lucky-seed test, formatted."""
    return pd.DataFrame({
        "Model": table["model"], "Tasks": table["n_tasks"], "Seeds": table["n_seeds"],
        "Kendall W": table["kendall_w"].map(lambda w: f"{w:.2f}"),
        "Friedman chi2": table["friedman_chi2"].map(lambda c: f"{c:.2f}"),
        "p (chi2)": table["p_asymptotic"].map(lambda p: f"{p:.3f}"),
        "p (permutation)": table["p_permutation"].map(lambda p: f"{p:.3f}"),
        "Best seed (mean rank)": [f"{s} ({r:.2f})" for s, r in zip(table["best_seed"], table["best_mean_rank"])]})


def format_size(table: pd.DataFrame) -> pd.DataFrame:
    """The stability-vs-size correlations, formatted."""
    return pd.DataFrame({
        "Model": table["model"], "Statistic": table["statistic"], "Tasks": table["n_tasks"],
        "Pearson r (log size) [95 % CI]": [f"{coefficient(r)} [{coefficient(lo)}, {coefficient(hi)}]" for r, lo, hi in
                                           table[["pearson", "pearson_low", "pearson_high"]].to_numpy()],
        "Spearman rho": table["spearman"].map(coefficient),
        "p (exact permutation)": table["spearman_p"].map(lambda p: "–" if not np.isfinite(p) else f"{p:.3f}")})


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
    "paper": "The reference study's metrics (Zhou et al., 2025), per task: the lead metric's mean over "
             "seeds, VAR (sample variance, ddof = 1, points squared) and std (points); CON: share of "
             "examples two seeds label alike, ACC-CON: share both get right, CON-PEAR (regression): "
             "Pearson correlation of two seeds' predictions, each averaged over all seed pairs (percent, "
             "CON-PEAR x100); Train: training examples per run.",
    "variance": "Variance across seeds, every metric. Scores in points (x100), variance in points squared "
                "(ddof = 1); Majority: the majority-class baseline; Failed: runs at or below it (or undefined).",
    "all_seeds": "All-seeds agreement (our extension, not the paper's CON: it falls as seeds are added): "
                 "share of evaluation examples on which all N seeds agree, all N are right, and for "
                 "regression the mean share of seed pairs within the tolerance, in percent.",
    "all_seeds_curve": "All-seeds agreement against the number of seeds k: the expected value over all "
                       "subsets of k seeds (k = 2 is the paper's CON) with its 95 % bootstrap interval over "
                       "examples (clustered by group where the task has groups), the range (2.5th-97.5th "
                       "percentile) over the subsets themselves, and the same for all-correct, in percent.",
    "lucky_seed": "Is there a lucky seed? The same seeds on every task: Kendall's W of the seeds' "
                  "within-task ranks of the lead metric (0: no common order, 1: all tasks agree), "
                  "Friedman's chi-square with its asymptotic p-value and a Monte Carlo permutation "
                  "p-value (ranks shuffled within tasks), and the seed with the best mean rank (of Seeds).",
    "size": "Stability against training-set size across tasks: Pearson r of each statistic with "
            "log10(training examples) and its Fisher-z 95 % interval (assumes bivariate normal pairs), "
            "Spearman's rho with its exact permutation p-value. Tasks are the sample: few tasks, wide "
            "intervals.",
    "runs": "Every run behind the tables, with its configuration hash and code version.",
}


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


def build_tables(summary: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The paper's formatted tables (from ``summarise``), keyed by file name, the paper's first."""
    return {"paper": format_paper(summary["paper"]),
            "variance": format_variance(summary["variance"]),
            "all_seeds": format_all_seeds(summary["micro"]),
            **({} if summary["curves"].empty else {"all_seeds_curve": format_curves(summary["curves"])}),
            **({} if summary["lucky_seed"].empty else {"lucky_seed": format_lucky_seed(summary["lucky_seed"])}),
            "size": format_size(summary["size"]), "runs": summary["runs"]}


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Write every table as LaTeX and Markdown under ``out_dir``."""
    return [p for name, t in tables.items() for p in write_table(t, name, out_dir, CAPTIONS[name])]
