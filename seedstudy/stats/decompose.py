"""Where the variance comes from: variance components of the seed sources, by random-effects ANOVA.

Runs of one task whose seeds form a full grid over some sources (e.g. 5 head-init x 5 data-order
seeds, dropout fixed) are arranged as an array with one axis per factor, and analysed as a
**balanced random-effects full factorial**: every factor's seeds are a random sample of seeds,

    y = mu + sum over effects T (main effects and interactions) of a_T + e,

with all effects and the noise e independent, normal, mean 0, variances sigma^2_T and
sigma^2_e. With one run per cell the mean square of effect S (factor levels n_1 ... n_k) has

    E[MS_S] = sigma^2_e + sum over effects T containing S of (prod of n_j, j not in T) * sigma^2_T,

so the components follow by back-substitution from the highest-order effect down (the ANOVA,
or expected-mean-squares, estimator: unbiased, but it can come out negative; such estimates are
reported as 0 and flagged). Shares of these components estimate how much of the run-to-run
variance each source causes. Shares of the *sums of squares* (what this module reported before)
do not: a source with no effect still gets about df_S / df_total of the sum of squares (4/24 =
16.7 % for either main effect of a 5 x 5 grid, 16/24 for its interaction).

With one run per cell the top interaction cannot be told apart from noise: its component is
"interaction + noise" (``confounded_with_noise``). Replicates separate them: runs that repeat a
grid cell with another value of the replication source (in practice: the same init and order
seeds, another dropout seed) give a pure-error mean square, the pooled within-cell variance;
the grid ANOVA still uses one (primary) run per cell, so the design stays balanced.

Applied to the lead metric it says which source moves the score (with F-tests); applied to each
example's one-hot prediction (summed over classes and examples: the Gini impurity behind
pairwise disagreement) it says which source makes predictions flip (components only).

Written out with NumPy because the decomposition runs on every example of a task at once;
statsmodels' ``anova_lm`` (used in the tests as a check) fits one response at a time.
"""
from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..training.seeds import SOURCES, Seeds

Effect = tuple[int, ...]  # factor axes of a main effect (0,) or interaction (0, 1)
RESIDUAL = "residual"


@dataclass(frozen=True)
class Design:
    """The factors (sources crossed on a full grid), the replication source, and each run's cell.

    ``cells[r]`` is run r's index on the factor grid; ``primary[r]`` says whether it is the run
    the grid ANOVA uses for that cell (one per cell); the other runs are replicates.
    """

    factors: tuple[str, ...]
    levels: tuple[tuple[int, ...], ...]
    replication: str | None
    cells: tuple[Effect, ...]
    primary: tuple[bool, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of levels of each factor."""
        return tuple(len(lv) for lv in self.levels)

    @property
    def replicated(self) -> bool:
        """Whether some cell has more than one run (so there is pure error)."""
        return not all(self.primary)


def design(seeds: Sequence[Seeds]) -> Design:
    """Which sources are factors and which replicates cells, by the rule below; raises if neither fits.

    The factors are all varying sources when their runs form a full grid, one run per cell.
    Otherwise the last varying source in ``SOURCES`` order (dropout, in practice) is tried as the
    replication source: its most common value (which must be unique) must hold one run in every
    cell of a full grid over the other varying sources; those are the primary runs, and every
    other run repeats a cell of that grid with another value of the replication source.
    """
    seeds = list(seeds)
    if any(s.tied for s in seeds):
        raise ValueError("a decomposition needs a seed per source (i<init>-o<order>-d<dropout>), "
                         "not tied integer seeds")
    repeated = [s.label for s, n in Counter(seeds).items() if n > 1]
    if repeated:
        raise ValueError(f"run {repeated[0]} is repeated without a differing replication source: "
                         "replicates need another seed of a source outside the grid")
    varying = [src for src in SOURCES if len({getattr(s, src) for s in seeds}) > 1]
    if not varying:
        raise ValueError("no source of randomness varies across these runs")
    full = _grid_design(seeds, varying, None)
    if isinstance(full, Design) or len(varying) == 1:
        return _or_raise(full)
    mode = _mode(seeds, varying[-1])
    if mode is None:
        raise ValueError(f"{full}; nor a base grid: no single most common {varying[-1]} seed")
    return _or_raise(_grid_design(seeds, varying[:-1], (varying[-1], mode)))


def _mode(seeds: list[Seeds], source: str) -> int | None:
    """The source's most common seed across the runs; None when two seeds tie for it."""
    counts = Counter(getattr(s, source) for s in seeds).most_common(2)
    return counts[0][0] if len(counts) == 1 or counts[0][1] > counts[1][1] else None


def _or_raise(found: Design | str) -> Design:
    """The design, or a ValueError carrying the reason it is not one."""
    if isinstance(found, str):
        raise ValueError(found)
    return found


def _grid_design(seeds: list[Seeds], factors: list[str],
                 base: tuple[str, int] | None) -> Design | str:
    """The design on these factors, primary runs at the replication source's base seed; else why not."""
    levels = {src: sorted({getattr(s, src) for s in seeds}) for src in factors}
    cells = [tuple(levels[src].index(getattr(s, src)) for src in factors) for s in seeds]
    primary = [base is None or getattr(s, base[0]) == base[1] for s in seeds]
    where = "" if base is None else f" at {base[0]}={base[1]}"
    shape = [len(levels[src]) for src in factors]
    taken = {c for c, p in zip(cells, primary) if p}
    if len(taken) < math.prod(shape):  # runs are distinct, so primary cells never repeat
        missing = [c for c in itertools.product(*map(range, shape)) if c not in taken]
        named = "; ".join(" ".join(f"{f}={levels[f][i]}" for f, i in zip(factors, c)) for c in missing[:3])
        return (f"seeds are not a full grid over {factors}{where}: {len(taken)} of "
                f"{' x '.join(map(str, shape))} cells, missing {named}{' ...' if len(missing) > 3 else ''}")
    return Design(tuple(factors), tuple(tuple(levels[f]) for f in factors), None if base is None else base[0],
                  tuple(cells), tuple(primary))


def arrange(seeds: Sequence[Seeds], values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The factors and the primary runs' values on their full grid (axes in ``SOURCES`` order).

    Raises when the seeds are not a full grid (possibly with replicates, see ``design``), or are tied.
    """
    found = design(seeds)
    return list(found.factors), _grid(found, _checked(seeds, values))


def _checked(seeds: Sequence[Seeds], values: np.ndarray) -> np.ndarray:
    """The values as floats, one row per run."""
    y = np.asarray(values, dtype=float)
    if y.ndim == 0 or len(y) != len(seeds):
        raise ValueError(f"values need one row per run: {len(seeds)} runs, shape {y.shape}")
    return y


def _grid(found: Design, y: np.ndarray) -> np.ndarray:
    """Primary runs' values placed on the factor grid."""
    grid = np.empty((*found.shape, *y.shape[1:]))
    for cell, is_primary, v in zip(found.cells, found.primary, y):
        if is_primary:
            grid[cell] = v
    return grid


def pure_error(found: Design, values: np.ndarray) -> tuple[float, int]:
    """Pooled within-cell sum of squares and its df, sum of (n_cell - 1): the noise, free of effects."""
    y = np.asarray(values, dtype=float)
    by_cell: dict[Effect, list[int]] = {}
    for run, cell in enumerate(found.cells):
        by_cell.setdefault(cell, []).append(run)
    groups = [y[runs] for runs in by_cell.values() if len(runs) > 1]
    ss = sum(float(np.sum((g - g.mean(axis=0)) ** 2)) for g in groups)
    return ss, sum(len(g) - 1 for g in groups)


def effect_sums_of_squares(values: np.ndarray, n_factors: int) -> dict[tuple[int, ...], float]:
    """Sum of squares of every main effect and interaction of a balanced full-factorial array.

    ``values`` has one axis per factor first, then any trailing axes (examples, classes) whose
    sums of squares are added up. Keys are tuples of factor axes: ``(0,)``, ``(1,)``, ``(0, 1)``.
    """
    y = np.asarray(values, dtype=float)
    factors = range(n_factors)
    means: dict[tuple[int, ...], np.ndarray] = {}
    for size in range(n_factors + 1):
        for kept in itertools.combinations(factors, size):
            dropped = tuple(a for a in factors if a not in kept)
            means[kept] = y.mean(axis=dropped, keepdims=True) if dropped else y
    sums = {}
    for size in range(1, n_factors + 1):
        for subset in itertools.combinations(factors, size):
            effect = sum((-1) ** (size - len(t)) * means[t]
                         for k in range(size + 1) for t in itertools.combinations(subset, k))
            cells = np.prod([y.shape[a] for a in factors if a not in subset])
            sums[subset] = float(np.sum(effect ** 2) * cells)  # each effect value fills `cells` cells
    return sums


def effect_df(effect: Effect, shape: Sequence[int]) -> int:
    """Degrees of freedom of an effect: product of (levels - 1) over its factors."""
    return math.prod(shape[a] - 1 for a in effect)


def ems_coefficient(effect: Effect, shape: Sequence[int]) -> int:
    """Multiplier of sigma^2_effect in expected mean squares: product of levels of the other factors."""
    return math.prod(n for a, n in enumerate(shape) if a not in effect)


def raw_components(mean_sq: dict[Effect, float], shape: Sequence[int],
                   ms_error: float | None) -> dict[Effect, float]:
    """Unclipped ANOVA estimates, solving the EMS equations from the top interaction down.

    ``MS_top`` estimates sigma^2_top + sigma^2_e, so the top component is ``MS_top - ms_error``
    (``MS_top`` itself, interaction + noise, when ``ms_error`` is None); any lower effect S is
    ``(MS_S - MS_top - sum of c_T * sigma^2_T over S < T < top) / c_S``.
    """
    top = tuple(range(len(shape)))
    raw = {top: mean_sq[top] - (0.0 if ms_error is None else ms_error)}
    for size in range(len(shape) - 1, 0, -1):
        for s in itertools.combinations(range(len(shape)), size):
            above = sum(ems_coefficient(t, shape) * raw[t] for t in raw if t != top and set(s) < set(t))
            raw[s] = (mean_sq[s] - mean_sq[top] - above) / ems_coefficient(s, shape)
    return raw


def f_denominator(effect: Effect, n_factors: int, replicated: bool) -> Effect | str | None:
    """The one mean square whose expectation equals E[MS_effect] when sigma^2_effect = 0, if any.

    The top interaction is tested against pure error (only when replicated); effects one order
    below it against the top interaction; lower effects of 3+ factors have no exact single
    denominator (a quasi-F would be needed) and get none. Against pure error the test is
    slightly conservative: a replicated cell's primary run is in both mean squares, so they
    are not independent (5 x 5 grid + 5 diagonal replicates: 4.2 % rejections at alpha 5 %).
    """
    if len(effect) == n_factors:
        return RESIDUAL if replicated else None
    return tuple(range(n_factors)) if len(effect) == n_factors - 1 else None


def variance_components(seeds: Sequence[Seeds], values: np.ndarray) -> pd.DataFrame:
    """Random-effects ANOVA of runs on a seed grid: one row per effect, plus "residual" if replicated.

    Model: balanced random-effects full factorial over the factor sources (see the module
    docstring and ``design``), effects and noise independent and normal, the primary runs one
    per cell; E[MS_S] = sigma^2_e + sum over effects T containing S of (product of levels of
    factors not in T) * sigma^2_T. Estimated: each effect's variance component sigma^2_S by
    back-substitution (``raw_component``; ``component`` clips it at 0, ``negative`` flags that)
    and its ``share`` of the summed components (NaN when all are 0). Without replication the
    top interaction's component is interaction + noise (``confounded_with_noise``); with it the
    "residual" row holds the pure-error mean square, the noise variance sigma^2_e.

    ``values`` is (n_runs,) for a metric, or (n_runs, ...) with trailing axes, e.g. one-hot
    predictions (n_runs, n_examples, n_classes): sums of squares and mean squares are then added
    up over the trailing elements, and so are the components. F-tests (``F``, ``df_num``,
    ``df_den``, ``p_value`` from scipy.stats.f, against ``tested_against``) are given for scalar
    values only, where ``f_denominator`` has an exact denominator; NaN otherwise, and always NaN
    with trailing axes, since a sum of many dependent indicators is not F-distributed.
    """
    y = _checked(seeds, values)
    found = design(seeds)
    shape, k = found.shape, len(found.factors)
    sums = effect_sums_of_squares(_grid(found, y), k)
    mean_sq = {e: ss / effect_df(e, shape) for e, ss in sums.items()}
    ss_err, df_err = pure_error(found, y) if found.replicated else (np.nan, 0)
    ms_err = ss_err / df_err if found.replicated else None
    raw = raw_components(mean_sq, shape, ms_err)
    rows = [_effect_row(found, e, sums[e], mean_sq, raw[e], (ms_err, df_err), y.ndim == 1) for e in sums]
    if found.replicated:
        rows.append(_row(RESIDUAL, df_err, ss_err, ms_err, ms_err, False))
    return _with_shares(pd.DataFrame(rows), found)


def _effect_row(found: Design, effect: Effect, ss: float, mean_sq: dict[Effect, float], raw: float,
                error: tuple[float | None, int], scalar: bool) -> dict:
    """One effect's row: its ANOVA line, its component, and its F-test where one is exact."""
    shape, k = found.shape, len(found.factors)
    row = _row(_name(found, effect), effect_df(effect, shape), ss, mean_sq[effect], raw,
               len(effect) == k and not found.replicated)
    against = f_denominator(effect, k, found.replicated) if scalar else None
    if against == RESIDUAL:
        row.update(_f_test(mean_sq[effect], row["df"], *error), tested_against=RESIDUAL)
    elif against is not None:
        row.update(_f_test(mean_sq[effect], row["df"], mean_sq[against], effect_df(against, shape)),
                   tested_against=_name(found, against))
    return row


def _name(found: Design, effect: Effect) -> str:
    """An effect's name from its factors: ``init``, ``init x order``."""
    return " x ".join(found.factors[a] for a in effect)


def _row(effect: str, df: int, ss: float, ms: float, raw: float, confounded: bool) -> dict:
    """An ANOVA line with its component clipped at 0, no F-test yet."""
    return {"effect": effect, "df": df, "sum_sq": ss, "mean_sq": ms, "component": max(raw, 0.0),
            "raw_component": raw, "negative": bool(raw < 0), "share": np.nan,
            "confounded_with_noise": confounded, "F": np.nan, "df_num": np.nan, "df_den": np.nan,
            "p_value": np.nan, "tested_against": ""}


def _f_test(ms_num: float, df_num: int, ms_den: float, df_den: int) -> dict:
    """F = MS_num / MS_den and its upper-tail p-value under F(df_num, df_den)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        f = float(np.float64(ms_num) / np.float64(ms_den))
    return {"F": f, "df_num": float(df_num), "df_den": float(df_den),
            "p_value": np.nan if np.isnan(f) else float(stats.f.sf(f, df_num, df_den))}


def _with_shares(table: pd.DataFrame, found: Design) -> pd.DataFrame:
    """Each component's share of their sum (NaN when all are 0), and the design in ``attrs``."""
    total = table["component"].sum()
    table["share"] = table["component"] / total if total > 0 else np.nan
    table.attrs.update(factors=list(found.factors), replication=found.replication,
                       shape=list(found.shape), n_runs=len(found.cells))
    return table


def one_hot(preds: np.ndarray, n_classes: int) -> np.ndarray:
    """Class predictions ``(n_runs, n_examples)`` as indicators ``(n_runs, n_examples, n_classes)``."""
    p = np.asarray(preds, dtype=int)
    return (p[..., None] == np.arange(n_classes)).astype(float)
