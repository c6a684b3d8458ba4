"""ReCoRD (entity ranking) and the diagnostic sets (AX, AX-b, AX-g), on hand-written fixtures.

None of these files is in the offline data copy, so each path is exercised on small tables
written here in the hub's schema or in the original jsonl/tsv layouts (invented sentences, no
benchmark text).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seedstudy.benchmark import data, scoring
from seedstudy.benchmark.tasks import get_task
from seedstudy.report import formatting, paper
from seedstudy.store import runs
from seedstudy.training.config import TrainConfig
from seedstudy.training.train import fine_tune

RECORD = get_task("superglue-record")

# Two passages in the hub's ReCoRD schema: entities are distinct strings, answers may repeat.
RECORD_HUB = {
    "passage": ["Ada Lane met Bo Chen in Oslo.@highlight\nThey talked.",
                "Cy Dunn left Rome for Lima."],
    "query": ["@placeholder greeted Bo Chen.", "Cy Dunn flew to @placeholder."],
    "entities": [["Bo Chen", "Ada Lane", "Oslo"], ["Rome", "Lima", "Cy Dunn"]],
    "entity_spans": [{"text": [], "start": [], "end": []}] * 2,
    "answers": [["Ada Lane", "Ada Lane"], ["Lima"]],
    "idx": [{"passage": 0, "query": 10}, {"passage": 1, "query": 11}],
}


def _hub(monkeypatch, tables: dict[str, dict]):
    """Serve ``tables[config]`` from a fake ``datasets.load_dataset``; record the calls."""
    import datasets

    calls = []
    monkeypatch.delenv("SEEDSTUDY_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")

    def load_dataset(path, name, split):
        calls.append((path, name, split))
        return datasets.Dataset.from_dict(tables[name])

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def test_record_hub_rows_are_query_candidate_pairs(monkeypatch):
    calls = _hub(monkeypatch, {"record": RECORD_HUB})
    frame = data.load_split(RECORD, "validation")
    assert calls == [("aps/super_glue", "record", "validation")]
    assert list(frame.columns) == ["idx", "group", "query", "passage", "candidate", "answers", "label"]
    assert frame["idx"].tolist() == list(range(6)) and frame["group"].tolist() == [10] * 3 + [11] * 3
    assert frame["candidate"].tolist() == ["Ada Lane", "Bo Chen", "Oslo", "Cy Dunn", "Lima", "Rome"]
    assert frame["label"].tolist() == [1, 0, 0, 0, 1, 0]
    assert frame["query"].iloc[0] == "Ada Lane greeted Bo Chen."
    assert frame["passage"].iloc[0] == "Ada Lane met Bo Chen in Oslo.\nThey talked."
    assert list(frame["answers"].iloc[0]) == ["Ada Lane"]
    first, second = data.render_inputs(RECORD, frame)
    assert first[4] == "Cy Dunn flew to Lima." and second[4] == "Cy Dunn left Rome for Lima."
    assert data.subsample(frame, 1, data_seed=0)["group"].nunique() == 1  # whole queries


def _record_jsonl(path: Path, n_passages: int) -> None:
    """A ReCoRD file in the SuperGLUE jsonl layout: entity and answer spans with inclusive ends."""
    names = ["Ada Lane", "Bo Chen", "Cy Dunn", "Di Fox"]
    lines = []
    for p in range(n_passages):
        a, b = names[p % 4], names[(p + 1) % 4]
        text = f"{a} thanked {b} at noon."
        spans = [{"start": 0, "end": len(a) - 1},
                 {"start": len(a) + 9, "end": len(a) + 8 + len(b)}]
        answer = {"start": 0, "end": len(a) - 1, "text": a}
        lines.append({"source": "fixture", "idx": p,
                      "passage": {"text": text, "entities": spans},
                      "qas": [{"query": f"@placeholder said thanks to {b}.", "answers": [answer],
                               "idx": 100 + p}]})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_record_local_jsonl_spans_become_entity_strings(tmp_path):
    _record_jsonl(tmp_path / "superglue" / "ReCoRD" / "val.jsonl", 2)
    frame = data.load_split(RECORD, "validation", tmp_path)
    assert frame["candidate"].tolist() == ["Ada Lane", "Bo Chen", "Bo Chen", "Cy Dunn"]
    assert frame["label"].tolist() == [1, 0, 1, 0] and frame["group"].tolist() == [100, 100, 101, 101]
    assert frame["query"].iloc[2] == "Bo Chen said thanks to Cy Dunn."


def _prediction_part(prob_1: list[float]) -> pd.DataFrame:
    """Predictions of the two hub queries (candidates sorted: Ada, Bo, Oslo | Cy, Lima, Rome)."""
    answers = [["Ada Lane"]] * 3 + [["Lima"]] * 3
    return pd.DataFrame({"split": "validation", "idx": range(6), "group": [10] * 3 + [11] * 3,
                         "candidate": ["Ada Lane", "Bo Chen", "Oslo", "Cy Dunn", "Lima", "Rome"],
                         "answers": answers, "label": [1, 0, 0, 0, 1, 0],
                         "pred": [int(p > 0.5) for p in prob_1], "prob_1": prob_1})


def test_record_scores_pick_the_best_candidate_per_query():
    part = _prediction_part([0.2, 0.7, 0.1, 0.3, 0.6, 0.9])  # picks Bo Chen (wrong), Rome (wrong)
    scores, baseline = scoring.split_scores(RECORD, "validation", part, majority=0)
    assert scores == {"record_f1": 0.0, "record_em": 0.0}
    assert baseline == {"record_f1": 0.5, "record_em": 0.5}  # first candidate: Ada Lane, Cy Dunn
    part = _prediction_part([0.9, 0.7, 0.1, 0.3, 0.6, 0.1])  # Ada Lane (right), Lima (right)
    assert scoring.split_scores(RECORD, "validation", part, 0)[0] == {"record_f1": 1.0, "record_em": 1.0}


def test_record_agreement_is_on_the_chosen_entity_with_gold_aliases_as_one():
    part = _prediction_part([0.9, 0.1, 0.1, 0.1, 0.2, 0.9])
    part.loc[1, "label"] = 1  # "Bo Chen" is a second gold alias of query 10
    decided = scoring.decisions(RECORD, "validation", part)
    assert decided["idx"].tolist() == [10, 11]
    assert decided["label"].tolist() == [0, 4] and decided["pred"].tolist() == [0, 5]
    alias = part.assign(prob_1=[0.1, 0.9, 0.1, 0.1, 0.2, 0.9])  # picks the other gold alias
    assert scoring.decisions(RECORD, "validation", alias)["pred"].tolist() == [0, 5]


def test_diagnostics_on_the_hub(monkeypatch):
    tables = {
        "axb": {"sentence1": ["A cat sat.", "Rain fell."], "sentence2": ["A cat.", "It was dry."],
                "idx": [0, 1], "label": [0, 1]},
        "axg": {"premise": ["He paid.", "She paid.", "He ran.", "She ran."],
                "hypothesis": ["Someone paid."] * 2 + ["Nobody ran."] * 2,
                "idx": [0, 1, 2, 3], "label": [0, 0, 1, 1]},
        "ax": {"premise": ["A dog barks."], "hypothesis": ["A dog is silent."], "idx": [0],
               "label": [-1]},
    }
    calls = _hub(monkeypatch, tables)
    axb = data.load_split(get_task("axb"), "test")
    assert axb["label"].tolist() == [0, 1] and list(axb.columns) == ["idx", "sentence1", "sentence2", "label"]
    axg = data.load_split(get_task("axg"), "test")
    assert axg["group"].tolist() == [0, 0, 1, 1]  # pairs are consecutive ids on the hub
    with pytest.raises(data.DataError, match=r"unlabelled split.*glue-ax"):
        data.load_split(get_task("glue-ax"), "test")  # the hub's GLUE AX copy has no labels
    assert [c[1:] for c in calls] == [("axb", "test"), ("axg", "test"), ("ax", "test")]


def test_diagnostic_set_cannot_be_trained_on_its_own():
    with pytest.raises(ValueError, match="superglue-axb is a diagnostic set.*superglue-rte"):
        TrainConfig(task="axb", model="tiny-bert")


def _diagnostic_data_dir(tmp_path: Path, real: Path) -> Path:
    """A data folder with the real SuperGLUE RTE files plus AX-b and AX-g fixtures."""
    root = tmp_path / "data"
    (root / "superglue").mkdir(parents=True)
    (root / "superglue" / "RTE").symlink_to(real / "superglue" / "RTE")
    axb = [{"sentence1": f"The {w} is red.", "sentence2": f"The {w} has a colour.", "idx": i,
            "label": "entailment" if i % 3 else "not_entailment"}
           for i, w in enumerate(["car", "hat", "cup", "box", "pen", "map"])]
    axg = [{"premise": f"The nurse said {p} was late.", "hypothesis": "The nurse was late.",
            "idx": i, "pair_id": 50 + i // 2, "label": "not_entailment" if i < 4 else "entailment"}
           for i, p in enumerate(["he", "she", "he", "she", "he", "she"])]
    for name, rows in (("AX-b", axb), ("AX-g", axg)):
        (root / "superglue" / name).mkdir()
        (root / "superglue" / name / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_rte_run_predicts_and_scores_its_diagnostic_sets(tmp_path, data_dir):
    local = _diagnostic_data_dir(tmp_path, data_dir)
    config = TrainConfig(task="superglue-rte", model="tiny-bert", epochs=1, learning_rate=1e-3,
                         batch_size=16, max_length=48, max_train_examples=32, max_eval_examples=20)
    done = [runs.execute_run(config, seed, study="diag", results_dir=tmp_path / "results",
                             data_dir=local) for seed in (1, 2)]
    record = done[0].record
    assert set(record["metrics"]) == {"accuracy", "axb_mcc", "axg_accuracy", "axg_gender_parity"}
    assert record["majority_baseline"]["axg_gender_parity"] == 1.0
    assert record["run"]["diagnostics_unavailable"] == {}
    assert "superglue/AX-g/AX-g.jsonl" in record["data"]["files_sha256"]
    p = done[0].predictions
    assert p.groupby("split").size().to_dict() == {"validation": 20, "superglue-axb": 6, "superglue-axg": 6}
    assert p.loc[p["split"] == "superglue-axg", "group"].tolist() == [50, 50, 51, 51, 52, 52]
    table = paper.micro_table(done).set_index("task")
    assert list(table.index) == ["superglue-rte", "superglue-axb", "superglue-axg"]
    assert table.loc["superglue-axg", "n_examples"] == 6
    assert np.isfinite(table.loc["superglue-axg", "group_all_agree"])
    lead = paper.variance_table(done).query("lead")["metric"].tolist()
    assert lead == ["accuracy"]  # the diagnostics never become the lead metric


def test_missing_diagnostic_files_are_recorded_not_fatal(data_dir, tmp_path):
    config = TrainConfig(task="superglue-rte", model="tiny-bert", epochs=1, learning_rate=1e-3,
                         batch_size=16, max_length=32, max_train_examples=16, max_eval_examples=8)
    result = fine_tune(config, 1, data_dir)
    assert set(result.predictions["split"]) == {"validation"}
    reasons = result.info["diagnostics_unavailable"]
    assert sorted(reasons) == ["superglue-axb", "superglue-axg"]
    assert "superglue/AX-b/AX-b.jsonl" in reasons["superglue-axb"]


def test_record_fine_tunes_end_to_end_on_a_local_fixture(tmp_path):
    _record_jsonl(tmp_path / "superglue" / "ReCoRD" / "train.jsonl", 8)
    _record_jsonl(tmp_path / "superglue" / "ReCoRD" / "val.jsonl", 4)
    config = TrainConfig(task="record", model="tiny-bert", epochs=1, learning_rate=1e-3,
                         batch_size=4, max_length=32)
    done = [runs.execute_run(config, seed, study="rec", results_dir=tmp_path / "results",
                             data_dir=tmp_path) for seed in (1, 2)]
    record = done[0].record
    assert set(record["metrics"]) == {"record_f1", "record_em"}
    assert record["lead_metric"] == "record_f1" and 0 <= record["metrics"]["record_em"] <= 1
    assert {"candidate", "answers"} <= set(done[0].predictions.columns)
    row = paper.micro_table(done).iloc[0]
    assert row["n_examples"] == 4  # queries, not candidates
    assert formatting.format_all_seeds(paper.micro_table(done))["Agreement rule"].iloc[0].startswith(
        "same chosen entity")
