"""Agreement, uncertainty, ensembles and comparisons on hand-computed and planted cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

from seedstudy import agreement, compare, ensembles, metrics, uncertainty


@pytest.fixture
def random_runs():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 200)
    preds = np.where(rng.random((6, 200)) < 0.7, labels, rng.integers(0, 3, (6, 200)))
    return preds, labels


def test_fleiss_kappa_by_hand_and_edge_cases():
    # subjects (0,0,0) (0,0,1) (1,1,1) (1,1,1): P-bar = 10/12, P_e = (5/12)^2 + (7/12)^2
    expected = (10 / 12 - (25 + 49) / 144) / (1 - (25 + 49) / 144)
    assert agreement.fleiss_kappa([[0, 0, 1, 1], [0, 0, 1, 1], [0, 1, 1, 1]]) == pytest.approx(expected)
    assert agreement.fleiss_kappa([[0, 1, 2], [0, 1, 2]]) == pytest.approx(1.0)
    assert math.isnan(agreement.fleiss_kappa([[1, 1], [1, 1]]))


def test_churn_and_cohen_kappa_by_hand():
    a, b = [0, 0, 1, 1], [0, 1, 1, 1]
    assert agreement.churn(a, b) == 0.25
    assert agreement.cohen_kappa(a, b) == pytest.approx(0.5)  # p_o 0.75, p_e 0.5
    with pytest.raises(ValueError, match="equal-length"):
        agreement.churn([0, 1], [0])


def test_pair_table_churn_bounds_the_accuracy_difference(random_runs):
    preds, labels = random_runs
    table = agreement.pair_table(preds, labels, seeds=[1, 2, 3, 4, 5, 6])
    assert len(table) == 15 and table[["seed_a", "seed_b"]].iloc[0].tolist() == [1, 2]
    assert (table["churn"] >= table["accuracy_diff"] - 1e-12).all()
    two = agreement.pair_table([[1, 1, 0, 0], [1, 0, 0, 1]], [1, 1, 0, 0])
    assert two.iloc[0][["churn", "accuracy_a", "accuracy_b", "accuracy_diff"]].tolist() == [0.5, 1.0, 0.5, 0.5]


def test_flip_rate_averages_to_one_minus_pairwise_agreement(random_runs):
    preds, _ = random_runs
    assert agreement.flip_rate(preds).mean() == pytest.approx(1 - metrics.pairwise_agreement(preds))
    assert agreement.flip_rate([[2, 0, 1], [2, 1, 1], [2, 1, 0]]).round(4).tolist() == [0.0, 0.6667, 0.6667]


def test_vote_entropy_and_majority_vote_by_hand():
    preds = [[0, 1, 2], [0, 1, 1], [0, 0, 1], [0, 0, 2]]
    assert agreement.vote_entropy(preds).round(6).tolist() == [0.0, 1.0, 1.0]
    assert agreement.majority_vote(preds).tolist() == [0, 0, 1]  # ties go to the lowest class


def test_expected_max_by_hand_and_its_curve():
    assert uncertainty.expected_max([0.6, 0.8], 2) == pytest.approx(0.6 * 0.25 + 0.8 * 0.75)
    assert uncertainty.expected_max([0.5, 0.7, 0.9], 1) == pytest.approx(0.7)
    curve = uncertainty.expected_max_curve([0.5, 0.7, 0.9, 0.6], max_n=30)
    values = [curve[n]["expected_max"] for n in sorted(curve)]
    assert all(b >= a for a, b in zip(values, values[1:]))  # more seeds, a higher expected best
    assert values[-1] == pytest.approx(0.9, abs=1e-3) and curve[1]["std"] > curve[30]["std"]
    with pytest.raises(ValueError, match="finite"):
        uncertainty.expected_max([0.5, float("nan")], 1)


def test_bootstrap_intervals_contain_the_value_and_are_seeded(random_runs):
    preds, labels = random_runs
    stat = lambda p, y: metrics.correct_consistency(p, y)  # noqa: E731
    a = uncertainty.bootstrap_interval(stat, preds, labels, over="examples", n_resamples=300)
    assert a["low"] <= a["value"] <= a["high"] and a["high"] - a["low"] > 0
    assert a == uncertainty.bootstrap_interval(stat, preds, labels, over="examples", n_resamples=300)
    same = np.tile(labels, (4, 1))
    b = uncertainty.bootstrap_interval(lambda p, _: metrics.consistency(p), same, over="examples",
                                       n_resamples=200)
    assert (b["low"], b["value"], b["high"]) == (1.0, 1.0, 1.0)
    m = uncertainty.mean_interval([1.0, 2.0, 3.0, 4.0, 5.0], n_resamples=500)
    assert 1 <= m["low"] < 3 < m["high"] <= 5 and m["value"] == 3
    with pytest.raises(ValueError, match="over="):
        uncertainty.bootstrap_interval(stat, preds, labels, over="tasks")


def test_ensembles_buy_back_stability_in_a_planted_case():
    # four seeds, each wrong (class 1) on its own example; a 2-vote tie goes to class 0 = right
    preds = np.zeros((4, 4), dtype=int)
    preds[np.arange(4), np.arange(4)] = 1
    curve = ensembles.ensemble_curve(preds, np.zeros(4, dtype=int), splits=5)
    assert curve[1] == pytest.approx({"accuracy": 0.75, "accuracy_std": 0.0, "consistency": 0.0,
                                      "pairwise_agreement": 0.5, "n_ensembles": 4})
    assert curve[2]["accuracy"] == 1.0 and curve[2]["consistency"] == 1.0
    assert sorted(curve) == [1, 2]


def test_permutation_test_is_exact_for_small_samples():
    # relabellings of {1,2,3,4} into two pairs give mean differences -2,-1,0,0,1,2: |d| >= 2 in 2 of 6
    assert compare.permutation_p_value([1, 2], [3, 4]) == pytest.approx(1 / 3)
    low, high = compare.difference_interval([0.80, 0.81, 0.82], [0.70, 0.71, 0.72], n_resamples=2000)
    assert low <= 0.10 <= high
    with pytest.raises(ValueError, match="at least 2 finite"):
        compare.compare([0.5], [0.4, 0.6])


def test_aso_sees_a_clearly_better_configuration():
    rng = np.random.default_rng(0)
    b = 0.70 + 0.01 * rng.standard_normal(8)
    a = b + 0.05
    result = compare.compare(a, b)
    assert result["difference"] == pytest.approx(0.05)
    assert result["aso_a_better"] < 0.2 < 0.8 < result["aso_b_better"]
    assert result["permutation_p"] < 0.01


def test_consistency_curve_intervals_hold_the_exact_expected_value(random_runs):
    preds, labels = random_runs
    curve = uncertainty.consistency_curve_intervals(preds, labels, seed=1)
    exact = metrics.consistency_curve(preds, labels)
    assert sorted(curve) == list(range(2, preds.shape[0] + 1))
    for k, point in curve.items():
        assert point["consistency"] == pytest.approx(exact[k]["consistency"])
        assert point["consistency_low"] < point["consistency"] < point["consistency_high"]
        assert point["correct_consistency_low"] <= point["correct_consistency"] <= point["correct_consistency_high"]
    # four times the examples (same pattern): the interval of the expected value narrows ~2x
    wide = curve[2]["consistency_high"] - curve[2]["consistency_low"]
    tiled = uncertainty.consistency_curve_intervals(np.tile(preds, 4), seed=1)[2]
    assert tiled["consistency"] == pytest.approx(curve[2]["consistency"])
    assert 0.35 < (tiled["consistency_high"] - tiled["consistency_low"]) / wide < 0.65
    assert uncertainty.consistency_curve_intervals(np.zeros((3, 5), int))[3] == {
        "consistency": 1.0, "consistency_low": 1.0, "consistency_high": 1.0}
