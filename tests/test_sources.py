"""A seed per source of randomness and factorial grids (the decomposition: tests/test_decompose.py)."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
import torch

from seedstudy.store import runs
from seedstudy.study.presets import get_preset
from seedstudy.study.spec import parse_spec
from seedstudy.training.seeds import Seeds, parse_all
from seedstudy.training.train import fine_tune

CONFIG = replace(get_preset("smoke").config_for("glue-rte"), max_train_examples=32)


def test_seeds_parse_every_spelling_and_reject_the_rest():
    assert Seeds.parse(3) == Seeds(3, 3, 3, tied=True) and Seeds.parse(3).label == "3"
    explicit = Seeds.parse({"init": 1, "order": 2, "dropout": 0})
    assert explicit == Seeds.parse("i1-o2-d0") and explicit.label == "i1-o2-d0" and not explicit.tied
    assert Seeds.parse("4").tied and Seeds.parse(explicit.to_json()) == explicit
    assert Seeds.parse({"init": 1, "order": 1, "dropout": 1}) != Seeds.parse(1)  # explicit is never tied
    for bad in (-1, True, "x3", {"init": 1, "order": 2}, 1.5):
        with pytest.raises(ValueError, match="bad seed"):
            Seeds.parse(bad)
    with pytest.raises(ValueError, match=r"duplicated seed\(s\) \['i1-o1-d0'\]"):
        parse_all(["i1-o1-d0", {"init": 1, "order": 1, "dropout": 0}])


def _preds(seed) -> pd.DataFrame:
    return fine_tune(CONFIG, seed).predictions


def test_each_source_follows_its_own_seed(data_dir):
    base = _preds("i1-o1-d0")
    pd.testing.assert_frame_equal(base, _preds("i1-o1-d0"))  # same tuple, same run
    for other in ("i2-o1-d0", "i1-o2-d0", "i1-o1-d5"):  # change one source only
        assert not _preds(other)[["prob_0"]].equals(base[["prob_0"]]), other


def _observed(monkeypatch, seed) -> tuple[dict, list, pd.DataFrame]:
    """Fine-tune with ``seed`` and record the model's weights as training starts and every batch."""
    from seedstudy.training import train

    seen: dict = {"batches": []}
    start, batches = train.train_steps, train.epoch_batches

    def snapshot(model, *args, **kwargs):
        seen["init"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return start(model, *args, **kwargs)

    def record(*args, **kwargs):
        out = batches(*args, **kwargs)
        seen["batches"] += [b.tolist() for b in out]
        return out

    monkeypatch.setattr(train, "train_steps", snapshot)
    monkeypatch.setattr(train, "epoch_batches", record)
    predictions = fine_tune(CONFIG, seed).predictions
    monkeypatch.undo()
    return seen["init"], seen["batches"], predictions


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_only_its_own_source_changes_with_each_seed(monkeypatch, data_dir):
    """The dropout seed leaves the head's initial weights and the batch order bit-identical; the
    order seed leaves the weights; the init seed leaves the batches (and each changes its own)."""
    init, order, preds = _observed(monkeypatch, "i1-o1-d0")
    d_init, d_order, d_preds = _observed(monkeypatch, "i1-o1-d5")
    assert _same_weights(init, d_init) and d_order == order
    assert not d_preds["prob_0"].equals(preds["prob_0"])  # dropout itself did change
    o_init, o_order, _ = _observed(monkeypatch, "i1-o2-d0")
    assert _same_weights(init, o_init) and o_order != order
    i_init, i_order, _ = _observed(monkeypatch, "i2-o1-d0")
    assert not _same_weights(init, i_init) and i_order == order
    head = [k for k in init if "classifier" in k]
    assert head and all(not torch.equal(init[k], i_init[k]) for k in head if k.endswith("weight"))


def test_tied_integer_seed_keeps_the_runs_made_before_sources_were_split(data_dir):
    tied = _preds(7)
    pd.testing.assert_frame_equal(tied, _preds(Seeds.parse(7)))
    assert not tied[["prob_0"]].equals(_preds("i7-o7-d7")[["prob_0"]])  # dropout re-seeded when explicit


def test_explicit_seeds_name_the_run_folder_and_the_record(tmp_path, data_dir):
    run = runs.execute_run(CONFIG, "i1-o2-d0", study="s", results_dir=tmp_path)
    assert run.path.name == "seed=i1-o2-d0"
    assert run.record["seed"] == "i1-o2-d0"
    assert run.record["seeds"] == {"init": 1, "order": 2, "dropout": 0, "tied": False}
    assert runs.execute_run(CONFIG, {"init": 1, "order": 2, "dropout": 0}, study="s",
                            results_dir=tmp_path).skipped


def test_seed_grid_in_a_spec_and_the_factorial_preset():
    spec = parse_spec({"name": "f", "preset": "smoke", "tasks": ["glue-rte"],
                       "seed_grid": {"init": [1, 2], "order": [1, 2], "dropout": [0]}}, "spec.yaml")
    unit = spec.units()[0]
    assert [s.label for s in unit.seeds] == ["i1-o1-d0", "i1-o2-d0", "i2-o1-d0", "i2-o2-d0"]
    assert unit.run_folders()[1] == "f/glue-rte/tiny-bert/seed=i1-o2-d0"
    with pytest.raises(ValueError, match="'seeds' or 'seed_grid', not both"):
        parse_spec({"name": "f", "seeds": [1], "seed_grid": {"init": [1], "order": [1], "dropout": [0]}}, "x")
    factorial = get_preset("factorial")
    assert len(factorial.seeds) == 30 and sum(s.dropout == 0 for s in factorial.seeds) == 25
