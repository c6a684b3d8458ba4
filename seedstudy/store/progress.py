"""Live progress of the runs in flight: each run writes a heartbeat file, the terminal shows it.

A run executes inside a notebook kernel, whose output is the notebook's (and nbval-checked), so
the training loop never prints: it writes ``steps done / total`` and its measured step time to
a small JSON file beside the run's lock (``<results>/.locks/...seed=<s>.progress.json``, removed
when the run ends). The process that started the run (``seedstudy run`` or a sweep) reads those
files and shows one tqdm bar per run in flight on a terminal, or a plain line every
``PLAIN_SECONDS`` when its output is not a terminal (logs, pipes).
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from . import integrity

HEARTBEAT_SECONDS = 1.0  # a run rewrites its heartbeat at most this often
STALE_SECONDS = 900.0  # a heartbeat not rewritten for this long belongs to a run that died
PLAIN_SECONDS = 30.0  # without a terminal, one line per run in flight this often
POLL_SECONDS = 2.0


def heartbeat_path(results_dir: Path, run_folder: Path) -> Path:
    """Where the run in ``run_folder`` reports its progress (beside its lock, which verify skips)."""
    lock = integrity.lock_path(results_dir, run_folder)
    return lock.with_name(lock.stem + ".progress.json")


def clock(seconds: float) -> str:
    """Seconds as ``1h02m``, ``4m05s`` or ``12s``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Heartbeat:
    """Writes a run's progress (steps, examples/s, time left) to its heartbeat file; removes it at the end.

    Rates are measured from the end of the first step, so the warm-up step does not skew them.
    """

    def __init__(self, path: Path, batch_size: int) -> None:
        self.path, self.batch_size = path, batch_size
        self.started = time.time()
        self.first: tuple[int, float] | None = None  # (steps, time) after the first step
        self.written = 0.0

    def __enter__(self) -> Heartbeat:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()

    def step(self, done: int, total: int) -> None:
        """Record that ``done`` of ``total`` steps are done (written at most every ``HEARTBEAT_SECONDS``)."""
        now = time.time()
        if self.first is None:
            self.first = (done, now)
        if now - self.written < HEARTBEAT_SECONDS and done < total:
            return
        self.written = now
        steps, since = done - self.first[0], now - self.first[1]
        per_step = since / steps if steps else None
        state = {"step": done, "total": total, "started": self.started, "updated": now,
                 "seconds_per_step": per_step,
                 "examples_per_s": self.batch_size / per_step if per_step else None,
                 "seconds_left": per_step * (total - done) if per_step else None}
        with contextlib.suppress(OSError):  # progress is a courtesy: never fail a run over it
            self.path.parent.mkdir(parents=True, exist_ok=True)
            scratch = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
            scratch.write_text(json.dumps(state))
            scratch.replace(self.path)


def read_heartbeat(path: Path) -> dict | None:
    """A heartbeat's state, or None when the run is not in flight (file absent or half-written)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def rates(state: dict, sweep_left: float | None = None) -> list[str]:
    """A run's measured speed and time left (and the sweep's), in words."""
    parts = []
    if state.get("examples_per_s"):
        parts.append(f"{state['examples_per_s']:.1f} ex/s")
    if state.get("seconds_left") is not None:
        parts.append(f"~{clock(state['seconds_left'])} left in the run")
    if sweep_left is not None:
        parts.append(f"sweep ~{clock(sweep_left)} left")
    return parts


def describe(name: str, state: dict, sweep_left: float | None = None) -> str:
    """One line of a run in flight: steps, examples/s, time left in the run (and the sweep)."""
    parts = [f"step {state['step']}/{state['total']}", *rates(state, sweep_left)]
    return f"[run] {name}: {', '.join(parts)}"


class Watcher:
    """Shows the heartbeats of the given run folders: tqdm bars on a terminal, else plain lines."""

    def __init__(self, results_dir: Path, run_folders: Iterable[Path], stream=None) -> None:
        self.root = results_dir
        self.paths = {heartbeat_path(results_dir, f): str(f.relative_to(results_dir)) for f in run_folders}
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.bars: dict[Path, object] = {}
        self.printed: dict[Path, float] = {}

    def in_flight(self) -> dict[Path, dict]:
        """Heartbeat states of the runs in flight now (a killed run's stale heartbeat is not one)."""
        states = {p: read_heartbeat(p) for p in self.paths}
        now = time.time()
        return {p: s for p, s in states.items() if s is not None and now - s["updated"] < STALE_SECONDS}

    def poll(self, sweep_left: float | None = None) -> None:
        """Redraw the bars (terminal) or print a line per run that is due (no terminal)."""
        states = self.in_flight()
        if self.tty:
            self._draw(states, sweep_left)
            return
        now = time.time()
        for path, state in states.items():
            if now - self.printed.get(path, 0.0) >= PLAIN_SECONDS:
                self.printed[path] = now
                print(describe(self.paths[path], state, sweep_left), file=self.stream, flush=True)

    def _draw(self, states: dict[Path, dict], sweep_left: float | None) -> None:
        """One tqdm bar per run in flight; bars of finished runs are closed."""
        from tqdm import tqdm

        for path in [p for p in self.bars if p not in states]:
            self.bars.pop(path).close()
        for path, state in states.items():
            bar = self.bars.get(path)
            if bar is None:
                bar = self.bars[path] = tqdm(total=state["total"], desc=self.paths[path],
                                             file=self.stream, unit="step", leave=False)
            bar.n = state["step"]
            bar.set_postfix_str(", ".join(rates(state, sweep_left)), refresh=False)
            bar.refresh()

    def close(self) -> None:
        """Close every bar."""
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


@contextlib.contextmanager
def watching(watcher: Watcher, every: float = POLL_SECONDS) -> Iterator[Watcher]:
    """Poll ``watcher`` in a background thread while the block runs (``seedstudy run``)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            watcher.poll()

    thread = threading.Thread(target=loop, name="seedstudy-progress", daemon=True)
    thread.start()
    try:
        yield watcher
    finally:
        stop.set()
        thread.join()
        watcher.close()
