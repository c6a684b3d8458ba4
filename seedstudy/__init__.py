"""seedstudy: how much does fine-tuning a pretrained model vary with the random seed?

Modules, one idea each: ``tasks`` (registry), ``data`` (loading), ``models``, ``train`` (one
seed), ``runs`` (storage and provenance), ``metrics`` (pure functions), ``report`` (tables),
``figures``, ``presets`` (named studies), ``spec`` (sweep specs), ``sweep`` (papermill
executions), ``executors`` (local processes, Ray), ``integrity`` (completion records, locks,
verify), ``cli``.
"""
from pathlib import Path

__version__ = "0.1.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
