"""Sweeps survive SIGKILL (of the sweep, a worker or a kernel), isolate failures, lock out each other, and give the same runs on Ray.

Every sweep here runs the same small spec (tiny random BERT, two tasks, three seeds) through
real papermill executions in subprocesses, as a user would; their runs must equal, bit for bit,
those of one uninterrupted sweep. One thread per run everywhere, so results can be compared.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from seedstudy.store import integrity

SPEC = """\
name: faults
preset: smoke
tasks: [glue-rte, superglue-cb]
seeds: [1, 2, 3]
overrides: {max_train_examples: 32}
"""
RUNS = [f"faults/{task}/tiny-bert/seed={s}" for task in ("glue-rte", "superglue-cb") for s in (1, 2, 3)]
ENV = {**os.environ, "SEEDSTUDY_THREADS": "1"}


def _command(spec: Path, results: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "seedstudy.cli", "sweep", str(spec), "--results-dir", str(results), *extra]


def _sweep(spec: Path, results: Path, *extra: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(_command(spec, results, *extra), capture_output=True, text=True,
                          env=env or ENV, timeout=600)


def _predictions(results: Path) -> dict[str, pd.DataFrame]:
    return {run: pd.read_parquet(results / run / integrity.PREDICTIONS_FILE) for run in RUNS}


def _assert_same_runs(results: Path, reference: dict[str, pd.DataFrame]) -> None:
    """Exactly the expected runs, each complete, equal to the reference, nothing left over."""
    found = sorted(str(p.parent.relative_to(results)) for p in results.rglob(f"seed=*/{integrity.RUN_FILE}"))
    assert found == sorted(RUNS)  # no duplicate, no missing run
    checked, problems = integrity.verify(results)
    assert checked == len(RUNS) and problems == []
    for run, frame in _predictions(results).items():
        pd.testing.assert_frame_equal(frame, reference[run])


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "faults.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="module")
def reference(spec, tmp_path_factory):
    """One uninterrupted sweep: its predictions and how long it took."""
    results = tmp_path_factory.mktemp("reference")
    start = time.perf_counter()
    done = _sweep(spec, results)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[sweep] 6/6 runs done, 0 failed, 0 remaining" in done.stdout
    return _predictions(results), time.perf_counter() - start


def test_sigkill_at_several_points_then_resume_gives_the_uninterrupted_runs(spec, reference, tmp_path, data_dir):
    predictions, duration = reference
    rng = random.Random(20261201)
    complete_after_kill = []
    for delay in sorted(rng.uniform(0.15, 0.9) * duration for _ in range(3)):
        sweep = subprocess.Popen(_command(spec, tmp_path), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env=ENV)
        time.sleep(delay)
        family = psutil.Process(sweep.pid).children(recursive=True)
        sweep.send_signal(signal.SIGKILL)
        sweep.wait()
        gone, alive = psutil.wait_procs(family, timeout=30)
        assert alive == [], f"processes outlived the killed sweep: {alive}"
        complete_after_kill.append(len(list(tmp_path.rglob(integrity.COMPLETE_FILE))))
    assert min(complete_after_kill) < len(RUNS)  # the kills did interrupt the sweep
    resumed = _sweep(spec, tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _assert_same_runs(tmp_path, predictions)


def test_two_sweeps_on_one_results_folder_wait_for_each_other(spec, reference, tmp_path, data_dir):
    first, second = (subprocess.Popen(_command(spec, tmp_path), stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, env=ENV) for _ in range(2))
    outputs = [p.communicate(timeout=600)[0] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert any("waiting: notebook" in out or "waiting: run" in out for out in outputs)
    _assert_same_runs(tmp_path, reference[0])


def test_one_failing_execution_does_not_stop_the_others(spec, tmp_path, data_dir):
    """A corrupt RTE file fails its notebook; CB still runs; the summary names the failure."""
    broken = tmp_path / "data"
    (broken / "glue" / "RTE").mkdir(parents=True)
    (broken / "superglue").mkdir()
    (broken / "superglue" / "CB").symlink_to(data_dir / "superglue" / "CB")
    (broken / "glue" / "RTE" / "train.tsv").symlink_to(data_dir / "glue" / "RTE" / "train.tsv")
    (broken / "glue" / "RTE" / "dev.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\tonly two\n")
    done = _sweep(spec, tmp_path / "results", "--data-dir", str(broken))
    assert done.returncode == 1
    failed = [line for line in done.stdout.splitlines() if line.startswith("failed: faults/glue-rte")]
    assert len(failed) == 1 and "dev.tsv" in failed[0]
    assert "faults/glue-rte/tiny-bert/finetune.ipynb" in failed[0]
    assert (tmp_path / "results" / "faults/glue-rte/tiny-bert/finetune.ipynb").is_file()
    assert len(list((tmp_path / "results" / "faults/superglue-cb/tiny-bert").glob("seed=*/complete.json"))) == 3
    skipped = json.loads((tmp_path / "results" / "faults" / "skipped.json").read_text())
    assert [(s["task"], s["status"]) for s in skipped] == [("glue-rte", "failed")]


def _kill_once(sweep: subprocess.Popen, results: Path, unit: str, target: str) -> None:
    """SIGKILL the worker, or the notebook kernel, running ``unit`` once its kernel has started."""
    lock = results / integrity.LOCKS_DIR / f"{unit}.lock"
    deadline = time.time() + 300
    while time.time() < deadline and sweep.poll() is None:
        holder = lock.read_text().split() if lock.is_file() else []
        if holder[:1] == ["pid"]:
            worker = psutil.Process(int(holder[1]))
            kernels = [c for c in worker.children(recursive=True) if "ipykernel" in " ".join(c.cmdline())]
            if kernels:
                time.sleep(2)  # mid-run: the kernel is training
                (worker if target == "worker" else kernels[0]).send_signal(signal.SIGKILL)
                return
        time.sleep(0.2)
    raise AssertionError(f"no kernel of {unit} appeared to kill")


def test_a_killed_worker_fails_its_unit_alone_and_is_retried(spec, reference, tmp_path, data_dir):
    """The OOM killer's case: a worker SIGKILLed mid-run; the unit beside it goes on; --retries 1
    runs it again, and the runs equal an uninterrupted sweep's."""
    sweep = subprocess.Popen(_command(spec, tmp_path, "--max-parallel", "2", "--retries", "1"),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    _kill_once(sweep, tmp_path, "faults/glue-rte/tiny-bert", "worker")
    out = sweep.communicate(timeout=600)[0]
    assert sweep.returncode == 0, out
    retried = [line for line in out.splitlines() if line.startswith("RETRY faults/glue-rte")]
    assert len(retried) == 1 and "killed by SIGKILL" in retried[0], out
    _assert_same_runs(tmp_path, reference[0])


def test_a_killed_kernel_fails_its_unit_alone_and_a_rerun_completes_it(spec, reference, tmp_path, data_dir):
    sweep = subprocess.Popen(_command(spec, tmp_path, "--max-parallel", "2"), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=ENV)
    _kill_once(sweep, tmp_path, "faults/glue-rte/tiny-bert", "kernel")
    out = sweep.communicate(timeout=600)[0]
    assert sweep.returncode == 1, out
    failed = [line for line in out.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and failed[0].startswith("failed: faults/glue-rte/tiny-bert: notebook kernel died"), out
    assert len(list((tmp_path / "faults/superglue-cb/tiny-bert").glob("seed=*/complete.json"))) == 3
    rerun = _sweep(spec, tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    _assert_same_runs(tmp_path, reference[0])


def test_the_smoke_sweep_gives_the_same_runs_locally_and_on_a_local_ray_cluster(tmp_path, data_dir,
                                                                                 monkeypatch):
    """The whole smoke preset (tiny BERT and tiny Llama with LoRA), two executions side by side each way."""
    ray = pytest.importorskip("ray")
    from seedstudy.store.runs import find_runs
    from seedstudy.study.spec import from_preset
    from seedstudy.study.sweep import run_sweep

    monkeypatch.setenv("SEEDSTUDY_THREADS", "1")
    spec = from_preset("smoke")
    local = run_sweep(spec, executor="local", max_parallel=2, results_dir=str(tmp_path / "local"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_sweep(spec, executor="ray", results_dir=str(tmp_path / "ray"))
    finally:
        ray.shutdown()
    units = len(spec.units())
    assert [o.status for o in local] == [o.status for o in remote] == ["done"] * units
    ours, theirs = find_runs(tmp_path / "local", "smoke"), find_runs(tmp_path / "ray", "smoke")
    assert len(ours) == len(theirs) == units * len(spec.base().seeds)
    for a, b in zip(ours, theirs):
        assert (a.record["task"], a.record["model"], a.record["seed"]) == \
               (b.record["task"], b.record["model"], b.record["seed"])
        assert a.record["run"]["threads"] == b.record["run"]["threads"] == 1
        pd.testing.assert_frame_equal(a.predictions, b.predictions)
    assert integrity.verify(tmp_path / "ray") == (len(theirs), [])
