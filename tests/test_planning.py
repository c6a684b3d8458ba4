"""Seeds needed: each answer checked by simulating studies of that many seeds where the truth is known."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from seedstudy.stats import planning
from seedstudy.stats.consistency import pair_values


def test_the_mean_interval_is_first_narrow_enough_at_the_answer():
    n = planning.seeds_for_mean(1.0, 0.5)
    assert n == 18  # t_17 / sqrt(18) = 0.497; t_16 / sqrt(17) = 0.514
    assert stats.t.ppf(0.975, n - 1) / math.sqrt(n) <= 0.5 < stats.t.ppf(0.975, n - 2) / math.sqrt(n - 1)
    assert planning.seeds_for_mean(0.0005, 0.005) == 2.0  # t_1 * 0.0005 / sqrt(2) = 0.0045: the fewest possible
    assert planning.seeds_for_mean(0.002, 0.005) == 3.0  # t_1: 0.018, t_2: 0.00497
    assert math.isnan(planning.seeds_for_mean(0.0, 0.5))  # no spread seen: no answer
    assert planning.seeds_for_mean(1.0, 1e-4) == math.inf


def test_simulated_intervals_at_the_answer_cover_and_are_as_narrow_as_asked():
    rng = np.random.default_rng(1)
    sd, half = 2.0, 1.0
    n = int(planning.seeds_for_mean(sd, half))
    scores = rng.normal(70.0, sd, size=(20000, n))
    widths = stats.t.ppf(0.975, n - 1) * scores.std(axis=1, ddof=1) / math.sqrt(n)
    covered = np.abs(scores.mean(axis=1) - 70.0) <= widths
    assert abs(covered.mean() - 0.95) < 0.005
    assert np.mean(widths) <= half  # E[s] < sd: on average a little narrower than asked
    assert np.mean(widths) > 0.95 * half


@pytest.mark.parametrize("paired, correlation", [(False, 0.0), (True, 0.0), (True, 0.6)])
def test_simulated_power_at_the_recommended_seeds_is_eighty_percent(paired, correlation):
    rng = np.random.default_rng(2)
    sd, difference, trials = 1.5, 1.2, 8000
    n = int(planning.seeds_for_difference(sd, difference, paired=paired, correlation=correlation))
    exact = planning.power_of(sd, difference, n, paired=paired, correlation=correlation)
    assert 0.8 <= exact < 0.8 + 0.06  # ceil: at least 80 %, and not far above
    assert planning.power_of(sd, difference, n - 1, paired=paired, correlation=correlation) < 0.8
    cov = sd ** 2 * np.array([[1, correlation], [correlation, 1]])

    def rejected(delta: float) -> float:
        a, b = np.moveaxis(rng.multivariate_normal([0.0, delta], cov, size=(trials, n)), -1, 0)
        test = stats.ttest_rel(a, b, axis=1) if paired else stats.ttest_ind(a, b, axis=1)
        return float(np.mean(test.pvalue < 0.05))

    assert abs(rejected(difference) - exact) < 0.025  # simulated power = the formula's
    assert abs(rejected(difference) - 0.8) < 0.05
    assert abs(rejected(0.0) - 0.05) < 0.012  # and the test holds its level


def test_a_difference_two_seeds_already_detect_needs_two_and_huge_needs_are_infinite():
    assert planning.seeds_for_difference(0.1, 5.0) == 2.0  # no solver root above 2: answered directly
    assert planning.seeds_for_difference(0.1, 5.0, paired=True, correlation=0.9) == 2.0
    assert planning.seeds_for_difference(10.0, 1e-3) == math.inf
    assert planning.seeds_for_mean(10.0, 1e-3) == math.inf
    with pytest.raises(ValueError, match="correlation"):
        planning.seeds_for_difference(1.0, 1.0, paired=True, correlation=1.0)


def _study(rng: np.random.Generator, latent: np.ndarray, seeds: int) -> np.ndarray:
    """Binary predictions of ``seeds`` new seeds: each seed a shift of its own, plus noise."""
    shift = rng.normal(0.0, 0.3, size=(seeds, 1))
    return (latent[None, :] + shift + rng.normal(0.0, 0.6, size=(seeds, latent.size)) > 0).astype(np.int8)


def _pair_matrix(preds: np.ndarray) -> np.ndarray:
    """CON of every two seeds (binary predictions), as a matrix."""
    p = preds.astype(float)
    return (p @ p.T + (1 - p) @ (1 - p).T) / p.shape[1]


def test_pair_components_and_the_variance_of_con_over_new_seeds_match_simulation():
    rng = np.random.default_rng(3)
    latent = rng.normal(0.0, 1.0, size=1500)  # the evaluation set, fixed
    many = _pair_matrix(_study(rng, latent, 600))  # the truth, from 600 seeds
    off = ~np.eye(600, dtype=bool)
    theta = many[off].mean()
    zeta1 = np.var((many.sum(axis=1) - 1) / 599)  # Var of E[h(a, b) | a]
    zeta2 = many[off].var()
    estimates, cons = [], []
    for _ in range(1500):
        preds = _study(rng, latent, 8)
        pairs = pair_values(preds).mean(axis=1)
        cons.append(pairs.mean())
        estimates.append(planning.pair_components(pair_values(preds[:5]).mean(axis=1), 5, clip=False))  # 5 seen
    assert abs(np.mean(cons) - theta) < 1e-3
    predicted = planning.pair_mean_variance(zeta1, zeta2, 8)
    assert np.var(cons, ddof=1) == pytest.approx(predicted, rel=0.12)
    mean_zeta1, mean_zeta2 = np.mean(estimates, axis=0)  # unbiased before clipping
    assert mean_zeta1 == pytest.approx(zeta1, rel=0.15) and mean_zeta2 == pytest.approx(zeta2, rel=0.1)
    clipped = np.mean([max(0.0, z) for z, _ in estimates])
    assert clipped > mean_zeta1  # clipping errs towards more seeds


def test_con_at_the_recommended_seeds_is_known_as_well_as_asked():
    rng = np.random.default_rng(4)
    latent = rng.normal(0.0, 1.0, size=1000)
    many = _pair_matrix(_study(rng, latent, 400))
    off = ~np.eye(400, dtype=bool)
    zeta1, zeta2 = np.var((many.sum(axis=1) - 1) / 399), many[off].var()
    half = 0.01
    needed = planning.seeds_for_pair_mean(np.array([0.9, 0.9, 0.9]), 3, half)
    assert math.isnan(needed)  # seeds that never differ: no answer
    n = planning.seeds_for_components(zeta1, zeta2, half)
    cons = [pair_values(_study(rng, latent, int(n))).mean() for _ in range(600)]
    assert 1.96 * np.std(cons, ddof=1) <= half * 1.1
    assert 1.96 * math.sqrt(planning.pair_mean_variance(zeta1, zeta2, int(n) - 1)) > half


def test_the_seeds_command_plans_from_the_committed_quick_study(capsys):
    """Its numbers are the planning functions' on the study's own scores; a missing study is one line."""
    import json

    from seedstudy import PROJECT_ROOT
    from seedstudy.cli import main

    runs = PROJECT_ROOT / "paper" / "runs"
    if not (runs / "quick").is_dir():
        pytest.skip("the committed quick study is not in this checkout")
    assert main(["seeds", "--study", "quick", "--results-dir", str(runs), "--half-width", "0.5"]) == 0
    out = capsys.readouterr().out
    scores = [100 * json.loads(p.read_text())["metrics"]["accuracy"]
              for p in sorted((runs / "quick" / "glue-sst2" / "minilm-l6").glob("seed=*/run.json"))]
    sd = float(np.std(scores, ddof=1))
    row = next(line for line in out.splitlines() if line.startswith("| glue-sst2"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == str(len(scores)) == "5"
    assert cells[4].startswith(f"{sd:.2f} ")
    assert cells[5].startswith(f"{int(planning.seeds_for_mean(sd, 0.5))} ")
    assert cells[7] == (f"{int(planning.seeds_for_difference(sd, 1.0))} / "
                        f"{int(planning.seeds_for_difference(sd, 1.0, paired=True))}")
    assert sum(line.startswith("| glue-") or line.startswith("| superglue-") for line in out.splitlines()) == 4
    assert main(["seeds", "--study", "nope", "--results-dir", str(runs)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no runs of study 'nope'" in err
    assert main(["seeds", "--study", "quick", "--results-dir", str(runs), "--correlation", "0.6"]) == 0
    out = capsys.readouterr().out
    assert "unpaired / paired (correlation 0.6)" in out
    row = next(line for line in out.splitlines() if line.startswith("| superglue-copa"))
    unpaired, paired = (int(x) for x in row.strip("|").split("|")[7].split("/"))
    assert paired < unpaired  # a positive correlation shrinks the differences' spread
    assert main(["seeds", "--study", "quick", "--results-dir", str(runs), "--correlation", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--correlation 1: expected -1 <= r < 1" in err
