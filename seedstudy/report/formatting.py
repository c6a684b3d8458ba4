"""Numbers to text: every table's human-readable form (scores in points, variances in points
squared, intervals, p-values), keyed by the file name ``writing`` gives it."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..benchmark.tasks import get_task
from . import planning


def points(x: float, digits: int = 1) -> str:
    """A score in points (x100); undefined values print as an en dash."""
    return "–" if not np.isfinite(x) else f"{100 * x:.{digits}f}"


def squared_points(x: float) -> str:
    """A variance in points squared (x1e4), two decimals; undefined values print as an en dash."""
    return "–" if not np.isfinite(x) else f"{1e4 * x:.2f}"


def coefficient(x: float) -> str:
    """A coefficient (kappa, correlation) with two decimals; undefined as an en dash."""
    return "–" if not np.isfinite(x) else f"{x:.2f}"


def format_interval(value: float, low: float, high: float) -> str:
    """``value [low, high]`` in points."""
    return f"{points(value)} [{points(low)}, {points(high)}]"


def format_paper(table: pd.DataFrame) -> pd.DataFrame:
    """The reference study's table, formatted: scores in points (x100), VAR in points squared,
    CON and ACC-CON in percent, CON-PEAR x100."""
    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"], "Metric": table["metric"],
        "Seeds": table["n_seeds"], "Mean": table["mean"].map(points),
        "VAR": table["var"].map(squared_points),
        "Std": table["std"].map(points), "CON": table["con"].map(points),
        "ACC-CON": table["acc_con"].map(points), "CON-PEAR": table["con_pear"].map(points),
        "Train": table["n_train"].map(lambda n: "–" if not np.isfinite(n) else f"{n:,.0f}"),
    })


def format_variance(table: pd.DataFrame) -> pd.DataFrame:
    """Human-readable variance table: scores in points (x100), variance in points squared."""
    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"],
        "Metric": [m + (" (lead)" if lead else "") for m, lead in zip(table["metric"], table["lead"])],
        "Seeds": table["n"],
        "Mean ± std": [f"{points(m)} ± {points(s)}" for m, s in zip(table["mean"], table["std"])],
        "Var": table["var"].map(squared_points),
        "Min": table["min"].map(points), "Max": table["max"].map(points),
        "Range": table["range"].map(points), "Majority": table["baseline"].map(points),
        "Failed": [f"{f}/{n}" for f, n in zip(table["n_failed"], table["n"])],
    })


def format_all_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """Our all-seeds agreement table (not the paper's CON), shares in percent."""
    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"], "Seeds": table["n_seeds"],
        "Examples": table["n_examples"],
        "All seeds agree": table["all_agree"].map(points),
        "All seeds correct": table["all_correct"].map(points),
        "Pairs within tol.": table["pairwise_within_tol"].map(points),
        "Mean accuracy": table["mean_accuracy"].map(points),
        "Per-group all agree": table["group_all_agree"].map(points),
        "Agreement rule": [_rule(t, get_task(k)) for t, k in zip(table["tolerance"].astype(float),
                                                                  table["task_key"])],
    })


def format_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """All-seeds agreement against the number of seeds, formatted: expected values with intervals, in percent."""
    def interval(name: str) -> list[str]:
        return [format_interval(*r) for r in curves[[name, f"{name}_low", f"{name}_high"]].to_numpy()]

    table = pd.DataFrame({"Task": curves["task"], "Model": curves["model"], "Seeds": curves["n_seeds"],
                          "All agree [95 % CI]": interval("all_agree"),
                          "Range over subsets": [f"{points(lo)}–{points(hi)}" for lo, hi in
                                                 zip(curves["subsets_low"], curves["subsets_high"])]})
    if "all_correct_low" in curves:
        table["All correct [95 % CI]"] = interval("all_correct")
    return table


def format_lucky_seed(table: pd.DataFrame) -> pd.DataFrame:
    """The lucky-seed test, formatted."""
    return pd.DataFrame({
        "Model": table["model"], "Tasks": table["n_tasks"], "Seeds": table["n_seeds"],
        "Kendall W": table["kendall_w"].map(lambda w: f"{w:.2f}"),
        "Friedman chi2": table["friedman_chi2"].map(lambda c: f"{c:.2f}"),
        "p (chi2)": table["p_asymptotic"].map(lambda p: f"{p:.3f}"),
        "p (permutation)": table["p_permutation"].map(lambda p: f"{p:.3f}"),
        "Best seed (mean rank)": [f"{s} ({r:.2f})" for s, r in zip(table["best_seed"], table["best_mean_rank"])]})


def format_size(table: pd.DataFrame) -> pd.DataFrame:
    """The stability-vs-size correlations, formatted."""
    return pd.DataFrame({
        "Model": table["model"], "Statistic": table["statistic"], "Tasks": table["n_tasks"],
        "Pearson r (log size) [95 % CI]": [f"{coefficient(r)} [{coefficient(lo)}, {coefficient(hi)}]" for r, lo, hi in
                                           table[["pearson", "pearson_low", "pearson_high"]].to_numpy()],
        "Spearman rho": table["spearman"].map(coefficient),
        "p (exact permutation)": table["spearman_p"].map(lambda p: "–" if not np.isfinite(p) else f"{p:.3f}")})


def _rule(tolerance: float, task) -> str:
    """How two predictions are judged to agree, for the table's last column."""
    if np.isfinite(tolerance):
        return f"within ±{tolerance:g}"
    if task.problem_type == "multiple_choice":
        return "same choice"
    if task.ranks_entities:
        return "same chosen entity per query (gold aliases count as one)"
    return f"same label; group = {task.grouped_by}" if task.grouped_by else "same label"


def format_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """Human-readable comparison table: points, p-values, ASO epsilons, the verdict."""
    def p_text(p: float) -> str:
        return "< 0.001" if p < 0.001 else f"{p:.3f}"

    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"], "Metric": table["metric"],
        "Seeds": [f"{a}/{b}" + (" paired" if paired else "") for a, b, paired in
                  zip(table["n_a"], table["n_b"], table["paired"])],
        "A": table["mean_a"].map(points), "B": table["mean_b"].map(points),
        "A - B (95 CI)": [format_interval(*r) for r in table[["difference", "difference_low", "difference_high"]].to_numpy()],
        "p": table["p_value"].map(p_text), "Holm p": table["holm_p"].map(p_text),
        "ASO A>B": table["aso_a_better"].map(coefficient), "ASO B>A": table["aso_b_better"].map(coefficient),
        "CON A/B": [f"{points(a)}/{points(b)}" for a, b in zip(table["con_a"], table["con_b"])],
        "Verdict": table["verdict"]})


def format_noise_floor(table: pd.DataFrame) -> pd.DataFrame:
    """Human-readable noise-floor table: agreements in points (CON-PEAR as r), the ratio, the verdict."""
    def agreement(value: float, measure: str) -> str:
        return coefficient(value) if measure == "CON-PEAR" else points(value)

    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"], "Seeds": table["seeds"],
        "A numerics": table["numerics_a"], "B numerics": table["numerics_b"], "Measure": table["measure"],
        "Same seed, A vs B [min-max]": [f"{agreement(v, m)} [{agreement(lo, m)}-{agreement(hi, m)}]" for v, lo, hi, m in
                                        table[["con_same_seed", "con_same_seed_min", "con_same_seed_max",
                                               "measure"]].to_numpy()],
        "Different seeds": [agreement(v, m) for v, m in table[["con_seed", "measure"]].to_numpy()],
        "Ratio (95 CI)": [f"{r:.2f} [{lo:.2f}, {hi:.2f}]" for r, lo, hi in
                          table[["ratio", "ratio_low", "ratio_high"]].to_numpy()],
        "Lead metric": table["metric"],
        "Mean abs diff": table["metric_abs_difference"].map(points),
        "Seed std": table["metric_seed_std"].map(points),
        "Verdict": table["verdict"],
    })


def format_decomposition(d: pd.DataFrame) -> pd.DataFrame:
    """The decomposition table, formatted: component shares in percent, F-tests, flags."""
    def source(row) -> str:
        effect = "dropout seed (replicates)" if row["effect"] == "residual" else row["effect"]
        name = effect + (" (+ noise)" if row["confounded_with_noise"] else "")
        return name + ("*" if row["metric_negative"] or row["prediction_negative"] else "")

    def f_test(row) -> str:
        if not np.isfinite(row["metric_F"]):
            return "–"
        num, den = row["metric_df"]
        return f"F({num:.0f}, {den:.0f}) = {row['metric_F']:.2f}, p = {row['metric_p']:.3f}"

    return pd.DataFrame({
        "Task": d["task"], "Model": d["model"], "Runs": d["n_runs"],
        "Source": [source(r) for _, r in d.iterrows()],
        "Share of metric variance": d["metric_share"].map(points),
        "F-test (metric)": [f_test(r) for _, r in d.iterrows()],
        "Share of prediction variance": d["prediction_share"].map(points)})


def p_value(p: float) -> str:
    """A p-value with two significant digits, ``< 0.001`` below; undefined as an en dash."""
    return "–" if not np.isfinite(p) else ("< 0.001" if p < 0.001 else f"{p:.2g}")


def format_arms(table: pd.DataFrame) -> pd.DataFrame:
    """Models side by side per task: metric, VAR, CON and ACC-CON with intervals (points, points squared)."""
    def squared(c: str) -> list[str]:
        return [f"{squared_points(v)} [{squared_points(lo)}, {squared_points(hi)}]"
                for v, lo, hi in table[[c, c + "_low", c + "_high"]].to_numpy()]

    def interval(c: str) -> list[str]:
        return [format_interval(*r) for r in table[[c, c + "_low", c + "_high"]].to_numpy()]

    return pd.DataFrame({
        "Task": table["task"], "Model": table["model"], "Metric": table["metric"], "Seeds": table["n_seeds"],
        "Mean (95 CI)": interval("mean"), "VAR (95 CI)": squared("var"), "CON (95 CI)": interval("con"),
        "ACC-CON (95 CI)": interval("acc_con"), "Majority": table["baseline"].map(points),
        "Min/run": table["train_minutes"].map(lambda m: f"{m:.1f}")})


def format_arms_difference(table: pd.DataFrame) -> pd.DataFrame:
    """B against A per task: differences (points) and the VAR ratio, intervals, Holm-adjusted p."""
    def difference(c: str) -> list[str]:
        return [f"{format_interval(*r[:3])}, p {p_value(r[3])}"
                for r in table[[c + "_difference", c + "_low", c + "_high", c + "_holm_p"]].to_numpy()]

    return pd.DataFrame({
        "Task": table["task"], "B - A": [f"{b} - {a}" for a, b in zip(table["model_a"], table["model_b"])],
        "Metric": table["metric"], "Mean diff. (95 CI), Holm p": difference("mean"),
        "VAR B/A (95 CI), F Holm p": [
            f"{r[0]:.2f} [{r[1]:.2f}, {r[2]:.2f}], p {p_value(r[3])}"
            for r in table[["var_ratio", "var_ratio_low", "var_ratio_high", "var_f_holm_p"]].to_numpy()],
        "VAR Brown-Forsythe Holm p": table["var_bf_holm_p"].map(p_value),
        "CON diff. (95 CI), Holm p": difference("con"), "ACC-CON diff. (95 CI), Holm p": difference("acc_con")})


def arms_tables(summary: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The formatted arms tables (from ``arms.summarise``); none when no task has two models."""
    if summary["arms"].empty:
        return {}
    return {"arms": format_arms(summary["arms"]), "arms_difference": format_arms_difference(summary["arms_difference"])}


def paper_tables(summary: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The paper's formatted tables (from ``paper.summarise``), keyed by file name, the paper's first."""
    return {"paper": format_paper(summary["paper"]),
            "variance": format_variance(summary["variance"]),
            "all_seeds": format_all_seeds(summary["micro"]),
            **({} if summary["curves"].empty else {"all_seeds_curve": format_curves(summary["curves"])}),
            **({} if summary["lucky_seed"].empty else {"lucky_seed": format_lucky_seed(summary["lucky_seed"])}),
            "size": format_size(summary["size"]), "runs": summary["runs"]}


def beyond_tables(beyond: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The formatted beyond-the-paper tables (from ``beyond.summarise``), keyed by file name (see
    ``writing.CAPTIONS``)."""
    s, c = beyond["score_intervals"], beyond["agreement_intervals"]
    tables = {
        "intervals": pd.DataFrame({
            "Task": s["task"], "Model": s["model"], "Metric": s["metric"], "Seeds": s["n_seeds"],
            "Mean (95 CI)": [format_interval(*r) for r in s[["mean", "mean_low", "mean_high"]].to_numpy()],
            "Seed share of var.": s["seed_share"].map(points),
            "Std (95 CI)": [format_interval(*r) for r in s[["std", "std_low", "std_high"]].to_numpy()]}),
        "agreement_intervals": pd.DataFrame({
            "Task": c["task"], "Model": c["model"], "Statistic": c["statistic"],
            "Value (95 CI over examples)": [format_interval(*r) for r in c[["value", "low", "high"]].to_numpy()],
            "Resampled": ["whole groups" if g else "examples" for g in c["clustered"]]}),
    }
    a = beyond["agreement"]
    if len(a):
        tables["agreement"] = pd.DataFrame({
            "Task": a["task"], "Model": a["model"], "Fleiss kappa": a["fleiss_kappa"].map(coefficient),
            "Cohen kappa (mean)": a["mean_cohen_kappa"].map(coefficient), "Churn (mean)": a["mean_churn"].map(points),
            "Churn (max)": a["max_churn"].map(points), "Accuracy diff. (mean)": a["mean_accuracy_diff"].map(points),
            "Spearman churn vs diff.": a["churn_vs_accuracy_diff_spearman"].map(coefficient)})
    i = beyond["instability"]
    if len(i):
        tables["instability"] = pd.DataFrame({
            "Task": i["task"], "Model": i["model"], "Examples": i["n_examples"],
            "Mean flip rate": i["mean_flip_rate"].map(points), "Ever flipped": i["share_ever_flipped"].map(points),
            "Spearman flip vs confidence": i["flip_vs_confidence"].map(coefficient),
            "Spearman flip vs length": i["flip_vs_length"].map(coefficient)})
    if len(beyond["decomposition"]):
        tables["decomposition"] = format_decomposition(beyond["decomposition"])
    e = beyond["ensembles"]
    if len(e):
        tables["ensembles"] = pd.DataFrame({
            "Task": e["task"], "Model": e["model"], "k": e["k"], "Ensembles": e["n_ensembles"],
            "Vote": e["vote"], "Accuracy": e["accuracy"].map(points),
            "Pairwise agreement (CON)": e["pairwise_agreement"].map(points),
            "All agree": e["all_agree"].map(points)})
    if len(beyond.get("seeds_needed", ())):
        tables["seeds_needed"] = planning.format_seeds_needed(beyond["seeds_needed"])
    r = beyond.get("representations", ())
    if len(r):
        tables["representations"] = pd.DataFrame({
            "Task": r["task"], "Model": r["model"], "Seeds": r["n_seeds"], "Dims": r["dimensions"],
            "Agreement": [f"{a} {points(v)}" for a, v in zip(r["agreement"], r["con"])],
            "CKA (mean)": r["cka"].map(coefficient),
            "CKA (min–max)": [f"{coefficient(lo)}–{coefficient(hi)}" for lo, hi in zip(r["cka_min"], r["cka_max"])],
            "CKA plug-in": r["cka_plugin"].map(coefficient),
            "Spearman CKA vs agreement (pairs)": r["pairs_spearman"].map(coefficient)})
    return tables


def format_cka_disagreement(result: dict) -> str:
    """``representations.cka_disagreement`` in a sentence."""
    if not np.isfinite(result["spearman"]):
        return f"{result['n_tasks']} classification task(s) with representations: too few to compare rankings"
    gaps = f"; ranked furthest apart: {', '.join(result['largest_rank_gaps'])}" if result["largest_rank_gaps"] else ""
    return (f"CKA and CON rank the {result['n_tasks']} classification tasks with Spearman "
            f"{result['spearman']:.2f}{gaps}")

