"""Executors: a killed worker fails its unit alone, each worker gets its own GPU and thread count.

The calls here are small functions of this module (spawned workers import it by name), so the
executor logic is tested without notebooks; tests/test_sweep.py kills real workers and kernels
of a real sweep.
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from seedstudy.study import executors
from seedstudy.study.executors import GPU_ENV, WorkerLost
from seedstudy.training.machine import THREADS_ENV, available_cores


@dataclass(frozen=True)
class Unit:
    """What an executor needs of a unit: a name and the resources Ray is asked for."""

    name: str
    marker: str = ""  # a file: kill the worker if it does not exist yet (then create it)
    num_cpus: float = 1
    num_gpus: float = 0


def environment_of(unit: Unit) -> dict:
    """The worker's pid, thread count and GPUs, after dying once if the unit asks to."""
    if unit.marker and not Path(unit.marker).exists():
        Path(unit.marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    if unit.name == "raises":
        raise KeyError("a bug in the call")
    start = time.time()
    time.sleep(0.5)  # long enough that the other slots take units too
    return {"name": unit.name, "pid": os.getpid(), "threads": os.environ.get(THREADS_ENV),
            "gpus": os.environ.get(GPU_ENV), "start": start, "end": time.time()}


def _run_local(units, max_parallel):
    results, ticks = {}, []
    executors.run_local(environment_of, units, max_parallel, lambda u, r: results.__setitem__(u.name, r),
                        lambda: ticks.append(1))
    return results


def test_slot_gpus_give_each_worker_its_own_gpu_then_share_round_robin():
    assert executors.slot_gpus(["0", "1"], 2) == ["0", "1"]
    assert executors.slot_gpus(["4", "7"], 3) == ["4", "7", "4"]
    assert executors.slot_gpus([], 2) == [None, None]
    assert executors.visible_gpus({GPU_ENV: "2, 3"}) == ["2", "3"]
    assert executors.visible_gpus({GPU_ENV: ""}) == []


def test_worker_environment_keeps_the_users_thread_count():
    assert executors.worker_environment(4, "1", {}) == {THREADS_ENV: "4", GPU_ENV: "1"}
    assert executors.worker_environment(4, None, {THREADS_ENV: "2"}) == {THREADS_ENV: "2"}


def test_a_sigkilled_worker_fails_its_unit_alone_and_the_rest_complete(tmp_path, monkeypatch):
    monkeypatch.setenv(GPU_ENV, "0,1")  # two GPUs to hand out (nothing here uses them)
    monkeypatch.delenv(THREADS_ENV, raising=False)
    units = [Unit("a"), Unit("killed", marker=str(tmp_path / "died-once")), Unit("b"), Unit("c"),
             Unit("raises")]
    results = _run_local(units, max_parallel=2)
    assert set(results) == {"a", "killed", "b", "c", "raises"}
    lost = results["killed"]
    assert isinstance(lost, WorkerLost) and "SIGKILL" in lost.why and lost.retryable
    assert isinstance(results["raises"], WorkerLost) and not results["raises"].retryable
    assert "KeyError" in results["raises"].why
    done = [results[name] for name in ("a", "b", "c")]
    assert {r["gpus"] for r in done} == {"0", "1"}  # both slots were used
    for x in done:  # units side by side never share a GPU: one GPU per slot
        for y in done:
            if x is not y and x["start"] < y["end"] and y["start"] < x["end"]:
                assert x["gpus"] != y["gpus"], (x, y)
    assert len({r["pid"] for r in done}) == 3  # a process per unit
    assert {r["threads"] for r in done} == {str(max(1, available_cores() // 2))}
    again = _run_local([Unit("killed", marker=str(tmp_path / "died-once"))], max_parallel=2)
    assert again["killed"]["name"] == "killed"  # the rerun completes it


def test_ray_gives_each_task_its_threads_and_gpus_and_survives_a_dead_worker(tmp_path, monkeypatch):
    """Fake GPUs declared to a local Ray: each task sees the one Ray assigned it; a reused worker
    takes each task's own thread count; a SIGKILLed worker is that unit's loss alone."""
    ray = pytest.importorskip("ray")
    monkeypatch.delenv(THREADS_ENV, raising=False)
    here = {"env_vars": {"PYTHONPATH": str(Path(__file__).parent)}}  # workers import this module
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False, runtime_env=here)
    try:
        results = {}
        cpu = [Unit(f"cpu-{k}", num_cpus=1 + k % 2) for k in range(6)]
        units = [Unit("gpu-1", num_gpus=1), Unit("gpu-2", num_gpus=1), *cpu,
                 Unit("killed", marker=str(tmp_path / "died-once")), Unit("raises")]
        executors.run_ray(environment_of, units, None, lambda u, r: results.__setitem__(u.name, r),
                          lambda: None)
    finally:
        ray.shutdown()
    assert isinstance(results["killed"], WorkerLost) and results["killed"].retryable
    assert isinstance(results["raises"], WorkerLost) and not results["raises"].retryable
    assert {results["gpu-1"]["gpus"], results["gpu-2"]["gpus"]} <= {"0", "1"}
    assert results["gpu-1"]["gpus"] != results["gpu-2"]["gpus"] or \
        results["gpu-1"]["end"] <= results["gpu-2"]["start"] or results["gpu-2"]["end"] <= results["gpu-1"]["start"]
    for unit in cpu:  # every task its own thread count, on whichever worker it landed
        assert results[unit.name]["threads"] == str(int(unit.num_cpus))
        assert results[unit.name]["gpus"] == ""  # no GPU for a CPU task


def test_a_reused_ray_worker_takes_each_tasks_thread_count_and_gpus(monkeypatch):
    """Two tasks in one process, as a reused Ray worker runs them: neither keeps the first's values."""
    ray = pytest.importorskip("ray")
    monkeypatch.setenv(THREADS_ENV, "9")  # what the worker held before (restored after the test)
    monkeypatch.setenv(GPU_ENV, "9")
    monkeypatch.setattr(ray, "get_gpu_ids", lambda: [3])
    first = executors.ray_task(environment_of, Unit("first", num_cpus=4), "4")
    monkeypatch.setattr(ray, "get_gpu_ids", lambda: [])
    second = executors.ray_task(environment_of, Unit("second", num_cpus=1), "1")
    assert (first["threads"], first["gpus"]) == ("4", "3")
    assert (second["threads"], second["gpus"]) == ("1", "")


def test_every_death_is_put_in_words_even_by_a_signal_without_a_name():
    assert "SIGKILL" in executors.death(-9) and "OOM" in executors.death(-9)
    assert "signal 40" in executors.death(-40)  # real-time signals have no name
    assert "status 3" in executors.death(3)
