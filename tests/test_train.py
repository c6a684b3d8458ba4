"""Training: the seed alone decides head init, data order and dropout; runs are bitwise reproducible."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from seedstudy.benchmark.tasks import get_task
from seedstudy.store import runs
from seedstudy.training import models
from seedstudy.training.config import TrainConfig
from seedstudy.training.train import fine_tune

TINY = TrainConfig(task="glue-rte", model="tiny-bert", epochs=1, learning_rate=1e-3, batch_size=8,
                   max_length=48, max_train_examples=48)


@pytest.fixture(scope="module")
def tiny_runs(data_dir):
    """Seed 1 twice and seed 2 once, tiny BERT on 48 RTE examples."""
    return {key: fine_tune(TINY, seed, data_dir) for key, seed in (("a", 1), ("b", 1), ("c", 2))}


def test_same_seed_is_bitwise_identical(tiny_runs):
    a, b = tiny_runs["a"].predictions, tiny_runs["b"].predictions
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_different_seeds_give_different_models(tiny_runs):
    a, c = tiny_runs["a"].predictions, tiny_runs["c"].predictions
    assert not np.array_equal(a["prob_0"].to_numpy(), c["prob_0"].to_numpy())


def test_predictions_cover_every_eval_example(tiny_runs):
    p = tiny_runs["a"].predictions
    assert len(p) == 277 and p["idx"].tolist() == list(range(277))
    assert np.allclose(p[["prob_0", "prob_1"]].sum(axis=1), 1.0)
    assert (p["pred"] == p[["prob_0", "prob_1"]].to_numpy().argmax(axis=1)).all()
    info = tiny_runs["a"].info
    assert info["n_train"] == 48 and info["steps"] == 6
    assert info["train_label_counts"] is not None and sum(info["train_label_counts"].values()) == 48


def test_regression_task_predicts_scores(data_dir):
    config = TrainConfig(task="glue-stsb", model="tiny-bert", epochs=1, learning_rate=1e-3,
                         batch_size=8, max_length=48, max_train_examples=16)
    p = fine_tune(config, 3, data_dir).predictions
    assert list(p.columns) == ["split", "idx", "label", "pred"] and p["pred"].dtype == np.float64
    assert set(p["split"]) == {"validation"}
    assert len(p) == 1500


def test_head_init_follows_the_seed_set_before_the_model_is_built():
    from transformers import set_seed

    task = get_task("glue-mrpc")
    spec = models.resolve_model("minilm-l6")
    tok = models.load_tokenizer(spec)
    heads = []
    for seed in (5, 5, 6):
        set_seed(seed)
        heads.append(models.build_model(spec, task, tok).classifier.weight.detach().clone())
    assert torch.equal(heads[0], heads[1]) and not torch.equal(heads[0], heads[2])


def test_minilm_loads_the_shipped_pretrained_encoder():
    from safetensors.torch import load_file

    spec = models.resolve_model("minilm-l6")
    model = models.build_model(spec, get_task("sst2"), models.load_tokenizer(spec))
    shipped = load_file(f"{spec.weights}/model.safetensors")
    key = next(k for k in shipped if k.endswith("encoder.layer.0.attention.self.query.weight"))
    assert torch.equal(model.bert.encoder.layer[0].attention.self.query.weight, shipped[key])
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(22.7e6, rel=0.01)


def test_data_order_changes_with_the_seed_and_only_with_it(monkeypatch, data_dir):
    """Record which training rows each step sees: equal for equal seeds, different otherwise."""
    from seedstudy.training import train

    seen: list[list[int]] = []
    real_collate = train.collate

    def spy(tokenizer, features, labels=None):
        if labels is not None:
            seen.append([f["input_ids"][1] for f in features])
        return real_collate(tokenizer, features, labels)

    monkeypatch.setattr(train, "collate", spy)
    orders = []
    for seed in (1, 1, 2):
        seen.clear()
        fine_tune(TINY, seed, data_dir)
        orders.append([x for batch in seen for x in batch])
    assert orders[0] == orders[1] != orders[2]
    assert sorted(orders[0]) == sorted(orders[2])  # same examples, other order


def test_bad_training_parameters_are_named():
    with pytest.raises(ValueError, match="learning_rate=-1"):
        TrainConfig(task="sst2", learning_rate=-1)
    with pytest.raises(ValueError, match="precision='fp8'"):
        TrainConfig(task="sst2", precision="fp8")
    with pytest.raises(ValueError, match="unknown task"):
        TrainConfig(task="nope")


def test_unknown_model_lists_the_accepted_forms():
    with pytest.raises(ValueError, match="unknown model 'gpt9'.*minilm-l6"):
        models.resolve_model("gpt9")
    assert models.resolve_model("roberta-large").weights == "FacebookAI/roberta-large"
    assert runs.model_slug("FacebookAI/roberta-large") == "FacebookAI--roberta-large"


@pytest.mark.parametrize("task", ["superglue-copa", "superglue-multirc", "superglue-wsc"])
def test_new_task_shapes_fine_tune_on_the_tiny_model(task, data_dir):
    """COPA (multiple choice), MultiRC (grouped options) and WSC run end to end and repeat exactly."""
    config = TrainConfig(task=task, model="tiny-bert", epochs=1, learning_rate=1e-3, batch_size=8,
                         max_length=96, max_train_examples=16, max_eval_examples=12)
    first = fine_tune(config, 1, data_dir)
    again = fine_tune(config, 1, data_dir).predictions
    p = first.predictions
    pd.testing.assert_frame_equal(p, again, check_exact=True)
    assert np.allclose(p[["prob_0", "prob_1"]].sum(axis=1), 1.0)
    if task == "superglue-multirc":
        assert list(p.columns[:4]) == ["split", "idx", "group", "label"] and p["group"].nunique() == 12
        assert first.info["n_train"] > 16  # 16 questions, all their answer options
    else:
        assert len(p) == 12 and first.info["n_train"] == 16


def test_copa_uses_a_multiple_choice_head():
    spec = models.resolve_model("tiny-bert")
    model = models.build_model(spec, get_task("copa"), models.load_tokenizer(spec))
    assert type(model).__name__ == "BertForMultipleChoice"
    assert model.classifier.out_features == 1  # one score per (premise, choice) pair


@pytest.mark.parametrize("device, version, fused", [("cpu", "2.13.0+cpu", True), ("cpu", "2.4.0", True),
                                                    ("cpu", "2.3.1+cpu", False), ("cuda", "2.2.0+cu121", True)])
def test_fused_adamw_only_where_torch_has_the_kernel(device, version, fused):
    from seedstudy.training.train import fused_adamw

    assert fused_adamw(device, version) is fused


def test_the_optimizer_falls_back_to_foreach_below_the_fused_cpu_floor(monkeypatch):
    from seedstudy.training import train

    model = torch.nn.Linear(4, 2)
    config = TrainConfig(task="glue-rte", model="tiny-bert")
    assert train.make_optimizer(model, config, 10)[0].defaults["fused"] is True
    monkeypatch.setattr(torch, "__version__", "2.3.1+cpu")
    old = train.make_optimizer(model, config, 10)[0]
    assert old.defaults["fused"] is False and old.defaults["foreach"] is True
