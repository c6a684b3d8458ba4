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
    real = train.StepBatches.__getitem__

    def spy(self, rows):
        seen.append([f["input_ids"][1] for f in self.features[rows].to_lists()])
        return real(self, rows)

    monkeypatch.setattr(train.StepBatches, "__getitem__", spy)
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


def test_batches_collated_ahead_in_worker_processes_give_the_same_bits(tiny_runs, data_dir):
    """Two DataLoader workers collating ahead: the seeded order and every bit unchanged."""
    from dataclasses import replace

    ahead = fine_tune(replace(TINY, loader_workers=2), 1, data_dir)
    pd.testing.assert_frame_equal(ahead.predictions, tiny_runs["a"].predictions, check_exact=True)
    assert ahead.info["loader_workers"] == 2 and tiny_runs["a"].info["loader_workers"] == 0
    assert ahead.info["final_train_loss"] == tiny_runs["a"].info["final_train_loss"]


def test_gradient_accumulation_equals_the_whole_batch_in_fp32(data_dir):
    """Tiny Llama, full fine-tuning (no dropout anywhere): batches of 8 cut into 3 + 3 + 2."""
    from dataclasses import replace

    config = TrainConfig(task="glue-rte", model="tiny-llama", epochs=2, learning_rate=1e-3, batch_size=8,
                         max_length=48, max_train_examples=40, max_eval_examples=64, precision="fp32")
    whole = fine_tune(config, 4, data_dir)
    split = fine_tune(replace(config, gradient_accumulation_steps=3), 4, data_dir)
    probs = ["prob_0", "prob_1"]
    np.testing.assert_allclose(split.predictions[probs], whole.predictions[probs], rtol=0, atol=2e-5)
    assert split.info["final_train_loss"] == pytest.approx(whole.info["final_train_loss"], rel=1e-5)
    assert split.info["steps"] == whole.info["steps"] == 10
    moved = fine_tune(replace(config, learning_rate=2e-3), 4, data_dir).predictions[probs]
    assert np.abs(moved.to_numpy() - whole.predictions[probs].to_numpy()).max() > 1e-3  # tolerance is tight


def test_deterministic_kernels_change_nothing_on_cpu_and_are_recorded(tiny_runs, data_dir):
    from dataclasses import replace

    from seedstudy.training import numerics

    try:
        strict = fine_tune(replace(TINY, deterministic=True), 1, data_dir)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        numerics.determinism(False)
    pd.testing.assert_frame_equal(strict.predictions, tiny_runs["a"].predictions, check_exact=True)
    assert strict.info["numerics"]["deterministic"] is True
    assert strict.info["numerics"]["cublas_workspace_config"] == numerics.CUBLAS_WORKSPACE
    assert tiny_runs["a"].info["numerics"]["deterministic"] is False


def test_a_lora_base_stored_in_bf16_gives_the_same_bits_under_bf16_autocast(data_dir):
    """What a CUDA bf16 LoRA run does to its base, done on CPU: frozen linear weights in bf16,
    adapters, head, embeddings and norms fp32; autocast cast those weights anyway, so the
    losses, adapters and predictions equal an fp32 base's bit for bit."""
    from seedstudy.benchmark import data
    from seedstudy.training.train import encode, predict, train_steps

    config = TrainConfig(task="glue-sst2", model="tiny-llama", epochs=1, learning_rate=1e-2, batch_size=8,
                         max_length=32, max_train_examples=24, lora_rank=4, precision="bf16")
    spec = models.resolve_model("tiny-llama")
    lora = models.lora_for(spec, config)
    assert models.frozen_dtype(lora, "bf16", "cuda") == torch.bfloat16
    assert models.frozen_dtype(lora, "fp16", "cuda") == torch.float16
    assert models.frozen_dtype(None, "bf16", "cuda") is None  # full fine-tuning keeps fp32 weights
    assert models.frozen_dtype(lora, "fp32", "cuda") is None and models.frozen_dtype(lora, "bf16", "cpu") is None
    task = get_task("glue-sst2")
    tokenizer = models.load_tokenizer(spec)
    frame = data.subsample(data.load_split(task, "train", data_dir), 24, 0)
    features = encode(tokenizer, task, frame, 32)
    outcomes = []
    for cast in (False, True):
        torch.manual_seed(0)
        model = models.build_model(spec, task, tokenizer, lora=lora)
        if cast:
            assert models.store_frozen_in(model, torch.bfloat16) > 0
            for name, param in model.named_parameters():
                linear_frozen = not param.requires_grad and ("proj" in name or "original_module" in name)
                assert param.dtype == (torch.bfloat16 if linear_frozen else torch.float32), name
        torch.manual_seed(1)
        losses = train_steps(model, tokenizer, features, frame["label"].to_numpy(), config, 1)
        trained = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        outcomes.append((losses, trained, predict(model, tokenizer, features, config)))
    (losses, trained, logits), (cast_losses, cast_trained, cast_logits) = outcomes
    assert losses == cast_losses and np.array_equal(logits, cast_logits)
    assert all(torch.equal(trained[n], cast_trained[n]) for n in trained)


def test_new_options_at_their_defaults_keep_every_existing_run_hash():
    from dataclasses import replace

    base = runs.config_hash(TINY, None)
    assert runs.config_hash(replace(TINY, gradient_accumulation_steps=1, deterministic=False,
                                    loader_workers=4), None) == base
    assert runs.config_hash(replace(TINY, gradient_accumulation_steps=2), None) != base
    assert runs.config_hash(replace(TINY, deterministic=True), None) != base
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        replace(TINY, gradient_accumulation_steps=9)  # more micro-batches than examples in a batch
