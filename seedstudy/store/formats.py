"""Reading prediction files made elsewhere: one run per file, as a plain table of what it says.

Three kinds of file, each read into the same shape (``Source``: a frame with ``id``, ``pred`` and,
when the file has them, ``label``, ``group``, ``split`` and ``prob:<class>`` columns; classes and
labels still as the file spells them). Checking them against a task and against each other is
``store.imports``' job.

- a table per run: CSV, TSV, JSONL or parquet, columns named by the caller;
- lm-evaluation-harness ``--log_samples`` output (``samples_<task>_<time>.jsonl``, one harness run
  per seed), with the run's ``results_<time>.json`` beside it when present (seeds, model);
- ``transformers.Trainer.predict`` outputs saved with NumPy (``.npy``: the predictions array;
  ``.npz``: ``predictions`` with ``label_ids`` and ``ids`` when saved).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import softmax

PROB_TOLERANCE = 1e-3  # |sum of a row's class probabilities - 1| allowed (files round them; float16)
PROB = "prob:"  # column prefix of a class probability in a Source's frame (prob:<class>)
TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
HARNESS_FILE = re.compile(r"^samples_(?P<task>.+)_(?P<time>\d{4}-\d{2}-\d{2}T[\d\-.:]+)\.jsonl$")
HARNESS_SEEDS = ("random_seed", "numpy_seed", "torch_seed", "fewshot_seed")


class ImportRefused(ValueError):
    """Predictions that cannot be imported; the message is one line naming the file, row or option."""


@dataclass
class Columns:
    """Which columns of a table hold what (``group``/``split``/``label`` are used when present)."""

    id: str = "id"
    pred: str = "pred"
    label: str = "label"
    group: str = "group"
    split: str = "split"
    prob_prefix: str = "prob_"


@dataclass
class Source:
    """One run's predictions as its file gives them, with what the file says about itself."""

    path: Path
    frame: pd.DataFrame
    tool: str
    files: list[Path]
    task: str | None = None  # the producing tool's task name (the harness's), when it says
    seeds: dict = field(default_factory=dict)  # seeds the producing tool recorded
    meta: dict = field(default_factory=dict)  # model, versions, ... as the tool recorded them


def kind_of(path: Path) -> str:
    """``trainer`` for NumPy files, ``harness`` for harness samples files, else ``table``."""
    if path.suffix in (".npy", ".npz"):
        return "trainer"
    if path.suffix == ".jsonl" and HARNESS_FILE.match(path.name):
        return "harness"
    return "table"


def read(path: Path, kind: str, columns: Columns, *, ids: Path | None = None,
         harness_filter: str | None = None) -> Source:
    """Read one run's file of the given kind (``table``, ``harness`` or ``trainer``)."""
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    if kind == "table":
        return read_table(path, columns)
    if kind == "harness":
        return read_harness(path, harness_filter)
    if kind == "trainer":
        return read_trainer(path, ids)
    raise ImportRefused(f"unknown format {kind!r}: expected table, harness or trainer")


def read_table(path: Path, columns: Columns) -> Source:
    """A CSV/TSV/JSONL/parquet table: one row per example."""
    frame = _read_frame(path)
    for role in ("id", "pred"):
        name = getattr(columns, role)
        if name not in frame:
            raise ImportRefused(f"{path}: no {role} column {name!r} (columns: {', '.join(map(str, frame))}); "
                               f"name it with --{role}-column")
    wanted = {columns.id: "id", columns.pred: "pred"}
    wanted.update({getattr(columns, r): r for r in ("label", "group", "split") if getattr(columns, r) in frame})
    probs = {c: PROB + str(c)[len(columns.prob_prefix):] for c in frame
             if columns.prob_prefix and str(c).startswith(columns.prob_prefix)}
    out = frame[[*wanted, *probs]].rename(columns={**wanted, **probs})
    return Source(path, out.reset_index(drop=True), "table", [path])


def _read_frame(path: Path) -> pd.DataFrame:
    """The file as a frame, by its suffix; one line naming the file when it cannot be read."""
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ImportRefused(f"{path}: unknown table suffix {path.suffix!r}: expected one of "
                           f"{', '.join(TABLE_SUFFIXES)} (or .npy/.npz, harness samples_*.jsonl)")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        if kind == "jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",", keep_default_na=False,
                           na_values=[""])
    except Exception as err:  # any reader failure is the file's problem, named as such
        raise ImportRefused(f"{path}: cannot be read as {kind} ({type(err).__name__}: "
                           f"{str(err).splitlines()[0] if str(err) else 'no detail'})") from None


def read_harness(path: Path, harness_filter: str | None = None) -> Source:
    """lm-evaluation-harness samples of one task from one harness run.

    Multiple-choice samples (``filtered_resps`` = one ``[loglikelihood, is_greedy]`` per choice)
    predict the choice of highest log-likelihood, as the harness's ``acc`` does (first on ties),
    and their probabilities are the softmax of the log-likelihoods over the choices; generated
    answers (strings) are the prediction as text. The gold label is the sample's ``target`` (a
    choice index, or text). Ids: the document's own ``idx`` where it has one (MultiRC's
    ``idx.answer``, grouped by ``idx.question``), else the harness's ``doc_id``.
    """
    match = HARNESS_FILE.match(path.name)
    if not match:
        raise ImportRefused(f"{path}: not a harness samples file (expected samples_<task>_<time>.jsonl)")
    samples = _jsonl(path)
    filters = sorted({s.get("filter", "none") for s in samples})
    chosen = harness_filter or (filters[0] if len(filters) == 1 else None)
    if chosen is None or chosen not in filters:
        raise ImportRefused(f"{path}: samples under filters {filters}; choose one with --harness-filter")
    rows = [_harness_row(path, line, s) for line, s in enumerate(samples, 1) if s.get("filter", "none") == chosen]
    frame = pd.DataFrame(rows)
    frame = frame.drop(columns=[c for c in ("group",) if c in frame and frame[c].isna().all()])
    # Tasks whose documents have different numbers of choices (ARC: 3 to 5): a choice a document
    # does not have has probability 0.
    frame = frame.fillna({c: 0.0 for c in frame if c.startswith(PROB)})
    results = _harness_results(path, match["time"])
    config = results.get("config", {})
    meta = {k: results.get(k) for k in ("model_name", "lm_eval_version", "git_hash", "date") if k in results}
    meta.update({k: config[k] for k in ("model", "model_args", "batch_size", "device") if k in config})
    meta.update({"task": match["task"], "filter": chosen,
                 "n_shot": results.get("n-shot", {}).get(match["task"])})
    files = [path] + ([path.parent / f"results_{match['time']}.json"] if results else [])
    return Source(path, frame, "lm-evaluation-harness", files, task=match["task"],
                  seeds={k: config[k] for k in HARNESS_SEEDS if k in config}, meta=meta)


def _jsonl(path: Path) -> list[dict]:
    """The JSON objects of a JSON-lines file, naming the line that is not one."""
    out = []
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ImportRefused(f"{path}: cannot be read ({type(err).__name__})") from None
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ImportRefused(f"{path} line {number}: not JSON ({err.msg})") from None
            if not isinstance(out[-1], dict):
                raise ImportRefused(f"{path} line {number}: expected a JSON object (one sample)")
    if not out:
        raise ImportRefused(f"{path}: no samples")
    return out


def _harness_row(path: Path, line: int, sample: dict) -> dict:
    """id, group, label, pred and choice probabilities of one harness sample."""
    where = f"{path} line {line}"
    if "doc_id" not in sample or "filtered_resps" not in sample or "target" not in sample:
        raise ImportRefused(f"{where}: a harness sample needs doc_id, target and filtered_resps")
    doc_idx = (sample.get("doc") or {}).get("idx")
    if isinstance(doc_idx, dict):
        row = {"id": doc_idx.get("answer", sample["doc_id"]), "group": doc_idx.get("question")}
    else:
        own = isinstance(doc_idx, (int, str)) and not isinstance(doc_idx, bool)
        row = {"id": doc_idx if own else sample["doc_id"], "group": None}
    resps = sample["filtered_resps"]
    target = sample["target"]
    if resps and all(isinstance(r, (list, tuple)) for r in resps):  # one (loglik, greedy) per choice
        try:
            logliks = np.array([float(r[0]) for r in resps])
        except (TypeError, ValueError, IndexError):
            raise ImportRefused(f"{where}: filtered_resps is not a list of [loglikelihood, is_greedy]") from None
        row["pred"] = int(np.argmax(logliks))
        row.update({f"{PROB}{k}": p for k, p in enumerate(softmax(logliks))})
        row["label"] = _choice_index(where, target, _continuations(sample))
        if "acc" in sample and float(sample["acc"]) != float(row["pred"] == row["label"]):
            raise ImportRefused(f"{where}: the highest log-likelihood choice ({row['pred']}) against "
                               f"target {target!r} disagrees with the sample's acc={sample['acc']}")
    else:  # a generated answer: the text is the prediction
        answer = resps[0] if isinstance(resps, list) and resps else resps
        row["pred"] = str(answer).strip()
        row["label"] = str(target).strip()
    return row


def _continuations(sample: dict) -> list[str]:
    """The answer choices' texts from a sample's arguments (list or gen_args form), or []."""
    arguments = sample.get("arguments")
    if isinstance(arguments, dict):
        arguments = [[a.get(f"arg_{i}") for i in range(len(a))] for a in arguments.values()]
    if not isinstance(arguments, list):
        return []
    return [str(a[1]).strip() for a in arguments if isinstance(a, (list, tuple)) and len(a) > 1]


def _choice_index(where: str, target, choices: list[str]) -> int:
    """A multiple-choice target as a choice index: the index itself, or the choice with that text."""
    if isinstance(target, list) and len(target) == 1:
        target = target[0]
    if isinstance(target, bool):
        target = int(target)
    if isinstance(target, int) or (isinstance(target, str) and target.strip().isdigit()):
        return int(target)
    if isinstance(target, str) and target.strip() in choices:
        return choices.index(target.strip())
    raise ImportRefused(f"{where}: target {target!r} is neither a choice index nor one of the choices")


def _harness_results(samples: Path, time: str) -> dict:
    """The harness run's results JSON written with the samples (same time stamp), or {}."""
    path = samples.parent / f"results_{time}.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ImportRefused(f"{path}: unreadable harness results ({type(err).__name__})") from None


def read_trainer(path: Path, ids: Path | None = None) -> Source:
    """Outputs of ``Trainer.predict`` saved with NumPy: logits or probabilities (N, K), or scores (N,).

    Classification: the prediction is the class of highest logit; probabilities are their softmax
    (rows that are already probabilities are kept as they are). Regression: the scores. Ids come
    from ``ids``/``idx`` in an ``.npz``, else from the ``ids`` file; without either, rows are the
    evaluation split's examples in order (resolved against the task's data when imported).
    """
    arrays = _numpy(path)
    preds = arrays.get("predictions")
    if preds is None:
        raise ImportRefused(f"{path}: no predictions array (an .npz needs a 'predictions' entry)")
    preds = np.asarray(preds)
    if preds.ndim == 2 and preds.shape[1] == 1:
        preds = preds[:, 0]
    if preds.ndim == 1:
        frame = pd.DataFrame({"pred": preds.astype(float)})
    elif preds.ndim == 2:
        probs = preds if _are_probabilities(preds) else softmax(preds.astype(float), axis=1)
        frame = pd.DataFrame({"pred": preds.argmax(axis=1),
                              **{f"{PROB}{k}": probs[:, k] for k in range(preds.shape[1])}})
    else:
        raise ImportRefused(f"{path}: predictions of shape {preds.shape}: expected (N,) scores or (N, K) logits")
    if "label_ids" in arrays:
        labels = np.asarray(arrays["label_ids"])
        if len(labels) != len(frame):
            raise ImportRefused(f"{path}: {len(labels)} label_ids for {len(frame)} predictions")
        frame.insert(0, "label", labels)
    id_values = arrays.get("ids", arrays.get("idx"))
    files = [path]
    if id_values is None and ids is not None:
        id_values, files = read_ids(ids), [path, ids]
    if id_values is not None:
        if len(id_values) != len(frame):
            raise ImportRefused(f"{files[-1]}: {len(id_values)} ids for {len(frame)} predictions")
        frame.insert(0, "id", np.asarray(id_values))
    return Source(path, frame, "transformers.Trainer.predict", files)


def _numpy(path: Path) -> dict[str, np.ndarray]:
    """An .npy file as {"predictions": array}, an .npz file as its arrays (no pickles either way)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ImportRefused(f"{path}: cannot be read as NumPy ({type(err).__name__}: {err})") from None
    if isinstance(loaded, np.ndarray):
        return {"predictions": loaded}
    with loaded:
        return {k: loaded[k] for k in loaded.files}


def _are_probabilities(values: np.ndarray) -> bool:
    """Rows of non-negative numbers summing to one (within PROB_TOLERANCE, the tolerance the import
    checks probabilities by): already probabilities, not logits (float16 softmax outputs included)."""
    sums = values.astype(float).sum(axis=1)
    return bool(np.all(values >= 0) and np.all(np.abs(sums - 1.0) <= PROB_TOLERANCE))


def read_ids(path: Path) -> np.ndarray:
    """Example ids, one per prediction row: an .npy array, or a text file with one id per line."""
    if not path.is_file():
        raise ImportRefused(f"{path}: no such ids file")
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    values = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return np.array([int(v) for v in values]) if all(v.lstrip("-").isdigit() for v in values) \
        else np.array(values, dtype=object)
