"""Beyond-the-paper tables from the committed cpu study: shapes, and agreement with the paper's own numbers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seedstudy.report import beyond, comparison, formatting, paper, writing
from seedstudy.store.runs import find_runs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def runs():
    return find_runs(ROOT / "paper" / "runs", "cpu")


@pytest.fixture(scope="module")
def summary(runs, data_dir):
    return beyond.summarise(runs, str(data_dir))


@pytest.fixture(scope="module")
def micro(runs):
    return paper.micro_table(runs).set_index("task")


def test_every_classification_task_is_analysed_and_regression_is_not(summary):
    tasks = set(summary["agreement"]["task"])
    assert tasks == {"glue-cola", "glue-sst2", "superglue-cb", "superglue-wic", "superglue-copa",
                     "superglue-multirc"}
    assert set(summary["score_intervals"]["task"]) >= tasks | {"glue-stsb"}  # lead metrics of all


def test_flip_rate_and_ensembles_agree_with_the_micro_table(summary, micro):
    for task, g in summary["examples"].groupby("task"):
        assert g["flip_rate"].mean() == pytest.approx(1 - micro.loc[task, "con"])
        assert (g["vote_entropy"] == 0).mean() == pytest.approx(micro.loc[task, "all_agree"])
    singles = summary["ensembles"].query("k == 1").set_index("task")
    for task, row in singles.iterrows():
        assert row["accuracy"] == pytest.approx(micro.loc[task, "mean_accuracy"])
        assert row["pairwise_agreement"] == pytest.approx(micro.loc[task, "con"])
        assert row["all_agree"] == pytest.approx(micro.loc[task, "all_agree"])
    assert set(summary["ensembles"]["vote"]) == {"soft"}  # every committed run stored its probabilities


def test_intervals_bracket_their_values(summary):
    s = summary["score_intervals"]
    assert ((s["mean_low"] <= s["mean"]) & (s["mean"] <= s["mean_high"])).all()
    assert ((s["std_low"] <= s["std"]) & (s["std"] <= s["std_high"])).all()
    c = summary["agreement_intervals"]
    assert ((c["low"] <= c["value"] + 1e-12) & (c["value"] <= c["high"] + 1e-12)).all()
    assert (c["low"] < c["value"]).all()  # never starts at its own point estimate (seeds not resampled)
    assert set(c.loc[c["clustered"], "task"]) == {"superglue-multirc"}
    expected = summary["expected_max"]
    first = expected[expected["n_seeds"] == 1].set_index("task")["expected_max"]
    assert first.to_dict() == pytest.approx(s.set_index("task")["mean"].to_dict())


def test_examples_carry_confidence_and_length_from_the_data(summary):
    examples = summary["examples"]
    assert examples["confidence"].between(0, 1).all()
    assert examples["length"].notna().all() and (examples["length"] > 0).all()
    unstable = summary["unstable"]
    assert unstable.groupby("task").size().max() == 5
    top = unstable.groupby("task")["vote_entropy"].first()
    assert (top.to_numpy() >= examples.groupby("task")["vote_entropy"].max().reindex(top.index).to_numpy()).all()


def test_tables_format_and_write(summary, tmp_path):
    tables = formatting.beyond_tables(summary)
    assert set(tables) == {"intervals", "agreement_intervals", "agreement", "instability", "ensembles",
                           "seeds_needed"}
    paths = writing.write_tables(tables, tmp_path)
    assert len(paths) == 12 and all(p.stat().st_size > 0 for p in paths)
    assert "[" in tables["intervals"]["Mean (95 CI)"].iloc[0]
    assert np.isfinite(summary["agreement"]["fleiss_kappa"]).all()


def test_unstable_examples_can_be_read_with_their_text(summary, data_dir):
    shown = beyond.with_text(summary["unstable"], str(data_dir), width=80)
    assert (shown["text"].str.len() > 0).all() and (shown["text"].str.len() <= 80).all()
    whole = beyond.with_text(summary["unstable"], str(data_dir), width=10_000)
    copa = whole[whole["task"] == "superglue-copa"]["text"]
    assert copa.str.contains(" // ").all()  # premise with each choice, one line


def test_the_committed_factorial_study_decomposes_by_source():
    """A 5 x 5 grid of head-init and data-order seeds (dropout 0) per task, plus the 5 diagonal
    cells replicated with dropout seed 1: variance components, F-tests, a residual row."""
    runs = find_runs(ROOT / "paper" / "runs", "factorial")
    assert len(runs) == 90 and sum(r.record["seeds"]["dropout"] == 1 for r in runs) == 15
    table = beyond.decomposition_table(runs)
    assert set(table["task"]) == {"superglue-copa", "superglue-wic", "superglue-cb"}
    for _, g in table.groupby("task"):
        assert list(g["effect"]) == ["init", "order", "init x order", "residual"]
        assert g["metric_share"].sum() == pytest.approx(1.0)
        assert g["prediction_share"].sum() == pytest.approx(1.0)
        assert not g["confounded_with_noise"].any()  # the replicates separate noise from interaction
        main = g[g["effect"].isin(["init", "order"])]
        assert main["metric_p"].between(0, 1).all()
    shown = formatting.format_decomposition(table)
    assert shown["F-test (metric)"].str.startswith("F(4, 16)").sum() == 6  # init and order, three tasks
    assert beyond.decomposition_table(find_runs(ROOT / "paper" / "runs", "cpu")).empty  # tied seeds


def test_a_configuration_compared_with_itself_shows_no_difference(runs):
    table = comparison.comparison_table(runs, runs, n_resamples=200)
    assert set(table["task"]) == set(paper.variance_table(runs)["task"])
    assert table["paired"].all() and np.allclose(table["difference"], 0)
    assert np.allclose(table["p_value"], 1) and np.allclose(table["holm_p"], 1)
    assert set(table["changed"]) == {"same configuration"}
    assert all(v.startswith("no evidence of a difference with 5 seeds per side") for v in table["verdict"])


def test_the_committed_learning_rate_comparison():
    """The worked comparison: the committed cpu study (lr 1e-4) against the same tasks at lr 5e-5, the
    same seeds 1-5 on both sides, so paired."""
    cpu = find_runs(ROOT / "paper" / "runs", "cpu")
    lower = find_runs(ROOT / "paper" / "runs", "lr/learning_rate=5e-05")
    table = comparison.comparison_table(cpu, lower, n_resamples=300).set_index("task")
    assert set(table.index) == {"glue-sst2", "superglue-cb", "superglue-wic", "superglue-copa"}
    assert set(table["changed"]) == {"learning_rate 0.0001 -> 5e-05"} and table["paired"].all()
    variance = paper.variance_table(lower).query("lead").set_index("task")
    for task, row in table.iterrows():
        assert row["n_a"] == row["n_b"] == 5
        assert row["mean_b"] == pytest.approx(variance.loc[task, "mean"])
        assert row["difference_low"] <= row["difference"] <= row["difference_high"]
        assert row["p_value"] <= row["holm_p"] <= 1
        assert 0 <= row["aso_a_better"] <= 1 and 0 <= row["aso_b_better"] <= 1


def test_the_seeds_needed_table_agrees_with_the_paper_table_it_plans_from(summary, runs, micro):
    """Every task planned; its sd is the variance table's, its CON the micro table's (points)."""
    needed = summary["seeds_needed"].set_index("task")
    assert set(needed.index) == {"glue-cola", "glue-sst2", "glue-stsb", "superglue-cb", "superglue-copa",
                                 "superglue-multirc", "superglue-wic"}
    variance = paper.variance_table(runs).query("lead").set_index("task")
    for task, row in needed.iterrows():
        assert row["sd"] == pytest.approx(100 * variance.loc[task, "std"])
        column = "con_pear" if task == "glue-stsb" else "con"
        assert row["agreement_value"] == pytest.approx(100 * micro.loc[task, column])
        assert row["for_mean"] >= 2 and row["for_difference_paired"] >= row["for_difference_unpaired"] - 1
    shown = formatting.beyond_tables(summary)["seeds_needed"]
    assert len(shown) == 7 and "seeds_needed" in writing.CAPTIONS
