"""A run is complete only with its completion record; interrupted writes are redone; verify finds tampering."""
from __future__ import annotations

import errno
import json
import multiprocessing
import threading
from dataclasses import replace

import pandas as pd
import pytest

from seedstudy.store import integrity, runs
from seedstudy.study.presets import get_preset

CONFIG = replace(get_preset("smoke").config_for("glue-rte"), max_train_examples=16)


def _run(tmp_path, seed=1, **kw):
    return runs.execute_run(CONFIG, seed, study="s", results_dir=tmp_path, **kw)


def test_completion_record_hashes_the_files_and_verify_is_clean(tmp_path, data_dir):
    run = _run(tmp_path)
    record = json.loads((run.path / integrity.COMPLETE_FILE).read_text())
    assert record["predictions_sha256"] == integrity.file_sha256(run.path / integrity.PREDICTIONS_FILE)
    assert record["config_hash"] == run.record["config_hash"] and len(record["config_sha256"]) == 64
    assert integrity.verify(tmp_path) == (1, [])


def test_verify_finds_tampering_orphans_leftovers_and_missing_runs(tmp_path, data_dir):
    run = _run(tmp_path)
    frame = pd.read_parquet(run.path / integrity.PREDICTIONS_FILE)
    frame.loc[0, "pred"] = 1 - frame.loc[0, "pred"]
    frame.to_parquet(run.path / integrity.PREDICTIONS_FILE, index=False)
    (run.path / "notes.txt").write_text("x")
    (run.path.parent / ".seed=2.tmp-abc").mkdir()
    (tmp_path / "s" / integrity.MANIFEST_FILE).write_text(json.dumps(
        {"runs": ["glue-rte/tiny-bert/seed=1", "glue-rte/tiny-bert/seed=3"]}))
    checked, problems = integrity.verify(tmp_path)
    found = {(p.path.name, p.issue) for p in problems}
    assert checked == 1
    assert found == {(integrity.PREDICTIONS_FILE, "sha256 differs from the completion record"),
                     ("notes.txt", "orphaned file (not part of a run)"),
                     (".seed=2.tmp-abc", "leftover of an interrupted write"),
                     ("seed=3", "missing run (listed in the sweep manifest)")}


def test_partial_run_and_leftovers_are_redone_not_trusted(tmp_path, data_dir):
    first = _run(tmp_path)
    expected = first.predictions
    (first.path / integrity.COMPLETE_FILE).unlink()  # as if killed before the record was written
    scratch = first.path.parent / ".seed=1.tmp-dead"
    scratch.mkdir()
    messages = []
    again = _run(tmp_path, echo=messages.append)
    assert not again.skipped and not scratch.exists()
    assert any("redoing partial run" in m for m in messages)
    pd.testing.assert_frame_equal(again.predictions, expected)
    assert _run(tmp_path).skipped  # now complete: reused


def test_runs_without_a_record_are_invisible_until_adopted(tmp_path, data_dir):
    run = _run(tmp_path)
    (run.path / integrity.COMPLETE_FILE).unlink()
    assert runs.find_runs(tmp_path, "s") == []
    assert integrity.adopt_legacy(tmp_path) == [run.path]
    assert len(runs.find_runs(tmp_path, "s")) == 1 and integrity.verify(tmp_path) == (1, [])


def test_disk_full_leaves_nothing_that_looks_complete(tmp_path, data_dir, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    with pytest.raises(runs.RunWriteError, match=r"could not store run .*seed=1: No space left on device"):
        _run(tmp_path)
    model_dir = tmp_path / "s" / "glue-rte" / "tiny-bert"
    assert list(model_dir.iterdir()) == []  # no run folder, no scratch


def _hold(lock, acquired, release):
    with integrity.held(lock, "test", print):
        acquired.set()
        release.wait(60)


def test_a_held_run_lock_makes_the_second_writer_wait_and_say_so(tmp_path, data_dir):
    target = runs.run_dir(tmp_path, "s", runs.get_task("glue-rte"), "tiny-bert", 1)
    context = multiprocessing.get_context("spawn")
    acquired, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(integrity.lock_path(tmp_path, target), acquired, release))
    holder.start()
    assert acquired.wait(60)
    messages = []
    timer = threading.Timer(1.0, release.set)
    timer.start()
    run = _run(tmp_path, echo=messages.append)
    holder.join()
    assert messages[0].startswith("waiting: run ") and "pid " in messages[0]
    assert messages[1].startswith("lock acquired") and not run.skipped
    assert integrity.verify(tmp_path) == (1, [])
