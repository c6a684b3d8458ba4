"""The same seed sweep two ways, in one process: the standard Trainer recipe vs seedstudy.

    python benchmarks/throughput.py                       # CPU configuration (~10 min on 2 cores)
    python benchmarks/throughput.py --tasks glue-sst2 --seeds 1 2 3 --max-train 1024 --epochs 2
    python benchmarks/throughput.py --group-by-length     # with length-grouped batches

(a) the recipe users would otherwise write: ``transformers.Trainer`` with the ``run_glue.py``
defaults (every example padded to max length 128, tokenized anew in each run, fp32);
(b) ``seedstudy.training.train.fine_tune`` as the studies run it (dynamic padding, auto precision,
fused AdamW, tokenization cached across seeds); ``--group-by-length`` adds length-grouped
batches, which the presets leave off (see benchmarks/grouping.py).
Both see the same task, model, seeds, epochs, learning rate, batch size and training subset.
Time per run = loading + tokenizing + building the model + training (evaluation excluded, its
scores printed). Model FLOP utilisation = model training FLOPs on the real (unpadded) tokens per
second over the bf16 matmul peak measured here. The last line is ``speedup: X.XX`` (b over a,
training examples per second over all runs).
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import torch

from seedstudy.benchmark import data, metrics
from seedstudy.benchmark.tasks import get_task
from seedstudy.training import models, numerics, perf
from seedstudy.training.config import TrainConfig
from seedstudy.training.train import encode, fine_tune


def trainer_run(config: TrainConfig, seed: int) -> dict:
    """One run of the Trainer recipe; returns its time, real tokens and lead score."""
    import datasets
    from transformers import (
        AutoModelForSequenceClassification,
        Trainer,
        TrainingArguments,
        default_data_collator,
        set_seed,
    )
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    task = get_task(config.task)
    spec = models.resolve_model(config.model)
    start = time.perf_counter()
    train = data.subsample(data.load_split(task, "train"), config.max_train_examples, config.data_seed)
    tokenizer = models.load_tokenizer(spec)
    first, second = data.render_inputs(task, train)
    enc = tokenizer(first, second, truncation=True, max_length=128, padding="max_length")
    dataset = datasets.Dataset.from_dict({**enc, "labels": train["label"].tolist()})
    set_seed(seed)  # as run_glue.py does: before the model, so the head follows the seed
    model = AutoModelForSequenceClassification.from_pretrained(spec.weights, num_labels=task.num_labels)
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, per_device_train_batch_size=config.batch_size,
                                 learning_rate=config.learning_rate, num_train_epochs=config.epochs,
                                 warmup_steps=config.warmup_ratio, weight_decay=config.weight_decay,
                                 seed=seed, report_to="none", save_strategy="no",
                                 logging_strategy="no", disable_tqdm=True, use_cpu=True)
        trainer = Trainer(model=model, args=args, train_dataset=dataset,
                          data_collator=default_data_collator)
        trainer.train()
        seconds = time.perf_counter() - start
        valid = data.subsample(data.load_split(task, "validation"), config.max_eval_examples,
                               config.data_seed)
        f, s = data.render_inputs(task, valid)
        venc = tokenizer(f, s, truncation=True, max_length=128, padding="max_length")
        logits = trainer.predict(datasets.Dataset.from_dict(dict(venc))).predictions
    real = sum(sum(m) for m in enc["attention_mask"]) * config.epochs
    score = metrics.task_scores([task.lead_metric], valid["label"].to_numpy(), logits.argmax(-1))
    return {"seconds": seconds, "examples": len(train) * config.epochs, "tokens": real,
            "score": score[task.lead_metric], "model": model, "optim": args.optim}


def seedstudy_run(config: TrainConfig, seed: int) -> dict:
    """One run through seedstudy; the same accounting as ``trainer_run``."""
    task = get_task(config.task)
    start = time.perf_counter()
    result = fine_tune(config, seed)
    seconds = time.perf_counter() - start - result.info["eval_seconds"]
    spec = models.resolve_model(config.model)
    tokenizer = models.load_tokenizer(spec)
    train = data.subsample(data.load_split(task, "train"), config.max_train_examples, config.data_seed)
    real = int(encode(tokenizer, task, train, config.max_length).row_lengths().sum())
    p = result.predictions
    score = metrics.task_scores([task.lead_metric], p["label"].to_numpy(), p["pred"].to_numpy())
    return {"seconds": seconds, "examples": result.info["n_train"] * config.epochs,
            "tokens": real * config.epochs, "score": score[task.lead_metric]}


def summarise(name: str, runs: list[dict], flops_per_token: float, peak: float) -> dict:
    """Print one configuration's throughput, utilisation and scores; return its totals."""
    seconds = sum(r["seconds"] for r in runs)
    examples = sum(r["examples"] for r in runs)
    mfu = flops_per_token * sum(r["tokens"] for r in runs) / seconds / peak
    scores = [r["score"] for r in runs]
    print(f"  {name:10} {examples / seconds:8.1f} ex/s  MFU {100 * mfu:5.1f}%  "
          f"lead {statistics.mean(scores):.3f} ± {statistics.stdev(scores) if len(scores) > 1 else 0:.3f} "
          f"({', '.join(f'{s:.3f}' for s in scores)})  time {seconds:.0f} s")
    return {"seconds": seconds, "examples": examples}


def main() -> None:
    """Run both configurations for every task and seed; print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["glue-rte", "glue-sst2"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--max-train", type=int, default=512, help="training subset per task")
    parser.add_argument("--max-eval", type=int, default=256, help="evaluation subset per task")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--group-by-length", action="store_true",
                        help="seedstudy side: batches grouped by length (off in the presets)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                        help="auto: what this hardware runs natively (see seedstudy doctor)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    device = torch.device("cpu")
    precision, hardware = numerics.announce(args.precision, device)
    print(hardware)
    peak = perf.matmul_peak(torch.bfloat16, device)
    fp32 = perf.matmul_peak(torch.float32, device)
    print(f"cpu, {torch.get_num_threads()} threads: matmul peak bf16 {peak / 1e9:.0f} GFLOP/s, "
          f"fp32 {fp32 / 1e9:.0f} GFLOP/s")
    totals = {"trainer": [], "seedstudy": []}
    for key in args.tasks:
        config = TrainConfig(task=key, model=args.model, epochs=args.epochs,
                             learning_rate=args.learning_rate, batch_size=args.batch_size,
                             max_length=128, max_train_examples=args.max_train,
                             max_eval_examples=args.max_eval, precision=precision,
                             group_by_length=args.group_by_length)
        print(f"{key}: {args.max_train} training examples, {args.epochs:g} epoch(s), seeds {args.seeds}")
        recipe = [trainer_run(config, seed) for seed in args.seeds]
        ours = [seedstudy_run(config, seed) for seed in args.seeds]
        flops = perf.training_flops(recipe[0]["model"], 1, 64)  # per token; attention at a typical length
        print(f"  (Trainer optimizer: {recipe[0]['optim']})")
        totals["trainer"].append(summarise("Trainer", recipe, flops, peak))
        totals["seedstudy"].append(summarise("seedstudy", ours, flops, peak))
    rate = {k: sum(t["examples"] for t in v) / sum(t["seconds"] for t in v) for k, v in totals.items()}
    print(f"peak RSS {perf.peak_memory_bytes(device) / 2 ** 30:.2f} GiB")
    print(f"speedup: {rate['seedstudy'] / rate['trainer']:.2f}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
