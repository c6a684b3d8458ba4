"""The process a run lives in: its device, its share of the cores, and the process it follows.

``$SEEDSTUDY_DEVICE`` and ``$SEEDSTUDY_THREADS`` choose the device and thread count (a sweep sets
the threads of each worker it starts); ``$SEEDSTUDY_FOLLOW`` names the process whose death ends
this one, so a killed sweep leaves nothing running that could still write results. Torch is
imported only when a device or thread count is set.
"""
from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


DEVICE_ENV = "SEEDSTUDY_DEVICE"
THREADS_ENV = "SEEDSTUDY_THREADS"
FOLLOW_ENV = "SEEDSTUDY_FOLLOW"  # "<pid>:<start time>" of the process whose death ends ours


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return available or 1


def configure_threads() -> int:
    """Use every core given to this process (``$SEEDSTUDY_THREADS`` when runs share a machine).

    Results are bitwise reproducible for a fixed thread count; the count is recorded per run.
    """
    wanted = os.environ.get(THREADS_ENV)
    threads = int(wanted) if wanted else available_cores()
    if threads < 1:
        raise ValueError(f"bad {THREADS_ENV}={wanted!r}: expected a positive integer")
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def pick_device() -> torch.device:
    """``$SEEDSTUDY_DEVICE`` if set, else the first CUDA GPU when there is one, else the CPU."""
    import torch

    chosen = os.environ.get(DEVICE_ENV) or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(chosen)


def identity(pid: int) -> str:
    """A process's identity that survives pid reuse: pid and start time."""
    import psutil

    return f"{pid}:{psutil.Process(pid).create_time():.3f}"


def _alive(ident: str) -> bool:
    """True while the process named by ``identity`` runs (a zombie or a reused pid counts as dead)."""
    import psutil

    pid, started = ident.split(":")
    try:
        process = psutil.Process(int(pid))
        return (f"{process.create_time():.3f}" == started
                and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def follow(ident: str | None = None, interval: float = 0.5) -> None:
    """Exit this process, at once, when the process it follows dies (``$SEEDSTUDY_FOLLOW``).

    A no-op outside sweeps. Runs in a daemon thread; ``os._exit`` because the point is that
    nothing more gets written.
    """
    ident = ident or os.environ.get(FOLLOW_ENV)
    if not ident or ident == identity(os.getpid()):
        return

    def watch() -> None:
        while _alive(ident):
            time.sleep(interval)
        os._exit(137)

    threading.Thread(target=watch, name="seedstudy-follow", daemon=True).start()
