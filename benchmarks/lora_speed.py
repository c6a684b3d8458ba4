"""What makes a LoRA step on the CPU cheaper? Recipe and numerics variants timed in one process.

    python benchmarks/lora_speed.py                                   # Gemma 3 270M, LoRA r=8
    python benchmarks/lora_speed.py --model minilm-l6 --lora-rank 0   # the encoder, fully fine-tuned

Every variant trains on the same real SST-2 batches (each padded to its own longest example, as
the study pads) from the same initial weights, warm-up steps first, and reports the median
per-step wall time and its ratio to the first variant. Variants: LoRA dropout 0.05 (peft's
default recipe) and 0, in fp32 and (where the hardware has native bf16, see ``seedstudy
doctor``) bf16 autocast. A second table times prediction over the same examples at several
evaluation batch sizes. Compare ratios only within one run: the CPU class is printed first.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace

import torch

from seedstudy.benchmark import data
from seedstudy.benchmark.tasks import get_task
from seedstudy.training import models, numerics
from seedstudy.training.config import TrainConfig
from seedstudy.training.train import collate, encode, make_optimizer, predict, to_device, training_step


def step_seconds(config: TrainConfig, spec, tokenizer, batches: list[dict], warmup: int) -> list[float]:
    """Per-step wall times of ``config`` over ``batches`` after ``warmup`` untimed steps."""
    task = get_task(config.task)
    torch.manual_seed(0)
    model = models.build_model(spec, task, tokenizer, lora=models.lora_for(spec, config))
    optimizer, scheduler = make_optimizer(model, config, len(batches))
    model.train()
    seconds = []
    for i, batch in enumerate(batches):
        start = time.perf_counter()
        training_step(model, [batch], optimizer, scheduler, config)
        if i >= warmup:
            seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    """Time each variant's training steps, then prediction at several batch sizes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--lora-rank", type=int, default=8, help="0: full fine-tuning")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--eval-examples", type=int, default=256)
    parser.add_argument("--eval-batch-sizes", type=int, nargs="+", default=[16, 64, 128, 256])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    native, hardware = numerics.announce("auto")
    print(hardware)
    task = get_task("glue-sst2")
    spec = models.resolve_model(args.model)
    tokenizer = models.load_tokenizer(spec)
    n = args.batch_size * (args.warmup + args.steps)
    frame = data.subsample(data.load_split(task, "train"), n, 0)
    features = encode(tokenizer, task, frame, args.length)
    labels = frame["label"].to_numpy()
    batches = [to_device(collate(tokenizer, features[i:i + args.batch_size], labels[i:i + args.batch_size]),
                         torch.device("cpu")) for i in range(0, n, args.batch_size)]
    tokens = statistics.mean(b["input_ids"].shape[1] for b in batches)
    lora = dict(lora_rank=args.lora_rank or None)
    base = TrainConfig(task=task.key, model=args.model, batch_size=args.batch_size, max_length=args.length,
                       learning_rate=1e-4, precision="fp32", **lora)
    variants = {"fp32, dropout 0.05": replace(base, lora_dropout=0.05 if args.lora_rank else None)}
    if args.lora_rank:
        variants["fp32, dropout 0"] = replace(base, lora_dropout=0.0)
    if native == "bf16":
        for name, config in list(variants.items()):
            variants[name.replace("fp32", "bf16")] = replace(config, precision="bf16")
    print(f"{args.model}, {'LoRA r=' + str(args.lora_rank) if args.lora_rank else 'full'}, batch "
          f"{args.batch_size} x {tokens:.0f} tokens on average (<= {args.length}), median of {args.steps} "
          f"steps after {args.warmup} warm-up")
    first = None
    for name, config in variants.items():
        median = statistics.median(step_seconds(config, spec, tokenizer, batches, args.warmup))
        first = first or median
        print(f"  {name:<22} {median:6.2f} s/step   x{first / median:.2f} vs first")
    eval_frame = data.subsample(data.load_split(task, "validation"), args.eval_examples, 0)
    eval_features = encode(tokenizer, task, eval_frame, args.length)
    torch.manual_seed(0)
    model = models.build_model(spec, task, tokenizer, lora=models.lora_for(spec, base))
    for precision in dict.fromkeys(("fp32", native)):
        predict(model, tokenizer, eval_features[:32], replace(base, precision=precision))  # warm-up
        for size in args.eval_batch_sizes:
            start = time.perf_counter()
            predict(model, tokenizer, eval_features, replace(base, precision=precision, eval_batch_size=size))
            seconds = time.perf_counter() - start
            print(f"  predict {len(eval_features)} examples, {precision}, eval batch {size:>4}: {seconds:6.2f} s "
                  f"({1000 * seconds / len(eval_features):.0f} ms/example)")


if __name__ == "__main__":
    main()
