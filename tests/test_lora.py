"""The decoder-LLM arm on the CPU: a tiny random Llama with LoRA (peft), for pair and multiple-choice tasks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from seedstudy.benchmark.tasks import get_task
from seedstudy.store.runs import config_hash
from seedstudy.training import models
from seedstudy.training.config import TrainConfig
from seedstudy.training.train import collate, encode, fine_tune, train_steps

LLAMA = TrainConfig(task="glue-rte", model="tiny-llama", epochs=1, learning_rate=1e-3, batch_size=8,
                    max_length=48, max_train_examples=32, max_eval_examples=40, lora_rank=4)


@pytest.fixture(scope="module")
def llama_runs(data_dir):
    """RTE seed 1 twice, seed 2 once; COPA seed 1 (multiple choice through the 1-score head)."""
    from dataclasses import replace

    runs = {key: fine_tune(LLAMA, seed, data_dir) for key, seed in (("a", 1), ("b", 1), ("c", 2))}
    runs["copa"] = fine_tune(replace(LLAMA, task="superglue-copa", max_eval_examples=None), 1, data_dir)
    return runs


def test_same_seed_identical_and_different_seeds_differ(llama_runs):
    a, b, c = (llama_runs[k].predictions for k in "abc")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not np.array_equal(a["prob_0"].to_numpy(), c["prob_0"].to_numpy())


def test_run_records_lora_settings_and_parameter_counts(llama_runs):
    info = llama_runs["a"].info
    assert info["lora"] == {"rank": 4, "alpha": 8.0, "dropout": 0.05,
                            "targets": ["q_proj", "k_proj", "v_proj", "o_proj"]}
    # 2 layers x (q 4x32+32x4, k and v 4x32+16x4, o 4x32+32x4) + head 32x2
    assert info["trainable_parameters"] == 2 * (256 + 192 + 192 + 256) + 64
    assert info["parameters"] > 100 * info["trainable_parameters"]


def test_copa_with_a_decoder_scores_each_choice(llama_runs):
    p = llama_runs["copa"].predictions
    assert len(p) == 100 and set(p["pred"]) <= {0, 1}
    assert np.allclose(p[["prob_0", "prob_1"]].sum(axis=1), 1.0)
    assert llama_runs["copa"].info["trainable_parameters"] == 2 * (256 + 192 + 192 + 256) + 32


def test_only_lora_and_head_parameters_change(data_dir):
    from transformers import set_seed

    from seedstudy.benchmark import data

    task = get_task("glue-rte")
    spec = models.resolve_model("tiny-llama")
    tokenizer = models.load_tokenizer(spec)
    frame = data.subsample(data.load_split(task, "train", data_dir), 16, 0)
    set_seed(3)
    model = models.build_model(spec, task, tokenizer, lora=models.resolve_lora("llama", 4, None, None, None))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    train_steps(model, tokenizer, encode(tokenizer, task, frame, 48), frame["label"].to_numpy(), LLAMA, 3)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all("lora_" in n or ".score." in n for n in changed)
    assert any(".score." in n for n in changed) and any("lora_B" in n for n in changed)


def test_pad_token_less_tokenizer_pads_with_eos_and_pools_the_last_real_token():
    spec = models.resolve_model("tiny-llama")
    tokenizer = models.load_tokenizer(spec)
    assert tokenizer.pad_token == tokenizer.eos_token == "[SEP]"
    assert "token_type_ids" not in tokenizer.model_input_names
    task = get_task("glue-rte")
    torch.manual_seed(0)
    model = models.build_model(spec, task, tokenizer).eval()
    assert model.config.pad_token_id == tokenizer.pad_token_id
    frame = pd.DataFrame({"sentence1": ["A cat sat on a mat near the door.", "Dogs bark."],
                          "sentence2": ["A cat sat.", "Dogs are loud."], "label": [0, 1]})
    features = encode(tokenizer, task, frame, 48)
    with torch.inference_mode():
        alone = model(**collate(tokenizer, features[1:])).logits[0]
        for side in ("right", "left"):
            tokenizer.padding_side = side
            batch = collate(tokenizer, features)
            assert batch["attention_mask"][1].sum() < batch["attention_mask"].shape[1]  # padded
            assert torch.allclose(model(**batch).logits[1], alone, atol=1e-5), side


def test_lora_options_are_validated_and_hashed_only_when_set():
    with pytest.raises(ValueError, match="lora_rank=0"):
        TrainConfig(task="glue-rte", lora_rank=0)
    full = config_hash(TrainConfig(task="glue-rte"), None)
    assert config_hash(TrainConfig(task="glue-rte", gradient_checkpointing=True), None) == full
    assert config_hash(TrainConfig(task="glue-rte", lora_rank=8), None) != full
    listed = TrainConfig(task="glue-rte", lora_rank=8, lora_targets=["q_proj", "v_proj"])
    assert listed.lora_targets == ("q_proj", "v_proj") and listed.to_dict()["lora_targets"] == ["q_proj", "v_proj"]


def test_runs_stored_before_lora_existed_keep_their_config_hash():
    """The committed reference runs were hashed before the LoRA options existed."""
    import json
    from pathlib import Path

    stored = sorted(Path(__file__).parent.parent.glob("paper/runs/cpu/*/minilm-l6/seed=1/run.json"))
    assert stored
    for path in stored:
        record = json.loads(path.read_text())
        config = TrainConfig(**record["config"])
        assert config_hash(config, Path(record["data"]["source"])) == record["config_hash"], path
