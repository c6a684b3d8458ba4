"""Loading the real local splits, the hub path's offline error, and bad input files."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from seedstudy import data
from seedstudy.tasks import TASKS, get_task

# Official row counts (GLUE / SuperGLUE papers and the data README).
OFFICIAL_ROWS = {
    ("glue-sst2", "train"): 67349, ("glue-sst2", "validation"): 872,
    ("glue-cola", "train"): 8551, ("glue-cola", "validation"): 1043,
    ("glue-mrpc", "train"): 3668, ("glue-mrpc", "validation"): 408,
    ("glue-stsb", "train"): 5749, ("glue-stsb", "validation"): 1500,
    ("glue-rte", "train"): 2490, ("glue-rte", "validation"): 277,
    ("glue-wnli", "train"): 635, ("glue-wnli", "validation"): 71,
    ("glue-qnli", "validation"): 5463,
    ("superglue-cb", "train"): 250, ("superglue-cb", "validation"): 56,
    ("superglue-rte", "train"): 2490, ("superglue-rte", "validation"): 277,
    ("superglue-wic", "train"): 5428, ("superglue-wic", "validation"): 638,
    ("superglue-boolq", "train"): 9427, ("superglue-boolq", "validation"): 3270,
}


@pytest.mark.parametrize("task,split", sorted(OFFICIAL_ROWS))
def test_local_split_has_official_row_count(task, split, data_dir):
    frame = data.load_split(get_task(task), split, data_dir)
    assert len(frame) == OFFICIAL_ROWS[task, split]
    assert frame["idx"].is_unique
    t = get_task(task)
    assert list(frame.columns) == ["idx", *t.fields, "label"]
    if t.label_names is not None:
        assert set(frame["label"]) <= set(range(t.num_labels))


def test_every_registered_split_is_covered():
    expected = {(k, s) for k, t in TASKS.items() for s in t.local} - {("glue-qnli", "train")}
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


def _copy_task(data_dir, tmp_path, rel):
    """A private data dir holding one task folder, to corrupt."""
    (tmp_path / rel).parent.mkdir(parents=True)
    shutil.copytree(data_dir / rel, tmp_path / rel)
    return tmp_path


def test_malformed_tsv_row_names_file_and_line(data_dir, tmp_path):
    root = _copy_task(data_dir, tmp_path, "glue/RTE")
    path = root / "glue/RTE/dev.tsv"
    lines = path.read_text().split("\n")
    lines[5] = lines[5].rsplit("\t", 1)[0]  # drop the label field of line 6
    path.write_text("\n".join(lines))
    with pytest.raises(data.DataError, match=r"dev\.tsv:6: malformed row: expected 4"):
        data.load_split(get_task("glue-rte"), "validation", root)


def test_label_outside_label_set_names_row(data_dir, tmp_path):
    root = _copy_task(data_dir, tmp_path, "superglue/CB")
    path = root / "superglue/CB/val.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[2]["label"] = "maybe"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(data.DataError, match=r"val\.jsonl: row 3: label 'maybe' is not in"):
        data.load_split(get_task("superglue-cb"), "validation", root)


def test_malformed_json_and_non_numeric_score(data_dir, tmp_path):
    root = _copy_task(data_dir, tmp_path, "superglue/WiC")
    path = root / "superglue/WiC/val.jsonl"
    path.write_text(path.read_text().replace("\n", "\n{broken\n", 1))
    with pytest.raises(data.DataError, match=r"val\.jsonl:2: malformed row: not valid JSON"):
        data.load_split(get_task("wic"), "validation", root)
    root = _copy_task(data_dir, tmp_path / "b", "glue/STS-B")
    path = root / "glue/STS-B/dev.tsv"
    lines = path.read_text().split("\n")
    lines[1] = lines[1].rsplit("\t", 1)[0] + "\tfive"
    path.write_text("\n".join(lines))
    with pytest.raises(data.DataError, match=r"row 2: label 'five' is not a number"):
        data.load_split(get_task("stsb"), "validation", root)


def test_empty_text_field_is_an_error(data_dir, tmp_path):
    root = _copy_task(data_dir, tmp_path, "glue/SST-2")
    path = root / "glue/SST-2/dev.tsv"
    lines = path.read_text().split("\n")
    lines[3] = "\t" + lines[3].split("\t")[1]
    path.write_text("\n".join(lines))
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
