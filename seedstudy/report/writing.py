"""Tables to files: each formatted table as LaTeX (booktabs, shrunk to the line width when wide)
and Markdown, with its caption (``CAPTIONS``: what every column means)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

CAPTIONS = {  # file name -> caption, the paper's tables first
    "paper": "The reference study's metrics (Zhou et al., 2025), per task: the lead metric's mean over "
             "seeds, VAR (sample variance, ddof = 1, points squared) and std (points); CON: share of "
             "examples two seeds label alike, ACC-CON: share both get right, CON-PEAR (regression): "
             "Pearson correlation of two seeds' predictions, each averaged over all seed pairs (percent, "
             "CON-PEAR x100); Train: training examples per run.",
    "variance": "Variance across seeds, every metric. Scores in points (x100), variance in points squared "
                "(ddof = 1); Majority: the majority-class baseline; Failed: runs at or below it (or undefined).",
    "all_seeds": "All-seeds agreement (our extension, not the paper's CON: it falls as seeds are added): "
                 "share of evaluation examples on which all N seeds agree, all N are right, and for "
                 "regression the mean share of seed pairs within the tolerance, in percent.",
    "all_seeds_curve": "All-seeds agreement against the number of seeds k: the expected value over all "
                       "subsets of k seeds (k = 2 is the paper's CON) with its 95 % bootstrap interval over "
                       "examples (clustered by group where the task has groups), the range (2.5th-97.5th "
                       "percentile) over the subsets themselves, and the same for all-correct, in percent.",
    "lucky_seed": "Is there a lucky seed? The same seeds on every task: Kendall's W of the seeds' "
                  "within-task ranks of the lead metric (0: no common order, 1: all tasks agree), "
                  "Friedman's chi-square with its asymptotic p-value and a Monte Carlo permutation "
                  "p-value (ranks shuffled within tasks), and the seed with the best mean rank (of Seeds).",
    "size": "Stability against training-set size across tasks: Pearson r of each statistic with "
            "log10(training examples) and its Fisher-z 95 % interval (assumes bivariate normal pairs), "
            "Spearman's rho with its exact permutation p-value. Tasks are the sample: few tasks, wide "
            "intervals.",
    "runs": "Every run behind the tables, with its configuration hash and code version.",
    "noise_floor": "The numeric noise floor: the same seeds run under two numerics (A: this study, B: the "
                   "other; precision, CPU class, threads). Same seed: agreement of each run with its twin "
                   "under the other numerics (mean over seeds [min-max]); different seeds: the paper's CON "
                   "(CON-PEAR for regression) within each study, averaged. Ratio: (1 - same seed) / "
                   "(1 - different seeds), the numerics' disagreement as a share of the seed's, with a "
                   "bootstrap interval over examples for these seeds. Mean abs diff: the lead metric's "
                   "mean |A - B| over the seeds, beside its std over seeds (points).",
    "comparison": "Two configurations compared across their seeds (A: this study, B: the other; Seeds: how "
                  "many each, paired when both ran the same seeds): lead metric means and their difference "
                  "with a 95% interval counting seed and test-set variance (points), its two-sided t-test "
                  "p-value and the Holm-adjusted one across the tasks compared, Almost Stochastic Order's "
                  "epsilon each way (Bonferroni over the tasks; below 0.2, deepsig's recommended threshold, "
                  "that side almost stochastically dominates), and each side's CON (percent). The verdict "
                  "states the evidence at Holm p < 0.05; no evidence is not evidence of no difference.",
    "decomposition": "Where the variance comes from: runs on a full grid of per-source seeds (head "
                     "initialisation x data order), analysed as a random-effects ANOVA; each source's variance "
                     "component from the expected mean squares as a share of the total, for the lead metric "
                     "(with its F-test) and the predictions (one-hot; percent). dropout seed (replicates): the "
                     "replicated cells differ from their grid cells in the dropout seed (and in anything else "
                     "that differed between the two runs, such as the machine); runs are bitwise "
                     "reproducible otherwise, so this row is not run noise, and the interaction's F-test is "
                     "against it; + noise: not separable from noise without replicates; *: a negative "
                     "estimate set to 0 (in the metric or the prediction column).",
    "intervals": "Lead metric over seeds, in points. Mean: 95% interval counting seed and test-set variance "
                 "(seed part from the seeds' sample variance, example part from a bootstrap of the evaluation "
                 "examples shared by all seeds, t with Satterthwaite's degrees of freedom); Seed share: the "
                 "seed part's share of that variance (percent); Std: chi-square interval (assumes normal scores).",
    "agreement_intervals": "Agreement statistics (percent) with 95% percentile bootstrap intervals over examples "
                           "(whole questions or pairs where the task has them) for the seeds at hand; seeds are "
                           "not resampled (a repeated run agrees with itself).",
    "agreement": "Agreement beyond chance across seeds: Fleiss' kappa over all seeds, mean Cohen's kappa and "
                 "churn (share of examples two seeds predict differently) over seed pairs, the pairs' "
                 "accuracy difference, and the Spearman correlation of churn with that difference.",
    "instability": "Per-example instability: mean flip rate (share of seed pairs that disagree on an example), "
                   "share of examples on which any two seeds disagree, and the Spearman correlation of the "
                   "flip rate with the mean confidence and with the input length.",
    "arms": "Two models on the same tasks, seeds and training subsets. Lead metric (points): mean with a 95% "
            "interval counting seed and test-set variance; VAR (points squared): sample variance over seeds "
            "with its chi-square interval (assumes normal scores); CON and ACC-CON (the paper's, percent) with "
            "95% intervals for new seeds on new examples (seed part: jackknife over seeds; example part: "
            "bootstrap over examples; t interval on the log disagreement). Min/run: wall minutes per run "
            "(training and evaluation) on the machine that ran it.",
    "arms_difference": "Model B against model A on each task (B - A, points), seeds unpaired (a seed label means "
                       "other weights in each model), both scored on the same examples: the lead metric's mean "
                       "difference (t interval counting seed and test-set variance), VAR(B)/VAR(A) with the F "
                       "interval and F test (both assume normal scores) and, beside them, the Brown-Forsythe "
                       "test (robust to non-normal scores, with little power at 5 seeds a side), and the "
                       "differences of CON and ACC-CON (jackknife over each side's seeds plus the examples' part "
                       "of the difference). p: two-sided, Holm-adjusted across the tasks for each column "
                       "(intervals unadjusted). With 5 seeds a side only large differences can be found: no "
                       "evidence is not evidence of no difference.",
    "ensembles": "Ensembles of k seeds built from disjoint seed sets (20 random splits), soft votes (mean "
                 "class probability; hard votes break ties at random): mean accuracy, and pairwise agreement "
                 "(CON between ensembles) and all-ensembles agreement (percent). Compare pairwise agreement "
                 "across k: all-agree over fewer ensembles is higher by construction.",
    "seeds_needed": "Seeds needed, from the spread of this study's seeds (points; seed variation only, on "
                    "this evaluation set): for the mean's 95 % t interval to be within the half-width "
                    "(in brackets: planning with the standard deviation's 80 % upper confidence bound), "
                    "for CON (CON-PEAR) to be known to the half-width over new seeds (U-statistic "
                    "variance), and per side for a two-sided t test at 5 % to detect the difference with "
                    "80 % power, unpaired and paired by seed (correlation 0 assumed).",
    "representations": "Representations beside predictions: linear CKA between the seeds' pooled vectors "
                       "(what the classification head sees) of the same evaluation examples, over every seed "
                       "pair (debiased estimator, Song et al. 2012: 0 for unrelated spaces; plug-in beside it, "
                       "biased upwards), next to the same pairs' agreement (CON, percent; CON-PEAR for "
                       "regression), and their Spearman correlation over the seed pairs.",
}


def write_table(table: pd.DataFrame, name: str, out_dir: Path, caption: str) -> list[Path]:
    """Write a formatted table as ``<name>.tex`` (booktabs) and ``<name>.md``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    styled = table.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    tex = styled.to_latex(
        caption=caption.replace("%", r"\%"), label=f"tab:{name}", hrules=True, position="t").replace("±", r"$\pm$")
    tex = tex.replace("–", "--")
    # a wide table shrinks to the line width, a narrow one keeps its size (graphicx's \width)
    tex = tex.replace(r"\begin{tabular}", r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%"
                      "\n" r"\begin{tabular}").replace(r"\end{tabular}", r"\end{tabular}}")
    md = f"{caption}\n\n{table.to_markdown(index=False)}\n"
    paths = [out_dir / f"{name}.tex", out_dir / f"{name}.md"]
    paths[0].write_text(tex)
    paths[1].write_text(md)
    return paths


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Write every table (paper or beyond) as LaTeX and Markdown under ``out_dir``."""
    return [p for name, t in tables.items() for p in write_table(t, name, out_dir, CAPTIONS[name])]
