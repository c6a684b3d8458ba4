"""Fine-tune one (task, model, seed) and predict every example of the evaluation split.

The loop is written out (AdamW + linear warm-up/decay, as in ``run_glue.py``) rather than using
``transformers.Trainer`` so that every source of randomness is explicit: ``seed`` is set before
the model is built (head init), seeds the data-order generator, and seeds dropout, and nothing
else draws from it. Each source can also get a seed of its own (``training.seeds``). Batches are padded to their own longest example (dynamic padding).
"""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from ..benchmark import data
from ..benchmark.tasks import ENTITY_COLUMNS, Task, get_task
from . import cache, numerics
from .config import TrainConfig
from .features import Features, pad_values
from .machine import configure_threads, pick_device
from .models import (
    HeadInputs,
    ModelSpec,
    base_model,
    build_model,
    frozen_dtype,
    load_tokenizer,
    lora_for,
    parameter_counts,
    resolve_model,
    store_frozen_in,
)
from .seeds import Seeds


@dataclass
class FineTuneResult:
    """Per-example predictions on the evaluation split plus facts about the run."""

    predictions: pd.DataFrame
    info: dict
    representations: np.ndarray | None = None  # (prediction rows, features): what the head saw


TOKENIZE_ROWS = 8192  # examples tokenized at a time: the tokenizer's Python lists never hold a whole large split


def encode(tokenizer, task: Task, frame: pd.DataFrame, max_length: int) -> Features:
    """Tokenize a split once, truncated but not padded; cached on disk for every later seed.

    Multiple choice: each example owns one token row per choice.
    """
    first, second = data.render_inputs(task, frame)
    per = max(len(task.choice_fields), 1)

    def tokenize() -> Features:
        tables = []
        for start in range(0, max(len(first), 1), TOKENIZE_ROWS * per):
            rows = slice(start, start + TOKENIZE_ROWS * per)
            enc = tokenizer(first[rows], second[rows] if second is not None else None,
                            truncation=True, max_length=max_length)
            keys = [key for key in ("input_ids", "token_type_ids", "attention_mask")
                    if key in enc and key in tokenizer.model_input_names]  # LLMs take no token_type_ids
            tables.append(Features.from_lists(enc, keys, per))
        return Features.concat(tables)

    return cache.cached(cache.features_key(tokenizer, (first, second), max_length, per), tokenize)


def collate(tokenizer, features: Features, labels: np.ndarray | None = None) -> dict[str, torch.Tensor]:
    """Pad a batch to its longest example (for multiple choice: longest choice) and attach labels.

    Pads as ``tokenizer.pad(padding="longest")`` does (its side and pad values).
    """
    return _collate(features, labels, pad_values(tokenizer), tokenizer.padding_side)


def _collate(features: Features, labels: np.ndarray | None, pads: dict[str, int],
             side: str) -> dict[str, torch.Tensor]:
    """``collate`` from the pad values and side alone (DataLoader workers need no tokenizer)."""
    batch = {key: torch.from_numpy(values) for key, values in features.padded(pads, side).items()}
    if labels is not None:
        dtype = torch.float32 if labels.dtype.kind == "f" else torch.long
        batch["labels"] = torch.as_tensor(labels, dtype=dtype)
    return batch


def resolve_numerics(config: TrainConfig) -> tuple[TrainConfig, dict]:
    """The config with its precision resolved on this process's device, and the numerics record.

    Sets deterministic kernels when the config asks (first: before any GPU matmul), the thread
    count and, on CUDA, TF32: off for fp32 (exact means exact), on for the fp32 work left under
    bf16/fp16 autocast.
    """
    device = pick_device()
    settled = numerics.determinism(config.deterministic)
    configure_threads()
    hardware = numerics.probe(device)
    choice = numerics.decide(config.precision, hardware)
    tf32 = device.type == "cuda" and numerics.tf32_allowed(choice.precision)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
    resolved = config if config.precision == choice.precision else replace(config, precision=choice.precision)
    return resolved, {**numerics.record(hardware, choice, tf32), **settled}


AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}  # fp32: autocast off


def _autocast(precision: str, device: torch.device):
    """bf16 or fp16 autocast on the run's device when asked; fp32 otherwise (exact comparisons)."""
    dtype = AUTOCAST_DTYPES.get(precision, torch.bfloat16)
    return torch.autocast(device.type, dtype=dtype, enabled=precision in AUTOCAST_DTYPES)


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """A batch on the model's device."""
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW without weight decay on biases and LayerNorm weights (the BERT convention).

    The fused kernel runs on CPU and GPU; on MiniLM it cut a CPU training step by ~30 % against
    ``foreach`` (the optimizer update over 22.7M parameters is a fixed cost of every step).
    """
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:  # LoRA: adapters and head only
            (no_decay if param.ndim < 2 else decay).append(param)
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    betas = (0.9 if config.adam_beta1 is None else config.adam_beta1,
             0.999 if config.adam_beta2 is None else config.adam_beta2)
    eps = 1e-8 if config.adam_epsilon is None else config.adam_epsilon
    device = next(model.parameters()).device.type
    fused = fused_adamw(device, torch.__version__)
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=betas, eps=eps, fused=fused, foreach=not fused)


FUSED_ADAMW_CPU = "2.4"  # the first torch with a fused AdamW kernel for CPU (pytorch/pytorch#123074)


def fused_adamw(device_type: str, torch_version: str) -> bool:
    """Whether torch has a fused AdamW kernel for this device: CUDA always (torch >= 2.0), CPU from 2.4.

    Below 2.4 ``fused=True`` on CPU parameters raises; the ``foreach`` update is used instead (the
    same arithmetic, ~30 % slower per MiniLM step).
    """
    from packaging.version import Version

    return device_type == "cuda" or Version(torch_version.split("+")[0]) >= Version(FUSED_ADAMW_CPU)


@dataclass
class Inputs:
    """A run's data, tokenized: the training subset and every evaluation split (with diagnostics)."""

    task: Task
    spec: ModelSpec
    tokenizer: object
    train_frame: pd.DataFrame
    eval_frames: dict[str, pd.DataFrame]
    train_features: Features
    eval_features: dict[str, Features]
    diagnostics_unavailable: dict[str, str]


def prepare_inputs(config: TrainConfig, data_dir: str | None = None) -> Inputs:
    """Load and tokenize what a run of ``config`` trains and evaluates on (tokens cached on disk)."""
    task = get_task(config.task)
    spec = resolve_model(config.model)
    train_frame = data.subsample(data.load_split(task, "train", data_dir),
                                 config.max_train_examples, config.data_seed)
    eval_frames = {split: data.subsample(data.load_split(task, split, data_dir),
                                         config.max_eval_examples, config.data_seed)
                   for split in task.eval_splits}
    diagnostics, unavailable = data.load_diagnostics(task, data_dir)
    eval_frames.update(diagnostics)  # whole diagnostic sets, keyed by their task key
    tokenizer = load_tokenizer(spec)
    train_features = encode(tokenizer, task, train_frame, config.max_length)
    eval_features = {split: encode(tokenizer, task.evaluation_task(split), frame, config.max_length)
                     for split, frame in eval_frames.items()}
    return Inputs(task, spec, tokenizer, train_frame, eval_frames, train_features, eval_features,
                  unavailable)


def fine_tune(config: TrainConfig, seed: int | Seeds | dict | str, data_dir: str | None = None, *,
              numerics_record: dict | None = None,
              on_step: Callable[[int, int], None] | None = None) -> FineTuneResult:
    """Fine-tune ``config.model`` on ``config.task`` with ``seed`` (one integer, or a seed per
    source: see ``training.seeds``); predict every evaluation split.

    ``numerics_record``: the caller already resolved the config's precision
    (``resolve_numerics``); otherwise it is resolved here. ``on_step``: see ``train_steps``.
    """
    from transformers import set_seed

    seeds = Seeds.parse(seed)
    if numerics_record is None:
        config, numerics_record = resolve_numerics(config)

    inputs = prepare_inputs(config, data_dir)
    task, spec, tokenizer = inputs.task, inputs.spec, inputs.tokenizer
    train_frame, eval_frames = inputs.train_frame, inputs.eval_frames
    train_features, eval_features = inputs.train_features, inputs.eval_features
    unavailable = inputs.diagnostics_unavailable

    device = pick_device()
    start = time.perf_counter()
    set_seed(seeds.init)  # before the model exists: head init (and LoRA init) follow the seed
    lora = lora_for(spec, config)  # resolved once: the model and the record use the same
    model = build_model(spec, task, tokenizer, lora=lora)
    frozen = frozen_dtype(lora, config.precision, device.type)
    if frozen is not None:  # before the move: the GPU never holds an fp32 copy of the base
        store_frozen_in(model, frozen)
    model = model.to(device)
    if not seeds.tied:
        torch.manual_seed(seeds.dropout)  # dropout draws from here on follow their own seed
    if config.gradient_checkpointing:
        base_model(model).gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    labels = train_frame["label"].to_numpy()
    losses = train_steps(model, tokenizer, train_features, labels, config, seeds.order, on_step)
    train_seconds = time.perf_counter() - start
    outputs = {split: predict_and_represent(model, tokenizer, features, config, config.representations)
               for split, features in eval_features.items()}
    predictions = pd.concat([prediction_frame(task.evaluation_task(split), eval_frames[split], logits, split)
                             for split, (logits, _) in outputs.items()], ignore_index=True)
    vectors = [v for _, v in outputs.values()]
    representations = np.concatenate(vectors) if config.representations else None
    steps_per_epoch = math.ceil(len(train_features) / config.batch_size)
    info = {
        "n_train": len(train_features), "n_eval": len(predictions), "steps": len(losses),
        "final_train_loss": float(np.mean(losses[-steps_per_epoch:])), "train_seconds": train_seconds,
        "eval_seconds": time.perf_counter() - start - train_seconds,
        "threads": torch.get_num_threads(), "device": _device_name(device),
        "tf32": numerics_record["tf32"], "numerics": numerics_record,
        "train_source": train_frame.attrs.get("source"),
        "eval_source": {split: frame.attrs.get("source") for split, frame in eval_frames.items()},
        "diagnostics_unavailable": unavailable,
        "parameters": parameter_counts(model)["total"],
        "trainable_parameters": parameter_counts(model)["trainable"],
        "lora": None if lora is None else vars(lora),
        "frozen_dtype": None if frozen is None else str(frozen).removeprefix("torch."),
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "loader_workers": loader_workers(config, device),
        **({"base_weights": spec.origin} if spec.origin else {}),  # e.g. a dequantised GGUF
        "train_label_counts": _label_counts(task, labels),
        "majority_train_value": (float(labels.mean()) if task.label_names is None
                                 else data.majority_label(labels)),
    }
    return FineTuneResult(predictions, info, representations)


def _device_name(device: torch.device) -> str:
    """The device in words, e.g. ``cuda:0 (NVIDIA H100 80GB HBM3)`` or ``cpu``."""
    if device.type == "cuda":
        return f"cuda:{torch.cuda.current_device()} ({torch.cuda.get_device_name()})"
    return device.type


def train_steps(model: torch.nn.Module, tokenizer, features: Features, labels: np.ndarray,
                config: TrainConfig, seed: int,
                on_step: Callable[[int, int], None] | None = None) -> list[float]:
    """Run ``config.epochs`` of AdamW steps in a seed-shuffled order; returns the step losses.

    The data order comes from a generator of its own, seeded with ``seed``; dropout draws from
    the global generator, which the caller seeded before building the model. Batches are
    collated ahead by a ``DataLoader`` (``loader_workers`` processes, pinned memory on CUDA) in
    the seeded order; losses stay on the device and are read once, at the end (a read per step
    is a device sync on CUDA; fp16's gradient scaler still reads its scale every step).
    ``on_step(done, total)`` is called after every step (progress reports; it must not draw
    random numbers).
    """
    device = next(model.parameters()).device
    schedule = step_schedule(features.lengths(), config, torch.Generator().manual_seed(seed))
    optimizer, scheduler = make_optimizer(model, config, len(schedule))
    scaler = grad_scaler(config, device)
    losses: list[torch.Tensor] = []
    model.train()
    for micro in batch_loader(tokenizer, features, labels, schedule, config, device):
        micro = [to_device(batch, device) for batch in micro]
        losses.append(training_step(model, micro, optimizer, scheduler, config, scaler))
        if on_step is not None:
            on_step(len(losses), len(schedule))
    return torch.stack(losses).float().cpu().tolist()


def step_schedule(lengths: np.ndarray, config: TrainConfig, order: torch.Generator) -> list[np.ndarray]:
    """Every optimizer step's batch (example positions), all epochs, drawn from ``order`` up front.

    The same draws, in the same order, as drawing each epoch when it starts: nothing else draws
    from ``order``.
    """
    total = max(1, math.ceil(config.epochs * math.ceil(len(lengths) / config.batch_size)))
    batches: list[np.ndarray] = []
    while len(batches) < total:
        batches += epoch_batches(lengths, config.batch_size, order, config.group_by_length)
    return batches[:total]


class StepBatches(torch.utils.data.Dataset):
    """Item ``rows``: that step's micro-batches, collated (``gradient_accumulation_steps`` of them)."""

    def __init__(self, features: Features, labels: np.ndarray, pads: dict[str, int], side: str,
                 accumulation: int) -> None:
        self.features, self.labels, self.pads, self.side = features, labels, pads, side
        self.accumulation = accumulation

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, rows: np.ndarray) -> list[dict[str, torch.Tensor]]:
        parts = np.array_split(rows, min(self.accumulation, len(rows)))  # sizes differ by <= 1
        return [_collate(self.features[part], self.labels[part], self.pads, self.side) for part in parts]


def batch_loader(tokenizer, features: Features, labels: np.ndarray, schedule: list[np.ndarray],
                 config: TrainConfig, device: torch.device) -> torch.utils.data.DataLoader:
    """A DataLoader yielding each scheduled step's micro-batches, in the schedule's order.

    It gets a generator of its own: a DataLoader draws a base seed for its workers when
    iterated, and from the global generator unless given one, which would shift every dropout
    draw after it.
    """
    workers = loader_workers(config, device)
    dataset = StepBatches(features, labels, pad_values(tokenizer), tokenizer.padding_side,
                          config.gradient_accumulation_steps)
    return torch.utils.data.DataLoader(dataset, sampler=schedule, batch_size=None, num_workers=workers,
                                       pin_memory=device.type == "cuda", generator=torch.Generator(),
                                       prefetch_factor=4 if workers else None)


def loader_workers(config: TrainConfig, device: torch.device) -> int:
    """Collating processes: ``config.loader_workers``, else 2 on CUDA and 0 on CPU (where a
    worker would only take cores from the step it waits for; collating is ~1 % of a CPU step)."""
    if config.loader_workers is not None:
        return config.loader_workers
    return 2 if device.type == "cuda" else 0


MEGABATCH = 50  # length grouping sorts within windows of this many batches


def epoch_batches(lengths: np.ndarray, batch_size: int, order: torch.Generator,
                  group_by_length: bool) -> list[np.ndarray]:
    """One epoch of batches (example positions), drawn from the seed's own generator.

    Plain: a random permutation cut into batches. Grouped by length: the permutation is cut
    into windows of ``MEGABATCH`` batches, each window sorted by length and cut into batches,
    and the batches shuffled, so that a batch pads little yet the order still varies with the
    seed and only with it (the idea of transformers' ``LengthGroupedSampler``, written here so
    the generator is ours). Caveat, measured (benchmarks/grouping.py): a training set smaller
    than one window is sorted whole, so its batches become nearly the same sets for every seed
    (only their order and ties vary); over 5 seeds it left the means of SST-2, CB, WiC and COPA
    unchanged but made their std across seeds 2.4-2.5x larger (CB, WiC, COPA): it changes what
    a seed study measures, so the presets keep grouping off.
    """
    perm = torch.randperm(len(lengths), generator=order).numpy()
    if not group_by_length:
        return [perm[i:i + batch_size] for i in range(0, len(perm), batch_size)]
    window = batch_size * MEGABATCH
    batches = []
    for start in range(0, len(perm), window):
        chunk = perm[start:start + window]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    shuffled = torch.randperm(len(batches), generator=order).numpy()
    return [batches[i] for i in shuffled]


def make_optimizer(model: torch.nn.Module, config: TrainConfig, total_steps: int):
    """AdamW and its linear warm-up/decay schedule over ``total_steps``."""
    from transformers import get_linear_schedule_with_warmup

    optimizer = _optimizer(model, config)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps),
                                                total_steps)
    return optimizer, scheduler


def training_step(model: torch.nn.Module, micro: list[dict[str, torch.Tensor]], optimizer, scheduler,
                  config: TrainConfig, scaler: torch.amp.GradScaler | None = None) -> torch.Tensor:
    """One AdamW step on a batch given as micro-batches already on the model's device; returns
    the batch's loss (on the device, detached).

    Gradient accumulation: each micro-batch's mean loss is weighted by its share of the batch's
    examples, so the summed gradients are those of the whole batch's mean loss (equal up to
    float rounding; one micro-batch is the plain step, bit for bit). fp16 needs ``scaler`` (its
    range is too narrow for raw gradients): the loss is scaled before the backward pass and the
    gradients unscaled before clipping; a step with overflowed gradients is skipped and the
    scale lowered (``torch.amp.GradScaler``), and the learning-rate schedule waits for the next
    step that ran (as transformers' Trainer does).
    """
    device = next(model.parameters()).device
    examples = sum(len(batch["labels"]) for batch in micro)
    total = torch.zeros((), device=device)
    for batch in micro:
        with _autocast(config.precision, device):
            loss = model(**batch).loss
        if len(micro) > 1:
            loss = loss * (len(batch["labels"]) / examples)
        (loss if scaler is None else scaler.scale(loss)).backward()
        total = total + loss.detach().float()
    if scaler is None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
    else:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        scale = scaler.get_scale()
        scaler.step(optimizer)
        scaler.update()
        if scaler.get_scale() < scale:  # overflow: the optimizer skipped this step
            optimizer.zero_grad(set_to_none=True)
            return total
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return total


def grad_scaler(config: TrainConfig, device: torch.device) -> torch.amp.GradScaler | None:
    """A gradient scaler for fp16 runs; None for bf16 and fp32 (their range needs none)."""
    return torch.amp.GradScaler(device.type) if config.precision == "fp16" else None


def predict(model: torch.nn.Module, tokenizer, features: Features, config: TrainConfig) -> np.ndarray:
    """Logits for every example, in input order; batches are sorted by length to pad little."""
    return predict_and_represent(model, tokenizer, features, config, representations=False)[0]


@torch.inference_mode()
def predict_and_represent(model: torch.nn.Module, tokenizer, features: Features, config: TrainConfig,
                          representations: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits for every example and (if asked) the vector the head saw for it (``HeadInputs``),
    both in input order; the logits are the same with or without representations."""
    model.eval()
    device = next(model.parameters()).device
    order = np.argsort(features.lengths(), kind="stable")
    logits: np.ndarray | None = None
    vectors: np.ndarray | None = None
    with HeadInputs(model) if representations else contextlib.nullcontext() as heads:
        for start in range(0, len(order), config.eval_batch_size):
            rows = order[start:start + config.eval_batch_size]
            batch = to_device(collate(tokenizer, features[rows]), device)
            with _autocast(config.precision, device):
                out = model(**batch).logits.float().cpu().numpy()
            if logits is None:  # classes, choices, or 1 score
                logits = np.empty((len(features), out.shape[1]), dtype=np.float32)
            logits[rows] = out
            if heads is not None:
                pooled = heads.pooled(batch["input_ids"])
                if vectors is None:
                    vectors = np.empty((len(features), pooled.shape[1]), dtype=np.float32)
                vectors[rows] = pooled
    return logits, vectors


def prediction_frame(task: Task, eval_frame: pd.DataFrame, logits: np.ndarray,
                     split: str) -> pd.DataFrame:
    """One row per example: split, idx, label, prediction and (classification) class probabilities.

    ReCoRD rows also keep their candidate entity and gold answers, which its scores read.
    """
    keep = ("idx", "group", *(ENTITY_COLUMNS if task.ranks_entities else ()), "label")
    frame = eval_frame[[c for c in keep if c in eval_frame]].copy()
    frame.insert(0, "split", split)
    if task.label_names is None:
        frame["pred"] = logits[:, 0].astype(np.float64)
        return frame
    probs = torch.softmax(torch.from_numpy(logits).double(), dim=-1).numpy()
    frame["pred"] = probs.argmax(axis=1)
    for k in range(probs.shape[1]):
        frame[f"prob_{k}"] = probs[:, k]
    return frame


def _label_counts(task: Task, labels: np.ndarray) -> dict[str, int] | None:
    """Training label distribution by label name (None for regression)."""
    if task.label_names is None:
        return None
    counts = np.bincount(labels, minlength=task.num_labels)
    return {name: int(c) for name, c in zip(task.label_names, counts)}
