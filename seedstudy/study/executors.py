"""Where a sweep's notebook executions run: processes on this machine, or tasks on a Ray cluster.

Both call one function per unit (a task and model with its seeds) and report each outcome as
it arrives. Ray schedules the units on the CPUs and GPUs each asks for; we write no scheduler
of our own. Every process a sweep starts (workers, and the notebook kernels they start) follows
the process that launched it and exits when it dies, so a killed sweep leaves nothing running
that could still write results.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any

from ..training.machine import THREADS_ENV, available_cores, follow, identity

EXECUTORS = ("local", "ray")
POLL_SECONDS = 2.0


def _start_worker(follow_ident: str, threads: int) -> None:
    """Pool worker set-up: its share of the cores, and exit when the sweep dies."""
    os.environ.setdefault(THREADS_ENV, str(threads))
    follow(follow_ident)


def run_local(call: Callable[[Any], Any], units: Sequence[Any], max_parallel: int,
              on_result: Callable[[Any, Any], None], on_tick: Callable[[], None]) -> None:
    """Run ``call(unit)`` for every unit in up to ``max_parallel`` worker processes on this machine.

    The cores are split between the workers (``$SEEDSTUDY_THREADS`` overrides), so runs side
    by side never oversubscribe the CPU.
    """
    if max_parallel < 1:
        raise ValueError(f"bad --max-parallel {max_parallel}: expected a positive integer")
    threads = max(1, available_cores() // max_parallel)
    with ProcessPoolExecutor(max_workers=min(max_parallel, len(units)) or 1, mp_context=get_context("spawn"),
                             initializer=_start_worker,
                             initargs=(identity(os.getpid()), threads)) as pool:
        pending = {pool.submit(call, unit): unit for unit in units}
        while pending:
            finished, _ = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in finished:
                on_result(pending.pop(future), future.result())
            on_tick()


def _ray_call(call: Callable[[Any], Any], unit: Any, threads: int) -> Any:
    """One unit inside a Ray worker, with as many threads as the task asked CPUs for."""
    os.environ.setdefault(THREADS_ENV, str(threads))
    return call(unit)


def run_ray(call: Callable[[Any], Any], units: Sequence[Any], address: str | None,
            on_result: Callable[[Any, Any], None], on_tick: Callable[[], None]) -> None:
    """Run ``call(unit)`` for every unit as a Ray task asking for the unit's CPUs and GPUs.

    Joins the cluster at ``address`` (``auto``: the one started on this node with ``ray
    start``), or uses the Ray already initialised in this process, or starts a local one.
    Results and data folders must be paths every node sees (a shared filesystem).
    """
    try:
        import ray
    except ImportError:
        raise RuntimeError("--executor ray needs Ray: pip install 'ray[default]' (or the project's "
                           "[ray] extra)") from None
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    remote = ray.remote(_ray_call)
    pending = {}
    for unit in units:
        ref = remote.options(num_cpus=unit.num_cpus, num_gpus=unit.num_gpus,
                             max_retries=0).remote(call, unit, max(1, int(unit.num_cpus)))
        pending[ref] = unit
    while pending:
        finished, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
        for ref in finished:
            on_result(pending.pop(ref), ray.get(ref))
        on_tick()
