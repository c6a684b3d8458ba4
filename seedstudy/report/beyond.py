"""Beyond the paper, per task: how sure the numbers are, how the seeds agree, which examples flip,
and whether ensembles buy stability back. From finished runs to tables (DataFrames).

The statistics themselves are pure functions in ``seedstudy.stats``; this module only gathers each (task, model, evaluation split)'s prediction
matrix (``evaluations.by_evaluation``) and lays the results out. Agreement, instability and ensembles
are defined for class predictions, so regression (STS-B) and entity ranking (ReCoRD) are left
out of those tables.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from ..benchmark import data
from ..benchmark.tasks import get_task
from ..stats import agreement, consistency, decompose, ensembles, uncertainty
from ..store.runs import Run
from ..training.seeds import of_record
from . import planning, representations
from .evaluations import (
    by_evaluation,
    class_probabilities,
    classification_groups,
    evaluation_label,
    example_groups,
    lead_scorer,
    n_classes,
    prediction_matrix,
    resampled_lead_scores,
    seed_scores,
)


def score_intervals(runs: Sequence[Run], *, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per (task, model, lead metric): the mean over seeds with an interval counting seed AND
    test-set variance (``uncertainty.seed_example_interval``: examples resampled, whole groups
    where the task has them, the same resamples for every seed), and the std with its
    chi-square interval (``uncertainty.std_interval``, assumes normal scores)."""
    rows = []
    for (task_key, model, split), group in by_evaluation(runs).items():
        name, _, _ = lead_scorer(task_key, split)
        values = np.array([r.record["metrics"][name] for r in group], dtype=float)
        if len(values) < 2 or not np.all(np.isfinite(values)):
            continue
        resamples = uncertainty.example_resamples(len(group[0].predictions), groups=example_groups(group),
                                                  n_resamples=n_resamples, seed=seed)
        scores = resampled_lead_scores(group, task_key, split, resamples)
        mean = uncertainty.seed_example_interval(scores) if scores is not None else \
            {"value": float(values.mean()), "low": np.nan, "high": np.nan, "seed_variance": np.nan,
             "example_variance": np.nan, "df": np.nan}
        std = uncertainty.std_interval(values)
        rows.append({"task": evaluation_label(task_key, split), "model": model, "metric": name,
                     "n_seeds": len(values), "mean": mean["value"], "mean_low": mean["low"],
                     "mean_high": mean["high"], "df": mean["df"],
                     "seed_share": mean["seed_variance"] / (mean["seed_variance"] + mean["example_variance"])
                     if np.isfinite(mean["seed_variance"]) and mean["seed_variance"] + mean["example_variance"] > 0
                     else np.nan,
                     "std": std["value"], "std_low": std["low"], "std_high": std["high"]})
    return pd.DataFrame(rows)


def agreement_intervals(runs: Sequence[Run], *, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per evaluation with class predictions: CON, ACC-CON, all-seeds agree and all-seeds correct
    with 95 % percentile bootstrap intervals over examples (whole groups where the task has them:
    MultiRC questions, AX-g pairs), for the seeds at hand. Seeds are never resampled: a repeated
    run agrees with itself, so such an interval would start at its own point estimate."""
    statistics = {"CON": lambda p, y: consistency.con(p), "ACC-CON": lambda p, y: consistency.acc_con(p, y),
                  "all seeds agree": lambda p, y: consistency.all_agree(p),
                  "all seeds correct": lambda p, y: consistency.all_correct(p, y)}
    rows = []
    for label, model, _, _, group in classification_groups(runs):
        preds, labels, _ = prediction_matrix(group)
        for name, statistic in statistics.items():
            ci = uncertainty.example_interval(statistic, preds, labels, groups=example_groups(group),
                                              n_resamples=n_resamples, seed=seed)
            rows.append({"task": label, "model": model, "statistic": name, "n_seeds": len(group),
                         "clustered": example_groups(group) is not None, **ci})
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
    for label, model, _, _, group in classification_groups(runs):
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
    for label, model, task_key, split, group in classification_groups(runs):
        preds, labels, ids = prediction_matrix(group)
        classes = n_classes(task_key, split, preds)
        frame = pd.DataFrame({"task": label, "model": model, "task_key": task_key, "split": split,
                              "idx": ids, "label": labels,
                              "majority": agreement.majority_vote(preds, classes),
                              "vote_entropy": agreement.vote_entropy(preds, classes),
                              "flip_rate": agreement.flip_rate(preds),
                              "share_right": (preds == labels).mean(axis=0),
                              "confidence": _confidence(group)})
        frame["length"] = frame["idx"].map(_lengths(task_key, split, data_dir))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _confidence(group: Sequence[Run]) -> np.ndarray:
    """Mean over seeds of each example's top class probability (NaN when runs stored none)."""
    probs = class_probabilities(group)
    if probs is None:
        return np.full(len(group[0].predictions), np.nan)
    return probs.max(axis=2).mean(axis=0)


@lru_cache(maxsize=32)
def _example_inputs(task_key: str, split: str, data_dir: str | None) -> dict:
    """Each example's model inputs by id: one (first, second) text pair per choice (one for
    non-multiple-choice tasks); {} when the split cannot be read here."""
    task = get_task(task_key)
    scored = task.evaluation_task(split)
    if not scored.has_source:  # an imported task: no examples to read
        return {}
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
    """Per evaluation: accuracy and between-ensemble agreement of soft-vote ensembles of k seeds
    (mean class probability; hard majority votes with random tie-breaks when no probabilities
    were stored), ``ensembles.ensemble_curve``."""
    rows = []
    for label, model, task_key, split, group in classification_groups(runs):
        preds, labels, _ = prediction_matrix(group)
        probs = class_probabilities(group)
        vote = "hard" if probs is None else "soft"
        for k, point in ensembles.ensemble_curve(preds, labels, probs, vote=vote, splits=splits, seed=seed,
                                                 n_classes=n_classes(task_key, split, preds)).items():
            rows.append({"task": label, "model": model, "k": k, "vote": vote, **point})
    return pd.DataFrame(rows)


def decomposition_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Per (task, model) whose runs form a seed grid over the sources: each source's and
    interaction's variance component (random-effects ANOVA, ``decompose.variance_components``)
    of the lead metric, with its F-test, and of the predictions (one-hot), with their shares.

    Empty when no task has per-source seeds on a full grid (the usual single-seed study).
    """

    rows = []
    for (task_key, model, split), group in by_evaluation(runs).items():
        task = get_task(task_key)
        scored = task.evaluation_task(split)
        seeds = [of_record(r.record) for r in group]
        if split not in task.eval_splits or scored.ranks_entities or any(s.tied for s in seeds):
            continue
        preds, labels, _ = prediction_matrix(group)
        values = preds.astype(float)[..., None] if scored.label_names is None else \
            decompose.one_hot(preds, n_classes(task_key, split, preds))
        lead = task.metric_name(scored.lead_metric, split)
        score = np.array([r.record["metrics"][lead] for r in group], dtype=float)
        try:
            by_pred = decompose.variance_components(seeds, values).set_index("effect")
            by_metric = decompose.variance_components(seeds, score).set_index("effect") \
                if np.all(np.isfinite(score)) else None
        except ValueError:
            continue  # not a full grid: nothing to decompose
        for effect, pred in by_pred.iterrows():
            metric = by_metric.loc[effect] if by_metric is not None else {}
            rows.append({"task": evaluation_label(task_key, split), "model": model, "effect": effect,
                         "confounded_with_noise": bool(pred["confounded_with_noise"]),
                         "metric_component": metric.get("component", np.nan),
                         "metric_share": metric.get("share", np.nan),
                         "metric_negative": bool(metric.get("negative", False)),
                         "metric_F": metric.get("F", np.nan), "metric_df": (metric.get("df_num", np.nan),
                                                                             metric.get("df_den", np.nan)),
                         "metric_p": metric.get("p_value", np.nan),
                         "prediction_share": pred["share"], "prediction_negative": bool(pred["negative"]),
                         "n_runs": len(group)})
    return pd.DataFrame(rows)


def summarise(runs: Sequence[Run], data_dir: str | None = None) -> dict[str, pd.DataFrame]:
    """Every beyond-the-paper table, computed once (bootstraps seeded, so reruns match)."""
    agree, pairs = agreement_table(runs)
    examples = example_table(runs, data_dir)
    return {"score_intervals": score_intervals(runs), "agreement_intervals": agreement_intervals(runs),
            "expected_max": expected_max_table(runs), "agreement": agree, "pairs": pairs,
            "examples": examples, "instability": instability_relations(examples) if len(examples) else examples,
            "unstable": most_unstable(examples) if len(examples) else examples,
            "ensembles": ensemble_table(runs), "decomposition": decomposition_table(runs),
            "seeds_needed": planning.seeds_needed(runs), "representations": representations.cka_table(runs)}
