"""Is configuration A better than B across seeds? Permutation test, bootstrap, Almost Stochastic Order.

Inputs are the per-seed scores of one metric for two configurations (two models, two learning
rates); the seeds of A and B need not pair up. The permutation test and the bootstrap come
from SciPy; ASO (Dror et al., 2019; del Barrio et al., 2018) from ``deepsig`` (Ulmer et al.,
2022), its maintained implementation.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Array = Sequence | np.ndarray


def _scores(values: Array, name: str) -> np.ndarray:
    """A 1-D float array of at least two finite scores, or a clear error."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be at least 2 finite per-seed scores, got {values!r}")
    return v


def _mean_difference(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean of A minus mean of B (vectorised for SciPy)."""
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def permutation_p_value(a: Array, b: Array, *, n_resamples: int = 10_000, seed: int = 0) -> float:
    """Two-sided p-value of the difference in means under random relabelling of the seeds.

    Exact (all relabellings) when there are at most ``n_resamples`` of them.
    """
    from scipy.stats import permutation_test

    result = permutation_test((_scores(a, "a"), _scores(b, "b")), _mean_difference,
                              permutation_type="independent", alternative="two-sided",
                              n_resamples=n_resamples, vectorized=True,
                              random_state=np.random.default_rng(seed))
    return float(result.pvalue)


def difference_interval(a: Array, b: Array, *, confidence: float = 0.95, n_resamples: int = 10_000,
                        seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(A) - mean(B), seeds resampled within each side."""
    from scipy.stats import bootstrap

    result = bootstrap((_scores(a, "a"), _scores(b, "b")), _mean_difference, vectorized=True,
                       n_resamples=n_resamples, confidence_level=confidence, method="percentile",
                       random_state=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def aso_violation(a: Array, b: Array, *, confidence: float = 0.95, seed: int = 0,
                  num_samples: int = 1000, num_bootstrap_iterations: int = 1000) -> float:
    """ASO's epsilon_min for "A is better than B": below 0.5 A is almost stochastically
    dominant (the closer to 0, the stronger); near 1, B dominates."""
    import warnings

    from deepsig import aso

    with warnings.catch_warnings():  # deepsig warns on ties; the bound it returns is still defined
        warnings.simplefilter("ignore")
        return float(aso(_scores(a, "a"), _scores(b, "b"), confidence_level=confidence, seed=seed,
                         num_samples=num_samples, num_bootstrap_iterations=num_bootstrap_iterations,
                         show_progress=False))


def compare(a: Array, b: Array, *, confidence: float = 0.95, seed: int = 0, aso: bool = True) -> dict:
    """Everything needed to say whether A beats B: means, their difference with interval,
    permutation p-value, and ASO epsilon_min both ways."""
    a, b = _scores(a, "a"), _scores(b, "b")
    low, high = difference_interval(a, b, confidence=confidence, seed=seed)
    out = {"mean_a": float(a.mean()), "mean_b": float(b.mean()), "difference": float(a.mean() - b.mean()),
           "difference_low": low, "difference_high": high,
           "permutation_p": permutation_p_value(a, b, seed=seed), "n_a": a.size, "n_b": b.size}
    if aso:
        out["aso_a_better"] = aso_violation(a, b, confidence=confidence, seed=seed)
        out["aso_b_better"] = aso_violation(b, a, confidence=confidence, seed=seed)
    return out
