"""The run store: finished runs on disk, each traceable to what made it.

- ``runs``: one folder per (study, task, model, seed), written atomically with provenance;
  reading a study's runs back;
- ``integrity``: completion records, locks, and ``verify``;
- ``progress``: heartbeats and progress of runs in flight.
"""
