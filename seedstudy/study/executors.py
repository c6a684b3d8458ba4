"""Where a sweep's notebook executions run: processes on this machine, or tasks on a Ray cluster.

Both call one function per unit (a task and model with its seeds) and report each outcome as
it arrives. A unit whose worker dies (the OOM killer, a lost Ray node) is reported as a
``WorkerLost`` for that unit alone; the others go on. Ray schedules the units on the CPUs and
GPUs each asks for; we write no scheduler of our own. Every process a sweep starts (workers,
and the notebook kernels they start) follows the process that launched it and exits when it
dies, so a killed sweep leaves nothing running that could still write results.
"""
from __future__ import annotations

import os
import signal
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import connection, get_context
from typing import Any

from ..training.machine import THREADS_ENV, available_cores, follow, identity

EXECUTORS = ("local", "ray")
POLL_SECONDS = 2.0
JOIN_SECONDS = 30.0  # a worker that reported gets this long to exit
GPU_ENV = "CUDA_VISIBLE_DEVICES"


@dataclass(frozen=True)
class WorkerLost:
    """A unit's worker died before it reported (killed, out of memory, node lost): why, in words.

    ``retryable``: False where the call itself raised (a bug, not a lost worker: a retry would
    fail the same way).
    """

    why: str
    retryable: bool = True


def visible_gpus(environ: dict[str, str] | None = None) -> list[str]:
    """The GPUs this process may hand out: ``$CUDA_VISIBLE_DEVICES`` when set, else those the
    driver counts (``nvidia-smi -L``; none without one). Torch is not imported here."""
    environ = os.environ if environ is None else environ
    if GPU_ENV in environ:
        return [g.strip() for g in environ[GPU_ENV].split(",") if g.strip()]
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(listing.splitlines()) if line.startswith("GPU ")]


def slot_gpus(gpus: Sequence[str], slots: int) -> list[str | None]:
    """The GPU of each worker slot: slot k gets GPU k mod len(gpus) (None: no GPU to give).

    With as many slots as GPUs every worker has a GPU of its own; with more, they share
    round-robin (a preset sized for one GPU per run then needs ``--max-parallel`` <= GPUs).
    """
    return [gpus[k % len(gpus)] if gpus else None for k in range(slots)]


def worker_environment(threads: int, gpu: str | None, environ: dict[str, str] | None = None) -> dict[str, str]:
    """What a worker's environment gets: its thread count (the user's ``$SEEDSTUDY_THREADS``
    wins) and, when GPUs are handed out, ``CUDA_VISIBLE_DEVICES`` naming its one GPU."""
    environ = os.environ if environ is None else environ
    env = {THREADS_ENV: environ.get(THREADS_ENV) or str(threads)}
    if gpu is not None:
        env[GPU_ENV] = gpu
    return env


def death(exitcode: int | None) -> str:
    """A dead worker's exit in words, e.g. ``killed by SIGKILL (out of memory?)``."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:  # a real-time signal has no name
            name = f"signal {-exitcode}"
        hint = " (the OOM killer sends SIGKILL)" if -exitcode == signal.SIGKILL else ""
        return f"worker process killed by {name}{hint}"
    return f"worker process exited with status {exitcode} before reporting"


def _work(send, call: Callable[[Any], Any], unit: Any, env: dict[str, str], follow_ident: str) -> None:
    """One unit in a fresh worker process: its environment, follow the sweep, report the result."""
    os.environ.update(env)  # before anything imports torch: CUDA reads it once
    follow(follow_ident)
    try:
        result = call(unit)
    except BaseException as err:  # reported as this unit's failure, not the sweep's
        result = WorkerLost(f"worker raised {type(err).__name__}: {err}", retryable=False)
    send.send(result)
    send.close()


@dataclass
class _Running:
    """A worker process in flight: its unit, process and GPU slot."""

    unit: Any
    process: Any
    slot: int


def run_local(call: Callable[[Any], Any], units: Sequence[Any], max_parallel: int,
              on_result: Callable[[Any, Any], None], on_tick: Callable[[], None]) -> None:
    """Run ``call(unit)`` for every unit, each in a worker process of its own, up to
    ``max_parallel`` at once on this machine.

    One process per unit (not a process pool): a pool breaks as a whole when one worker is
    killed (``BrokenProcessPool``) and takes the units of the other workers with it. The cores
    are split between the workers (``$SEEDSTUDY_THREADS`` overrides); the visible GPUs are
    handed out one per worker slot (``slot_gpus``).
    """
    if max_parallel < 1:
        raise ValueError(f"bad --max-parallel {max_parallel}: expected a positive integer")
    context = get_context("spawn")
    slots = min(max_parallel, len(units)) or 1
    threads = max(1, available_cores() // max_parallel)
    gpus = slot_gpus(visible_gpus(), slots)
    me = identity(os.getpid())
    waiting, free, running = deque(units), list(range(slots)), {}
    try:
        while waiting or running:
            while waiting and free:
                slot, unit = free.pop(0), waiting.popleft()
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_work, name=f"seedstudy-worker-{slot}",
                                          args=(send, call, unit, worker_environment(threads, gpus[slot]), me))
                process.start()
                send.close()  # ours closed: the pipe reads EOF if the worker dies without reporting
                running[receive] = _Running(unit, process, slot)
            for receive in connection.wait(list(running), timeout=POLL_SECONDS):
                worker = running.pop(receive)
                try:
                    result = receive.recv()
                except (EOFError, OSError):  # died before, or while, sending its result
                    result = None
                worker.process.join(timeout=JOIN_SECONDS)
                if worker.process.is_alive():  # reported, but lingers (a stray thread): end it
                    worker.process.kill()
                    worker.process.join()
                free = sorted([*free, worker.slot])
                on_result(worker.unit, WorkerLost(death(worker.process.exitcode)) if result is None else result)
            on_tick()
    finally:  # interrupted: no worker outlives the sweep
        for worker in running.values():
            worker.process.kill()
            worker.process.join()


def ray_task(call: Callable[[Any], Any], unit: Any, threads: str) -> Any:
    """One unit inside a Ray worker: this task's thread count and the GPUs Ray gave this task.

    Assigned per task, not ``setdefault``: a reused worker would keep the first task's values.
    Ray sets ``CUDA_VISIBLE_DEVICES`` for a task with GPUs; it is set again from
    ``ray.get_gpu_ids()`` (empty for a CPU-only task) so that the notebook kernel this task
    starts sees exactly those, whatever the worker saw before.
    """
    import ray

    os.environ[THREADS_ENV] = threads
    os.environ[GPU_ENV] = ",".join(str(g) for g in ray.get_gpu_ids())
    return call(unit)


def run_ray(call: Callable[[Any], Any], units: Sequence[Any], address: str | None,
            on_result: Callable[[Any, Any], None], on_tick: Callable[[], None]) -> None:
    """Run ``call(unit)`` for every unit as a Ray task asking for the unit's CPUs and GPUs.

    Joins the cluster at ``address`` (``auto``: the one started on this node with ``ray
    start``), or uses the Ray already initialised in this process, or starts a local one.
    Results and data folders must be paths every node sees (a shared filesystem). A task
    whose worker or node dies is that unit's ``WorkerLost``.
    """
    try:
        import ray
    except ImportError:
        raise RuntimeError("--executor ray needs Ray: pip install 'ray[default]' (or the project's "
                           "[ray] extra)") from None
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    remote = ray.remote(ray_task)
    pending = {}
    for unit in units:
        threads = worker_environment(max(1, int(unit.num_cpus)), None)[THREADS_ENV]
        ref = remote.options(num_cpus=unit.num_cpus, num_gpus=unit.num_gpus,
                             max_retries=0).remote(call, unit, threads)
        pending[ref] = unit
    while pending:
        finished, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
        for ref in finished:
            unit = pending.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as err:  # worker crashed, node died, task raised
                result = _ray_loss(err)
            on_result(unit, result)
        on_tick()


def _ray_loss(err: Exception) -> WorkerLost:
    """A failed Ray task as the unit's loss: a raise in the call (not retryable) or a lost worker."""
    import ray

    if isinstance(err, ray.exceptions.RayTaskError):
        cause = err.cause
        if not isinstance(cause, ray.exceptions.RayError):
            return WorkerLost(f"worker raised {type(cause).__name__}: {cause}", retryable=False)
        err = cause
    lines = str(err).strip().splitlines()
    return WorkerLost(f"ray task lost: {type(err).__name__}: {lines[0] if lines else ''}")
