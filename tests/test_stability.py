"""Agreement, uncertainty, ensembles and comparisons on hand-computed and planted cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

from seedstudy.benchmark import metrics
from seedstudy.stats import agreement, compare, consistency, uncertainty


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
    assert agreement.flip_rate(preds).mean() == pytest.approx(1 - consistency.pairwise_agreement(preds))
    assert agreement.flip_rate([[2, 0, 1], [2, 1, 1], [2, 1, 0]]).round(4).tolist() == [0.0, 0.6667, 0.6667]


def test_vote_entropy_and_majority_vote_by_hand():
    preds = [[0, 1, 2], [0, 1, 1], [0, 0, 1], [0, 0, 2]]
    assert agreement.vote_entropy(preds).round(6).tolist() == [0.0, 1.0, 1.0]
    assert agreement.majority_vote(preds)[0] == 0  # ties are broken at random: tests/test_ensembles.py


def test_expected_max_by_hand_and_its_curve():
    assert uncertainty.expected_max([0.6, 0.8], 2) == pytest.approx(0.6 * 0.25 + 0.8 * 0.75)
    assert uncertainty.expected_max([0.5, 0.7, 0.9], 1) == pytest.approx(0.7)
    curve = uncertainty.expected_max_curve([0.5, 0.7, 0.9, 0.6], max_n=30)
    values = [curve[n]["expected_max"] for n in sorted(curve)]
    assert all(b >= a for a, b in zip(values, values[1:]))  # more seeds, a higher expected best
    assert values[-1] == pytest.approx(0.9, abs=1e-3) and curve[1]["std"] > curve[30]["std"]
    with pytest.raises(ValueError, match="finite"):
        uncertainty.expected_max([0.5, float("nan")], 1)


def test_example_interval_contains_the_value_and_is_seeded(random_runs):
    preds, labels = random_runs
    stat = lambda p, y: consistency.all_correct(p, y)  # noqa: E731
    a = uncertainty.example_interval(stat, preds, labels, n_resamples=300)
    assert a["low"] <= a["value"] <= a["high"] and a["high"] - a["low"] > 0
    assert a == uncertainty.example_interval(stat, preds, labels, n_resamples=300)
    same = np.tile(labels, (4, 1))
    b = uncertainty.example_interval(lambda p, _: consistency.all_agree(p), same, n_resamples=200)
    assert (b["low"], b["value"], b["high"]) == (1.0, 1.0, 1.0)
    # agreement is no longer bounded below by its point estimate (the seed bootstrap's flaw)
    agree = uncertainty.example_interval(lambda p, _: consistency.pairwise_agreement(p), preds, n_resamples=300)
    assert agree["low"] < agree["value"] < agree["high"]
    groups = np.repeat(np.arange(40), 5)
    clustered = uncertainty.example_interval(lambda p, _: consistency.pairwise_agreement(p), preds,
                                             groups=groups, n_resamples=300)
    assert clustered["value"] == agree["value"] and clustered["low"] < clustered["value"] < clustered["high"]
    with pytest.raises(ValueError, match="groups must have shape"):
        uncertainty.example_interval(stat, preds, labels, groups=groups[:-1])


def test_example_resamples_keep_groups_whole_and_are_seeded():
    groups = np.array([7, 7, 8, 9, 9, 9])
    resamples = uncertainty.example_resamples(6, groups=groups, n_resamples=50, seed=3)
    members = {7: [0, 1], 8: [2], 9: [3, 4, 5]}
    for index in resamples:
        ids = uncertainty.copy_ids(np.unique(groups, return_inverse=True)[1], index)
        blocks = [index[ids == i].tolist() for i in np.unique(ids)]
        assert len(blocks) == 3 and all(block == members[groups[block[0]]] for block in blocks)
    again = uncertainty.example_resamples(6, groups=groups, n_resamples=50, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(resamples, again))
    assert uncertainty.example_resamples(6, n_resamples=2, seed=np.random.default_rng(3))[0].shape == (6,)
    with pytest.raises(ValueError, match="at least 2"):
        uncertainty.example_resamples(3, groups=[1, 1, 1])


def test_resampled_scores_count_each_drawn_group_copy():
    # exact match over questions 0 (right) and 1 (wrong); a resample drawing question 0 twice: EM 1.0
    labels, preds, groups = np.array([1, 0, 1, 1]), np.array([[1, 0, 0, 1]]), np.array([0, 0, 1, 1])
    scores = uncertainty.resampled_scores(metrics.exact_match, labels, preds, [np.array([0, 1, 0, 1])],
                                          groups=groups)
    assert scores.tolist() == [[0.5], [1.0]]
    acc = uncertainty.resampled_scores(metrics.accuracy, labels, np.vstack([preds, labels]),
                                       [np.array([2, 2, 3, 3])])
    assert acc.tolist() == [[0.75, 1.0], [0.5, 1.0]]


def test_seed_example_interval_by_hand():
    from scipy.stats import t

    # additive scores y = 0.8 + alpha_s + beta_b, no interaction; beta_0 = 0 on all examples
    alpha = np.array([-0.02, -0.01, 0.0, 0.01, 0.02])
    beta = np.r_[0.0, np.tile([-0.01, 0.01], 50)]
    ci = uncertainty.seed_example_interval(0.8 + alpha[None, :] + beta[:, None])
    seed, example = np.var(alpha, ddof=1) / 5, np.var(beta[1:], ddof=1)
    assert ci["value"] == pytest.approx(0.8)
    assert ci["seed_variance"] == pytest.approx(seed) and ci["example_variance"] == pytest.approx(example)
    assert ci["interaction_variance"] == pytest.approx(0.0, abs=1e-15)
    assert ci["se"] == pytest.approx(np.sqrt(seed + example))
    df = (seed + example) ** 2 / (seed ** 2 / 4)
    half = t.ppf(0.975, df) * ci["se"]
    assert ci["df"] == pytest.approx(df) and (ci["low"], ci["high"]) == pytest.approx((0.8 - half, 0.8 + half))
    flat = uncertainty.seed_example_interval(np.full((4, 3), 0.7))  # nothing varies: the point
    assert (flat["low"], flat["high"], flat["df"]) == (pytest.approx(0.7), pytest.approx(0.7), float("inf"))
    undefined = np.full((4, 3), 0.7)
    undefined[0, 1], undefined[2, 0] = np.nan, np.nan  # a seed undefined on all examples: NaN
    assert np.isnan(uncertainty.seed_example_interval(undefined)["low"])
    undefined[0, 1] = 0.7  # undefined on one resample only: that resample is left out
    assert uncertainty.seed_example_interval(undefined)["n_resamples"] == 2
    with pytest.raises(ValueError, match=r"shaped \(1 \+ B, n_seeds\)"):
        uncertainty.seed_example_interval(np.ones((5, 1)))


def test_std_interval_is_the_chi_square_interval():
    # s = sqrt(2.5); chi2(4) quantiles 0.484419 (2.5 %) and 11.143287 (97.5 %)
    ci = uncertainty.std_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    s = np.sqrt(2.5)
    assert ci["value"] == pytest.approx(s)
    assert ci["low"] == pytest.approx(s * np.sqrt(4 / 11.143287), rel=1e-6)
    assert ci["high"] == pytest.approx(s * np.sqrt(4 / 0.484419), rel=1e-6)
    with pytest.raises(ValueError, match="at least 2 finite"):
        uncertainty.std_interval([0.5])


def _resampled(per_seed: np.ndarray, rng: np.random.Generator, b: int = 200) -> np.ndarray:
    """A (1 + b, N) score matrix: per-seed scores plus a small example effect shared by the seeds."""
    return per_seed[None, :] + np.r_[0.0, 0.005 * rng.standard_normal(b)][:, None]


def test_paired_difference_by_hand():
    # B = A - 0.1 for every seed and resample: the paired difference is exactly 0.1 with se 0
    rng = np.random.default_rng(4)
    a = _resampled(np.array([0.80, 0.82, 0.78, 0.81]), rng)
    paired = compare.compare(a, a - 0.1, paired=True, aso=False)
    assert paired["difference"] == pytest.approx(0.1) and paired["se"] == pytest.approx(0.0, abs=1e-12)
    assert paired["p_value"] == 0.0 and paired["paired"] is True
    unpaired = compare.compare(a, a - 0.1, paired=False, aso=False)
    assert unpaired["seed_variance"] == pytest.approx(2 * np.var(a[0], ddof=1) / 4)
    assert unpaired["example_variance"] == pytest.approx(0.0, abs=1e-12)  # shared examples cancel
    assert unpaired["difference_low"] < 0.1 < unpaired["difference_high"] and unpaired["se"] > 0.01
    with pytest.raises(ValueError, match="same seeds"):
        compare.compare(a, a[:, :3], paired=True, aso=False)
    with pytest.raises(ValueError, match="same resamples"):
        compare.compare(a, a[:-1], paired=False, aso=False)
    with pytest.raises(ValueError, match=">= 2 seeds"):
        compare.compare(a[:, :1], a, paired=False, aso=False)


def test_pairing_lines_up_shared_seeds_only():
    order_a, order_b = compare.pairing([3, 1, 2], [1, 2, 3])
    assert np.array_equal(np.array([3, 1, 2])[order_a], np.array([1, 2, 3])[order_b])
    assert compare.pairing([1, 2, 3], [1, 2, 4]) is None and compare.pairing([1, 2], [1, 2, 3]) is None


def test_aso_sees_a_clearly_better_configuration_and_leaves_numpy_alone():
    rng = np.random.default_rng(0)
    b = _resampled(0.70 + 0.01 * rng.standard_normal(8), rng)
    a = b + 0.05
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    result = compare.compare(a, b, paired=True, aso_iterations=200, seed=1)
    assert np.array_equal(np.random.get_state()[1], state)  # deepsig reseeds NumPy; compare restores it
    assert result["difference"] == pytest.approx(0.05) and result["p_value"] < 0.01
    assert result["aso_a_better"] < compare.ASO_THRESHOLD < 0.8 < result["aso_b_better"]
    # Bonferroni over more comparisons: a higher confidence, a larger (more cautious) epsilon_min
    close = 0.70 + 0.01 * rng.standard_normal(5)
    one = compare.aso_violation(close + 0.004, close, num_bootstrap_iterations=200, seed=1)
    four = compare.aso_violation(close + 0.004, close, num_comparisons=4, num_bootstrap_iterations=200, seed=1)
    assert 0 < one < four
    with pytest.raises(ValueError, match="at least 2 finite"):
        compare.aso_violation([0.5], [0.4, 0.6])


def test_all_agree_curve_intervals_hold_the_exact_expected_value(random_runs):
    preds, labels = random_runs
    curve = uncertainty.all_agree_curve_intervals(preds, labels, seed=1)
    exact = consistency.all_agree_curve(preds, labels)
    assert sorted(curve) == list(range(2, preds.shape[0] + 1))
    for k, point in curve.items():
        assert point["all_agree"] == pytest.approx(exact[k]["all_agree"])
        assert point["all_agree_low"] < point["all_agree"] < point["all_agree_high"]
        assert point["all_correct_low"] <= point["all_correct"] <= point["all_correct_high"]
    # four times the examples (same pattern): the interval of the expected value narrows ~2x
    wide = curve[2]["all_agree_high"] - curve[2]["all_agree_low"]
    tiled = uncertainty.all_agree_curve_intervals(np.tile(preds, 4), seed=1)[2]
    assert tiled["all_agree"] == pytest.approx(curve[2]["all_agree"])
    assert 0.35 < (tiled["all_agree_high"] - tiled["all_agree_low"]) / wide < 0.65
    assert uncertainty.all_agree_curve_intervals(np.zeros((3, 5), int))[3] == {
        "all_agree": 1.0, "all_agree_low": 1.0, "all_agree_high": 1.0}
    # whole groups resampled: same expected value, an interval of its own
    grouped = uncertainty.all_agree_curve_intervals(preds, groups=np.repeat(np.arange(20), 10), seed=1)[2]
    assert grouped["all_agree"] == pytest.approx(curve[2]["all_agree"])
    assert grouped["all_agree_low"] < grouped["all_agree"] < grouped["all_agree_high"]
