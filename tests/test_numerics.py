"""Numerics: what ``auto`` resolves to on each kind of hardware, what runs record, and the refusal to mix."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from seedstudy.store import runs
from seedstudy.training import numerics, train
from seedstudy.training.config import TrainConfig
from seedstudy.training.numerics import Hardware, choose_precision

AMX = Hardware(device="cpu", device_name="cpu", cpu_capability="AVX512", amx=True, avx512_bf16=True,
               onednn_bf16=True, cuda_bf16=False, threads=2)
AVX2 = replace(AMX, cpu_capability="AVX2", amx=False, avx512_bf16=False, onednn_bf16=False)
ZEN4 = replace(AMX, amx=False)  # AVX512-BF16 without AMX: native but not proven faster
A100 = replace(AMX, device="cuda", device_name="NVIDIA A100-SXM4-80GB", cuda_bf16=True)
V100 = replace(A100, device_name="Tesla V100-SXM2-16GB", cuda_bf16=False)
CONFIG = TrainConfig(task="superglue-cb", model="tiny-bert", epochs=1, learning_rate=1e-3,
                     batch_size=16, max_length=48, max_train_examples=32)


def never() -> float:
    raise AssertionError("the report was unambiguous: nothing should be measured")


@pytest.mark.parametrize("hardware, expected", [(AMX, "bf16"), (AVX2, "fp32"), (A100, "bf16"),
                                                (V100, "fp16")])
def test_auto_follows_what_torch_reports_without_measuring(hardware, expected):
    choice = choose_precision("auto", hardware, never)
    assert (choice.precision, choice.requested, choice.measured_speedup) == (expected, "auto", None)
    assert choice.reason


def test_auto_on_a_gpu_without_bf16_names_the_gradient_scaler():
    assert "gradient scaler" in choose_precision("auto", V100, never).reason


def test_auto_measures_where_the_report_is_ambiguous():
    fast = choose_precision("auto", ZEN4, lambda: 2.0)
    slow = choose_precision("auto", ZEN4, lambda: numerics.BF16_MIN_SPEEDUP - 0.01)
    assert (fast.precision, fast.measured_speedup) == ("bf16", 2.0)
    assert slow.precision == "fp32" and "measured" in slow.reason
    assert choose_precision("auto", ZEN4, None).precision == "fp32"  # no measurement: exact


def test_explicit_precision_means_exactly_that_on_any_hardware():
    for hardware in (AMX, AVX2, A100, V100):
        for precision in ("fp32", "bf16", "fp16"):
            assert choose_precision(precision, hardware, never).precision == precision


def test_bad_precision_is_one_clear_error():
    with pytest.raises(ValueError, match="precision='fp8'.*expected one of"):
        choose_precision("fp8", AMX)


def test_cpu_class_names_the_bf16_hardware():
    assert AMX.cpu_class() == "AVX512 + AMX"
    assert ZEN4.cpu_class() == "AVX512 + AVX512-BF16"
    assert AVX2.cpu_class() == "AVX2"
    assert replace(AVX2, amx=True).cpu_class() == "AVX2"  # capability forced down: AMX unused


def test_fp32_on_cuda_turns_tf32_off():
    assert not numerics.tf32_allowed("fp32")
    assert numerics.tf32_allowed("bf16") and numerics.tf32_allowed("fp16")


def test_differences_name_each_identity_field():
    now = numerics.record(AMX, choose_precision("auto", AMX), tf32=False)
    assert numerics.differences(now, now) == []
    other = numerics.record(AVX2, choose_precision("auto", AVX2), tf32=False)
    assert numerics.differences(now, other) == ["precision: bf16 -> fp32",
                                                "cpu_class: AVX512 + AMX -> AVX2"]
    more = numerics.record(replace(AMX, threads=4), choose_precision("auto", AMX), tf32=False)
    assert numerics.differences(now, more) == ["threads: 2 -> 4"]
    gpu = numerics.record(A100, choose_precision("auto", A100), tf32=True)
    gpu_more = numerics.record(replace(A100, threads=8), choose_precision("auto", A100), tf32=True)
    assert numerics.differences(gpu, gpu_more) == []  # CPU threads do not enter CUDA kernels


def test_runs_stored_before_numerics_were_recorded_compare_on_what_they_show():
    legacy = {"config": {"precision": "bf16"}, "run": {"device": "cpu", "threads": 2}}
    now = numerics.record(AVX2, choose_precision("auto", AVX2), tf32=False)
    assert numerics.differences(numerics.of_run(legacy), now) == ["precision: bf16 -> fp32"]
    gpu = {"config": {"precision": "bf16"}, "run": {"device": "cuda:1 (NVIDIA A100-SXM4-80GB)",
                                                    "threads": 8, "tf32": True}}
    assert numerics.of_run(gpu)["device"] == "NVIDIA A100-SXM4-80GB"


def test_the_measurement_is_taken_once_per_hardware_class(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(numerics, "bf16_speedup", lambda: calls.append(1) or 1.8)
    first = numerics.remembered_measure(ZEN4, tmp_path)
    assert first() == 1.8 and numerics.remembered_measure(ZEN4, tmp_path)() == 1.8
    assert len(calls) == 1 and (tmp_path / numerics.CHOICE_FILE).is_file()
    numerics.remembered_measure(replace(ZEN4, threads=1), tmp_path)()
    assert len(calls) == 2


def test_matmul_throughput_is_measured():
    assert numerics.matmul_throughput(torch.float32, seconds=0.05) > 0


def pretend(monkeypatch, hardware: Hardware) -> None:
    """Make this process's probe report ``hardware`` (CPU runs compute as usual)."""
    monkeypatch.setattr(numerics, "probe", lambda device: hardware)


def test_auto_is_recorded_as_the_precision_used(tmp_path, data_dir, monkeypatch):
    pretend(monkeypatch, replace(AVX2, threads=torch.get_num_threads()))
    run = runs.execute_run(CONFIG, 1, study="s", results_dir=tmp_path, data_dir=data_dir)
    record = json.loads((run.path / "run.json").read_text())
    assert record["config"]["precision"] == "fp32"
    assert record["run"]["numerics"]["requested"] == "auto"
    assert record["run"]["numerics"]["cpu_class"] == "AVX2"
    assert record["config_hash"] == runs.config_hash(replace(CONFIG, precision="fp32"), data_dir)


def test_a_resumed_study_refuses_other_numerics_in_one_line(tmp_path, data_dir, monkeypatch):
    threads = torch.get_num_threads()
    pretend(monkeypatch, replace(AMX, threads=threads))
    runs.execute_run(CONFIG, 1, study="s", results_dir=tmp_path, data_dir=data_dir)  # bf16
    pretend(monkeypatch, replace(AVX2, threads=threads))
    with pytest.raises(runs.NumericsConflictError) as new_seed:
        runs.execute_run(CONFIG, 2, study="s", results_dir=tmp_path, data_dir=data_dir)
    message = str(new_seed.value)
    assert "\n" not in message and "precision: bf16 -> fp32" in message
    assert "cpu_class: AVX512 + AMX -> AVX2" in message and "--allow-mixed-numerics" in message
    assert not (tmp_path / "s" / "superglue-cb" / "tiny-bert" / "seed=2").exists()
    again = runs.execute_run(CONFIG, 1, study="s", results_dir=tmp_path, data_dir=data_dir)
    assert again.skipped and again.record["config"]["precision"] == "bf16"  # auto made there: reused
    with pytest.raises(runs.RunConflictError, match="precision: bf16 -> fp32"):
        runs.execute_run(replace(CONFIG, precision="fp32"), 1, study="s", results_dir=tmp_path,
                         data_dir=data_dir)
    mixed = runs.execute_run(CONFIG, 2, study="s", results_dir=tmp_path, data_dir=data_dir,
                             allow_mixed_numerics=True)
    assert mixed.record["config"]["precision"] == "fp32"


def test_runs_side_by_side_agree_on_one_numerics_through_the_study_claim(tmp_path):
    amx = numerics.record(AMX, choose_precision("auto", AMX), tf32=False)
    runs.claim_numerics(tmp_path / "s", amx)  # the first new run claims the study
    runs.claim_numerics(tmp_path / "s", amx)  # the same numerics: fine
    claimed = json.loads((tmp_path / "s" / runs.NUMERICS_FILE).read_text())
    assert claimed["precision"] == "bf16" and claimed["cpu_class"] == "AVX512 + AMX"
    other = numerics.record(replace(AMX, threads=1), choose_precision("auto", AMX), tf32=False)
    with pytest.raises(runs.NumericsConflictError, match="threads: 2 -> 1.*SEEDSTUDY_THREADS=2"):
        runs.claim_numerics(tmp_path / "s", other)


def test_fp16_trains_with_a_gradient_scaler(data_dir):
    config = replace(CONFIG, precision="fp16")
    assert isinstance(train.grad_scaler(config, torch.device("cpu")), torch.amp.GradScaler)
    assert train.grad_scaler(replace(CONFIG, precision="bf16"), torch.device("cpu")) is None
    result = train.fine_tune(config, 3, data_dir=data_dir)
    exact = train.fine_tune(replace(CONFIG, precision="fp32"), 3, data_dir=data_dir)
    assert result.info["numerics"]["precision"] == "fp16"
    assert result.info["final_train_loss"] != exact.info["final_train_loss"]  # it trained, in fp16
    assert result.predictions[["prob_0", "prob_1", "prob_2"]].notna().all().all()
