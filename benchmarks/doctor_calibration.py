"""Calibrate ``seedstudy doctor``'s estimate on a finished study: efficiency and fixed costs per run.

    python benchmarks/doctor_calibration.py --study quick --results-dir paper/runs

Run it on the machine (and with the same environment) the study ran on: it measures the probe
matmul in the precision the runs used, counts each configuration's model FLOPs as the doctor
does, and prints the share of the probe's throughput the runs reached (train + evaluation time)
and the seconds per run spent outside them (model load, writing). ``doctor.EFFICIENCY`` and
``doctor.RUN_OVERHEAD_S`` are set from these figures.
"""
from __future__ import annotations

import argparse
import os
from collections import defaultdict

import torch

from seedstudy.benchmark import data
from seedstudy.store.runs import find_runs
from seedstudy.study import doctor
from seedstudy.study.presets import get_preset
from seedstudy.training import numerics
from seedstudy.training.machine import configure_threads


def main() -> None:
    """Print the measured efficiency and per-run overhead of a study's runs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", required=True)
    parser.add_argument("--results-dir", default=None)
    parser.add_argument("--preset", default=None, help="preset of the study (default: the study name)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    configure_threads()
    runs = find_runs(args.results_dir, args.study)
    precision = runs[0].record["config"]["precision"]
    print(numerics.announce(precision)[1])
    dtype = torch.bfloat16 if precision in ("bf16", "fp16") else torch.float32
    gflops = numerics.matmul_throughput(dtype, 1.0)
    preset = get_preset(args.preset or args.study)
    local = data.resolve_data_dir(None)
    loads = {(c.task, c.model): doctor.workload(c, local) for c in preset.configs
             if (c.task, c.model) in {(r.record["task"], r.record["model"]) for r in runs}}
    compute, overhead, flops = defaultdict(float), [], defaultdict(float)
    for run in runs:
        key = (run.record["task"], run.record["model"])
        info = run.record["run"]
        compute[key] += info["train_seconds"] + info["eval_seconds"]
        overhead.append(run.record["wall_seconds"] - info["train_seconds"] - info["eval_seconds"])
        flops[key] += loads[key].train_flops + loads[key].eval_flops
    print(f"probe matmul {gflops:.0f} GFLOP/s in {precision}; {len(runs)} runs")
    for key in loads:
        print(f"  {key[0]:16} efficiency {flops[key] / compute[key] / (gflops * 1e9):.3f} "
              f"({compute[key]:.0f} s train + eval)")
    total = sum(flops.values()) / sum(compute.values()) / (gflops * 1e9)
    print(f"efficiency (all runs) {total:.3f}; seconds per run outside train + eval: mean "
          f"{sum(overhead) / len(overhead):.1f}")


if __name__ == "__main__":
    main()
