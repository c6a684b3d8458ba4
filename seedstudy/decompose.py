"""Where the variance comes from: a factorial design over the seed sources, decomposed.

Runs of one task whose seeds form a full grid over the sources that vary (e.g. 5 init x 5 data
order seeds, dropout fixed) are arranged as an array with one axis per varying source, and the
total sum of squares is split into main effects and interactions as in a balanced ANOVA
without replication (the highest interaction doubles as the residual). Applied to the lead
metric it says which source moves the score; applied to each example's one-hot prediction
(summed over classes and examples: the Gini impurity behind pairwise disagreement) it says
which source makes predictions flip. Shares of sums of squares are descriptive, not variance
components; with one run per cell the top interaction cannot be told apart from noise.

Written out with NumPy because the decomposition runs on every example of a task at once;
statsmodels' ``anova_lm`` (used in the tests as a check) fits one response at a time.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from .seeds import SOURCES, Seeds


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


def arrange(seeds: Sequence[Seeds], values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The varying sources and the values arranged on their full grid (axes in ``SOURCES`` order).

    Raises when the seeds are not a full grid with one run per cell, or are tied (one integer).
    """
    if any(s.tied for s in seeds):
        raise ValueError("a decomposition needs a seed per source (i<init>-o<order>-d<dropout>), "
                         "not tied integer seeds")
    levels = {src: sorted({getattr(s, src) for s in seeds}) for src in SOURCES}
    varying = [src for src in SOURCES if len(levels[src]) > 1]
    if not varying:
        raise ValueError("no source of randomness varies across these runs")
    shape = [len(levels[src]) for src in varying]
    if len(seeds) != int(np.prod(shape)):
        raise ValueError(f"seeds are not a full grid over {varying}: {len(seeds)} runs for "
                         f"{' x '.join(map(str, shape))} cells")
    values = np.asarray(values, dtype=float)
    grid = np.full((*shape, *values.shape[1:]), np.nan)
    for s, v in zip(seeds, values):
        grid[tuple(levels[src].index(getattr(s, src)) for src in varying)] = v
    if np.isnan(grid).any():
        raise ValueError(f"seeds are not a full grid over {varying}: some cells are missing or repeated")
    return varying, grid


def shares(seeds: Sequence[Seeds], values: np.ndarray) -> dict[str, float]:
    """Share of the total sum of squares per source and interaction (``init``, ``order``,
    ``init x order`` ...); NaN everywhere when the values do not vary at all."""
    varying, grid = arrange(seeds, values)
    sums = effect_sums_of_squares(grid, len(varying))
    total = sum(sums.values())
    names = {k: " x ".join(varying[a] for a in k) for k in sums}
    return {names[k]: (v / total if total > 0 else float("nan")) for k, v in sums.items()}


def one_hot(preds: np.ndarray, n_classes: int) -> np.ndarray:
    """Class predictions ``(n_runs, n_examples)`` as indicators ``(n_runs, n_examples, n_classes)``."""
    p = np.asarray(preds, dtype=int)
    return (p[..., None] == np.arange(n_classes)).astype(float)
