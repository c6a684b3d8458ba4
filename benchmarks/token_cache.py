"""Token cache: JSON lists of ints (format 1, before) against memory-mapped NumPy arrays (format 2, now).

    python benchmarks/token_cache.py                 # SST-2 and MultiRC train (MiniLM), synthetic 1 M rows
    python benchmarks/token_cache.py --rows 200000   # a smaller synthetic table

For each table both formats are written once, then each is read in a fresh process (so no
page cache of Python objects carries over; the files themselves are in the OS page cache for
both, as a second seed would find them). Per format: disk size, load time, resident memory
added by the load, and the time to then build 100 random batches of 32 (what training does
with the table). The first line says the machine; compare only ratios from one run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from seedstudy.training.features import Features


def old_format(table: Features) -> list[dict]:
    """The features as format 1 held them: a dict of Python int lists per example."""
    return table.to_lists()


def write_both(table: Features, folder: Path) -> tuple[Path, Path]:
    """Format 1 (one JSON file) and format 2 (a folder of .npy) of ``table``."""
    old = folder / "old.json"
    with open(old, "w") as handle:
        json.dump(old_format(table), handle, separators=(",", ":"))
    new = folder / "new"
    table.save(new)
    return old, new


def disk_bytes(path: Path) -> int:
    """Bytes on disk of a file, or of every file in a folder."""
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.iterdir())


def measure_in_this_process(kind: str, path: str) -> dict:
    """Load one format, then draw 100 batches of 32 examples; times and resident memory added."""
    import psutil

    process = psutil.Process()
    before = process.memory_info().rss
    start = time.perf_counter()
    if kind == "old":
        examples = json.loads(Path(path).read_text())
        n = len(examples)
    else:
        table = Features.load(Path(path))
        n = len(table)
    loaded = time.perf_counter() - start
    after_load = process.memory_info().rss
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    pads = {"input_ids": 0, "attention_mask": 0, "token_type_ids": 0}
    for _ in range(100):
        rows = rng.integers(0, n, size=32)
        if kind == "old":  # what format 1 did per batch: tokenizer.pad over the dicts
            picked = [examples[i] for i in rows]
            longest = max(len(e["input_ids"]) for e in picked)
            {k: np.array([v + [pads[k]] * (longest - len(v)) for v in (e[k] for e in picked)]) for k in picked[0]}
        else:
            table[rows].padded(pads)
    batches = time.perf_counter() - start
    return {"load_s": loaded, "rss_added_mib": (after_load - before) / 2 ** 20,
            "batches_s": batches, "rss_after_batches_mib": (process.memory_info().rss - before) / 2 ** 20}


def measure(kind: str, path: Path) -> dict:
    """``measure_in_this_process`` in a fresh interpreter."""
    code = ("import json, sys; from benchmarks.token_cache import measure_in_this_process as m; "
            f"print(json.dumps(m({kind!r}, {str(path)!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def synthetic(rows: int, seed: int = 0) -> Features:
    """BERT-shaped rows: lengths 16-112 tokens (mean 64), ids over a 30 522 vocabulary, pair type ids."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(16, 113, size=rows)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    ids = rng.integers(1000, 30522, size=total).astype(np.int32)
    types = (np.arange(total) - np.repeat(offsets[:-1], lengths) >= np.repeat(lengths // 2, lengths)).astype(np.int8)
    return Features({"input_ids": ids, "token_type_ids": types, "attention_mask": np.ones(total, np.int8)},
                    offsets, 1)


def real(task_key: str) -> Features:
    """A real training split tokenized as the study does (MiniLM, max length 128; no cache)."""
    os.environ["SEEDSTUDY_CACHE_DIR"] = "off"
    from seedstudy.benchmark import data
    from seedstudy.benchmark.tasks import get_task
    from seedstudy.training import models
    from seedstudy.training.train import encode

    task = get_task(task_key)
    tokenizer = models.load_tokenizer(models.resolve_model("minilm-l6"))
    return encode(tokenizer, task, data.load_split(task, "train"), 256 if task_key == "superglue-multirc" else 128)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the synthetic table")
    args = parser.parse_args()
    import torch

    from seedstudy.study.doctor import cpu_model

    print(f"machine: {cpu_model()}; torch capability {torch.backends.cpu.get_cpu_capability()}; "
          f"{os.cpu_count()} cores")
    tables = {"SST-2 train (MiniLM)": lambda: real("glue-sst2"),
              "MultiRC train (MiniLM, 256)": lambda: real("superglue-multirc"),
              f"synthetic {args.rows:,} rows": lambda: synthetic(args.rows)}
    print("| table | rows | tokens | format | disk MiB | load s | RSS added MiB | 100 batches s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, make in tables.items():
        table = make()
        with tempfile.TemporaryDirectory() as scratch:
            old, new = write_both(table, Path(scratch))
            for kind, path in (("old", old), ("new", new)):
                measure(kind, path)  # once untimed: the files into the page cache
                m = measure(kind, path)
                label = "JSON lists (before)" if kind == "old" else "NumPy mmap (after)"
                print(f"| {name} | {len(table):,} | {int(table.offsets[-1]):,} | {label} | "
                      f"{disk_bytes(path) / 2 ** 20:,.1f} | {m['load_s']:.3f} | {m['rss_added_mib']:,.1f} | "
                      f"{m['batches_s']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
