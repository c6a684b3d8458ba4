"""Two models side by side (report.arms): planted stability differences are found, intervals hold
their values, mismatched evaluation sets are refused, and one model gives no table."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seedstudy.benchmark import metrics
from seedstudy.benchmark.tasks import get_task
from seedstudy.report import arms, figures, formatting, writing
from seedstudy.stats import compare, consistency
from seedstudy.store.runs import Run

N = 400


def _model_runs(model: str, flip: float, seeds=range(1, 6), n: int = N, seed: int = 0,
                task: str = "glue-sst2") -> list[Run]:
    """Runs of one model on a binary task: each seed flips a share ``flip`` of a common answer key."""
    rng = np.random.default_rng(seed)
    task = get_task(task)
    labels = (np.arange(n) % 2).astype(int)
    key = np.where(rng.random(n) < 0.85, labels, 1 - labels)  # the model's answers before seed noise
    runs = []
    for s in seeds:
        preds = np.where(rng.random(n) < flip, 1 - key, key)
        scores = metrics.task_scores(task.metrics, labels, preds)
        record = {"task": task.key, "model": model, "seed": s, "lead_metric": task.lead_metric, "metrics": scores,
                  "majority_baseline": metrics.baseline_scores(task.metrics, labels, 1), "failed": False,
                  "degenerate": False, "config": {"precision": "fp32"}, "config_hash": model,
                  "wall_seconds": 60.0, "provenance": {"git": {"commit": "0" * 12}}}
        frame = pd.DataFrame({"split": "validation", "idx": np.arange(n), "label": labels, "pred": preds})
        runs.append(Run(record, frame, Path(f"/runs/{task.key}/{model}/seed={s}")))
    return runs


def test_a_planted_stability_difference_is_found():
    noisy, stable = _model_runs("encoder", 0.15, seed=1), _model_runs("decoder", 0.02, seed=2)
    table = arms.arms_table(noisy + stable, n_resamples=200)
    assert list(table["model"]) == ["encoder", "decoder"]
    for column in ("mean", "var", "con", "acc_con"):
        assert (table[column + "_low"] <= table[column]).all() and (table[column] <= table[column + "_high"]).all()
    preds = np.array([r.predictions["pred"] for r in noisy])
    assert table.loc[0, "con"] == pytest.approx(consistency.con(preds))
    diff = arms.arms_differences(noisy + stable, n_resamples=200).iloc[0]
    assert (diff["model_a"], diff["model_b"]) == ("encoder", "decoder")
    assert diff["con_difference"] == pytest.approx(table.loc[1, "con"] - table.loc[0, "con"])
    assert diff["con_low"] > 0 and diff["con_holm_p"] < 0.01  # flips 15 % vs 2 %: CON ~74 % vs ~96 %
    assert diff["var_ratio"] < 1
    assert diff["mean_difference"] > 0 and diff["acc_con_difference"] > 0  # B - A: the stable model is right more


def test_two_draws_of_one_model_show_no_difference():
    a, b = _model_runs("a", 0.1, seed=3), _model_runs("b", 0.1, seed=3)
    for run in b:  # the same answer key and seed noise: B is A's runs under another name
        run.record["model"] = "b"
    diff = arms.arms_differences(a + b, n_resamples=200).iloc[0]
    assert diff["con_difference"] == 0 and diff["mean_difference"] == pytest.approx(0)
    assert diff["con_p"] == pytest.approx(1) and diff["var_ratio"] == pytest.approx(1)


def test_models_on_different_examples_are_refused():
    with pytest.raises(ValueError):
        list(arms.task_arms(_model_runs("a", 0.1) + _model_runs("b", 0.1, n=N - 10)))


def test_one_model_gives_no_arms_tables():
    summary = arms.summarise(_model_runs("a", 0.1))
    assert summary["arms"].empty and formatting.arms_tables(summary) == {}


def test_arms_tables_and_figure_are_written(tmp_path):
    summary = arms.summarise(_model_runs("encoder", 0.15, seed=1) + _model_runs("decoder", 0.02, seed=2))
    tables = formatting.arms_tables(summary)
    assert set(tables) == {"arms", "arms_difference"}
    assert tables["arms_difference"]["B - A"].iloc[0] == "decoder - encoder"
    written = writing.write_tables(tables, tmp_path)
    assert {p.name for p in written} == {"arms.tex", "arms.md", "arms_difference.tex", "arms_difference.md"}
    assert "ACC-CON" in (tmp_path / "arms.md").read_text()
    assert [p.name for p in figures.arms_consistency(summary["arms"], tmp_path)] == \
        ["arms_consistency.png", "arms_consistency.pdf"]


def test_variance_ratio_f_interval_covers_and_the_test_holds_its_level():
    rng = np.random.default_rng(7)
    covered = rejected_f = rejected_bf = 0
    studies = 2000
    for _ in range(studies):
        a, b = rng.normal(0, 1, 4), rng.normal(0, 2, 9)  # true ratio 4; unequal sizes fix the F's df order
        r = compare.variance_ratio(a, b)
        covered += r["low"] <= 4 <= r["high"]
        same = compare.variance_ratio(a, rng.normal(0, 1, 9))
        rejected_f += same["f_p"] < 0.05
        rejected_bf += same["brown_forsythe_p"] < 0.05
    assert 0.93 <= covered / studies <= 0.97
    assert 0.03 <= rejected_f / studies <= 0.07
    assert rejected_bf / studies <= 0.07


def test_the_fully_fine_tuned_model_is_a_in_any_order():
    lora, full = _model_runs("decoder", 0.02, seed=2), _model_runs("encoder", 0.15, seed=1)
    for run in lora:
        run.record["run"] = {"lora": {"rank": 8}}
    diff = arms.arms_differences(lora + full, n_resamples=50).iloc[0]
    assert (diff["model_a"], diff["model_b"]) == ("encoder", "decoder")


def test_holm_adjusts_across_the_tasks_of_one_model_pair():
    runs = []
    for k, task in enumerate(("glue-sst2", "glue-rte")):
        runs += _model_runs("encoder", 0.15, seed=10 * k + 1, task=task)
        runs += _model_runs("decoder", 0.08, seed=10 * k + 2, task=task)
    table = arms.arms_differences(runs, n_resamples=50)
    assert list(table["task"]) == ["glue-sst2", "glue-rte"]
    for column in ("con", "mean", "acc_con"):
        assert np.allclose(table[f"{column}_holm_p"], compare.holm(table[f"{column}_p"]))
        assert (table[f"{column}_holm_p"] >= table[f"{column}_p"]).all()
