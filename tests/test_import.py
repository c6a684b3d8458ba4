"""Importing runs made elsewhere: each format, every refusal, and the committed study read back exactly."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seedstudy import PROJECT_ROOT
from seedstudy.benchmark import data
from seedstudy.benchmark.tasks import DEFINED, get_task
from seedstudy.cli import main
from seedstudy.report import beyond, formatting, paper, planning, writing
from seedstudy.store import integrity
from seedstudy.store.formats import ImportRefused
from seedstudy.store.imports import import_runs, seed_in_name
from seedstudy.store.runs import find_runs

COMMITTED = PROJECT_ROOT / "paper" / "runs" / "cpu"
LABELS = np.array(["neg", "pos", "neg", "neu", "pos", "neg"])
PREDS = [np.array(["neg", "pos", "pos", "neu", "pos", "neg"]),  # 5/6 right
         np.array(["neg", "neg", "neg", "neu", "pos", "pos"]),  # 4/6
         np.array(["pos", "pos", "neg", "neg", "pos", "neg"])]  # 4/6


def _table(seed: int, **extra) -> pd.DataFrame:
    """One run of a made-up three-class task, with probabilities peaked on the prediction."""
    pred = PREDS[seed - 1]
    probs = {f"prob_{c}": np.where(pred == c, 0.8, 0.1) for c in ("neg", "neu", "pos")}
    return pd.DataFrame({"id": [f"ex{i}" for i in range(6)], "pred": pred, "label": LABELS, **probs, **extra})


def _write(frame: pd.DataFrame, path):
    """Write a run's table in the format its suffix names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    {".csv": lambda: frame.to_csv(path, index=False), ".tsv": lambda: frame.to_csv(path, sep="\t", index=False),
     ".jsonl": lambda: frame.to_json(path, orient="records", lines=True),
     ".parquet": lambda: frame.to_parquet(path)}[path.suffix]()
    return path


def _files(tmp_path, suffix=".csv", frames=None):
    frames = frames or [_table(s) for s in (1, 2, 3)]
    return [_write(f, tmp_path / "in" / f"run_seed{s}{suffix}") for s, f in zip((1, 2, 3), frames)]


def _import(files, tmp_path, **kw):
    return import_runs(files, study=kw.pop("study", "mine"), model="my-model", results_dir=tmp_path / "res",
                       echo=lambda _: None, **{"task": "my sentiment", **kw})


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_a_table_per_run_becomes_runs_of_an_imported_task(tmp_path, suffix):
    paths = _import(_files(tmp_path, suffix), tmp_path, description="three seeds of my script")
    assert [p.name for p in paths] == ["seed=1", "seed=2", "seed=3"]  # seeds from the file names
    runs = find_runs(tmp_path / "res", "mine")
    task = get_task("imported-my-sentiment")
    assert task.label_names == ("neg", "neu", "pos") and task.metrics == ("accuracy",)
    assert [r.record["metrics"]["accuracy"] for r in runs] == pytest.approx([5 / 6, 4 / 6, 4 / 6])
    assert runs[0].record["majority_baseline"]["accuracy"] == pytest.approx(3 / 6)  # "neg" in the labels
    assert runs[0].record["run"]["majority_source"].startswith("the evaluation labels")
    source = runs[0].record["imported"]
    assert source["description"] == "three seeds of my script" and source["format"] == "table"
    assert source["files"][0]["sha256"] == integrity.file_sha256(tmp_path / "in" / f"run_seed1{suffix}")
    assert runs[0].predictions.columns.tolist() == ["split", "idx", "label", "pred", "prob_0", "prob_1", "prob_2"]
    assert runs[1].predictions["pred"].tolist() == [0, 0, 0, 1, 2, 2]
    assert integrity.verify(tmp_path / "res") == (3, [])


def test_an_imported_task_is_reported_with_accuracy_and_the_consistency_family(tmp_path):
    _import(_files(tmp_path), tmp_path)
    runs = find_runs(tmp_path / "res", "mine")
    summary = paper.summarise(runs)
    row = summary["paper"].iloc[0]
    assert row["task"] == "imported-my-sentiment" and row["mean"] == pytest.approx((5 + 4 + 4) / 18)
    # CON by hand: seeds 1-2 agree on 3 of 6 examples, 1-3 on 3, 2-3 on 2
    assert summary["micro"]["con"].iloc[0] == pytest.approx((3 + 3 + 2) / 18)
    tables = formatting.beyond_tables(beyond.summarise(runs))
    assert "agreement" in tables and "seeds_needed" in tables
    written = writing.write_tables(formatting.paper_tables(summary), tmp_path / "tables")
    table = (tmp_path / "tables" / "paper.md").read_text()
    assert tmp_path / "tables" / "paper.md" in written and "my-sentiment" in table
    assert " 72.2 |" in table and " 44.4 |" in table  # mean accuracy 13/18, CON 8/18


COMMITTED_TABLES = {"cpu": PROJECT_ROOT / "paper" / "tables",  # the study the paper's tables are of
                    "quick": PROJECT_ROOT / "paper" / "quick" / "paper" / "tables"}  # the README's default


@pytest.mark.parametrize("study", sorted(COMMITTED_TABLES))
def test_a_committed_study_exported_to_csv_reproduces_its_tables(tmp_path, data_dir, study):
    for run in find_runs(COMMITTED.parent, study):
        task = run.record["task"]
        folder = tmp_path / "csv" / task
        folder.mkdir(parents=True, exist_ok=True)
        run.predictions.rename(columns={"idx": "id"}).to_csv(folder / f"seed{run.record['seed']}.csv", index=False)
        (folder / "settings.json").write_text(json.dumps(
            {"baseline": run.record["run"]["majority_train_value"], "n_train": run.record["run"]["n_train"],
             "precision": run.record["config"]["precision"]}))
    for folder in sorted((tmp_path / "csv").iterdir()):
        settings = json.loads((folder / "settings.json").read_text())
        import_runs(sorted(folder.glob("seed*.csv")), study=study, model="minilm-l6", task=folder.name,
                    results_dir=tmp_path / "res", data_dir=data_dir, echo=lambda _: None, **settings)
    runs = find_runs(tmp_path / "res", study)
    assert len(runs) == len(find_runs(COMMITTED.parent, study)) == {"cpu": 35, "quick": 20}[study]
    tables = formatting.paper_tables(paper.summarise(runs))
    tables.pop("runs")  # provenance (commits, wall times) is the import's own
    tables.update(formatting.beyond_tables(beyond.summarise(runs, data_dir=str(data_dir))))
    written = writing.write_tables(tables, tmp_path / "tables")
    committed = {p.name for p in COMMITTED_TABLES[study].glob("*.md")}
    # what an import cannot have (provenance, representations), or a report builds from a second
    # study (the numerics twin's noise floor, the learning-rate study's comparison)
    assert committed - {p.name for p in written} <= {"runs.md", "representations.md", "noise_floor.md",
                                                     "comparison.md"}
    assert len(written) >= 24
    for path in written:
        assert path.read_bytes() == (COMMITTED_TABLES[study] / path.name).read_bytes(), path.name


def _harness_run(folder, seed: int, docs: pd.DataFrame, preds, *, task="rte", acc=None, filters=("none",),
                 choices=2, results=True):
    """A harness output folder as --log_samples writes it: samples_<task>_<time>.jsonl and results_<time>.json.
    ``choices``: answer options per document (a number, or one per document)."""
    stamp = f"2026-11-0{seed}T10-00-00.000001"
    folder.mkdir(parents=True, exist_ok=True)
    counts = choices if isinstance(choices, list) else [choices] * len(docs)
    lines = []
    for f in filters:
        for doc_id, ((_, doc), pred, n) in enumerate(zip(docs.iterrows(), preds, counts)):
            logliks = [-0.5 if k == pred else -2.0 - k / 2 for k in range(n)]
            lines.append({"doc_id": doc_id, "doc": {"idx": int(doc["idx"]), "label": int(doc["label"])},
                          "target": int(doc["label"]),
                          "arguments": {f"gen_args_{k}": {"arg_0": "ctx", "arg_1": f" option {k}"} for k in range(n)},
                          "resps": [[[str(x), "False"]] for x in logliks],
                          "filtered_resps": [[str(x), "False"] for x in logliks], "filter": f,
                          "metrics": ["acc"], "doc_hash": "h", "prompt_hash": "p", "target_hash": "t",
                          "acc": float(pred == doc["label"]) if acc is None else acc})
    path = folder / f"samples_{task}_{stamp}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    if not results:
        return path
    (folder / f"results_{stamp}.json").write_text(json.dumps({
        "results": {task: {"acc,none": 0.5}}, "n-shot": {task: 0}, "lm_eval_version": "0.4.9",
        "model_name": "my-llm", "config": {"model": "hf", "model_args": "pretrained=my-llm", "random_seed": seed,
                                           "numpy_seed": 1234, "torch_seed": 1234, "fewshot_seed": 1234}}))
    return path


def test_harness_samples_of_a_glue_task_map_to_our_task_and_seeds(tmp_path, data_dir):
    docs = data.load_split(get_task("glue-rte"), "validation", data_dir).head(40)
    rng = np.random.default_rng(0)
    preds = {s: rng.integers(0, 2, len(docs)) for s in (3, 7)}
    files = [_harness_run(tmp_path / f"run{s}", s, docs, preds[s]) for s in (3, 7)]
    paths = import_runs(files, study="llm", model="my-llm", results_dir=tmp_path / "res", data_dir=data_dir,
                        echo=lambda _: None)
    assert [p.relative_to(tmp_path / "res").as_posix() for p in paths] == \
        ["llm/glue-rte/my-llm/seed=3", "llm/glue-rte/my-llm/seed=7"]  # task and seeds from the harness
    run = find_runs(tmp_path / "res", "llm")[0]
    assert run.record["imported"]["tool"] == "lm-evaluation-harness"
    assert run.record["imported"]["tool_record"]["lm_eval_version"] == "0.4.9"
    assert len(run.record["imported"]["files"]) == 2  # the samples and the results file
    assert run.record["run"]["majority_source"] == "the task's full training split"
    probs = run.predictions[["prob_0", "prob_1"]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1) and run.predictions["pred"].tolist() == preds[3].tolist()
    assert (probs.argmax(axis=1) == preds[3]).all()
    assert run.predictions["label"].tolist() == docs["label"].tolist()


def test_harness_samples_whose_ids_are_not_the_splits_are_refused(tmp_path, data_dir):
    docs = data.load_split(get_task("glue-rte"), "validation", data_dir).head(40)
    shifted = docs.assign(idx=docs["idx"] + 1)  # off by one: labels no longer match
    files = [_harness_run(tmp_path / f"run{s}", s, shifted, shifted["label"].to_numpy()) for s in (1, 2)]
    with pytest.raises(ImportRefused, match=r"has label .* are these ids the split's idx\?"):
        import_runs(files, study="llm", model="m", results_dir=tmp_path / "res", data_dir=data_dir)
    assert not (tmp_path / "res" / "llm").exists()


def test_harness_acc_disagreeing_with_the_logliks_and_several_filters_are_refused(tmp_path):
    docs = pd.DataFrame({"idx": range(4), "label": [0, 1, 0, 1]})
    wrong = [_harness_run(tmp_path / f"a{s}", s, docs, [0, 1, 0, 1], task="my_mc", acc=0.0) for s in (1, 2)]
    with pytest.raises(ImportRefused, match="disagrees with the sample's acc"):
        import_runs(wrong, study="h", model="m", results_dir=tmp_path / "res")
    two = [_harness_run(tmp_path / f"b{s}", s, docs, [0, 1, 0, 1], task="my_mc", filters=("x", "y")) for s in (1, 2)]
    with pytest.raises(ImportRefused, match=r"filters \['x', 'y'\]; choose one with --harness-filter"):
        import_runs(two, study="h", model="m", results_dir=tmp_path / "res")
    paths = import_runs(two, study="h", model="m", harness_filter="y", results_dir=tmp_path / "res",
                        echo=lambda _: None)
    assert paths[0].parent.parent.name == "imported-my_mc"  # a harness task we do not know: imported


def test_trainer_predict_arrays_with_ids_and_in_split_order(tmp_path, data_dir):
    docs = data.load_split(get_task("glue-rte"), "validation", data_dir)
    rng = np.random.default_rng(1)
    files = []
    for seed in (1, 2):
        logits = rng.normal(size=(len(docs), 2))
        np.savez(tmp_path / f"seed{seed}.npz", predictions=logits, label_ids=docs["label"].to_numpy(),
                 ids=docs["idx"].to_numpy())
        np.save(tmp_path / f"order_seed{seed}.npy", logits)  # no ids: rows are the split in order
        files.append(logits)
    with pytest.raises(ImportRefused, match="task 'rte' is ambiguous: say glue-rte or superglue-rte"):
        import_runs([tmp_path / "seed1.npz", tmp_path / "seed2.npz"], study="t1", model="m", task="rte",
                    results_dir=tmp_path / "res", data_dir=data_dir)
    with_ids = import_runs([tmp_path / "seed1.npz", tmp_path / "seed2.npz"], study="t1", model="m",
                           task="glue-rte", results_dir=tmp_path / "res", data_dir=data_dir, echo=lambda _: None)
    import_runs([tmp_path / "order_seed1.npy", tmp_path / "order_seed2.npy"], study="t2", model="m",
                           task="glue-rte", results_dir=tmp_path / "res", data_dir=data_dir, echo=lambda _: None)
    a, b = (find_runs(tmp_path / "res", s)[0] for s in ("t1", "t2"))
    assert with_ids[0].parent.parent.name == "glue-rte"
    assert a.predictions.equals(b.predictions) and a.record["metrics"] == b.record["metrics"]
    assert (a.predictions["pred"].to_numpy() == files[0].argmax(axis=1)).all()
    assert b.record["imported"]["tool"] == "transformers.Trainer.predict"
    np.save(tmp_path / "short_seed1.npy", files[0][:10])
    np.save(tmp_path / "short_seed2.npy", files[1][:10])
    with pytest.raises(ImportRefused, match="10 rows without ids, but validation has 277 examples"):
        import_runs([tmp_path / "short_seed1.npy", tmp_path / "short_seed2.npy"], study="t3", model="m",
                    task="glue-rte", results_dir=tmp_path / "res", data_dir=data_dir)


def _refused(tmp_path, frames, match, suffix=".csv", **kw):
    files = _files(tmp_path, suffix, frames)
    with pytest.raises(ImportRefused, match=match):
        _import(files, tmp_path, **kw)
    assert not (tmp_path / "res" / "mine").exists()  # nothing written


def test_runs_over_different_examples_are_refused(tmp_path):
    frames = [_table(1), _table(2).iloc[:5], _table(3)]
    _refused(tmp_path, frames,
             r"run_seed2.csv: predicts other examples than .*run_seed1.csv: 1 missing \(e.g. id 'ex5'\)")


def test_a_duplicated_id_is_refused(tmp_path):
    frames = [_table(1), _table(2).assign(id=["ex0", "ex1", "ex2", "ex3", "ex4", "ex0"]), _table(3)]
    _refused(tmp_path, frames, r"run_seed2.csv: id 'ex0' appears more than once \(rows 1 and 6\)")


def test_a_label_that_differs_between_runs_is_refused(tmp_path):
    changed = _table(3)
    changed.loc[2, "label"] = "pos"
    _refused(tmp_path, [_table(1), _table(2), changed], r"run_seed3.csv: id 'ex2' has label 2, .* says 0")


def test_probabilities_that_do_not_sum_to_one_are_refused(tmp_path):
    off = _table(2)
    off.loc[3, "prob_neg"] = 0.3
    _refused(tmp_path, [_table(1), off, _table(3)], r"run_seed2.csv row 4: probabilities .* sum to 1.2000")


def test_a_prediction_outside_the_labels_is_refused(tmp_path, data_dir):
    frames = [_table(s).assign(label="entailment", pred="entailment") for s in (1, 2)]
    frames[1].loc[4, "pred"] = "maybe"
    files = _files(tmp_path, ".csv", [f.drop(columns=[c for c in f if c.startswith("prob_")]) for f in frames])
    with pytest.raises(ImportRefused, match=r"run_seed2.csv row 5: prediction 'maybe' is not a label of "
                                            r"superglue-cb \(labels: entailment, contradiction, neutral"):
        _import(files[:2], tmp_path, task="cb", data_dir=tmp_path)  # no data here: only the labels are checked


def test_fewer_than_two_runs_are_refused(tmp_path):
    with pytest.raises(ImportRefused, match=r"fewer than two runs \(1 file\)"):
        _import(_files(tmp_path)[:1], tmp_path)


def test_unreadable_files_are_refused(tmp_path):
    files = _files(tmp_path, ".parquet")
    files[1].write_bytes(b"not a parquet file")
    with pytest.raises(ImportRefused, match=r"run_seed2.parquet: cannot be read as parquet"):
        _import(files, tmp_path)
    with pytest.raises(ImportRefused, match=r"nothere.csv: no such file"):
        _import([files[0], tmp_path / "nothere.csv"], tmp_path)
    broken = _write(_table(2).drop(columns="pred"), tmp_path / "in" / "broken_seed2.csv")
    with pytest.raises(ImportRefused, match=r"broken_seed2.csv: no pred column 'pred' .*--pred-column"):
        _import([_files(tmp_path)[0], broken], tmp_path)
    assert not (tmp_path / "res" / "mine").exists()


def test_seeds_that_cannot_be_told_apart_need_seeds(tmp_path):
    files = [_write(_table(s), tmp_path / f"s{s}" / "preds.csv") for s in (1, 2)]
    with pytest.raises(ImportRefused, match="cannot tell the runs' seeds apart"):
        _import([_write(_table(1), tmp_path / "a.csv"), _write(_table(2), tmp_path / "b.csv")], tmp_path)
    assert [p.name for p in _import(files, tmp_path)] == ["seed=1", "seed=2"]  # from the folder names
    assert [p.name for p in _import(files, tmp_path, study="other", seeds=[10, 20])] == ["seed=10", "seed=20"]


def test_a_second_import_keeps_the_same_runs_and_refuses_others(tmp_path):
    files = _files(tmp_path)
    first = _import(files, tmp_path)
    stamp = (first[0] / "run.json").read_text()
    _import(files, tmp_path)  # the same files again: nothing changes
    assert (first[0] / "run.json").read_text() == stamp
    other = _files(tmp_path / "other", frames=[_table(2), _table(3), _table(1)])
    with pytest.raises(ImportRefused, match=r"seed=1 holds another run"):
        _import(other, tmp_path, params={"learning_rate": 1e-5})
    assert (first[0] / "run.json").read_text() == stamp
    _import(other, tmp_path, params={"learning_rate": 1e-5}, force=True)
    assert find_runs(tmp_path / "res", "mine")[0].record["config"]["learning_rate"] == 1e-5


def test_a_study_of_trained_runs_takes_no_imports(tmp_path):
    trained = next(COMMITTED.glob("superglue-cb/*/seed=1"))
    shutil.copytree(trained, tmp_path / "res" / "mine" / "superglue-cb" / "minilm-l6" / "seed=1")
    with pytest.raises(ImportRefused, match="holds trained runs"):
        _import(_files(tmp_path), tmp_path)


def test_one_imported_task_name_means_one_set_of_labels(tmp_path):
    _import(_files(tmp_path), tmp_path, task="two views")
    runs = find_runs(tmp_path / "res", "mine")
    assert runs and "imported-two-views" in DEFINED
    binary = [_table(s).assign(label="neg").drop(columns=["prob_neu", "prob_neg", "prob_pos"]) for s in (1, 2)]
    binary = [f.assign(pred=np.where(f["pred"] == "neu", "neg", f["pred"])) for f in binary]
    with pytest.raises(ImportRefused, match=r"imported task 'imported-two-views' already has runs with labels "
                                            r"\['neg', 'neu', 'pos'\] .*; these have \['neg', 'pos'\]"):
        _import(_files(tmp_path / "b", frames=binary), tmp_path, task="two views", study="binary")
    assert not (tmp_path / "res" / "binary").exists()
    _import(_files(tmp_path / "b", frames=binary), tmp_path, task="two views binary", study="binary")
    assert find_runs(tmp_path / "res", "binary")[0].record["task"] == "imported-two-views-binary"


def test_the_command_imports_and_says_one_line_on_bad_input(tmp_path, capsys):
    files = [str(f) for f in _files(tmp_path)]
    argv = ["import", *files, "--study", "cli", "--model", "m", "--task", "my-task",
            "--results-dir", str(tmp_path / "res"), "--param", "learning_rate=2e-5", "epochs=3"]
    assert main(argv) == 0
    record = find_runs(tmp_path / "res", "cli")[0].record
    assert record["config"]["learning_rate"] == 2e-5 and record["config"]["epochs"] == 3
    assert main(["import", files[0], "--study", "cli2", "--model", "m", "--task", "my-task",
                 "--results-dir", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["seedstudy import: error: fewer than two runs (1 file): a seed study compares at least "
                   "two seeds, one file each"]


def test_mnli_mismatched_alone_is_scored_and_reported_on_its_split(tmp_path, data_dir):
    docs = data.load_split(get_task("glue-mnli"), "validation_mismatched", data_dir).head(60)
    rng = np.random.default_rng(2)
    files = [_harness_run(tmp_path / f"run{s}", s, docs, rng.integers(0, 3, len(docs)), task="mnli_mismatch",
                          choices=3) for s in (1, 2, 3)]
    import_runs(files, study="mm", model="my-llm", results_dir=tmp_path / "res", data_dir=data_dir,
                echo=lambda _: None)
    runs = find_runs(tmp_path / "res", "mm")
    assert {r.record["lead_metric"] for r in runs} == {"accuracy_mm"}
    assert set(runs[0].predictions["split"]) == {"validation_mismatched"}
    summary = paper.summarise(runs)
    row = summary["paper"].iloc[0]
    accuracies = [r.record["metrics"]["accuracy_mm"] for r in runs]
    assert row["mean"] == pytest.approx(np.mean(accuracies)) and row["primary"]  # its only evaluation
    tables = formatting.paper_tables(summary)
    assert tables["paper"]["Task"].tolist() == ["glue-mnli-mm"] and tables["size"]["Tasks"].tolist() == [0, 0, 0]
    assert formatting.format_size(paper.size_table(summary["paper"].assign(primary=False))).empty  # no rows
    needed = planning.seeds_needed(runs).iloc[0]
    assert needed["agreement"] == "CON" and np.isfinite(needed["agreement_value"])  # CON of its only split


def test_stsb_trainer_scores_with_float32_labels_take_the_datas_labels(tmp_path, data_dir):
    docs = data.load_split(get_task("glue-stsb"), "validation", data_dir)
    rng = np.random.default_rng(3)
    for seed in (1, 2):
        scores = (docs["label"].to_numpy() + rng.normal(0, 1, len(docs))).astype(np.float32)
        np.savez(tmp_path / f"seed{seed}.npz", predictions=scores, label_ids=docs["label"].to_numpy(np.float32),
                 ids=docs["idx"].to_numpy())
    files = [tmp_path / "seed1.npz", tmp_path / "seed2.npz"]
    import_runs(files, study="sts", model="m", task="glue-stsb", results_dir=tmp_path / "res", data_dir=data_dir,
                echo=lambda _: None)
    run = find_runs(tmp_path / "res", "sts")[0]
    assert run.predictions["label"].to_numpy().tolist() == docs["label"].tolist()  # exact, not float32
    assert 0.8 < run.record["metrics"]["pearson"] < 1
    np.savez(tmp_path / "off_seed1.npz", predictions=np.zeros(len(docs), np.float32), ids=docs["idx"].to_numpy(),
             label_ids=(docs["label"].to_numpy() + 0.01).astype(np.float32))
    np.savez(tmp_path / "off_seed2.npz", predictions=np.ones(len(docs), np.float32), ids=docs["idx"].to_numpy(),
             label_ids=(docs["label"].to_numpy() + 0.01).astype(np.float32))
    with pytest.raises(ImportRefused, match=r"off_seed1.npz: id 0 has label 5.01.* but glue-stsb validation says 5.0"):
        import_runs([tmp_path / "off_seed1.npz", tmp_path / "off_seed2.npz"], study="sts2", model="m",
                    task="glue-stsb", results_dir=tmp_path / "res", data_dir=data_dir)


def test_multirc_groups_are_checked_against_the_data_or_taken_from_it(tmp_path, data_dir):
    docs = data.load_split(get_task("superglue-multirc"), "validation", data_dir).head(80)
    frames = [pd.DataFrame({"id": docs["idx"], "pred": (docs["label"] + s) % 2, "group": docs["group"]})
              for s in (1, 2)]
    files = _files(tmp_path, frames=frames)[:2]
    import_runs(files, study="mrc", model="m", task="multirc", results_dir=tmp_path / "res", data_dir=data_dir,
                echo=lambda _: None)
    run = find_runs(tmp_path / "res", "mrc")[0]
    assert run.predictions["group"].tolist() == docs["group"].tolist()
    assert {"em", "f1a"} <= set(run.record["metrics"])
    without = _files(tmp_path / "no_group", frames=[f.drop(columns="group") for f in frames])[:2]
    import_runs(without, study="mrc2", model="m", task="multirc", results_dir=tmp_path / "res", data_dir=data_dir,
                echo=lambda _: None)
    assert find_runs(tmp_path / "res", "mrc2")[0].predictions.equals(run.predictions)
    wrong = [f.assign(group=f["group"] + 1) for f in frames]
    with pytest.raises(ImportRefused, match=r"run_seed1.csv: id 0 has group 1 but superglue-multirc validation "
                                            r"says 0; are these ids the split's idx\?"):
        import_runs(_files(tmp_path / "wrong", frames=wrong)[:2], study="mrc3", model="m", task="multirc",
                    results_dir=tmp_path / "res", data_dir=data_dir)


def test_copa_choice_predictions_from_a_table(tmp_path, data_dir):
    docs = data.load_split(get_task("superglue-copa"), "validation", data_dir)
    frames = [pd.DataFrame({"id": docs["idx"], "pred": np.where(np.arange(len(docs)) % (s + 2) == 0,
                                                                 1 - docs["label"], docs["label"])})
              for s in (1, 2, 3)]
    import_runs(_files(tmp_path, frames=frames), study="copa", model="m", task="copa", results_dir=tmp_path / "res",
                data_dir=data_dir, echo=lambda _: None)
    runs = find_runs(tmp_path / "res", "copa")
    wrong = [int(np.sum(np.arange(len(docs)) % (s + 2) == 0)) for s in (1, 2, 3)]
    assert [r.record["metrics"]["accuracy"] for r in runs] == pytest.approx([1 - w / 100 for w in wrong])


def test_harness_runs_without_results_take_their_seeds_from_the_folders_not_the_time_stamp(tmp_path, data_dir):
    docs = data.load_split(get_task("glue-sst2"), "validation", data_dir).head(30)
    files = [_harness_run(tmp_path / f"seed{s}", s, docs, (docs["label"] + s) % 2, task="sst2", results=False)
             for s in (4, 5)]
    paths = import_runs(files, study="h", model="m", results_dir=tmp_path / "res", data_dir=data_dir,
                        echo=lambda _: None)
    assert [p.name for p in paths] == ["seed=4", "seed=5"]
    assert find_runs(tmp_path / "res", "h")[0].record["imported"]["files"][0]["path"].endswith(files[0].name)
    flat = [_harness_run(tmp_path / "all", s, docs, (docs["label"] + s) % 2, task="sst2", results=False)
            for s in (6, 7)]
    with pytest.raises(ImportRefused, match="cannot tell the runs' seeds apart"):
        import_runs(flat, study="h2", model="m", results_dir=tmp_path / "res", data_dir=data_dir)


def test_seeds_named_in_paths():
    cases = {"run_seed1.csv": 1, "seed3/preds_epoch10.csv": 3, "out/seed=04/preds.csv": 4, "SEED_12.csv": 12,
             "run7/samples_sst2_2024-06-20T15-23-47.123456.jsonl": 7, "3/preds.csv": 3,
             "x/samples_sst2_2024-06-20T15-23-47.123456.jsonl": None, "preds_epoch10_step200.csv": None,
             "llama-3.2-3b/preds.csv": None, "seed1_seed2.csv": None, "a/b.csv": None}
    assert {name: seed_in_name(Path(name)) for name in cases} == cases


def test_trainer_class_ids_saved_as_floats_are_the_same_classes(tmp_path):
    labels = np.array([0, 1, 1, 0, 1, 0])
    for seed, preds in ((1, [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]), (2, [0.0, 0.0, 1.0, 0.0, 1.0, 0.0])):
        np.savez(tmp_path / f"seed{seed}.npz", predictions=np.array(preds), label_ids=labels, ids=np.arange(6))
    files = [tmp_path / "seed1.npz", tmp_path / "seed2.npz"]
    _import(files, tmp_path, task="float ids")
    runs = find_runs(tmp_path / "res", "mine")
    assert get_task("imported-float-ids").label_names == ("0", "1")
    assert [r.record["metrics"]["accuracy"] for r in runs] == pytest.approx([5 / 6, 5 / 6])
    np.savez(tmp_path / "score_seed1.npz", predictions=np.linspace(0, 1, 6), label_ids=labels, ids=np.arange(6))
    np.savez(tmp_path / "score_seed2.npz", predictions=np.linspace(0, 2, 6), label_ids=labels, ids=np.arange(6))
    with pytest.raises(ImportRefused, match=r"score_seed1.npz: pred 0.2 is a score, not a class; .*--task glue-stsb"):
        _import([tmp_path / "score_seed1.npz", tmp_path / "score_seed2.npz"], tmp_path, task="scores")


def test_float16_probabilities_are_kept_not_softmaxed_again(tmp_path):
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]], dtype=np.float16)
    for seed in (1, 2):
        np.savez(tmp_path / f"seed{seed}.npz", predictions=np.roll(probs, seed - 1, axis=1), label_ids=[0, 2, 1],
                 ids=np.arange(3))
    _import([tmp_path / "seed1.npz", tmp_path / "seed2.npz"], tmp_path, task="half")
    stored = find_runs(tmp_path / "res", "mine")[0].predictions[["prob_0", "prob_1", "prob_2"]].to_numpy()
    assert np.allclose(stored, probs.astype(float), atol=1e-3)


def test_the_same_file_twice_or_a_copy_is_not_two_seeds(tmp_path):
    files = _files(tmp_path)
    with pytest.raises(ImportRefused, match=r"run_seed1.csv: given twice"):
        _import([files[0], files[1], files[0]], tmp_path, seeds=[1, 2, 3])
    copy = tmp_path / "in" / "run_seed4.csv"
    shutil.copy(files[0], copy)
    with pytest.raises(ImportRefused, match=r"run_seed4.csv: the same bytes as .*run_seed1.csv, a copy rather "
                                            r"than another seed's run \(--force imports it anyway\)"):
        _import([files[0], copy], tmp_path)
    assert not (tmp_path / "res" / "mine").exists()
    notes = []
    import_runs([files[0], copy], study="det", model="m", task="t", results_dir=tmp_path / "res", force=True,
                echo=notes.append)
    assert any("predict exactly alike" in n for n in notes)


def test_new_seeds_with_another_configuration_are_refused_in_the_same_study(tmp_path):
    files = _files(tmp_path) + [_write(_table(1).assign(pred="neg"), tmp_path / "in" / "run_seed4.csv")]
    _import(files[:2], tmp_path, params={"learning_rate": 1e-5}, precision="fp32")
    with pytest.raises(ImportRefused, match=r"seed=1 was imported with another configuration \(learning_rate "
                                            r"1e-05 there, 2e-05 here\); .* another --study"):
        _import(files[2:], tmp_path, params={"learning_rate": 2e-5}, precision="fp32")
    assert not (tmp_path / "res" / "mine" / "imported-my-sentiment" / "my-model" / "seed=3").exists()
    _import(files[2:], tmp_path, params={"learning_rate": 1e-5}, precision="fp32")  # the same: two more seeds
    assert len(find_runs(tmp_path / "res", "mine")) == 4


def test_options_that_cannot_describe_the_runs_are_refused(tmp_path):
    with pytest.raises(ImportRefused, match=r"--param model=...: model is set by its own option \(--model\)"):
        _import(_files(tmp_path), tmp_path, params={"model": "other"})
    with pytest.raises(ImportRefused, match=r"--n-train 0: expected the number of training examples"):
        _import(_files(tmp_path), tmp_path, n_train=0)
    blank = _table(2).assign(split=["validation"] * 5 + [None])
    _refused(tmp_path, [_table(1).assign(split="validation"), blank, _table(3).assign(split="validation")],
             r"run_seed2.csv row 6: no split")


def test_harness_documents_with_different_numbers_of_choices(tmp_path):
    docs = pd.DataFrame({"idx": range(6), "label": [0, 2, 1, 3, 0, 1]})
    counts = [3, 3, 4, 4, 3, 2]
    files = [_harness_run(tmp_path / f"r{s}", s, docs, [(y + s) % n for y, n in zip(docs["label"], counts)],
                          task="my_arc", choices=counts) for s in (1, 2)]
    import_runs(files, study="arc", model="m", results_dir=tmp_path / "res", echo=lambda _: None)
    run = find_runs(tmp_path / "res", "arc")[0]
    probs = run.predictions[[f"prob_{k}" for k in range(4)]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1) and probs[5, 2:].tolist() == [0, 0] and probs[0, 3] == 0
