"""Load a task's split as one canonical table, from a local copy or from the Hugging Face hub.

Every split comes back as a ``pandas.DataFrame`` with an ``idx`` column (a stable example id:
the row number for GLUE tsv files, the file's own ``idx`` otherwise, exactly as the hub numbers
them), the task's text fields, and ``label`` (class id, or float score for regression). Seeds
therefore line up example by example through ``idx`` whichever source was used.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .tasks import CHOICE, LocalSplit, Task, get_task

DATA_DIR_ENV = "SEEDSTUDY_DATA_DIR"
_TRUE = {"1", "true", "yes", "on"}


class DataError(ValueError):
    """Bad or missing input data; the message names the file, row and what was expected."""


class MissingSplitError(DataError, FileNotFoundError):
    """A split's file is not in the local data directory."""


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The local data directory to use: the argument, else ``$SEEDSTUDY_DATA_DIR``, else None (hub)."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or None
    if chosen is None:
        return None
    path = Path(chosen).expanduser().resolve()
    if not path.is_dir():
        raise DataError(f"data directory {path} does not exist (from "
                        f"{'--data-dir' if data_dir else '$' + DATA_DIR_ENV}); expected a folder "
                        "holding glue/<TASK>/*.tsv and superglue/<TASK>/*.jsonl")
    return path


def require_source(data_dir: str | os.PathLike | None = None) -> Path | None:
    """Resolve the data source before any work starts: a local folder, or the hub if it is allowed."""
    root = resolve_data_dir(data_dir)
    if root is None and hub_offline():
        raise DataError(f"no data source: neither --data-dir nor {DATA_DIR_ENV} is set and the hub "
                        f"is offline (HF_HUB_OFFLINE); set {DATA_DIR_ENV} to a folder with glue/ "
                        "and superglue/")
    return root


def hub_offline() -> bool:
    """True when the environment forbids hub access (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE)."""
    return any(os.environ.get(v, "").lower() in _TRUE for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def load_split(task: Task, split: str, data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load ``split`` ("train" or "validation") of ``task`` as a canonical table."""
    root = resolve_data_dir(data_dir)
    if root is not None:
        return _load_local(task, split, root)
    return _load_hub(task, split)


def local_path(task: Task, split: str, root: Path) -> Path:
    """Where a split lives in a local data directory."""
    if split not in task.local:
        raise DataError(f"task {task.key} has no local layout for split {split!r}; "
                        f"expected one of {sorted(task.local)}")
    return root / task.local[split].path


def run_files(task: Task, root: Path) -> list[Path]:
    """The local files one run of the task needs: its training split and every evaluation split."""
    return [local_path(task, split, root) for split in task.splits]


def diagnostic_files(task: Task, root: Path) -> list[Path]:
    """Local files of the task's diagnostic sets that are present (optional: used when there)."""
    paths = [local_path(d, s, root) for d in map(get_task, task.diagnostics) for s in d.eval_splits]
    return [p for p in paths if p.is_file()]


def load_diagnostics(task: Task, data_dir: str | os.PathLike | None = None
                     ) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The task's diagnostic sets that can be loaded, keyed by their task key, and why others cannot.

    Diagnostics are optional extras of a run (AX-b after SuperGLUE RTE): a missing or unlabelled
    file is a recorded reason, never a failed run.
    """
    frames, unavailable = {}, {}
    for diagnostic in map(get_task, task.diagnostics):
        split = next(iter(diagnostic.eval_splits))
        try:
            frames[diagnostic.key] = load_split(diagnostic, split, data_dir)
        except DataError as err:
            unavailable[diagnostic.key] = str(err)
    return frames, unavailable


def missing_local_splits(task: Task, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Local files a run of the task needs that are absent; [] for the hub."""
    root = resolve_data_dir(data_dir)
    if root is None:
        return []
    return [p for p in run_files(task, root) if not p.is_file()]


def _load_local(task: Task, split: str, root: Path) -> pd.DataFrame:
    """Read one split from its original file layout and canonicalise it."""
    path = local_path(task, split, root)
    if not path.is_file():
        raise MissingSplitError(f"{task.key}: {split} split not found: {path} (expected the "
                                f"original {path.suffix.lstrip('.')} file under {DATA_DIR_ENV}={root})")
    spec = task.local[split]
    reader = {".tsv": _read_tsv, ".jsonl": _read_jsonl, ".parquet": _read_parquet}[path.suffix]
    raw, lines = reader(path, spec)
    wanted = [*spec.columns, *([spec.idx_column] if spec.idx_column else [])]
    missing = [c for c in wanted if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; expected {wanted}")
    frame = raw[list(spec.columns)].rename(columns=spec.columns)
    frame.insert(0, "idx", raw[spec.idx_column].to_numpy() if spec.idx_column else np.arange(len(raw)))
    if spec.strip_title:
        frame[spec.strip_title] = frame[spec.strip_title].str.split(" -- ", n=1).str[-1]
    if task.ranks_entities:
        frame, lines = _entity_rows(frame, lines)
    if spec.label_ids:
        frame["label"] = _names_of_ids(task, frame["label"])
    return _canonical(task, frame, source=str(path), lines=lines)


def _names_of_ids(task: Task, ids: pd.Series) -> list:
    """Class ids (hub exports) to label names; out-of-range ids stay as they are and fail the label check."""
    names = list(task.label_names or ())
    return [names[i] if isinstance(i, (int, np.integer)) and 0 <= i < len(names) else i for i in ids]


def _read_tsv(path: Path, spec: LocalSplit) -> tuple[pd.DataFrame, np.ndarray]:
    """Split a GLUE tsv on tabs with no quoting.

    Written by hand rather than with ``pandas.read_csv`` because GLUE text holds bare quotes
    (pandas must not interpret them) and pandas silently pads short rows with NaN, where a
    malformed row must be an error that names its line.
    """
    text = path.read_text(encoding="utf-8-sig")  # MRPC starts with a byte-order mark
    rows = text.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    first = 1 if spec.header else 0
    names = rows[0].split("\t") if spec.header else None
    width = len(names) if names else len(rows[0].split("\t"))
    records = []
    for n, row in enumerate(rows[first:], start=first + 1):
        cells = row.split("\t")
        if len(cells) != width:
            raise DataError(f"{path}:{n}: malformed row: expected {width} tab-separated fields, "
                            f"found {len(cells)}")
        records.append(cells)
    columns = names if names else [str(i) for i in range(width)]
    return pd.DataFrame(records, columns=columns), np.arange(first + 1, first + 1 + len(records))


def _read_jsonl(path: Path, spec: LocalSplit) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a SuperGLUE jsonl file, one JSON object per line."""
    records, numbers = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{n}: malformed row: not valid JSON ({err.msg})") from None
        numbers.append(n)
    if spec.record_path:  # nested rows (MultiRC answers): error rows name the line of their record
        owner = [n for n, r in zip(numbers, records) for _ in _nested(r, spec.record_path)]
        frame = pd.json_normalize(records, record_path=list(spec.record_path),
                                  meta=[list(m) for m in spec.meta],
                                  record_prefix=spec.record_path[-1].rstrip("s") + ".")
        return frame, np.asarray(owner)
    return pd.json_normalize(records), np.asarray(numbers)


def _nested(record: dict, path: tuple[str, ...]) -> list:
    """The items at the end of ``path`` in one record (lists along the way are walked)."""
    items = [record]
    for key in path:
        items = [x for item in items for x in (item[key] if isinstance(item[key], list) else [item[key]])]
    return items


def _read_parquet(path: Path, spec: LocalSplit) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a parquet export; rows are numbered from 1 in error messages."""
    frame = pd.read_parquet(path)
    return frame, np.arange(1, len(frame) + 1)


def _load_hub(task: Task, split: str) -> pd.DataFrame:
    """Load a split through ``datasets.load_dataset`` (network needed)."""
    if hub_offline():
        raise DataError(f"{task.key}: no local data and the hub is offline (HF_HUB_OFFLINE); "
                        f"set {DATA_DIR_ENV} or --data-dir to a folder with glue/ and superglue/")
    import datasets

    try:
        ds = datasets.load_dataset(task.hub_path, task.hub_config, split=split)
    except (ConnectionError, OSError) as err:
        raise DataError(f"{task.key}: could not load {task.hub_path}/{task.hub_config} [{split}] "
                        f"from the hub ({type(err).__name__}); set {DATA_DIR_ENV} or --data-dir "
                        "to a local copy") from None
    frame = pd.json_normalize(ds.to_list())  # nested ids (MultiRC idx.question) become columns
    derived = {"group"} if task.group_from_idx else set()
    columns = task.hub_columns or {c: c for c in task.columns if c not in derived}
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{task.hub_path}/{task.hub_config} [{split}]: missing column(s) {missing}")
    frame = frame[list(columns)].rename(columns=columns)
    lines = np.arange(1, len(frame) + 1)
    if derived:  # AX-g: the hub drops pair_id; minimal pairs are consecutive ids
        frame["group"] = frame["idx"].astype("int64") // task.group_from_idx
    if task.ranks_entities:
        frame, lines = _entity_rows(frame, lines)
    if task.label_names is not None:
        frame["label"] = _names_of_ids(task, frame["label"])
    return _canonical(task, frame, source=f"hub:{task.hub_path}/{task.hub_config}[{split}]",
                      lines=lines)


def _entity_rows(frame: pd.DataFrame, lines: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """ReCoRD: one row per (query, distinct candidate entity), the query's @placeholder filled in.

    Entities and answers come as strings (hub) or as character spans of the passage with
    inclusive ends (SuperGLUE jsonl); both become strings here. ``label`` is 1 when the candidate
    equals a gold answer. Passage ``@highlight`` markers become line breaks. Ids number the
    candidate rows in file order (stable across loads); ``group`` is the query's id.
    """
    rows, owners = [], []
    for record, line in zip(frame.to_dict("records"), lines):
        text = record["passage"]
        entities = sorted({_span_text(text, e) for e in record["entities"]})
        answers = sorted({_span_text(text, a) for a in record["answers"]})
        passage = text.replace("@highlight\n", "\n")
        for entity in entities:
            rows.append({"group": record["group"], "passage": passage,
                         "query": record["query"].replace("@placeholder", entity),
                         "candidate": entity, "answers": answers, "label": int(entity in answers)})
            owners.append(line)
    out = pd.DataFrame(rows, columns=["group", "passage", "query", "candidate", "answers", "label"])
    out.insert(0, "idx", np.arange(len(out)))
    return out, np.asarray(owners, dtype="int64")


def _span_text(text: str, item) -> str:
    """An entity or answer as a string: itself, its ``text``, or the passage span start..end (inclusive)."""
    if isinstance(item, str):
        return item
    if "text" in item:
        return item["text"]
    return text[item["start"]:item["end"] + 1]


def _canonical(task: Task, frame: pd.DataFrame, *, source: str, lines: np.ndarray) -> pd.DataFrame:
    """Check every field and label, turn labels into class ids (or floats), fix dtypes."""
    for f in task.fields:
        bad = frame[f].isna()
        if f not in task.may_be_empty:
            bad |= frame[f].astype(str).str.strip() == ""
        if bad.any():
            row = int(lines[np.flatnonzero(bad.to_numpy())[0]])
            raise DataError(f"{source}: row {row}: empty text field {f!r}")
        frame[f] = frame[f].astype(str)
    frame["label"] = _labels(task, frame["label"].to_numpy(), source, lines)
    frame["idx"] = frame["idx"].astype("int64")
    dup = np.flatnonzero(frame["idx"].duplicated().to_numpy())
    if dup.size:
        raise DataError(f"{source}: row {int(lines[dup[0]])}: duplicated example id "
                        f"idx={frame['idx'].iloc[dup[0]]}")
    if task.grouped_by:
        frame["group"] = frame["group"].astype("int64")
    frame = frame[task.columns].reset_index(drop=True)
    frame.attrs["source"] = source
    return frame


def _labels(task: Task, raw: np.ndarray, source: str, lines: np.ndarray) -> np.ndarray:
    """Map raw labels to class ids (or float scores); the first bad one is an error naming its row."""
    if task.label_names is None:
        values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype="float64")
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{source}: row {int(lines[i])}: label {raw[i]!r} is not a number "
                            f"(task {task.key} is a regression task)")
        return values
    if len(raw) and all(str(v) == "-1" for v in raw):
        raise DataError(f"{source}: unlabelled split (every label is -1, as in the hub's test "
                        f"splits); {task.key} needs a labelled copy under {DATA_DIR_ENV}")
    lookup = {name: i for i, name in enumerate(task.label_names)}
    ids = np.empty(len(raw), dtype="int64")
    for i, value in enumerate(raw):
        key = str(value)
        if key not in lookup:
            raise DataError(f"{source}: row {int(lines[i])}: label {value!r} is not in "
                            f"{task.key}'s label set {list(task.label_names)}")
        ids[i] = lookup[key]
    return ids


def subsample(frame: pd.DataFrame, max_examples: int | None, data_seed: int) -> pd.DataFrame:
    """At most ``max_examples`` examples, drawn with ``data_seed`` alone (identical for every training seed).

    Grouped tasks (MultiRC) are drawn by whole groups: ``max_examples`` counts questions.
    """
    if max_examples is not None and max_examples < 1:
        raise ValueError(f"subset size must be a positive integer or None, got {max_examples}")
    units = frame["group"].unique() if "group" in frame else np.arange(len(frame))
    if max_examples is None or max_examples >= len(units):
        return frame
    chosen = np.random.default_rng(data_seed).choice(len(units), size=max_examples, replace=False)
    keep = frame["group"].isin(units[chosen]) if "group" in frame else np.isin(units, chosen)
    out = frame[np.asarray(keep)].reset_index(drop=True)
    out.attrs = frame.attrs
    return out


def render_inputs(task: Task, frame: pd.DataFrame) -> tuple[list[str], list[str] | None]:
    """The model's input texts (first segment, optional second) from the task's template.

    Multiple choice: one pair per (example, choice), example-major, ``{choice}`` filled in turn.
    """
    records = frame[list(task.fields)].to_dict("records")
    if task.choice_fields:
        records = [{**r, CHOICE: r[c]} for r in records for c in task.choice_fields]
    segments = [[t.format(**r) for r in records] for t in task.text_template]
    return segments[0], (segments[1] if len(segments) > 1 else None)


def majority_label(train_labels: np.ndarray) -> int:
    """The most frequent training class (ties go to the lowest id), for the majority baseline."""
    return int(np.bincount(np.asarray(train_labels, dtype="int64")).argmax())
