"""The seedstudy command: bad input fails with one clear line; the smoke study runs end to end."""
from __future__ import annotations

import hashlib
import json
import re
import shutil

import pytest

from seedstudy import PROJECT_ROOT
from seedstudy.cli import main


@pytest.fixture
def dirs(tmp_path):
    return {"--results-dir": str(tmp_path / "results")}, tmp_path


def _args(options: dict) -> list[str]:
    return [x for kv in options.items() for x in kv]


@pytest.mark.parametrize("argv,message", [
    (["run", "glue-sst3"], "unknown task 'glue-sst3'"),
    (["run", "sst2", "--model", "gpt9"], "unknown model 'gpt9'"),
    (["run", "sst2", "--seeds", "1", "2", "1"], r"duplicated seed\(s\) \[1\]"),
    (["run", "sst2", "--precision", "fp8"], "precision='fp8'"),
    (["run", "glue-rte", "--preset", "smoke", "--learning-rate", "-1"], "learning_rate=-1"),
    (["run", "qnli", "--preset", "cpu"], r"missing local file\(s\) .*QNLI/train\.tsv"),
    (["report", "--study", "nope"], "no study 'nope'"),
])
def test_bad_input_is_one_clear_error(argv, message, dirs, capsys):
    options, _ = dirs
    assert main(argv + _args(options)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(message, err), err


def test_empty_seed_list_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "sst2", "--seeds"])
    assert exit_info.value.code == 2
    assert "--seeds: expected at least one argument" in capsys.readouterr().err


def test_data_dir_without_the_task_files(tmp_path, capsys):
    (tmp_path / "data" / "glue").mkdir(parents=True)
    code = main(["run", "glue-rte", "--preset", "smoke", "--data-dir", str(tmp_path / "data"),
                 "--results-dir", str(tmp_path / "results")])
    assert code == 2
    assert "glue/RTE/train.tsv" in capsys.readouterr().err


def test_unwritable_results_dir(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", "glue-rte", "--preset", "smoke", "--results-dir", str(blocker / "r")]) == 2
    assert "is not writable" in capsys.readouterr().err


def test_tasks_lists_local_availability(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "glue-qnli" in out and "missing train.tsv" in out and "superglue-cb" in out


def _committed_outputs() -> dict[str, str]:
    """sha256 of every committed table and figure (paper/ but its runs, and figures/)."""
    files = [p for p in (PROJECT_ROOT / "paper").rglob("*") if p.is_file() and "runs" not in p.parts]
    files += [p for p in (PROJECT_ROOT / "figures").rglob("*") if p.is_file()]
    return {str(p.relative_to(PROJECT_ROOT)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_smoke_study_end_to_end_through_papermill(tmp_path, data_dir, capsys, monkeypatch):
    """reproduce --preset smoke: notebooks per task, then the paper notebook; a rerun reuses every run
    and, with no output folder named, reports into the study's own home, leaving every committed
    table and figure byte-identical; a folder holding another study's tables is refused."""
    results, out = tmp_path / "results", tmp_path / "out"
    argv = ["reproduce", "--preset", "smoke", "--results-dir", str(results), "--output-dir", str(out)]
    assert main(argv) == 0
    study = results / "smoke"
    for task in ("glue-rte", "glue-stsb", "superglue-cb", "superglue-copa", "superglue-multirc"):
        assert (study / task / "tiny-bert" / "finetune.ipynb").is_file()
        assert len(list((study / task / "tiny-bert").glob("seed=*/run.json"))) == 3
    for task in ("superglue-rte", "superglue-copa"):  # the decoder arm: tiny Llama with LoRA
        record = json.loads((study / task / "tiny-llama" / "seed=2" / "run.json").read_text())
        assert record["run"]["lora"]["rank"] == 4
        assert record["run"]["trainable_parameters"] < record["run"]["parameters"] / 100
    assert (study / "paper.ipynb").is_file()
    page = (out / "paper" / "report.html").read_text()  # the browsable page, beside the tables
    assert "glue-rte" in page and "<table>" in page and 'src="data:image/png;base64,' in page
    cka = (out / "paper" / "tables" / "representations.md").read_text()  # smoke stores representations
    assert "superglue-rte" in cka and "tiny-llama" in cka and "CON-PEAR" in cka
    for name in ("paper", "variance", "all_seeds", "lucky_seed", "size", "runs"):
        assert (out / "paper" / "tables" / f"{name}.tex").is_file()
        assert (out / "paper" / "tables" / f"{name}.md").is_file()
    for name in ("metric_distribution", "con_vs_accuracy", "all_agree_curve", "lucky_seed", "stability_vs_size"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
        assert (out / "figures" / f"{name}.pdf").is_file()
    variance = (out / "paper" / "tables" / "variance.md").read_text()
    assert "glue-stsb" in variance and "pearson (lead)" in variance and "f1a (lead)" in variance
    all_seeds = (out / "paper" / "tables" / "all_seeds.md").read_text()
    assert "same choice" in all_seeds and "same label; group = question" in all_seeds
    paper = (out / "paper" / "tables" / "paper.md").read_text()
    assert "CON-PEAR" in paper and "| glue-stsb" in paper
    first = json.loads((study / "glue-rte/tiny-bert/seed=1/run.json").read_text())

    committed = _committed_outputs()
    monkeypatch.delenv("SEEDSTUDY_OUTPUT_DIR", raising=False)  # as a new user runs it
    assert main(argv[:-2]) == 0  # second time: every run is reused, nothing retrained
    again = json.loads((study / "glue-rte/tiny-bert/seed=1/run.json").read_text())
    assert again["finished_at"] == first["finished_at"]
    assert (study / "report" / "paper" / "tables" / "paper.md").is_file()  # the study's own home
    assert _committed_outputs() == committed

    taken = tmp_path / "committed"  # a copy of the committed tables, stamped with study cpu
    shutil.copytree(PROJECT_ROOT / "paper" / "tables", taken / "paper" / "tables")
    before = {p.name: p.read_bytes() for p in (taken / "paper" / "tables").iterdir()}
    capsys.readouterr()
    assert main(["report", "--study", "smoke", "--results-dir", str(results), "--output-dir", str(taken)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "study 'cpu'" in err and "'smoke'" in err and "--force" in err
    assert {p.name: p.read_bytes() for p in (taken / "paper" / "tables").iterdir()} == before
    assert not (taken / "figures").exists()

    # the comparison section of the paper notebook (here a study against itself)
    assert main(["report", "--study", "smoke", "--compare-study", "smoke", "--results-dir", str(results),
                 "--output-dir", str(out)]) == 0
    comparison = (out / "paper" / "tables" / "comparison.md").read_text()
    assert "glue-rte" in comparison and "no evidence of a difference with 3 seeds per side" in comparison and "Verdict" in comparison
    paper = json.loads((study / "paper.ipynb").read_text())
    text = "".join("".join(o.get("text", "")) for c in paper["cells"] for o in c.get("outputs", []))
    assert "glue-rte: same configuration" in text


def test_report_names_a_missing_comparison_study(tmp_path, capsys):
    (tmp_path / "cpu").mkdir()
    assert main(["report", "--study", "cpu", "--compare-study", "lr/x", "--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no study 'lr/x'" in err


def test_reproduce_skips_a_task_with_missing_data_visibly(tmp_path, data_dir, capsys):
    shutil.copytree(data_dir / "glue" / "RTE", tmp_path / "data" / "glue" / "RTE")
    argv = ["reproduce", "--preset", "smoke", "--tasks", "glue-rte", "glue-stsb",
            "--seeds", "1", "2", "--data-dir", str(tmp_path / "data"),
            "--results-dir", str(tmp_path / "results"), "--output-dir", str(tmp_path / "out")]
    assert main(argv) == 0
    captured = capsys.readouterr().out
    assert "SKIP smoke/glue-stsb/tiny-bert: missing local file(s): glue/STS-B/train.tsv" in captured
    assert "sweep: 1 done, 0 failed, 1 skipped" in captured
    skipped = json.loads((tmp_path / "results" / "smoke" / "skipped.json").read_text())
    assert [s["task"] for s in skipped] == ["glue-stsb"]
    paper = json.loads((tmp_path / "results" / "smoke" / "paper.ipynb").read_text())
    text = "".join("".join(o.get("text", "")) for c in paper["cells"] for o in c.get("outputs", []))
    assert "NOTE: glue-stsb was skipped" in text


def test_conflicting_rerun_fails_in_one_line_and_keeps_the_finished_run(tmp_path, data_dir, capsys):
    base = ["run", "glue-rte", "--preset", "smoke", "--seeds", "1", "--results-dir", str(tmp_path)]
    assert main(base) == 0
    run_json = tmp_path / "smoke" / "glue-rte" / "tiny-bert" / "seed=1" / "run.json"
    before = run_json.read_bytes()
    capsys.readouterr()
    assert main(base + ["--learning-rate", "5e-4"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "finetune.ipynb failed: RunConflictError" in err and "different configuration" in err
    assert run_json.read_bytes() == before


def test_no_data_source_offline_fails_before_any_kernel(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SEEDSTUDY_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["reproduce", "--preset", "smoke", "--results-dir", str(tmp_path / "r")]) == 2
    assert "SEEDSTUDY_DATA_DIR" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.ipynb"))


def test_finetune_notebook_takes_every_training_parameter():
    """The notebook's parameters are exactly TrainConfig's fields plus the run options, so no field is dropped."""
    from dataclasses import fields

    import papermill

    from seedstudy.study.sweep import notebook
    from seedstudy.training.config import TrainConfig

    accepted = set(papermill.inspect_notebook(str(notebook("finetune.ipynb"))))
    expected = {f.name for f in fields(TrainConfig)} | {"seeds", "study", "results_dir", "data_dir", "force",
                                                          "allow_mixed_numerics"}
    assert accepted == expected


def test_finetune_notebook_defaults_are_the_default_studys():
    """Run directly with papermill, the notebook trains what ``seedstudy run glue-sst2`` trains: every
    training value of its parameters cell equals the default preset's SST-2 config (precision: fp32,
    stated in the cell, so the committed outputs check on every machine), and its seeds the preset's."""
    import ast
    from dataclasses import fields

    import papermill

    from seedstudy.study.presets import DEFAULT_PRESET, get_preset
    from seedstudy.study.sweep import notebook
    from seedstudy.training.config import TrainConfig

    cell = {k: ast.literal_eval(v["default"])
            for k, v in papermill.inspect_notebook(str(notebook("finetune.ipynb"))).items()}
    preset = get_preset(DEFAULT_PRESET)
    expected = preset.config_for(cell["task"]).to_dict()
    differ = {f.name: (cell[f.name], expected[f.name]) for f in fields(TrainConfig)
              if f.name != "precision" and cell[f.name] != expected[f.name]}
    assert not differ, f"notebook value != preset {DEFAULT_PRESET!r}: {differ}"
    assert cell["precision"] == "fp32" and cell["seeds"] == list(preset.seeds)


def test_run_has_an_option_for_every_training_field():
    """``seedstudy run --help`` lists every TrainConfig field but the task (the positional), with its help."""
    from dataclasses import fields

    from seedstudy.cli import build_parser
    from seedstudy.training.config import FIELD_HELP, TrainConfig

    run = build_parser()._subparsers._group_actions[0].choices["run"]
    options = {a.dest: a for a in run._actions}
    assert set(FIELD_HELP) == {f.name for f in fields(TrainConfig)}
    for f in fields(TrainConfig):
        if f.name != "task":
            assert f.name in options and options[f.name].help == FIELD_HELP[f.name], f.name
    for flag in ("--warmup-ratio", "--weight-decay", "--eval-batch-size", "--max-grad-norm"):
        assert flag in run.format_help()


def test_run_options_override_the_preset(monkeypatch, dirs):
    """Every given option reaches the config (and only those): the rest keep the preset's values."""
    import seedstudy.study.sweep as sweep

    seen = {}
    monkeypatch.setattr(sweep, "run_task", lambda config, seeds, **kw: seen.update(config=config) or "nb")
    options, _ = dirs
    assert main(["run", "glue-sst2", "--weight-decay", "0.05", "--max-grad-norm", "0.5", "--group-by-length",
                 "--lora-targets", "query", "value", "--lora-rank", "4", *_args(options)]) == 0
    from seedstudy.study.presets import get_preset

    base = get_preset("quick").config_for("glue-sst2")
    changed = {k: v for k, v in seen["config"].to_dict().items() if base.to_dict()[k] != v}
    assert changed == {"weight_decay": 0.05, "max_grad_norm": 0.5, "group_by_length": True,
                       "lora_targets": ["query", "value"], "lora_rank": 4}


def test_verify_takes_results_dir_and_still_the_old_positional(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    assert main(["verify", "--results-dir", str(tmp_path / "r")]) == 0
    assert "0 runs checked" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "r")]) == 0
    captured = capsys.readouterr()
    assert "DIR is deprecated, use --results-dir DIR" in captured.err and "0 runs checked" in captured.out
    assert main(["verify", str(tmp_path / "r"), "--results-dir", str(tmp_path / "r")]) == 2
