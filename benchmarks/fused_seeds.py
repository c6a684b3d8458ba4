"""Does training K seed replicas at once pay? Sequential single-seed steps vs one fused step.

    python benchmarks/fused_seeds.py                      # MiniLM, K=5, batch 16, length 64, bf16
    python benchmarks/fused_seeds.py --replicas 3 --length 128 --precision fp32

Fused: the K models' parameters are stacked (``torch.func.stack_module_state``) and one
``vmap`` of ``functional_call`` runs the K forward and backward passes together, each replica on
its own batch; one fused AdamW updates the stacked parameters. Sequential: the same K models
trained one after the other on the same batches, as K separate runs would. Both see identical
batch shapes (padded to ``--length``), so the time ratio is the lever's whole effect.

Exactness check (dropout off, fp32): after ``--steps`` steps each fused replica's parameters are
compared with the same seed's sequential model; the largest absolute difference is printed.
(With dropout on, ``vmap(randomness="different")`` draws the replicas' masks from one generator,
so a fused replica cannot reproduce the seed trained alone bit for bit; the check turns dropout
off to isolate the arithmetic.) The last line is ``fused speedup: X.XX`` (sequential time over
fused time for the same K x steps examples).
"""
from __future__ import annotations

import argparse
import copy
import os
import time

import torch
from torch.func import functional_call, stack_module_state, vmap

from seedstudy.benchmark.tasks import get_task
from seedstudy.training import models, numerics
from seedstudy.training.machine import configure_threads, pick_device
from seedstudy.training.perf import sync

DEVICE = pick_device()  # the GPU when there is one, else the CPU


def build_replicas(name: str, k: int, dropout: bool, attention: str) -> list[torch.nn.Module]:
    """K copies of the model, the i-th with its head initialised from seed i + 1."""
    spec = models.resolve_model(name)
    task = get_task("glue-sst2")
    tokenizer = models.load_tokenizer(spec)
    replicas = []
    for seed in range(1, k + 1):
        torch.manual_seed(seed)
        model = models.build_model(spec, task, tokenizer)
        model.set_attn_implementation(attention)
        if not dropout:
            for module in model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = 0.0
        replicas.append(model.to(DEVICE).train())
    return replicas


def random_batches(k: int, steps: int, batch: int, length: int, vocab: int) -> list[dict]:
    """``steps`` fused batches of shape (K, batch, length): token ids, full masks, labels."""
    gen = torch.Generator().manual_seed(0)
    # prepared 4-D masks: transformers' 2-D mask handling branches on the data, which vmap
    # cannot trace; the sequential runs get the same masks
    return [{"input_ids": torch.randint(1000, vocab, (k, batch, length), generator=gen).to(DEVICE),
             "attention_mask": torch.ones(k, batch, 1, length, length, dtype=torch.bool, device=DEVICE),
             "labels": torch.randint(0, 2, (k, batch), generator=gen).to(DEVICE)}
            for _ in range(steps)]


def sequential(replicas: list[torch.nn.Module], batches: list[dict], precision: str) -> float:
    """Train each replica on its slice of every batch, one after the other; returns seconds."""
    start = time.perf_counter()
    for i, model in enumerate(replicas):
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
        for batch in batches:
            with torch.autocast(DEVICE.type, torch.bfloat16, enabled=precision == "bf16"):
                loss = model(**{key: value[i] for key, value in batch.items()}).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    sync(DEVICE)
    return time.perf_counter() - start


def fused(replicas: list[torch.nn.Module], batches: list[dict], precision: str
          ) -> tuple[float, dict[str, torch.Tensor]]:
    """Train all replicas together with one vmapped step per batch; returns seconds and params."""
    params, buffers = stack_module_state(replicas)
    params = {name: p.detach().requires_grad_() for name, p in params.items()}
    base = copy.deepcopy(replicas[0]).to("meta")

    def loss_of(p, b, input_ids, attention_mask, labels):
        out = functional_call(base, (p, b), (), {"input_ids": input_ids,
                                                  "attention_mask": attention_mask, "labels": labels})
        return out.loss

    step_losses = vmap(loss_of, randomness="different")
    optimizer = torch.optim.AdamW(list(params.values()), lr=1e-4, fused=True)
    start = time.perf_counter()
    for batch in batches:
        with torch.autocast(DEVICE.type, torch.bfloat16, enabled=precision == "bf16"):
            losses = step_losses(params, buffers, batch["input_ids"], batch["attention_mask"],
                                 batch["labels"])
        losses.sum().backward()  # replicas share no parameter: each gets its own gradient
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    sync(DEVICE)
    return time.perf_counter() - start, params


def main() -> None:
    """Time K sequential runs against one fused run, check exactness, print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--replicas", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                        help="auto: what this hardware runs natively (see seedstudy doctor)")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--attention", default="sdpa", choices=("sdpa", "eager"),
                        help="attention kernel of both ways (SDPA has no vmap batching rule on CPU)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    configure_threads()
    args.precision, hardware = numerics.announce(args.precision, DEVICE)
    print(hardware)

    check = build_replicas(args.model, args.replicas, False, args.attention)
    vocab = check[0].config.vocab_size
    small = random_batches(args.replicas, 3, args.batch_size, args.length, vocab)
    alone = [copy.deepcopy(m) for m in check]
    sequential(alone, small, "fp32")
    _, together = fused(check, small, "fp32")
    worst = max((together[name][i] - dict(m.named_parameters())[name]).abs().max().item()
                for i, m in enumerate(alone) for name in together)
    print(f"exactness (dropout off, fp32, 3 steps): largest parameter difference {worst:.2e}")

    batches = random_batches(args.replicas, args.steps + 2, args.batch_size, args.length, vocab)
    replicas = build_replicas(args.model, args.replicas, True, args.attention)
    sequential([copy.deepcopy(m) for m in replicas], batches[:2], args.precision)  # warm-up
    fused([copy.deepcopy(m) for m in replicas], batches[:2], args.precision)
    seq_seconds = sequential([copy.deepcopy(m) for m in replicas], batches[2:], args.precision)
    fused_seconds, _ = fused([copy.deepcopy(m) for m in replicas], batches[2:], args.precision)
    examples = args.replicas * args.steps * args.batch_size
    print(f"sequential: {seq_seconds:.1f} s, {examples / seq_seconds:.1f} examples/s")
    print(f"fused ({args.replicas} replicas): {fused_seconds:.1f} s, {examples / fused_seconds:.1f} examples/s")
    print(f"fused speedup: {seq_seconds / fused_seconds:.2f}")


if __name__ == "__main__":
    main()
