"""A seed per source of randomness, factorial grids, and the decomposition of variance by source."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from seedstudy import decompose, runs
from seedstudy.presets import get_preset
from seedstudy.seeds import Seeds, grid, parse_all
from seedstudy.spec import parse_spec
from seedstudy.train import fine_tune

CONFIG = replace(get_preset("smoke").config_for("glue-rte"), max_train_examples=32)


def test_seeds_parse_every_spelling_and_reject_the_rest():
    assert Seeds.parse(3) == Seeds(3, 3, 3, tied=True) and Seeds.parse(3).label == "3"
    explicit = Seeds.parse({"init": 1, "order": 2, "dropout": 0})
    assert explicit == Seeds.parse("i1-o2-d0") and explicit.label == "i1-o2-d0" and not explicit.tied
    assert Seeds.parse("4").tied and Seeds.parse(explicit.to_json()) == explicit
    assert Seeds.parse({"init": 1, "order": 1, "dropout": 1}) != Seeds.parse(1)  # explicit is never tied
    for bad in (-1, True, "x3", {"init": 1, "order": 2}, 1.5):
        with pytest.raises(ValueError, match="bad seed"):
            Seeds.parse(bad)
    with pytest.raises(ValueError, match=r"duplicated seed\(s\) \['i1-o1-d0'\]"):
        parse_all(["i1-o1-d0", {"init": 1, "order": 1, "dropout": 0}])


def _preds(seed) -> pd.DataFrame:
    return fine_tune(CONFIG, seed).predictions


def test_each_source_follows_its_own_seed(data_dir):
    base = _preds("i1-o1-d0")
    pd.testing.assert_frame_equal(base, _preds("i1-o1-d0"))  # same tuple, same run
    for other in ("i2-o1-d0", "i1-o2-d0", "i1-o1-d5"):  # change one source only
        assert not _preds(other)[["prob_0"]].equals(base[["prob_0"]]), other


def test_tied_integer_seed_keeps_the_runs_made_before_sources_were_split(data_dir):
    tied = _preds(7)
    pd.testing.assert_frame_equal(tied, _preds(Seeds.parse(7)))
    assert not tied[["prob_0"]].equals(_preds("i7-o7-d7")[["prob_0"]])  # dropout re-seeded when explicit


def test_explicit_seeds_name_the_run_folder_and_the_record(tmp_path, data_dir):
    run = runs.execute_run(CONFIG, "i1-o2-d0", study="s", results_dir=tmp_path)
    assert run.path.name == "seed=i1-o2-d0"
    assert run.record["seed"] == "i1-o2-d0"
    assert run.record["seeds"] == {"init": 1, "order": 2, "dropout": 0, "tied": False}
    assert runs.execute_run(CONFIG, {"init": 1, "order": 2, "dropout": 0}, study="s",
                            results_dir=tmp_path).skipped


def test_decomposition_matches_statsmodels_anova():
    smf = pytest.importorskip("statsmodels.formula.api")
    from statsmodels.stats.anova import anova_lm

    y = np.random.default_rng(0).normal(size=(4, 3))
    sums = decompose.effect_sums_of_squares(y, 2)
    frame = pd.DataFrame([(i, j, y[i, j]) for i in range(4) for j in range(3)], columns=["a", "b", "y"])
    expected = anova_lm(smf.ols("y ~ C(a) + C(b)", frame).fit(), typ=1)["sum_sq"].tolist()
    assert [sums[(0,)], sums[(1,)], sums[(0, 1)]] == pytest.approx(expected)
    cube = np.random.default_rng(1).normal(size=(2, 3, 4))
    assert sum(decompose.effect_sums_of_squares(cube, 3).values()) == pytest.approx(((cube - cube.mean()) ** 2).sum())


def test_decomposition_recovers_planted_structure():
    seeds = grid([1, 2, 3, 4], [1, 2, 3], [0])
    rng = np.random.default_rng(2)
    flips = rng.integers(0, 2, size=(3, 50))  # predictions depend on the data-order seed only
    preds = np.stack([flips[s.order - 1] for s in seeds])
    shares = decompose.shares(seeds, decompose.one_hot(preds, 2))
    assert shares == pytest.approx({"init": 0.0, "order": 1.0, "init x order": 0.0})
    init_effect, order_effect = rng.normal(size=4), rng.normal(size=3)  # an additive metric
    metric = np.array([init_effect[s.init - 1] + order_effect[s.order - 1] for s in seeds])
    additive = decompose.shares(seeds, metric)
    assert additive["init x order"] == pytest.approx(0.0, abs=1e-12)
    assert additive["init"] + additive["order"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not a full grid"):
        decompose.shares(seeds[:-1], metric[:-1])
    with pytest.raises(ValueError, match="tied integer seeds"):
        decompose.shares([Seeds.parse(1), Seeds.parse(2)], np.array([0.1, 0.2]))


def test_seed_grid_in_a_spec_and_the_factorial_preset():
    spec = parse_spec({"name": "f", "preset": "smoke", "tasks": ["glue-rte"],
                       "seed_grid": {"init": [1, 2], "order": [1, 2], "dropout": [0]}}, "spec.yaml")
    unit = spec.units()[0]
    assert [s.label for s in unit.seeds] == ["i1-o1-d0", "i1-o2-d0", "i2-o1-d0", "i2-o2-d0"]
    assert unit.run_folders()[1] == "f/glue-rte/tiny-bert/seed=i1-o2-d0"
    with pytest.raises(ValueError, match="'seeds' or 'seed_grid', not both"):
        parse_spec({"name": "f", "seeds": [1], "seed_grid": {"init": [1], "order": [1], "dropout": [0]}}, "x")
    factorial = get_preset("factorial")
    assert len(factorial.seeds) == 25 and {s.dropout for s in factorial.seeds} == {0}
