"""Does length grouping pay on the cpu study's tasks? Plain vs grouped batches, same seeds.

    python benchmarks/grouping.py                              # every cpu-preset task, seed 1
    python benchmarks/grouping.py --tasks glue-sst2 glue-cola --seeds 1 2

For each task of the ``cpu`` preset (with its own epochs, subset and learning rate) it trains
each seed twice in this process, batches drawn plainly and grouped by length, and prints the
training time, the tokens fed (padding included), and the leading metric of both, so the
time saved can be weighed against any change in the numbers. The last line is the overall
training-time ratio plain/grouped.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import replace

import numpy as np
import torch

from seedstudy.benchmark import data, scoring
from seedstudy.benchmark.tasks import get_task
from seedstudy.study.presets import get_preset
from seedstudy.training import numerics
from seedstudy.training.models import load_tokenizer, resolve_model
from seedstudy.training.train import MEGABATCH, encode, epoch_batches, fine_tune


def padded_tokens(config, seed: int) -> int:
    """Tokens the training batches of one run hold, padding included (one pass over the epochs)."""
    task = get_task(config.task)
    frame = data.subsample(data.load_split(task, "train"), config.max_train_examples, config.data_seed)
    features = encode(load_tokenizer(resolve_model(config.model)), task, frame, config.max_length)
    lengths = features.lengths()
    order = torch.Generator().manual_seed(seed)
    epochs = int(np.ceil(config.epochs))
    return sum(len(b) * int(lengths[b].max()) for _ in range(epochs)
               for b in epoch_batches(lengths, config.batch_size, order, config.group_by_length))


def leading_score(config, predictions, info) -> float:
    """The task's leading metric on its first evaluation split."""
    task = get_task(config.task)
    split = next(iter(task.eval_splits))
    part = predictions[predictions["split"] == split]
    scores, _ = scoring.split_scores(task, split, part, info["majority_train_value"])
    return scores[task.metric_name(task.lead_metric, split)]


def main() -> None:
    """Train every (task, seed) plain and grouped; print times, tokens and metrics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    preset = get_preset("cpu")
    runnable = [c.task for c in preset.configs if c.task != "glue-qnli"]
    parser.add_argument("--tasks", nargs="+", default=runnable)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    args = parser.parse_args()
    print(numerics.announce(preset.configs[0].precision)[1])
    print(f"megabatch {MEGABATCH} batches, pid {os.getpid()}")
    fine_tune(replace(preset.config_for("superglue-cb"), max_train_examples=32, epochs=1), seed=0)  # warm-up
    totals = {False: 0.0, True: 0.0}
    print(f"{'task':20s} {'seed':>4s} {'plain s':>8s} {'grouped s':>9s} {'ratio':>6s} "
          f"{'tokens ratio':>12s} {'metric plain':>12s} {'grouped':>8s}")
    for key in args.tasks:
        for seed in args.seeds:
            row = {}
            for grouped in (False, True):
                config = replace(preset.config_for(key), group_by_length=grouped)
                result = fine_tune(config, seed)
                row[grouped] = (result.info["train_seconds"], padded_tokens(config, seed),
                                leading_score(config, result.predictions, result.info))
                totals[grouped] += result.info["train_seconds"]
                del result
            (tp, np_, mp), (tg, ng, mg) = row[False], row[True]
            print(f"{key:20s} {seed:4d} {tp:8.1f} {tg:9.1f} {tp / tg:6.2f} {np_ / ng:12.2f} "
                  f"{mp:12.4f} {mg:8.4f}", flush=True)
    print(f"training time plain/grouped: {totals[False] / totals[True]:.2f}")


if __name__ == "__main__":
    main()
