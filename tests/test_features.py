"""Token tables: arrays in, the same batches out as the tokenizer's own padding; cached memory-mapped."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from seedstudy.benchmark.tasks import get_task
from seedstudy.training import cache, models
from seedstudy.training.features import Features
from seedstudy.training.train import collate, encode

PAIRS = (["A cat sat on the mat.", "Rain.", "It was a long and rather dull afternoon in June."],
         ["A cat.", "It rained all day long, and then some more.", "Dull."])


def _tokenizer(name: str):
    return models.load_tokenizer(models.resolve_model(name))


@pytest.mark.parametrize("name", ["tiny-bert", "minilm-l6", "tiny-llama"])
@pytest.mark.parametrize("side", ["right", "left"])
def test_collate_pads_exactly_as_the_tokenizer_does(name, side):
    tokenizer = _tokenizer(name)
    tokenizer.padding_side = side
    enc = tokenizer(*PAIRS, truncation=True, max_length=16)
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in enc and k in tokenizer.model_input_names]
    table = Features.from_lists(enc, keys)
    rows = [{k: enc[k][i] for k in keys} for i in range(3)]
    expected = tokenizer.pad(rows, padding="longest", return_tensors="pt")
    batch = collate(tokenizer, table)
    assert set(batch) == set(keys)
    for key in keys:
        assert batch[key].dtype == expected[key].dtype and torch.equal(batch[key], expected[key]), key
    subset = collate(tokenizer, table[[2, 0]])  # a subset, reordered
    expected = tokenizer.pad([rows[2], rows[0]], padding="longest", return_tensors="pt")
    assert all(torch.equal(subset[k], expected[k]) for k in keys)


def test_multiple_choice_rows_pad_to_the_longest_choice_of_the_batch():
    tokenizer = _tokenizer("tiny-bert")
    task = get_task("superglue-copa")
    import pandas as pd

    frame = pd.DataFrame({"premise": ["The man broke his toe.", "I tipped the bottle."],
                          "choice1": ["He dropped a hammer on his foot.", "The liquid froze."],
                          "choice2": ["He got a hole in his sock.", "The liquid in the bottle poured out."],
                          "question": ["cause", "effect"], "label": [0, 1], "idx": [0, 1]})
    table = encode(tokenizer, task, frame, 32)
    assert table.per == 2 and len(table) == 2
    flat = [{k: choice for k, choice in ((k, v[j]) for k, v in example.items())}
            for example in table.to_lists() for j in range(2)]
    expected = tokenizer.pad(flat, padding="longest", return_tensors="pt")
    batch = collate(tokenizer, table)
    for key, values in expected.items():
        assert torch.equal(batch[key], values.view(2, 2, -1)), key
    assert list(table.lengths()) == [max(len(c) for c in ex["input_ids"]) for ex in table.to_lists()]


def test_indexing_keeps_every_row_and_choice_including_empty_rows():
    rng = np.random.default_rng(3)
    lengths = rng.integers(0, 6, size=40)  # empty rows included: the index arithmetic must hold
    rows = [list(rng.integers(0, 1000, size=n)) for n in lengths]
    table = Features.from_lists({"input_ids": rows}, ["input_ids"], per=2)
    positions = rng.permutation(20)[:7]
    picked = table[positions].to_lists()
    whole = table.to_lists()
    assert picked == [whole[i] for i in positions]
    assert table[3:9].to_lists() == whole[3:9]
    assert len(table[[]]) == 0


def test_saved_tables_load_memory_mapped_and_equal(tmp_path):
    table = Features.from_lists({"input_ids": [[101, 7, 102], [101, 102]], "attention_mask": [[1, 1, 1], [1, 1]]},
                                ["input_ids", "attention_mask"])
    table.save(tmp_path / "entry")
    loaded = Features.load(tmp_path / "entry")
    assert loaded == table and isinstance(loaded.columns["input_ids"], np.memmap)
    assert loaded.columns["input_ids"].dtype == np.int32 and loaded.columns["attention_mask"].dtype == np.int8


def test_a_value_that_does_not_fit_its_column_type_is_refused():
    with pytest.raises(ValueError, match="token_type_ids"):
        Features.from_lists({"input_ids": [[1, 2]], "token_type_ids": [[0, 300]]}, ["input_ids", "token_type_ids"])


def test_a_damaged_entry_is_replaced_whole_and_no_scratch_is_left(tmp_path, monkeypatch):
    """A damaged entry is recomputed and replaced in one rename."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    table = Features.from_lists({"input_ids": [[1, 2, 3]]}, ["input_ids"])
    first = cache.cached("same", lambda: table)
    (tmp_path / "tokens" / "same" / "header.json").write_text("{}")  # damaged: the next call rewrites
    second = cache.cached("same", lambda: table)
    assert first == second == table
    assert Features.load(tmp_path / "tokens" / "same") == table
    assert [p.name for p in (tmp_path / "tokens").iterdir()] == ["same"]  # no scratch folder left


def test_a_split_tokenized_in_chunks_equals_it_tokenized_whole(monkeypatch):
    """Large splits are tokenized a few thousand examples at a time; the table is the same."""
    import pandas as pd

    from seedstudy.training import train

    monkeypatch.setenv(cache.CACHE_ENV, "off")
    tokenizer = _tokenizer("tiny-bert")
    frame = pd.DataFrame({"premise": ["The man broke his toe.", "I tipped the bottle.", "The sun rose."],
                          "choice1": ["He dropped a hammer.", "The liquid froze.", "It was day."],
                          "choice2": ["A hole in his sock.", "It poured out of the bottle.", "It was night."],
                          "question": ["cause", "effect", "effect"], "label": [0, 1, 0], "idx": [0, 1, 2]})
    task = get_task("superglue-copa")
    whole = encode(tokenizer, task, frame, 32)
    monkeypatch.setattr(train, "TOKENIZE_ROWS", 2)  # chunks of 2 examples: 4 rows, then 2
    assert encode(tokenizer, task, frame, 32) == whole
    assert Features.concat([whole[[0]], whole[[1, 2]]]) == whole


def test_a_table_refuses_to_be_indexed_by_one_integer_or_iterated():
    """Iterating by position would stop silently at the first error (old list-of-dicts code did so)."""
    table = Features.from_lists({"input_ids": [[1, 2], [3]]}, ["input_ids"])
    with pytest.raises(TypeError, match="table\\[\\[i\\]\\]"):
        table[0]
    with pytest.raises(TypeError, match="not iterable"):
        list(table)
    assert table[[1]].to_lists() == [{"input_ids": [3]}]


def test_a_sound_entry_written_by_another_worker_is_left_in_place(tmp_path, monkeypatch):
    """Two workers miss at once: the second finds the first's entry sound and keeps it (readers
    may have it memory-mapped); its own copy is discarded."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    table = Features.from_lists({"input_ids": [[1, 2, 3]]}, ["input_ids"])
    folder = tmp_path / "tokens" / "raced"

    theirs = []

    def compute_while_another_writes():
        table.save(folder)  # the other worker lands first
        theirs.append((folder / "input_ids.npy").stat().st_ino)
        return table

    assert cache.cached("raced", compute_while_another_writes) == table
    assert (folder / "input_ids.npy").stat().st_ino == theirs[0]  # theirs kept, not replaced
    assert cache.cached("raced", lambda: pytest.fail("a hit must not recompute")) == table
    assert [p.name for p in (tmp_path / "tokens").iterdir()] == ["raced"]
