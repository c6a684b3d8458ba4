"""Is configuration A better than B? A t test of the mean difference that counts seeds and
examples, Holm's correction across tasks, and Almost Stochastic Order on the per-seed scores.

Inputs are (1 + B, N) matrices from ``uncertainty.resampled_scores``, both studies scored on the
SAME example resamples (row 0: all examples). Both are evaluated on the same examples, so the
example part of the variance comes from those shared resamples: a paired bootstrap over
examples. Seeds: when both studies ran the same seed labels (same head initialisation and data
order, see ``pairing``), per-seed differences A_s - B_s are analysed (paired); otherwise each
side's seed variance counts on its own (Welch / Satterthwaite). Functions are pure: arrays in,
numbers out; random draws (ASO's bootstrap) are seeded by an argument.

ASO (del Barrio et al., 2018; Dror et al., 2019) comes from ``deepsig`` (Ulmer et al., 2022).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .uncertainty import Seed, check_scores, finite_rows, t_interval, variance_components

Array = Sequence | np.ndarray

# deepsig's README ("General recommendations & other notes", github.com/Kaleidophon/deep-significance):
# eps_min < 0.5 "was found to have a comparatively high Type I error"; its paper (Ulmer et al.,
# 2022, arXiv:2204.06815) suggests tau = 0.2 as the threshold trading off Type I and II errors.
ASO_THRESHOLD = 0.2


def pairing(seeds_a: Array, seeds_b: Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Column orders that line up the seeds of A and B when both ran the same seed labels, else None.

    Same labels mean same head initialisation and data order, so seed s of A and of B are a pair.
    """
    a, b = np.asarray(seeds_a), np.asarray(seeds_b)
    if a.size != b.size or len(set(a.tolist())) != a.size or set(a.tolist()) != set(b.tolist()):
        return None
    return np.argsort(a, kind="stable"), np.argsort(b, kind="stable")


def difference_test(scores_a: Array, scores_b: Array, *, paired: bool,
                    confidence: float = 0.95) -> dict[str, float]:
    """Mean(A) - mean(B) on all examples with its t interval, SE, df and two-sided p-value.

    Paired (same seeds, same order): D = A - B per seed and resample, with the variance
    components of ``uncertainty.variance_components`` and df as in ``seed_example_interval``
    (a paired t test on per-seed differences, plus the example part). Unpaired: seed part
    s_a^2 / N_a + s_b^2 / N_b with Welch-Satterthwaite df; example part = var over the shared
    resamples of mean(A) - mean(B) (a paired bootstrap over examples) less each side's
    seed-by-example interaction, already in its s^2. p: two-sided, t distribution with that df.
    """
    a, b = check_scores(scores_a, "scores_a"), check_scores(scores_b, "scores_b")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"scores_a and scores_b must come from the same resamples, got "
                         f"{a.shape[0] - 1} and {b.shape[0] - 1}")
    if paired and a.shape[1] != b.shape[1]:
        raise ValueError(f"paired needs the same seeds on both sides, got {a.shape[1]} and {b.shape[1]}")
    a, b = finite_rows(a, b)
    if paired:
        parts = variance_components(a - b)
        seed, example = parts["seed_variance"], parts["example_variance"]
        terms = [(seed, a.shape[1] - 1)]
    else:
        pa, pb = variance_components(a), variance_components(b)
        seed = pa["seed_variance"] + pb["seed_variance"]  # each holds its side's interaction
        both = float(np.var(a[1:].mean(axis=1) - b[1:].mean(axis=1), ddof=1))
        example = both - pa["interaction_variance"] - pb["interaction_variance"]  # unbiased, may be < 0
        terms = [(pa["seed_variance"], a.shape[1] - 1), (pb["seed_variance"], b.shape[1] - 1)]
    ci = t_interval(float(a[0].mean() - b[0].mean()), seed + example, terms, confidence=confidence)
    return {"difference": ci["value"], "difference_low": ci["low"], "difference_high": ci["high"],
            "se": ci["se"], "df": ci["df"], "t": ci["t"], "p_value": ci["p_value"],
            "seed_variance": seed, "example_variance": example}


def aso_violation(a: Array, b: Array, *, confidence: float = 0.95, num_comparisons: int = 1,
                  seed: Seed = 0, num_bootstrap_iterations: int = 1000) -> float:
    """ASO's epsilon_min for "A is better than B" from per-seed scores: below ``ASO_THRESHOLD``
    A is almost stochastically dominant (the closer to 0, the stronger); near 1, it is not.

    Bonferroni over ``num_comparisons`` (deepsig README, "Scenario 2": divide alpha by the number
    of comparisons) is applied here as confidence 1 - (1 - confidence) / m: deepsig 1.2.8's own
    ``num_comparisons`` computes 1 - alpha (1 - 1/m) (deepsig/aso.py), which is not alpha / m
    for m > 2. deepsig reseeds NumPy's global generator; its state is restored afterwards.
    """
    import warnings

    from deepsig import aso

    va, vb = (np.asarray(v, dtype=float) for v in (a, b))
    if min(va.size, vb.size) < 2 or not np.all(np.isfinite(np.r_[va, vb])):
        raise ValueError("ASO needs at least 2 finite per-seed scores on each side")
    if num_comparisons < 1:
        raise ValueError(f"bad num_comparisons={num_comparisons}: expected at least 1")
    level = 1 - (1 - confidence) / num_comparisons
    if not isinstance(seed, (int, np.integer)):  # deepsig takes an int: draw one from the generator
        seed = int(np.random.default_rng(seed).integers(2 ** 31))
    state = np.random.get_state()
    try:
        with warnings.catch_warnings():  # deepsig warns on ties; the bound it returns is still defined
            warnings.simplefilter("ignore")
            return float(aso(va, vb, confidence_level=level, num_comparisons=1, seed=int(seed),
                             num_bootstrap_iterations=num_bootstrap_iterations, show_progress=False))
    finally:
        np.random.set_state(state)


def compare(scores_a: Array, scores_b: Array, *, paired: bool, confidence: float = 0.95,
            seed: Seed = 0, aso: bool = True, num_comparisons: int = 1,
            aso_iterations: int = 1000) -> dict:
    """A against B on one task: means, difference with interval, SE, df, p (``difference_test``),
    and ASO epsilon_min both ways on the per-seed scores of row 0 (``aso_violation``).

    ``num_comparisons``: tasks compared in this comparison (ASO's Bonferroni); correct the
    p-values across them with ``holm``. ``paired`` needs equal N with seeds in the same order.
    """
    a, b = check_scores(scores_a, "scores_a"), check_scores(scores_b, "scores_b")
    out = {"mean_a": float(a[0].mean()), "mean_b": float(b[0].mean()),
           **difference_test(a, b, paired=paired, confidence=confidence),
           "paired": bool(paired), "n_a": a.shape[1], "n_b": b.shape[1], "confidence": confidence}
    if aso:
        kwargs = {"confidence": confidence, "num_comparisons": num_comparisons, "seed": seed,
                  "num_bootstrap_iterations": aso_iterations}
        out |= {"aso_a_better": aso_violation(a[0], b[0], **kwargs),
                "aso_b_better": aso_violation(b[0], a[0], **kwargs), "aso_threshold": ASO_THRESHOLD}
    return out


def variance_ratio(scores_a: Array, scores_b: Array, *, confidence: float = 0.95) -> dict[str, float]:
    """VAR(B) / VAR(A) of per-seed scores (sample variances, ddof = 1) with its F interval and p-values.

    Assumes each side's scores are independent normal draws: then the ratio over sigma_b^2 /
    sigma_a^2 is F(N_b - 1, N_a - 1), which gives the interval and the F test's two-sided p. The F
    test is not robust to non-normal scores (a failed seed); ``brown_forsythe_p`` (Levene's test
    on deviations from the median, scipy) is, and is given beside it. The variance is that on
    this evaluation set (the test set fixed), as the reference study's VAR.
    """
    from scipy.stats import f, levene

    a, b = (np.asarray(x, dtype=float) for x in (scores_a, scores_b))
    if min(a.size, b.size) < 2 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError(f"variance_ratio needs >= 2 finite scores per side, got {a.size} and {b.size}")
    var_a, var_b = float(np.var(a, ddof=1)), float(np.var(b, ddof=1))
    nan = float("nan")
    if var_a == 0 or var_b == 0:  # F is undefined; Levene's test is not, unless both are constant
        ratio = var_b / var_a if var_a else (float("inf") if var_b else nan)
        robust = float(levene(a, b, center="median").pvalue) if var_a or var_b else nan
        return {"var_a": var_a, "var_b": var_b, "ratio": ratio, "low": nan, "high": nan, "f_p": nan,
                "brown_forsythe_p": robust}
    ratio, dist = var_b / var_a, f(b.size - 1, a.size - 1)
    tail = (1 - confidence) / 2
    return {"var_a": var_a, "var_b": var_b, "ratio": ratio, "low": ratio / float(dist.ppf(1 - tail)),
            "high": ratio / float(dist.ppf(tail)), "f_p": float(min(1.0, 2 * min(dist.cdf(ratio), dist.sf(ratio)))),
            "brown_forsythe_p": float(levene(a, b, center="median").pvalue)}


def holm(p_values: Array) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels ``multipletests``), family = the finite p-values given
    (one comparison's tasks); NaN stays NaN. Controls the family-wise error rate."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float).reshape(-1)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = multipletests(p[finite], method="holm")[1]
    return out


def _p_text(p: float) -> str:
    """'= 0.012', or '< 0.001' for smaller p."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def verdict(difference: float, holm_p: float, n_a: int, n_b: int, *, alpha: float = 0.05) -> str:
    """What the evidence says, e.g. "A > B (Holm p = 0.012)" or "no evidence of a difference with
    5 seeds per side (Holm p = 0.410)": a non-significant test is not a tie."""
    if not np.isfinite(holm_p) or not np.isfinite(difference):
        return "not tested"
    if holm_p < alpha and difference != 0:
        return f"{'A > B' if difference > 0 else 'B > A'} (Holm p {_p_text(holm_p)})"
    seeds = f"{n_a} seeds per side" if n_a == n_b else f"{n_a} and {n_b} seeds"
    return f"no evidence of a difference with {seeds} (Holm p {_p_text(holm_p)})"
