"""How many seeds a study needs: from the seed spread a study saw, the seeds at which an
estimate would be as precise as asked, or a difference would be detected with the power asked.

Seed variation only, on the evaluation set the study used: the evaluation examples are held
fixed (as in the reference study, and as in the question "how much does the seed move this
number"). Intervals that also count the test set's sampling (``stats.uncertainty``,
``seed_example_interval``) are wider, and for a small evaluation set no number of seeds
narrows them to a point.

Every function takes the spread as estimated from the study's own seeds and treats it as the
truth (a plug-in estimate: with 5 seeds the standard deviation itself is uncertain by ~±35 %,
so ``sd_upper_bound`` gives the spread to plan with when being wrong is costly). Scores are
assumed normal across seeds (the t distribution). Units are the scores' own (fractions or
points: give widths and differences in the same unit).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import stats

from .consistency import seed_pairs

MAX_SEEDS = 100_000  # beyond this the answer is "more than anyone will run"


def _fewest(too_wide: Callable[[int], bool]) -> float:
    """The smallest n >= 2 with ``too_wide(n)`` false, for a width that falls as n grows (doubling,
    then bisection); inf past ``MAX_SEEDS``."""
    if not too_wide(2):
        return 2.0
    low, high = 2, 4  # too_wide(low) holds throughout
    while too_wide(high):
        if high > MAX_SEEDS:
            return math.inf
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if too_wide(middle) else (low, middle)
    return float(high) if high <= MAX_SEEDS else math.inf


def seeds_for_mean(sd: float, half_width: float, confidence: float = 0.95) -> float:
    """Fewest seeds n (>= 2) whose t interval of the mean, t_{n-1} * sd / sqrt(n), is at most
    ``half_width`` wide on each side; NaN without spread (sd 0: the seeds seen say nothing)."""
    if not sd > 0 or not half_width > 0:
        return math.nan
    quantile = (1 + confidence) / 2
    return _fewest(lambda n: stats.t.ppf(quantile, n - 1) * sd / math.sqrt(n) > half_width)


def seeds_for_difference(sd: float, difference: float, *, paired: bool = False, correlation: float = 0.0,
                         alpha: float = 0.05, power: float = 0.8) -> float:
    """Seeds per side for a two-sided t test at ``alpha`` to detect ``difference`` with ``power``.

    Unpaired: Student's two-sample t test, both configurations with spread ``sd`` (statsmodels'
    ``TTestIndPower``, exact noncentral t). Paired (the same seeds in both, differences tested):
    the differences' spread is ``sd * sqrt(2 (1 - correlation))`` (``TTestPower``); correlation
    0 is the assumption when only one configuration has been run. NaN without spread.
    """
    if not -1 <= correlation < 1:
        raise ValueError(f"bad correlation {correlation!r}: expected -1 <= correlation < 1")
    if not sd > 0 or difference == 0:
        return math.nan
    if power_of(sd, difference, 2, paired=paired, correlation=correlation, alpha=alpha) >= power:
        return 2.0  # the solver searches from 2 up and has no root below it
    test, effect = _t_test(sd, difference, paired, correlation)
    n = float(np.asarray(test.solve_power(effect_size=effect, alpha=alpha, power=power)).item())
    if not math.isfinite(n):
        return math.nan
    needed = float(max(2, math.ceil(n - 1e-9)))
    return needed if needed <= MAX_SEEDS else math.inf


def power_of(sd: float, difference: float, n: int, *, paired: bool = False, correlation: float = 0.0,
             alpha: float = 0.05) -> float:
    """The power of that test with ``n`` seeds per side (what ``seeds_for_difference`` inverts).

    Where scipy's noncentral t gives NaN (a noncentrality in the hundreds), the normal
    approximation P(Z > t_crit - ncp) is used; there the power is 1 to many digits anyway.
    """
    test, effect = _t_test(sd, difference, paired, correlation)
    value = float(np.asarray(test.power(effect, n, alpha)).item())  # nobs (paired) or nobs1 per side
    ncp, df = (effect * math.sqrt(n), n - 1) if paired else (effect * math.sqrt(n / 2), 2 * n - 2)
    if not math.isfinite(value):
        value = float(stats.norm.sf(stats.t.ppf(1 - alpha / 2, df) - ncp))
    return value


def _t_test(sd: float, difference: float, paired: bool, correlation: float):
    """The statsmodels power calculator of the test and its standardised effect: paired, the
    differences' spread ``sd * sqrt(2 (1 - correlation))``; unpaired, ``sd`` on each side."""
    from statsmodels.stats.power import TTestIndPower, TTestPower

    if paired:
        return TTestPower(), abs(difference) / (sd * math.sqrt(2 * (1 - correlation)))
    return TTestIndPower(), abs(difference) / sd


def sd_upper_bound(sd: float, seeds: int, level: float = 0.8) -> float:
    """One-sided ``level`` upper confidence bound of the standard deviation from ``seeds`` scores
    (chi-square, normal scores): the spread to plan with if underestimating it is costly."""
    if seeds < 2:
        return math.nan
    return float(sd * math.sqrt((seeds - 1) / stats.chi2.ppf(1 - level, seeds - 1)))


def pair_components(pair_means: np.ndarray, n_seeds: int, *, clip: bool = True) -> tuple[float, float]:
    """The two variance components of a mean over seed pairs (a U-statistic of degree 2 over
    seeds, Hoeffding 1948): zeta1 = Cov(h(a, b), h(a, c)) for pairs sharing one seed, zeta2 =
    Var(h(a, b)); ``pair_means`` in ``consistency.seed_pairs`` order.

    Unbiased with >= 4 seeds: E[h(a, b) h(a, c)] = zeta1 + theta^2, E[h(a, b) h(c, d)] = theta^2
    for disjoint pairs, E[h(a, b)^2] = zeta2 + theta^2; so the mean product over disjoint pairs
    is subtracted from the mean products over sharing pairs and over each pair with itself.
    With 3 seeds (no disjoint pairs) deviations from the mean are used instead (biased low).
    ``clip``: to 0 <= zeta1 <= zeta2, which every distribution satisfies; with 5 seeds the raw
    zeta1 is negative about a third of the time, so clipping biases it up (measured: +25 %), i.e.
    towards more seeds: conservative.
    """
    values = np.asarray(pair_means, dtype=float)
    pairs = seed_pairs(n_seeds)
    if n_seeds < 3 or values.shape != (len(pairs),):
        raise ValueError(f"needs >= 3 seeds and one value per seed pair ({len(pairs)}), got {n_seeds} seeds")
    overlap = np.array([[len(set(x) & set(y)) for y in pairs] for x in pairs])
    products = np.outer(values, values)
    if n_seeds >= 4:
        square = products[overlap == 0].mean()  # theta^2
    else:
        square = values.mean() ** 2
    zeta1 = float(products[overlap == 1].mean() - square)
    zeta2 = float(np.mean(values ** 2) - square)
    if clip:
        zeta1 = max(0.0, zeta1)
        zeta2 = max(zeta1, zeta2)
    return zeta1, zeta2


def pair_mean_variance(zeta1: float, zeta2: float, n: int) -> float:
    """Variance of the mean over all pairs of ``n`` new seeds: 2 (2 (n - 2) zeta1 + zeta2) / (n (n - 1))."""
    return 2 * (2 * (n - 2) * zeta1 + zeta2) / (n * (n - 1))


def seeds_for_pair_mean(pair_means: np.ndarray, n_seeds: int, half_width: float,
                        confidence: float = 0.95) -> float:
    """Fewest seeds n (>= 2) at which a pairwise statistic (CON, ACC-CON) would be known to
    ``half_width`` on each side over new seeds, from the pairs of the ``n_seeds`` seen (normal
    approximation, z * sd of the pair mean; the report's own intervals are on the
    log-disagreement scale, so a little asymmetric); NaN when all pairs agree alike (no spread seen)."""
    if np.ptp(np.asarray(pair_means, dtype=float)) == 0:
        return math.nan
    return seeds_for_components(*pair_components(pair_means, n_seeds), half_width, confidence)


def seeds_for_components(zeta1: float, zeta2: float, half_width: float, confidence: float = 0.95) -> float:
    """``seeds_for_pair_mean`` from the variance components themselves."""
    if not (zeta1 > 0 or zeta2 > 0) or not half_width > 0:
        return math.nan
    limit = (half_width / stats.norm.ppf((1 + confidence) / 2)) ** 2
    return _fewest(lambda n: pair_mean_variance(zeta1, zeta2, n) > limit)
