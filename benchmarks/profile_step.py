"""Where a training step's time goes: torch.profiler over seedstudy training steps.

    python benchmarks/profile_step.py                          # MiniLM, batch 16, length 64, bf16
    python benchmarks/profile_step.py --precision fp32 --length 128
    python benchmarks/profile_step.py --model gemma3-270m --lora-rank 8 --precision fp32

Runs warm-up steps, then profiles a few on real SST-2 batches (padded to their own length) and
prints the warm per-step wall time (median of ``--steps`` unprofiled steps), the operators by total CPU time, and the share spent in matmuls, the optimizer and the
rest (element-wise ops, casts, layer norms, softmax) — the gap between the matmul peak and
the model's training throughput.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile

from seedstudy.benchmark import data
from seedstudy.benchmark.tasks import get_task
from seedstudy.training import models, numerics
from seedstudy.training.config import TrainConfig
from seedstudy.training.train import collate, encode, make_optimizer, to_device, training_step

GROUPS = {"matmul": ("aten::addmm", "aten::mm", "aten::bmm", "aten::linear", "aten::matmul",
                     "aten::_scaled_dot_product", "mkldnn"),
          "optimizer": ("Optimizer.step", "aten::_fused_adamw", "_fused_adam"),
          "casts": ("aten::to", "aten::_to_copy", "aten::copy_")}


def main() -> None:
    """Profile ``--steps`` training steps and print where the time went."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--task", default="glue-sst2")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                        help="auto: what this hardware runs natively (see seedstudy doctor)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rows", type=int, default=15)
    parser.add_argument("--lora-rank", type=int, help="LoRA adapters of this rank (default: full fine-tuning)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    precision, hardware = numerics.announce(args.precision)
    print(hardware)
    task = get_task(args.task)
    spec = models.resolve_model(args.model)
    tokenizer = models.load_tokenizer(spec)
    frame = data.subsample(data.load_split(task, "train"), args.batch_size * (2 * args.steps + 3), 0)
    features = encode(tokenizer, task, frame, args.length)
    labels = frame["label"].to_numpy()
    config = TrainConfig(task=task.key, model=args.model, batch_size=args.batch_size,
                         max_length=args.length, precision=precision, learning_rate=1e-4,
                         lora_rank=args.lora_rank)
    torch.manual_seed(0)
    model = models.build_model(spec, task, tokenizer, lora=models.lora_for(spec, config))
    optimizer, scheduler = make_optimizer(model, config, 2 * args.steps + 3)
    model.train()
    batches = [to_device(collate(tokenizer, features[i:i + args.batch_size], labels[i:i + args.batch_size]),
                   torch.device("cpu")) for i in range(0, len(features), args.batch_size)]
    for batch in batches[:3]:
        training_step(model, [batch], optimizer, scheduler, config)
    seconds = []
    for batch in batches[3:3 + args.steps]:
        start = time.perf_counter()
        training_step(model, [batch], optimizer, scheduler, config)
        seconds.append(time.perf_counter() - start)
    print(f"{args.model}, batch {args.batch_size} x <= {args.length} tokens, {precision}, "
          f"{'LoRA r=' + str(args.lora_rank) if args.lora_rank else 'full'}, {torch.get_num_threads()} threads: "
          f"{statistics.median(seconds):.2f} s per step (median of {len(seconds)}, "
          f"{min(seconds):.2f}-{max(seconds):.2f})")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches[3 + args.steps:]:
            training_step(model, [batch], optimizer, scheduler, config)
    events = prof.key_averages()
    print(events.table(sort_by="self_cpu_time_total", row_limit=args.rows))
    total = sum(e.self_cpu_time_total for e in events)
    shares = {name: sum(e.self_cpu_time_total for e in events if e.key.startswith(prefixes)) / total
              for name, prefixes in GROUPS.items()}
    shares["other"] = 1 - sum(shares.values())
    print("self CPU time by kind: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in shares.items()))


if __name__ == "__main__":
    main()
