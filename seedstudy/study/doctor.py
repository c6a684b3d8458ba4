"""``seedstudy doctor``: the machine as the study sees it, and how long a study will take on it.

Prints what torch reports (device, CPU capability, threads), the precision ``auto`` resolves to
and why, fp32 and bf16 matmul throughput measured for about a second, and the expected wall
time of a preset's study. The estimate counts the study's model FLOPs exactly from its token
counts (the padded batches a seed-0 run trains on, and its evaluation batches) and divides
them by the measured matmul throughput times an efficiency calibrated on measured studies
(``EFFICIENCY``), plus a fixed cost per run and per task execution.
"""
from __future__ import annotations

import platform
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..benchmark import data
from ..benchmark.tasks import get_task
from ..training import numerics, perf
from ..training.config import TrainConfig
from ..training.machine import configure_threads, pick_device
from ..training.train import epoch_batches, prepare_inputs
from .presets import Preset

# Share of the probe matmul's throughput a MiniLM fine-tuning run reaches (train + evaluation),
# per precision, and the fixed seconds per run (outside training and evaluation), per task
# execution (a papermill kernel, imports) and for the report, fitted on the quick study measured
# end to end on one 2-core machine (benchmarks/doctor_calibration.py): bf16 on AMX 0.11-0.14
# (the AMX probe itself varies by ~25 % between processes); fp32 0.46 with AVX512 kernels and
# 0.64 with torch held to AVX2. Estimates came within 30 % of the three measured studies.
EFFICIENCY = {"fp32": 0.55, "bf16": 0.12, "fp16": 0.12}
RUN_OVERHEAD_S = 1.0
TASK_OVERHEAD_S = 5.0
REPORT_S = 25.0


@dataclass(frozen=True)
class Workload:
    """The model FLOPs of one run of a configuration (training and evaluation)."""

    task: str
    model: str
    train_flops: float
    eval_flops: float
    train_tokens: int
    steps: int


def padded_tokens(lengths: np.ndarray, batches: list[np.ndarray], choices: int) -> int:
    """Tokens the model computes on: each batch padded to its longest example, times its choices."""
    return int(sum(lengths[rows].max() * len(rows) for rows in batches)) * choices


def workload(config: TrainConfig, data_dir: Path | None) -> Workload:
    """Count the FLOPs of one run of ``config`` from its real token counts (seed-0 batch order)."""
    from ..training.models import shape_model

    inputs = prepare_inputs(config, data_dir)
    choices = max(len(inputs.task.choice_fields), 1)
    lengths = inputs.train_features.lengths()
    per_epoch = epoch_batches(lengths, config.batch_size, torch.Generator().manual_seed(0),
                              config.group_by_length)
    steps = max(1, int(np.ceil(config.epochs * len(per_epoch))))
    batches = (per_epoch * (steps // len(per_epoch) + 1))[:steps]
    tokens = padded_tokens(lengths, batches, choices)
    model = shape_model(inputs.spec, inputs.task, inputs.tokenizer)
    mean_length = tokens / choices / max(1, sum(len(b) for b in batches))
    train = perf.training_flops(model, tokens, int(mean_length))
    weights, _ = perf.matmul_weights(model)
    eval_tokens = 0
    for features in inputs.eval_features.values():
        sizes = np.sort(features.lengths())
        groups = [np.arange(i, min(i + config.eval_batch_size, len(sizes)))
                  for i in range(0, len(sizes), config.eval_batch_size)]
        eval_tokens += padded_tokens(sizes, groups, choices)
    return Workload(config.task, config.model, train, 2.0 * weights * eval_tokens, tokens, steps)


def expected_seconds(loads: list[Workload], seeds: int, gflops: float, precision: str) -> float:
    """Wall time of ``seeds`` runs of each workload at ``gflops`` probe throughput in ``precision``, and the report."""
    rate = gflops * 1e9 * EFFICIENCY[precision]
    compute = sum(w.train_flops + w.eval_flops for w in loads) / rate
    return seeds * (compute + RUN_OVERHEAD_S * len(loads)) + TASK_OVERHEAD_S * len(loads) + REPORT_S


def diagnose(preset: Preset, data_dir: Path | None) -> Iterator[str]:
    """The doctor's report, line by line (it measures for about a second, then counts tokens)."""
    from ..store.progress import clock

    device = pick_device()
    threads = configure_threads()
    hardware = numerics.probe(device)
    choice = numerics.decide("auto", hardware)  # as the runs will decide
    yield f"seedstudy doctor: torch {torch.__version__}, {platform.platform()}"
    yield f"device     {hardware.device_name}" + ("" if torch.cuda.is_available() else " (no CUDA device)")
    yield (f"CPU        {cpu_model()}; torch capability "
           f"{hardware.cpu_capability}; AMX {_yes(hardware.amx)}, AVX512-BF16 "
           f"{_yes(hardware.avx512_bf16)}, oneDNN bf16 {_yes(hardware.onednn_bf16)}")
    yield (f"class      {hardware.cpu_class()} (what a run's bits depend on, with precision and threads)"
           + ("" if numerics.isa_limits() == "none" else f"; held down by {numerics.isa_limits()}"))
    yield f"threads    {threads} (set $SEEDSTUDY_THREADS to change; results are bitwise fixed per count)"
    yield f"precision  auto -> {choice.precision}: {choice.reason}"
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    gflops = {name: numerics.matmul_throughput(dtypes[name], 0.5, device.type)
              for name in dict.fromkeys(("fp32", "bf16", choice.precision))}
    m, k, n = numerics.PROBE_SHAPE
    yield (f"matmul     fp32 {gflops['fp32']:.0f} GFLOP/s, bf16 {gflops['bf16']:.0f} GFLOP/s "
           f"(bf16 = {gflops['bf16'] / gflops['fp32']:.2f}x fp32; {m}x{k} @ {k}x{n}, 0.5 s each)")
    loads, missing = [], []
    for config in preset.configs:
        if data.missing_local_splits(get_task(config.task), data_dir):
            missing.append(config.task)
            continue
        try:
            loads.append(workload(config, data_dir))
        except (OSError, ValueError, RuntimeError) as err:  # no local copy and no hub
            missing.append(f"{config.task} ({type(err).__name__})")
    if not loads:
        yield f"study      preset {preset.name!r}: no task's data could be read; set SEEDSTUDY_DATA_DIR"
        return
    tokens = sum(w.train_tokens for w in loads) * len(preset.seeds)
    yield (f"study      preset {preset.name!r}: {len(loads)} tasks x {len(preset.seeds)} seeds, "
           f"{tokens / 1e6:.1f} M training tokens"
           + (f" (skipped, data missing: {', '.join(missing)})" if missing else ""))
    for name in dict.fromkeys((choice.precision, "fp32")):
        seconds = expected_seconds(loads, len(preset.seeds), gflops[name], name)
        mark = " <- auto" if name == choice.precision else ""
        yield f"expected   ~{clock(seconds)} in {name} on this machine{mark}"
    yield ("           (model FLOPs from the preset's token counts / (measured matmul throughput x an "
           "efficiency fitted on measured studies); about +-30 %)")


def cpu_model() -> str:
    """The CPU's model name (for the reader only: no decision is taken from it)."""
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else (platform.processor() or platform.machine())


def _yes(flag: bool) -> str:
    """yes / no."""
    return "yes" if flag else "no"
