"""Speed levers that must not change what a run means: length-grouped batches and the token cache."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from seedstudy.benchmark.tasks import get_task
from seedstudy.training import cache, models
from seedstudy.training.features import Features
from seedstudy.training.machine import configure_threads
from seedstudy.training.train import encode, epoch_batches

LENGTHS = np.random.default_rng(0).integers(5, 120, size=403)


def _epoch(seed: int, grouped: bool) -> list[np.ndarray]:
    """One epoch of batches drawn from a generator seeded with ``seed``."""
    return epoch_batches(LENGTHS, 16, torch.Generator().manual_seed(seed), grouped)


def test_every_example_once_per_epoch_in_both_modes():
    for grouped in (False, True):
        rows = np.concatenate(_epoch(1, grouped))
        assert sorted(rows.tolist()) == list(range(len(LENGTHS)))


def test_grouped_order_depends_on_the_seed_and_only_on_it():
    a, b, c = _epoch(1, True), _epoch(1, True), _epoch(2, True)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_grouping_cuts_padding():
    def padded(batches):
        return sum(len(b) * LENGTHS[b].max() for b in batches)

    assert padded(_epoch(1, True)) < 0.75 * padded(_epoch(1, False))


def test_plain_batches_match_the_original_permutation_order():
    """group_by_length off keeps the batches runs were trained with before it existed."""
    order = torch.Generator().manual_seed(5)
    expected = [r.numpy() for r in torch.randperm(len(LENGTHS), generator=torch.Generator().manual_seed(5)).split(16)]
    assert all(np.array_equal(x, y) for x, y in zip(epoch_batches(LENGTHS, 16, order, False), expected))


def test_token_cache_hits_on_the_same_inputs_and_misses_on_a_new_length(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    spec = models.resolve_model("tiny-bert")
    tokenizer = models.load_tokenizer(spec)
    task = get_task("glue-rte")
    frame = pd.DataFrame({"sentence1": ["A cat sat.", "Rain fell hard."],
                          "sentence2": ["A cat.", "It was dry."], "label": [0, 1]})
    first = encode(tokenizer, task, frame, 32)
    entries = list((tmp_path / "tokens").iterdir())
    assert len(entries) == 1 and (entries[0] / "input_ids.npy").is_file()
    calls = []
    original = type(tokenizer).__call__
    monkeypatch.setattr(type(tokenizer), "__call__",
                        lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    assert encode(tokenizer, task, frame, 32) == first and calls == []  # a hit: no tokenizing
    encode(tokenizer, task, frame, 8)
    assert calls == [1] and len(list((tmp_path / "tokens").iterdir())) == 2
    (entries[0] / "header.json").write_text("{not json")  # a damaged entry is recomputed, not trusted
    assert encode(tokenizer, task, frame, 32) == first and calls == [1, 1]
    assert encode(tokenizer, task, frame, 32) == first and calls == [1, 1]  # and replaced
    np.save(entries[0] / "input_ids.npy", np.zeros(3, dtype=np.int32))  # truncated column
    assert encode(tokenizer, task, frame, 32) == first and calls == [1, 1, 1]


def test_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    assert cache.cache_dir() is None
    table = Features.from_lists({"input_ids": [[1, 2]]}, ["input_ids"])
    assert cache.cached("k", lambda: table) is table


def test_threads_follow_the_environment(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("SEEDSTUDY_THREADS", "1")
        assert configure_threads() == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
