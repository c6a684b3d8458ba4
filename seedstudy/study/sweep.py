"""Execute the notebooks under papermill: one task per execution, then the paper notebook.

Each execution runs in its own kernel process (papermill cannot resume a failed execution and
races when kernels share a process), and its executed copy is kept beside the results it made.
A sweep (``run_sweep``) runs the executions of a ``spec.SweepSpec`` through an executor (local
processes or Ray), resumably: finished runs are reused, interrupted ones redone.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from .. import PROJECT_ROOT
from ..benchmark import data
from ..benchmark.tasks import get_task
from ..store import integrity, progress
from ..store.runs import SKIPPED_FILE, ensure_writable, model_slug, resolve_results_dir, run_dir
from ..training.config import TrainConfig
from ..training.machine import FOLLOW_ENV, identity
from ..training.seeds import Seeds, parse_all
from . import executors
from .spec import SweepSpec, Unit, manifest

OUTPUT_ENV = "SEEDSTUDY_OUTPUT_DIR"


def say(line: str) -> None:
    """Print a line at once (sweep output is read live, often through a pipe)."""
    print(line, flush=True)


class NotebookFailed(RuntimeError):
    """A notebook execution raised; the message names the notebook, the error and the saved copy."""


@dataclass
class TaskOutcome:
    """What happened to one unit (task and model) of a sweep."""

    task: str
    status: str  # "done", "skipped" or "failed"
    detail: str
    seconds: float = 0.0
    model: str = ""
    study: str = ""
    notebook: str = ""
    lost: bool = False  # its process died (worker or kernel): worth another try, unlike an error


def notebook(name: str) -> Path:
    """Path of a project notebook (needs a source checkout: ``pip install -e .``)."""
    path = PROJECT_ROOT / "notebooks" / name
    if not path.is_file():
        raise FileNotFoundError(f"notebook {path} not found: seedstudy runs its notebooks from a "
                                "source checkout; install with `pip install -e .` inside it")
    return path


def resolve_output_dir(output_dir: str | os.PathLike | None, results_root: Path, study: str) -> Path:
    """Where a study's figures/ and paper/tables/ go: the argument, ``$SEEDSTUDY_OUTPUT_DIR``, or
    the study's own home ``<results>/<study>/report`` (never the project's committed tables
    unless asked: ``--output-dir .``; ``report.claim`` guards whatever folder is chosen)."""
    chosen = output_dir or os.environ.get(OUTPUT_ENV) or Path(results_root) / study / "report"
    return Path(chosen).expanduser().resolve()


def finetune_parameters(config: TrainConfig, seeds: list[int], *, study: str, results_dir: Path,
                        data_dir: Path | None, force: bool, allow_mixed_numerics: bool = False) -> dict:
    """The finetune notebook's papermill parameters for one task: every config field, plus where and how."""
    return {**config.to_dict(), "seeds": [Seeds.parse(s).to_json() for s in seeds], "study": study,
            "results_dir": str(results_dir),
            "data_dir": "" if data_dir is None else str(data_dir), "force": force,
            "allow_mixed_numerics": allow_mixed_numerics}


def _execute(source: Path, output: Path, parameters: dict) -> Path:
    """Run one notebook in a fresh kernel; a failure names the error and the executed copy.

    The kernel talks over IPC sockets in a private scratch folder rather than TCP ports, so
    executions side by side cannot race for ports (papermill #239, #511). The kernel manager
    is the asynchronous one: with the blocking one, nbclient waits for output in a blocking
    call and never sees a killed kernel (a sweep hung for good when the OOM killer took one);
    with it, a dead kernel raises ``DeadKernelError`` within seconds.
    """
    import papermill
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    output.parent.mkdir(parents=True, exist_ok=True)
    os.environ[FOLLOW_ENV] = identity(os.getpid())  # kernels die with us
    with tempfile.TemporaryDirectory(prefix="seedstudy-kernel-") as sockets:
        kernel = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "kernel"))
        try:
            papermill.execute_notebook(str(source), str(output), parameters=parameters,
                                       kernel_name="python3", progress_bar=False,
                                       cwd=str(source.parent), km=kernel)
        except papermill.PapermillExecutionError as err:
            raise NotebookFailed(f"{source.name} failed: {err.ename}: {err.evalue} "
                                 f"(executed copy: {output})") from None
        finally:  # a kernel manager passed in is ours to shut down, not nbclient's
            if kernel.has_kernel:
                run_sync(kernel.shutdown_kernel)(now=True)
    return output


def run_task(config: TrainConfig, seeds: list[int], *, study: str, results_dir: str | None = None,
             data_dir: str | None = None, force: bool = False, allow_mixed_numerics: bool = False,
             watch: bool = False) -> Path:
    """Execute ``finetune.ipynb`` for all seeds of one task; returns the executed notebook.

    ``watch``: show the progress of the run in flight on stderr (a sweep shows its own).
    """
    from ..training.models import resolve_model  # here: reports and verify go through this module, torch-free

    task = get_task(config.task)
    seeds = parse_all(seeds)
    resolve_model(config.model)  # an unknown model fails here, before a kernel starts
    local = data.require_source(data_dir)
    missing = data.missing_local_splits(task, local)
    if missing:
        raise data.MissingSplitError(f"{task.key}: missing local file(s) "
                                     f"{', '.join(map(str, missing))} under {local}")
    root = ensure_writable(resolve_results_dir(results_dir))
    output = root / study / task.key / model_slug(config.model) / "finetune.ipynb"
    params = finetune_parameters(config, seeds, study=study, results_dir=root, data_dir=local,
                                 force=force, allow_mixed_numerics=allow_mixed_numerics)
    if not watch:
        return _execute(notebook("finetune.ipynb"), output, params)
    folders = [run_dir(root, study, task, config.model, s.label) for s in seeds]
    with progress.watching(progress.Watcher(root, folders)):
        return _execute(notebook("finetune.ipynb"), output, params)


HTML_FILE = "report.html"  # the browsable report, beside the paper's tables


def run_report(*, study: str, results_dir: str | None = None, output_dir: str | None = None,
               compare_study: str = "", numerics_study: str = "", force: bool = False) -> tuple[Path, Path]:
    """Execute ``paper.ipynb`` over a study's runs (compared with ``compare_study``'s runs, and
    set beside the same seeds under ``numerics_study``'s numerics, when given), then write it as
    a self-contained page, ``<output>/paper/report.html`` (``report.html``); returns the executed
    notebook and the page. Tables built from another study or configuration are not replaced unless
    ``force`` (``report.claim``)."""
    from ..report.html import write_html

    root = resolve_results_dir(results_dir)
    for name in filter(None, (study, compare_study, numerics_study)):
        if not (root / name).is_dir():
            raise FileNotFoundError(f"no study {name!r} under {root}: expected runs in {root / name}")
    out = resolve_output_dir(output_dir, root, study)
    params = {"study": study, "results_dir": str(root), "output_dir": str(out),
              "compare_study": compare_study, "numerics_study": numerics_study, "force": force}
    executed = _execute(notebook("paper.ipynb"), root / study / "paper.ipynb", params)
    return executed, write_html(executed, out / "paper" / HTML_FILE, title=f"seedstudy report: {study}")


def run_unit(unit: Unit, results_dir: str, data_dir: str | None, force: bool = False,
             allow_mixed_numerics: bool = False) -> TaskOutcome:
    """Execute one unit's notebook under the unit's lock; a failure becomes an outcome, not a raise.

    The lock keeps two sweeps from executing the same notebook at once; the second waits, then
    finds its runs complete and reuses them.
    """
    root = Path(results_dir)
    output = root / unit.folder / "finetune.ipynb"
    start = time.perf_counter()
    base = dict(task=unit.config.task, model=unit.config.model, study=unit.study, notebook=str(output))
    from nbclient.exceptions import DeadKernelError

    try:
        with integrity.held(integrity.lock_path(root, output.parent), f"notebook {output}", say):
            run_task(unit.config, list(unit.seeds), study=unit.study, results_dir=results_dir,
                     data_dir=data_dir, force=force, allow_mixed_numerics=allow_mixed_numerics)
    except DeadKernelError as err:  # the kernel was killed (often the OOM killer): a lost unit
        return TaskOutcome(status="failed", detail=f"notebook kernel died: {err} (executed copy: {output})",
                           seconds=time.perf_counter() - start, lost=True, **base)
    except (NotebookFailed, ValueError, FileNotFoundError, RuntimeError, OSError) as err:
        return TaskOutcome(status="failed", detail=str(err), seconds=time.perf_counter() - start, **base)
    return TaskOutcome(status="done", detail="", seconds=time.perf_counter() - start, **base)


class Progress:
    """Runs done/failed/remaining of a sweep, elapsed and estimated time left, and the runs in flight.

    Counts completion records on disk, so runs finished inside a notebook show as they land; the
    runs in flight report through their heartbeats (``store.progress``). Time left: the runs
    still to start at the mean duration of the runs this sweep finished (before the first one
    finishes: the projected duration of the run in flight), plus what the runs in flight have left.
    """

    def __init__(self, root: Path, units: list[Unit], echo) -> None:
        self.root, self.units, self.echo = root, units, echo
        self.failed_units: set[str] = set()
        self.start = time.perf_counter()
        self.initial = self.done()
        self.last: tuple | None = None
        self.watcher = progress.Watcher(root, [root / r for u in units for r in u.run_folders()])

    def done(self) -> int:
        """Runs of the sweep with a completion record."""
        return sum(integrity.is_complete(self.root / r) for u in self.units for r in u.run_folders())

    def seconds_left(self, done: int, remaining: int, flying: list[dict]) -> float | None:
        """Estimated seconds until every remaining run is done (None before anything is measured)."""
        fresh = done - self.initial
        if fresh:
            per_run = (time.perf_counter() - self.start) / fresh
        else:
            projected = [s["updated"] - s["started"] + s["seconds_left"] for s in flying
                         if s.get("seconds_left") is not None]
            if not projected:
                return None
            per_run = sum(projected) / len(projected)
        in_flight = [per_run if s.get("seconds_left") is None else s["seconds_left"] for s in flying]
        waiting = max(0, remaining - len(flying))  # they start as slots free: len(flying) side by side
        return max(in_flight, default=0.0) + per_run * waiting / max(1, len(flying))

    def update(self) -> None:
        """Print the state if it changed; show the runs in flight."""
        done = self.done()
        failed = sum(not integrity.is_complete(self.root / r) for u in self.units
                     if u.folder in self.failed_units for r in u.run_folders())
        total = sum(len(u.seeds) for u in self.units)
        remaining = total - done - failed
        flying = list(self.watcher.in_flight().values())
        left = self.seconds_left(done, remaining, flying) if remaining else None
        state = (done, failed, remaining)
        if state != self.last:
            self.last = state
            elapsed = time.perf_counter() - self.start
            tail = f", ~{progress.clock(left)} left" if left is not None else ""
            self.echo(f"[sweep] {done}/{total} runs done, {failed} failed, {remaining} remaining; "
                      f"{progress.clock(elapsed)} elapsed{tail}")
        self.watcher.poll(left)


def outcome_of(unit: Unit, result: TaskOutcome | executors.WorkerLost, root: Path) -> TaskOutcome:
    """A unit's outcome; a worker that died before reporting is the unit's failure (``lost``)."""
    if isinstance(result, TaskOutcome):
        return result
    return TaskOutcome(unit.config.task, "failed", result.why, model=unit.config.model, study=unit.study,
                       notebook=str(root / unit.folder / "finetune.ipynb"), lost=result.retryable)


def run_sweep(spec: SweepSpec, *, executor: str = "local", max_parallel: int = 1,
              address: str | None = None, results_dir: str | None = None,
              data_dir: str | None = None, force: bool = False, allow_mixed_numerics: bool = False,
              retries: int = 0, echo=None) -> list[TaskOutcome]:
    """Run every unit of a sweep (skipping, visibly, those whose local data is missing).

    A unit whose process died (``lost``: its worker or its notebook kernel killed, e.g. by the
    OOM killer) is run again up to ``retries`` times, after the others; its finished seeds are
    reused. Writes a manifest of the runs each study asks for (``sweep.json``, read by ``verify``) and
    the skipped and failed units (``skipped.json``, read by the report).
    """
    echo = echo or say
    if executor not in executors.EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}: expected one of {executors.EXECUTORS}")
    units = spec.units()
    local = data.require_source(data_dir)
    root = ensure_writable(resolve_results_dir(results_dir))
    for study in dict.fromkeys(u.study for u in units):
        path = root / study / integrity.MANIFEST_FILE
        earlier = json.loads(path.read_text()) if path.is_file() else None
        _write_json(path, manifest(spec, [u for u in units if u.study == study], earlier))
    outcomes, runnable = [], []
    for unit in units:
        missing = data.missing_local_splits(get_task(unit.config.task), local)
        if missing:
            reason = f"missing local file(s): {', '.join(str(p.relative_to(local)) for p in missing)}"
            outcomes.append(TaskOutcome(unit.config.task, "skipped", reason, model=unit.config.model,
                                        study=unit.study))
            echo(f"SKIP {unit.folder}: {reason} (data dir {local}); "
                 f"{spec.base().notes.get(unit.config.task, 'use the hub or add the files to run it')}")
        else:
            runnable.append(unit)
    if retries < 0:
        raise ValueError(f"bad --retries {retries}: expected 0 or more")
    tracker = Progress(root, runnable, echo)
    tracker.update()
    tries: dict[str, int] = {}
    again: list[Unit] = []

    def finished(unit: Unit, result: TaskOutcome | executors.WorkerLost) -> None:
        outcome = outcome_of(unit, result, root)
        tries[unit.folder] = tries.get(unit.folder, 0) + 1
        if outcome.lost and tries[unit.folder] <= retries:
            echo(f"RETRY {unit.folder}: {outcome.detail} (try {tries[unit.folder] + 1} of {retries + 1})")
            again.append(unit)
            return
        outcomes.append(outcome)
        if outcome.status == "failed":
            tracker.failed_units.add(unit.folder)
            echo(f"FAIL {unit.folder}: {outcome.detail}")
        else:
            echo(f"done {unit.folder}: {len(unit.seeds)} seeds in {outcome.seconds:.0f} s")
        tracker.update()

    call = partial(run_unit, results_dir=str(root), data_dir=str(local) if local else None, force=force,
                   allow_mixed_numerics=allow_mixed_numerics)
    try:
        while runnable:
            if executor == "local":
                executors.run_local(call, runnable, max_parallel, finished, tracker.update)
            else:
                executors.run_ray(call, runnable, address, finished, tracker.update)
            runnable, again[:] = list(again), []
    finally:
        tracker.watcher.close()
    for study in dict.fromkeys(u.study for u in units):
        _write_json(root / study / SKIPPED_FILE,
                    [vars(o) for o in outcomes if o.study == study and o.status != "done"])
    return outcomes


def summary(outcomes: list[TaskOutcome]) -> list[str]:
    """Lines naming each failed and skipped unit: its notebook and the error."""
    lines = []
    for o in outcomes:
        if o.status == "failed":
            lines.append(f"failed: {o.study}/{o.task}/{o.model}: {o.detail} (notebook {o.notebook})")
        elif o.status == "skipped":
            lines.append(f"skipped: {o.study}/{o.task}/{o.model}: {o.detail}")
    done = sum(o.status == "done" for o in outcomes)
    lines.append(f"sweep: {done} done, {sum(o.status == 'failed' for o in outcomes)} failed, "
                 f"{sum(o.status == 'skipped' for o in outcomes)} skipped (task x model executions)")
    return lines


def _write_json(path: Path, value: object) -> None:
    """Write JSON with one rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    scratch.write_text(json.dumps(value, indent=2, default=str))
    scratch.replace(path)
