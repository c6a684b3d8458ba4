"""Macro statistics: one metric's scores over seeds in, its summary out (mean, VAR, std, range)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Array = np.ndarray | Sequence


def macro_summary(scores: Array) -> dict[str, float]:
    """Mean, sample std (ddof=1), variance, min, max and range of one metric over seeds.

    Undefined scores (NaN) are left out and counted in ``n_undefined``; they are never averaged.
    With fewer than two defined scores std and variance are NaN.
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-D (one per seed), got shape {s.shape}")
    ok = s[np.isfinite(s)]
    nan = math.nan
    summary = {"n": int(s.size), "n_undefined": int(s.size - ok.size)}
    if ok.size == 0:
        return {**summary, "mean": nan, "std": nan, "var": nan, "min": nan, "max": nan, "range": nan}
    var = float(np.var(ok, ddof=1)) if ok.size > 1 else nan
    return {**summary, "mean": float(ok.mean()), "std": math.sqrt(var) if ok.size > 1 else nan,
            "var": var, "min": float(ok.min()), "max": float(ok.max()),
            "range": float(ok.max() - ok.min())}
