"""How sure the numbers are with only N seeds: intervals that count seeds and examples, and
expected maximum performance.

Two sources of chance shape every number: the seeds (a sample of all seeds) and the evaluation
examples (a sample of the task). The statistics fall in two kinds.

* A score averaged over seeds (accuracy, F1, ...) varies with both. ``example_resamples`` draws
  B bootstrap resamples of the examples (whole groups when the task has them: MultiRC questions,
  AX-g minimal pairs), shared by all seeds; ``resampled_scores`` scores every seed on each, a
  (1 + B, N) matrix; ``seed_example_interval`` splits the variance of the mean into a seed part
  and an example part (two-way random effects with interaction, the variance-components reading
  of the multibootstrap of Sellam et al., 2022) and gives a t interval with Satterthwaite
  degrees of freedom. A plain percentile bootstrap over 5 seeds covers ~85 % at a nominal 95 %
  (no (N-1)/N correction, normal instead of t quantiles) and ignores the examples.
* An agreement statistic across seeds (CON, ACC-CON, all-seeds agreement) gets an interval over
  examples only (``example_interval``, an expanded percentile bootstrap), for these N seeds.
  Seeds are never resampled: a seed drawn twice always agrees with itself, so such an interval
  would start at its point estimate.
* CON and ACC-CON as estimates for the seed population too (a new study, new seeds, new
  examples): ``agreement_interval`` and, between two models or recipes, ``agreement_difference``.
  The seed part is a delete-one-seed jackknife of the pair mean (a U-statistic over seeds), the
  example part the covariance over shared resamples between seed pairs with no seed in common
  (what the examples alone make them share), the same split as ``variance_components``.

The std over seeds gets a chi-square interval, which assumes normally distributed scores
(``std_interval``). All random draws come from a generator seeded by an argument (an int or a
``numpy.random.Generator``), never NumPy's global state.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from .consistency import check_runs, pair_values, seed_pairs, subset_agreement, subset_correct

Array = Sequence | np.ndarray
Seed = int | np.random.Generator
Statistic = Callable[[np.ndarray, np.ndarray | None], float]
Score = Callable[..., float]


# ---------------------------------------------------------------- example resampling
def _group_codes(n_examples: int, groups: Array | None) -> np.ndarray:
    """Group ids as codes 0..G-1 (each example its own group when ``groups`` is None)."""
    if groups is None:
        return np.arange(n_examples)
    g = np.asarray(groups)
    if g.shape != (n_examples,):
        raise ValueError(f"groups must have shape ({n_examples},) like the examples, got {g.shape}")
    return np.unique(g, return_inverse=True)[1].reshape(-1)


def _iter_resamples(n_examples: int, groups: Array | None, n_resamples: int,
                    seed: Seed) -> Iterator[np.ndarray]:
    """Yield ``n_resamples`` cluster-bootstrap index arrays (see ``example_resamples``)."""
    codes = _group_codes(n_examples, groups)
    n_groups = int(codes.max()) + 1 if codes.size else 0
    if n_groups < 2:
        raise ValueError(f"resampling examples needs at least 2 examples (groups), got {n_groups}")
    rng = np.random.default_rng(seed)
    order = np.argsort(codes, kind="stable").astype(np.int32)  # each group's rows, ascending
    sizes = np.bincount(codes, minlength=n_groups)
    starts = np.cumsum(sizes) - sizes
    for _ in range(n_resamples):
        drawn = rng.integers(0, n_groups, n_groups, dtype=np.int32)
        if groups is None:
            yield drawn
            continue
        lengths = sizes[drawn]
        ends = np.cumsum(lengths)  # copy j fills positions ends[j] - lengths[j] .. ends[j] - 1
        yield order[np.arange(ends[-1]) + np.repeat(starts[drawn] - ends + lengths, lengths)]


def example_resamples(n_examples: int, *, groups: Array | None = None, n_resamples: int = 1000,
                      seed: Seed = 0) -> list[np.ndarray]:
    """Row indices of B bootstrap resamples of the examples, to score every seed on the same ones.

    Without ``groups``: n examples drawn with replacement. With ``groups`` (one id per example):
    G groups drawn with replacement, each kept whole (a cluster bootstrap; members of a group are
    not independent, so resampling them one by one would understate the variance). Each drawn
    copy of a group is contiguous, its rows in ascending order. Indices are int32.
    """
    return list(_iter_resamples(n_examples, groups, n_resamples, seed))


def copy_ids(codes: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Within one cluster resample, a distinct id per drawn copy of a group (a new copy starts where
    the group changes or the row order restarts)."""
    c = codes[index]
    new = np.r_[True, (c[1:] != c[:-1]) | (index[1:] <= index[:-1])]
    return np.cumsum(new)


def resampled_scores(score: Score, labels: Array | None, preds: Array,
                     resamples: Sequence[np.ndarray], *, groups: Array | None = None) -> np.ndarray:
    """Each seed's score on all examples (row 0) and on each resample (rows 1..B): shape (1 + B, N).

    ``score(labels_1d, preds_1d) -> float`` (``labels`` may be None for scores that need none).
    With ``groups`` (the ids given to ``example_resamples``) it is called as
    ``score(labels, preds, groups)``, each drawn copy of a group getting an id of its own, so a
    question drawn twice counts twice in MultiRC's exact match.
    """
    p = check_runs(preds)
    n = p.shape[1]
    y = None if labels is None else np.asarray(labels)
    if y is not None and y.shape[0] != n:
        raise ValueError(f"labels must have {n} entries like preds has columns, got {y.shape}")
    codes = None if groups is None else _group_codes(n, groups)
    out = np.empty((1 + len(resamples), p.shape[0]))
    for row, index in enumerate([np.arange(n), *resamples]):
        y_row = None if y is None else y[index]
        extra = () if codes is None else ((codes if row == 0 else copy_ids(codes, index)),)
        for s in range(p.shape[0]):
            out[row, s] = score(y_row, p[s, index], *extra)
    return out


# ---------------------------------------------------------------- seeds and examples together
def check_scores(scores: Array, name: str = "scores") -> np.ndarray:
    """A (1 + B, N) float matrix with B >= 2 and N >= 2, or a clear error."""
    y = np.asarray(scores, dtype=float)
    if y.ndim != 2 or y.shape[0] < 3 or y.shape[1] < 2:
        raise ValueError(f"{name} must be shaped (1 + B, n_seeds) with B >= 2 resamples and "
                         f">= 2 seeds (from resampled_scores), got shape {y.shape}")
    return y


def finite_rows(*matrices: np.ndarray) -> list[np.ndarray]:
    """The matrices without the resample rows (after row 0) where any of them is not finite."""
    keep = np.logical_and.reduce([np.all(np.isfinite(m), axis=1) for m in matrices])
    keep[0] = True
    return [m[keep] for m in matrices]


def variance_components(scores: Array) -> dict[str, float]:
    """Mean over seeds of row 0 and the seed and example parts of its variance.

    Model: y(s, E) = mu + alpha_s + beta_E + gamma_sE (seed s, example set E, gamma the
    seed-by-example interaction): Var(mean) = var_alpha / N + var_beta + var_gamma / N. From
    Y[0] (all examples) and Y[1:] (B resamples shared by the seeds):

    * ``seed_variance`` = s^2 / N, s^2 = var_s(Y[0]) (ddof=1), unbiased for (var_alpha +
      var_gamma) / N: what retraining seeds on this evaluation set shows; the one part estimated
      from only N - 1 df.
    * ``example_variance`` = mean covariance over resamples between two seeds' scores,
      (N v_E - w) / (N - 1) with v_E = var_b(mean_s Y[b]) and w = mean_s var_b(Y[b, s]):
      unbiased for var_beta, what a new evaluation set adds. Not clipped at 0 (it scatters
      around 0 for paired differences, where clipping made the test conservative).
    * ``interaction_variance`` = (w - v_E) / (N - 1) >= 0, estimating var_gamma / N (a part of
      seed_variance), for information.

    The sum equals (s^2 - v_gamma) / N + v_E with v_gamma = N / (N - 1) (w - v_E): the same
    total as subtracting the interaction from s^2. Resample rows with a non-finite score are
    dropped.
    """
    y = finite_rows(check_scores(scores))[0]
    if y.shape[0] < 3:
        raise ValueError("fewer than 2 resamples with finite scores")
    n_seeds, full, boot = y.shape[1], y[0], y[1:]
    v_e = float(np.var(boot.mean(axis=1), ddof=1))
    within = float(np.mean(np.var(boot, axis=0, ddof=1)))
    return {"value": float(full.mean()), "seed_variance": float(np.var(full, ddof=1)) / n_seeds,
            "example_variance": (n_seeds * v_e - within) / (n_seeds - 1),
            "interaction_variance": max(0.0, within - v_e) / (n_seeds - 1),
            "n_seeds": n_seeds, "n_resamples": boot.shape[0]}


def t_interval(value: float, variance: float, terms: Sequence[tuple[float, int]], *,
               confidence: float = 0.95) -> dict[str, float]:
    """value +- t_df * sqrt(variance), with Satterthwaite df = variance^2 / sum(v_i^2 / df_i).

    ``terms``: (estimate, df) of each part of ``variance`` estimated from few seeds (s^2 / N on
    N - 1 df); parts from the B example resamples count as known. df is infinite (normal
    quantiles) when no term is positive or the variance is 0; a variance below 0 (an unbiased
    estimate, by chance) counts as 0; a non-finite value or variance gives NaN throughout. Also
    returns ``t`` and the two-sided ``p_value`` of value = 0.
    """
    from scipy.stats import norm, t

    if not (np.isfinite(value) and np.isfinite(variance)):
        nan = float("nan")
        return {"value": float(value), "low": nan, "high": nan, "se": nan, "df": nan, "t": nan, "p_value": nan}
    variance = max(0.0, float(variance))
    denominator = sum(v ** 2 / d for v, d in terms if v > 0)
    df = variance ** 2 / denominator if denominator > 0 and variance > 0 else float("inf")
    se = float(np.sqrt(variance))
    dist = norm if np.isinf(df) else t(df)
    half = float(dist.ppf(0.5 + confidence / 2)) * se
    if se > 0:
        stat = value / se
        p = float(2 * dist.sf(abs(stat)))
    else:
        stat, p = (0.0, 1.0) if value == 0 else (float(np.sign(value) * np.inf), 0.0)
    return {"value": float(value), "low": float(value - half), "high": float(value + half),
            "se": se, "df": float(df), "t": float(stat), "p_value": p}


def seed_example_interval(scores: Array, *, confidence: float = 0.95) -> dict[str, float]:
    """Interval for the mean score over seeds that counts seed and test-set (example) variance.

    ``scores``: (1 + B, N) from ``resampled_scores`` (row 0 on all examples). The estimand is the
    expected score of a new seed on a new evaluation set from the task's population (the
    multibootstrap's target, Sellam et al., 2022). V = max(0, seed_variance + example_variance)
    (``variance_components``); interval mean +- t_df sqrt(V) with Satterthwaite
    df = V^2 / (seed_variance^2 / (N - 1)), infinite when seed_variance is 0. Assumes seeds and
    examples (groups) are independent draws and per-seed scores roughly normal (t with few seeds).
    Returns value, low, high, se, df, seed_variance, example_variance (se^2 is their sum),
    interaction_variance (part of seed_variance), n_seeds, n_resamples.
    """
    parts = variance_components(scores)
    ci = t_interval(parts["value"], parts["seed_variance"] + parts["example_variance"],
                    [(parts["seed_variance"], parts["n_seeds"] - 1)], confidence=confidence)
    return {k: ci[k] for k in ("value", "low", "high", "se", "df")} | {
        k: parts[k] for k in ("seed_variance", "example_variance", "interaction_variance",
                              "n_seeds", "n_resamples")}


# ---------------------------------------------------------------- examples only (agreement)
def _expanded_level(confidence: float, n_units: int) -> float:
    """Confidence level whose percentile interval corrects the bootstrap's small-sample narrowness.

    Hesterberg's expanded percentile interval (The American Statistician 69(4), 2015): quantiles
    at alpha' with z_{alpha'/2} = sqrt(n / (n - 1)) t_{alpha/2, n - 1}, n the resampled units
    (examples or groups). A plain percentile interval over 60 groups covered 93.6 % at 95 %.
    """
    from scipy.stats import norm, t

    if n_units < 2:
        return confidence
    z = np.sqrt(n_units / (n_units - 1)) * t.ppf(0.5 + confidence / 2, n_units - 1)
    return float(1 - 2 * norm.sf(z))


def _percentile(values: np.ndarray, confidence: float, n_units: int) -> tuple[float, float]:
    """Expanded percentile interval of the finite bootstrap values (NaN when there are none)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return float("nan"), float("nan")
    level = _expanded_level(confidence, n_units)
    low, high = np.quantile(v, [0.5 - level / 2, 0.5 + level / 2])
    return float(low), float(high)


def _n_units(n_examples: int, groups: Array | None) -> int:
    """How many independent units a resample draws: examples, or groups."""
    return n_examples if groups is None else int(np.unique(np.asarray(groups)).size)


def example_interval(statistic: Statistic, preds: Array, labels: Array | None = None, *,
                     groups: Array | None = None, n_resamples: int = 1000, confidence: float = 0.95,
                     seed: Seed = 0) -> dict[str, float]:
    """Bootstrap interval over examples of ``statistic(preds, labels)``, the seeds held fixed.

    For agreement statistics (CON, ACC-CON, all-seeds agreement, kappa): the interval is for these
    N seeds' agreement on the task's population of examples. Columns of ``preds`` (with their
    labels) are resampled; with ``groups`` whole groups are (cluster bootstrap). Assumes examples
    (groups) are independent draws. Expanded percentile interval (``_expanded_level``: the
    plain percentile interval is too narrow with few examples or groups). Resamples where the
    statistic is NaN are left out; a statistic NaN on the data gives NaN bounds. Returns
    ``{"value", "low", "high"}``.
    """
    p = check_runs(preds)
    y = None if labels is None else np.asarray(labels)
    value = float(statistic(p, y))
    if not np.isfinite(value):
        return {"value": value, "low": float("nan"), "high": float("nan")}
    boot = np.array([statistic(p[:, i], None if y is None else y[i])
                     for i in _iter_resamples(p.shape[1], groups, n_resamples, seed)], dtype=float)
    low, high = _percentile(boot, confidence, _n_units(p.shape[1], groups))
    return {"value": value, "low": low, "high": high}


def example_mean_interval(values: Array, *, groups: Array | None = None, n_resamples: int = 1000,
                          confidence: float = 0.95, seed: Seed = 0) -> tuple[float, float]:
    """Expanded percentile bootstrap interval, over examples (whole groups with ``groups``), of
    the mean of a per-example quantity (see ``example_interval``)."""
    v = np.asarray(values, dtype=float)
    if v.size < 2 or np.all(v == v[0]):  # nothing to resample: the interval is the point
        return float(v.mean()), float(v.mean())
    boot = np.array([v[i].mean() for i in _iter_resamples(v.size, groups, n_resamples, seed)])
    return _percentile(boot, confidence, _n_units(v.size, groups))


def all_agree_curve_intervals(preds: Array, labels: Array | None = None, *, tol: float | None = None,
                                groups: Array | None = None, **kwargs) -> dict[int, dict[str, float]]:
    """For k = 2..N seeds: the expected all-seeds agreement over all k-subsets of the seeds with its
    bootstrap interval over examples (and the same for all-seeds correct, with labels).

    The expected value is a mean over examples of each example's chance that k seeds agree
    (``consistency.subset_agreement``), so resampling examples needs no subset enumeration. With
    ``groups`` whole groups are resampled. ``kwargs`` go to ``example_mean_interval``.
    """
    p = check_runs(preds, min_runs=2)
    curve = {}
    for k in range(2, p.shape[0] + 1):
        agree = subset_agreement(p, k, tol=tol)
        low, high = example_mean_interval(agree, groups=groups, **kwargs)
        point = {"all_agree": float(agree.mean()), "all_agree_low": low, "all_agree_high": high}
        if labels is not None:
            right = subset_correct(p, labels, k, tol=tol)
            low, high = example_mean_interval(right, groups=groups, **kwargs)
            point |= {"all_correct": float(right.mean()),
                      "all_correct_low": low, "all_correct_high": high}
        curve[k] = point
    return curve


# ---------------------------------------------------------------- spread over seeds
def std_interval(scores: Array, *, confidence: float = 0.95) -> dict[str, float]:
    """Sample std (ddof=1) of per-seed scores with its chi-square interval.

    Assumes the N scores are independent draws from a normal distribution, so that
    (N - 1) s^2 / sigma^2 ~ chi2(N - 1): sigma lies in [s sqrt((N-1)/chi2_{1-a/2}),
    s sqrt((N-1)/chi2_{a/2})] with probability 1 - a. Not robust to heavy tails or outlier
    seeds (a failed run). The std is that of scores on this evaluation set (test set fixed).
    """
    from scipy.stats import chi2

    v = np.asarray(scores, dtype=float)
    if v.ndim != 1 or v.size < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"std_interval needs at least 2 finite per-seed scores, got {scores!r}")
    s, df = float(np.std(v, ddof=1)), v.size - 1
    alpha = 1 - confidence
    return {"value": s, "low": s * float(np.sqrt(df / chi2.ppf(1 - alpha / 2, df))),
            "high": s * float(np.sqrt(df / chi2.ppf(alpha / 2, df)))}


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


# ---------------------------------------------------------------- seeds and examples (agreement)
def jackknife_pair_variance(pair_means: Array, n_seeds: int) -> float:
    """Delete-one-seed jackknife variance of the mean over seed pairs of per-pair values.

    ``pair_means`` in ``consistency.seed_pairs(n_seeds)`` order. The pair mean is a U-statistic of
    degree 2 over the seeds; its jackknife variance is conservative (Efron-Stein: expected value
    >= the true variance; Arvesen, 1969). Needs >= 3 seeds (with 2, leaving one out leaves no pair).
    """
    values = np.asarray(pair_means, dtype=float)
    pairs = seed_pairs(n_seeds)
    if n_seeds < 3 or values.shape != (len(pairs),):
        raise ValueError(f"needs >= 3 seeds and one value per seed pair ({len(pairs)}), got {n_seeds} seeds "
                         f"and {values.shape[0] if values.ndim else 0} values")
    left_out = np.array([values[[k for k, (a, b) in enumerate(pairs) if i not in (a, b)]].mean()
                         for i in range(n_seeds)])
    return float((n_seeds - 1) / n_seeds * np.sum((left_out - left_out.mean()) ** 2))


def _resampled_pairs(values: np.ndarray, resamples: Sequence[np.ndarray]) -> np.ndarray:
    """Per-pair means on every resample of the examples: shape (B, n_pairs)."""
    return np.array([values[:, index].mean(axis=1) for index in resamples])


def _cross_covariance(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> float:
    """Mean over the kept (pair of A, pair of B) cells of the covariance over resamples."""
    centred_a, centred_b = a - a.mean(axis=0), b - b.mean(axis=0)
    cov = centred_a.T @ centred_b / (a.shape[0] - 1)
    return float(cov[keep].mean()) if keep.any() else float("nan")


def _disjoint(n_seeds: int) -> np.ndarray:
    """(pair, pair) cells of two different pairs with no seed in common."""
    pairs = seed_pairs(n_seeds)
    return np.array([[not set(p) & set(q) for q in pairs] for p in pairs], dtype=bool)


def _within_example_variance(boot: np.ndarray, n_seeds: int) -> float:
    """The examples' share of a pair mean's variance: covariance over resamples between pairs with
    no seed in common. With 3 seeds no two pairs are disjoint: the resampled pair mean's whole
    variance is used (it also holds seed-by-example noise, so the interval is conservative)."""
    keep = _disjoint(n_seeds)
    if keep.any():
        return _cross_covariance(boot, boot, keep)
    return float(np.var(boot.mean(axis=1), ddof=1))


def _agreement_parts(preds: Array, labels: Array | None, resamples: Sequence[np.ndarray]
                     ) -> tuple[float, float, np.ndarray, int]:
    """Point value, jackknife seed variance, resampled pair means and seed count of CON (ACC-CON)."""
    p = check_runs(preds, min_runs=3)
    values = pair_values(p, labels)
    return (float(values.mean()), jackknife_pair_variance(values.mean(axis=1), p.shape[0]),
            _resampled_pairs(values, resamples), p.shape[0])


def agreement_interval(preds: Array, labels: Array | None = None, *, groups: Array | None = None,
                       n_resamples: int = 1000, confidence: float = 0.95, seed: Seed = 0) -> dict[str, float]:
    """CON (with ``labels``: ACC-CON) with an interval that counts seed and test-set variance.

    The estimand is the expected agreement of two new seeds on a new evaluation set of the task.
    Variance = jackknife over seeds (``jackknife_pair_variance``) + the examples' part
    (``_within_example_variance`` on B resamples, whole groups with ``groups``). The interval is a
    t interval for log(1 - value), the log disagreement (delta method; Satterthwaite df from the
    seed part's N - 1), mapped back, so it stays below 1 and widens downwards: few seeds that
    happen to agree make both a high value and a small spread. Simulated (tests/test_inference.py):
    95 % intervals from 5 seeds covered 91-98 %, least where seeds differ mostly in how often they
    predict a class. Assumes seeds and examples (groups) are independent draws. Needs >= 3 seeds.
    Where these seeds never disagree, or the jackknife finds no spread between them, nothing says
    how far new seeds would: the bounds are NaN, not the point. Returns value, low, high, se (of
    the value), df, seed_variance, example_variance, n_seeds.
    """
    resamples = list(_iter_resamples(np.shape(preds)[1], groups, n_resamples, seed))
    value, seed_var, boot, n = _agreement_parts(preds, labels, resamples)
    example_var = _within_example_variance(boot, n)
    variance = max(0.0, seed_var + example_var)
    parts = {"se": float(np.sqrt(variance)), "seed_variance": seed_var, "example_variance": example_var,
             "n_seeds": n}
    disagreement = 1 - value
    if disagreement <= 0 or seed_var <= 0:  # these seeds never disagree (or all alike): new ones may
        return {"value": value, "low": float("nan"), "high": float("nan"), "df": float("nan")} | parts
    ci = t_interval(np.log(disagreement), variance / disagreement ** 2, [(seed_var / disagreement ** 2, n - 1)],
                    confidence=confidence)
    return {"value": value, "low": float(1 - np.exp(ci["high"])), "high": float(1 - np.exp(ci["low"])),
            "df": ci["df"]} | parts


def agreement_difference(preds_a: Array, preds_b: Array, labels: Array | None = None, *,
                         groups: Array | None = None, n_resamples: int = 1000, confidence: float = 0.95,
                         seed: Seed = 0) -> dict[str, float]:
    """CON (ACC-CON with ``labels``) of B minus A on the same examples, with a t interval and p-value.

    A and B are independent sets of seeds scored on the same examples (two models or recipes). A
    seed label means other weights in each model, but with tied seeds it also means the same data
    order: the method assumes that order does not make the two models' seeds agree or err
    together beyond what the examples do (if it did, C_AB would grow and the variance shrink).
    Variance = jackknife seed variance of A + of B + the examples' part of the difference, from
    the same resamples for both: C_AA + C_BB - 2 C_AB (disjoint-pair covariances within each, all
    pairs across), so an example that is hard for both counts once. Satterthwaite df from the two
    seed parts. Needs >= 3 seeds per side; NaN interval and p where a side's seeds show no spread.
    Simulated (tests/test_inference.py): with 5 seeds a side and no difference the test rejected
    1-2 % of the time at 5 % (conservative: the jackknife is), and a 12-point difference was found
    98 % of the time. Returns difference, low, high, se, df, p_value, value_a, value_b,
    seed_variance, example_variance.
    """
    if np.shape(preds_a)[1] != np.shape(preds_b)[1]:
        raise ValueError(f"A and B must be scored on the same examples: {np.shape(preds_a)[1]} and "
                         f"{np.shape(preds_b)[1]} columns")
    resamples = list(_iter_resamples(np.shape(preds_a)[1], groups, n_resamples, seed))
    value_a, seed_a, boot_a, n_a = _agreement_parts(preds_a, labels, resamples)
    value_b, seed_b, boot_b, n_b = _agreement_parts(preds_b, labels, resamples)
    across = np.ones((boot_a.shape[1], boot_b.shape[1]), dtype=bool)
    example_var = (_within_example_variance(boot_a, n_a) + _within_example_variance(boot_b, n_b)
                   - 2 * _cross_covariance(boot_a, boot_b, across))
    if seed_a <= 0 or seed_b <= 0:  # a side whose seeds show no spread is not known exactly
        nan = float("nan")
        return {"difference": value_b - value_a, "low": nan, "high": nan, "se": nan, "df": nan, "p_value": nan,
                "value_a": value_a, "value_b": value_b, "seed_variance": seed_a + seed_b,
                "example_variance": example_var}
    ci = t_interval(value_b - value_a, seed_a + seed_b + example_var, [(seed_a, n_a - 1), (seed_b, n_b - 1)],
                    confidence=confidence)
    return {"difference": ci["value"], "low": ci["low"], "high": ci["high"], "se": ci["se"], "df": ci["df"],
            "p_value": ci["p_value"], "value_a": value_a, "value_b": value_b,
            "seed_variance": seed_a + seed_b, "example_variance": example_var}
