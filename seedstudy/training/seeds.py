"""The seeds of one run, one per source of randomness: head (and LoRA) initialisation, data order, dropout.

A run is identified by the tuple. The plain integer seed of earlier runs stays the default and
means all three sources from that one seed, exactly as before (``tied``): ``set_seed(s)`` before
the model is built, the data-order generator seeded with ``s``, and dropout continuing from the
global generator. Given per source (``{"init": 1, "order": 2, "dropout": 0}`` or
``"i1-o2-d0"``), the global generator is seeded with ``init`` before the model is built and
re-seeded with ``dropout`` right after, so each source follows its own seed only; explicit
seeds are never tied, even when equal, so a factorial grid treats all its cells alike.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SOURCES = ("init", "order", "dropout")
_LABEL = re.compile(r"^i(\d+)-o(\d+)-d(\d+)$")


@dataclass(frozen=True, order=True)
class Seeds:
    """Seeds of head/LoRA init, data order and dropout; ``tied`` when one integer gave all three."""

    init: int
    order: int
    dropout: int
    tied: bool = False

    @classmethod
    def parse(cls, value: object) -> Seeds:
        """From an integer (tied), a mapping of the three sources, a label ``i1-o2-d0``, or Seeds."""
        if isinstance(value, Seeds):
            return value
        if _is_seed(value):
            return cls(int(value), int(value), int(value), tied=True)
        if isinstance(value, str) and value.isdigit():
            return cls.parse(int(value))
        if isinstance(value, str) and _LABEL.match(value):
            return cls(*map(int, _LABEL.match(value).groups()))
        if isinstance(value, dict) and set(value) == set(SOURCES) and all(map(_is_seed, value.values())):
            return cls(*(int(value[s]) for s in SOURCES))
        raise ValueError(f"bad seed {value!r}: expected a non-negative integer, a mapping of "
                         f"{', '.join(SOURCES)} to non-negative integers, or a label like i1-o2-d0")

    @property
    def label(self) -> str:
        """The run folder's name part: ``3`` when tied, else ``i1-o2-d0``."""
        return str(self.init) if self.tied else f"i{self.init}-o{self.order}-d{self.dropout}"

    def __str__(self) -> str:
        return self.label

    def to_json(self) -> int | dict:
        """Plain JSON (papermill parameters, manifests): the integer when tied, else the mapping."""
        return self.init if self.tied else {s: getattr(self, s) for s in SOURCES}

    def record(self) -> dict:
        """What run.json stores: the seed as before (integer or label) and each source's seed."""
        return {"seed": self.init if self.tied else self.label,
                "seeds": {**{s: getattr(self, s) for s in SOURCES}, "tied": self.tied}}


def _is_seed(value: object) -> bool:
    """A non-negative integer (not a bool)."""
    return (isinstance(value, int) or type(value).__name__.startswith(("int", "uint"))) \
        and not isinstance(value, bool) and int(value) >= 0


def parse_all(values: Iterable[object]) -> list[Seeds]:
    """Seeds of a list of runs: non-empty, each valid, no run twice."""
    parsed = [Seeds.parse(v) for v in values]
    if not parsed:
        raise ValueError("seeds is empty: expected at least one non-negative integer seed")
    labels = [s.label for s in parsed]
    dupes = sorted({label for label in labels if labels.count(label) > 1}, key=lambda x: (len(x), x))
    if dupes:
        shown = [int(d) if d.isdigit() else d for d in dupes]
        raise ValueError(f"duplicated seed(s) {shown} in {[s.to_json() for s in parsed]}: each seed must appear once")
    return parsed


def grid(init: Iterable[int], order: Iterable[int], dropout: Iterable[int]) -> list[Seeds]:
    """Every (init, order, dropout) combination: a factorial design over the sources."""
    return [Seeds(i, o, d) for i in init for o in order for d in dropout]


def of_record(record: dict) -> Seeds:
    """The Seeds of a stored run (runs made before per-source seeds are tied)."""
    seeds = record.get("seeds")
    if seeds:
        return Seeds(seeds["init"], seeds["order"], seeds["dropout"], tied=seeds.get("tied", False))
    return Seeds.parse(record["seed"])
