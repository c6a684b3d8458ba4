"""Speed accounting for the benchmarks: in-process matmul peak, model training FLOPs, memory.

Model FLOP utilisation (MFU) = the model's training FLOPs per second / the device's bf16 matmul
peak, both measured in the same process. Training FLOPs follow Kaplan et al. (2020) and the PaLM
appendix: 2 per weight and token forward, 4 backward (activations and weight gradients); frozen
weights under LoRA skip the weight-gradient half; attention adds 2 x 2 x seq x hidden per token
and layer forward (scores and weighted sum), 3x that with its backward.
"""
from __future__ import annotations

import resource
import sys
import time

import torch


def matmul_peak(dtype: torch.dtype, device: torch.device, *, size: int = 2048, seconds: float = 1.0
                ) -> float:
    """Achieved FLOP/s of a large square matmul in ``dtype`` on ``device`` (after a warm-up)."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    for _ in range(3):
        a @ b
    sync(device)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or runs < 3:
        a @ b
        runs += 1
        if device.type == "cuda" and runs % 10:
            continue
        sync(device)
    sync(device)
    return 2 * size ** 3 * runs / (time.perf_counter() - start)


def sync(device: torch.device) -> None:
    """Wait for queued GPU work (timing must include it)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_weights(model: torch.nn.Module) -> tuple[int, int]:
    """(all, trainable) weights of the model's linear layers: what multiplies each token.

    Embedding tables are lookups, not matmuls, and are left out.
    """
    total = trainable = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            n = module.weight.numel()
            total += n
            trainable += n if module.weight.requires_grad else 0
    return total, trainable


def training_flops(model: torch.nn.Module, tokens: int, seq_len: int) -> float:
    """Model FLOPs of one training step over ``tokens`` tokens of sequences ``seq_len`` long."""
    total, trainable = matmul_weights(model)
    config = getattr(model, "config", None) or model.get_base_model().config
    layers, hidden = config.num_hidden_layers, config.hidden_size
    dense = 2 * total * tokens + 2 * total * tokens + 2 * trainable * tokens  # fwd, act grads, weight grads
    attention = 3 * 4 * layers * seq_len * hidden * tokens
    return float(dense + attention)


def peak_memory_bytes(device: torch.device) -> int:
    """Peak memory of this process: GPU allocations on CUDA, else the resident set size."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024
