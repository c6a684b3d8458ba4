"""The benchmark: what GLUE and SuperGLUE ask, independent of any model.

- ``tasks``: the task registry (splits, labels, official metrics, how inputs are rendered);
- ``data``: loading each split from local files in their original layouts, or from the hub;
- ``metrics``: the official task metrics (pure functions, labels and predictions in);
- ``scoring``: a task's predictions to its official scores and decisions (COPA choices, ReCoRD
  entities).
"""
