"""Validity by simulation: intervals cover a known truth at their nominal rate, tests reject
identical configurations at their nominal rate, and the old methods would have been caught.

Data model: example difficulty d_i ~ N(0, 1) from a population, seed skill theta_s ~ N(0, tau^2),
each (seed, example) right with probability Phi(c + theta_s - d_i), independently. The
population mean accuracy is then Phi(c / sqrt(2 + tau^2)). Every simulation is seeded.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from seedstudy.stats import compare, consistency, uncertainty

N_SEEDS, N_EXAMPLES, B = 5, 300, 200


def _accuracy(labels: np.ndarray, preds: np.ndarray) -> float:
    """Share of predictions equal to the label (vectorised, for speed)."""
    return float(np.mean(labels == preds))


def _correct(rng: np.random.Generator, c: float, theta: np.ndarray, d: np.ndarray) -> np.ndarray:
    """(seed, example) correctness drawn with probability Phi(c + theta_s - d_i)."""
    return rng.random((theta.size, d.size)) < norm.cdf(c + theta[:, None] - d)


def _fast_scores(correct: np.ndarray, resamples: list[np.ndarray]) -> np.ndarray:
    """What ``resampled_scores`` gives for accuracy, vectorised (checked equal below)."""
    return np.vstack([correct.mean(axis=1), correct[:, np.stack(resamples)].mean(axis=-1).T])


def _naive_seed_interval(scores: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """The old method: percentile bootstrap of the mean over seeds only."""
    means = scores[rng.integers(0, scores.size, (1000, scores.size))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def test_population_accuracy_has_its_closed_form():
    rng = np.random.default_rng(0)
    c, tau = 0.5, 1.0
    theta, d = tau * rng.standard_normal(1_000_000), rng.standard_normal(1_000_000)
    assert norm.cdf(c + theta - d).mean() == pytest.approx(norm.cdf(c / np.sqrt(2 + tau ** 2)), abs=1e-3)


def test_fast_scores_match_resampled_scores():
    rng = np.random.default_rng(1)
    correct = _correct(rng, 0.5, 0.5 * rng.standard_normal(3), rng.standard_normal(40))
    resamples = uncertainty.example_resamples(40, n_resamples=7, seed=2)
    exact = uncertainty.resampled_scores(_accuracy, np.ones(40, int), correct.astype(int), resamples)
    assert exact.shape == (8, 3) and np.allclose(exact, _fast_scores(correct, resamples))


@pytest.mark.parametrize("regime, tau", [("seeds", 1.0), ("examples", 0.0)])
def test_seed_example_interval_covers_the_population_mean(regime, tau):
    rng = np.random.default_rng(10 if regime == "seeds" else 11)
    c, studies = 0.5, 500
    truth = norm.cdf(c / np.sqrt(2 + tau ** 2))
    labels = np.ones(N_EXAMPLES, int)
    covered = naive = 0
    seed_share = []
    for _ in range(studies):
        preds = _correct(rng, c, tau * rng.standard_normal(N_SEEDS), rng.standard_normal(N_EXAMPLES))
        resamples = uncertainty.example_resamples(N_EXAMPLES, n_resamples=B, seed=rng)
        scores = uncertainty.resampled_scores(_accuracy, labels, preds.astype(int), resamples)
        ci = uncertainty.seed_example_interval(scores)
        covered += ci["low"] <= truth <= ci["high"]
        seed_share.append(ci["seed_variance"] / ci["se"] ** 2)
        low, high = _naive_seed_interval(scores[0], rng)
        naive += low <= truth <= high
    coverage, naive_coverage = covered / studies, naive / studies
    print(f"{regime}: coverage {coverage:.3f}, naive seed bootstrap {naive_coverage:.3f}, "
          f"seed share of variance {np.mean(seed_share):.2f}")
    assert 0.92 <= coverage <= 0.98
    if regime == "seeds":
        assert np.mean(seed_share) > 0.9
        assert naive_coverage < 0.90  # the old seed bootstrap: too narrow with 5 seeds
    else:
        assert np.mean(seed_share) < 0.4  # seed share here is only seed-by-example noise


# ---------------------------------------------------------------- clustered agreement
_ALIKE = np.array([(k * (k - 1) + (N_SEEDS - k) * (N_SEEDS - k - 1)) / (N_SEEDS * (N_SEEDS - 1))
                   for k in range(N_SEEDS + 1)])  # share of seed pairs alike when k of N say 1


def _pairwise_agreement_binary(preds: np.ndarray, _labels=None) -> float:
    """Mean over seed pairs of the share of examples they predict alike (binary, N_SEEDS rows)."""
    return float(_ALIKE[preds.sum(axis=0)].mean())


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(80)  # Gauss-Hermite for E over N(0, 1)


def _agreement_truth(theta: np.ndarray, c: float, sd_d: float, sd_z: float) -> float:
    """These seeds' expected pairwise agreement on a new example (quadrature over d)."""
    q = norm.cdf((c + theta[:, None] - sd_d * _NODES) / np.sqrt(1 + sd_z ** 2))  # P(right | d)
    w = _WEIGHTS / _WEIGHTS.sum()
    pairs = itertools.combinations(range(theta.size), 2)
    return float(np.mean([np.sum(w * (q[j] * q[k] + (1 - q[j]) * (1 - q[k]))) for j, k in pairs]))


def _grouped_preds(rng, theta, c, n_groups, size, sd_u, sd_w, sd_z):
    """Groups share difficulty (u_g) and each seed's grasp of the group (z_sg ~ N(0, sd_z^2))."""
    groups = np.repeat(np.arange(n_groups), size)
    d = (sd_u * rng.standard_normal(n_groups))[groups] + sd_w * rng.standard_normal(groups.size)
    z = (sd_z * rng.standard_normal((theta.size, n_groups)))[:, groups]
    return (rng.random((theta.size, groups.size)) < norm.cdf(c + theta[:, None] + z - d)).astype(int), groups


def test_clustered_example_interval_covers_pairwise_agreement():
    c, sd_u, sd_w, sd_z, tau = 0.8, 0.9, 0.3, 1.0, 0.3
    sd_d = np.hypot(sd_u, sd_w)
    rng = np.random.default_rng(20)
    theta = tau * rng.standard_normal(N_SEEDS)
    big, _ = _grouped_preds(rng, theta, c, 40_000, 5, sd_u, sd_w, sd_z)  # the truth, numerically
    assert _pairwise_agreement_binary(big) == pytest.approx(_agreement_truth(theta, c, sd_d, sd_z), abs=3e-3)
    assert _pairwise_agreement_binary(big[:, :50]) == pytest.approx(consistency.pairwise_agreement(big[:, :50]))

    studies, clustered, plain = 800, 0, 0
    for _ in range(studies):
        theta = tau * rng.standard_normal(N_SEEDS)
        preds, groups = _grouped_preds(rng, theta, c, 60, 5, sd_u, sd_w, sd_z)
        truth = _agreement_truth(theta, c, sd_d, sd_z)
        a = uncertainty.example_interval(_pairwise_agreement_binary, preds, groups=groups,
                                         n_resamples=400, seed=rng)
        b = uncertainty.example_interval(_pairwise_agreement_binary, preds, n_resamples=400, seed=rng)
        clustered += a["low"] <= truth <= a["high"]
        plain += b["low"] <= truth <= b["high"]
    print(f"pairwise agreement: clustered coverage {clustered / studies:.3f}, "
          f"unclustered {plain / studies:.3f}")
    assert 0.92 <= clustered / studies <= 0.98
    assert plain / studies < 0.85  # resampling grouped examples one by one: far too narrow


def test_std_interval_covers_sigma_of_normal_scores():
    rng = np.random.default_rng(30)
    studies, sigma = 4000, 0.02
    hits = 0
    for _ in range(studies):
        ci = uncertainty.std_interval(0.8 + sigma * rng.standard_normal(N_SEEDS))
        hits += ci["low"] <= sigma <= ci["high"]
    print(f"std interval coverage {hits / studies:.3f}")
    assert 0.93 <= hits / studies <= 0.97


# ---------------------------------------------------------------- comparing two configurations
def _pair(rng, c_a: float, c_b: float, tau: float, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Scores of A and B on the same examples and resamples; seed skills correlated by rho."""
    d = rng.standard_normal(N_EXAMPLES)
    theta_a = tau * rng.standard_normal(N_SEEDS)
    theta_b = rho * theta_a + np.sqrt(1 - rho ** 2) * tau * rng.standard_normal(N_SEEDS)
    resamples = uncertainty.example_resamples(N_EXAMPLES, n_resamples=B, seed=rng)
    return (_fast_scores(_correct(rng, c_a, theta_a, d), resamples),
            _fast_scores(_correct(rng, c_b, theta_b, d), resamples))


def _rejections(rng, delta: float, rho: float, paired: bool, pairs: int = 400) -> float:
    """Share of simulated pairs where the two-sided test at 0.05 rejects."""
    hits = 0
    for _ in range(pairs):
        a, b = _pair(rng, 0.5 + delta, 0.5, 0.3, rho)
        hits += compare.compare(a, b, paired=paired, aso=False)["p_value"] < 0.05
    return hits / pairs


@pytest.mark.parametrize("paired, rho", [(True, 0.8), (False, 0.0)])
def test_identical_configurations_are_rejected_at_the_nominal_rate(paired, rho):
    rate = _rejections(np.random.default_rng(40 + paired), 0.0, rho, paired)
    print(f"{'paired' if paired else 'unpaired'} null rejection rate {rate:.3f}")
    assert 0.01 <= rate <= 0.08


def test_a_planted_difference_is_found_and_pairing_narrows_the_interval():
    rng = np.random.default_rng(50)
    widths, paired_hits, unpaired_hits, pairs = [], 0, 0, 400
    for _ in range(pairs):
        a, b = _pair(rng, 0.5 + 0.3, 0.5, 0.3, 0.8)  # shared seeds: correlated skill
        p, u = compare.compare(a, b, paired=True, aso=False), compare.compare(a, b, paired=False, aso=False)
        paired_hits += p["p_value"] < 0.05
        unpaired_hits += u["p_value"] < 0.05
        widths.append((p["difference_high"] - p["difference_low"]) / (u["difference_high"] - u["difference_low"]))
    widths = np.array(widths)
    independent = _rejections(rng, 0.5, 0.0, paired=False)  # seeds not shared: Welch
    print(f"planted difference: paired power {paired_hits / pairs:.3f} (same data unpaired "
          f"{unpaired_hits / pairs:.3f}), unpaired on independent seeds {independent:.3f}; "
          f"paired/unpaired width median {np.median(widths):.2f}, narrower in {np.mean(widths < 1):.3f}")
    assert paired_hits / pairs > 0.4 and paired_hits > 2 * unpaired_hits and independent > 0.4
    assert np.median(widths) < 0.75 and np.mean(widths < 1) > 0.85


def test_holm_matches_statsmodels_and_is_monotone():
    rng = np.random.default_rng(60)
    p = rng.random(9) ** 3
    adjusted = compare.holm(p)
    assert np.allclose(adjusted, multipletests(p, method="holm")[1])
    ordered = adjusted[np.argsort(p)]
    assert np.all(np.diff(ordered) >= 0) and np.all(adjusted >= p) and np.all(adjusted <= 1)
    # by hand: sorted 0.01*3, 0.03*2, 0.04*1 -> 0.03, 0.06, max(0.06, 0.04)
    assert compare.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = compare.holm([0.02, float("nan"), 0.04])
    assert out[[0, 2]] == pytest.approx([0.04, 0.04]) and np.isnan(out[1])


def test_verdict_states_evidence_not_winners():
    assert compare.verdict(0.02, 0.012, 5, 5) == "A > B (Holm p = 0.012)"
    assert compare.verdict(-0.02, 0.0004, 5, 5) == "B > A (Holm p < 0.001)"
    assert compare.verdict(0.02, 0.3, 5, 5) == "no evidence of a difference with 5 seeds per side (Holm p = 0.300)"
    assert compare.verdict(0.02, 0.3, 5, 4) == "no evidence of a difference with 5 and 4 seeds (Holm p = 0.300)"
    assert compare.verdict(0.0, float("nan"), 5, 5) == "not tested"
    assert compare.ASO_THRESHOLD == 0.2


# ---------------------------------------------------------------- CON for new seeds (seed population)
# Seed s labels example i as 1 when z_i + u_s + e_si > 0: z_i ~ N(0, 1) the example's lean, u_s ~
# N(0, sd_u^2) how much the seed favours class 1, e_si ~ N(0, sd_e^2) noise. Given z, a seed says 1
# with probability m(z) = Phi(z / sqrt(sd_u^2 + sd_e^2)); two new seeds agree with m^2 + (1 - m)^2.
def _con_truth(sd_u: float, sd_e: float) -> float:
    """CON of two new seeds on a new example, by Gauss-Hermite quadrature over z."""
    z, w = np.polynomial.hermite_e.hermegauss(80)
    m = norm.cdf(z / np.hypot(sd_u, sd_e))
    return float(np.sum(w * (m ** 2 + (1 - m) ** 2)) / np.sum(w))


def _lean_preds(rng: np.random.Generator, z: np.ndarray, n_seeds: int, sd_u: float, sd_e: float) -> np.ndarray:
    """(seed, example) class-1 decisions of fresh seeds on the examples ``z``."""
    u = sd_u * rng.standard_normal(n_seeds)
    return (z[None, :] + u[:, None] + sd_e * rng.standard_normal((n_seeds, z.size)) > 0).astype(int)


@pytest.mark.parametrize("sd_u, sd_e, seeds_matter", [(0.1, 0.7, False), (0.5, 0.5, True)])
def test_agreement_interval_covers_con_of_new_seeds(sd_u, sd_e, seeds_matter):
    rng = np.random.default_rng(31)
    big = _lean_preds(rng, rng.standard_normal(20_000), 60, sd_u, sd_e)  # the quadrature, checked
    assert consistency.con(big) == pytest.approx(_con_truth(sd_u, sd_e), abs=0.02)
    truth, studies, covered, examples_only = _con_truth(sd_u, sd_e), 300, 0, 0
    for _ in range(studies):
        preds = _lean_preds(rng, rng.standard_normal(N_EXAMPLES), N_SEEDS, sd_u, sd_e)
        ci = uncertainty.agreement_interval(preds, n_resamples=B, seed=rng)
        old = uncertainty.example_interval(lambda p, _: consistency.con(p), preds, n_resamples=B, seed=rng)
        assert ci["low"] <= ci["value"] <= ci["high"] < 1
        covered += ci["low"] <= truth <= ci["high"]
        examples_only += old["low"] <= truth <= old["high"]
    print(f"sd_u {sd_u}: coverage {covered / studies:.3f}, examples only {examples_only / studies:.3f}")
    assert 0.88 <= covered / studies <= 0.995
    if seeds_matter:  # seeds that differ in their class balance: an interval blind to them is too narrow
        assert examples_only / studies < 0.8


def test_agreement_difference_holds_its_level_and_finds_a_planted_difference():
    rng = np.random.default_rng(32)
    rejected, found, studies = 0, 0, 200
    for _ in range(studies):
        z = rng.standard_normal(N_EXAMPLES)  # both arms are scored on the same examples
        same = uncertainty.agreement_difference(_lean_preds(rng, z, N_SEEDS, 0.3, 0.6),
                                                _lean_preds(rng, z, N_SEEDS, 0.3, 0.6), n_resamples=B, seed=rng)
        rejected += same["p_value"] < 0.05
        planted = uncertainty.agreement_difference(_lean_preds(rng, z, N_SEEDS, 0.3, 0.6),
                                                   _lean_preds(rng, z, N_SEEDS, 0.1, 0.3), n_resamples=B, seed=rng)
        found += planted["p_value"] < 0.05 and planted["difference"] > 0
    delta = _con_truth(0.1, 0.3) - _con_truth(0.3, 0.6)
    print(f"CON difference: type I {rejected / studies:.3f}, power {found / studies:.3f} for {100 * delta:.1f} points")
    assert rejected / studies <= 0.06
    assert found / studies >= 0.8


def test_agreement_difference_counts_shared_examples_once():
    """Seeds that barely matter, examples that do: the difference's se must match its spread over
    studies (it would be ~2x with the cross-covariance left out, and too small with it doubled)."""
    rng = np.random.default_rng(33)
    differences, ses = [], []
    for _ in range(200):
        z = rng.standard_normal(N_EXAMPLES)
        d = uncertainty.agreement_difference(_lean_preds(rng, z, N_SEEDS, 0.05, 0.3),
                                             _lean_preds(rng, z, N_SEEDS, 0.05, 0.6), n_resamples=B, seed=rng)
        differences.append(d["difference"])
        ses.append(d["se"])
    ratio = float(np.sqrt(np.mean(np.square(ses)))) / float(np.std(differences, ddof=1))
    print(f"CON difference: rms se / sd over studies = {ratio:.2f}")
    assert 0.85 <= ratio <= 1.4


def test_agreement_interval_by_hand_edges():
    same = np.array([[0, 1, 1, 0]] * 4)
    ci = uncertainty.agreement_interval(same, n_resamples=50)
    assert ci["value"] == 1.0 and np.isnan(ci["low"]) and np.isnan(ci["high"])  # not "certainly 100 %"
    noisy = np.array([[0, 1, 1, 0], [0, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1]])
    assert np.isnan(uncertainty.agreement_difference(same, noisy, n_resamples=50)["p_value"])
    with pytest.raises(ValueError, match="at least 3 runs"):
        uncertainty.agreement_interval(same[:2])
    with pytest.raises(ValueError, match="same examples"):
        uncertainty.agreement_difference(same, same[:, :3])
    # the jackknife by hand: 3 seeds, pair means (a, b, c) -> leave-one-out means c, b, a
    pm = np.array([0.9, 0.6, 0.3])  # pairs (0,1), (0,2), (1,2)
    loo = np.array([0.3, 0.6, 0.9])
    assert uncertainty.jackknife_pair_variance(pm, 3) == pytest.approx(2 / 3 * np.sum((loo - loo.mean()) ** 2))
    # 4 seeds: pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,3); leaving seed i out keeps the 3 pairs without it
    pm = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    loo = np.array([np.mean([0.6, 0.5, 0.4]), np.mean([0.8, 0.7, 0.4]), np.mean([0.9, 0.7, 0.5]),
                    np.mean([0.9, 0.8, 0.6])])
    assert uncertainty.jackknife_pair_variance(pm, 4) == pytest.approx(3 / 4 * np.sum((loo - loo.mean()) ** 2))
