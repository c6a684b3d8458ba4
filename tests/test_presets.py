"""Presets: what each study runs, and how a task is looked up when a preset has several models."""
from __future__ import annotations

import pytest

from seedstudy.benchmark.tasks import TASKS
from seedstudy.study.presets import get_preset


def test_paper_preset_is_the_reference_study():
    """The paper's 13 tasks and seeds 42, 52, ...; RoBERTa-large with the fairseq GLUE recipe."""
    paper = get_preset("paper")
    tasks = {"glue-cola", "glue-sst2", "glue-mrpc", "glue-stsb", "glue-qqp", "glue-qnli", "glue-rte",
             "superglue-rte", "superglue-cb", "superglue-wic", "superglue-boolq", "superglue-multirc",
             "superglue-copa"}
    assert {(c.task, c.model) for c in paper.configs} == {
        (t, m) for t in tasks for m in ("roberta-large", "llama-3.2-3b")}
    assert all(t in TASKS for t in tasks)
    assert paper.seeds[:5] == (42, 52, 62, 72, 82) and paper.seeds[5:] == (92, 102, 112, 122, 132)
    assert all(c.deterministic for c in paper.configs)  # deterministic CUDA kernels
    assert not any(c.deterministic for name in ("quick", "arms", "smoke") for c in get_preset(name).configs)
    for config in paper.configs:
        assert config.precision == "auto"  # bf16 on GPUs that have it, fp16 with a scaler on those without
        if config.model == "llama-3.2-3b":
            assert (config.lora_rank, config.lora_alpha, config.learning_rate) == (16, 32, 1e-4)
            assert config.lora_targets == ("q_proj", "k_proj", "v_proj", "o_proj")
        else:
            assert config.lora_rank is None
            assert (config.epochs, config.warmup_ratio, config.weight_decay) == (10, 0.06, 0.1)
            assert (config.adam_beta1, config.adam_beta2, config.adam_epsilon) == (0.9, 0.98, 1e-6)
    roberta = {c.task: c for c in paper.configs if c.model == "roberta-large"}
    assert {t for t, c in roberta.items() if c.learning_rate == 2e-5} == {"glue-rte", "glue-stsb", "superglue-rte"}
    assert {t for t, c in roberta.items() if c.batch_size == 32} == {"glue-sst2", "glue-qqp", "glue-qnli"}
    assert roberta["glue-cola"].learning_rate == 1e-5 and roberta["glue-rte"].max_length == 128


def test_adam_settings_reach_the_optimizer():
    import torch

    from seedstudy.training.config import TrainConfig
    from seedstudy.training.train import make_optimizer

    model = torch.nn.Linear(3, 2)
    default = make_optimizer(model, TrainConfig(task="glue-rte"), 10)[0].defaults
    assert (default["betas"], default["eps"]) == ((0.9, 0.999), 1e-8)
    fairseq = make_optimizer(model, TrainConfig(task="glue-rte", adam_beta2=0.98, adam_epsilon=1e-6), 10)[0].defaults
    assert (fairseq["betas"], fairseq["eps"]) == ((0.9, 0.98), 1e-6)
    with pytest.raises(ValueError, match="bad training parameter adam_beta2=1.5"):
        TrainConfig(task="glue-rte", adam_beta2=1.5)


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


def test_arms_preset_differs_between_arms_only_in_model_and_recipe():
    """Both arms train on the same subsets (size, data seed, epochs, length) with the quick study's seeds."""
    from dataclasses import asdict

    arms, quick = get_preset("arms"), get_preset("quick")
    assert arms.seeds == quick.seeds
    recipe = {"model", "lora_rank", "learning_rate", "eval_batch_size"}
    for task in {c.task for c in arms.configs}:
        encoder, decoder = arms.config_for(task, "minilm-l6"), arms.config_for(task, "gemma3-270m")
        assert encoder == quick.config_for(task)
        differ = {k for k, v in asdict(encoder).items() if asdict(decoder)[k] != v}
        assert differ == recipe, task
        assert decoder.lora_rank == 8
