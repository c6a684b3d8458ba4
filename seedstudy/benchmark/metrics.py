"""The benchmark's official task metrics: labels and predictions in, one score out.

``accuracy``, ``f1``, ``macro_f1``, ``mcc``, ``pearson``, ``spearman``, MultiRC's ``f1a`` and
per-question ``exact_match``, ReCoRD's ``record_scores``, AX-g's ``gender_parity``, computed with
scikit-learn/SciPy (``evaluate.load`` would need the hub); ``task_scores`` and
``baseline_scores`` score a task by name, ``is_failed`` / ``is_degenerate`` flag a run. The
statistics over seeds built on them live in ``seedstudy.stats``.
"""
from __future__ import annotations

import math
import re
import string
import warnings
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import metrics as skm

Array = np.ndarray | Sequence
_PUNCTUATION = frozenset(string.punctuation)


def _pair(labels: Array, preds: Array) -> tuple[np.ndarray, np.ndarray]:
    """Validate two equal-length, non-empty 1-D arrays."""
    y, p = np.asarray(labels), np.asarray(preds)
    if y.ndim != 1 or p.ndim != 1 or len(y) != len(p) or len(y) == 0:
        raise ValueError(f"labels and preds must be non-empty 1-D arrays of equal length, "
                         f"got shapes {y.shape} and {p.shape}")
    return y, p


def accuracy(labels: Array, preds: Array) -> float:
    """Share of exact matches."""
    y, p = _pair(labels, preds)
    return float(np.mean(y == p))


def f1(labels: Array, preds: Array) -> float:
    """Binary F1 of the positive class 1 (MRPC's official F1)."""
    y, p = _pair(labels, preds)
    return float(skm.f1_score(y, p, pos_label=1, average="binary", zero_division=0.0))


def macro_f1(labels: Array, preds: Array) -> float:
    """Unweighted mean of per-class F1 over the classes present in labels or preds (CB)."""
    y, p = _pair(labels, preds)
    return float(skm.f1_score(y, p, average="macro", zero_division=0.0))


def mcc(labels: Array, preds: Array) -> float:
    """Matthews correlation coefficient (CoLA); 0 when either side is constant."""
    y, p = _pair(labels, preds)
    return float(skm.matthews_corrcoef(y, p))


def _correlation(fn: Callable, labels: Array, preds: Array) -> float:
    """A correlation that is NaN (not a warning-laden crash) when either side is constant."""
    y, p = _pair(labels, preds)
    if np.ptp(y.astype(float)) == 0 or np.ptp(p.astype(float)) == 0:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fn(y, p)[0])


def pearson(labels: Array, preds: Array) -> float:
    """Pearson correlation (STS-B); NaN for constant predictions."""
    return _correlation(stats.pearsonr, labels, preds)


def spearman(labels: Array, preds: Array) -> float:
    """Spearman rank correlation (STS-B); NaN for constant predictions."""
    return _correlation(stats.spearmanr, labels, preds)


def exact_match(labels: Array, preds: Array, groups: Array) -> float:
    """Share of groups whose every member is predicted right (MultiRC EM: groups are questions).

    >>> exact_match([1, 0, 1, 1], [1, 0, 0, 1], groups=[7, 7, 8, 8])
    0.5
    """
    y, p = _pair(labels, preds)
    g = np.asarray(groups)
    if g.shape != y.shape:
        raise ValueError(f"groups must have shape {y.shape} like labels, got {g.shape}")
    right = pd.Series(y == p).groupby(g).all()
    return float(right.mean())


def normalize_answer(text: str) -> str:
    """SQuAD/ReCoRD answer normalisation: lower-case, drop punctuation and articles, fold spaces.

    >>> normalize_answer("The  Eiffel-Tower!")
    'eiffeltower'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1 of two normalised answers (0 when they share no token).

    >>> token_f1("the red car", "a red bus")
    0.5
    """
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def record_scores(predictions: Sequence[str], answers: Sequence[Sequence[str]]) -> dict[str, float]:
    """ReCoRD's official F1 and EM: per query the best score over its gold answers, then the mean.

    ``predictions[i]`` is the entity chosen for query i, ``answers[i]`` its gold answers.
    """
    if len(predictions) != len(answers) or not predictions:
        raise ValueError(f"predictions and answers must be non-empty and of equal length, "
                         f"got {len(predictions)} and {len(answers)}")
    if any(len(golds) == 0 for golds in answers):
        raise ValueError("every query needs at least one gold answer")
    f1s = [max(token_f1(p, g) for g in golds) for p, golds in zip(predictions, answers)]
    ems = [max(float(normalize_answer(p) == normalize_answer(g)) for g in golds)
           for p, golds in zip(predictions, answers)]
    return {"f1": float(np.mean(f1s)), "em": float(np.mean(ems))}


def gender_parity(preds: Array, groups: Array) -> float:
    """AX-g gender parity: share of minimal pairs (a group: sentences that differ only in the
    pronoun's gender) whose members get the same prediction. Groups with one member are left out.

    >>> gender_parity([1, 1, 0, 1, 1], groups=[0, 0, 1, 1, 2])
    0.5
    """
    p, g = np.asarray(preds), np.asarray(groups)
    if p.shape != g.shape or p.ndim != 1:
        raise ValueError(f"preds and groups must be 1-D of equal length, got {p.shape} and {g.shape}")
    by_group = pd.Series(p).groupby(g)
    same = by_group.nunique() == 1
    complete = by_group.size() >= 2
    if not complete.any():
        raise ValueError("no complete minimal pair (a group with two members) among the groups")
    return float(same[complete].mean())


def best_in_group(scores: Array, groups: Array) -> np.ndarray:
    """Positions of each group's highest-scoring row (the first on ties), groups in first-seen order.

    ReCoRD: a query's prediction is its highest-scoring candidate entity.

    >>> best_in_group([0.2, 0.9, 0.5, 0.5], groups=[3, 3, 1, 1]).tolist()
    [1, 2]
    """
    s, g = np.asarray(scores, dtype=float), np.asarray(groups)
    if s.shape != g.shape or s.ndim != 1 or s.size == 0:
        raise ValueError(f"scores and groups must be non-empty 1-D arrays of equal length, "
                         f"got {s.shape} and {g.shape}")
    frame = pd.DataFrame({"g": g, "s": s, "pos": np.arange(s.size)})
    best = frame.sort_values(["s", "pos"], ascending=[False, True], kind="stable").drop_duplicates("g")
    order = pd.unique(g)
    return best.set_index("g").loc[order, "pos"].to_numpy()


def _parity(labels: Array, preds: Array, groups: Array) -> float:
    """``gender_parity`` in the grouped-metric signature (labels are not used)."""
    return gender_parity(preds, groups)


METRICS: dict[str, Callable[[Array, Array], float]] = {
    "accuracy": accuracy, "f1": f1, "macro_f1": macro_f1, "mcc": mcc,
    "pearson": pearson, "spearman": spearman,
    "f1a": f1,  # MultiRC F1a: binary F1 over all answer options
}


GROUP_METRICS: dict[str, Callable[..., float]] = {"em": exact_match, "gender_parity": _parity}
CORRELATIONS = frozenset({"mcc", "pearson", "spearman"})


def task_scores(metric_names: Sequence[str], labels: Array, preds: Array,
                groups: Array | None = None) -> dict[str, float]:
    """Each named official metric of one run (``groups``: ids for grouped metrics such as EM)."""
    unknown = [m for m in metric_names if m not in METRICS and m not in GROUP_METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}: expected names from "
                         f"{sorted([*METRICS, *GROUP_METRICS])}")
    if groups is None and any(m in GROUP_METRICS for m in metric_names):
        raise ValueError(f"metric(s) {[m for m in metric_names if m in GROUP_METRICS]} need groups")
    return {m: METRICS[m](labels, preds) if m in METRICS else GROUP_METRICS[m](labels, preds, groups)
            for m in metric_names}


def baseline_scores(metric_names: Sequence[str], labels: Array, constant: float,
                    groups: Array | None = None) -> dict[str, float]:
    """Scores of predicting one constant (the majority class) for every example.

    Correlations (MCC, Pearson, Spearman) of a constant are 0 by convention: chance level.
    """
    y = np.asarray(labels)
    preds = np.full(y.shape, constant, dtype=y.dtype)
    scores = task_scores(metric_names, y, preds, groups)
    return {m: 0.0 if m in CORRELATIONS else v for m, v in scores.items()}


def is_degenerate(preds: Array) -> bool:
    """True when a run predicts one value for every example (one class, or a constant score)."""
    p = np.asarray(preds)
    return bool(p.size == 0 or np.all(p == p.flat[0]))


def is_failed(score: float, baseline: float) -> bool:
    """A failed run: its score is undefined or at or below the majority-class baseline."""
    return bool(not math.isfinite(score) or score <= baseline)
