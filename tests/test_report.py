"""Tables from hand-built runs: failed and degenerate runs are counted, NaN never averaged."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seedstudy.benchmark import metrics
from seedstudy.benchmark.tasks import get_task
from seedstudy.report import evaluations, formatting, paper, writing
from seedstudy.stats import consistency
from seedstudy.store.runs import Run


def _run(task_key: str, seed: int, labels, preds, idx=None, groups=None) -> Run:
    """A finished run as run_seeds would return it, built from arrays."""
    task = get_task(task_key)
    labels, preds = np.asarray(labels), np.asarray(preds)
    scores = metrics.task_scores(task.metrics, labels, preds, groups)
    constant = float(labels.mean()) if task.label_names is None else int(np.bincount(labels).argmax())
    baseline = metrics.baseline_scores(task.metrics, labels, constant, groups)
    record = {"task": task.key, "model": "m", "seed": seed, "lead_metric": task.lead_metric,
              "metrics": scores, "majority_baseline": baseline,
              "degenerate": metrics.is_degenerate(preds),
              "failed": metrics.is_failed(scores[task.lead_metric], baseline[task.lead_metric]),
              "config": {"precision": "fp32"}, "config_hash": "abc", "wall_seconds": 1.0,
              "provenance": {"git": {"commit": "0123456789abcdef"}}}
    idx = np.arange(len(labels)) if idx is None else np.asarray(idx)
    frame = pd.DataFrame({"split": "validation", "idx": idx, "label": labels, "pred": preds})
    if groups is not None:
        frame.insert(2, "group", groups)
    return Run(record, frame, Path(f"/runs/{task_key}/seed={seed}"))


LABELS = [0, 1, 1, 0, 1, 1]
COLA = [_run("glue-cola", 1, LABELS, [0, 1, 1, 0, 1, 0]),
        _run("glue-cola", 2, LABELS, [0, 1, 0, 0, 1, 1]),
        _run("glue-cola", 3, LABELS, [1, 1, 1, 1, 1, 1])]  # degenerate: MCC 0 -> failed
STSB_LABELS = [0.0, 1.0, 2.0, 3.0]
STSB = [_run("glue-stsb", 1, STSB_LABELS, [0.2, 1.1, 2.3, 2.9]),
        _run("glue-stsb", 2, STSB_LABELS, [2.0, 2.0, 2.0, 2.0])]  # constant: Pearson undefined


def test_variance_table_counts_failed_and_degenerate_runs():
    row = paper.variance_table(COLA).set_index("metric").loc["mcc"]
    mccs = [metrics.mcc(LABELS, r.predictions["pred"]) for r in COLA]
    assert row["mean"] == pytest.approx(np.mean(mccs))
    assert row["std"] == pytest.approx(np.std(mccs, ddof=1))
    assert (row["n"], row["n_failed"], row["n_degenerate"], row["baseline"]) == (3, 1, 1, 0.0)


def test_undefined_pearson_is_counted_not_averaged():
    table = paper.variance_table(STSB).set_index("metric")
    assert table.loc["pearson", "n_undefined"] == 1
    assert table.loc["pearson", "mean"] == pytest.approx(metrics.pearson(STSB_LABELS, [0.2, 1.1, 2.3, 2.9]))
    assert math.isnan(table.loc["pearson", "std"])
    assert table.loc["pearson", "n_failed"] == 1
    assert "–" in formatting.format_variance(paper.variance_table(STSB))["Mean ± std"].iloc[0]


def test_micro_table_matches_the_metric_functions():
    row = paper.micro_table(COLA).iloc[0]
    preds = np.stack([r.predictions["pred"] for r in COLA])
    assert row["con"] == consistency.con(preds) and row["acc_con"] == consistency.acc_con(preds, LABELS)
    assert row["all_agree"] == consistency.all_agree(preds)
    assert row["all_correct"] == consistency.all_correct(preds, LABELS)
    assert math.isnan(row["con_pear"]) and math.isnan(row["pairwise_within_tol"])
    assert (row["n_seeds"], row["n_examples"]) == (3, 6)
    stsb = paper.micro_table(STSB).iloc[0]
    assert stsb["tolerance"] == 0.5 and stsb["all_agree"] == pytest.approx(1 / 4)  # only idx 2 within 0.5
    assert math.isnan(stsb["con"]) and math.isnan(stsb["acc_con"])  # the paper: CON-PEAR for regression
    assert math.isnan(stsb["con_pear"])  # seed 2 is constant: its Pearson is undefined
    assert stsb["mean_spread"] == pytest.approx(np.mean([1.8, 0.9, 0.3, 0.9]))


def test_paper_table_is_var_con_and_acc_con_of_the_lead_metric():
    row = paper.paper_table(COLA).iloc[0]
    mccs = [metrics.mcc(LABELS, r.predictions["pred"]) for r in COLA]
    preds = np.stack([r.predictions["pred"] for r in COLA])
    assert (row["task"], row["metric"], row["n_seeds"], row["n_failed"]) == ("glue-cola", "mcc", 3, 1)
    assert row["var"] == pytest.approx(np.var(mccs, ddof=1)) and row["std"] == pytest.approx(np.std(mccs, ddof=1))
    assert row["con"] == consistency.con(preds) and row["acc_con"] == consistency.acc_con(preds, LABELS)
    shown = formatting.format_paper(paper.paper_table(COLA)).iloc[0]
    assert list(shown.index[:10]) == ["Task", "Model", "Metric", "Seeds", "Mean", "VAR", "Std", "CON",
                                      "ACC-CON", "CON-PEAR"]
    assert shown["VAR"] == f"{1e4 * np.var(mccs, ddof=1):.2f}" and shown["CON-PEAR"] == "–"
    scores = np.array([[0.2, 1.1, 2.3, 2.9], [0.0, 1.2, 1.9, 3.1]])
    two = [_run("glue-stsb", s + 1, STSB_LABELS, p) for s, p in enumerate(scores)]
    assert paper.paper_table(two).iloc[0]["con_pear"] == pytest.approx(metrics.pearson(*scores))


def test_predictions_are_aligned_by_example_id():
    shuffled = COLA[1].predictions.iloc[::-1].reset_index(drop=True)
    runs = [COLA[0], Run(COLA[1].record, shuffled, COLA[1].path)]
    preds, labels, ids = evaluations.prediction_matrix(runs)
    assert ids.tolist() == list(range(6)) and labels.tolist() == LABELS
    assert preds[1].tolist() == COLA[1].predictions["pred"].tolist()
    other = _run("glue-cola", 4, LABELS, LABELS, idx=[0, 1, 2, 3, 4, 9])
    with pytest.raises(ValueError, match="example ids differ"):
        evaluations.prediction_matrix([COLA[0], other])


def test_one_seed_has_no_pairwise_metric_and_no_curve():
    table = paper.micro_table(COLA[:1])
    assert table["all_agree"].iloc[0] == 1.0 and math.isnan(table["con"].iloc[0])
    assert paper.all_agree_curves(COLA[:1]).empty


def test_tables_are_written_as_latex_and_markdown(tmp_path):
    paths = writing.write_tables(formatting.paper_tables(paper.summarise(COLA + STSB)), tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        f"{n}.{e}" for n in ("paper", "variance", "all_seeds", "all_seeds_curve", "size", "runs")
        for e in ("tex", "md"))
    curve = (tmp_path / "all_seeds_curve.md").read_text()
    assert "| glue-cola" in curve and "Range over subsets" in curve
    tex = (tmp_path / "variance.tex").read_text()
    assert r"\begin{table}" in tex and r"\toprule" in tex and r"$\pm$" in tex
    assert "| glue-cola" in (tmp_path / "all_seeds.md").read_text()
    assert "| glue-cola" in (tmp_path / "paper.md").read_text() and "ACC-CON" in (tmp_path / "paper.md").read_text()
    with pytest.raises(ValueError, match="no finished runs"):
        paper.summarise([])


def test_multirc_reports_option_and_question_agreement():
    groups, labels = [1, 1, 1, 2, 2, 3], [1, 0, 1, 0, 1, 1]
    runs = [_run("superglue-multirc", s, labels, p, groups=groups) for s, p in
            enumerate([[1, 0, 1, 1, 1, 0], [1, 0, 1, 0, 1, 0], [1, 0, 1, 1, 1, 1]])]
    row = paper.micro_table(runs).iloc[0]
    assert row["all_agree"] == pytest.approx(4 / 6) and row["group_all_agree"] == pytest.approx(1 / 3)
    variance = paper.variance_table(runs).set_index("metric")
    assert variance.loc["em", "mean"] == pytest.approx(np.mean([1 / 3, 2 / 3, 2 / 3]))  # q1; q1+q2; q1+q3
    shown = formatting.format_all_seeds(paper.micro_table(runs)).iloc[0]
    assert shown["Per-group all agree"] == "33.3" and shown["Agreement rule"] == "same label; group = question"


def test_stability_against_size_counts_each_training_set_once():
    """MNLI's mismatched set and diagnostic sets share their host's training set: one point per task."""
    table = pd.DataFrame({"task": ["a", "b", "c", "d", "e", "d-mm"], "model": "m",
                          "n_train": [100, 1000, 10_000, 50_000, 400_000, 400_000],
                          "var": [9.0, 5.0, 4.0, 2.0, 1.0, 30.0], "con": [0.7, 0.8, 0.85, 0.9, 0.95, 0.1],
                          "acc_con": [0.5, 0.6, 0.7, 0.8, 0.9, 0.1],
                          "primary": [True] * 5 + [False]})
    counted = paper.size_table(table)
    assert counted.equals(paper.size_table(table[table["primary"]]))
    assert (counted["n_tasks"] == 5).all()
    assert counted.set_index("statistic").loc["CON", "pearson"] > 0.9  # the secondary row would pull it down


def test_a_diagnostic_set_is_not_a_primary_evaluation():
    rte = [_run("superglue-rte", s, [0, 1, 1, 0], [0, 1, s % 2, 0]) for s in (1, 2)]
    for run in rte:  # the diagnostic AX-b predicted by the RTE model
        extra = run.predictions.assign(split="superglue-axb")
        run.predictions = pd.concat([run.predictions, extra], ignore_index=True)
        run.record["metrics"]["axb_mcc"] = 0.0
        run.record["majority_baseline"]["axb_mcc"] = 0.0
    table = paper.paper_table(rte).set_index("task")
    assert table.loc["superglue-rte", "primary"] and not table.loc["superglue-axb", "primary"]
