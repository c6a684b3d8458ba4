"""The report: finished runs to the paper's tables, figures and PDF.

- ``evaluations``: runs grouped by (task, model, split), their prediction matrices and scores;
- ``paper``: the reference study's tables (VAR, CON, ACC-CON, CON-PEAR) and ours beside them;
- ``beyond``: beyond the paper (intervals, agreement, unstable examples, ensembles,
  decomposition);
- ``comparison``: two studies side by side (a configuration change, the numeric noise floor);
- ``formatting``: numbers to table text; ``writing``: tables to LaTeX and Markdown with captions;
- ``figures``: the figures; ``pdf``: typesetting the paper;
- ``claim``: which study a folder of tables belongs to (one study's report never replaces another's);
- ``planning``: the seeds-needed table (``seedstudy seeds``).
"""
