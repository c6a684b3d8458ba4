"""Beyond the paper, per task: how sure the numbers are, how the seeds agree, which examples flip,
and whether ensembles buy stability back. From finished runs to tables (DataFrames).

The statistics themselves are pure functions in ``agreement``, ``uncertainty`` and
``ensembles``; this module only gathers each (task, model, evaluation split)'s prediction
matrix (``report._by_evaluation``) and lays the results out. Agreement, instability and ensembles
are defined for class predictions, so regression (STS-B) and entity ranking (ReCoRD) are left
out of those tables.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from . import agreement, compare, data, ensembles, metrics, uncertainty
from .report import _by_evaluation, _interval, _label, consistency_table, prediction_matrix, seed_scores
from .report import _pts as _pct  # a share in percent, one decimal; undefined as an en dash
from .runs import Run
from .tasks import get_task


def _classification_groups(runs: Sequence[Run]):
    """(label, model, task, split, runs) of each evaluation with class predictions and >= 2 seeds.

    ReCoRD is left out too: its decisions are entity ids, not a fixed set of classes to vote on.
    """
    for (task_key, model, split), group in _by_evaluation(runs).items():
        scored = get_task(task_key).evaluation_task(split)
        if scored.consistency_tolerance is None and not scored.ranks_entities and len(group) >= 2:
            yield _label(task_key, split), model, task_key, split, group


def _n_classes(task_key: str, split: str, preds: np.ndarray) -> int:
    """Classes a vote runs over: the evaluated task's labels or choices (more if predictions say so)."""
    return max(get_task(task_key).evaluation_task(split).num_labels, int(preds.max()) + 1)


def score_intervals(runs: Sequence[Run], *, n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per (task, model, lead metric): mean and std over seeds, each with a seed-bootstrap 95 % interval."""
    scores = seed_scores(runs)
    rows = []
    for (task, model, metric), g in scores[scores["lead"]].groupby(["task", "model", "metric"], sort=False):
        values = g["value"].to_numpy(dtype=float)
        if len(values) < 2 or not np.all(np.isfinite(values)):
            continue
        mean = uncertainty.mean_interval(values, n_resamples=n_resamples, seed=seed)
        std = uncertainty.std_interval(values, n_resamples=n_resamples, seed=seed)
        rows.append({"task": task, "model": model, "metric": metric, "n_seeds": len(values),
                     "mean": mean["value"], "mean_low": mean["low"], "mean_high": mean["high"],
                     "std": std["value"], "std_low": std["low"], "std_high": std["high"]})
    return pd.DataFrame(rows)


def consistency_intervals(runs: Sequence[Run], *, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per evaluation: consistency, correct consistency and pairwise agreement with 95 % intervals
    from resampling examples and from resampling seeds."""
    statistics = {"consistency": lambda p, y: metrics.consistency(p),
                  "correct_consistency": lambda p, y: metrics.correct_consistency(p, y),
                  "pairwise_agreement": lambda p, y: metrics.pairwise_agreement(p)}
    rows = []
    for label, model, _, _, group in _classification_groups(runs):
        preds, labels, _ = prediction_matrix(group)
        for name, statistic in statistics.items():
            row = {"task": label, "model": model, "statistic": name}
            for over in ("examples", "seeds"):
                ci = uncertainty.bootstrap_interval(statistic, preds, labels, over=over,
                                                    n_resamples=n_resamples, seed=seed)
                row.update(value=ci["value"], **{f"{over}_low": ci["low"], f"{over}_high": ci["high"]})
            rows.append(row)
    return pd.DataFrame(rows)


def expected_max_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Per (task, model): expected best lead score among n = 1..N seeds (Dodge et al., 2019)."""
    scores = seed_scores(runs)
    rows = []
    for (task, model, metric), g in scores[scores["lead"]].groupby(["task", "model", "metric"], sort=False):
        values = g["value"].to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):
            continue
        for n, point in uncertainty.expected_max_curve(values).items():
            rows.append({"task": task, "model": model, "metric": metric, "n_seeds": n, **point})
    return pd.DataFrame(rows)


def agreement_table(runs: Sequence[Run]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per evaluation: Fleiss' kappa, mean Cohen's kappa and churn, and how churn relates to the
    accuracy difference of a pair; and the long table of every pair."""
    from scipy.stats import spearmanr

    rows, pairs = [], []
    for label, model, _, _, group in _classification_groups(runs):
        preds, labels, _ = prediction_matrix(group)
        table = agreement.pair_table(preds, labels, seeds=[r.record["seed"] for r in group])
        pairs.append(table.assign(task=label, model=model))
        varied = table["accuracy_diff"].nunique() > 1 and table["churn"].nunique() > 1
        rows.append({"task": label, "model": model, "n_seeds": len(group),
                     "fleiss_kappa": agreement.fleiss_kappa(preds),
                     "mean_cohen_kappa": float(table["cohen_kappa"].mean()),
                     "mean_churn": float(table["churn"].mean()), "max_churn": float(table["churn"].max()),
                     "mean_accuracy_diff": float(table["accuracy_diff"].mean()),
                     "churn_vs_accuracy_diff_spearman":
                         float(spearmanr(table["churn"], table["accuracy_diff"]).statistic)
                         if len(table) >= 3 and varied else np.nan})
    return pd.DataFrame(rows), (pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame())


def example_table(runs: Sequence[Run], data_dir: str | None = None) -> pd.DataFrame:
    """One row per evaluated example: vote entropy and flip rate across seeds, label, majority
    prediction, mean confidence (the winning class's probability, averaged over seeds) and
    input length in words (when the evaluation data can be read)."""
    frames = []
    for label, model, task_key, split, group in _classification_groups(runs):
        preds, labels, ids = prediction_matrix(group)
        n_classes = _n_classes(task_key, split, preds)
        frame = pd.DataFrame({"task": label, "model": model, "task_key": task_key, "split": split,
                              "idx": ids, "label": labels,
                              "majority": agreement.majority_vote(preds, n_classes),
                              "vote_entropy": agreement.vote_entropy(preds, n_classes),
                              "flip_rate": agreement.flip_rate(preds),
                              "share_right": (preds == labels).mean(axis=0),
                              "confidence": _confidence(group)})
        frame["length"] = frame["idx"].map(_lengths(task_key, split, data_dir))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _confidence(group: Sequence[Run]) -> np.ndarray:
    """Mean over seeds of each example's top class probability (NaN when runs stored none)."""
    frames = [r.predictions.sort_values("idx", kind="stable") for r in group]
    columns = [c for c in frames[0] if c.startswith("prob_")]
    if not columns:
        return np.full(len(frames[0]), np.nan)
    return np.mean([f[columns].to_numpy().max(axis=1) for f in frames], axis=0)


@lru_cache(maxsize=32)
def _example_inputs(task_key: str, split: str, data_dir: str | None) -> dict:
    """Each example's model inputs by id: one (first, second) text pair per choice (one for
    non-multiple-choice tasks); {} when the split cannot be read here."""
    task = get_task(task_key)
    scored = task.evaluation_task(split)
    try:
        frame = data.load_split(scored, split if split in task.eval_splits else "validation", data_dir)
    except (FileNotFoundError, ValueError, RuntimeError, OSError):
        return {}
    first, second = data.render_inputs(scored, frame)
    pairs = list(zip(first, second or [None] * len(first)))
    k = max(len(scored.choice_fields), 1)
    return {idx: pairs[i * k:(i + 1) * k] for i, idx in enumerate(frame["idx"])}


def _lengths(task_key: str, split: str, data_dir: str | None) -> dict:
    """Input length in words per example id (multiple choice: the mean over its choices)."""
    return {idx: float(np.mean([len(a.split()) + len((b or "").split()) for a, b in pairs]))
            for idx, pairs in _example_inputs(task_key, split, data_dir).items()}


def with_text(examples: pd.DataFrame, data_dir: str | None = None, width: int = 140) -> pd.DataFrame:
    """The examples with their input text (segments joined by `` || ``, choices by `` // ``),
    shortened to ``width`` characters, read from the data."""
    texts = []
    for key, split, idx in examples[["task_key", "split", "idx"]].itertuples(index=False):
        pairs = _example_inputs(key, split, data_dir).get(idx, [])
        text = " // ".join(a if b is None else f"{a} || {b}" for a, b in pairs)
        texts.append(text if len(text) <= width else text[:width - 1] + "…")
    return examples.assign(text=texts)


def instability_relations(examples: pd.DataFrame) -> pd.DataFrame:
    """Per (task, model): how flip rate relates to confidence and length (Spearman), and by label."""
    from scipy.stats import spearmanr

    def rho(x: pd.Series, y: pd.Series) -> float:
        ok = x.notna() & y.notna()
        return float(spearmanr(x[ok], y[ok]).statistic) if ok.sum() >= 3 and x[ok].nunique() > 1 \
            and y[ok].nunique() > 1 else np.nan

    rows = []
    for (task, model), g in examples.groupby(["task", "model"], sort=False):
        row = {"task": task, "model": model, "n_examples": len(g),
               "mean_flip_rate": float(g["flip_rate"].mean()),
               "share_ever_flipped": float((g["flip_rate"] > 0).mean()),
               "flip_vs_confidence": rho(g["flip_rate"], g["confidence"]),
               "flip_vs_length": rho(g["flip_rate"], g["length"])}
        row.update({f"flip_rate_label_{k}": float(v) for k, v in g.groupby("label")["flip_rate"].mean().items()})
        rows.append(row)
    return pd.DataFrame(rows)


def most_unstable(examples: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The ``top`` examples per task with the highest vote entropy (ties: lowest confidence)."""
    ranked = examples.sort_values(["task", "model", "vote_entropy", "confidence"],
                                  ascending=[True, True, False, True], kind="stable")
    return ranked.groupby(["task", "model"], sort=False).head(top).reset_index(drop=True)


def ensemble_table(runs: Sequence[Run], *, splits: int = 20, seed: int = 0) -> pd.DataFrame:
    """Per evaluation: accuracy and between-ensemble consistency of majority votes of k seeds."""
    rows = []
    for label, model, task_key, split, group in _classification_groups(runs):
        if len(group) < 2:
            continue
        preds, labels, _ = prediction_matrix(group)
        n_classes = _n_classes(task_key, split, preds)
        for k, point in ensembles.ensemble_curve(preds, labels, splits=splits, seed=seed,
                                                 n_classes=n_classes).items():
            rows.append({"task": label, "model": model, "k": k, **point})
    return pd.DataFrame(rows)


def config_difference(runs_a: Sequence[Run], runs_b: Sequence[Run]) -> str:
    """What differs between two sets of runs' training configurations, e.g. ``learning_rate 0.0001 -> 5e-05``."""
    from dataclasses import MISSING, fields

    from .train import TrainConfig  # here, not at the top: it loads torch

    # a field a run's record lacks was added later: that run trained with its default
    defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}

    def settings(runs: Sequence[Run]) -> dict:
        values: dict = {}
        for run in runs:
            for key, value in {**defaults, **run.record["config"]}.items():
                values.setdefault(key, set()).add(repr(value))
        return {k: " / ".join(sorted(v)) for k, v in values.items()}

    a, b = settings(runs_a), settings(runs_b)
    changed = [f"{k} {a.get(k, '-')} -> {b.get(k, '-')}" for k in sorted(a.keys() | b.keys())
               if a.get(k) != b.get(k)]
    return "; ".join(changed) or "same configuration"


def comparison_table(runs_a: Sequence[Run], runs_b: Sequence[Run], *, seed: int = 0) -> pd.DataFrame:
    """Configuration A against B on every (task, model, lead metric) both have with >= 2 seeds:
    means, difference with bootstrap interval, permutation p-value, ASO both ways (``compare``),
    each side's consistency, and what differs between the two configurations."""
    scores_a, scores_b = seed_scores(runs_a), seed_scores(runs_b)
    # each task's first evaluation split (MNLI: matched); diagnostic sets have keys of their own
    cons_a = consistency_table(runs_a).groupby(["task_key", "model"])["consistency"].first()
    cons_b = consistency_table(runs_b).groupby(["task_key", "model"])["consistency"].first()
    rows = []
    for (task, model, metric), a in scores_a[scores_a["lead"]].groupby(["task", "model", "metric"], sort=False):
        b = scores_b[(scores_b["task"] == task) & (scores_b["model"] == model) & (scores_b["metric"] == metric)]
        va, vb = a["value"].to_numpy(float), b["value"].to_numpy(float)
        if min(len(va), len(vb)) < 2 or not np.all(np.isfinite(np.r_[va, vb])):
            continue
        result = compare.compare(va, vb, seed=seed)
        changed = config_difference([r for r in runs_a if (r.record["task"], r.record["model"]) == (task, model)],
                                    [r for r in runs_b if (r.record["task"], r.record["model"]) == (task, model)])
        rows.append({"task": task, "model": model, "metric": metric, **result,
                     "consistency_a": cons_a.get((task, model), np.nan),
                     "consistency_b": cons_b.get((task, model), np.nan), "changed": changed})
    return pd.DataFrame(rows)


def format_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """Human-readable comparison table: points, p-value, ASO epsilons."""
    def verdict(row) -> str:
        if row["aso_a_better"] < 0.5 and row["permutation_p"] < 0.05:
            return "A better"
        if row["aso_b_better"] < 0.5 and row["permutation_p"] < 0.05:
            return "B better"
        return "no clear winner"

    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"], "Metric": table["metric"],
        "Seeds": [f"{a}/{b}" for a, b in zip(table["n_a"], table["n_b"])],
        "A": table["mean_a"].map(_pct), "B": table["mean_b"].map(_pct),
        "A - B (95 CI)": [_interval(*r) for r in table[["difference", "difference_low", "difference_high"]].to_numpy()],
        "p": table["permutation_p"].map(lambda p: f"{p:.3f}"),
        "ASO A>B": table["aso_a_better"].map(_num), "ASO B>A": table["aso_b_better"].map(_num),
        "Consistency A/B": [f"{_pct(a)}/{_pct(b)}" for a, b in zip(table["consistency_a"], table["consistency_b"])],
        "Verdict": [verdict(r) for _, r in table.iterrows()]})


def summarise(runs: Sequence[Run], data_dir: str | None = None) -> dict[str, pd.DataFrame]:
    """Every beyond-the-paper table, computed once (bootstraps seeded, so reruns match)."""
    agree, pairs = agreement_table(runs)
    examples = example_table(runs, data_dir)
    return {"score_intervals": score_intervals(runs), "consistency_intervals": consistency_intervals(runs),
            "expected_max": expected_max_table(runs), "agreement": agree, "pairs": pairs,
            "examples": examples, "instability": instability_relations(examples) if len(examples) else examples,
            "unstable": most_unstable(examples) if len(examples) else examples,
            "ensembles": ensemble_table(runs), "decomposition": decomposition_table(runs)}


def _num(x: float) -> str:
    """A coefficient (kappa, correlation) with two decimals; undefined as an en dash."""
    return "–" if not np.isfinite(x) else f"{x:.2f}"


def build_tables(beyond: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The formatted beyond-the-paper tables, keyed by file name (see ``CAPTIONS``)."""
    s, c = beyond["score_intervals"], beyond["consistency_intervals"]
    tables = {
        "intervals": pd.DataFrame({
            "Task": s["task"], "Model": s["model"], "Metric": s["metric"], "Seeds": s["n_seeds"],
            "Mean (95 CI)": [_interval(*r) for r in s[["mean", "mean_low", "mean_high"]].to_numpy()],
            "Std (95 CI)": [_interval(*r) for r in s[["std", "std_low", "std_high"]].to_numpy()]}),
        "consistency_intervals": pd.DataFrame({
            "Task": c["task"], "Model": c["model"], "Statistic": c["statistic"].str.replace("_", " "),
            "Value": c["value"].map(_pct),
            "CI over examples": [f"[{_pct(a)}, {_pct(b)}]" for a, b in c[["examples_low", "examples_high"]].to_numpy()],
            "CI over seeds": [f"[{_pct(a)}, {_pct(b)}]" for a, b in c[["seeds_low", "seeds_high"]].to_numpy()]}),
    }
    a = beyond["agreement"]
    if len(a):
        tables["agreement"] = pd.DataFrame({
            "Task": a["task"], "Model": a["model"], "Fleiss kappa": a["fleiss_kappa"].map(_num),
            "Cohen kappa (mean)": a["mean_cohen_kappa"].map(_num), "Churn (mean)": a["mean_churn"].map(_pct),
            "Churn (max)": a["max_churn"].map(_pct), "Accuracy diff. (mean)": a["mean_accuracy_diff"].map(_pct),
            "Spearman churn vs diff.": a["churn_vs_accuracy_diff_spearman"].map(_num)})
    i = beyond["instability"]
    if len(i):
        tables["instability"] = pd.DataFrame({
            "Task": i["task"], "Model": i["model"], "Examples": i["n_examples"],
            "Mean flip rate": i["mean_flip_rate"].map(_pct), "Ever flipped": i["share_ever_flipped"].map(_pct),
            "Spearman flip vs confidence": i["flip_vs_confidence"].map(_num),
            "Spearman flip vs length": i["flip_vs_length"].map(_num)})
    d = beyond["decomposition"]
    if len(d):
        tables["decomposition"] = pd.DataFrame({
            "Task": d["task"], "Model": d["model"], "Runs": d["n_runs"], "Source": d["effect"],
            "Share of metric variance": d["metric_share"].map(_pct),
            "Share of prediction variance": d["prediction_share"].map(_pct)})
    e = beyond["ensembles"]
    if len(e):
        tables["ensembles"] = pd.DataFrame({
            "Task": e["task"], "Model": e["model"], "k": e["k"], "Ensembles": e["n_ensembles"],
            "Accuracy": e["accuracy"].map(_pct), "Consistency": e["consistency"].map(_pct),
            "Pairwise agreement": e["pairwise_agreement"].map(_pct)})
    return tables


CAPTIONS = {
    "comparison": "Two configurations compared across their seeds (A: this study, B: the other; Seeds: "
                  "how many each): lead metric means and their difference with a 95% bootstrap interval "
                  "(points), the two-sided permutation p-value, Almost Stochastic Order's epsilon each way "
                  "(below 0.5: that side almost stochastically dominates), and each side's consistency "
                  "(percent). Verdict: a side wins when its epsilon is below 0.5 and p < 0.05.",
    "decomposition": "Where the variance comes from: runs on a full grid of per-source seeds (head initialisation, "
                     "data order, dropout); share of the lead metric's and of the predictions' sum of squares "
                     "due to each source and interaction (percent; with one run per cell the top interaction "
                     "includes noise).",
    "intervals": "Lead metric over seeds with 95% percentile bootstrap intervals (seeds resampled), in points.",
    "consistency_intervals": "Consistency statistics (percent) with 95% bootstrap intervals over examples "
                             "and over seeds (resampling seeds repeats some, so seed intervals are optimistic).",
    "agreement": "Agreement beyond chance across seeds: Fleiss' kappa over all seeds, mean Cohen's kappa and "
                 "churn (share of examples two seeds predict differently) over seed pairs, the pairs' "
                 "accuracy difference, and the Spearman correlation of churn with that difference.",
    "instability": "Per-example instability: mean flip rate (share of seed pairs that disagree on an example), "
                   "share of examples on which any two seeds disagree, and the Spearman correlation of the "
                   "flip rate with the mean confidence and with the input length.",
    "ensembles": "Majority-vote ensembles of k seeds built from disjoint seed sets (20 random splits): mean "
                 "accuracy, and consistency and pairwise agreement between the ensembles (percent). Compare "
                 "pairwise agreement across k: consistency over fewer ensembles is higher by construction.",
}


def write_tables(tables: dict[str, pd.DataFrame], out_dir) -> list:
    """Write the beyond-the-paper tables as LaTeX and Markdown under ``out_dir``."""
    from .report import write_table

    return [p for name, t in tables.items() for p in write_table(t, name, out_dir, CAPTIONS[name])]


def decomposition_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Per (task, model) whose runs form a seed grid over the sources: the share of the lead
    metric's and of the predictions' sum of squares due to each source and interaction.

    Empty when no task has per-source seeds on a full grid (the usual single-seed study).
    """
    from . import decompose
    from .seeds import of_record

    rows = []
    for (task_key, model, split), group in _by_evaluation(runs).items():
        task = get_task(task_key)
        scored = task.evaluation_task(split)
        seeds = [of_record(r.record) for r in group]
        if split not in task.eval_splits or scored.ranks_entities or any(s.tied for s in seeds):
            continue
        preds, labels, _ = prediction_matrix(group)
        values = preds.astype(float)[..., None] if scored.label_names is None else \
            decompose.one_hot(preds, _n_classes(task_key, split, preds))
        lead = task.metric_name(scored.lead_metric, split)
        score = np.array([r.record["metrics"][lead] for r in group], dtype=float)
        try:
            by_pred = decompose.shares(seeds, values)
            by_metric = decompose.shares(seeds, score) if np.all(np.isfinite(score)) else {}
        except ValueError:
            continue  # not a full grid: nothing to decompose
        for effect, share in by_pred.items():
            rows.append({"task": _label(task_key, split), "model": model, "effect": effect,
                         "metric_share": by_metric.get(effect, np.nan), "prediction_share": share,
                         "n_runs": len(group)})
    return pd.DataFrame(rows)
