"""Training-step speed of the study's two arms at full size, with random weights from their configs.

    python benchmarks/arms.py                      # both arms, the GPU if there is one
    python benchmarks/arms.py --scale tiny         # the same code path with tiny shapes (CPU check)

Arms: RoBERTa-large fully fine-tuned (batch 32, length 128) and a Llama-3.2-3B-shaped model with
LoRA rank 16 on q/k/v/o (batch 16, length 256), both bf16 autocast, fused AdamW, through
``seedstudy.training.train.training_step`` (the code the study runs). Prints per arm: step time,
examples/s, peak memory, model training FLOP/s and model FLOP utilisation against the bf16
matmul peak measured in this process. No weights are downloaded; the numbers say nothing about
accuracy.
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from dataclasses import dataclass

import torch

from seedstudy.benchmark.tasks import get_task
from seedstudy.training import models, numerics, perf
from seedstudy.training.config import TrainConfig
from seedstudy.training.machine import pick_device
from seedstudy.training.train import make_optimizer, training_step


@dataclass(frozen=True)
class Arm:
    """One model configuration to time."""

    name: str
    model: str
    batch_size: int
    length: int
    lora_rank: int | None = None


ARMS = {
    "full": [Arm("roberta-large (full)", "roberta-large-random", 32, 128),
             Arm("llama-3.2-3b (LoRA r16)", "llama-3.2-3b-random", 16, 256, lora_rank=16)],
    "tiny": [Arm("tiny-bert (full)", "tiny-bert", 32, 128),
             Arm("tiny-llama (LoRA r4)", "tiny-llama", 16, 256, lora_rank=4)],
}


def time_arm(arm: Arm, device: torch.device, steps: int, warmup: int, peak: float,
             gradient_checkpointing: bool, precision: str) -> dict:
    """Build the arm's model with a seeded random init and time ``steps`` training steps."""
    task = get_task("glue-rte")
    spec = models.resolve_model(arm.model)
    tokenizer = models.load_tokenizer(spec)
    lora = models.resolve_lora(models.RANDOM_ARCHITECTURES[arm.model][0], arm.lora_rank, 32 if
                               arm.lora_rank == 16 else None, 0.05, None)
    torch.manual_seed(0)
    model = models.build_model(spec, task, tokenizer, lora=lora)
    frozen = models.frozen_dtype(lora, precision, device.type)  # as fine_tune: a bf16 base on CUDA
    if frozen is not None:
        models.store_frozen_in(model, frozen)
    model = model.to(device)
    if gradient_checkpointing:
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        inner.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    config = TrainConfig(task=task.key, model=arm.model, batch_size=arm.batch_size,
                         max_length=arm.length, learning_rate=1e-5, precision=precision,
                         lora_rank=arm.lora_rank)
    optimizer, scheduler = make_optimizer(model, config, warmup + steps)
    generator = torch.Generator().manual_seed(0)
    vocab = len(tokenizer)
    batch = {"input_ids": torch.randint(1000, vocab, (arm.batch_size, arm.length), generator=generator),
             "attention_mask": torch.ones(arm.batch_size, arm.length, dtype=torch.long),
             "labels": torch.randint(0, 2, (arm.batch_size,), generator=generator)}
    batch = {k: v.to(device) for k, v in batch.items()}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    model.train()
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        training_step(model, [batch], optimizer, scheduler, config).item()  # reading the loss synchronises
        if i >= warmup:
            times.append(time.perf_counter() - start)
    step = statistics.median(times)
    flops = perf.training_flops(model, arm.batch_size * arm.length, arm.length)
    counts = models.parameter_counts(model)
    result = {"arm": arm.name, "batch": arm.batch_size, "length": arm.length,
              "parameters": counts["total"], "trainable": counts["trainable"],
              "step_s": step, "examples_per_s": arm.batch_size / step,
              "peak_memory_gib": perf.peak_memory_bytes(device) / 2 ** 30,
              "model_tflops_per_s": flops / step / 1e12, "mfu": flops / step / peak}
    del model, optimizer, batch
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def main() -> None:
    """Measure the matmul peak, then every arm; print a table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(ARMS), default="full")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per arm (median reported)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                        help="auto: what this hardware runs natively (see seedstudy doctor)")
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic kernels, as the paper preset runs (run with and without: the cost)")
    args = parser.parse_args()
    print(f"deterministic kernels: {numerics.determinism(args.deterministic)}")  # before the first matmul
    device = pick_device()
    precision, hardware = numerics.announce(args.precision, device)
    print(hardware)
    peak_bf16 = perf.matmul_peak(torch.bfloat16, device, size=8192 if device.type == "cuda" else 2048)
    peak_fp32 = perf.matmul_peak(torch.float32, device, size=8192 if device.type == "cuda" else 2048)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {name}; matmul peak bf16 {peak_bf16 / 1e12:.1f} TFLOP/s, fp32 "
          f"{peak_fp32 / 1e12:.1f} TFLOP/s (TF32 {'on' if torch.backends.cuda.matmul.allow_tf32 else 'off'})")
    results = [time_arm(arm, device, args.steps, args.warmup, peak_bf16, args.gradient_checkpointing, precision)
               for arm in ARMS[args.scale]]
    print(f"{'arm':26} {'batch x len':>11} {'trainable':>12} {'step s':>8} {'ex/s':>8} "
          f"{'peak GiB':>9} {'TFLOP/s':>8} {'MFU':>6}")
    for r in results:
        print(f"{r['arm']:26} {r['batch']:>5} x {r['length']:<4} {r['trainable']:>12,} "
              f"{r['step_s']:>8.3f} {r['examples_per_s']:>8.1f} {r['peak_memory_gib']:>9.2f} "
              f"{r['model_tflops_per_s']:>8.2f} {100 * r['mfu']:>5.1f}%")
    print(json.dumps({"device": name, "peak_bf16": peak_bf16, "peak_fp32": peak_fp32, "arms": results}))


if __name__ == "__main__":
    main()
