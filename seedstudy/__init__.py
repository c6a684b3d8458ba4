"""seedstudy: how much does fine-tuning a pretrained model vary with the random seed?

The package is in rooms, and data flows one way through them (a room imports only the rooms
before it; ``tests/test_layout.py`` checks):

- ``benchmark``: the GLUE/SuperGLUE tasks, their data and official metrics;
- ``training``: one fine-tuning run (config, seeds, models, numerics, the loop);
- ``store``: finished runs on disk with provenance, integrity and verify;
- ``stats``: pure statistics over seeds and examples;
- ``report``: tables, figures and the paper;
- ``study``: presets, sweep specs, executors, the papermill driver, the doctor;

and ``cli`` (the ``seedstudy`` command) on top.
"""
import sys
from pathlib import Path

if sys.version_info < (3, 11):  # tomllib reads sweep specs; pip refuses older Pythons too (pyproject)
    raise ImportError(f"seedstudy needs Python >= 3.11, this is {sys.version.split()[0]}")

__version__ = "0.1.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
