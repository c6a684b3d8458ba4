"""How many seeds a study's tasks need, from the spread its own seeds showed (``stats.planning``).

One row per task and model, in points (scores x 100): the seeds seen, the lead metric's
standard deviation over them (and its 80 % upper confidence bound, the spread to plan with when
an underestimate is costly), the seeds at which the 95 % interval of the mean would be within
``half_width``, at which CON (CON-PEAR for regression) would be known to ``con_half_width``
over new seeds, and the seeds per side for a two-sided t test at 5 % to detect ``difference``
between two configurations with 80 % power: unpaired, and paired by seed assuming the two
configurations' scores have ``correlation`` across seeds (default 0: with one configuration run,
the correlation is unknown; a positive one needs fewer, a negative one more).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..benchmark.tasks import get_task
from ..stats import planning
from ..stats.consistency import pair_pearsons, pair_values
from ..store.runs import Run
from .evaluations import by_evaluation, lead_scores, prediction_matrix, primary_split

POINTS = 100.0
HALF_WIDTH = 0.5  # points: the mean's 95 % interval, each side
CON_HALF_WIDTH = 0.5  # points: CON (CON-PEAR) over new seeds, each side
DIFFERENCE = 1.0  # points: a difference between two configurations to detect


def pair_agreements(preds: np.ndarray, regression: bool) -> np.ndarray:
    """Per seed pair (``seed_pairs`` order): CON (share labelled alike), or for regression the
    Pearson correlation of the two seeds' predictions (CON-PEAR's pairs)."""
    return pair_pearsons(preds) if regression else pair_values(preds).mean(axis=1)


def seeds_needed(runs: Sequence[Run], *, half_width: float = HALF_WIDTH, con_half_width: float = CON_HALF_WIDTH,
                 difference: float = DIFFERENCE, correlation: float = 0.0) -> pd.DataFrame:
    """The seeds-needed table (see the module docstring); widths and difference in points, kept
    in the table with the paired test's correlation (columns ``half_width``, ``con_half_width``,
    ``difference``, ``correlation``)."""
    lead = lead_scores(runs)
    agreement = {}
    evaluations = by_evaluation(runs)
    for (task_key, model, split), group in evaluations.items():
        task = get_task(task_key)
        if split != primary_split(task_key, model, evaluations) or len(group) < 3:
            continue  # the task's first evaluation split the runs cover, as its lead metric
        regression = task.evaluation_task(split).consistency_tolerance is not None
        preds, _, _ = prediction_matrix(group)
        agreement[(task_key, model)] = (pair_agreements(preds, regression), len(group), regression)
    rows = []
    for (task, model), g in lead.groupby(["task", "model"], sort=False):
        values = g["value"].to_numpy(dtype=float) * POINTS
        values = values[np.isfinite(values)]
        sd = float(np.std(values, ddof=1)) if len(values) >= 2 else np.nan
        pairs, seen, regression = agreement.get((task, model), (None, 0, False))
        rows.append({
            "task": task, "model": model, "metric": g["metric"].iloc[0], "seeds": len(values),
            "sd": sd, "sd_upper80": planning.sd_upper_bound(sd, len(values)),
            "for_mean": planning.seeds_for_mean(sd, half_width),
            "for_mean_at_upper": planning.seeds_for_mean(planning.sd_upper_bound(sd, len(values)), half_width),
            "agreement": "CON-PEAR" if regression else "CON",
            "agreement_value": np.nan if pairs is None else float(np.mean(pairs)) * POINTS,
            "for_agreement": np.nan if pairs is None else
            planning.seeds_for_pair_mean(pairs * POINTS, seen, con_half_width),
            "for_difference_unpaired": planning.seeds_for_difference(sd, difference),
            "for_difference_paired": planning.seeds_for_difference(sd, difference, paired=True,
                                                                   correlation=correlation),
            "half_width": half_width, "con_half_width": con_half_width, "difference": difference,
            "correlation": correlation})
    return pd.DataFrame(rows)


def format_seeds_needed(table: pd.DataFrame) -> pd.DataFrame:
    """The table as printed: counts as integers ('-' where undefined, '>100000' past the limit);
    the paired column names its correlation where it is not the default 0."""
    half_width, con_half_width, difference, correlation = (
        table[c].iloc[0] for c in ("half_width", "con_half_width", "difference", "correlation"))
    paired = f"paired (correlation {correlation:g})" if correlation else "paired"
    def count(x: float) -> str:
        return "-" if not np.isfinite(x) and not np.isinf(x) else (f">{planning.MAX_SEEDS}" if np.isinf(x)
                                                                    else str(int(x)))

    return pd.DataFrame({
        "task": table["task"], "model": table["model"], "metric": table["metric"], "seeds": table["seeds"],
        "sd (80% upper)": [f"{s:.2f} ({u:.2f})" if np.isfinite(s) else "-"
                           for s, u in zip(table["sd"], table["sd_upper80"])],
        f"mean to ±{half_width:g} (at upper sd)": [f"{count(a)} ({count(b)})" for a, b in
                                                   zip(table["for_mean"], table["for_mean_at_upper"])],
        f"agreement to ±{con_half_width:g}": [f"{k} {v:.1f}: {count(n)}" if np.isfinite(v) else "-"
                                              for k, v, n in zip(table["agreement"], table["agreement_value"],
                                                                 table["for_agreement"])],
        f"difference {difference:g} at 80% power, per side: unpaired / {paired}": [
            f"{count(a)} / {count(b)}" for a, b in zip(table["for_difference_unpaired"],
                                                       table["for_difference_paired"])]})
