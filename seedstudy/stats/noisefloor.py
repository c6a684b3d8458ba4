"""The numeric noise floor: how far predictions move when only the numerics change, next to the seed.

Two studies run the same seeds under different numerics (bf16 on AMX vs fp32 on AVX2, or fp32
vs bf16 on one machine). Bits are not shared across numerics, and a rounding difference in
step 1 grows through training like any other perturbation, so a run with the same seed under
other numerics is, in the end, another run. How far it lands from its twin, next to how far two
seeds land from each other, says whether a study's seed spread is the seed's at all.

Definitions, for ``a`` and ``b`` shaped ``(n_seeds, n_examples)`` with row i of both made with
the same seed:

* ``con_same_seed``: mean over seeds of the share of examples a run and its twin label alike
  (regression: mean Pearson correlation of the twins' predictions, the CON-PEAR analogue);
* ``con_seed``: the paper's CON (CON-PEAR) over pairs of different seeds, within ``a`` and within
  ``b``, averaged over the two;
* ``ratio``: (1 - con_same_seed) / (1 - con_seed), the numerics' disagreement as a share of the
  seed's. 0: the numerics change no prediction; 1: they move predictions as far as a new seed.

The interval of ``ratio`` is an expanded percentile bootstrap over examples (whole groups where
the task has them), both studies resampled alike, for these seeds (seeds are not resampled: see
``uncertainty``). It assumes independent examples; a seed-level spread is shown by the range of
the per-seed twin agreement.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..benchmark.metrics import pearson
from .consistency import check_runs, con, con_pear
from .uncertainty import example_interval

Array = Sequence | np.ndarray


def twin_agreement(a: Array, b: Array, *, regression: bool = False) -> np.ndarray:
    """Per seed, the agreement of a run with its twin: share labelled alike (regression: Pearson r)."""
    p, q = _twins(a, b)
    if regression:
        return np.array([pearson(p[i].astype(float), q[i].astype(float)) for i in range(len(p))])
    return (p == q).mean(axis=1)


def _twins(a: Array, b: Array) -> tuple[np.ndarray, np.ndarray]:
    """Both prediction matrices, checked to pair row by row (same seeds, same examples)."""
    p, q = check_runs(a, min_runs=2), check_runs(b, min_runs=2)
    if p.shape != q.shape:
        raise ValueError(f"the two studies must hold the same seeds on the same examples: prediction "
                         f"matrices shaped {p.shape} and {q.shape}")
    return p, q


def seed_agreement(a: Array, b: Array, *, regression: bool = False) -> float:
    """CON (regression: CON-PEAR) over pairs of different seeds, within each study, averaged over the two."""
    p, q = _twins(a, b)
    score = con_pear if regression else con
    return float((score(p) + score(q)) / 2)


def disagreement_ratio(a: Array, b: Array, *, regression: bool = False) -> float:
    """(1 - twin agreement) / (1 - seed agreement): the numerics' share of the seed's disagreement."""
    same = float(np.mean(twin_agreement(a, b, regression=regression)))
    seed = seed_agreement(a, b, regression=regression)
    return (1 - same) / (1 - seed) if seed < 1 else float("nan")


def noise_floor(a: Array, b: Array, *, regression: bool = False, groups: Array | None = None,
                n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Twin agreement (mean, min, max over seeds), seed agreement, and the ratio with its interval."""
    p, q = _twins(a, b)
    twins = twin_agreement(p, q, regression=regression)
    n = len(p)

    def statistic(stacked: np.ndarray, _labels) -> float:
        return disagreement_ratio(stacked[:n], stacked[n:], regression=regression)

    stacked = np.concatenate([p, q]) if p.dtype == q.dtype else np.concatenate([p, q]).astype(object)
    ratio = example_interval(statistic, stacked, groups=groups, n_resamples=n_resamples,
                             confidence=confidence, seed=seed)
    return {"con_same_seed": float(np.mean(twins)), "con_same_seed_min": float(np.min(twins)),
            "con_same_seed_max": float(np.max(twins)),
            "con_seed": seed_agreement(p, q, regression=regression),
            "ratio": ratio["value"], "ratio_low": ratio["low"], "ratio_high": ratio["high"]}


def verdict(ratio: float, high: float, con_seed: float = float("nan")) -> str:
    """What the ratio says in words: as much as the seed (its interval reaches 1), or which share of it."""
    if not np.isfinite(ratio):
        if con_seed == 1:
            return "undefined (the seeds never disagree)"
        return "undefined (a run predicts a constant or nothing)"
    if high >= 1:
        return "numerics alone move predictions as much as the seed (the ratio's interval reaches 1)"
    if ratio == 0 and high == 0:
        return "numerics change no prediction"
    if ratio < 0.01:
        return "numerics move predictions < 1% as much as the seed"
    return f"numerics move predictions {ratio:.0%} as much as the seed"
