"""Beyond the paper, per task: how sure the numbers are, how the seeds agree, which examples flip,
and whether ensembles buy stability back. From finished runs to tables (DataFrames).

The statistics themselves are pure functions in ``agreement``, ``uncertainty`` and
``ensembles``; this module only gathers each (task, model, evaluation split)'s prediction
matrix (``report.by_evaluation``) and lays the results out. Agreement, instability and ensembles
are defined for class predictions, so regression (STS-B) and entity ranking (ReCoRD) are left
out of those tables.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from . import agreement, compare, data, ensembles, metrics, uncertainty
from .report import (by_evaluation, class_probabilities, coefficient, evaluation_label, example_groups,
                     format_interval, micro_table, points, prediction_matrix, seed_scores)
from .runs import Run
from .tasks import get_task


def _classification_groups(runs: Sequence[Run]):
    """(label, model, task, split, runs) of each evaluation with class predictions and >= 2 seeds.

    ReCoRD is left out too: its decisions are entity ids, not a fixed set of classes to vote on.
    """
    for (task_key, model, split), group in by_evaluation(runs).items():
        scored = get_task(task_key).evaluation_task(split)
        if scored.consistency_tolerance is None and not scored.ranks_entities and len(group) >= 2:
            yield evaluation_label(task_key, split), model, task_key, split, group


def _n_classes(task_key: str, split: str, preds: np.ndarray) -> int:
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
    statistics = {"CON": lambda p, y: metrics.con(p), "ACC-CON": lambda p, y: metrics.acc_con(p, y),
                  "all seeds agree": lambda p, y: metrics.all_agree(p),
                  "all seeds correct": lambda p, y: metrics.all_correct(p, y)}
    rows = []
    for label, model, _, _, group in _classification_groups(runs):
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
    for label, model, task_key, split, group in _classification_groups(runs):
        preds, labels, _ = prediction_matrix(group)
        probs = class_probabilities(group)
        vote = "hard" if probs is None else "soft"
        for k, point in ensembles.ensemble_curve(preds, labels, probs, vote=vote, splits=splits, seed=seed,
                                                 n_classes=_n_classes(task_key, split, preds)).items():
            rows.append({"task": label, "model": model, "k": k, "vote": vote, **point})
    return pd.DataFrame(rows)


def config_changes(runs_a: Sequence[Run], runs_b: Sequence[Run]) -> dict[str, tuple[str, str]]:
    """The training-configuration fields whose values differ between two sets of runs: field -> (A, B)."""
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
    return {k: (a.get(k, "-"), b.get(k, "-")) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)}


def config_difference(runs_a: Sequence[Run], runs_b: Sequence[Run]) -> str:
    """What differs between two sets of runs' training configurations, e.g. ``learning_rate 0.0001 -> 5e-05``."""
    changes = config_changes(runs_a, runs_b)
    return "; ".join(f"{k} {a} -> {b}" for k, (a, b) in changes.items()) or "same configuration"


def comparison_table(runs_a: Sequence[Run], runs_b: Sequence[Run], *, n_resamples: int = 1000,
                     seed: int = 0) -> pd.DataFrame:
    """Configuration A against B on every evaluation both have with >= 2 seeds (``compare.compare``):
    means, the difference with an interval counting seed and test-set variance (both scored on the
    same example resamples; paired by seed when both ran the same seed labels, i.e. the same head
    init and data order), its p-value and the Holm-adjusted one across the tasks compared, ASO
    both ways (Bonferroni over the tasks), the verdict, each side's CON, and what differs between
    the two configurations."""
    from .seeds import of_record

    other = by_evaluation(runs_b)
    con_a = micro_table(runs_a).set_index(["task", "model"])["con"]
    con_b = micro_table(runs_b).set_index(["task", "model"])["con"]
    pairs = []
    for key, group_a in by_evaluation(runs_a).items():
        group_b = other.get(key)
        if group_b is None or min(len(group_a), len(group_b)) < 2 or lead_scorer(key[0], key[2])[1] is None:
            continue
        prediction_matrix([*group_a, *group_b])  # one evaluation set: raises when the examples differ
        pairs.append((key, group_a, group_b))
    rows = []
    for (task_key, model, split), group_a, group_b in pairs:
        resamples = uncertainty.example_resamples(len(group_a[0].predictions), groups=example_groups(group_a),
                                                  n_resamples=n_resamples, seed=seed)
        a = resampled_lead_scores(group_a, task_key, split, resamples)
        b = resampled_lead_scores(group_b, task_key, split, resamples)
        order = compare.pairing([of_record(r.record).label for r in group_a],
                                [of_record(r.record).label for r in group_b])
        if order is not None:
            a, b = a[:, order[0]], b[:, order[1]]
        result = compare.compare(a, b, paired=order is not None, seed=seed, num_comparisons=len(pairs))
        label = evaluation_label(task_key, split)
        rows.append({"task": label, "model": model, "metric": lead_scorer(task_key, split)[0], **result,
                     "con_a": con_a.get((label, model), np.nan), "con_b": con_b.get((label, model), np.nan),
                     "changed": config_difference(group_a, group_b)})
    table = pd.DataFrame(rows)
    if len(table):
        table["holm_p"] = compare.holm(table["p_value"])
        table["verdict"] = [compare.verdict(d, p, int(na), int(nb)) for d, p, na, nb in
                            zip(table["difference"], table["holm_p"], table["n_a"], table["n_b"])]
    return table


def format_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """Human-readable comparison table: points, p-values, ASO epsilons, the verdict."""
    def p_text(p: float) -> str:
        return "< 0.001" if p < 0.001 else f"{p:.3f}"

    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"], "Metric": table["metric"],
        "Seeds": [f"{a}/{b}" + (" paired" if paired else "") for a, b, paired in
                  zip(table["n_a"], table["n_b"], table["paired"])],
        "A": table["mean_a"].map(points), "B": table["mean_b"].map(points),
        "A - B (95 CI)": [format_interval(*r) for r in table[["difference", "difference_low", "difference_high"]].to_numpy()],
        "p": table["p_value"].map(p_text), "Holm p": table["holm_p"].map(p_text),
        "ASO A>B": table["aso_a_better"].map(coefficient), "ASO B>A": table["aso_b_better"].map(coefficient),
        "CON A/B": [f"{points(a)}/{points(b)}" for a, b in zip(table["con_a"], table["con_b"])],
        "Verdict": table["verdict"]})


def summarise(runs: Sequence[Run], data_dir: str | None = None) -> dict[str, pd.DataFrame]:
    """Every beyond-the-paper table, computed once (bootstraps seeded, so reruns match)."""
    agree, pairs = agreement_table(runs)
    examples = example_table(runs, data_dir)
    return {"score_intervals": score_intervals(runs), "agreement_intervals": agreement_intervals(runs),
            "expected_max": expected_max_table(runs), "agreement": agree, "pairs": pairs,
            "examples": examples, "instability": instability_relations(examples) if len(examples) else examples,
            "unstable": most_unstable(examples) if len(examples) else examples,
            "ensembles": ensemble_table(runs), "decomposition": decomposition_table(runs)}


def build_tables(beyond: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The formatted beyond-the-paper tables, keyed by file name (see ``CAPTIONS``)."""
    s, c = beyond["score_intervals"], beyond["agreement_intervals"]
    tables = {
        "intervals": pd.DataFrame({
            "Task": s["task"], "Model": s["model"], "Metric": s["metric"], "Seeds": s["n_seeds"],
            "Mean (95 CI)": [format_interval(*r) for r in s[["mean", "mean_low", "mean_high"]].to_numpy()],
            "Seed share of var.": s["seed_share"].map(points),
            "Std (95 CI)": [format_interval(*r) for r in s[["std", "std_low", "std_high"]].to_numpy()]}),
        "agreement_intervals": pd.DataFrame({
            "Task": c["task"], "Model": c["model"], "Statistic": c["statistic"],
            "Value (95 CI over examples)": [format_interval(*r) for r in c[["value", "low", "high"]].to_numpy()],
            "Resampled": ["whole groups" if g else "examples" for g in c["clustered"]]}),
    }
    a = beyond["agreement"]
    if len(a):
        tables["agreement"] = pd.DataFrame({
            "Task": a["task"], "Model": a["model"], "Fleiss kappa": a["fleiss_kappa"].map(coefficient),
            "Cohen kappa (mean)": a["mean_cohen_kappa"].map(coefficient), "Churn (mean)": a["mean_churn"].map(points),
            "Churn (max)": a["max_churn"].map(points), "Accuracy diff. (mean)": a["mean_accuracy_diff"].map(points),
            "Spearman churn vs diff.": a["churn_vs_accuracy_diff_spearman"].map(coefficient)})
    i = beyond["instability"]
    if len(i):
        tables["instability"] = pd.DataFrame({
            "Task": i["task"], "Model": i["model"], "Examples": i["n_examples"],
            "Mean flip rate": i["mean_flip_rate"].map(points), "Ever flipped": i["share_ever_flipped"].map(points),
            "Spearman flip vs confidence": i["flip_vs_confidence"].map(coefficient),
            "Spearman flip vs length": i["flip_vs_length"].map(coefficient)})
    if len(beyond["decomposition"]):
        tables["decomposition"] = format_decomposition(beyond["decomposition"])
    e = beyond["ensembles"]
    if len(e):
        tables["ensembles"] = pd.DataFrame({
            "Task": e["task"], "Model": e["model"], "k": e["k"], "Ensembles": e["n_ensembles"],
            "Vote": e["vote"], "Accuracy": e["accuracy"].map(points),
            "Pairwise agreement (CON)": e["pairwise_agreement"].map(points),
            "All agree": e["all_agree"].map(points)})
    return tables


def numerics_label(run: Run) -> str:
    """A run's numerics in a few words, e.g. ``bf16, AVX512 + AMX, 2 threads``."""
    from .numerics import of_run

    used = of_run(run.record)
    device = used.get("device", "cpu")
    where = (used.get("cpu_class") or device) if device == "cpu" else device
    threads = f", {used['threads']} threads" if used.get("threads") and device == "cpu" else ""
    return f"{used['precision']}, {where}{threads}"


def noise_floor_table(runs_a: Sequence[Run], runs_b: Sequence[Run], *, n_resamples: int = 1000,
                      seed: int = 0) -> pd.DataFrame:
    """Per evaluation both studies ran with >= 2 of the same seeds: how far the same seed under
    the other study's numerics lands (``noisefloor.noise_floor``) next to how far two seeds land,
    and the lead metric's mean |A - B| over those seeds next to its std over seeds."""
    from . import noisefloor
    from .seeds import of_record

    other = by_evaluation(runs_b)
    rows = []
    for (task_key, model, split), group_a in by_evaluation(runs_a).items():
        twins = {of_record(r.record).label: r for r in other.get((task_key, model, split), [])}
        pairs = [(r, twins[of_record(r.record).label]) for r in group_a if of_record(r.record).label in twins]
        if len(pairs) < 2:
            continue
        a_runs, b_runs = [a for a, _ in pairs], [b for _, b in pairs]
        changed = {k: v for k, v in config_changes(a_runs, b_runs).items() if k != "precision"}
        if changed:
            raise ValueError(f"{evaluation_label(task_key, split)}: the two studies differ in more than their "
                             f"numerics ({'; '.join(f'{k} {a} -> {b}' for k, (a, b) in changed.items())}); "
                             "the noise floor compares one configuration under two numerics")
        stacked, _, _ = prediction_matrix([*a_runs, *b_runs])  # one evaluation set, or it raises
        pa, pb = stacked[:len(pairs)], stacked[len(pairs):]
        regression = get_task(task_key).evaluation_task(split).problem_type == "regression"
        groups = example_groups(a_runs)
        floor = noisefloor.noise_floor(pa, pb, regression=regression, groups=groups,
                                       n_resamples=n_resamples, seed=seed)
        name = lead_scorer(task_key, split)[0]
        sa, sb = (np.array([r.record["metrics"][name] for r in side]) for side in (a_runs, b_runs))
        rows.append({"task": evaluation_label(task_key, split), "model": model, "seeds": len(pairs),
                     "numerics_a": numerics_label(a_runs[0]), "numerics_b": numerics_label(b_runs[0]),
                     "measure": "CON-PEAR" if regression else "CON", **floor, "metric": name,
                     "metric_abs_difference": float(np.mean(np.abs(sa - sb))),
                     "metric_seed_std": float((np.std(sa, ddof=1) + np.std(sb, ddof=1)) / 2),
                     "verdict": noisefloor.verdict(floor["ratio"], floor["ratio_high"], floor["con_seed"])})
    return pd.DataFrame(rows)


def format_noise_floor(table: pd.DataFrame) -> pd.DataFrame:
    """Human-readable noise-floor table: agreements in points (CON-PEAR as r), the ratio, the verdict."""
    def agreement(value: float, measure: str) -> str:
        return coefficient(value) if measure == "CON-PEAR" else points(value)

    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"], "Seeds": table["seeds"],
        "A numerics": table["numerics_a"], "B numerics": table["numerics_b"], "Measure": table["measure"],
        "Same seed, A vs B [min-max]": [f"{agreement(v, m)} [{agreement(lo, m)}-{agreement(hi, m)}]" for v, lo, hi, m in
                                        table[["con_same_seed", "con_same_seed_min", "con_same_seed_max",
                                               "measure"]].to_numpy()],
        "Different seeds": [agreement(v, m) for v, m in table[["con_seed", "measure"]].to_numpy()],
        "Ratio (95 CI)": [f"{r:.2f} [{lo:.2f}, {hi:.2f}]" for r, lo, hi in
                          table[["ratio", "ratio_low", "ratio_high"]].to_numpy()],
        "Lead metric": table["metric"],
        "Mean abs diff": table["metric_abs_difference"].map(points),
        "Seed std": table["metric_seed_std"].map(points),
        "Verdict": table["verdict"],
    })


CAPTIONS = {
    "noise_floor": "The numeric noise floor: the same seeds run under two numerics (A: this study, B: the "
                   "other; precision, CPU class, threads). Same seed: agreement of each run with its twin "
                   "under the other numerics (mean over seeds [min-max]); different seeds: the paper's CON "
                   "(CON-PEAR for regression) within each study, averaged. Ratio: (1 - same seed) / "
                   "(1 - different seeds), the numerics' disagreement as a share of the seed's, with a "
                   "bootstrap interval over examples for these seeds. Mean abs diff: the lead metric's "
                   "mean |A - B| over the seeds, beside its std over seeds (points).",
    "comparison": "Two configurations compared across their seeds (A: this study, B: the other; Seeds: how "
                  "many each, paired when both ran the same seeds): lead metric means and their difference "
                  "with a 95% interval counting seed and test-set variance (points), its two-sided t-test "
                  "p-value and the Holm-adjusted one across the tasks compared, Almost Stochastic Order's "
                  "epsilon each way (Bonferroni over the tasks; below 0.2, deepsig's recommended threshold, "
                  "that side almost stochastically dominates), and each side's CON (percent). The verdict "
                  "states the evidence at Holm p < 0.05; no evidence is not evidence of no difference.",
    "decomposition": "Where the variance comes from: runs on a full grid of per-source seeds (head "
                     "initialisation x data order), analysed as a random-effects ANOVA; each source's variance "
                     "component from the expected mean squares as a share of the total, for the lead metric "
                     "(with its F-test) and the predictions (one-hot; percent). dropout seed (replicates): the "
                     "replicated cells differ from their grid cells in the dropout seed (and in anything else "
                     "that differed between the two runs, such as the machine); runs are bitwise "
                     "reproducible otherwise, so this row is not run noise, and the interaction's F-test is "
                     "against it; + noise: not separable from noise without replicates; *: a negative "
                     "estimate set to 0 (in the metric or the prediction column).",
    "intervals": "Lead metric over seeds, in points. Mean: 95% interval counting seed and test-set variance "
                 "(seed part from the seeds' sample variance, example part from a bootstrap of the evaluation "
                 "examples shared by all seeds, t with Satterthwaite's degrees of freedom); Seed share: the "
                 "seed part's share of that variance (percent); Std: chi-square interval (assumes normal scores).",
    "agreement_intervals": "Agreement statistics (percent) with 95% percentile bootstrap intervals over examples "
                           "(whole questions or pairs where the task has them) for the seeds at hand; seeds are "
                           "not resampled (a repeated run agrees with itself).",
    "agreement": "Agreement beyond chance across seeds: Fleiss' kappa over all seeds, mean Cohen's kappa and "
                 "churn (share of examples two seeds predict differently) over seed pairs, the pairs' "
                 "accuracy difference, and the Spearman correlation of churn with that difference.",
    "instability": "Per-example instability: mean flip rate (share of seed pairs that disagree on an example), "
                   "share of examples on which any two seeds disagree, and the Spearman correlation of the "
                   "flip rate with the mean confidence and with the input length.",
    "ensembles": "Ensembles of k seeds built from disjoint seed sets (20 random splits), soft votes (mean "
                 "class probability; hard votes break ties at random): mean accuracy, and pairwise agreement "
                 "(CON between ensembles) and all-ensembles agreement (percent). Compare pairwise agreement "
                 "across k: all-agree over fewer ensembles is higher by construction.",
}


def write_tables(tables: dict[str, pd.DataFrame], out_dir) -> list:
    """Write the beyond-the-paper tables as LaTeX and Markdown under ``out_dir``."""
    from .report import write_table

    return [p for name, t in tables.items() for p in write_table(t, name, out_dir, CAPTIONS[name])]


def decomposition_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Per (task, model) whose runs form a seed grid over the sources: each source's and
    interaction's variance component (random-effects ANOVA, ``decompose.variance_components``)
    of the lead metric, with its F-test, and of the predictions (one-hot), with their shares.

    Empty when no task has per-source seeds on a full grid (the usual single-seed study).
    """
    from . import decompose
    from .seeds import of_record

    rows = []
    for (task_key, model, split), group in by_evaluation(runs).items():
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


def format_decomposition(d: pd.DataFrame) -> pd.DataFrame:
    """The decomposition table, formatted: component shares in percent, F-tests, flags."""
    def source(row) -> str:
        effect = "dropout seed (replicates)" if row["effect"] == "residual" else row["effect"]
        name = effect + (" (+ noise)" if row["confounded_with_noise"] else "")
        return name + ("*" if row["metric_negative"] or row["prediction_negative"] else "")

    def f_test(row) -> str:
        if not np.isfinite(row["metric_F"]):
            return "–"
        num, den = row["metric_df"]
        return f"F({num:.0f}, {den:.0f}) = {row['metric_F']:.2f}, p = {row['metric_p']:.3f}"

    return pd.DataFrame({
        "Task": d["task"], "Model": d["model"], "Runs": d["n_runs"],
        "Source": [source(r) for _, r in d.iterrows()],
        "Share of metric variance": d["metric_share"].map(points),
        "F-test (metric)": [f_test(r) for _, r in d.iterrows()],
        "Share of prediction variance": d["prediction_share"].map(points)})
