"""What defines one fine-tuning run except its seed: ``TrainConfig``, with every field's default
and meaning (``FIELD_HELP``, which ``seedstudy run --help`` prints). Torch-free, so commands that
only read runs never load it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from ..benchmark.tasks import get_task

PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # auto: numerics.decide picks per machine


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a fine-tuning run except its seed."""

    task: str
    model: str = "minilm-l6"
    epochs: float = 3.0
    learning_rate: float = 2e-5
    batch_size: int = 16
    eval_batch_size: int = 128
    max_length: int = 128
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    # AdamW's betas and epsilon; None = PyTorch's defaults (0.9, 0.999, 1e-8). The fairseq RoBERTa
    # GLUE recipe (the ``paper`` preset) uses beta2 = 0.98 and epsilon = 1e-6.
    adam_beta1: float | None = None
    adam_beta2: float | None = None
    adam_epsilon: float | None = None
    max_train_examples: int | None = None
    max_eval_examples: int | None = None
    data_seed: int = 0
    # auto: what the hardware runs natively (numerics.choose_precision); runs record the resolved value
    precision: str = "auto"
    # LoRA (peft): None = full fine-tuning. Unset alpha/dropout/targets take the defaults of
    # ``models.resolve_lora`` (alpha 2 x rank, dropout 0.05, attention projections).
    lora_rank: int | None = None
    lora_alpha: float | None = None
    lora_dropout: float | None = None
    lora_targets: tuple[str, ...] | None = None
    gradient_checkpointing: bool = False  # trade compute for memory; results are unchanged
    group_by_length: bool = False  # batches of similar length (seeded), less padding
    # batch_size stays the effective batch: each is cut into this many micro-batches, their
    # gradients summed (a smaller GPU reaches a preset's batch). Without dropout equal results up
    # to rounding; with dropout the masks are drawn per micro-batch: another draw, not the same run
    gradient_accumulation_steps: int = 1
    loader_workers: int | None = None  # processes collating batches ahead; None: 2 on CUDA, 0 on CPU
    deterministic: bool = False  # CUDA: deterministic kernels (numerics.determinism); CPU already is
    representations: bool = False  # also store what the head sees per example (for CKA); outcome unchanged

    def __post_init__(self) -> None:
        """Reject bad values here, before any training starts."""
        task = get_task(self.task)
        if task.host:
            raise ValueError(f"bad training parameter task={self.task!r}: {task.key} is a diagnostic "
                             f"set without training data; it is predicted by the model of "
                             f"{task.host} (run that task)")
        checks = [("epochs", self.epochs > 0), ("learning_rate", self.learning_rate > 0),
                  ("batch_size", self.batch_size >= 1), ("eval_batch_size", self.eval_batch_size >= 1),
                  ("max_length", self.max_length >= 8), ("warmup_ratio", 0 <= self.warmup_ratio < 1),
                  ("weight_decay", self.weight_decay >= 0),
                  ("adam_beta1", self.adam_beta1 is None or 0 <= self.adam_beta1 < 1),
                  ("adam_beta2", self.adam_beta2 is None or 0 <= self.adam_beta2 < 1),
                  ("adam_epsilon", self.adam_epsilon is None or self.adam_epsilon > 0),
                  ("max_train_examples", self.max_train_examples is None or self.max_train_examples >= 1),
                  ("max_eval_examples", self.max_eval_examples is None or self.max_eval_examples >= 1),
                  ("gradient_accumulation_steps", 1 <= self.gradient_accumulation_steps <= self.batch_size),
                  ("loader_workers", self.loader_workers is None or self.loader_workers >= 0)]
        for name, ok in checks:
            if not ok:
                raise ValueError(f"bad training parameter {name}={getattr(self, name)!r}")
        if self.lora_targets is not None:  # papermill and JSON give lists
            object.__setattr__(self, "lora_targets", tuple(self.lora_targets))
        lora_checks = [("lora_rank", self.lora_rank is None or self.lora_rank >= 1),
                       ("lora_alpha", self.lora_alpha is None or self.lora_alpha > 0),
                       ("lora_dropout", self.lora_dropout is None or 0 <= self.lora_dropout < 1)]
        for name, ok in lora_checks:
            if not ok:
                raise ValueError(f"bad training parameter {name}={getattr(self, name)!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"bad training parameter precision={self.precision!r}: "
                             f"expected one of {PRECISIONS}")

    def to_dict(self) -> dict:
        """Plain-JSON form, recorded in every run."""
        values = asdict(self)
        if values["lora_targets"] is not None:
            values["lora_targets"] = list(values["lora_targets"])
        return values

    @classmethod
    def from_parameters(cls, values: Mapping) -> TrainConfig:
        """Build a config from a notebook's parameter variables (each field read by its name)."""
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


FIELD_HELP = {  # one line per field: what it does (``seedstudy run --help`` prints these)
    "task": "task key or short name (see seedstudy tasks)",
    "model": "model alias (minilm-l6, gemma3-270m, tiny-bert, tiny-llama, roberta-large, llama-3.2-3b), "
             "local folder or hub id",
    "epochs": "training epochs (fractions allowed)",
    "learning_rate": "peak AdamW learning rate",
    "batch_size": "training batch size",
    "eval_batch_size": "evaluation batch size (examples sorted by length)",
    "max_length": "truncate inputs to this many tokens",
    "warmup_ratio": "share of the steps with linear warm-up (then linear decay to 0)",
    "weight_decay": "AdamW weight decay (not on biases and LayerNorm weights)",
    "max_grad_norm": "clip the gradient to this norm",
    "adam_beta1": "AdamW beta1 (default: PyTorch's 0.9)",
    "adam_beta2": "AdamW beta2 (default: PyTorch's 0.999; fairseq RoBERTa: 0.98)",
    "adam_epsilon": "AdamW epsilon (default: PyTorch's 1e-8; fairseq RoBERTa: 1e-6)",
    "max_train_examples": "train on a subset of this size (drawn with --data-seed, same for every seed)",
    "max_eval_examples": "evaluate on a subset of this size (MultiRC: questions), drawn with --data-seed",
    "data_seed": "seed of the subset draws (not the training seed)",
    "precision": "auto (what the hardware runs natively: see seedstudy doctor), fp32 (exact; no TF32 on "
                 "GPUs), bf16 or fp16 (autocast)",
    "lora_rank": "fine-tune LoRA adapters of this rank (peft) instead of all weights",
    "lora_alpha": "LoRA scaling alpha (default: 2 x rank)",
    "lora_dropout": "dropout on the LoRA input (default: 0.05)",
    "lora_targets": "module names given LoRA adapters (default: the family's attention projections)",
    "gradient_checkpointing": "recompute activations in the backward pass to save memory (same results)",
    "group_by_length": "batch examples of similar length (order still drawn from the seed), less padding",
    "gradient_accumulation_steps": "cut each batch into this many micro-batches, gradients summed: the same "
                                   "effective batch_size in less memory (equal results up to float rounding "
                                   "without dropout; with dropout, other mask draws)",
    "loader_workers": "processes collating batches ahead (default: 2 on CUDA, 0 on CPU); results unchanged",
    "deterministic": "CUDA: deterministic kernels (CUBLAS_WORKSPACE_CONFIG, torch.use_deterministic_algorithms), "
                     "slower; recorded per run (CPU runs are deterministic already)",
    "representations": "also store each evaluation example's pooled vector, what the classification head "
                       "sees (float16, for CKA between seeds); predictions unchanged",
}
