"""Across tasks: the lucky-seed test and the size correlation, checked where the truth is known."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from seedstudy.stats import acrosstasks


def test_kendall_w_and_friedman_agree_by_hand():
    scores = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.7, 0.6, 0.9], [0.2, 0.1, 0.4, 0.3]])
    result = acrosstasks.lucky_seed_test(scores, n_permutations=500)
    # ranks: [1 2 3 4], [1 3 2 4], [2 1 4 3]; mean ranks 4/3, 2, 3, 11/3
    assert result["mean_ranks"] == pytest.approx([4 / 3, 2, 3, 11 / 3]) and result["best"] == 3
    assert result["kendall_w"] == pytest.approx(result["friedman_chi2"] / (3 * (4 - 1)))  # no ties
    same = np.tile([0.1, 0.4, 0.2, 0.3, 0.5], (6, 1))
    perfect = acrosstasks.lucky_seed_test(same, n_permutations=999)
    assert perfect["kendall_w"] == pytest.approx(1.0) and perfect["p_permutation"] == pytest.approx(1 / 1000)
    with pytest.raises(ValueError, match="n_tasks >= 2, n_seeds >= 3"):
        acrosstasks.lucky_seed_test([[0.1, 0.2]])
    with pytest.raises(ValueError, match="finite"):
        acrosstasks.lucky_seed_test([[0.1, 0.2, np.nan], [0.1, 0.2, 0.3]])


def _studies(n: int, lucky: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Simulated studies: 7 tasks x 5 seeds on task-specific scales; seed 0 gains ``lucky`` task-sds."""
    out = []
    for _ in range(n):
        centre, scale = rng.uniform(0.5, 0.9, (7, 1)), rng.uniform(0.005, 0.05, (7, 1))
        z = rng.normal(size=(7, 5))
        z[:, 0] += lucky
        out.append(centre + scale * z)
    return out


def test_lucky_seed_test_holds_its_level_and_finds_a_planted_lucky_seed():
    rng = np.random.default_rng(0)
    null = [acrosstasks.lucky_seed_test(s, n_permutations=1000, seed=i)["p_permutation"]
            for i, s in enumerate(_studies(500, 0.0, rng))]
    rate = np.mean(np.array(null) <= 0.05)
    assert 0.025 <= rate <= 0.075, rate  # nominal 5 %; binomial sd over 500 studies ~1 point
    planted = [acrosstasks.lucky_seed_test(s, n_permutations=1000, seed=i)
               for i, s in enumerate(_studies(200, 2.0, rng))]
    assert np.mean([r["p_permutation"] <= 0.05 for r in planted]) > 0.8
    assert np.mean([r["best"] == 0 for r in planted]) > 0.8


def test_normalised_scores_standardise_each_task():
    z = acrosstasks.normalised_scores([[0.1, 0.2, 0.3], [0.5, 0.5, 0.5]])
    assert z[0] == pytest.approx([-1, 0, 1]) and z[1].tolist() == [0, 0, 0]


def test_fisher_interval_covers_the_true_correlation():
    rng = np.random.default_rng(1)
    rho, n, hits = 0.6, 7, 0
    cov = [[1, rho], [rho, 1]]
    for _ in range(2000):
        x, y = rng.multivariate_normal([0, 0], cov, size=n).T
        low, high = acrosstasks.fisher_interval(np.corrcoef(x, y)[0, 1], n)
        hits += low <= rho <= high
    assert 0.93 <= hits / 2000 <= 0.97


def test_spearman_permutation_p_is_exact_and_holds_its_level():
    x = np.arange(6.0)
    # a perfect order: 2 of the 720 orderings reach |rho| = 1
    assert acrosstasks.spearman_permutation_p(x, x ** 2) == pytest.approx(2 / 720)
    rng = np.random.default_rng(2)
    ps = [acrosstasks.spearman_permutation_p(rng.normal(size=7), rng.normal(size=7)) for _ in range(1000)]
    assert 0.025 <= np.mean(np.array(ps) <= 0.05) <= 0.065
    big = rng.normal(size=30)
    p = acrosstasks.spearman_permutation_p(big, big + rng.normal(size=30), n_permutations=2000)
    assert p < stats.spearmanr(big, big + 10 * rng.normal(size=30)).pvalue + 1  # defined beyond 8 pairs
    assert 0 < p < 0.05


def test_size_correlation_on_log_size_and_missing_values():
    sizes = [250, 400, 1024, 2048, 5000, 10_000, np.nan]
    values = [0.9, 0.8, 0.6, 0.5, 0.3, 0.1, 0.5]
    result = acrosstasks.size_correlation(sizes, values)
    assert result["n_tasks"] == 6 and result["spearman"] == pytest.approx(-1.0)
    assert result["pearson_low"] < result["pearson"] < result["pearson_high"] < 0
    assert np.isnan(acrosstasks.size_correlation([1, 2, 3], [1, 2, 3])["pearson"])
