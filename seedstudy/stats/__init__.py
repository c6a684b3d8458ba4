"""The statistics: pure functions, arrays in and numbers out, each stating its assumptions.

- ``macro``: one metric over seeds (mean, VAR, std, range);
- ``consistency``: the paper's pairwise CON, ACC-CON, CON-PEAR and our all-seeds agreement;
- ``agreement``: chance-corrected agreement (Fleiss, Cohen), churn, flip rates, votes;
- ``uncertainty``: intervals over seeds and over test examples (bootstrap, t, chi-square);
- ``ensembles``: what averaging k seeds buys back;
- ``compare``: two configurations across seeds (t-test, ASO, Holm);
- ``decompose``: variance components per seed source (random-effects ANOVA);
- ``noisefloor``: the same seed under other numerics against two seeds;
- ``acrosstasks``: tests across tasks (the lucky seed, stability against size);
- ``planning``: seeds needed for a precision or a power (t intervals, U-statistic variance, noncentral t).
"""
