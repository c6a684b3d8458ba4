"""The task registry: what each GLUE/SuperGLUE task is, where its data lives, how it is scored.

A task is pure data. Loading (``seedstudy.data``), training (``seedstudy.train``) and scoring
(``seedstudy.metrics``) read these fields and never branch on a task's name, so adding a task is
adding one entry here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ProblemType = Literal["classification", "regression"]


@dataclass(frozen=True)
class LocalSplit:
    """One split in its original on-disk layout, relative to the data directory.

    ``columns`` maps the file's column names to the task's canonical field names; ``header`` is
    False for headerless tsv files (then ``columns`` keys are column positions as strings);
    ``strip_title`` removes a ``"<title> -- "`` prefix from the named field.
    """

    path: str
    columns: dict[str, str]
    header: bool = True
    idx_column: str | None = None
    strip_title: str | None = None


@dataclass(frozen=True)
class Task:
    """A GLUE or SuperGLUE task: data sources, input template, labels and official metrics."""

    name: str
    benchmark: Literal["glue", "superglue"]
    hub_path: str
    hub_config: str
    text_template: tuple[str, ...]
    problem_type: ProblemType
    label_names: tuple[str, ...] | None
    metrics: tuple[str, ...]
    lead_metric: str
    local: dict[str, LocalSplit] = field(default_factory=dict)
    eval_split: str = "validation"
    consistency_tolerance: float | None = None

    @property
    def num_labels(self) -> int:
        """Output size of the classification head (1 for regression)."""
        return 1 if self.label_names is None else len(self.label_names)

    @property
    def fields(self) -> tuple[str, ...]:
        """Canonical field names the input template reads."""
        import string

        names = [f for t in self.text_template for _, f, _, _ in string.Formatter().parse(t) if f]
        return tuple(dict.fromkeys(names))

    @property
    def key(self) -> str:
        """Unique, filesystem-safe name, e.g. ``glue-rte`` / ``superglue-rte``."""
        return f"{self.benchmark}-{self.name}"


def _tsv(path: str, columns: dict[str, str], *, header: bool = True) -> LocalSplit:
    """A GLUE tsv split; ids are row numbers, as in the hub's ``idx``."""
    return LocalSplit(path=path, columns=columns, header=header)


def _jsonl(path: str, columns: dict[str, str], **kw: str) -> LocalSplit:
    """A SuperGLUE jsonl split; ids come from the file's ``idx``."""
    return LocalSplit(path=path, columns=columns, idx_column="idx", **kw)


_PAIR = ("{sentence1}", "{sentence2}")
_NLI = ("{premise}", "{hypothesis}")
_ENTAIL = ("entailment", "not_entailment")
_BOOL = ("False", "True")


def _glue_pair(task: str, cols: dict[str, str], label_col: str = "label") -> dict[str, LocalSplit]:
    """Train and dev tsv splits of a GLUE sentence-pair task with a header row."""
    columns = {**cols, label_col: "label"}
    return {"train": _tsv(f"glue/{task}/train.tsv", columns),
            "validation": _tsv(f"glue/{task}/dev.tsv", columns)}


def _superglue(task: str, fields: tuple[str, ...], **kw: str) -> dict[str, LocalSplit]:
    """Train and val jsonl splits of a SuperGLUE task."""
    columns = {f: f for f in (*fields, "label")}
    return {"train": _jsonl(f"superglue/{task}/train.jsonl", columns, **kw),
            "validation": _jsonl(f"superglue/{task}/val.jsonl", columns, **kw)}


TASKS: dict[str, Task] = {t.key: t for t in [
    Task("sst2", "glue", "nyu-mll/glue", "sst2", ("{sentence}",), "classification",
         ("0", "1"), ("accuracy",), "accuracy",
         local=_glue_pair("SST-2", {"sentence": "sentence"})),
    Task("cola", "glue", "nyu-mll/glue", "cola", ("{sentence}",), "classification",
         ("0", "1"), ("mcc",), "mcc",
         local={s: _tsv(f"glue/CoLA/{f}.tsv", {"1": "label", "3": "sentence"}, header=False)
                for s, f in (("train", "train"), ("validation", "dev"))}),
    Task("mrpc", "glue", "nyu-mll/glue", "mrpc", _PAIR, "classification",
         ("0", "1"), ("accuracy", "f1"), "f1",
         local=_glue_pair("MRPC", {"#1 String": "sentence1", "#2 String": "sentence2"},
                          label_col="Quality")),
    Task("stsb", "glue", "nyu-mll/glue", "stsb", _PAIR, "regression",
         None, ("pearson", "spearman"), "pearson",
         local=_glue_pair("STS-B", {"sentence1": "sentence1", "sentence2": "sentence2"},
                          label_col="score"),
         consistency_tolerance=0.5),
    Task("rte", "glue", "nyu-mll/glue", "rte", _PAIR, "classification",
         _ENTAIL, ("accuracy",), "accuracy",
         local=_glue_pair("RTE", {"sentence1": "sentence1", "sentence2": "sentence2"})),
    Task("wnli", "glue", "nyu-mll/glue", "wnli", _PAIR, "classification",
         ("0", "1"), ("accuracy",), "accuracy",
         local=_glue_pair("WNLI", {"sentence1": "sentence1", "sentence2": "sentence2"})),
    Task("qnli", "glue", "nyu-mll/glue", "qnli", ("{question}", "{sentence}"), "classification",
         _ENTAIL, ("accuracy",), "accuracy",
         local=_glue_pair("QNLI", {"question": "question", "sentence": "sentence"})),
    Task("cb", "superglue", "aps/super_glue", "cb", _NLI, "classification",
         ("entailment", "contradiction", "neutral"), ("accuracy", "macro_f1"), "macro_f1",
         local=_superglue("CB", ("premise", "hypothesis"))),
    Task("rte", "superglue", "aps/super_glue", "rte", _NLI, "classification",
         _ENTAIL, ("accuracy",), "accuracy",
         local=_superglue("RTE", ("premise", "hypothesis"))),
    Task("wic", "superglue", "aps/super_glue", "wic", ("{word}: {sentence1}", "{sentence2}"),
         "classification", _BOOL, ("accuracy",), "accuracy",
         local=_superglue("WiC", ("word", "sentence1", "sentence2"))),
    Task("boolq", "superglue", "aps/super_glue", "boolq", ("{question}", "{passage}"),
         "classification", _BOOL, ("accuracy",), "accuracy",
         # The only local BoolQ train file is the original BoolQ parquet: no idx, label is
         # `answer`, passages without SuperGLUE's "<title> -- " prefix. The local val file keeps
         # the prefix, so it is stripped there to show the model the same kind of text.
         local={"train": LocalSplit("superglue/BoolQ/train.parquet",
                                    {"question": "question", "passage": "passage",
                                     "answer": "label"}),
                "validation": _jsonl("superglue/BoolQ/val.jsonl",
                                     {"question": "question", "passage": "passage",
                                      "label": "label"}, strip_title="passage")}),
]}

ALIASES: dict[str, str] = {t.name: t.key for t in TASKS.values() if t.name != "rte"}


def get_task(name: str) -> Task:
    """Look a task up by key (``glue-rte``) or unambiguous short name (``sst2``)."""
    key = name.lower()
    key = ALIASES.get(key, key)
    if key not in TASKS:
        raise ValueError(f"unknown task {name!r}: expected one of {', '.join(sorted(TASKS))} "
                         f"(or a short name: {', '.join(sorted(ALIASES))})")
    return TASKS[key]
