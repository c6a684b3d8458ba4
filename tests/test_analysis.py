"""Beyond-the-paper tables from the committed default study: shapes, and agreement with the paper's own numbers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seedstudy import analysis, report
from seedstudy.runs import find_runs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def runs():
    return find_runs(ROOT / "paper" / "runs", "cpu")


@pytest.fixture(scope="module")
def beyond(runs, data_dir):
    return analysis.summarise(runs, str(data_dir))


@pytest.fixture(scope="module")
def consistency(runs):
    return report.consistency_table(runs).set_index("task")


def test_every_classification_task_is_analysed_and_regression_is_not(beyond):
    tasks = set(beyond["agreement"]["task"])
    assert tasks == {"glue-cola", "glue-sst2", "superglue-cb", "superglue-wic", "superglue-copa",
                     "superglue-multirc"}
    assert set(beyond["score_intervals"]["task"]) >= tasks | {"glue-stsb"}  # lead metrics of all


def test_flip_rate_and_ensembles_agree_with_the_consistency_table(beyond, consistency):
    for task, g in beyond["examples"].groupby("task"):
        assert g["flip_rate"].mean() == pytest.approx(1 - consistency.loc[task, "pairwise_agreement"])
        assert (g["vote_entropy"] == 0).mean() == pytest.approx(consistency.loc[task, "consistency"])
    singles = beyond["ensembles"].query("k == 1").set_index("task")
    for task, row in singles.iterrows():
        assert row["accuracy"] == pytest.approx(consistency.loc[task, "mean_accuracy"])
        assert row["consistency"] == pytest.approx(consistency.loc[task, "consistency"])


def test_intervals_bracket_their_values(beyond):
    s = beyond["score_intervals"]
    assert ((s["mean_low"] <= s["mean"]) & (s["mean"] <= s["mean_high"])).all()
    c = beyond["consistency_intervals"]
    assert ((c["examples_low"] <= c["value"] + 1e-12) & (c["value"] <= c["examples_high"] + 1e-12)).all()
    expected = beyond["expected_max"]
    first = expected[expected["n_seeds"] == 1].set_index("task")["expected_max"]
    assert first.to_dict() == pytest.approx(s.set_index("task")["mean"].to_dict())


def test_examples_carry_confidence_and_length_from_the_data(beyond):
    examples = beyond["examples"]
    assert examples["confidence"].between(0, 1).all()
    assert examples["length"].notna().all() and (examples["length"] > 0).all()
    unstable = beyond["unstable"]
    assert unstable.groupby("task").size().max() == 5
    top = unstable.groupby("task")["vote_entropy"].first()
    assert (top.to_numpy() >= examples.groupby("task")["vote_entropy"].max().reindex(top.index).to_numpy()).all()


def test_tables_format_and_write(beyond, tmp_path):
    tables = analysis.build_tables(beyond)
    assert set(tables) == {"intervals", "consistency_intervals", "agreement", "instability", "ensembles"}
    paths = analysis.write_tables(tables, tmp_path)
    assert len(paths) == 10 and all(p.stat().st_size > 0 for p in paths)
    assert "[" in tables["intervals"]["Mean (95 CI)"].iloc[0]
    assert np.isfinite(beyond["agreement"]["fleiss_kappa"]).all()


def test_unstable_examples_can_be_read_with_their_text(beyond, data_dir):
    shown = analysis.with_text(beyond["unstable"], str(data_dir), width=80)
    assert (shown["text"].str.len() > 0).all() and (shown["text"].str.len() <= 80).all()
    whole = analysis.with_text(beyond["unstable"], str(data_dir), width=10_000)
    copa = whole[whole["task"] == "superglue-copa"]["text"]
    assert copa.str.contains(" // ").all()  # premise with each choice, one line


def test_the_committed_factorial_study_decomposes_by_source():
    """25 runs per task on a 5 x 5 grid of head-init and data-order seeds (dropout fixed)."""
    runs = find_runs(ROOT / "paper" / "runs", "factorial")
    assert len(runs) == 75 and {r.record["seeds"]["dropout"] for r in runs} == {0}
    table = analysis.decomposition_table(runs)
    assert set(table["task"]) == {"superglue-copa", "superglue-wic", "superglue-cb"}
    for _, g in table.groupby("task"):
        assert list(g["effect"]) == ["init", "order", "init x order"]
        assert g["metric_share"].sum() == pytest.approx(1.0)
        assert g["prediction_share"].sum() == pytest.approx(1.0)
    copa = table[table["task"] == "superglue-copa"].set_index("effect")
    assert copa.loc["init", "metric_share"] == pytest.approx(0.375, abs=5e-4)  # as reported in the README
    assert analysis.decomposition_table(find_runs(ROOT / "paper" / "runs", "cpu")).empty  # tied seeds


def test_a_configuration_compared_with_itself_shows_no_difference(runs):
    table = analysis.comparison_table(runs, runs)
    assert set(table["task"]) == set(report.variance_table(runs)["task"])
    assert np.allclose(table["difference"], 0) and np.allclose(table["permutation_p"], 1)
    assert set(table["changed"]) == {"same configuration"}
    assert set(analysis.format_comparison(table)["Verdict"]) == {"no clear winner"}


def test_the_committed_learning_rate_comparison():
    """The worked comparison: the default study (lr 1e-4) against the same tasks at lr 5e-5."""
    cpu = find_runs(ROOT / "paper" / "runs", "cpu")
    lower = find_runs(ROOT / "paper" / "runs", "lr/learning_rate=5e-05")
    table = analysis.comparison_table(cpu, lower).set_index("task")
    assert set(table.index) == {"glue-sst2", "superglue-cb", "superglue-wic", "superglue-copa"}
    assert set(table["changed"]) == {"learning_rate 0.0001 -> 5e-05"}
    variance = report.variance_table(lower).query("lead").set_index("task")
    for task, row in table.iterrows():
        assert row["n_a"] == row["n_b"] == 5
        assert row["mean_b"] == pytest.approx(variance.loc[task, "mean"])
        assert row["difference_low"] <= row["difference"] <= row["difference_high"]
        assert 0 <= row["aso_a_better"] <= 1 and 0 <= row["aso_b_better"] <= 1
