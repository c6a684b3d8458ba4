"""Bringing runs made elsewhere into the run store: per-seed prediction files become runs of a study.

Every file is read (``store.formats``), checked against the task and against the other files,
and only when all of them pass is anything written: one run folder per file, exactly as a
trained run is stored (predictions, ``run.json``, completion record), so ``report``, ``verify``
and the paper notebook read them unchanged. Each record says where the run came from: the
files and their sha256, the tool that made them, what that tool recorded about itself, and the
user's description.

Checks (each a one-line ``ImportRefused``, nothing written): fewer than two runs; unreadable
files; a file given twice or a byte copy; an example id twice in one run; runs over different
examples; a gold label or group that differs between runs (or from the task's own data, when it
can be read here: a sign the ids are not the split's); a prediction outside the task's labels;
probabilities that do not sum to one (within ``PROB_TOLERANCE``); and against the store: new
seeds of another configuration beside a study's runs, an imported task name with other labels. A task not in the registry becomes an imported classification task
whose classes are the labels and predictions seen, scored by accuracy.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..benchmark import data
from ..benchmark.tasks import ALIASES, TASKS, Task, definition, get_task, imported_task
from ..training.seeds import Seeds, parse_all
from . import integrity
from .formats import HARNESS_FILE, PROB, PROB_TOLERANCE, Columns, ImportRefused, Source, kind_of, read
from .runs import RUN_FILE, ensure_writable, load_run, model_slug, outcome, provenance, resolve_results_dir, write_run

# lm-evaluation-harness task names of GLUE/SuperGLUE tasks -> (our task key, evaluation split)
HARNESS_TASKS = {
    "cola": ("glue-cola", None), "sst2": ("glue-sst2", None), "mrpc": ("glue-mrpc", None),
    "qqp": ("glue-qqp", None), "qnli": ("glue-qnli", None), "rte": ("glue-rte", None),
    "wnli": ("glue-wnli", None), "mnli": ("glue-mnli", "validation_matched"),
    "mnli_mismatch": ("glue-mnli", "validation_mismatched"),
    "boolq": ("superglue-boolq", None), "cb": ("superglue-cb", None), "copa": ("superglue-copa", None),
    "multirc": ("superglue-multirc", None), "sglue_rte": ("superglue-rte", None),
    "wic": ("superglue-wic", None), "wsc": ("superglue-wsc", None)}


def import_runs(paths: Sequence[Path], *, study: str, model: str, task: str | None = None,
                kind: str | None = None, columns: Columns | None = None, seeds: Sequence | None = None,
                ids: Path | None = None, harness_filter: str | None = None, split: str | None = None,
                precision: str | None = None, tool: str | None = None, description: str = "",
                params: dict | None = None, baseline: float | None = None, n_train: int | None = None,
                results_dir: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None,
                force: bool = False, echo: Callable[[str], None] = print) -> list[Path]:
    """Check every file, then store one run per file in ``study``; the run folders, in file order.

    ``kind``: ``table``, ``harness`` or ``trainer`` (default: by file name, ``formats.kind_of``).
    ``seeds``: one per file (default: the harness's recorded seed, else the number in each file's
    name). ``baseline``: the value the majority baseline predicts (default: the majority class or
    mean of the task's training split when it can be read here, else of the evaluation labels).
    ``n_train``: training examples the runs saw, if known (the size table relates stability to it).
    A run already imported from the same files is kept; another one in its place needs ``force``.
    Each run is written atomically once every file has passed; should writing stop midway (a full
    disk), the runs already written are complete, and the same command again keeps them and writes
    the rest.
    """
    paths = [Path(p).expanduser() for p in paths]
    _refuse_options(params, n_train)
    sources = [read(p, kind or kind_of(p), columns or Columns(), ids=ids, harness_filter=harness_filter)
               for p in paths]
    if len(sources) < 2:
        raise ImportRefused(f"fewer than two runs ({len(sources)} file): a seed study compares at least "
                            "two seeds, one file each")
    refuse_same_files(sources, force)
    task_obj, split = resolve_task(task, split, sources, echo)
    local = data.resolve_data_dir(data_dir)
    reference = reference_frames(task_obj, local)
    labelled = [canonical(s, task_obj, split, reference) for s in sources]
    check_same_examples(sources, labelled)
    _note_identical(sources, labelled, echo)
    majority, majority_source = majority_value(task_obj, labelled[0], baseline, local)
    run_seeds = resolve_seeds(seeds, sources)
    root = ensure_writable(resolve_results_dir(results_dir))
    config = {"task": task_obj.key, "model": model, "precision": precision or "unknown",
              "imported_from": tool or sources[0].tool, **(params or {})}
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]
    targets = [root / study / task_obj.key / model_slug(model) / f"seed={s.label}" for s in run_seeds]
    records = [_record(task_obj, config, digest, seed, frame, source, kind or kind_of(source.path),
                       description, majority, majority_source, local, n_train)
               for source, frame, seed in zip(sources, labelled, run_seeds)]
    _refuse_trained(root / study)
    _refuse_other_definition(root, task_obj)
    keep = [_kept(target, record, force) for target, record in zip(targets, records)]  # all checked first
    _refuse_other_config(targets[0].parent, config, digest, targets if force else [])
    for target, record, frame, kept in zip(targets, records, labelled, keep):
        if kept:
            echo(f"unchanged (already imported from the same files): {target}")
        else:
            _store(root, target, record, frame, force, echo)
    return targets


RESERVED_PARAMS = ("task", "model", "precision", "imported_from")  # set by import_runs' own options


def _refuse_options(params: dict | None, n_train: int | None) -> None:
    """Options that cannot describe a run: a --param naming a field the import sets, --n-train < 1."""
    taken = sorted(set(params or {}) & set(RESERVED_PARAMS))
    if taken:
        raise ImportRefused(f"--param {taken[0]}=...: {taken[0]} is set by its own option "
                            f"(--{taken[0].replace('_', '-').replace('imported-from', 'tool')}); "
                            "params describe the training (learning_rate=2e-5, epochs=3)")
    if n_train is not None and n_train < 1:
        raise ImportRefused(f"--n-train {n_train}: expected the number of training examples (>= 1)")


def refuse_same_files(sources: Sequence[Source], force: bool = False) -> None:
    """Two runs are two files: refuse a file given twice, and (unless ``force``) two runs whose
    files hold the same bytes: a copy, not a second seed (a harness run's results file, which
    records its seed, counts among its files)."""
    seen: dict[tuple[str, ...], Path] = {}
    for source in sources:
        same = [s.path for s in sources if s is not source and s.path.resolve() == source.path.resolve()]
        if same:
            raise ImportRefused(f"{source.path}: given twice; each seed's run is a file of its own")
        digest = tuple(integrity.file_sha256(f) for f in source.files)
        if digest in seen and not force:
            raise ImportRefused(f"{source.path}: the same bytes as {seen[digest]}, a copy rather than another "
                                "seed's run (--force imports it anyway)")
        seen.setdefault(digest, source.path)


def _note_identical(sources: Sequence[Source], frames: Sequence[pd.DataFrame], echo: Callable[[str], None]) -> None:
    """Say so when two runs predict exactly alike (possible: a deterministic evaluation ignores its seed)."""
    for i, j in ((i, j) for i in range(len(frames)) for j in range(i + 1, len(frames))):
        if frames[i].equals(frames[j]):
            echo(f"note: {sources[i].path.name} and {sources[j].path.name} predict exactly alike "
                 "(every prediction and probability); if they are one run saved twice, drop one")


def resolve_task(name: str | None, split: str | None, sources: Sequence[Source],
                 echo: Callable[[str], None] = print) -> tuple[Task, str | None]:
    """The task the runs are of (registered, or imported from the data) and the split they predict."""
    named = name or sources[0].task
    if named is None:
        raise ImportRefused("no task: name it with --task (a registered task like glue-rte, or any name "
                            "for a classification task defined by the files' labels)")
    others = {s.task for s in sources if s.task} - {named} if not name else set()
    if others:
        raise ImportRefused(f"the files are of different harness tasks ({', '.join(sorted(others | {named}))}); "
                            "import each task on its own")
    key, harness_split = HARNESS_TASKS.get(named, (named, None)) if not name else (named, None)
    try:
        task = get_task(key)
    except ValueError:
        same_name = sorted(t.key for t in TASKS.values() if t.name == key.lower())
        if same_name:
            raise ImportRefused(f"task {key!r} is ambiguous: say {' or '.join(same_name)}") from None
        task = imported_task(key, _classes(sources))
        close = difflib.get_close_matches(key.lower(), [*TASKS, *ALIASES], n=1)
        echo(f"task {key!r} is not a registered task{f' (did you mean {close[0]}?)' if close else ''}: "
             f"imported as classification task {task.key!r} with labels {list(task.label_names)}")
    if task.ranks_entities:
        raise ImportRefused(f"{task.key}: ReCoRD's predictions are per candidate entity; importing them "
                            "is not supported")
    return task, split or harness_split


def _classes(sources: Sequence[Source]) -> tuple[str, ...]:
    """The classes of an imported task: every label, prediction and probability column seen (``1``
    and ``1.0`` the same class), in numeric order when all are numbers, else in text order."""
    seen = set()
    for s in sources:
        for column in ("label", "pred"):
            if column in s.frame:
                values = s.frame[column].dropna()
                fractional = [v for v in values if _fraction(v)]
                if fractional:
                    raise ImportRefused(f"{s.path}: {column} {fractional[0]!r} is a score, not a class; an "
                                        "imported task is classification (a regression task must be a "
                                        "registered one, e.g. --task glue-stsb)")
                seen |= {class_text(v) for v in values}
        seen |= {class_text(c[len(PROB):]) for c in s.frame if c.startswith(PROB)}
    numeric = all(re.fullmatch(r"-?\d+", v) for v in seen)
    return tuple(sorted(seen, key=int) if numeric else sorted(seen))


def _fraction(value) -> bool:
    """True for a number that is not a whole one (0.73, not 1 or 1.0 or 'pos')."""
    try:
        number = float(str(value).strip())
    except ValueError:
        return False
    return np.isfinite(number) and not number.is_integer()


def class_text(value) -> str:
    """A class as text, whole numbers without a decimal point (``1.0`` -> ``1``): files that save
    class ids as floats (NumPy, JSON) name the same classes as files that save them as integers."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def reference_frames(task: Task, local: Path | None) -> dict[str, pd.DataFrame]:
    """The task's evaluation splits as our data gives them, where they can be read here (else {})."""
    if not task.has_source or local is None:
        return {}
    frames = {}
    for split in task.eval_splits:
        try:
            frames[split] = data.load_split(task, split, local)
        except (FileNotFoundError, ValueError, RuntimeError, OSError):
            continue
    return frames


def canonical(source: Source, task: Task, split: str | None, reference: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A run's predictions as the store keeps them: split, idx, [group], label, pred, prob_0..K-1."""
    frame = source.frame.copy()
    where = source.path
    frame["split"] = _splits(where, frame, task, split)
    if "id" not in frame:
        frame = _ids_from_order(where, frame, reference)
    frame["idx"] = _ids(where, frame["id"])
    dupes = frame.duplicated(["split", "idx"], keep=False)
    if dupes.any():
        rows = np.flatnonzero(dupes.to_numpy())[:2] + 1
        raise ImportRefused(f"{where}: id {_plain(frame['idx'].iloc[rows[0] - 1])!r} appears more than once "
                            f"(rows {rows[0]} and {rows[1]}); expected one prediction per example")
    regression = task.problem_type == "regression"
    frame["pred"] = _values(where, frame["pred"], task, "prediction", regression)
    if "label" in frame and frame["label"].notna().any():
        frame["label"] = _values(where, frame["label"], task, "label", regression)
    frame = _fill_from_reference(where, frame, task, reference)
    probs = _probabilities(where, frame, task)
    keep = ["split", "idx", *(["group"] if task.grouped_by else []), "label", "pred"]
    out = pd.concat([frame[keep].reset_index(drop=True), probs], axis=1)
    return out.sort_values(["split", "idx"], kind="stable").reset_index(drop=True)


def _splits(where: Path, frame: pd.DataFrame, task: Task, split: str | None) -> pd.Series:
    """Each row's evaluation split: the file's split column, the --split option, or the only one."""
    if "split" in frame and frame["split"].isna().any() and frame["split"].notna().any():
        row = int(np.flatnonzero(frame["split"].isna().to_numpy())[0]) + 1
        raise ImportRefused(f"{where} row {row}: no split (the split column names other rows' splits)")
    if "split" in frame and frame["split"].notna().all():
        unknown = sorted(set(frame["split"].astype(str)) - set(task.eval_splits))
        if unknown:
            raise ImportRefused(f"{where}: split {unknown[0]!r} is not an evaluation split of {task.key} "
                                f"(expected {', '.join(task.eval_splits)})")
        return frame["split"].astype(str)
    if split is None and len(task.eval_splits) > 1:
        raise ImportRefused(f"{where}: {task.key} has evaluation splits {', '.join(task.eval_splits)}; "
                            "add a split column or name one with --split")
    chosen = split or next(iter(task.eval_splits))
    if chosen not in task.eval_splits:
        raise ImportRefused(f"--split {chosen!r} is not an evaluation split of {task.key} "
                            f"(expected {', '.join(task.eval_splits)})")
    return pd.Series(chosen, index=frame.index)


def _ids_from_order(where: Path, frame: pd.DataFrame, reference: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows without ids are the evaluation split's examples in order: take the split's own ids."""
    split = frame["split"].iloc[0]
    if split not in reference:
        raise ImportRefused(f"{where}: no example ids, and the evaluation split cannot be read here to "
                            "number the rows; save ids in the .npz as 'ids' or pass --ids FILE")
    if len(reference[split]) != len(frame):
        raise ImportRefused(f"{where}: {len(frame)} rows without ids, but {split} has "
                            f"{len(reference[split])} examples; pass the ids with --ids FILE")
    return frame.assign(id=reference[split]["idx"].to_numpy())


def _ids(where: Path, ids: pd.Series) -> pd.Series:
    """Example ids as integers when every one is an integer, else as text; none may be missing."""
    if ids.isna().any():
        raise ImportRefused(f"{where} row {int(np.flatnonzero(ids.isna().to_numpy())[0]) + 1}: no example id")
    numbers = pd.to_numeric(ids, errors="coerce")
    if numbers.notna().all() and (numbers == numbers.round()).all():
        return numbers.astype("int64")
    return ids.astype(str)


def _values(where: Path, values: pd.Series, task: Task, what: str, regression: bool) -> pd.Series:
    """Labels or predictions as the store keeps them: class ids (from names or ids), or scores."""
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
        raise ImportRefused(f"{where} row {row}: no {what}")
    if regression:
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.isna().any():
            row = int(np.flatnonzero(numbers.isna().to_numpy())[0]) + 1
            raise ImportRefused(f"{where} row {row}: {what} {values.iloc[row - 1]!r} is not a number "
                                f"({task.key} is a regression task)")
        return numbers.astype(float)
    ids = [class_id(v, task.label_names) for v in values]
    bad = [i for i, c in enumerate(ids) if c is None]
    if bad:
        raise ImportRefused(f"{where} row {bad[0] + 1}: {what} {values.iloc[bad[0]]!r} is not a label of "
                            f"{task.key} (labels: {', '.join(task.label_names)}, or their ids 0-"
                            f"{len(task.label_names) - 1})")
    return pd.Series(ids, index=values.index, dtype="int64")


def _plain(value):
    """A NumPy scalar as the Python value it holds (for messages: 5, not np.int64(5))."""
    return value.item() if isinstance(value, np.generic) else value


def class_id(value, names: Sequence[str]) -> int | None:
    """A class given by name (``entailment``, ``True``) or by id (``1``, ``1.0``) as its id; None if neither."""
    text = str(value).strip()
    for spelling in (text, class_text(text)):
        if spelling in names:
            return list(names).index(spelling)
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() and 0 <= number < len(names) else None


def _fill_from_reference(where: Path, frame: pd.DataFrame, task: Task,
                         reference: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Check labels and groups against the task's own data where it is readable and take the data's
    values (filling in those the file lacks); refuse where neither has them."""
    has_label = "label" in frame and frame["label"].notna().all()
    has_group = "group" in frame and frame["group"].notna().all()
    regression = task.problem_type == "regression"
    for split, part in frame.groupby("split", sort=False):
        ours = reference.get(split)
        if ours is None:
            continue
        ours = ours.set_index("idx")
        missing = sorted(set(part["idx"]) - set(ours.index), key=str)
        if missing:
            raise ImportRefused(f"{where}: id {_plain(missing[0])!r} is not an example of {task.key} {split} "
                                f"({len(missing)} such ids); are these ids the split's idx?")
        columns = [("label", has_label)] + ([("group", has_group)] if task.grouped_by else [])
        for column, given in columns:
            theirs = ours.loc[part["idx"], column].to_numpy()
            if given:
                mine = (_ids(where, part[column]) if column == "group" else part[column]).to_numpy()
                differ = ~_same(mine, theirs, regression and column == "label")
                if differ.any():
                    i = int(np.flatnonzero(differ)[0])
                    raise ImportRefused(f"{where}: id {_plain(part['idx'].iloc[i])!r} has {column} "
                                        f"{_plain(mine[i])!r} but {task.key} {split} says {_plain(theirs[i])!r}; "
                                        "are these ids the split's idx?")
            frame.loc[part.index, column] = theirs  # the data's own values (float32 labels made exact)
    if "label" not in frame or frame["label"].isna().any():
        raise ImportRefused(f"{where}: no gold labels (a label column), and {task.key}'s evaluation data "
                            "cannot be read here to supply them")
    if task.grouped_by and ("group" not in frame or frame["group"].isna().any()):
        raise ImportRefused(f"{where}: {task.key} is scored per {task.grouped_by}: add a group column "
                            "(the question id of each answer option)")
    if task.problem_type != "regression":
        frame["label"] = frame["label"].astype("int64")
    if task.grouped_by:
        frame["group"] = _ids(where, frame["group"])
    return frame


def _same(a: np.ndarray, b: np.ndarray, scores: bool) -> np.ndarray:
    """Where two columns agree: exactly, or for regression scores to float32 precision (files
    saved by ``Trainer.predict`` hold STS-B's labels as float32)."""
    if scores:
        return np.isclose(a.astype(float), b.astype(float), rtol=1e-6, atol=1e-6)
    return a == b


def _probabilities(where: Path, frame: pd.DataFrame, task: Task) -> pd.DataFrame:
    """The class probabilities as prob_0..K-1 (empty when the file has none): every class given,
    none missing, each row summing to one within PROB_TOLERANCE."""
    given = [c for c in frame if c.startswith(PROB)]
    if not given:
        return pd.DataFrame(index=range(len(frame)))
    if task.problem_type == "regression":
        raise ImportRefused(f"{where}: class probabilities for {task.key}, a regression task")
    by_class = {}
    for column in given:
        k = class_id(column[len(PROB):], task.label_names)
        if k is None:
            raise ImportRefused(f"{where}: probability column for {column[len(PROB):]!r}, which is not a "
                                f"class of {task.key} (labels: {', '.join(task.label_names)})")
        by_class[k] = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    missing = sorted(set(range(task.num_labels)) - set(by_class))
    if missing:
        raise ImportRefused(f"{where}: no probability column for class {task.label_names[missing[0]]!r}; "
                            "expected one per class or none")
    probs = np.stack([by_class[k] for k in range(task.num_labels)], axis=1)
    bad = np.flatnonzero(~np.isfinite(probs).all(axis=1) | (probs < 0).any(axis=1)
                         | (np.abs(probs.sum(axis=1) - 1) > PROB_TOLERANCE))
    if len(bad):
        raise ImportRefused(f"{where} row {bad[0] + 1}: probabilities {np.round(probs[bad[0]], 4).tolist()} "
                            f"sum to {probs[bad[0]].sum():.4f}; expected non-negative numbers summing to "
                            f"1 (within {PROB_TOLERANCE})")
    return pd.DataFrame(probs, columns=[f"prob_{k}" for k in range(task.num_labels)])


def check_same_examples(sources: Sequence[Source], frames: Sequence[pd.DataFrame]) -> None:
    """Every run predicts the same examples, with the same gold labels and groups as the first."""
    first = frames[0].set_index(["split", "idx"])
    for source, frame in zip(sources[1:], frames[1:]):
        here = frame.set_index(["split", "idx"])
        missing, extra = first.index.difference(here.index), here.index.difference(first.index)
        if len(missing) or len(extra):
            shown = "; ".join(f"{n} {what} (e.g. id {_plain(ids[0][1])!r})"
                              for n, what, ids in ((len(missing), "missing", missing), (len(extra), "extra", extra))
                              if n)
            raise ImportRefused(f"{source.path}: predicts other examples than {sources[0].path}: {shown}; "
                                "every run must predict the same examples")
        here = here.loc[first.index]
        for column in ("label", "group"):
            if column in first:
                differ = ~_same(first[column].to_numpy(), here[column].to_numpy(),
                                column == "label" and first[column].dtype.kind == "f")
                if differ.any():
                    i = int(np.flatnonzero(differ)[0])
                    raise ImportRefused(f"{source.path}: id {_plain(first.index[i][1])!r} has {column} "
                                        f"{_plain(here[column].iloc[i])!r}, {sources[0].path} says "
                                        f"{_plain(first[column].iloc[i])!r}; the gold "
                                        f"{column}s must agree between runs")


def majority_value(task: Task, frame: pd.DataFrame, baseline: float | None,
                   local: Path | None) -> tuple[float, str]:
    """What the majority baseline predicts, and where that came from."""
    if baseline is not None:
        return float(baseline), "given (--baseline)"
    regression = task.problem_type == "regression"
    if task.has_source and local is not None and not task.host:
        try:
            labels = data.load_split(task, "train", local)["label"].to_numpy()
        except (FileNotFoundError, ValueError, RuntimeError, OSError):
            labels = None
        if labels is not None:
            value = float(labels.mean()) if regression else data.majority_label(labels)
            return value, "the task's full training split"
    labels = frame["label"].to_numpy()
    value = float(labels.mean()) if regression else data.majority_label(labels)
    return value, "the evaluation labels (no training split here)"


def resolve_seeds(seeds: Sequence | None, sources: Sequence[Source]) -> list[Seeds]:
    """One seed per file: as given, else the seed the harness varied, else the seed each file's name says."""
    if seeds is not None:
        if len(seeds) != len(sources):
            raise ImportRefused(f"--seeds gives {len(seeds)} seeds for {len(sources)} files; expected one per file")
        return parse_all(seeds)
    varied = [k for k in ("random_seed", "numpy_seed", "torch_seed", "fewshot_seed")
              if len({s.seeds.get(k) for s in sources}) == len(sources)]
    if varied:
        return parse_all([_harness_seed(s, varied[0]) for s in sources])
    found = [seed_in_name(s.path) for s in sources]
    if None in found or len(set(found)) < len(found):
        names = ", ".join(s.path.name for s in sources)
        raise ImportRefused(f"cannot tell the runs' seeds apart from their files ({names}); pass --seeds, one per file")
    return parse_all(found)


def _harness_seed(source: Source, key: str) -> int:
    """The harness run's recorded seed under ``key``, as a seed."""
    value = source.seeds[key]
    if not isinstance(value, int) or value < 0:
        raise ImportRefused(f"{source.path}: harness {key} {value!r} is not a non-negative integer; pass --seeds")
    return value


SEED_IN_NAME = re.compile(r"(?:^|[^a-z0-9])(?:random_)?seed[_=\-]?(\d+)(?![0-9])", re.IGNORECASE)


def seed_in_name(path: Path) -> int | None:
    """The seed a file's path spells out: ``seed3``, ``seed=3`` or ``seed_3`` in the file's name, else
    in its folder's; failing that, the only number in the name, else in the folder's (``run3.csv``,
    ``3/preds.csv``). None when nothing says, or several numbers leave it ambiguous
    (``preds_epoch10_step200.csv``). A harness samples file's name is its task and time, never a seed."""
    names = [path.parent.name] if HARNESS_FILE.match(path.name) else [path.stem, path.parent.name]
    for name in names:
        explicit = {int(n) for n in SEED_IN_NAME.findall(name)}
        if explicit:
            return explicit.pop() if len(explicit) == 1 else None
    for name in names:
        numbers = re.findall(r"\d+", name)
        if numbers:
            return int(numbers[0]) if len(numbers) == 1 else None
    return None


def _record(task: Task, config: dict, digest: str, seeds: Seeds, frame: pd.DataFrame, source: Source,
            kind: str, description: str, majority: float, majority_source: str, local: Path | None,
            n_train: int | None) -> dict:
    """The run.json of an imported run: its scores as for a trained run, and where it came from."""
    return {
        "task": task.key, "benchmark": task.benchmark, "model": config["model"], **seeds.record(),
        "config": config, "config_hash": digest, **outcome(task, frame, majority),
        **({"task_definition": definition(task)} if not task.has_source else {}),
        "data": {"source": "imported", "files_sha256": {},
                 "checked_against": None if local is None or not task.has_source else str(local)},
        "run": {"n_eval": len(frame), **({"n_train": n_train} if n_train else {}), "majority_train_value": majority,
                "majority_source": majority_source,
                "numerics": {"precision": config["precision"], "device": "unknown"}},
        "imported": {"tool": config["imported_from"], "format": kind, "description": description,
                     "files": [{"path": str(p.resolve()), "sha256": integrity.file_sha256(p)} for p in source.files],
                     "tool_seeds": source.seeds, "tool_record": source.meta,
                     "imported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
        "provenance": provenance(), "wall_seconds": None,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _refuse_trained(study_dir: Path) -> None:
    """Imported runs live in studies of their own: refuse a study that holds trained runs."""
    for done in sorted(study_dir.glob(f"*/*/seed=*/{integrity.COMPLETE_FILE}")):
        if "imported" not in json.loads((done.parent / RUN_FILE).read_text()):
            raise ImportRefused(f"study {study_dir.name!r} holds trained runs ({done.parent}); import into a "
                                "study of its own (another --study)")


def _refuse_other_definition(root: Path, task: Task) -> None:
    """One imported task name means one set of labels in a results folder: refuse a task whose
    earlier imports (any study) defined it otherwise, as reading both together would."""
    if task.has_source:
        return
    ours = definition(task)
    for path in sorted(root.glob(f"*/{task.key}/*/seed=*/{RUN_FILE}")):
        stored = json.loads(path.read_text()).get("task_definition")
        if stored and stored != ours:
            raise ImportRefused(f"imported task {task.key!r} already has runs with labels {stored['label_names']} "
                                f"({path.parent}); these have {ours['label_names']}: import them under another "
                                "--task name")


def _refuse_other_config(model_dir: Path, config: dict, digest: str, replaced: Sequence[Path]) -> None:
    """A study's runs of one task and model share one configuration (what its tables compare
    across seeds): refuse new seeds whose configuration differs from the runs already there."""
    for done in sorted(model_dir.glob(f"seed=*/{integrity.COMPLETE_FILE}")):
        if done.parent in replaced:
            continue
        stored = json.loads((done.parent / RUN_FILE).read_text())
        if stored["config_hash"] != digest:
            differ = sorted(k for k in {*stored["config"], *config} if stored["config"].get(k) != config.get(k))
            shown = ", ".join(f"{k} {stored['config'].get(k)!r} there, {config.get(k)!r} here" for k in differ)
            shown = shown or f"config {stored['config_hash']}"
            raise ImportRefused(f"{done.parent} was imported with another configuration ({shown}); the seeds "
                                "of one study share one configuration: import these into another --study")


def _kept(target: Path, record: dict, force: bool) -> bool:
    """True when ``target`` already holds this run (same configuration, same files); refuse another
    run in its place unless ``force``."""
    if not integrity.is_complete(target) or force:
        return False
    done = load_run(target).record
    files = [f["sha256"] for f in done.get("imported", {}).get("files", [])]
    if done["config_hash"] == record["config_hash"] and files == [f["sha256"] for f in record["imported"]["files"]]:
        return True
    raise ImportRefused(f"{target} holds another run (config {done['config_hash']}); use another --study "
                        "or --force to replace it")


def _store(root: Path, target: Path, record: dict, frame: pd.DataFrame, force: bool,
           echo: Callable[[str], None]) -> None:
    """Write one imported run atomically, under the run's lock (as a trained run is written)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with integrity.held(integrity.lock_path(root, target), f"run {target}", echo):
        integrity.clear_interrupted(target, echo)
        if integrity.is_complete(target) and not force:
            raise ImportRefused(f"{target} was written by someone else meanwhile; nothing of it was replaced")
        write_run(target, record, frame, integrity.full_config_sha256(record["config"], record["seed"], "imported"))
    echo(f"imported: {target}")
