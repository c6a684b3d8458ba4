"""Questions asked across tasks: is there a lucky seed, and does stability grow with training data?

Pure functions, arrays in and numbers out, for the reference study's two figures:
- ``lucky_seed_test``: with the same seeds run on several tasks, does some seed do better on
  all of them? Friedman's test over the within-task ranks of the seeds (tasks are blocks, seeds
  are treatments) and Kendall's W, its effect size (0: no common order, 1: every task ranks the
  seeds alike). Its p-value comes from a Monte Carlo permutation test (ranks shuffled within
  each task; an estimate of the exact permutation p, no chi-square approximation, which is poor
  with a handful of tasks), beside SciPy's asymptotic one;
- ``size_correlation``: the correlation across tasks of a stability statistic (VAR, CON,
  ACC-CON) with the log training-set size, Pearson with a Fisher-z interval (assumes the pairs
  are bivariate normal) and Spearman with an exact permutation p-value (no assumption).
Both treat tasks as the sample: with 7 tasks the intervals are wide, and they should be.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

Array = Sequence | np.ndarray


def _table(scores: Array) -> np.ndarray:
    """A finite (n_tasks, n_seeds) score table with at least 2 tasks and 3 seeds, or a clear error."""
    x = np.asarray(scores, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 3:
        raise ValueError(f"scores must be shaped (n_tasks >= 2, n_seeds >= 3), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("scores must be finite (leave out tasks with undefined scores)")
    return x


def normalised_scores(scores: Array) -> np.ndarray:
    """Each task's scores standardised across seeds (mean 0, sample std 1; 0 where a task's
    scores are all equal), so tasks on different scales share one colour map."""
    x = np.asarray(scores, dtype=float)
    std = x.std(axis=1, ddof=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(std > 0, (x - x.mean(axis=1, keepdims=True)) / std, 0.0)


def kendall_w(ranks: np.ndarray) -> float:
    """Kendall's W of a (n_tasks, n_seeds) rank table (no tie correction): 1 when every task
    orders the seeds alike, 0 when the mean ranks are all equal."""
    k = ranks.shape[1]
    spread = ((ranks.mean(axis=0) - (k + 1) / 2) ** 2).sum()
    return float(12 * spread / (k * (k ** 2 - 1)))


def lucky_seed_test(scores: Array, *, n_permutations: int = 10_000,
                    seed: int | np.random.Generator = 0) -> dict[str, float]:
    """Is some seed better across tasks? ``scores``: (n_tasks, n_seeds), the same seeds on each task.

    Returns Kendall's W, Friedman's chi-square (SciPy, with its tie correction) and asymptotic
    p-value, the permutation p-value of W (ranks shuffled independently within each task, the
    null of no seed effect; (1 + hits) / (1 + n_permutations)), each seed's mean rank (1 =
    worst) and the position of the best one. Ties within a task get mid-ranks.
    """
    x = _table(scores)
    ranks = stats.rankdata(x, axis=1)
    w = kendall_w(ranks)
    chi2, p_chi2 = stats.friedmanchisquare(*x.T)
    rng = np.random.default_rng(seed)
    shuffled = rng.permuted(np.broadcast_to(ranks, (n_permutations, *ranks.shape)), axis=2)
    k = ranks.shape[1]
    spread = ((shuffled.mean(axis=1) - (k + 1) / 2) ** 2).sum(axis=1)
    w_null = 12 * spread / (k * (k ** 2 - 1))
    hits = int(np.sum(w_null >= w - 1e-12))
    mean_ranks = ranks.mean(axis=0)
    return {"n_tasks": int(x.shape[0]), "n_seeds": int(k), "kendall_w": w,
            "friedman_chi2": float(chi2), "p_asymptotic": float(p_chi2),
            "p_permutation": (1 + hits) / (1 + n_permutations),
            "mean_ranks": mean_ranks.tolist(), "best": int(np.argmax(mean_ranks))}


def fisher_interval(r: float, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Interval for a Pearson correlation from Fisher's z (atanh(r) ~ normal with sd 1/sqrt(n - 3)),
    valid for bivariate normal pairs; NaN with fewer than 4 pairs or an undefined r."""
    if n < 4 or not np.isfinite(r):
        return math.nan, math.nan
    z, half = math.atanh(min(max(r, -0.999999), 0.999999)), stats.norm.ppf(0.5 + confidence / 2) / math.sqrt(n - 3)
    return math.tanh(z - half), math.tanh(z + half)


def _rank_correlations(rx: np.ndarray, orderings: np.ndarray) -> np.ndarray:
    """Pearson correlation of ranks ``rx`` with each row of ``orderings`` (vectorised Spearman)."""
    a = rx - rx.mean()
    b = orderings - orderings.mean(axis=1, keepdims=True)
    return (b @ a) / (np.linalg.norm(a) * np.linalg.norm(b, axis=1))


def spearman_permutation_p(x: Array, y: Array, *, n_permutations: int = 10_000,
                           seed: int | np.random.Generator = 0) -> float:
    """Two-sided p-value of Spearman's rho under the null of no association: exact over every
    ordering for up to 8 pairs, Monte Carlo (seeded, (1 + hits) / (1 + n)) beyond."""
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    observed = abs(_rank_correlations(rx, ry[None, :])[0])
    if len(rx) <= 8:
        null = _rank_correlations(rx, ry[np.array(list(itertools.permutations(range(len(ry)))))])
        return float(np.mean(np.abs(null) >= observed - 1e-12))
    rng = np.random.default_rng(seed)
    null = _rank_correlations(rx, rng.permuted(np.tile(ry, (n_permutations, 1)), axis=1))
    return float((1 + np.sum(np.abs(null) >= observed - 1e-12)) / (1 + n_permutations))


def size_correlation(sizes: Array, values: Array, *, confidence: float = 0.95) -> dict[str, float]:
    """Correlation across tasks of a statistic with log10 of the training-set size.

    Pearson r of (log10 size, value) with its Fisher-z interval, and Spearman's rho with its
    exact permutation p-value. Pairs with a missing value are left out; with fewer than 4 left
    everything is NaN.
    """
    s, v = np.asarray(sizes, dtype=float), np.asarray(values, dtype=float)
    ok = np.isfinite(s) & np.isfinite(v) & (s > 0)
    s, v = np.log10(s[ok]), v[ok]
    nan = math.nan
    if s.size < 4 or np.ptp(s) == 0 or np.ptp(v) == 0:
        return {"n_tasks": int(s.size), "pearson": nan, "pearson_low": nan, "pearson_high": nan,
                "spearman": nan, "spearman_p": nan}
    r = float(np.corrcoef(s, v)[0, 1])
    low, high = fisher_interval(r, s.size, confidence=confidence)
    return {"n_tasks": int(s.size), "pearson": r, "pearson_low": low, "pearson_high": high,
            "spearman": float(stats.spearmanr(s, v).statistic), "spearman_p": spearman_permutation_p(s, v)}
