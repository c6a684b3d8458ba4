"""Live progress (heartbeat files, terminal lines) and the doctor's machine report and study estimate."""
from __future__ import annotations

import io
import json
import math
import time

import numpy as np
import pytest

from seedstudy.store import progress
from seedstudy.study import doctor
from seedstudy.study.presets import get_preset


def test_a_heartbeat_reports_steps_and_rates_then_disappears(tmp_path):
    path = tmp_path / ".locks" / "s" / "seed=1.progress.json"
    with progress.Heartbeat(path, batch_size=16) as beat:
        beat.step(1, 3)
        first = progress.read_heartbeat(path)
        assert (first["step"], first["total"], first["seconds_left"]) == (1, 3, None)  # warm-up step: no rate yet
        beat.step(2, 3)  # within a second of the last write: not rewritten
        assert progress.read_heartbeat(path)["step"] == 1
        beat.step(3, 3)  # the last step is always written
        last = progress.read_heartbeat(path)
        assert last["step"] == 3 and last["seconds_left"] == 0.0 and last["examples_per_s"] > 0
    assert not path.exists() and progress.read_heartbeat(path) is None


def test_without_a_terminal_the_watcher_prints_plain_lines_now_and_then(tmp_path):
    folder = tmp_path / "s" / "glue-rte" / "m" / "seed=1"
    path = progress.heartbeat_path(tmp_path, folder)
    path.parent.mkdir(parents=True)
    state = {"step": 4, "total": 10, "started": time.time() - 5, "updated": time.time(),
             "seconds_per_step": 0.5, "examples_per_s": 32.0, "seconds_left": 3.0}
    path.write_text(json.dumps(state))
    out = io.StringIO()
    watcher = progress.Watcher(tmp_path, [folder], stream=out)
    watcher.poll(sweep_left=125)
    watcher.poll(sweep_left=120)  # due again only after PLAIN_SECONDS
    assert out.getvalue() == ("[run] s/glue-rte/m/seed=1: step 4/10, 32.0 ex/s, ~3s left in the run, "
                              "sweep ~2m05s left\n")
    path.write_text(json.dumps({**state, "updated": time.time() - 1e4}))
    assert watcher.in_flight() == {}  # a heartbeat nobody rewrites belongs to a run that died
    path.unlink()
    assert watcher.in_flight() == {}


def test_clock_reads_like_a_clock():
    assert [progress.clock(s) for s in (12, 245, 3720)] == ["12s", "4m05s", "1h02m"]


def test_padded_tokens_count_each_batch_at_its_longest_example():
    lengths = np.array([3, 5, 2, 7])
    batches = [np.array([0, 1]), np.array([2, 3])]
    assert doctor.padded_tokens(lengths, batches, choices=1) == 5 * 2 + 7 * 2
    assert doctor.padded_tokens(lengths, batches, choices=2) == 2 * (5 * 2 + 7 * 2)


def test_expected_seconds_is_flops_over_the_calibrated_rate_plus_fixed_costs():
    load = doctor.Workload("glue-rte", "m", train_flops=6e12, eval_flops=1e12, train_tokens=1000, steps=10)
    seconds = doctor.expected_seconds([load, load], seeds=3, gflops=100.0, precision="fp32")
    compute = 2 * 7e12 / (100e9 * doctor.EFFICIENCY["fp32"])
    assert seconds == pytest.approx(3 * (compute + 2 * doctor.RUN_OVERHEAD_S) + 2 * doctor.TASK_OVERHEAD_S
                                    + doctor.REPORT_S)


def test_workload_counts_the_real_batches_of_a_run(data_dir):
    config = get_preset("smoke").config_for("superglue-cb")
    load = doctor.workload(config, data_dir)
    assert load.steps == math.ceil(config.epochs * math.ceil(64 / config.batch_size))
    assert 0 < load.train_tokens <= load.steps * config.batch_size * config.max_length
    assert load.train_flops > 6 * load.train_tokens and load.eval_flops > 0


def test_doctor_reports_the_machine_and_the_estimate(data_dir):
    lines = list(doctor.diagnose(get_preset("smoke"), data_dir))
    text = "\n".join(lines)
    for start in ("device ", "CPU ", "class ", "threads ", "precision  auto -> ", "matmul ", "study ",
                  "expected "):
        assert any(line.startswith(start) for line in lines), start
    assert "GFLOP/s" in text and "7 tasks x 3 seeds" in text and "<- auto" in text


def test_the_sweep_estimate_comes_from_measured_step_times(tmp_path):
    from seedstudy.study.sweep import Progress

    tracker = Progress(tmp_path, [], print)
    assert tracker.seconds_left(0, 3, []) is None  # nothing measured yet
    running = {"started": 0.0, "updated": 10.0, "seconds_left": 10.0}  # projected: 20 s per run
    assert tracker.seconds_left(0, 3, [running]) == pytest.approx(10 + 2 * 20)
    warming = {"started": 0.0, "updated": 1.0, "seconds_left": None}  # no rate yet: a whole run
    # two side by side: the longer of the two in flight, then the one left at 20 s over 2 slots
    assert tracker.seconds_left(0, 3, [running, warming]) == pytest.approx(20 + 20 * 1 / 2)
