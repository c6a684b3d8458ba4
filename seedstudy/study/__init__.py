"""Whole studies: which runs to make, where they execute, and what this machine can afford.

- ``presets``: the named studies (settings per task, seeds);
- ``spec``: sweep specs (YAML/TOML, or a preset) expanded into units of work;
- ``executors``: local processes or a Ray cluster;
- ``sweep``: one papermill execution of the notebooks per unit, and the report;
- ``doctor``: the machine as the study sees it, and the expected study time.
"""
