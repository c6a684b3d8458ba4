"""The task registry: what each GLUE/SuperGLUE task is, where its data lives, how it is scored.

A task is pure data. Loading (``benchmark.data``), training (``seedstudy.training``) and scoring
(``benchmark.metrics``) read these fields and never branch on a task's name, so adding a task is
adding one entry here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

ProblemType = Literal["classification", "regression", "multiple_choice"]


@dataclass(frozen=True)
class LocalSplit:
    """One split in its original on-disk layout, relative to the data directory.

    ``columns`` maps the file's column names to the task's canonical field names; ``header`` is
    False for headerless tsv files (then ``columns`` keys are column positions as strings);
    ``strip_title`` removes a ``"<title> -- "`` prefix from the named field. Nested JSON is
    flattened with ``pandas.json_normalize`` (nested keys joined by dots); ``record_path`` and
    ``meta`` turn nested lists into rows (MultiRC: one row per answer option).
    """

    path: str
    columns: dict[str, str]
    header: bool = True
    idx_column: str | None = None
    label_ids: bool = False  # labels are already class ids (hub parquet exports), not names
    strip_title: str | None = None
    record_path: tuple[str, ...] | None = None
    meta: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Task:
    """A GLUE or SuperGLUE task: data sources, input template, labels and official metrics."""

    name: str
    benchmark: Literal["glue", "superglue", "imported"]
    hub_path: str
    hub_config: str
    text_template: tuple[str, ...]
    problem_type: ProblemType
    label_names: tuple[str, ...] | None
    metrics: tuple[str, ...]
    lead_metric: str
    local: dict[str, LocalSplit] = field(default_factory=dict)
    hub_columns: dict[str, str] | None = None
    # Evaluation splits -> suffix of their metric names and table rows ("" for the usual single
    # split; MNLI: "m" and "mm", each split scored and compared across seeds on its own).
    eval_splits: dict[str, str] = field(default_factory=lambda: {"validation": ""})
    consistency_tolerance: float | None = None
    choice_fields: tuple[str, ...] = ()
    grouped_by: str | None = None
    may_be_empty: tuple[str, ...] = ()
    # ReCoRD's shape: one row per (query, candidate entity), scored as binary; the query's
    # prediction is its highest-scoring candidate, compared with the gold answers as text.
    ranks_entities: bool = False
    # Diagnostic sets (AX, AX-b, AX-g): no training data of their own; ``host`` is the task whose
    # trained model predicts them, and the host lists them in ``diagnostics``.
    host: str | None = None
    diagnostics: tuple[str, ...] = ()
    group_from_idx: int | None = None  # group = idx // n when a source has no group column

    @property
    def has_source(self) -> bool:
        """Whether the task's examples can be read (locally or from the hub); not for imported tasks."""
        return bool(self.local or self.hub_path)

    @property
    def num_labels(self) -> int:
        """Output size of the head: classes, choices, or 1 for regression."""
        if self.problem_type == "multiple_choice":
            return len(self.choice_fields)
        return 1 if self.label_names is None else len(self.label_names)

    @property
    def fields(self) -> tuple[str, ...]:
        """Canonical text fields: those the template reads, then the answer choices."""
        import string

        names = [f for t in self.text_template for _, f, _, _ in string.Formatter().parse(t)
                 if f and f != CHOICE]
        return tuple(dict.fromkeys([*names, *self.choice_fields]))

    @property
    def columns(self) -> list[str]:
        """Columns of every canonical split: idx, the group id if any, text fields, label."""
        return ["idx", *(["group"] if self.grouped_by else []), *self.fields,
                *(ENTITY_COLUMNS if self.ranks_entities else []), "label"]

    @property
    def splits(self) -> tuple[str, ...]:
        """Splits a run of this task reads: training (unless a diagnostic set), then evaluation."""
        return (*(() if self.host else ("train",)), *self.eval_splits)

    def metric_name(self, metric: str, split: str) -> str:
        """A metric's name for one evaluation split (``accuracy`` or, for MNLI, ``accuracy_m``).

        A diagnostic set's split is named by its task key; its metrics carry its short name
        (``axb_mcc`` among superglue-rte's metrics).
        """
        if split not in self.eval_splits:
            return f"{self.evaluation_task(split).name}_{metric}"
        suffix = self.eval_splits[split]
        return f"{metric}_{suffix}" if suffix else metric

    def evaluation_task(self, split: str) -> Task:
        """The task that scores predictions of ``split``: this one, or the diagnostic set it names."""
        if split in self.eval_splits:
            return self
        if split in self.diagnostics:
            return TASKS[split]
        raise ValueError(f"{self.key} has no evaluation split {split!r}: expected one of "
                         f"{[*self.eval_splits, *self.diagnostics]}")

    @property
    def lead_metric_name(self) -> str:
        """The lead metric on the first evaluation split: what tables and failed-run flags use."""
        return self.metric_name(self.lead_metric, next(iter(self.eval_splits)))

    @property
    def key(self) -> str:
        """Unique, filesystem-safe name, e.g. ``glue-rte`` / ``superglue-rte``."""
        return f"{self.benchmark}-{self.name}"


def _tsv(path: str, columns: dict[str, str], *, header: bool = True) -> LocalSplit:
    """A GLUE tsv split; ids are row numbers, as in the hub's ``idx``."""
    return LocalSplit(path=path, columns=columns, header=header)


def _jsonl(path: str, columns: dict[str, str], **kw) -> LocalSplit:
    """A SuperGLUE jsonl split; ids come from the file's ``idx`` unless ``idx_column`` says otherwise."""
    return LocalSplit(path=path, columns=columns, **{"idx_column": "idx", **kw})


ENTITY_COLUMNS = ("candidate", "answers")  # ReCoRD rows: the candidate entity and the gold answers
CHOICE = "choice"  # template placeholder filled with each answer choice in turn (multiple choice)
_PAIR = ("{sentence1}", "{sentence2}")
_NLI = ("{premise}", "{hypothesis}")
_ENTAIL = ("entailment", "not_entailment")
_BOOL = ("False", "True")


def _glue_pair(task: str, cols: dict[str, str], label_col: str = "label") -> dict[str, LocalSplit]:
    """Train and dev tsv splits of a GLUE sentence-pair task with a header row."""
    columns = {**cols, label_col: "label"}
    return {"train": _tsv(f"glue/{task}/train.tsv", columns),
            "validation": _tsv(f"glue/{task}/dev.tsv", columns)}


def _superglue(task: str, fields: tuple[str, ...] | dict[str, str], label_column: str | None = "label",
               **kw) -> dict[str, LocalSplit]:
    """Train and val jsonl splits of a SuperGLUE task (``fields``: names, or file -> canonical;
    ``label_column`` None when labels are derived while loading, as for ReCoRD)."""
    columns = {**(fields if isinstance(fields, dict) else {f: f for f in fields}),
               **({label_column: "label"} if label_column else {})}
    return {"train": _jsonl(f"superglue/{task}/train.jsonl", columns, **kw),
            "validation": _jsonl(f"superglue/{task}/val.jsonl", columns, **kw)}


_MULTIRC_LOCAL = dict(
    record_path=("passage", "questions", "answers"),
    meta=(("passage", "text"), ("passage", "questions", "question"), ("passage", "questions", "idx")))


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
    Task("mnli", "glue", "nyu-mll/glue", "mnli", _NLI, "classification",
         ("entailment", "neutral", "contradiction"), ("accuracy",), "accuracy",
         # Offline: only the hub's dev exports (parquet, integer labels); train.tsv keeps GLUE's
         # original layout (sentence1, sentence2, gold_label) for users who have it.
         local={"train": _tsv("glue/MNLI/train.tsv", {"sentence1": "premise", "sentence2": "hypothesis",
                                                      "gold_label": "label"}),
                **{split: LocalSplit(f"glue/MNLI/{name}.parquet",
                                     {"premise": "premise", "hypothesis": "hypothesis", "label": "label"},
                                     idx_column="idx", label_ids=True)
                   for split, name in (("validation_matched", "dev_matched"),
                                       ("validation_mismatched", "dev_mismatched"))}},
         eval_splits={"validation_matched": "m", "validation_mismatched": "mm"},
         diagnostics=("glue-ax",)),
    Task("qqp", "glue", "nyu-mll/glue", "qqp", ("{question1}", "{question2}"), "classification",
         ("0", "1"), ("accuracy", "f1"), "f1",
         # Offline copies hold only the hub's dev export (parquet, with idx); train.tsv keeps
         # GLUE's original layout for users who have it.
         local={"train": _tsv("glue/QQP/train.tsv", {"question1": "question1", "question2": "question2",
                                                     "is_duplicate": "label"}),
                "validation": LocalSplit("glue/QQP/dev.parquet", {"question1": "question1",
                                                                  "question2": "question2",
                                                                  "label": "label"},
                                         idx_column="idx")}),
    Task("cb", "superglue", "aps/super_glue", "cb", _NLI, "classification",
         ("entailment", "contradiction", "neutral"), ("accuracy", "macro_f1"), "macro_f1",
         local=_superglue("CB", ("premise", "hypothesis"))),
    Task("rte", "superglue", "aps/super_glue", "rte", _NLI, "classification",
         _ENTAIL, ("accuracy",), "accuracy",
         local=_superglue("RTE", ("premise", "hypothesis")),
         diagnostics=("superglue-axb", "superglue-axg")),
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
    Task("copa", "superglue", "aps/super_glue", "copa", ("{premise} What was the {question}?", "{choice}"),
         "multiple_choice", ("0", "1"), ("accuracy",), "accuracy",
         local=_superglue("COPA", ("premise", "question", "choice1", "choice2")),
         choice_fields=("choice1", "choice2")),
    Task("multirc", "superglue", "aps/super_glue", "multirc", ("{question} {answer}", "{paragraph}"),
         "classification", ("0", "1"), ("f1a", "em"), "f1a",
         # One example per answer option (binary); options are grouped by question for EM and
         # per-question consistency. Ids: the answer option's idx; group: the question's idx.
         local=_superglue("MultiRC", {"passage.text": "paragraph",
                                      "passage.questions.question": "question",
                                      "answer.text": "answer", "passage.questions.idx": "group"},
                          label_column="answer.label", idx_column="answer.idx", **_MULTIRC_LOCAL),
         hub_columns={"idx.answer": "idx", "idx.question": "group", "paragraph": "paragraph",
                      "question": "question", "answer": "answer", "label": "label"},
         grouped_by="question",
         may_be_empty=("answer",)),  # 3 official training options have empty text (label 0)
    Task("wsc", "superglue", "aps/super_glue", "wsc.fixed",
         ("{text}", 'In the passage above, does the pronoun "{span2_text}" refer to "{span1_text}"?'),
         "classification", _BOOL, ("accuracy",), "accuracy",
         # The span pair is made explicit in the input; spans come from the nested `target`.
         local=_superglue("WSC", {"text": "text", "target.span1_text": "span1_text",
                                  "target.span2_text": "span2_text"})),
    Task("record", "superglue", "aps/super_glue", "record", ("{query}", "{passage}"),
         "classification", ("0", "1"), ("record_f1", "record_em"), "record_f1",
         # One row per (query, candidate entity): the query with @placeholder replaced by the
         # candidate, against the passage; label 1 when the candidate is a gold answer. Entities
         # are the passage's distinct entity strings (the hub's `entities`; in the jsonl, spans).
         local=_superglue("ReCoRD", {"passage.text": "passage", "passage.entities": "entities",
                                     "qa.query": "query", "qa.answers": "answers",
                                     "qa.idx": "group"},
                          label_column=None, idx_column=None, record_path=("qas",),
                          meta=(("passage", "text"), ("passage", "entities"))),
         hub_columns={"idx.query": "group", "passage": "passage", "query": "query",
                      "entities": "entities", "answers": "answers"},
         grouped_by="query", ranks_entities=True),
]}

# Diagnostic sets: test-only, labelled, predicted by their host's model after it is trained.
# GLUE AX: the labelled file is GLUE's diagnostic-full.tsv (the hub's `ax` copy is unlabelled);
# AX-b / AX-g: the SuperGLUE jsonl files, labelled on the hub too. AX-g's minimal pairs share a
# `pair_id` in the jsonl; the hub drops it and keeps pairs as consecutive ids (2k, 2k+1).
_DIAGNOSTICS = [
    Task("ax", "glue", "nyu-mll/glue", "ax", _NLI, "classification",
         ("entailment", "neutral", "contradiction"), ("mcc",), "mcc",
         local={"test": _tsv("glue/diagnostic/diagnostic-full.tsv",
                             {"Premise": "premise", "Hypothesis": "hypothesis", "Label": "label"})},
         eval_splits={"test": ""}, host="glue-mnli"),
    Task("axb", "superglue", "aps/super_glue", "axb", _PAIR, "classification",
         _ENTAIL, ("mcc",), "mcc",
         local={"test": _jsonl("superglue/AX-b/AX-b.jsonl",
                               {"sentence1": "sentence1", "sentence2": "sentence2", "label": "label"})},
         eval_splits={"test": ""}, host="superglue-rte"),
    Task("axg", "superglue", "aps/super_glue", "axg", _NLI, "classification",
         _ENTAIL, ("accuracy", "gender_parity"), "accuracy",
         local={"test": _jsonl("superglue/AX-g/AX-g.jsonl",
                               {"premise": "premise", "hypothesis": "hypothesis",
                                "pair_id": "group", "label": "label"})},
         eval_splits={"test": ""}, host="superglue-rte", grouped_by="pair", group_from_idx=2),
]
TASKS.update({t.key: t for t in _DIAGNOSTICS})

ALIASES: dict[str, str] = {t.name: t.key for t in TASKS.values() if t.name != "rte"}


IMPORTED = "imported"  # the benchmark of a task known only from imported predictions
DEFINED: dict[str, Task] = {}  # such tasks, defined by the runs that carry them (``define``)
_DEFINITION_FIELDS = ("name", "benchmark", "problem_type", "label_names", "metrics", "lead_metric")


def imported_task(name: str, label_names: tuple[str, ...]) -> Task:
    """A classification task known only from imported predictions: its classes come from the data,
    it is scored by accuracy, and it has no examples to read (no text, no training split)."""
    slug = re.sub(r"[^a-z0-9._]+", "-", name.lower()).strip("-").removeprefix(f"{IMPORTED}-")
    if not slug:
        raise ValueError(f"task name {name!r} has no letters or digits: expected a name like my-task")
    return Task(slug, IMPORTED, "", "", (), "classification", tuple(label_names), ("accuracy",), "accuracy")


def definition(task: Task) -> dict:
    """What a run of an imported task stores so that reading it defines the task again."""
    return {f: list(v) if isinstance(v, tuple) else v
            for f, v in ((f, getattr(task, f)) for f in _DEFINITION_FIELDS)}


def define(stored: dict) -> Task:
    """Make an imported task (a run's ``task_definition``) known to ``get_task``; the same key twice
    must mean the same task."""
    task = Task(**{**{f: tuple(v) if isinstance(v, list) else v for f, v in stored.items()},
                   "hub_path": "", "hub_config": "", "text_template": ()})
    if task.key in TASKS:
        raise ValueError(f"imported task {task.key!r} has the name of a registered task")
    known = DEFINED.setdefault(task.key, task)
    if known != task:
        raise ValueError(f"two definitions of imported task {task.key!r}: labels {list(known.label_names)} "
                         f"and {list(task.label_names)}; import one of them under another --task name")
    return task


def get_task(name: str) -> Task:
    """Look a task up by key (``glue-rte``), unambiguous short name (``sst2``), or the key of an
    imported task whose runs were read (``imported-my-task``)."""
    key = name.lower()
    key = ALIASES.get(key, key)
    if key in DEFINED:
        return DEFINED[key]
    if key not in TASKS:
        raise ValueError(f"unknown task {name!r}: expected one of {', '.join(sorted(TASKS))} "
                         f"(or a short name: {', '.join(sorted(ALIASES))})")
    return TASKS[key]
