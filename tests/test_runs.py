"""Run storage: atomic folders with provenance, skip-if-done, refusal to mix configurations."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from seedstudy.store import runs
from seedstudy.training.config import TrainConfig
from seedstudy.training.seeds import parse_all

CONFIG = TrainConfig(task="superglue-cb", model="tiny-bert", epochs=1, learning_rate=1e-3,
                     batch_size=16, max_length=48, max_train_examples=32)


@pytest.fixture
def finished(tmp_path, data_dir):
    """One finished run in a fresh results folder."""
    run = runs.execute_run(CONFIG, 4, study="t", results_dir=tmp_path, data_dir=data_dir)
    return tmp_path, run


def test_run_folder_layout_and_provenance(finished):
    root, run = finished
    assert run.path == root / "t" / "superglue-cb" / "tiny-bert" / "seed=4"
    assert sorted(p.name for p in run.path.iterdir()) == ["complete.json", "predictions.parquet", "run.json"]
    record = json.loads((run.path / "run.json").read_text())
    used = record["run"]["numerics"]["precision"]  # precision auto, recorded as resolved
    assert record["seed"] == 4 and record["config"] == {**CONFIG.to_dict(), "precision": used}
    assert used in ("fp32", "bf16") and record["run"]["numerics"]["requested"] == "auto"
    assert set(record["metrics"]) == {"accuracy", "macro_f1"}
    assert record["majority_baseline"]["accuracy"] == pytest.approx(28 / 56)  # majority = contradiction
    assert record["provenance"]["packages"]["torch"] and record["provenance"]["python"]
    assert "commit" in record["provenance"]["git"]
    assert set(record["data"]["files_sha256"]) == {"superglue/CB/train.jsonl", "superglue/CB/val.jsonl"}
    assert record["wall_seconds"] > 0 and isinstance(record["failed"], bool)
    assert not list(run.path.parent.glob(".seed=*"))  # no scratch folder left behind


def test_rerun_with_same_config_is_skipped_untouched(finished, data_dir):
    root, run = finished
    before = (run.path / "run.json").stat().st_mtime_ns
    again = runs.execute_run(CONFIG, 4, study="t", results_dir=root, data_dir=data_dir)
    assert again.skipped and again.record == run.record
    assert (run.path / "run.json").stat().st_mtime_ns == before


def test_rerun_with_other_config_is_refused_and_old_run_kept(finished, data_dir):
    root, run = finished
    before = (run.path / "run.json").read_bytes()
    with pytest.raises(runs.RunConflictError, match="different configuration"):
        runs.execute_run(replace(CONFIG, learning_rate=5e-4), 4, study="t", results_dir=root,
                         data_dir=data_dir)
    assert (run.path / "run.json").read_bytes() == before


def test_force_replaces_the_run(finished, data_dir):
    root, run = finished
    new = runs.execute_run(replace(CONFIG, learning_rate=5e-4), 4, study="t", results_dir=root,
                           data_dir=data_dir, force=True)
    assert not new.skipped and new.record["config"]["learning_rate"] == 5e-4
    assert json.loads((run.path / "run.json").read_text())["config"]["learning_rate"] == 5e-4
    assert sorted(p.name for p in run.path.parent.iterdir()) == ["seed=4"]


def test_failed_training_leaves_no_partial_run(tmp_path, data_dir, monkeypatch):
    import seedstudy.training.train as module  # execute_run imports fine_tune from here when it runs

    def boom(*args, **kwargs):
        raise RuntimeError("killed mid-run")

    monkeypatch.setattr(module, "fine_tune", boom)
    with pytest.raises(RuntimeError, match="killed"):
        runs.execute_run(CONFIG, 9, study="t", results_dir=tmp_path, data_dir=data_dir)
    assert not (tmp_path / "t" / "superglue-cb" / "tiny-bert" / "seed=9").exists()


@pytest.mark.parametrize("seeds,message", [([], "seeds is empty"), ([1, 2, 1], r"duplicated seed\(s\) \[1\]"),
                                           ([1, -2], "bad seed -2"), ([1, "2x"], "bad seed '2x'"), ([1, 2.5], "bad seed 2.5")])
def test_bad_seed_lists(seeds, message):
    with pytest.raises(ValueError, match=message):
        parse_all(seeds)


def test_unwritable_results_dir_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match="a-file/results is not writable"):
        runs.ensure_writable(blocker / "results")


def test_find_runs_returns_every_finished_seed(finished, data_dir):
    root, _ = finished
    runs.execute_run(CONFIG, 2, study="t", results_dir=root, data_dir=data_dir)
    found = runs.find_runs(root, "t")
    assert [r.record["seed"] for r in found] == [2, 4]


def test_mnli_scores_and_compares_each_evaluation_split(tmp_path, data_dir):
    """A hand-written GLUE-layout MNLI train.tsv beside the real dev exports: one run, two splits."""
    from seedstudy.report import paper

    root = tmp_path / "data" / "glue" / "MNLI"
    root.mkdir(parents=True)
    for name in ("dev_matched", "dev_mismatched"):
        (root / f"{name}.parquet").symlink_to(data_dir / "glue" / "MNLI" / f"{name}.parquet")
    header = "index\tpromptID\tpairID\tgenre\tsentence1\tsentence2\tlabel1\tgold_label"
    labels = ["entailment", "neutral", "contradiction"]
    rows = [f"{i}\t{i}\t{i}e\tfiction\tA person number {i} walks.\tSomeone moves {i}.\t"
            f"{labels[i % 3]}\t{labels[i % 3]}" for i in range(24)]
    (root / "train.tsv").write_text("\n".join([header, *rows]) + "\n")
    config = TrainConfig(task="glue-mnli", model="tiny-bert", epochs=1, learning_rate=1e-3,
                         batch_size=8, max_length=48, max_eval_examples=30)
    found = [runs.execute_run(config, seed, study="t", results_dir=tmp_path / "r",
                              data_dir=tmp_path / "data") for seed in (1, 2)]
    record = found[0].record
    assert set(record["metrics"]) == {"accuracy_m", "accuracy_mm"} and record["lead_metric"] == "accuracy_m"
    assert set(record["data"]["files_sha256"]) == {"glue/MNLI/train.tsv", "glue/MNLI/dev_matched.parquet",
                                                   "glue/MNLI/dev_mismatched.parquet"}
    assert found[0].predictions.groupby("split").size().to_dict() == {
        "validation_matched": 30, "validation_mismatched": 30}
    table = paper.micro_table(runs.find_runs(tmp_path / "r", "t"))
    assert table["task"].tolist() == ["glue-mnli-m", "glue-mnli-mm"]
    assert (table["n_examples"] == 30).all() and (table["n_seeds"] == 2).all()
