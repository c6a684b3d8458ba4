"""Presets: what each study runs, and how a task is looked up when a preset has several models."""
from __future__ import annotations

import pytest

from seedstudy.presets import get_preset
from seedstudy.tasks import TASKS


def test_paper_preset_runs_both_arms_on_every_trainable_task():
    paper = get_preset("paper")
    trainable = {k for k, t in TASKS.items() if not t.host}
    assert {(c.task, c.model) for c in paper.configs} == {
        (t, m) for t in trainable for m in ("roberta-large", "llama-3.2-3b")}
    assert paper.seeds == tuple(range(1, 11))
    for config in paper.configs:
        assert config.precision == "bf16"
        if config.model == "llama-3.2-3b":
            assert (config.lora_rank, config.lora_alpha, config.learning_rate) == (16, 32, 1e-4)
            assert config.lora_targets == ("q_proj", "k_proj", "v_proj", "o_proj")
        else:
            assert config.lora_rank is None and config.warmup_ratio == 0.06
    assert paper.config_for("glue-mnli", "roberta-large").epochs == 3  # large task
    assert paper.config_for("glue-rte", "roberta-large").epochs == 10
    assert paper.config_for("superglue-record", "roberta-large").max_length == 384


def test_a_task_with_two_models_needs_the_model_named():
    paper = get_preset("paper")
    with pytest.raises(ValueError, match="2 configurations for 'glue-rte'.*--model"):
        paper.config_for("glue-rte")
    with pytest.raises(ValueError, match="not in preset 'paper'"):
        paper.config_for("glue-rte", "gpt9")
    assert len(paper.configs_for(["glue-rte"])) == 2
    with pytest.raises(ValueError, match=r"task\(s\) \['glue-ax'\] not in preset"):
        paper.configs_for(["glue-ax"])


def test_default_cpu_study_includes_copa_and_multirc():
    cpu = get_preset("cpu")
    tasks = [c.task for c in cpu.configs]
    assert "superglue-copa" in tasks and "superglue-multirc" in tasks
    multirc = cpu.config_for("superglue-multirc")
    assert multirc.max_train_examples == 300 and multirc.max_eval_examples == 300
