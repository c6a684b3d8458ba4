"""Variance components of the seed sources: the random-effects ANOVA against statsmodels and by simulation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seedstudy.stats import decompose
from seedstudy.training.seeds import Seeds, grid

GRID = grid(range(5), range(5), [0])  # 5 init x 5 order seeds, dropout fixed
REPLICATED = GRID + [Seeds(i, i, 1) for i in range(5)]  # + another dropout seed on the diagonal
N_STUDIES = 2000  # binomial SE of a 5 % rejection rate: 0.49 points


def _simulate(rng: np.random.Generator, seeds: list[Seeds], init: float, order: float,
              interaction: float, noise: float) -> np.ndarray:
    """One study's metric per run: normal init, order and init x order effects plus per-run noise."""
    a, b, ab = rng.normal(0, init, 5), rng.normal(0, order, 5), rng.normal(0, interaction, (5, 5))
    return np.array([a[s.init] + b[s.order] + ab[s.init, s.order] for s in seeds]) \
        + rng.normal(0, noise, len(seeds))


def _studies(seed: int, seeds: list[Seeds], **sds: float) -> pd.DataFrame:
    """``N_STUDIES`` simulated studies' tables stacked, with a ``study`` column."""
    rng = np.random.default_rng(seed)
    tables = [decompose.variance_components(seeds, _simulate(rng, seeds, **sds)).assign(study=i)
              for i in range(N_STUDIES)]
    return pd.concat(tables).set_index(["effect", "study"])


def _mean_and_se(x: pd.Series) -> tuple[float, float]:
    """Simulation mean and its standard error."""
    return float(x.mean()), float(x.std() / np.sqrt(len(x)))


def _frame(seeds: list[Seeds], y: np.ndarray) -> pd.DataFrame:
    """Runs as a long table for statsmodels: factor codes a, b, c and the response y."""
    return pd.DataFrame({"a": [s.init for s in seeds], "b": [s.order for s in seeds],
                         "c": [s.dropout for s in seeds], "y": y})


def test_mean_squares_and_f_match_statsmodels_anova():
    smf = pytest.importorskip("statsmodels.formula.api")
    from statsmodels.stats.anova import anova_lm

    seeds = grid(range(4), range(3), [0])
    y = np.random.default_rng(0).normal(size=len(seeds))
    table = decompose.variance_components(seeds, y).set_index("effect")
    expected = anova_lm(smf.ols("y ~ C(a) + C(b)", _frame(seeds, y)).fit(), typ=1)  # residual = interaction
    rows = ["init", "order", "init x order"]
    assert table.loc[rows, "df"].tolist() == expected["df"].tolist()
    assert table.loc[rows, "mean_sq"].tolist() == pytest.approx(expected["mean_sq"].tolist())
    assert table.loc[rows[:2], "F"].tolist() == pytest.approx(expected["F"].iloc[:2].tolist())
    assert table.loc[rows[:2], "p_value"].tolist() == pytest.approx(expected["PR(>F)"].iloc[:2].tolist())
    assert table.loc[rows[:2], "tested_against"].eq("init x order").all()
    assert np.isnan(table.loc["init x order", "F"]) and table.loc["init x order", "confounded_with_noise"]

    cube = grid(range(2), range(3), range(4))  # three factors: residual = the three-way interaction
    y3 = np.random.default_rng(1).normal(size=len(cube))
    table3 = decompose.variance_components(cube, y3).set_index("effect")
    expected3 = anova_lm(smf.ols("y ~ (C(a) + C(b) + C(c)) ** 2", _frame(cube, y3)).fit(), typ=1)
    assert table3["mean_sq"].tolist() == pytest.approx(expected3["mean_sq"].tolist())
    pairs = ["init x order", "init x dropout", "order x dropout"]
    assert table3.loc[pairs, "F"].tolist() == pytest.approx(expected3["F"].iloc[3:6].tolist())
    assert table3.loc[["init", "order", "dropout", "init x order x dropout"], "F"].isna().all()
    assert sum(decompose.effect_sums_of_squares(y3.reshape(2, 3, 4), 3).values()) == \
        pytest.approx(((y3 - y3.mean()) ** 2).sum())

    yr = np.random.default_rng(2).normal(size=len(REPLICATED))  # pure error = within-cell residual
    cells = _frame(REPLICATED, yr).assign(cell=lambda f: f.a * 5 + f.b)
    within = anova_lm(smf.ols("y ~ C(cell)", cells).fit(), typ=1).loc["Residual"]
    residual = decompose.variance_components(REPLICATED, yr).set_index("effect").loc["residual"]
    assert (residual["df"], residual["mean_sq"]) == (within["df"], pytest.approx(within["mean_sq"]))


def test_three_factor_components_are_unbiased():
    rng = np.random.default_rng(3)
    cube, true = grid(range(3), range(3), range(3)), {"init": 1.0, "order x dropout": 0.5}
    estimates = []
    for _ in range(500):
        a, bc = rng.normal(0, 1, 3), rng.normal(0, np.sqrt(0.5), (3, 3))
        y = np.array([a[s.init] + bc[s.order, s.dropout] for s in cube]) + rng.normal(0, 0.5, len(cube))
        estimates.append(decompose.variance_components(cube, y).set_index("effect")["raw_component"])
    estimates = pd.DataFrame(estimates)
    for effect in estimates:
        mean, se = _mean_and_se(estimates[effect])
        target = true.get(effect, 0.25 if effect == "init x order x dropout" else 0.0)  # top: + noise
        assert abs(mean - target) < 4 * se, (effect, mean, se)


def test_a_source_with_no_effect_gets_no_component():
    studies = _studies(4, GRID, init=0.0, order=1.0, interaction=0.0, noise=0.5)
    init = studies.xs("init")
    mean, se = _mean_and_se(init["raw_component"])
    assert abs(mean) < 4 * se  # unbiased: ~0 (observed -0.0009, SE 0.0008)
    rejections = (init["p_value"] < 0.05).mean()
    assert 0.035 <= rejections <= 0.065  # 3 binomial SEs around 5 % (observed 4.45 %)
    assert init["negative"].mean() > 0.3  # a null component often estimates below 0, clipped
    ss_share = init["sum_sq"] / studies.groupby("study")["sum_sq"].sum()
    # the old sum-of-squares share credits the null source with its df's worth of noise
    assert ss_share.mean() > 0.03  # observed 0.050 (less than 1/6: order takes most of the SS)
    assert init["share"].mean() < 0.4 * ss_share.mean()  # observed 0.015 (clipping keeps it > 0)

    noise_only = _studies(5, GRID, init=0.0, order=0.0, interaction=0.0, noise=0.5)
    ss_share = noise_only.xs("init")["sum_sq"] / noise_only.groupby("study")["sum_sq"].sum()
    assert ss_share.mean() == pytest.approx(4 / 24, abs=0.01)  # df alone: 4/24 (observed 0.167)
    assert abs(_mean_and_se(noise_only.xs("init")["raw_component"])[0]) < 0.004  # observed -0.0002
    assert noise_only.xs("init")["share"].mean() < 0.4 * ss_share.mean()  # observed 0.054


def test_planted_components_are_recovered_on_average():
    studies = _studies(6, GRID, init=1.0, order=np.sqrt(0.5), interaction=0.0, noise=0.5)
    for effect, true in {"init": 1.0, "order": 0.5, "init x order": 0.25}.items():  # top: 0 + noise
        mean, se = _mean_and_se(studies.xs(effect)["raw_component"])
        assert abs(mean - true) < max(4 * se, 0.05 * true), (effect, mean, se)
    assert studies.xs("init x order")["confounded_with_noise"].all()
    assert (studies.xs("init")["p_value"] < 0.05).mean() > 0.5  # the F-test has power


def test_replicates_separate_the_interaction_from_noise():
    null = _studies(7, REPLICATED, init=1.0, order=1.0, interaction=0.0, noise=0.5)
    interaction = null.xs("init x order")
    assert interaction["tested_against"].eq("residual").all()
    assert not interaction["confounded_with_noise"].any()
    # pure error shares each diagonal cell's primary run with the grid: slightly conservative
    # (4.2 % in 200 000 simulated nulls); 3 binomial SEs below that to 3 above 5 % (observed 3.85 %)
    assert 0.03 <= (interaction["p_value"] < 0.05).mean() <= 0.065
    mean, se = _mean_and_se(null.xs("residual")["component"])
    assert abs(mean - 0.25) < 4 * se  # the noise variance

    planted = _studies(8, REPLICATED, init=1.0, order=1.0, interaction=1.0, noise=0.5)
    for effect, true in {"init x order": 1.0, "residual": 0.25}.items():
        mean, se = _mean_and_se(planted.xs(effect)["raw_component"])
        assert abs(mean - true) < 4 * se, (effect, mean, se)
    assert (planted.xs("init x order")["p_value"] < 0.05).mean() > 0.5  # observed 0.60 (df_den 5)


def test_prediction_components_find_the_source_that_flips_predictions():
    seeds = grid([1, 2, 3, 4], [1, 2, 3], [0])
    rng = np.random.default_rng(9)
    flips = rng.integers(0, 2, size=(3, 50))  # predictions depend on the data-order seed only
    preds = np.stack([flips[s.order - 1] for s in seeds])
    table = decompose.variance_components(seeds, decompose.one_hot(preds, 2)).set_index("effect")
    assert table["component"].tolist() == pytest.approx([0.0, table.loc["order", "mean_sq"] / 4, 0.0])
    assert table["share"].tolist() == pytest.approx([0.0, 1.0, 0.0])
    assert table[["F", "df_num", "df_den", "p_value"]].isna().all().all()

    values = decompose.one_hot(rng.integers(0, 3, size=(len(seeds), 10)), 3)  # trailing axes add up
    total = decompose.variance_components(seeds, values)["raw_component"].to_numpy()
    per_element = [decompose.variance_components(seeds, values[:, e, c])["raw_component"].to_numpy()
                   for e in range(10) for c in range(3)]
    assert total == pytest.approx(np.sum(per_element, axis=0))

    init_effect, order_effect = rng.normal(size=4), rng.normal(size=3)  # an additive metric
    metric = np.array([init_effect[s.init - 1] + order_effect[s.order - 1] for s in seeds])
    additive = decompose.variance_components(seeds, metric).set_index("effect")
    assert additive.loc["init x order", "component"] == pytest.approx(0.0, abs=1e-12)
    assert additive.loc[["init", "order"], "share"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("seeds, match", [
    (grid([1, 2, 3, 4], [1, 2, 3], [0])[:-1], r"not a full grid over \['init', 'order'\]: 11 of 4 x 3 "
                                              r"cells, missing init=4 order=3"),
    ([s for s in REPLICATED if (s.init, s.order) != (4, 0)],
     r"not a full grid over \['init', 'order'\] at dropout=0: 24 of 5 x 5 cells, missing init=4 order=0"),
    (grid([1, 2], [1, 2], [0, 1]) + [Seeds(1, 1, 2)], "no single most common dropout seed"),
    (GRID + [Seeds(0, 0, 0)], "run i0-o0-d0 is repeated without a differing replication source"),
    ([Seeds.parse(1), Seeds.parse(2)], "tied integer seeds"),
    ([Seeds(1, 1, 0)], "no source of randomness varies"),
])
def test_bad_designs_raise(seeds, match):
    with pytest.raises(ValueError, match=match):
        decompose.variance_components(seeds, np.zeros(len(seeds)))


def test_one_replicated_factor_is_tested_against_pure_error():
    seeds = grid(range(5), [0], [0]) + [Seeds(i, 0, 1) for i in range(3)]
    y = np.random.default_rng(10).normal(size=len(seeds))
    table = decompose.variance_components(seeds, y).set_index("effect")
    assert table.index.tolist() == ["init", "residual"] and table.attrs["replication"] == "dropout"
    ms_error = np.sum((y[:3] - y[5:]) ** 2 / 2) / 3
    assert table.loc["residual", "mean_sq"] == pytest.approx(ms_error)
    assert table.loc["init", "F"] == pytest.approx(np.var(y[:5], ddof=1) / ms_error)
    assert table.loc["init", "raw_component"] == pytest.approx(np.var(y[:5], ddof=1) - ms_error)


def test_values_need_one_row_per_run():
    with pytest.raises(ValueError, match="values need one row per run: 25 runs"):
        decompose.variance_components(GRID, np.zeros(24))
