"""The numeric noise floor: planted effects are recovered, the interval covers, the table on a fixed case."""
from __future__ import annotations

import numpy as np
import pytest

from seedstudy.stats import noisefloor

N_SEEDS, N_EXAMPLES = 5, 300


def simulate(share_redrawn: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Runs that predict class 1 with an example's own chance; each twin redraws a share of its
    twin's predictions. Two seeds disagree on an example w.p. 2p(1-p), twins w.p. share x that,
    so the true ratio is ``share_redrawn``."""
    p = rng.beta(0.5, 0.5, N_EXAMPLES)
    a = (rng.random((N_SEEDS, N_EXAMPLES)) < p).astype(int)
    fresh = (rng.random((N_SEEDS, N_EXAMPLES)) < p).astype(int)
    b = np.where(rng.random((N_SEEDS, N_EXAMPLES)) < share_redrawn, fresh, a)
    return a, b


def test_no_numeric_effect_is_a_zero_ratio():
    a, _ = simulate(0.0, np.random.default_rng(1))
    floor = noisefloor.noise_floor(a, a.copy(), n_resamples=200)
    assert floor["con_same_seed"] == 1.0 and floor["ratio"] == 0.0
    assert (floor["ratio_low"], floor["ratio_high"]) == (0.0, 0.0)
    assert noisefloor.verdict(floor["ratio"], floor["ratio_high"]) == "numerics change no prediction"
    assert noisefloor.verdict(0.004, 0.01) == "numerics move predictions < 1% as much as the seed"
    assert noisefloor.verdict(0.42, 0.6) == "numerics move predictions 42% as much as the seed"


@pytest.mark.parametrize("share", [0.3, 1.0])
def test_the_interval_covers_a_planted_ratio(share):
    rng = np.random.default_rng(7)
    hits, estimates = 0, []
    for _ in range(150):
        a, b = simulate(share, rng)
        floor = noisefloor.noise_floor(a, b, n_resamples=300, seed=int(rng.integers(1 << 30)))
        hits += floor["ratio_low"] <= share <= floor["ratio_high"]
        estimates.append(floor["ratio"])
    assert abs(np.mean(estimates) - share) < 0.03  # no bias to speak of
    assert 0.88 <= hits / 150 <= 0.99  # nominal 95 %


def test_numerics_as_strong_as_a_new_seed_are_called_so():
    a, b = simulate(1.0, np.random.default_rng(3))
    floor = noisefloor.noise_floor(a, b, n_resamples=300)
    assert floor["ratio_low"] < 1 < floor["ratio_high"]
    assert noisefloor.verdict(floor["ratio"], floor["ratio_high"]).startswith(
        "numerics alone move predictions as much as the seed")
    assert noisefloor.verdict(float("nan"), float("nan"), 1.0) == "undefined (the seeds never disagree)"
    assert "constant" in noisefloor.verdict(float("nan"), float("nan"), 0.9)


def test_hand_computed_case():
    a = [[0, 0, 1, 1], [0, 1, 1, 1]]
    b = [[0, 0, 1, 0], [0, 1, 1, 1]]
    # twins agree on 3/4 and 4/4 -> 0.875; seeds within a: 3/4, within b: 2/4 -> 0.625
    assert noisefloor.twin_agreement(a, b).tolist() == [0.75, 1.0]
    assert noisefloor.seed_agreement(a, b) == 0.625
    assert noisefloor.disagreement_ratio(a, b) == pytest.approx(0.125 / 0.375)


def test_regression_uses_the_pearson_analogue():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=200)
    a = truth + rng.normal(scale=0.5, size=(4, 200))
    assert noisefloor.disagreement_ratio(a, a + 1e-9 * rng.normal(size=a.shape), regression=True) < 1e-6
    b = truth + rng.normal(scale=0.5, size=(4, 200))  # twins as far apart as new seeds
    floor = noisefloor.noise_floor(a, b, regression=True, n_resamples=300)
    assert floor["ratio_low"] < 1 < floor["ratio_high"]


def test_studies_that_do_not_pair_are_one_clear_error():
    with pytest.raises(ValueError, match=r"same seeds on the same examples.*\(2, 4\) and \(3, 4\)"):
        noisefloor.twin_agreement(np.zeros((2, 4)), np.zeros((3, 4)))


def _run(study_numerics: dict, seed: int, preds, labels=(0, 1, 1, 0)):
    """A finished CB-shaped run (4 examples) made under the given numerics."""
    import pandas as pd

    from seedstudy.benchmark.metrics import macro_f1
    from seedstudy.store.runs import Run

    record = {"task": "superglue-cb", "model": "m", "seed": seed, "config": {"precision": study_numerics["precision"]},
              "run": {"numerics": study_numerics}, "metrics": {"macro_f1": macro_f1(labels, preds)}}
    frame = pd.DataFrame({"split": "validation", "idx": range(4), "label": list(labels), "pred": list(preds)})
    return Run(record, frame, None)


def test_the_noise_floor_table_on_a_small_fixed_case():
    from seedstudy.report import comparison, formatting

    amx = {"precision": "bf16", "device": "cpu", "cpu_class": "AVX512 + AMX", "threads": 2}
    avx2 = {"precision": "fp32", "device": "cpu", "cpu_class": "AVX2", "threads": 2}
    a = [_run(amx, 1, [0, 0, 1, 1]), _run(amx, 2, [0, 1, 1, 1]), _run(amx, 3, [1, 1, 1, 1])]
    b = [_run(avx2, 1, [0, 0, 1, 0]), _run(avx2, 2, [0, 1, 1, 1])]  # seed 3 has no twin: left out
    table = comparison.noise_floor_table(a, b, n_resamples=200)
    row = table.iloc[0]
    assert (row["task"], row["seeds"], row["measure"]) == ("superglue-cb", 2, "CON")
    assert (row["numerics_a"], row["numerics_b"]) == ("bf16, AVX512 + AMX, 2 threads", "fp32, AVX2, 2 threads")
    assert row["con_same_seed"] == 0.875 and row["con_seed"] == 0.625
    assert row["ratio"] == pytest.approx(1 / 3) and row["ratio_low"] <= 1 / 3 <= row["ratio_high"]
    assert row["metric"] == "macro_f1" and row["metric_abs_difference"] >= 0
    shown = formatting.format_noise_floor(table).iloc[0]
    assert shown["Same seed, A vs B [min-max]"] == "87.5 [75.0-100.0]" and shown["Different seeds"] == "62.5"
    assert shown["Ratio (95 CI)"].startswith("0.33 [")


def test_the_committed_noise_floor_rebuilds_from_the_committed_runs(tmp_path):
    """paper/quick's table: the default study in bf16 on AMX against the same seeds in fp32 on AVX2."""
    from seedstudy import PROJECT_ROOT
    from seedstudy.report import comparison, formatting, writing
    from seedstudy.store.runs import find_runs

    runs = PROJECT_ROOT / "paper" / "runs"
    table = comparison.noise_floor_table(find_runs(runs, "quick"), find_runs(runs, "quick-avx2"))
    written = writing.write_tables({"noise_floor": formatting.format_noise_floor(table)}, tmp_path)
    committed = PROJECT_ROOT / "paper" / "quick" / "paper" / "tables"
    for path in written:
        assert path.read_text() == (committed / path.name).read_text()
    assert set(table["task"]) == {"glue-sst2", "glue-stsb", "superglue-cb", "superglue-copa"}
    assert (table["ratio_high"] < 1).all()  # measured: the numerics move predictions less than the seed
