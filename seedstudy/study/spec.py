"""A sweep: tasks x models x seeds x hyperparameter settings, from a preset or a YAML/TOML file.

A spec file names a preset whose per-task settings are the starting point, then narrows or
widens it::

    name: lr-sweep              # the study: results/<name>/...
    preset: cpu                 # per-task settings to start from (default: cpu)
    tasks: [glue-sst2, superglue-copa]   # default: every task of the preset
    models: [minilm-l6]         # default: the preset's model(s) for each task
    seeds: [1, 2, 3]            # default: the preset's seeds
    seed_grid: {init: [1, 2], order: [1, 2], dropout: [0]}   # instead of seeds: a seed per source
    overrides: {epochs: 2}      # set for every run
    grid: {learning_rate: [5e-5, 1e-4]}   # one variant per combination
    resources: {num_cpus: 2, num_gpus: 0} # asked of Ray per notebook execution

Each grid combination is its own study folder (``lr-sweep/learning_rate=5e-05``), so runs of
different settings are never mixed: a changed hyperparameter is a different run.
"""
from __future__ import annotations

import itertools
import json
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..benchmark.tasks import get_task
from ..store.runs import model_slug
from ..training.config import TrainConfig
from ..training.seeds import SOURCES, parse_all
from ..training.seeds import grid as seed_grid
from .presets import Preset, get_preset

SPEC_KEYS = ("name", "preset", "tasks", "models", "seeds", "seed_grid", "overrides", "grid", "resources")
RESOURCE_KEYS = ("num_cpus", "num_gpus")
CONFIG_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.name not in ("task", "model"))


@dataclass(frozen=True)
class Unit:
    """One papermill execution: a task and model with all its seeds, stored in one study folder."""

    config: TrainConfig
    seeds: tuple[int, ...]
    study: str
    num_cpus: float = 1
    num_gpus: float = 0

    @property
    def folder(self) -> str:
        """Results sub-folder of this unit: ``<study>/<task>/<model>``."""
        return f"{self.study}/{self.config.task}/{model_slug(self.config.model)}"

    def run_folders(self) -> list[str]:
        """Results sub-folders of its runs, one per seed."""
        return [f"{self.folder}/seed={s}" for s in self.seeds]


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep runs; ``units()`` expands it into notebook executions."""

    name: str
    preset: str = "cpu"
    tasks: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    seeds: tuple | None = None
    overrides: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    resources: dict = field(default_factory=dict)
    source: str = "preset"  # the file it came from, for error messages and the manifest

    def base(self) -> Preset:
        """The preset it starts from."""
        return get_preset(self.preset)

    def variants(self) -> list[tuple[str, dict]]:
        """(study name, settings) per grid combination; the spec's name alone without a grid."""
        if not self.grid:
            return [(self.name, {})]
        keys = sorted(self.grid)
        out = []
        for values in itertools.product(*(self.grid[k] for k in keys)):
            settings = dict(zip(keys, values))
            out.append((f"{self.name}/" + ",".join(f"{k}={v}" for k, v in settings.items()), settings))
        return out

    def units(self) -> list[Unit]:
        """Every (variant, task, model) execution, in preset order."""
        preset = self.base()
        seeds = tuple(parse_all(self.seeds or preset.seeds))
        tasks = [get_task(t).key for t in self.tasks] if self.tasks else None
        configs = preset.configs_for(tasks) if tasks else list(preset.configs)
        if self.models:
            firsts = {c.task: c for c in reversed(configs)}
            configs = [_for_model(preset, firsts[t], m) for t in dict.fromkeys(c.task for c in configs)
                       for m in self.models]
        cpus = self.resources.get("num_cpus", preset.num_cpus)
        gpus = self.resources.get("num_gpus", preset.num_gpus)
        units = []
        for study, settings in self.variants():
            for config in configs:
                try:
                    changed = replace(config, **{**self.overrides, **settings})
                except (TypeError, ValueError) as err:
                    raise ValueError(f"sweep spec {self.source}: {err}") from None
                units.append(Unit(changed, seeds, study, cpus, gpus))
        return units

    def to_dict(self) -> dict:
        """Plain-JSON form, recorded in the sweep manifest."""
        return {"name": self.name, "preset": self.preset, "tasks": self.tasks, "models": self.models,
                "seeds": self.seeds, "overrides": self.overrides, "grid": self.grid,
                "resources": self.resources, "source": self.source}


def _for_model(preset: Preset, first: TrainConfig, model: str) -> TrainConfig:
    """The preset's configuration of a task for ``model``, else its first one with the model swapped."""
    listed = [c for c in preset.configs if c.task == first.task and c.model == model]
    return listed[0] if listed else replace(first, model=model)


def from_preset(name: str, *, study: str | None = None, seeds=None, tasks=None) -> SweepSpec:
    """The sweep of a whole preset (``seedstudy reproduce``), optionally narrowed."""
    get_preset(name)
    return SweepSpec(name=study or name, preset=name, tasks=tuple(tasks) if tasks else None,
                     seeds=tuple(seeds) if seeds else None)


def load_spec(path: str | Path) -> SweepSpec:
    """Read a sweep spec from a YAML or TOML file; every mistake is named with the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sweep spec {path} not found: expected a .yaml, .yml or .toml file "
                                "or a preset name")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            raw = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text)
        else:
            raise ValueError(f"sweep spec {path}: unknown format {path.suffix!r}, expected .yaml, "
                             ".yml or .toml")
    except (tomllib.TOMLDecodeError, ImportError) as err:
        raise ValueError(f"sweep spec {path}: not valid TOML: {err}") from None
    except Exception as err:  # yaml.YAMLError, without importing yaml for TOML users
        if type(err).__module__.startswith("yaml"):
            raise ValueError(f"sweep spec {path}: not valid YAML: {err}".replace("\n", " ")) from None
        raise
    return parse_spec(raw, str(path))


def parse_spec(raw: object, source: str) -> SweepSpec:
    """Validate a spec's mapping: known keys and fields, lists where lists belong."""
    if not isinstance(raw, dict):
        raise ValueError(f"sweep spec {source}: expected a mapping of {', '.join(SPEC_KEYS)}")
    unknown = sorted(set(raw) - set(SPEC_KEYS))
    if unknown:
        raise ValueError(f"sweep spec {source}: unknown key(s) {unknown}: expected some of {list(SPEC_KEYS)}")
    if not raw.get("name") or not isinstance(raw["name"], str) or "/" in raw["name"]:
        raise ValueError(f"sweep spec {source}: 'name' must be a non-empty string without '/' "
                         "(the study folder)")
    if "seeds" in raw and "seed_grid" in raw:
        raise ValueError(f"sweep spec {source}: give 'seeds' or 'seed_grid', not both")
    grid_seeds = raw.get("seed_grid")
    if grid_seeds is not None:
        if not isinstance(grid_seeds, dict) or set(grid_seeds) != set(SOURCES) or not all(
                isinstance(v, list) and v for v in grid_seeds.values()):
            raise ValueError(f"sweep spec {source}: 'seed_grid' must map each of {list(SOURCES)} "
                             "to a non-empty list of seeds")
        raw = {**raw, "seeds": [s.to_json() for s in seed_grid(**grid_seeds)]}
    for key in ("tasks", "models", "seeds"):
        if key in raw and not (isinstance(raw[key], list) and raw[key]):
            raise ValueError(f"sweep spec {source}: {key!r} must be a non-empty list")
    for key in ("overrides", "grid", "resources"):
        if not isinstance(raw.get(key, {}), dict):
            raise ValueError(f"sweep spec {source}: {key!r} must be a mapping")
    for key in ("overrides", "grid"):
        bad = sorted(set(raw.get(key, {})) - set(CONFIG_FIELDS))
        if bad:
            raise ValueError(f"sweep spec {source}: unknown training parameter(s) {bad} in {key!r}: "
                             f"expected some of {list(CONFIG_FIELDS)}")
    for name, values in raw.get("grid", {}).items():
        if not (isinstance(values, list) and values):
            raise ValueError(f"sweep spec {source}: grid {name!r} must be a non-empty list of values")
    bad = sorted(set(raw.get("resources", {})) - set(RESOURCE_KEYS))
    if bad:
        raise ValueError(f"sweep spec {source}: unknown resource(s) {bad}: expected some of {list(RESOURCE_KEYS)}")
    overrides = {k: _coerce(k, v, source) for k, v in raw.get("overrides", {}).items()}
    grid = {k: [_coerce(k, v, source) for v in values] for k, values in raw.get("grid", {}).items()}
    spec = SweepSpec(name=raw["name"], preset=raw.get("preset", "cpu"),
                     tasks=tuple(raw["tasks"]) if "tasks" in raw else None,
                     models=tuple(raw["models"]) if "models" in raw else None,
                     seeds=tuple(raw["seeds"]) if "seeds" in raw else None,
                     overrides=overrides, grid=grid,
                     resources=dict(raw.get("resources", {})), source=source)
    try:
        spec.units()  # every configuration is built (and validated) before anything runs
    except ValueError as err:
        message = str(err)
        raise ValueError(message if message.startswith("sweep spec") else
                         f"sweep spec {source}: {message}") from None
    return spec


def _coerce(name: str, value: object, source: str) -> object:
    """A number written as text (YAML reads ``5e-5`` as a string) as the field's number type."""
    kind = {f.name: str(f.type) for f in fields(TrainConfig)}[name]
    if isinstance(value, str) and kind.split(" ")[0] in ("float", "int"):
        try:
            return float(value) if kind.startswith("float") else int(value)
        except ValueError:
            raise ValueError(f"sweep spec {source}: {name}={value!r}: expected a number") from None
    return value


def resolve_spec(spec: str) -> SweepSpec:
    """A spec file path, or the name of a preset."""
    from .presets import PRESETS

    if spec in PRESETS and not Path(spec).is_file():
        return from_preset(spec)
    return load_spec(spec)


def manifest(spec: SweepSpec, units: list[Unit], earlier: dict | None = None) -> dict:
    """The sweep manifest of one study: the specs of every sweep run into it and every run they
    asked for (paths within the study). ``earlier`` is the manifest already there: sweeps into
    one study add to it, so ``verify`` still misses none of the earlier sweeps' runs."""
    earlier = earlier or {}
    specs = earlier.get("specs", [earlier["spec"]] if "spec" in earlier else [])
    this = json.loads(json.dumps(spec.to_dict()))
    runs = [run[len(u.study) + 1:] for u in units for run in u.run_folders()]
    return {"specs": specs + ([this] if this not in specs else []),
            "runs": list(dict.fromkeys([*earlier.get("runs", []), *runs]))}
