"""Commands that only read results never load torch or transformers (seconds of start-up each)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from seedstudy import PROJECT_ROOT

# Everything the paper notebook, `report`, `verify`, `seeds`, `import`, `tasks` and `--help` import.
READ_ONLY = ["seedstudy.cli", "seedstudy.store.runs", "seedstudy.store.integrity", "seedstudy.study.sweep",
             "seedstudy.study.spec", "seedstudy.report.paper", "seedstudy.report.beyond",
             "seedstudy.report.arms", "seedstudy.report.comparison", "seedstudy.report.formatting",
             "seedstudy.report.writing", "seedstudy.report.figures", "seedstudy.training.numerics",
             "seedstudy.report.claim", "seedstudy.report.planning", "seedstudy.stats.planning",
             "seedstudy.store.imports", "seedstudy.store.formats"]


def _loaded(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; which of torch and transformers it left loaded."""
    probe = (f"import json, sys\ntry:\n    {code}\nexcept SystemExit:\n    pass\nfinally:\n"
             "    print(json.dumps({m: m in sys.modules for m in ('torch', 'transformers')}))")
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True,
                         cwd=PROJECT_ROOT, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_reading_modules_import_no_torch():
    assert _loaded("; ".join(f"import {m}" for m in READ_ONLY)) == {"torch": False, "transformers": False}


@pytest.mark.parametrize("argv", [["--help"], ["tasks"], ["verify", "--results-dir", "{runs}"],
                                  ["seeds", "--study", "quick", "--results-dir", "{runs}"]])
def test_read_only_commands_load_no_torch(argv, tmp_path):
    runs = PROJECT_ROOT / "paper" / "runs" / "quick"
    if not runs.is_dir():
        pytest.skip("the committed quick study is not in this checkout")
    shutil.copytree(runs, tmp_path / "quick")
    argv = [a.format(runs=tmp_path) for a in argv]
    code = "from seedstudy.cli import main; main(sys.argv[1:])"
    assert _loaded(code, *argv) == {"torch": False, "transformers": False}


def test_the_check_sees_torch_when_it_is_loaded():
    assert _loaded("import seedstudy.training.train")["torch"] is True


def test_an_old_python_gets_one_clear_line():
    """pyproject says >= 3.11 (tomllib); an older interpreter importing the package is told so."""
    code = ("import sys, runpy; sys.version_info = (3, 10, 14); "
            f"runpy.run_path({str(PROJECT_ROOT / 'seedstudy' / '__init__.py')!r})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and "seedstudy needs Python >= 3.11" in out.stderr
    assert 'requires-python = ">=3.11"' in (PROJECT_ROOT / "pyproject.toml").read_text()
