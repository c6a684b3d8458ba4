"""Test-wide environment: offline hub, the real local data, and scratch output folders.

Set before any kernel starts, so the notebooks executed by nbval inherit them: their results,
tables and figures go to a temporary folder, never over the committed ones.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
if not os.environ.get("SEEDSTUDY_DATA_DIR") and SHARED_DATA.is_dir():
    os.environ["SEEDSTUDY_DATA_DIR"] = str(SHARED_DATA)
_scratch = Path(tempfile.mkdtemp(prefix="seedstudy-tests-"))
os.environ["SEEDSTUDY_RESULTS_DIR"] = str(_scratch / "results")
os.environ["SEEDSTUDY_OUTPUT_DIR"] = str(_scratch / "output")
os.environ["SEEDSTUDY_CACHE_DIR"] = str(_scratch / "cache")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real GLUE/SuperGLUE copy; the tests need it (set SEEDSTUDY_DATA_DIR)."""
    path = os.environ.get("SEEDSTUDY_DATA_DIR")
    if not path or not Path(path).is_dir():
        pytest.fail("SEEDSTUDY_DATA_DIR must point at the local GLUE/SuperGLUE folder "
                    f"(expected e.g. {SHARED_DATA})")
    return Path(path)
