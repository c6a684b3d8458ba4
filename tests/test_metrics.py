"""Metric functions on hand-computed cases, edge cases, and properties shared by all agreement metrics."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from seedstudy.benchmark import metrics
from seedstudy.stats import consistency, macro


# ------------------------------------------------------------------ official task metrics
def test_accuracy_f1_mcc_by_hand():
    y = [1, 1, 0, 0, 1]
    p = [1, 0, 0, 1, 1]
    assert metrics.accuracy(y, p) == pytest.approx(3 / 5)
    # tp=2, fp=1, fn=1 -> precision 2/3, recall 2/3
    assert metrics.f1(y, p) == pytest.approx(2 / 3)
    # mcc = (tp*tn - fp*fn)/sqrt(...) = (2*1 - 1*1)/sqrt(3*3*2*2) = 1/6
    assert metrics.mcc(y, p) == pytest.approx(1 / 6)


def test_macro_f1_three_classes_by_hand():
    y = [0, 0, 1, 1, 2, 2]
    p = [0, 1, 1, 1, 2, 0]
    # class 0: tp1 fp1 fn1 -> 1/2; class 1: tp2 fp1 fn0 -> 4/5; class 2: tp1 fp0 fn1 -> 2/3
    assert metrics.macro_f1(y, p) == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)


def test_pearson_spearman_by_hand_and_constant_is_nan():
    y = [1.0, 2.0, 3.0, 4.0]
    assert metrics.pearson(y, [2.0, 4.0, 6.0, 8.0]) == pytest.approx(1.0)
    assert metrics.spearman(y, [1.0, 3.0, 2.0, 4.0]) == pytest.approx(0.8)  # 1 - 6*2/(4*15)
    assert math.isnan(metrics.pearson(y, [3.0] * 4))
    assert math.isnan(metrics.spearman(y, [3.0] * 4))


def test_degenerate_run_mcc_is_zero_and_flagged_failed():
    y = [0, 1, 1, 0]
    p = [1, 1, 1, 1]
    assert metrics.mcc(y, p) == 0.0
    assert metrics.is_degenerate(p)
    assert not metrics.is_degenerate([0, 1, 1, 1])
    assert metrics.is_failed(0.0, 0.0) and metrics.is_failed(math.nan, 0.0) and not metrics.is_failed(0.1, 0.0)


def test_baseline_scores_majority_class():
    y = np.array([1, 1, 1, 0])
    base = metrics.baseline_scores(["accuracy", "f1", "mcc"], y, 1)
    assert base == {"accuracy": 0.75, "f1": pytest.approx(6 / 7), "mcc": 0.0}


def test_task_scores_rejects_unknown_metric_and_bad_shapes():
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.task_scores(["bleu"], [1], [1])
    with pytest.raises(ValueError, match="equal length"):
        metrics.accuracy([1, 0], [1])
    with pytest.raises(ValueError, match="non-empty"):
        metrics.accuracy([], [])


# ------------------------------------------------------------------ macro summary
def test_macro_summary_by_hand():
    s = macro.macro_summary([0.6, 0.8, 0.7])
    assert s["mean"] == pytest.approx(0.7)
    assert s["var"] == pytest.approx(0.01)  # sample variance: (0.01+0.01+0)/2
    assert s["std"] == pytest.approx(0.1)
    assert (s["min"], s["max"], s["range"]) == pytest.approx((0.6, 0.8, 0.2))
    assert (s["n"], s["n_undefined"]) == (3, 0)


def test_macro_summary_never_averages_nan():
    s = macro.macro_summary([0.5, math.nan, 0.7])
    assert s["mean"] == pytest.approx(0.6) and s["n_undefined"] == 1 and s["n"] == 3
    one = macro.macro_summary([0.5])
    assert one["mean"] == 0.5 and math.isnan(one["std"]) and math.isnan(one["var"])
    none = macro.macro_summary([math.nan, math.nan])
    assert math.isnan(none["mean"]) and none["n_undefined"] == 2


# ------------------------------------------------------------------ agreement: hand-computed
PREDS = np.array([[0, 1, 1, 2],
                  [0, 1, 0, 2],
                  [0, 0, 1, 2]])
LABELS = np.array([0, 1, 1, 1])


def test_all_agree_by_hand():
    assert consistency.all_agree(PREDS) == pytest.approx(2 / 4)  # examples 0 and 3
    assert consistency.all_correct(PREDS, LABELS) == pytest.approx(1 / 4)  # only example 0
    # pairs (0,1): 3/4, (0,2): 3/4, (1,2): 2/4
    assert consistency.pairwise_agreement(PREDS) == pytest.approx((0.75 + 0.75 + 0.5) / 3)


def test_the_papers_pairwise_metrics_by_hand():
    # CON: pairs (0,1): 3/4, (0,2): 3/4, (1,2): 2/4
    assert consistency.con(PREDS) == pytest.approx((0.75 + 0.75 + 0.5) / 3)
    # right: seed 0 [T T T F], seed 1 [T T F F], seed 2 [T F T F]; both right: 2/4, 2/4, 1/4
    assert consistency.acc_con(PREDS, LABELS) == pytest.approx((0.5 + 0.5 + 0.25) / 3)
    scores = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0], [4.0, 3.0, 2.0, 1.0]])
    pairs = [np.corrcoef(scores[a], scores[b])[0, 1] for a, b in ((0, 1), (0, 2), (1, 2))]
    assert consistency.con_pear(scores) == pytest.approx(np.mean(pairs))
    assert math.isnan(consistency.con_pear([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]))  # a constant run
    with pytest.raises(ValueError, match="at least 2 runs"):
        consistency.con(PREDS[:1])
    with pytest.raises(ValueError, match="labels must have shape"):
        consistency.acc_con(PREDS, [0, 1])


def test_the_papers_metrics_do_not_depend_on_the_number_of_seeds_but_all_agree_does():
    """CON and ACC-CON are means over pairs: in expectation the same for 3 or 12 i.i.d. seeds;
    all-seeds agreement falls as seeds are added (simulated seeds, truth known)."""
    rng = np.random.default_rng(11)
    q = rng.beta(0.5, 0.5, size=20_000)  # each example's chance that a seed predicts 1
    labels = (rng.random(20_000) < 0.5).astype(int)
    preds = (rng.random((12, 20_000)) < q).astype(int)
    truth_con = np.mean(q ** 2 + (1 - q) ** 2)
    truth_acc_con = np.mean(np.where(labels == 1, q, 1 - q) ** 2)
    for n in (3, 12):
        assert consistency.con(preds[:n]) == pytest.approx(truth_con, abs=0.01)
        assert consistency.acc_con(preds[:n], labels) == pytest.approx(truth_acc_con, abs=0.01)
    assert consistency.all_agree(preds[:12]) < consistency.all_agree(preds[:3]) - 0.2


def test_all_agree_edge_cases():
    one = PREDS[:1]
    assert consistency.all_agree(one) == 1.0
    assert consistency.all_correct(one, LABELS) == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="at least 2 runs"):
        consistency.pairwise_agreement(one)
    all_agree = np.tile([1, 0, 2], (4, 1))
    assert consistency.all_agree(all_agree) == 1.0 and consistency.pairwise_agreement(all_agree) == 1.0
    none_agree = np.array([[0, 1], [1, 0]])
    assert consistency.all_agree(none_agree) == 0.0 and consistency.pairwise_agreement(none_agree) == 0.0
    assert consistency.all_correct(none_agree, [0, 0]) == 0.0
    # ties: two seeds each way on every example -> none unanimous; 2 of 6 pairs agree
    ties = np.array([[0, 1], [0, 1], [1, 0], [1, 0]])
    assert consistency.all_agree(ties) == 0.0
    assert consistency.pairwise_agreement(ties) == pytest.approx(2 / 6)


def test_regression_agreement_at_tolerance():
    preds = np.array([[1.0, 2.0, 4.0],
                      [1.4, 2.6, 4.0],
                      [1.2, 2.1, 3.9]])
    assert np.allclose(consistency.per_example_spread(preds), [0.4, 0.6, 0.1])
    assert consistency.all_agree(preds, tol=0.5) == pytest.approx(2 / 3)
    assert consistency.all_correct(preds, [1.2, 2.0, 3.0], tol=0.5) == pytest.approx(1 / 3)
    # pairs: (0,1): |.4|,|.6|,0 -> 2/3; (0,2): .2,.1,.1 -> 1; (1,2): .2,.5,.1 -> 1
    assert consistency.pairwise_agreement(preds, tol=0.5) == pytest.approx((2 / 3 + 1 + 1) / 3)


def test_all_agree_curve_is_exact_over_subsets():
    curve = consistency.all_agree_curve(PREDS, LABELS)
    assert sorted(curve) == [2, 3]
    pair_cons = [consistency.all_agree(PREDS[list(s)]) for s in ([0, 1], [0, 2], [1, 2])]
    assert curve[2]["all_agree"] == pytest.approx(np.mean(pair_cons))
    assert curve[2]["all_agree"] == pytest.approx(consistency.con(PREDS))  # k = 2 is the paper's CON
    assert curve[3]["all_agree"] == pytest.approx(consistency.all_agree(PREDS))
    assert curve[3]["all_agree_std"] == 0.0
    assert curve[3]["all_correct"] == pytest.approx(1 / 4)
    assert curve[2]["all_correct"] == pytest.approx(consistency.acc_con(PREDS, LABELS))  # and ACC-CON
    assert curve[2]["subsets_low"] == pytest.approx(np.percentile(pair_cons, 2.5))
    assert curve[2]["subsets_low"] <= curve[2]["all_agree"] <= curve[2]["subsets_high"]
    assert curve[3]["subsets_low"] == curve[3]["subsets_high"] == pytest.approx(curve[3]["all_agree"])


@pytest.mark.parametrize("tol", [None, 0.5])
def test_subset_agreement_equals_enumerating_every_subset(tol):
    rng = np.random.default_rng(4)
    preds = rng.integers(0, 3, size=(6, 40)) if tol is None else rng.normal(2.5, 0.4, size=(6, 40))
    labels = rng.integers(0, 3, size=40) if tol is None else rng.normal(2.5, 0.4, size=40)
    for k in range(1, 7):
        subsets = [list(c) for c in itertools.combinations(range(6), k)]
        want = np.mean([consistency.all_agree(preds[s], tol=tol) for s in subsets])
        want_right = np.mean([consistency.all_correct(preds[s], labels, tol=tol) for s in subsets])
        assert consistency.subset_agreement(preds, k, tol=tol).mean() == pytest.approx(want, abs=1e-12)
        assert consistency.subset_correct(preds, labels, k, tol=tol).mean() == pytest.approx(want_right, abs=1e-12)
    assert consistency.subset_agreement(preds, 2, tol=tol).mean() == pytest.approx(consistency.pairwise_agreement(preds, tol=tol))
    assert consistency.subset_agreement(preds, 6, tol=tol).mean() == pytest.approx(consistency.all_agree(preds, tol=tol))


def test_subset_agreement_takes_any_labels_and_rejects_bad_k():
    entities = np.array([["Paris", "Rome"], ["Paris", "Oslo"], ["Lima", "Rome"]])
    # example 1: Paris twice of 3 -> 1 of 3 pairs agree; example 2: Rome twice -> 1 of 3
    assert consistency.subset_agreement(entities, 2).tolist() == pytest.approx([1 / 3, 1 / 3])
    with pytest.raises(ValueError, match="bad k=4"):
        consistency.subset_agreement(entities, 4)
    with pytest.raises(ValueError, match="bad k=0"):
        consistency.subset_correct(entities, ["Paris", "Rome"], 0)


def test_all_agree_curve_sampling_is_seeded():
    rng = np.random.default_rng(0)
    preds = rng.integers(0, 2, size=(12, 50))
    a = consistency.all_agree_curve(preds, max_subsets=20, seed=3)
    b = consistency.all_agree_curve(preds, max_subsets=20, seed=3)
    assert a == b


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="n_seeds, n_examples"):
        consistency.all_agree([0, 1, 1])
    with pytest.raises(ValueError, match="labels must have shape"):
        consistency.all_correct(PREDS, [0, 1])


# ------------------------------------------------------------------ properties of every agreement metric
AGREEMENT = {
    "con": lambda p, y: consistency.con(p),
    "acc_con": lambda p, y: consistency.acc_con(p, y),
    "all_agree": lambda p, y: consistency.all_agree(p),
    "all_correct": lambda p, y: consistency.all_correct(p, y),
    "pairwise_agreement": lambda p, y: consistency.pairwise_agreement(p),
    "all_agree@0.5": lambda p, y: consistency.all_agree(p.astype(float) / 2, tol=0.5),
    "pairwise_agreement@0.5": lambda p, y: consistency.pairwise_agreement(p.astype(float) / 2, tol=0.5),
}


@pytest.fixture
def random_runs():
    rng = np.random.default_rng(7)
    return rng.integers(0, 3, size=(5, 40)), rng.integers(0, 3, size=40)


@pytest.mark.parametrize("name", AGREEMENT)
def test_bounded(name, random_runs):
    p, y = random_runs
    assert 0.0 <= AGREEMENT[name](p, y) <= 1.0


@pytest.mark.parametrize("name", AGREEMENT)
def test_identical_runs_score_one_when_right(name, random_runs):
    _, y = random_runs
    assert AGREEMENT[name](np.tile(y, (4, 1)), y) == 1.0


@pytest.mark.parametrize("name", AGREEMENT)
def test_invariant_to_seed_order(name, random_runs):
    p, y = random_runs
    assert AGREEMENT[name](p[::-1], y) == pytest.approx(AGREEMENT[name](p, y))


@pytest.mark.parametrize("name", AGREEMENT)
def test_invariant_to_example_order(name, random_runs):
    p, y = random_runs
    perm = np.random.default_rng(1).permutation(p.shape[1])
    assert AGREEMENT[name](p[:, perm], y[perm]) == pytest.approx(AGREEMENT[name](p, y))


@pytest.mark.parametrize("name", [n for n in AGREEMENT if n.startswith("all_")])
def test_adding_a_seed_never_raises_all_seeds_metrics(name, random_runs):
    """All-seeds metrics can only fall as seeds are added (pairwise ones are means: they may rise)."""
    p, y = random_runs
    assert AGREEMENT[name](p, y) <= AGREEMENT[name](p[:-1], y)


# ------------------------------------------------------------------ grouped metrics (MultiRC)
def test_exact_match_and_f1a_by_hand():
    # questions 1 (3 options), 2 (2 options), 3 (1 option)
    groups = [1, 1, 1, 2, 2, 3]
    labels = [1, 0, 1, 0, 1, 1]
    preds = [1, 0, 1, 1, 1, 0]
    assert metrics.exact_match(labels, preds, groups) == pytest.approx(1 / 3)  # only question 1
    # tp=3 (idx 0, 2, 4), fp=1 (idx 3), fn=1 (idx 5) -> F1a = 6/8
    assert metrics.task_scores(["f1a", "em"], labels, preds, groups) == {"f1a": pytest.approx(0.75),
                                                                   "em": pytest.approx(1 / 3)}
    with pytest.raises(ValueError, match=r"\['em'\] need groups"):
        metrics.task_scores(["em"], labels, preds)
    with pytest.raises(ValueError, match="groups must have shape"):
        metrics.exact_match(labels, preds, groups[:-1])


def test_group_all_agree_by_hand():
    groups = [1, 1, 1, 2, 2, 3]
    preds = np.array([[1, 0, 1, 1, 1, 0],
                      [1, 0, 1, 0, 1, 0],
                      [1, 0, 1, 1, 1, 1]])
    # q1 all alike; q2 differs at idx 3; q3 differs at idx 5 -> 1/3; per option 4/6
    assert consistency.group_all_agree(preds, groups) == pytest.approx(1 / 3)
    assert consistency.all_agree(preds) == pytest.approx(4 / 6)
    assert consistency.group_all_agree(preds[:1], groups) == 1.0
    # a question is never more consistent than its options
    assert consistency.group_all_agree(preds, groups) <= consistency.all_agree(preds)


def test_grouped_baseline_predicts_the_majority_everywhere():
    base = metrics.baseline_scores(["f1a", "em"], np.array([0, 0, 1, 0]), 0, groups=[1, 1, 2, 2])
    assert base == {"f1a": 0.0, "em": 0.5}


# ------------------------------------------------------------------ ReCoRD and AX-g
@pytest.mark.parametrize("raw,normal", [
    ("The Eiffel Tower", "eiffel tower"),          # case and article
    ("  an   apple,  a pear. ", "apple pear"),      # articles, punctuation, whitespace
    ("U.S.A.", "usa"),                              # punctuation inside a token
    ("Theater", "theater"),                         # 'the' only as a whole word
])
def test_record_normalisation(raw, normal):
    assert metrics.normalize_answer(raw) == normal


def test_record_f1_and_em_take_the_best_gold_by_hand():
    predictions = ["Barack Obama", "the White House", "Paris"]
    answers = [["Obama", "Barack Obama"],   # EM 1 (second gold), F1 1
               ["White House press office"],  # F1: 2 shared of pred 2, gold 4 -> 2*(1*0.5)/1.5 = 2/3
               ["London"]]                    # 0
    scores = metrics.record_scores(predictions, answers)
    assert scores["em"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    with pytest.raises(ValueError, match="at least one gold"):
        metrics.record_scores(["x"], [[]])
    with pytest.raises(ValueError, match="equal length"):
        metrics.record_scores(["x"], [["x"], ["y"]])


def test_gender_parity_by_hand():
    # pairs 0, 1, 2: same, differ, same; group 3 has no partner and is left out
    assert metrics.gender_parity([1, 1, 0, 1, 0, 0, 1], groups=[0, 0, 1, 1, 2, 2, 3]) == pytest.approx(2 / 3)
    # row order does not matter, groups do
    assert metrics.gender_parity([0, 1, 1, 1], groups=[1, 0, 0, 1]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no complete minimal pair"):
        metrics.gender_parity([1, 0], groups=[1, 2])
    # as a task metric: grouped, labels unused; a constant prediction has perfect parity
    scores = metrics.task_scores(["accuracy", "gender_parity"], [0, 1, 0, 1], [0, 0, 1, 0], groups=[0, 0, 1, 1])
    assert scores == {"accuracy": 0.25, "gender_parity": 0.5}
    assert metrics.baseline_scores(["gender_parity"], [0, 1, 0, 1], 0, groups=[0, 0, 1, 1]) == {"gender_parity": 1.0}


def test_best_in_group_takes_the_top_score_first_on_ties():
    assert metrics.best_in_group([0.1, 0.7, 0.7, 0.3, 0.9], groups=[5, 5, 5, 2, 2]).tolist() == [1, 4]
    assert metrics.best_in_group([0.5, 0.5], groups=[0, 0]).tolist() == [0]  # constant: first candidate
    with pytest.raises(ValueError, match="equal length"):
        metrics.best_in_group([0.1], groups=[0, 1])
