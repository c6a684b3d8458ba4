"""Which study a folder of tables and figures was built from, so one study's report never
replaces another's.

A report writes ``paper/tables/`` and ``figures/`` under its output folder and leaves a stamp
beside the tables (``study.json``: the study and the configuration hash of each task and model
in it). A later report into the same folder must be of the same study and, for every task and
model both hold, the same configuration; tasks added or dropped are fine (a study grows).
Anything else is refused in one line unless forced, and so are tables already there that carry
no stamp (their origin is unknown).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

STAMP = "study.json"


class ReportClaimedError(RuntimeError):
    """The output folder holds tables built from another study or configuration."""


def identity(study: str, records: Iterable[dict]) -> dict:
    """What a report is built from: the study and each (task, model)'s configuration hash."""
    configs: dict[str, set[str]] = {}
    for record in records:
        configs.setdefault(f"{record['task']}/{record['model']}", set()).add(record["config_hash"])
    return {"study": study, "configs": {unit: sorted(hashes) for unit, hashes in sorted(configs.items())}}


def stamp_path(out_dir: Path) -> Path:
    """The stamp of the tables under ``out_dir``."""
    return Path(out_dir) / "paper" / "tables" / STAMP


def conflict(out_dir: Path, claim: dict) -> str | None:
    """Why ``claim`` may not write into ``out_dir`` (None: it may)."""
    stamp = stamp_path(out_dir)
    if not stamp.is_file():
        made = [*stamp.parent.glob("*.md"), *(Path(out_dir) / "figures").glob("*.png")]
        if made:
            return (f"{out_dir} holds {len(made)} tables and figures of unknown origin (no {stamp}); "
                    f"not replacing them with study {claim['study']!r}")
        return None
    try:
        held = json.loads(stamp.read_text())
        held_study, held_configs = held["study"], held["configs"]
    except (ValueError, KeyError, TypeError):
        return f"{stamp} is unreadable; not replacing the tables beside it"
    if held_study != claim["study"]:
        return (f"{stamp.parent} holds the tables of study {held_study!r}; not replacing them with "
                f"study {claim['study']!r}")
    changed = sorted(u for u in set(held_configs) & set(claim["configs"]) if held_configs[u] != claim["configs"][u])
    if changed:
        return (f"{stamp.parent} holds study {held_study!r} built from other configurations of "
                f"{', '.join(changed)}; not replacing them")
    return None


def check(out_dir: Path, claim: dict, force: bool = False) -> None:
    """Raise, naming what holds ``out_dir``, unless ``claim`` may write there (``force``: it may)."""
    why = conflict(out_dir, claim)
    if why and not force:
        raise ReportClaimedError(f"{why}: give the report its own --output-dir, or --force to replace")


def seal(out_dir: Path, claim: dict) -> None:
    """Stamp ``out_dir``'s tables with ``claim``, after they and the figures are written (a report
    that fails half-way leaves the old stamp, so the old study can still rebuild)."""
    stamp = stamp_path(out_dir)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    scratch = stamp.with_name(f".{STAMP}.tmp")
    scratch.write_text(json.dumps(claim, indent=1, sort_keys=True) + "\n")
    scratch.replace(stamp)
