"""GPU-hours of the `paper` preset: model FLOPs of every run over an achieved FLOP rate.

    python benchmarks/paper_cost.py                          # assumed utilisation (see --mfu)
    python benchmarks/paper_cost.py --measured arms.json     # MFU per arm from benchmarks/arms.py

For each (task, model) of the preset: training sequences = training examples x epochs (COPA: one
sequence per choice; ReCoRD: one per candidate entity), each counted at the preset's max length
(an upper bound: dynamic padding makes most GLUE batches shorter), times the seeds; plus one
forward pass over the validation split per seed. FLOPs per token come from the model itself,
built on the meta device (no memory, no weights), with ``seedstudy.training.perf.training_flops``.
"""
from __future__ import annotations

import argparse
import json

import torch

from seedstudy.benchmark.tasks import get_task
from seedstudy.study.presets import get_preset
from seedstudy.training import models, perf

# Sequences per epoch (train) and per evaluation (validation), from the GLUE/SuperGLUE papers.
# ReCoRD: 100,730 / 10,000 queries at about 14 candidate entities each (an estimate).
SEQUENCES = {
    "glue-sst2": (67_349, 872), "glue-cola": (8_551, 1_043), "glue-mrpc": (3_668, 408),
    "glue-stsb": (5_749, 1_500), "glue-rte": (2_490, 277), "glue-wnli": (635, 71),
    "glue-qnli": (104_743, 5_463), "glue-mnli": (392_702, 19_647 + 1_104), "glue-qqp": (363_846, 40_430),
    "superglue-cb": (250, 56), "superglue-rte": (2_490, 277 + 1_104 + 356), "superglue-wic": (5_428, 638),
    "superglue-boolq": (9_427, 3_270), "superglue-copa": (800, 200), "superglue-multirc": (27_243, 4_848),
    "superglue-wsc": (554, 104), "superglue-record": (100_730 * 14, 10_000 * 14),
}
H100_BF16_DENSE = 989e12  # NVIDIA H100 SXM datasheet, dense bf16 tensor-core peak


def flops_per_token(model_name: str, lora_rank: int | None, length: int) -> tuple[float, float]:
    """(training, inference) FLOPs per token of a model at sequence length ``length``."""
    spec = models.resolve_model({"roberta-large": "roberta-large-random",
                                 "llama-3.2-3b": "llama-3.2-3b-random"}.get(model_name, model_name))
    tokenizer = models.load_tokenizer(spec)
    family = models.RANDOM_ARCHITECTURES[spec.architecture][0] if spec.architecture else "llama"
    lora = models.resolve_lora(family, lora_rank, None, None, None)
    with torch.device("meta"):
        model = models.build_model(spec, get_task("glue-rte"), tokenizer, lora=lora)
    train = perf.training_flops(model, 1, length)
    total, _ = perf.matmul_weights(model)
    config = model.config
    infer = 2 * total + 4 * config.num_hidden_layers * length * config.hidden_size
    return train, float(infer)


def main() -> None:
    """Print GPU-hours per (task, model) and in total."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peak-tflops", type=float, default=H100_BF16_DENSE / 1e12,
                        help="bf16 peak of the GPU (default: H100 SXM dense, 989)")
    parser.add_argument("--mfu", type=float, default=0.35,
                        help="assumed model FLOP utilisation when no measurement is given")
    parser.add_argument("--measured", help="JSON line printed by benchmarks/arms.py: use its MFU per arm "
                                           "and its bf16 peak")
    parser.add_argument("--seeds", type=int, default=None, help="seeds (default: the preset's, 10)")
    args = parser.parse_args()
    preset = get_preset("paper")
    seeds = args.seeds or len(preset.seeds)
    peak, mfu = args.peak_tflops * 1e12, {"roberta-large": args.mfu, "llama-3.2-3b": args.mfu}
    source = f"assumed MFU {args.mfu:.0%} of {args.peak_tflops:.0f} TFLOP/s"
    if args.measured:
        measured = json.loads(open(args.measured).read().strip().splitlines()[-1])
        peak = measured["peak_bf16"]
        arms = {a["arm"].split()[0]: a["mfu"] for a in measured["arms"]}
        mfu = {"roberta-large": arms["roberta-large"], "llama-3.2-3b": arms["llama-3.2-3b"]}
        source = f"measured on {measured['device']}: MFU {mfu}, peak {peak / 1e12:.0f} TFLOP/s"
    cache: dict[tuple, tuple[float, float]] = {}
    total_hours = {"roberta-large": 0.0, "llama-3.2-3b": 0.0}
    print(f"hardware: none measured here (an analytic GPU estimate, {source}); precision bf16 "
          "(what auto picks on GPUs with bf16)")
    print(f"{'task':18} {'model':13} {'len':>4} {'epochs':>6} {'GPU-h':>8}")
    for config in preset.configs:
        key = (config.model, config.lora_rank, config.max_length)
        if key not in cache:
            cache[key] = flops_per_token(*key)
        train_fpt, infer_fpt = cache[key]
        n_train, n_eval = SEQUENCES[config.task]
        flops = seeds * config.max_length * (config.epochs * n_train * train_fpt + n_eval * infer_fpt)
        hours = flops / (mfu[config.model] * peak) / 3600
        total_hours[config.model] += hours
        print(f"{config.task:18} {config.model:13} {config.max_length:>4} {config.epochs:>6g} {hours:>8.1f}")
    print(f"total: {sum(total_hours.values()):.0f} GPU-hours for {seeds} seeds "
          f"(roberta-large {total_hours['roberta-large']:.0f}, llama-3.2-3b {total_hours['llama-3.2-3b']:.0f}); "
          f"{source}; sequences counted at full max length")


if __name__ == "__main__":
    main()
