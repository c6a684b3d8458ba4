"""How sure the numbers are with only N seeds: bootstrap intervals and expected maximum performance.

Bootstraps use ``scipy.stats.bootstrap`` (percentile intervals) on index arrays, so any
statistic of a prediction matrix can be resampled over examples (the evaluation set is a sample
of the task) or over seeds (the seeds are a sample of all seeds). Resampling seeds with
replacement repeats some, which lifts consistency (a repeated seed always agrees with itself):
read seed intervals of consistency as optimistic.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .metrics import _runs, subset_agreement, subset_correct

Array = Sequence | np.ndarray
Statistic = Callable[[np.ndarray, np.ndarray | None], float]


def bootstrap_interval(statistic: Statistic, preds: Array, labels: Array | None = None, *,
                       over: str = "examples", n_resamples: int = 1000, confidence: float = 0.95,
                       seed: int = 0) -> dict[str, float]:
    """Point value and percentile bootstrap interval of ``statistic(preds, labels)``.

    ``over="examples"`` resamples columns (examples, with their labels); ``over="seeds"``
    resamples rows (seeds). Returns ``{"value", "low", "high"}``; a statistic that is NaN on
    the data gives NaN bounds.
    """
    from scipy.stats import bootstrap

    p = _runs(preds)
    y = None if labels is None else np.asarray(labels)
    if over not in ("examples", "seeds"):
        raise ValueError(f"bad over={over!r}: expected 'examples' or 'seeds'")
    axis_size = p.shape[1] if over == "examples" else p.shape[0]
    if axis_size < 2:
        raise ValueError(f"bootstrap over {over} needs at least 2, got {axis_size}")

    def resampled(index: np.ndarray) -> float:
        index = index.astype(int)
        if over == "examples":
            return statistic(p[:, index], None if y is None else y[index])
        return statistic(p[index], y)

    value = statistic(p, y)
    if not np.isfinite(value):
        return {"value": float(value), "low": float("nan"), "high": float("nan")}
    result = bootstrap((np.arange(axis_size),), resampled, n_resamples=n_resamples,
                       confidence_level=confidence, method="percentile", vectorized=False,
                       random_state=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return {"value": float(value), "low": float(low), "high": float(high)}


def example_mean_interval(values: Array, *, n_resamples: int = 1000, confidence: float = 0.95,
                          seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval, over examples, of the mean of a per-example quantity."""
    from scipy.stats import bootstrap

    v = np.asarray(values, dtype=float)
    if v.size < 2 or np.all(v == v[0]):  # nothing to resample: the interval is the point
        return float(v.mean()), float(v.mean())
    result = bootstrap((v,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                       method="percentile", vectorized=True, random_state=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def consistency_curve_intervals(preds: Array, labels: Array | None = None, *, tol: float | None = None,
                                **kwargs) -> dict[int, dict[str, float]]:
    """For k = 2..N seeds: the expected consistency over all k-subsets of the seeds with its
    bootstrap interval over examples (and the same for correct consistency, with labels).

    The expected value is a mean over examples of each example's chance that k seeds agree
    (``metrics.subset_agreement``), so resampling examples needs no subset enumeration.
    """
    p = _runs(preds, min_runs=2)
    curve = {}
    for k in range(2, p.shape[0] + 1):
        agree = subset_agreement(p, k, tol=tol)
        low, high = example_mean_interval(agree, **kwargs)
        point = {"consistency": float(agree.mean()), "consistency_low": low, "consistency_high": high}
        if labels is not None:
            right = subset_correct(p, labels, k, tol=tol)
            low, high = example_mean_interval(right, **kwargs)
            point |= {"correct_consistency": float(right.mean()),
                      "correct_consistency_low": low, "correct_consistency_high": high}
        curve[k] = point
    return curve


def mean_interval(scores: Array, **kwargs) -> dict[str, float]:
    """Bootstrap interval, over seeds, of the mean of one metric's per-seed scores."""
    return bootstrap_interval(lambda s, _: float(np.mean(s)), np.asarray(scores, float)[:, None],
                              over="seeds", **kwargs)


def std_interval(scores: Array, **kwargs) -> dict[str, float]:
    """Bootstrap interval, over seeds, of the sample std (ddof=1) of one metric's per-seed scores."""
    return bootstrap_interval(lambda s, _: float(np.std(s, ddof=1)), np.asarray(scores, float)[:, None],
                              over="seeds", **kwargs)


def expected_max(scores: Array, n: int) -> float:
    """Expected best score among ``n`` seeds drawn with replacement from the observed ones.

    Dodge et al. (2019), "Show your work": with the N observed scores sorted v_1 <= ... <= v_N,
    E[max of n] = sum_i v_i [(i/N)^n - ((i-1)/N)^n].

    >>> expected_max([0.6, 0.8], 1), expected_max([0.6, 0.8], 2)
    (0.7, 0.75)
    """
    v = np.sort(np.asarray(scores, dtype=float))
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError("expected_max needs a non-empty 1-D array of finite scores")
    if n < 1:
        raise ValueError(f"bad n={n}: expected at least 1 seed")
    N = v.size
    i = np.arange(1, N + 1)
    return float(np.round(np.sum(v * ((i / N) ** n - ((i - 1) / N) ** n)), 12))


def expected_max_curve(scores: Array, max_n: int | None = None) -> dict[int, dict[str, float]]:
    """Expected maximum validation score for n = 1..max_n seeds, with its spread (Dodge et al., 2019).

    ``std`` is the standard deviation of the maximum of n draws, from the same distribution.
    """
    v = np.sort(np.asarray(scores, dtype=float))
    N = v.size
    i = np.arange(1, N + 1)
    curve = {}
    for n in range(1, (max_n or N) + 1):
        weights = (i / N) ** n - ((i - 1) / N) ** n
        mean = float(np.sum(v * weights))
        curve[n] = {"expected_max": mean,
                    "std": float(np.sqrt(max(np.sum(weights * (v - mean) ** 2), 0.0)))}
    return curve
