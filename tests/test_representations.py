"""Representations beside predictions: CKA checked on simulated spaces, capture checked against the head."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from seedstudy.benchmark.tasks import get_task
from seedstudy.report import formatting
from seedstudy.report.representations import cka_disagreement, cka_table
from seedstudy.stats.representations import linear_cka, pair_ckas
from seedstudy.store import integrity, runs
from seedstudy.training.config import TrainConfig
from seedstudy.training.models import HeadInputs, base_model, build_model, load_tokenizer, resolve_model
from seedstudy.training.train import collate, encode, predict, predict_and_represent


def _brute_unbiased_hsic(x: np.ndarray, y: np.ndarray) -> float:
    """Song et al.'s estimator with n x n Gram matrices, as written in the paper."""
    x, y = x - x.mean(0), y - y.mean(0)
    n = len(x)
    k, lm = x @ x.T, y @ y.T
    np.fill_diagonal(k, 0)
    np.fill_diagonal(lm, 0)
    one = np.ones(n)
    return (np.trace(k @ lm) + (one @ k @ one) * (one @ lm @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * one @ k @ lm @ one) / (n * (n - 3))


def test_debiased_cka_equals_the_gram_matrix_formula():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 7)), rng.normal(size=(30, 5)) + rng.normal(size=(30, 1))
    want = _brute_unbiased_hsic(x, y) / np.sqrt(_brute_unbiased_hsic(x, x) * _brute_unbiased_hsic(y, y))
    assert linear_cka(x, y) == pytest.approx(want, rel=1e-10)


def test_cka_is_one_under_rotation_scaling_and_translation():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 8))
    rotation, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    moved = 4.0 * x @ rotation + 7.0
    assert linear_cka(x, moved) == pytest.approx(1.0)
    assert linear_cka(x, moved, debiased=False) == pytest.approx(1.0)
    assert linear_cka(x, rng.normal(size=(60, 8)), debiased=False) < 0.5  # and not for another space


def test_independent_spaces_score_zero_debiased_but_not_plugin():
    rng = np.random.default_rng(2)
    draws = [(rng.normal(size=(50, 40)), rng.normal(size=(50, 40))) for _ in range(300)]
    debiased = np.array([linear_cka(a, b) for a, b in draws])
    plugin = np.array([linear_cka(a, b, debiased=False) for a, b in draws])
    assert abs(debiased.mean()) < 3 * debiased.std() / np.sqrt(len(draws)) + 0.005  # unbiased for 0
    assert plugin.mean() > 0.4  # the plug-in's upward bias at d close to n


def test_a_planted_shared_signal_orders_cka():
    rng = np.random.default_rng(3)
    signal = rng.normal(size=(200, 10))
    values = [np.mean([linear_cka(signal + noise * rng.normal(size=signal.shape),
                                  signal @ np.linalg.qr(rng.normal(size=(10, 10)))[0]
                                  + noise * rng.normal(size=signal.shape)) for _ in range(20)])
              for noise in (0.1, 0.5, 1.0, 2.0)]
    assert values == sorted(values, reverse=True) and values[0] > 0.95 and values[-1] < 0.4


def test_pair_ckas_follow_seed_pair_order():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(40, 6))
    mats = [a, a @ np.linalg.qr(rng.normal(size=(6, 6)))[0], rng.normal(size=(40, 6))]
    values = pair_ckas(mats)
    assert values[0] == pytest.approx(1.0) and values[1] < 0.5 and values[2] < 0.5


@pytest.mark.parametrize("task_key,model", [("glue-rte", "tiny-bert"), ("superglue-copa", "tiny-bert"),
                                            ("glue-rte", "tiny-llama"), ("glue-stsb", "tiny-llama")])
def test_the_captured_vector_is_what_the_head_turns_into_logits(task_key, model, data_dir):
    from seedstudy.benchmark import data

    task, spec = get_task(task_key), resolve_model(model)
    tokenizer = load_tokenizer(spec)
    torch.manual_seed(0)
    net = build_model(spec, task, tokenizer).eval()
    frame = data.load_split(task, "validation", data_dir).head(20)
    features = encode(tokenizer, task, frame, 48)
    config = TrainConfig(task=task_key, model=model, eval_batch_size=8, precision="fp32")
    logits, vectors = predict_and_represent(net, tokenizer, features, config)
    assert np.array_equal(logits, predict(net, tokenizer, features, config))  # capture changes nothing
    head = HeadInputs(net).head
    with torch.inference_mode():
        rows = torch.from_numpy(vectors).reshape(len(frame) * max(len(task.choice_fields), 1), -1)
        again = head(rows).reshape(len(frame), -1).numpy()
    assert np.allclose(again, logits, atol=1e-5)
    batch = collate(tokenizer, features[np.arange(len(frame))])
    assert vectors.shape[0] == batch["input_ids"].shape[0] and base_model(net) is not None


CONFIG = TrainConfig(task="superglue-cb", model="tiny-bert", epochs=1, learning_rate=1e-3, batch_size=16,
                     max_length=48, max_train_examples=32, representations=True)


def test_stored_representations_are_verified_and_reported_beside_con(tmp_path, data_dir):
    done = [runs.execute_run(CONFIG, s, study="r", results_dir=tmp_path, data_dir=data_dir, echo=lambda _: None)
            for s in (1, 2, 3)]
    stored = runs.load_representations(done[0])
    assert stored.shape == (56, 32) and stored.dtype == np.float16
    assert integrity.verify(tmp_path) == (3, [])
    table = cka_table(runs.find_runs(tmp_path, "r"))
    row = table.iloc[0]
    assert row["task"] == "superglue-cb" and row["n_seeds"] == 3 and row["agreement"] == "CON"
    assert -0.2 < row["cka"] <= 1.01 and row["cka_min"] <= row["cka"] <= row["cka_max"]
    assert "representations" in formatting.beyond_tables({**_empty_beyond(), "representations": table})
    plain = runs.execute_run(replace(CONFIG, representations=False), 4, study="r", results_dir=tmp_path,
                             data_dir=data_dir, echo=lambda _: None)
    assert runs.load_representations(plain) is None  # runs without them are left out of the table
    assert cka_table(runs.find_runs(tmp_path, "r"))["n_seeds"].tolist() == [3]
    path = done[1].path / integrity.REPRESENTATIONS_FILE
    path.write_bytes(path.read_bytes()[:-2] + b"\x00\x01")
    problems = integrity.verify(tmp_path)[1]
    assert [(p.path.name, p.issue) for p in problems] == [(integrity.REPRESENTATIONS_FILE,
                                                           "sha256 differs from the completion record")]


def test_the_same_run_with_representations_predicts_the_same(tmp_path, data_dir):
    with_them = runs.execute_run(CONFIG, 5, study="a", results_dir=tmp_path, data_dir=data_dir)
    without = runs.execute_run(replace(CONFIG, representations=False), 5, study="b", results_dir=tmp_path,
                               data_dir=data_dir)
    assert with_them.predictions.equals(without.predictions)
    assert with_them.record["config_hash"] == without.record["config_hash"]  # it changes no outcome


def test_tasks_ranked_alike_or_not():
    import pandas as pd

    table = pd.DataFrame({"task": list("abcd"), "agreement": ["CON"] * 4, "con": [0.9, 0.8, 0.7, 0.6],
                          "cka": [0.5, 0.6, 0.7, 0.8]})
    result = cka_disagreement(table)
    assert result["spearman"] == pytest.approx(-1.0) and result["n_tasks"] == 4
    assert cka_disagreement(table.assign(cka=[0.9, 0.8, 0.7, 0.6]))["spearman"] == pytest.approx(1.0)


def _empty_beyond() -> dict:
    """beyond.summarise's keys with empty tables (formatting reads them all)."""
    import pandas as pd

    empty = pd.DataFrame()
    intervals = pd.DataFrame(columns=["task", "model", "metric", "n_seeds", "mean", "mean_low", "mean_high",
                                      "seed_share", "std", "std_low", "std_high"])
    agreement = pd.DataFrame(columns=["task", "model", "statistic", "value", "low", "high", "clustered"])
    return {"score_intervals": intervals, "agreement_intervals": agreement, "agreement": empty,
            "instability": empty, "decomposition": empty, "ensembles": empty, "seeds_needed": empty}


def test_the_ranking_comparison_reads_as_a_sentence():
    assert formatting.format_cka_disagreement({"n_tasks": 2, "spearman": np.nan, "largest_rank_gaps": []}) == \
        "2 classification task(s) with representations: too few to compare rankings"
    said = formatting.format_cka_disagreement({"n_tasks": 4, "spearman": -1.0, "largest_rank_gaps": ["a", "d"]})
    assert said == "CKA and CON rank the 4 classification tasks with Spearman -1.00; ranked furthest apart: a, d"


def test_storing_representations_is_no_difference_between_two_studies():
    import pandas as pd

    from seedstudy.report.comparison import config_changes

    def study(**config):
        return [runs.Run({"config": {**CONFIG.to_dict(), **config}}, pd.DataFrame(), None)]

    assert config_changes(study(representations=True), study(representations=False)) == {}
    assert config_changes(study(), study(learning_rate=5e-5)) == {"learning_rate": ("0.001", "5e-05")}
