"""The numerics a run computes with: the precision ``auto`` picks, and the hardware class its bits depend on.

A run's bits depend on its precision, its device, the CPU's instruction set as torch uses it and
(on CPUs) the thread count; the same seed under other numerics is another run. This module
reads what torch reports about the hardware (``probe``), picks the precision ``auto`` means from
that report alone (``choose_precision``, a pure function; a one-second matmul measurement
decides only where the report leaves it open), and says which recorded numerics two runs differ
in (``differences``), so a study never mixes them unnoticed.

Why ``auto`` is needed: bf16 autocast is 1.7x faster than fp32 for MiniLM training on CPUs
with AMX, but on CPUs without native bf16 instructions (AVX2 only) torch emulates it and a
training step is ~28x slower (0.6 s fp32 vs 17 s bf16, measured on an AMD EPYC).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from .cache import cache_dir
from .config import PRECISIONS

if TYPE_CHECKING:
    import torch
# torch is imported inside the functions that measure or probe: what a run recorded
# (``of_run``, ``identity``, ``differences``) is read by commands that never load a model.
# bf16 costs mantissa bits; where the report leaves it open, take it only for a clear speed-up
# (this margin also keeps timing noise from flipping the choice between processes).
BF16_MIN_SPEEDUP = 1.5
# The probe's matmul: one MiniLM feed-forward projection at batch 16 x 64 tokens.
PROBE_SHAPE = (1024, 384, 1536)
CHOICE_FILE = "precision-choices.json"
# Settings that hold torch's kernels below what the CPU offers (how an AVX2-only machine is
# imitated on a newer one); they change a run's bits, so runs record them.
ISA_LIMITS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


@dataclass(frozen=True)
class Hardware:
    """What torch reports about the device a run computes on (the input of ``choose_precision``)."""

    device: str  # "cpu" or "cuda"
    device_name: str  # "cpu", or the GPU's name
    cpu_capability: str  # torch.backends.cpu.get_cpu_capability(): AVX512, AVX2, DEFAULT, SVE256 ...
    amx: bool  # AMX tiles (bf16 matrix units)
    avx512_bf16: bool  # AVX512-BF16 dot-product instructions
    onednn_bf16: bool  # torch's oneDNN has a bf16 path on this CPU (False where it would emulate)
    cuda_bf16: bool  # the CUDA device computes in bf16 (Ampere and later)
    threads: int

    def cpu_class(self) -> str:
        """The CPU's instruction-set class in words, e.g. ``AVX512 + AMX`` or ``AVX2``."""
        extras = [name for name, present in (("AMX", self.amx), ("AVX512-BF16", self.avx512_bf16))
                  if present and self.cpu_capability.startswith("AVX512")]
        return " + ".join([self.cpu_capability, *extras[:1]])


@dataclass(frozen=True)
class Choice:
    """The precision a run uses and why (``measured_speedup``: bf16/fp32 matmul throughput, if measured)."""

    precision: str
    requested: str
    reason: str
    measured_speedup: float | None = None


def _torch_flag(name: str) -> bool:
    """A CPU feature as torch reports it (``torch.cpu._is_<name>_supported``; False where absent)."""
    import torch

    check = getattr(torch.cpu, f"_is_{name}_supported", None)
    return bool(check()) if check else False


def probe(device: torch.device) -> Hardware:
    """What torch reports about ``device`` and this process's CPU and threads."""
    import torch

    cuda = device.type == "cuda"
    onednn = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return Hardware(
        device=device.type, device_name=torch.cuda.get_device_name(device) if cuda else "cpu",
        cpu_capability=torch.backends.cpu.get_cpu_capability(), amx=_torch_flag("amx_tile"),
        avx512_bf16=_torch_flag("avx512_bf16"), onednn_bf16=bool(onednn()) if onednn else False,
        cuda_bf16=cuda and torch.cuda.is_bf16_supported(including_emulation=False),
        threads=torch.get_num_threads())


def choose_precision(requested: str, hardware: Hardware,
                     measure: Callable[[], float] | None = None) -> Choice:
    """The precision a run computes in: ``requested`` itself, or for ``auto`` what the hardware runs natively.

    auto: on CUDA bf16 where the device supports it, else fp16 with a gradient scaler; on a CPU
    bf16 with AMX, fp32 where oneDNN has no bf16 path (it would be emulated), and elsewhere
    (AVX512-BF16 without AMX, ARM) bf16 only if ``measure()`` (bf16/fp32 matmul throughput)
    reaches ``BF16_MIN_SPEEDUP``, else fp32.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"bad training parameter precision={requested!r}: expected one of {PRECISIONS}")
    if requested != "auto":
        return Choice(requested, requested, "asked for explicitly")
    if hardware.device == "cuda":
        if hardware.cuda_bf16:
            return Choice("bf16", "auto", f"{hardware.device_name} computes in bf16")
        return Choice("fp16", "auto", f"{hardware.device_name} has no bf16: fp16 with a gradient scaler")
    if not hardware.onednn_bf16:
        return Choice("fp32", "auto", f"CPU capability {hardware.cpu_capability}: torch has no native "
                      "bf16 path here (bf16 would be emulated, 5-200x slower)")
    if hardware.amx and hardware.cpu_capability.startswith("AVX512"):
        return Choice("bf16", "auto", f"CPU capability {hardware.cpu_class()}: bf16 matmuls on AMX tiles")
    if measure is None:
        return Choice("fp32", "auto", f"CPU capability {hardware.cpu_class()}: bf16 not proven faster "
                      "(no measurement allowed)")
    speedup = measure()
    verdict = "bf16" if speedup >= BF16_MIN_SPEEDUP else "fp32"
    return Choice(verdict, "auto", f"CPU capability {hardware.cpu_class()}: bf16 matmuls measured "
                  f"{speedup:.2f}x fp32 (bf16 needs >= {BF16_MIN_SPEEDUP}x)", speedup)


def decide(requested: str, hardware: Hardware) -> Choice:
    """``choose_precision`` as every run, benchmark and the doctor on this machine decide it: an
    ambiguous report is settled by the one measurement kept in the token cache's folder."""
    return choose_precision(requested, hardware, remembered_measure(hardware, cache_dir()))


def matmul_throughput(dtype: torch.dtype, seconds: float = 0.5, device: str = "cpu") -> float:
    """GFLOP/s of the probe matmul in ``dtype``, timed for about ``seconds`` after a warm-up."""
    import torch

    m, k, n = PROBE_SHAPE
    a = torch.randn(m, k, device=device).to(dtype)
    b = torch.randn(k, n, device=device).to(dtype)
    warm = time.perf_counter()  # warm-up: kernel choice, allocation, and AMX's slow first calls
    while time.perf_counter() - warm < min(0.25, seconds / 2):
        a @ b
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < seconds:
        a @ b
        calls += 1
        if device != "cpu":
            torch.cuda.synchronize()
    return 2 * m * k * n * calls / (time.perf_counter() - start) / 1e9


def bf16_speedup(seconds: float = 1.0) -> float:
    """bf16 over fp32 matmul throughput on this CPU, measured for about ``seconds`` in all."""
    import torch

    return matmul_throughput(torch.bfloat16, seconds / 2) / matmul_throughput(torch.float32, seconds / 2)


def remembered_measure(hardware: Hardware, cache: os.PathLike | None) -> Callable[[], float]:
    """``bf16_speedup``, measured once per hardware class and torch version, then read from ``cache``.

    Every run of a study on one machine must resolve ``auto`` alike, so the measurement is taken
    once and kept (no cache folder: measured each time).
    """
    import torch

    key = json.dumps([asdict(hardware), torch.__version__, isa_limits()], sort_keys=True)

    def measure() -> float:
        if cache is None:
            return bf16_speedup()
        path = os.path.join(cache, CHOICE_FILE)
        with _locked(f"{path}.lock"):  # workers starting together measure once, not side by side
            known = _read_json(path)
            if key not in known:
                known[key] = bf16_speedup()
                _write_json(path, known)
        return known[key]

    return measure


@contextlib.contextmanager
def _locked(path: str):
    """Hold an exclusive lock on ``path`` (created if missing); without a writable folder, no lock."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle = open(path, "a+")
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def isa_limits() -> str:
    """The environment settings that hold torch's kernels below the CPU's ISA, e.g. ``ATEN_CPU_CAPABILITY=avx2``."""
    return " ".join(f"{name}={os.environ[name]}" for name in ISA_LIMITS if os.environ.get(name)) or "none"


def _read_json(path: str | None) -> dict:
    """A JSON object from ``path``, empty when it is missing or unreadable."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except (TypeError, OSError, ValueError):
        return {}


def _write_json(path: str, value: dict) -> None:
    """Write JSON with one rename (a reader never sees half a file); best effort."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        scratch = f"{path}.tmp-{os.getpid()}"
        with open(scratch, "w") as handle:
            json.dump(value, handle)
        os.replace(scratch, path)
    except OSError:
        pass  # an unwritable cache only costs a second per run


CUBLAS_WORKSPACE = ":4096:8"  # what cuBLAS needs for reproducible results (CUDA >= 10.2, torch docs)


def determinism(enabled: bool) -> dict:
    """Deterministic kernels from here on when ``enabled`` (off: torch's default); what a run records.

    On: ``CUBLAS_WORKSPACE_CONFIG`` (unless set already; cuBLAS reads it when its first handle
    is made, so call this before any matmul on the GPU), ``torch.use_deterministic_algorithms``
    (an op without a deterministic kernel then raises, naming itself) and no cuDNN autotuning.
    CPU kernels are deterministic for a fixed thread count already; on CPU this changes nothing
    that we use (tested: same predictions on and off).
    """
    import torch

    torch.use_deterministic_algorithms(enabled)
    if not enabled:
        return {"deterministic": False}
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.backends.cudnn.benchmark = False
    return {"deterministic": True, "cublas_workspace_config": os.environ["CUBLAS_WORKSPACE_CONFIG"]}


def record(hardware: Hardware, choice: Choice, tf32: bool) -> dict:
    """The numerics a run records: precision used (and asked for, and why), device, CPU class, threads."""
    return {"precision": choice.precision, "requested": choice.requested, "reason": choice.reason,
            "measured_bf16_speedup": choice.measured_speedup, "device": hardware.device_name,
            "cpu_capability": hardware.cpu_capability, "cpu_class": hardware.cpu_class(),
            "amx": hardware.amx, "avx512_bf16": hardware.avx512_bf16, "onednn_bf16": hardware.onednn_bf16,
            "isa_limits": isa_limits(), "threads": hardware.threads, "tf32": tf32}


# What a run's bits depend on. On CUDA the CPU's class and threads do not enter the kernels.
IDENTITY_FIELDS = ("precision", "device", "cpu_class", "isa_limits", "threads", "tf32")
CPU_ONLY_FIELDS = frozenset({"cpu_class", "isa_limits", "threads"})


def of_run(run_record: dict) -> dict:
    """A stored run's numerics; for runs stored before they were recorded, what their record shows."""
    info = run_record.get("run", {})
    if "numerics" in info:
        return info["numerics"]
    device = info.get("device", "cpu")  # older records: "cpu" or "cuda:0 (<GPU name>)"
    return {"precision": run_record["config"]["precision"],
            "device": device.partition(" (")[2].rstrip(")") or device,
            "threads": info.get("threads"), "tf32": info.get("tf32")}


def differences(stored: dict, current: dict) -> list[str]:
    """``field: stored -> current`` for each identity field both record and that differs."""
    on_cpu = current.get("device", "cpu") == "cpu"
    fields = [f for f in IDENTITY_FIELDS if on_cpu or f not in CPU_ONLY_FIELDS]
    return [f"{f}: {stored[f]} -> {current[f]}" for f in fields
            if stored.get(f) is not None and current.get(f) is not None and stored[f] != current[f]]


def identity(numerics_record: dict) -> dict:
    """The fields of a numerics record a run's bits depend on (what a study must hold fixed)."""
    return {f: numerics_record.get(f) for f in IDENTITY_FIELDS}


def tf32_allowed(precision: str) -> bool:
    """Whether CUDA fp32 matmuls may use TF32: never for ``fp32`` (exact means exact), else yes."""
    return precision != "fp32"


def announce(requested: str = "auto", device: torch.device | None = None) -> tuple[str, str]:
    """The precision a benchmark computes in, and its first line: device, CPU class, threads, precision.

    A figure printed without its hardware cannot be read (bf16 is 8x fp32 on AMX, 1/28 on AVX2).
    """
    import torch

    hardware = probe(device or torch.device("cpu"))
    choice = decide(requested, hardware)
    why = f"auto: {choice.reason}" if requested == "auto" else "asked for"
    return choice.precision, (f"hardware: {hardware.device_name}, CPU capability {hardware.cpu_class()}, "
                              f"{hardware.threads} threads; precision {choice.precision} ({why}); "
                              f"torch {torch.__version__}")
