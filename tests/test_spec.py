"""Sweep specs: presets and files expand into the right notebook executions; mistakes are named."""
from __future__ import annotations

import pytest

from seedstudy.study.spec import from_preset, load_spec, resolve_spec


def _write(tmp_path, text: str, name: str = "spec.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_preset_sweep_is_every_configuration_of_the_preset():
    units = from_preset("smoke").units()
    assert [(u.config.task, u.config.model) for u in units][:2] == [("glue-rte", "tiny-bert"),
                                                                     ("glue-stsb", "tiny-bert")]
    assert len(units) == 7 and all([s.label for s in u.seeds] == ["1", "2", "3"] and u.study == "smoke" for u in units)
    assert units[0].run_folders() == [f"smoke/glue-rte/tiny-bert/seed={s}" for s in (1, 2, 3)]


def test_yaml_grid_makes_one_study_per_combination(tmp_path):
    spec = load_spec(_write(tmp_path, """
name: lr
preset: smoke
tasks: [glue-rte, cb]
seeds: [4, 5]
overrides: {epochs: 2}
grid: {learning_rate: [5e-5, 1e-4]}
resources: {num_cpus: 2}
"""))
    units = spec.units()
    assert len(units) == 4
    assert {u.study for u in units} == {"lr/learning_rate=5e-05", "lr/learning_rate=0.0001"}
    assert all(u.config.epochs == 2 and [s.init for s in u.seeds] == [4, 5] and u.num_cpus == 2 for u in units)
    assert sorted({u.config.learning_rate for u in units}) == [5e-5, 1e-4]  # YAML's "5e-5" is a number here


def test_toml_spec_and_models_axis(tmp_path):
    spec = load_spec(_write(tmp_path, 'name = "m"\npreset = "smoke"\ntasks = ["glue-rte"]\n'
                                      'models = ["tiny-bert", "tiny-llama"]\n', "spec.toml"))
    assert [(u.config.task, u.config.model) for u in spec.units()] == [("glue-rte", "tiny-bert"),
                                                                       ("glue-rte", "tiny-llama")]


@pytest.mark.parametrize("text,message", [
    ("name: x\nfoo: 1\n", r"unknown key\(s\) \['foo'\]"),
    ("preset: cpu\n", "'name' must be a non-empty string"),
    ("name: x\noverrides: {learning_rat: 1}\n", r"unknown training parameter\(s\) \['learning_rat'\]"),
    ("name: x\ngrid: {epochs: 3}\n", "grid 'epochs' must be a non-empty list"),
    ("name: x\ntasks: [glue-sst3]\n", "unknown task 'glue-sst3'"),
    ("name: x\noverrides: {learning_rate: -1}\n", "learning_rate=-1"),
    ("name: x\nseeds: [1, 1]\n", r"duplicated seed\(s\)"),
    ("name: x\nresources: {gpus: 1}\n", r"unknown resource\(s\) \['gpus'\]"),
    ("name: [x\n", "not valid YAML"),
])
def test_bad_specs_name_the_file_and_the_mistake(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as info:
        load_spec(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_spec_argument_is_a_file_or_a_preset(tmp_path):
    assert resolve_spec("smoke").preset == "smoke"
    with pytest.raises(FileNotFoundError, match="or a preset name"):
        resolve_spec(str(tmp_path / "missing.yaml"))


def test_sweeps_into_one_study_add_to_its_manifest():
    from seedstudy.study.spec import manifest

    first = from_preset("smoke", tasks=["glue-rte"], seeds=[1])
    second = from_preset("smoke", tasks=["superglue-cb"], seeds=[1])
    once = manifest(first, first.units())
    both = manifest(second, second.units(), once)
    assert both["runs"] == ["glue-rte/tiny-bert/seed=1", "superglue-cb/tiny-bert/seed=1"]
    assert len(both["specs"]) == 2 and manifest(second, second.units(), both) == both
    legacy = {"spec": once["specs"][0], "runs": once["runs"]}  # manifests written before specs were listed
    assert manifest(second, second.units(), legacy)["runs"] == both["runs"]
