"""Two models on the same tasks, seeds and examples, side by side: the reference study's question,
whether LoRA on a decoder LLM is more or less seed-stable than full fine-tuning of an encoder.

Per task with class predictions and >= 3 seeds of at least two models: each model's lead metric
(mean with an interval counting seed and test-set variance), VAR (chi-square interval), CON and
ACC-CON (intervals for new seeds on new examples, ``uncertainty.agreement_interval``). Then each
other model (B) against A, the first fully fine-tuned model (the reference study's baseline arm;
the first model listed when all or none use LoRA): the mean's difference (unpaired: a seed label
means other weights in each model; were the shared data order to tie the two models' seed
effects together, the unpaired test would be conservative), VAR(B) / VAR(A) (F interval and p,
Brown-Forsythe's p beside them), and the differences of CON and ACC-CON
(``uncertainty.agreement_difference``), with Holm-adjusted p-values across the tasks compared
(one family per statistic and model B). Regression (STS-B) and ReCoRD are left out: their
agreement is not a share of examples labelled alike.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from ..stats import compare, uncertainty
from ..store.runs import Run
from .evaluations import classification_groups, example_groups, lead_scorer, prediction_matrix, resampled_lead_scores

Arm = tuple[str, list[Run]]  # model, its runs on one evaluation


def task_arms(runs: Sequence[Run]) -> Iterator[tuple[str, str, str, list[Arm]]]:
    """(label, task, split, [(model, runs), ...]) of each evaluation two or more models ran with >= 3 seeds.

    Raises when the models were scored on different examples (another subset or data seed)."""
    found: dict[tuple[str, str, str], list[Arm]] = {}
    for label, model, task_key, split, group in classification_groups(runs):
        if len(group) >= 3:
            found.setdefault((label, task_key, split), []).append((model, group))
    for (label, task_key, split), arms in found.items():
        arms.sort(key=lambda arm: _uses_lora(arm[1]))  # stable: full fine-tuning first, else as listed
        if len(arms) >= 2:
            prediction_matrix([run for _, group in arms for run in group])  # one evaluation set, or it raises
            yield label, task_key, split, arms


def _uses_lora(runs: Sequence[Run]) -> bool:
    """Whether a model's runs trained LoRA adapters (their record says which)."""
    return any(run.record.get("run", {}).get("lora") for run in runs)


def _resampled(task_key: str, split: str, arms: list[Arm], n_resamples: int, seed: int) -> list[np.ndarray]:
    """Every arm's lead scores on the same example resamples, (1 + B, N) each."""
    group = arms[0][1]
    resamples = uncertainty.example_resamples(len(group[0].predictions), groups=example_groups(group),
                                              n_resamples=n_resamples, seed=seed)
    return [resampled_lead_scores(runs, task_key, split, resamples) for _, runs in arms]


def arms_table(runs: Sequence[Run], *, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per task and model: lead metric mean, VAR, CON and ACC-CON, each with its 95 % interval."""
    rows = []
    for label, task_key, split, arms in task_arms(runs):
        name = lead_scorer(task_key, split)[0]
        for (model, group), scores in zip(arms, _resampled(task_key, split, arms, n_resamples, seed)):
            preds, labels, _ = prediction_matrix(group)
            groups = example_groups(group)
            mean = uncertainty.seed_example_interval(scores)
            std = uncertainty.std_interval(scores[0])
            con = uncertainty.agreement_interval(preds, groups=groups, n_resamples=n_resamples, seed=seed)
            acc = uncertainty.agreement_interval(preds, labels, groups=groups, n_resamples=n_resamples, seed=seed)
            rows.append({"task": label, "model": model, "metric": name, "n_seeds": len(group),
                         "mean": mean["value"], "mean_low": mean["low"], "mean_high": mean["high"],
                         "var": std["value"] ** 2, "var_low": std["low"] ** 2, "var_high": std["high"] ** 2,
                         "con": con["value"], "con_low": con["low"], "con_high": con["high"],
                         "acc_con": acc["value"], "acc_con_low": acc["low"], "acc_con_high": acc["high"],
                         "baseline": group[0].record["majority_baseline"].get(name, np.nan),
                         "train_minutes": float(np.mean([np.nan if r.record.get("wall_seconds") is None  # imported
                                                         else r.record["wall_seconds"] for r in group])) / 60})
    return pd.DataFrame(rows)


def arms_differences(runs: Sequence[Run], *, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per task, every other model (B) against the first (A): differences with intervals and p-values."""
    rows = []
    for label, task_key, split, arms in task_arms(runs):
        scores = _resampled(task_key, split, arms, n_resamples, seed)
        (model_a, group_a), scores_a = arms[0], scores[0]
        preds_a, labels, _ = prediction_matrix(group_a)
        for (model_b, group_b), scores_b in zip(arms[1:], scores[1:]):
            preds_b = prediction_matrix(group_b)[0]
            kwargs = {"groups": example_groups(group_a), "n_resamples": n_resamples, "seed": seed}
            mean = compare.difference_test(scores_b, scores_a, paired=False)
            var = compare.variance_ratio(scores_a[0], scores_b[0])
            con = uncertainty.agreement_difference(preds_a, preds_b, **kwargs)
            acc = uncertainty.agreement_difference(preds_a, preds_b, labels, **kwargs)
            rows.append({"task": label, "model_a": model_a, "model_b": model_b,
                         "metric": lead_scorer(task_key, split)[0],
                         "mean_difference": mean["difference"], "mean_low": mean["difference_low"],
                         "mean_high": mean["difference_high"], "mean_p": mean["p_value"],
                         "var_ratio": var["ratio"], "var_ratio_low": var["low"], "var_ratio_high": var["high"],
                         "var_f_p": var["f_p"], "var_bf_p": var["brown_forsythe_p"],
                         "con_difference": con["difference"], "con_low": con["low"], "con_high": con["high"],
                         "con_p": con["p_value"], "acc_con_difference": acc["difference"],
                         "acc_con_low": acc["low"], "acc_con_high": acc["high"], "acc_con_p": acc["p_value"]})
    table = pd.DataFrame(rows)
    for column in ("mean_p", "var_f_p", "var_bf_p", "con_p", "acc_con_p"):  # family: one B's tasks
        if len(table):
            table[column.replace("_p", "_holm_p")] = table.groupby("model_b")[column].transform(compare.holm)
    return table


def summarise(runs: Sequence[Run]) -> dict[str, pd.DataFrame]:
    """The arms table and the differences (both empty when no task has two models)."""
    return {"arms": arms_table(runs), "arms_difference": arms_differences(runs)}
