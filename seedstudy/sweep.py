"""Execute the notebooks under papermill: one task per execution, then the paper notebook.

Each execution runs in its own kernel process (papermill cannot resume a failed execution and
races when kernels share a process), and its executed copy is kept beside the results it made.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import PROJECT_ROOT, data
from .models import model_slug, resolve_model
from .presets import Preset
from .report import SKIPPED_FILE
from .runs import ensure_writable, resolve_results_dir, validate_seeds
from .tasks import get_task
from .train import TrainConfig

OUTPUT_ENV = "SEEDSTUDY_OUTPUT_DIR"


class NotebookFailed(RuntimeError):
    """A notebook execution raised; the message names the notebook, the error and the saved copy."""


@dataclass
class TaskOutcome:
    """What happened to one task of a study."""

    task: str
    status: str  # "done", "skipped" or "failed"
    detail: str
    seconds: float = 0.0
    model: str = ""


def notebook(name: str) -> Path:
    """Path of a project notebook (needs a source checkout: ``pip install -e .``)."""
    path = PROJECT_ROOT / "notebooks" / name
    if not path.is_file():
        raise FileNotFoundError(f"notebook {path} not found: seedstudy runs its notebooks from a "
                                "source checkout; install with `pip install -e .` inside it")
    return path


def resolve_output_dir(output_dir: str | os.PathLike | None = None) -> Path:
    """Where figures/ and paper/tables/ go: the argument, ``$SEEDSTUDY_OUTPUT_DIR``, or the project root."""
    return Path(output_dir or os.environ.get(OUTPUT_ENV) or PROJECT_ROOT).expanduser().resolve()


def finetune_parameters(config: TrainConfig, seeds: list[int], *, study: str, results_dir: Path,
                        data_dir: Path | None, force: bool) -> dict:
    """The finetune notebook's papermill parameters for one task: every config field, plus where and how."""
    return {**config.to_dict(), "seeds": seeds, "study": study, "results_dir": str(results_dir),
            "data_dir": "" if data_dir is None else str(data_dir), "force": force}


def _execute(source: Path, output: Path, parameters: dict) -> Path:
    """Run one notebook in a fresh kernel; a failure names the error and the executed copy.

    The kernel talks over IPC sockets in a private scratch folder rather than TCP ports, so
    executions side by side cannot race for ports (papermill #239, #511).
    """
    import papermill
    from jupyter_client.manager import KernelManager

    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="seedstudy-kernel-") as sockets:
        kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "kernel"))
        try:
            papermill.execute_notebook(str(source), str(output), parameters=parameters,
                                       kernel_name="python3", progress_bar=False,
                                       cwd=str(source.parent), km=kernel)
        except papermill.PapermillExecutionError as err:
            raise NotebookFailed(f"{source.name} failed: {err.ename}: {err.evalue} "
                                 f"(executed copy: {output})") from None
        finally:  # a kernel manager passed in is ours to shut down, not nbclient's
            if kernel.has_kernel:
                kernel.shutdown_kernel(now=True)
    return output


def run_task(config: TrainConfig, seeds: list[int], *, study: str, results_dir: str | None = None,
             data_dir: str | None = None, force: bool = False) -> Path:
    """Execute ``finetune.ipynb`` for all seeds of one task; returns the executed notebook."""
    task = get_task(config.task)
    seeds = validate_seeds(seeds)
    resolve_model(config.model)
    local = data.require_source(data_dir)
    missing = data.missing_local_splits(task, local)
    if missing:
        raise data.MissingSplitError(f"{task.key}: missing local file(s) "
                                     f"{', '.join(map(str, missing))} under {local}")
    root = ensure_writable(resolve_results_dir(results_dir))
    output = root / study / task.key / model_slug(config.model) / "finetune.ipynb"
    params = finetune_parameters(config, seeds, study=study, results_dir=root, data_dir=local,
                                 force=force)
    return _execute(notebook("finetune.ipynb"), output, params)


def run_report(*, study: str, results_dir: str | None = None, output_dir: str | None = None) -> Path:
    """Execute ``paper.ipynb`` over a study's runs; returns the executed notebook."""
    root = resolve_results_dir(results_dir)
    if not (root / study).is_dir():
        raise FileNotFoundError(f"no study {study!r} under {root}: expected runs in {root / study}")
    params = {"study": study, "results_dir": str(root), "output_dir": str(resolve_output_dir(output_dir))}
    return _execute(notebook("paper.ipynb"), root / study / "paper.ipynb", params)


def run_study(preset: Preset, *, seeds: list[int] | None = None, tasks: list[str] | None = None,
              study: str | None = None, results_dir: str | None = None, data_dir: str | None = None,
              force: bool = False, echo=print) -> list[TaskOutcome]:
    """Run every task of a preset (skipping, visibly, those whose local data is missing)."""
    from tqdm import tqdm  # plain text: readable in executed notebooks and logs

    study = study or preset.name
    seeds = validate_seeds(seeds or preset.seeds)
    configs = preset.configs_for([get_task(t).key for t in tasks]) if tasks else list(preset.configs)
    local = data.require_source(data_dir)
    root = ensure_writable(resolve_results_dir(results_dir))
    outcomes = []
    for config in tqdm(configs, desc=f"study {study}", unit="task"):
        task = get_task(config.task)
        missing = data.missing_local_splits(task, local)
        if missing:
            reason = f"missing local file(s): {', '.join(str(p.relative_to(local)) for p in missing)}"
            outcomes.append(TaskOutcome(task.key, "skipped", reason, model=config.model))
            echo(f"SKIP {task.key}: {reason} (data dir {local}); "
                 f"{preset.notes.get(task.key, 'use the hub or add the files to run it')}")
            continue
        start = time.perf_counter()
        try:
            run_task(config, seeds, study=study, results_dir=str(root),
                     data_dir=str(local) if local else None, force=force)
        except NotebookFailed as err:
            outcomes.append(TaskOutcome(task.key, "failed", str(err), time.perf_counter() - start,
                                        config.model))
            echo(f"FAIL {task.key}: {err}")
            continue
        outcomes.append(TaskOutcome(task.key, "done", "", time.perf_counter() - start, config.model))
        echo(f"done {task.key} ({config.model}): {len(seeds)} seeds in "
             f"{time.perf_counter() - start:.0f} s")
    skipped = [vars(o) for o in outcomes if o.status != "done"]
    (root / study).mkdir(parents=True, exist_ok=True)
    (root / study / SKIPPED_FILE).write_text(json.dumps(skipped, indent=2))
    return outcomes
