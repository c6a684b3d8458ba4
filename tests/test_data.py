"""Loading the real local splits, the hub path's offline error, and bad input files."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from seedstudy.benchmark import data
from seedstudy.benchmark.tasks import TASKS, get_task

# Official row counts (GLUE / SuperGLUE papers and the data README).
OFFICIAL_ROWS = {
    ("glue-sst2", "train"): 67349, ("glue-sst2", "validation"): 872,
    ("glue-cola", "train"): 8551, ("glue-cola", "validation"): 1043,
    ("glue-mrpc", "train"): 3668, ("glue-mrpc", "validation"): 408,
    ("glue-stsb", "train"): 5749, ("glue-stsb", "validation"): 1500,
    ("glue-rte", "train"): 2490, ("glue-rte", "validation"): 277,
    ("glue-wnli", "train"): 635, ("glue-wnli", "validation"): 71,
    ("glue-qnli", "validation"): 5463,
    ("glue-qqp", "validation"): 40430,
    ("glue-mnli", "validation_matched"): 9815, ("glue-mnli", "validation_mismatched"): 9832,
    ("superglue-cb", "train"): 250, ("superglue-cb", "validation"): 56,
    ("superglue-rte", "train"): 2490, ("superglue-rte", "validation"): 277,
    ("superglue-wic", "train"): 5428, ("superglue-wic", "validation"): 638,
    ("superglue-boolq", "train"): 9427, ("superglue-boolq", "validation"): 3270,
    ("superglue-copa", "train"): 400, ("superglue-copa", "validation"): 100,
    ("superglue-wsc", "train"): 554, ("superglue-wsc", "validation"): 104,
    # MultiRC: one row per answer option (456/83 passages, 5,131/953 questions)
    ("superglue-multirc", "train"): 27243, ("superglue-multirc", "validation"): 4848,
}
OFFICIAL_GROUPS = {("superglue-multirc", "train"): 5131, ("superglue-multirc", "validation"): 953}


@pytest.mark.parametrize("task,split", sorted(OFFICIAL_ROWS))
def test_local_split_has_official_row_count(task, split, data_dir):
    frame = data.load_split(get_task(task), split, data_dir)
    assert len(frame) == OFFICIAL_ROWS[task, split]
    assert frame["idx"].is_unique
    t = get_task(task)
    assert list(frame.columns) == t.columns
    if t.label_names is not None:
        assert set(frame["label"]) <= set(range(t.num_labels))
    if t.grouped_by:
        assert frame["group"].nunique() == OFFICIAL_GROUPS[task, split]


def test_every_registered_split_is_covered():
    not_offline = {("glue-qnli", "train"), ("glue-qqp", "train"), ("glue-mnli", "train"),
                   ("superglue-record", "train"), ("superglue-record", "validation"),
                   ("glue-ax", "test"), ("superglue-axb", "test"), ("superglue-axg", "test")}
    expected = {(k, s) for k, t in TASKS.items() for s in t.local} - not_offline
    assert expected == set(OFFICIAL_ROWS)


def test_quirks_bom_headerless_and_quotes(data_dir):
    mrpc = data.load_split(get_task("mrpc"), "validation", data_dir)
    assert mrpc["label"].sum() == 279  # BOM-prefixed "Quality" header read as the label column
    cola = data.load_split(get_task("cola"), "validation", data_dir)
    assert cola["sentence"].iloc[0] == "The sailors rode the breeze clear of the rocks."
    stsb = data.load_split(get_task("stsb"), "train", data_dir)
    assert stsb["label"].dtype == np.float64 and stsb["label"].between(0, 5).all()
    # bare quotes stay in the text (quoting off), as in the original file
    assert mrpc["sentence1"].str.contains('"').any()


def test_label_distributions_match_the_data_readme(data_dir):
    cb = data.load_split(get_task("superglue-cb"), "train", data_dir)
    assert np.bincount(cb["label"]).tolist() == [115, 119, 16]  # entailment, contradiction, neutral
    boolq = data.load_split(get_task("boolq"), "train", data_dir)
    assert np.bincount(boolq["label"]).tolist() == [3553, 5874]


def test_boolq_val_title_prefix_is_stripped_to_match_local_train(data_dir):
    val = data.load_split(get_task("boolq"), "validation", data_dir)
    assert val["passage"].iloc[0].startswith("All biomass goes through")


def test_ids_are_stable_across_loads(data_dir):
    a = data.load_split(get_task("wic"), "validation", data_dir)
    b = data.load_split(get_task("wic"), "validation", data_dir)
    assert a["idx"].tolist() == b["idx"].tolist() == list(range(638))


def test_missing_split_names_the_file(data_dir):
    with pytest.raises(data.MissingSplitError, match=r"glue/QNLI/train\.tsv"):
        data.load_split(get_task("qnli"), "train", data_dir)
    assert [p.name for p in data.missing_local_splits(get_task("qnli"), data_dir)] == ["train.tsv"]


def test_hub_offline_error_names_the_variable(monkeypatch):
    monkeypatch.delenv("SEEDSTUDY_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(data.DataError, match="SEEDSTUDY_DATA_DIR"):
        data.load_split(get_task("sst2"), "train")


def test_nonexistent_data_dir_is_an_error(tmp_path):
    with pytest.raises(data.DataError, match="does not exist"):
        data.resolve_data_dir(tmp_path / "nope")


def _corrupt(data_dir, tmp_path, rel, line, edit):
    """A private data dir holding a copy of one file whose 0-based ``line`` is replaced by ``edit(line)``."""
    target = tmp_path / rel
    shutil.copytree((data_dir / rel).parent, target.parent)
    lines = target.read_text().split("\n")
    lines[line] = edit(lines[line])
    target.write_text("\n".join(lines))
    return tmp_path


def test_malformed_tsv_row_names_file_and_line(data_dir, tmp_path):
    root = _corrupt(data_dir, tmp_path, "glue/RTE/dev.tsv", 5,
                    lambda row: row.rsplit("\t", 1)[0])  # drop the label field of line 6
    with pytest.raises(data.DataError, match=r"dev\.tsv:6: malformed row: expected 4"):
        data.load_split(get_task("glue-rte"), "validation", root)


def test_label_outside_label_set_names_row(data_dir, tmp_path):
    root = _corrupt(data_dir, tmp_path, "superglue/CB/val.jsonl", 2,
                    lambda row: json.dumps({**json.loads(row), "label": "maybe"}))
    with pytest.raises(data.DataError, match=r"val\.jsonl: row 3: label 'maybe' is not in"):
        data.load_split(get_task("superglue-cb"), "validation", root)


def test_jsonl_errors_name_the_true_line_after_blank_lines(data_dir, tmp_path):
    root = _corrupt(data_dir, tmp_path, "superglue/CB/val.jsonl", 2,
                    lambda row: "\n" + json.dumps({**json.loads(row), "label": "maybe"}))
    with pytest.raises(data.DataError, match=r"val\.jsonl: row 4: label 'maybe'"):
        data.load_split(get_task("superglue-cb"), "validation", root)


def test_malformed_json_and_non_numeric_score(data_dir, tmp_path):
    root = _corrupt(data_dir, tmp_path, "superglue/WiC/val.jsonl", 1, lambda row: "{broken")
    with pytest.raises(data.DataError, match=r"val\.jsonl:2: malformed row: not valid JSON"):
        data.load_split(get_task("wic"), "validation", root)
    root = _corrupt(data_dir, tmp_path / "b", "glue/STS-B/dev.tsv", 1,
                    lambda row: row.rsplit("\t", 1)[0] + "\tfive")
    with pytest.raises(data.DataError, match=r"row 2: label 'five' is not a number"):
        data.load_split(get_task("stsb"), "validation", root)


def test_empty_text_field_is_an_error(data_dir, tmp_path):
    root = _corrupt(data_dir, tmp_path, "glue/SST-2/dev.tsv", 3,
                    lambda row: "\t" + row.split("\t")[1])
    with pytest.raises(data.DataError, match=r"row 4: empty text field 'sentence'"):
        data.load_split(get_task("sst2"), "validation", root)


def test_subsample_depends_only_on_data_seed(data_dir):
    train = data.load_split(get_task("sst2"), "train", data_dir)
    a = data.subsample(train, 100, data_seed=0)
    b = data.subsample(train, 100, data_seed=0)
    c = data.subsample(train, 100, data_seed=1)
    assert a["idx"].tolist() == b["idx"].tolist() != c["idx"].tolist()
    assert len(a) == 100 and a["idx"].is_monotonic_increasing
    assert data.subsample(train, None, 0) is train


def test_inputs_follow_the_template(data_dir):
    wic = data.load_split(get_task("wic"), "validation", data_dir).head(2)
    first, second = data.render_inputs(get_task("wic"), wic)
    assert first[0] == "class: An emerging professional class."
    assert second[0].startswith("Apologizing")
    sst = data.load_split(get_task("sst2"), "validation", data_dir).head(2)
    assert data.render_inputs(get_task("sst2"), sst)[1] is None


def test_unknown_task_lists_the_choices():
    with pytest.raises(ValueError, match="unknown task 'sst3'.*glue-sst2"):
        get_task("sst3")
    assert get_task("SST2").key == "glue-sst2"
    with pytest.raises(ValueError, match="unknown task 'rte'"):
        get_task("rte")  # ambiguous: GLUE and SuperGLUE both have RTE


def test_hub_path_parses_the_hub_schema(monkeypatch):
    """The hub branch with a hand-made table in the hub's schema (int labels, idx column)."""
    import datasets

    rows = {"glue": {"sentence1": ["A cat sat.", "It rains."], "sentence2": ["A cat.", "Dry."],
                     "label": [0, 1], "idx": [0, 1]},
            "superglue": {"word": ["bank", "run"], "sentence1": ["The bank.", "Run home."],
                          "sentence2": ["River bank.", "A run."], "start1": [4, 0], "end1": [8, 3],
                          "start2": [6, 2], "end2": [10, 5], "label": [1, 0], "idx": [7, 8]}}
    calls = []

    def fake_load_dataset(path, name, split):
        calls.append((path, name, split))
        return datasets.Dataset.from_dict(rows["glue" if path == "nyu-mll/glue" else "superglue"])

    monkeypatch.delenv("SEEDSTUDY_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    rte = data.load_split(get_task("glue-rte"), "validation")
    wic = data.load_split(get_task("superglue-wic"), "train")
    assert calls == [("nyu-mll/glue", "rte", "validation"), ("aps/super_glue", "wic", "train")]
    assert rte["label"].tolist() == [0, 1] and rte["idx"].tolist() == [0, 1]
    assert list(wic.columns) == ["idx", "word", "sentence1", "sentence2", "label"]
    assert wic["idx"].tolist() == [7, 8] and wic["label"].tolist() == [1, 0]
    assert wic.attrs["source"] == "hub:aps/super_glue/wic[train]"


def test_multirc_rows_are_answer_options_grouped_by_question(data_dir):
    val = data.load_split(get_task("multirc"), "validation", data_dir)
    first = val[val["group"] == 0]
    assert first["idx"].tolist() == list(range(len(first))) and len(first) >= 2
    assert first["question"].nunique() == 1 and first["paragraph"].nunique() == 1
    assert np.bincount(val["label"]).tolist() == [2773, 2075]
    train = data.load_split(get_task("multirc"), "train", data_dir)
    assert (train["answer"] == "").sum() == 3  # official empty options are kept, not dropped


def test_grouped_subsample_keeps_whole_questions(data_dir):
    val = data.load_split(get_task("multirc"), "validation", data_dir)
    sub = data.subsample(val, 40, data_seed=0)
    assert sub["group"].nunique() == 40
    sizes = val.groupby("group").size()
    assert len(sub) == sizes.loc[sub["group"].unique()].sum()
    assert sub["idx"].tolist() == data.subsample(val, 40, data_seed=0)["idx"].tolist()


def test_copa_renders_one_pair_per_choice_and_wsc_names_the_spans(data_dir):
    copa = data.load_split(get_task("copa"), "validation", data_dir).head(2)
    first, second = data.render_inputs(get_task("copa"), copa)
    assert len(first) == 4 and first[0] == first[1] == "The man turned on the faucet. What was the effect?"
    assert second[:2] == ["The toilet filled with water.", "Water flowed from the spout."]
    wsc = data.load_split(get_task("wsc"), "validation", data_dir).head(1)
    assert data.render_inputs(get_task("wsc"), wsc)[1] == [
        'In the passage above, does the pronoun "him" refer to "anyone"?']


def test_hub_path_flattens_multirc_ids(monkeypatch):
    """MultiRC on the hub: flat rows with a nested idx {paragraph, question, answer}."""
    import datasets

    table = {"paragraph": ["P one.", "P one.", "P one."], "question": ["Q?", "Q?", "R?"],
             "answer": ["a", "b", "c"], "label": [1, 0, 1],
             "idx": [{"paragraph": 0, "question": 0, "answer": 0},
                     {"paragraph": 0, "question": 0, "answer": 1},
                     {"paragraph": 0, "question": 1, "answer": 2}]}
    monkeypatch.delenv("SEEDSTUDY_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_dict(table))
    frame = data.load_split(get_task("multirc"), "validation")
    assert list(frame.columns) == ["idx", "group", "question", "answer", "paragraph", "label"]
    assert frame["idx"].tolist() == [0, 1, 2] and frame["group"].tolist() == [0, 0, 1]
    assert frame["label"].tolist() == [1, 0, 1]


def test_qqp_dev_parquet_keeps_hub_ids_and_labels(data_dir):
    qqp = data.load_split(get_task("qqp"), "validation", data_dir)
    assert qqp["idx"].tolist() == list(range(40430))
    assert np.bincount(qqp["label"]).tolist() == [25545, 14885]
    assert qqp["question1"].iloc[0] == "Why are African-Americans so beautiful?"
    with pytest.raises(data.MissingSplitError, match=r"glue/QQP/train\.tsv"):
        data.load_split(get_task("qqp"), "train", data_dir)


def test_mnli_dev_exports_map_integer_labels_to_names(data_dir):
    task = get_task("mnli")
    matched = data.load_split(task, "validation_matched", data_dir)
    assert np.bincount(matched["label"]).tolist() == [3479, 3123, 3213]  # entailment, neutral, contradiction
    assert matched["premise"].iloc[0] == "The new rights are nice enough"
    assert matched["label"].iloc[0] == task.label_names.index("neutral")
    with pytest.raises(data.MissingSplitError, match=r"glue/MNLI/train\.tsv"):
        data.load_split(task, "train", data_dir)
    assert task.metric_name("accuracy", "validation_mismatched") == "accuracy_mm"
    assert task.lead_metric_name == "accuracy_m"


def test_hub_path_asks_for_each_mnli_split(monkeypatch):
    import datasets

    table = {"premise": ["A dog runs."], "hypothesis": ["An animal moves."], "label": [0], "idx": [0]}
    calls = []
    monkeypatch.delenv("SEEDSTUDY_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    monkeypatch.setattr(datasets, "load_dataset",
                        lambda path, name, split: calls.append(split) or datasets.Dataset.from_dict(table))
    for split in get_task("mnli").eval_splits:
        assert data.load_split(get_task("mnli"), split)["label"].tolist() == [0]
    assert calls == ["validation_matched", "validation_mismatched"]


@pytest.mark.parametrize("key", sorted(k for k, t in TASKS.items() if not t.hub_columns))
def test_every_task_parses_a_table_in_its_hub_schema(key, monkeypatch):
    """Each task's hub branch on a two-row table with the hub's columns (int labels, int idx)."""
    import datasets

    task = get_task(key)
    table = {f: [f"{f} one.", f"{f} two."] for f in task.fields}
    table["idx"] = [4, 5]
    table["label"] = [0.5, 4.0] if task.label_names is None else [1, 0]
    calls = []
    monkeypatch.delenv("SEEDSTUDY_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    monkeypatch.setattr(datasets, "load_dataset",
                        lambda path, name, split: calls.append((path, name, split))
                        or datasets.Dataset.from_dict(table))
    split = next(iter(task.eval_splits))
    frame = data.load_split(task, split)
    assert calls == [(task.hub_path, task.hub_config, split)]
    assert list(frame.columns) == task.columns and frame["idx"].tolist() == [4, 5]
    assert frame["label"].tolist() == table["label"]
    if task.grouped_by:  # AX-g: pairs from consecutive ids
        assert frame["group"].tolist() == [2, 2]
