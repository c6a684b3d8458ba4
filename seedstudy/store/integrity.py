"""When a run counts as finished, who may write it, and checking a results folder afterwards.

A run folder is complete only when it holds its predictions, its ``run.json`` and a completion
record (``complete.json``: the sha256 of both files, the run's configuration hash and the hash
of its full configuration). All three are written in a scratch folder that one rename turns
into the run folder, so a crash leaves either a complete run or a leftover that the next sweep
removes and redoes. A lock file per run (``fcntl.flock``, released by the kernel when its holder
dies, even by SIGKILL) keeps two sweeps on one results folder from writing the same run.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

RUN_FILE, PREDICTIONS_FILE, COMPLETE_FILE = "run.json", "predictions.parquet", "complete.json"
REPRESENTATIONS_FILE = "representations.npy"  # optional: what the head saw per prediction row
LOCKS_DIR = ".locks"
MANIFEST_FILE = "sweep.json"  # written by a sweep beside its runs: the runs it was asked for
LEFTOVER_MARKERS = (".tmp-", ".replaced-")  # scratch and set-aside folders of an interrupted write


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def full_config_sha256(config: dict, seed: int, data_source: str) -> str:
    """Hash of everything a run was asked to do: every config field (unset ones too), seed, data.

    ``data_source`` is ``hub`` or ``local`` (the files themselves are hashed in run.json).
    """
    key = {"config": config, "seed": seed, "data": data_source}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def write_completion(folder: Path, config_hash: str, full_sha256: str) -> dict:
    """Record, last, that ``folder`` holds a finished run: hashes of its files and configuration."""
    record = {"predictions_sha256": file_sha256(folder / PREDICTIONS_FILE),
              "run_json_sha256": file_sha256(folder / RUN_FILE),
              **({"representations_sha256": file_sha256(folder / REPRESENTATIONS_FILE)}
                 if (folder / REPRESENTATIONS_FILE).is_file() else {}),
              "config_hash": config_hash, "config_sha256": full_sha256,
              "completed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (folder / COMPLETE_FILE).write_text(json.dumps(record, indent=2, sort_keys=True))
    return record


def is_complete(folder: Path) -> bool:
    """True when the folder has a completion record (written last, inside the atomic rename)."""
    return (folder / COMPLETE_FILE).is_file()


def lock_path(results_dir: Path, folder: Path) -> Path:
    """The lock file of a run or notebook folder: under ``<results>/.locks``, mirroring its path."""
    relative = folder.relative_to(results_dir)
    return results_dir / LOCKS_DIR / relative.with_name(relative.name + ".lock")


@contextlib.contextmanager
def held(lock: Path, what: str, echo: Callable[[str], None]) -> Iterator[None]:
    """Hold an exclusive lock on ``lock``; if another process holds it, say so and wait."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            echo(f"waiting: {what} is being run by {holder} (lock {lock})")
            fcntl.flock(handle, fcntl.LOCK_EX)
            echo(f"lock acquired: {what}")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {os.uname().nodename}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def leftovers(folder: Path) -> list[Path]:
    """Scratch and set-aside folders an interrupted write of this run left beside it."""
    if not folder.parent.is_dir():
        return []
    return sorted(p for p in folder.parent.glob(f".{folder.name}.*")
                  if any(m in p.name for m in LEFTOVER_MARKERS))


def clear_interrupted(folder: Path, echo: Callable[[str], None]) -> None:
    """Remove what an interrupted write left: leftovers, and a run folder without completion record.

    Call only while holding the run's lock, so no live writer's scratch is touched.
    """
    for path in leftovers(folder):
        shutil.rmtree(path, ignore_errors=True)
    if folder.is_dir() and not is_complete(folder):
        echo(f"redoing partial run {folder} (no completion record)")
        shutil.rmtree(folder)


@dataclass
class Problem:
    """One finding of ``verify``: the path and what is wrong with it."""

    path: Path
    issue: str

    def __str__(self) -> str:
        return f"{self.issue}: {self.path}"


def verify(results_dir: Path) -> tuple[int, list[Problem]]:
    """Check every run folder against its completion record; returns (runs checked, problems).

    Finds: a changed or missing predictions file or run.json, a run.json whose configuration
    hash differs from the record, a run folder without completion record (partial), leftover
    scratch folders, and files that belong to no run (orphans).
    """
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results directory {results_dir} not found")
    problems: list[Problem] = []
    checked = 0
    for path in sorted(results_dir.rglob("*")):
        parts = path.relative_to(results_dir).parts
        if parts[0] == LOCKS_DIR or any(_is_run_or_leftover(p) for p in parts[:-1]):
            continue  # lock files; run folders are checked whole, leftovers reported whole
        if path.is_dir() and any(m in path.name for m in LEFTOVER_MARKERS):
            problems.append(Problem(path, "leftover of an interrupted write"))
        elif path.is_dir() and path.name.startswith("seed="):
            checked += 1
            problems += _check_run(path)
    problems += [Problem(path, "missing run (listed in the sweep manifest)")
                 for path in _expected_runs(results_dir) if not path.is_dir()]
    return checked, problems


def _is_run_or_leftover(name: str) -> bool:
    """True for a run folder's name or an interrupted write's leftover."""
    return name.startswith("seed=") or any(m in name for m in LEFTOVER_MARKERS)


def _expected_runs(results_dir: Path) -> list[Path]:
    """Run folders the sweep manifests under ``results_dir`` list (paths within their study)."""
    paths = []
    for manifest in sorted(results_dir.rglob(MANIFEST_FILE)):
        paths += [manifest.parent / run for run in json.loads(manifest.read_text())["runs"]]
    return paths


def _check_run(folder: Path) -> list[Problem]:
    """Problems of one run folder (empty when its files match its completion record)."""
    found = {p.name for p in folder.iterdir()}
    expected = {RUN_FILE, PREDICTIONS_FILE, COMPLETE_FILE}
    problems = [Problem(folder / name, "orphaned file (not part of a run)") for name in sorted(found - expected)]
    if COMPLETE_FILE not in found:
        return problems + [Problem(folder, "partial run: no completion record")]
    try:
        record = json.loads((folder / COMPLETE_FILE).read_text())
    except json.JSONDecodeError:
        return problems + [Problem(folder / COMPLETE_FILE, "unreadable completion record")]
    checked = [(PREDICTIONS_FILE, "predictions_sha256"), (RUN_FILE, "run_json_sha256")]
    if "representations_sha256" in record:
        expected.add(REPRESENTATIONS_FILE)
        checked.append((REPRESENTATIONS_FILE, "representations_sha256"))
    problems = [p for p in problems if p.path.name not in expected]
    for name, key in checked:
        if name not in found:
            problems.append(Problem(folder / name, "missing file"))
        elif file_sha256(folder / name) != record.get(key):
            problems.append(Problem(folder / name, "sha256 differs from the completion record"))
    if RUN_FILE in found and not any(p.path.name == RUN_FILE for p in problems):
        if json.loads((folder / RUN_FILE).read_text()).get("config_hash") != record.get("config_hash"):
            problems.append(Problem(folder / RUN_FILE, "config hash differs from the completion record"))
    return problems


def adopt_legacy(results_dir: Path) -> list[Path]:
    """Write completion records for runs stored before they existed (run.json + predictions, no record).

    Such folders were already written with one atomic rename, so both files present means the
    run finished; their records hash the files as they are now.
    """
    adopted = []
    for run_json in sorted(results_dir.rglob(f"seed=*/{RUN_FILE}")):
        folder = run_json.parent
        if is_complete(folder) or not (folder / PREDICTIONS_FILE).is_file():
            continue
        record = json.loads(run_json.read_text())
        write_completion(folder, record["config_hash"],
                         full_config_sha256(record["config"], record["seed"],
                                            "hub" if record["data"]["source"] == "hub" else "local"))
        adopted.append(folder)
    return adopted
