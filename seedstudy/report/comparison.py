"""Two studies side by side: what differs between their configurations, whether a change moved
the lead metric beyond the seeds' spread (``stats.compare``), and the numeric noise floor (the
same seeds under other numerics, ``stats.noisefloor``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..benchmark.tasks import get_task
from ..stats import compare, noisefloor, uncertainty
from ..store.runs import EXECUTION_ONLY, Run
from ..training.config import TrainConfig
from ..training.seeds import of_record
from .evaluations import (
    by_evaluation,
    evaluation_label,
    example_groups,
    lead_scorer,
    prediction_matrix,
    resampled_lead_scores,
)
from .paper import micro_table


def config_changes(runs_a: Sequence[Run], runs_b: Sequence[Run]) -> dict[str, tuple[str, str]]:
    """The training-configuration fields whose values differ between two sets of runs: field -> (A, B).

    Fields that change how a run executes but not its outcome (``runs.EXECUTION_ONLY``: gradient
    checkpointing, loader workers, stored representations) are no difference."""
    from dataclasses import MISSING, fields

    # a field a run's record lacks was added later: that run trained with its default
    defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}

    def settings(runs: Sequence[Run]) -> dict:
        values: dict = {}
        for run in runs:
            for key, value in {**defaults, **run.record["config"]}.items():
                values.setdefault(key, set()).add(repr(value))
        return {k: " / ".join(sorted(v)) for k, v in values.items()}

    a, b = settings(runs_a), settings(runs_b)
    return {k: (a.get(k, "-"), b.get(k, "-")) for k in sorted(a.keys() | b.keys())
            if a.get(k) != b.get(k) and k not in EXECUTION_ONLY}


def config_difference(runs_a: Sequence[Run], runs_b: Sequence[Run]) -> str:
    """What differs between two sets of runs' training configurations, e.g. ``learning_rate 0.0001 -> 5e-05``."""
    changes = config_changes(runs_a, runs_b)
    return "; ".join(f"{k} {a} -> {b}" for k, (a, b) in changes.items()) or "same configuration"


def comparison_table(runs_a: Sequence[Run], runs_b: Sequence[Run], *, n_resamples: int = 1000,
                     seed: int = 0) -> pd.DataFrame:
    """Configuration A against B on every evaluation both have with >= 2 seeds (``compare.compare``):
    means, the difference with an interval counting seed and test-set variance (both scored on the
    same example resamples; paired by seed when both ran the same seed labels, i.e. the same head
    init and data order), its p-value and the Holm-adjusted one across the tasks compared, ASO
    both ways (Bonferroni over the tasks), the verdict, each side's CON, and what differs between
    the two configurations."""

    other = by_evaluation(runs_b)
    con_a = micro_table(runs_a).set_index(["task", "model"])["con"]
    con_b = micro_table(runs_b).set_index(["task", "model"])["con"]
    pairs = []
    for key, group_a in by_evaluation(runs_a).items():
        group_b = other.get(key)
        if group_b is None or min(len(group_a), len(group_b)) < 2 or lead_scorer(key[0], key[2])[1] is None:
            continue
        prediction_matrix([*group_a, *group_b])  # one evaluation set: raises when the examples differ
        pairs.append((key, group_a, group_b))
    rows = []
    for (task_key, model, split), group_a, group_b in pairs:
        resamples = uncertainty.example_resamples(len(group_a[0].predictions), groups=example_groups(group_a),
                                                  n_resamples=n_resamples, seed=seed)
        a = resampled_lead_scores(group_a, task_key, split, resamples)
        b = resampled_lead_scores(group_b, task_key, split, resamples)
        order = compare.pairing([of_record(r.record).label for r in group_a],
                                [of_record(r.record).label for r in group_b])
        if order is not None:
            a, b = a[:, order[0]], b[:, order[1]]
        result = compare.compare(a, b, paired=order is not None, seed=seed, num_comparisons=len(pairs))
        label = evaluation_label(task_key, split)
        rows.append({"task": label, "model": model, "metric": lead_scorer(task_key, split)[0], **result,
                     "con_a": con_a.get((label, model), np.nan), "con_b": con_b.get((label, model), np.nan),
                     "changed": config_difference(group_a, group_b)})
    table = pd.DataFrame(rows)
    if len(table):
        table["holm_p"] = compare.holm(table["p_value"])
        table["verdict"] = [compare.verdict(d, p, int(na), int(nb)) for d, p, na, nb in
                            zip(table["difference"], table["holm_p"], table["n_a"], table["n_b"])]
    return table


def numerics_label(run: Run) -> str:
    """A run's numerics in a few words, e.g. ``bf16, AVX512 + AMX, 2 threads``."""
    from ..training.numerics import of_run  # here, not at the top: it loads torch

    used = of_run(run.record)
    device = used.get("device", "cpu")
    where = (used.get("cpu_class") or device) if device == "cpu" else device
    threads = f", {used['threads']} threads" if used.get("threads") and device == "cpu" else ""
    return f"{used['precision']}, {where}{threads}"


def noise_floor_table(runs_a: Sequence[Run], runs_b: Sequence[Run], *, n_resamples: int = 1000,
                      seed: int = 0) -> pd.DataFrame:
    """Per evaluation both studies ran with >= 2 of the same seeds: how far the same seed under
    the other study's numerics lands (``noisefloor.noise_floor``) next to how far two seeds land,
    and the lead metric's mean |A - B| over those seeds next to its std over seeds."""

    other = by_evaluation(runs_b)
    rows = []
    for (task_key, model, split), group_a in by_evaluation(runs_a).items():
        twins = {of_record(r.record).label: r for r in other.get((task_key, model, split), [])}
        pairs = [(r, twins[of_record(r.record).label]) for r in group_a if of_record(r.record).label in twins]
        if len(pairs) < 2:
            continue
        a_runs, b_runs = [a for a, _ in pairs], [b for _, b in pairs]
        changed = {k: v for k, v in config_changes(a_runs, b_runs).items() if k != "precision"}
        if changed:
            raise ValueError(f"{evaluation_label(task_key, split)}: the two studies differ in more than their "
                             f"numerics ({'; '.join(f'{k} {a} -> {b}' for k, (a, b) in changed.items())}); "
                             "the noise floor compares one configuration under two numerics")
        stacked, _, _ = prediction_matrix([*a_runs, *b_runs])  # one evaluation set, or it raises
        pa, pb = stacked[:len(pairs)], stacked[len(pairs):]
        regression = get_task(task_key).evaluation_task(split).problem_type == "regression"
        groups = example_groups(a_runs)
        floor = noisefloor.noise_floor(pa, pb, regression=regression, groups=groups,
                                       n_resamples=n_resamples, seed=seed)
        name = lead_scorer(task_key, split)[0]
        sa, sb = (np.array([r.record["metrics"][name] for r in side]) for side in (a_runs, b_runs))
        rows.append({"task": evaluation_label(task_key, split), "model": model, "seeds": len(pairs),
                     "numerics_a": numerics_label(a_runs[0]), "numerics_b": numerics_label(b_runs[0]),
                     "measure": "CON-PEAR" if regression else "CON", **floor, "metric": name,
                     "metric_abs_difference": float(np.mean(np.abs(sa - sb))),
                     "metric_seed_std": float((np.std(sa, ddof=1) + np.std(sb, ddof=1)) / 2),
                     "verdict": noisefloor.verdict(floor["ratio"], floor["ratio_high"], floor["con_seed"])})
    return pd.DataFrame(rows)
