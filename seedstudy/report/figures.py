"""The paper's figures (seaborn), each saved as PNG and PDF.

Each function takes the tables built in ``report.paper`` and ``report.beyond`` and returns the figure paths.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only; notebooks display the saved PNGs
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402


def _save(fig: plt.Figure, out_dir: Path, name: str) -> list[Path]:
    """Save a figure as PNG (for the README and notebooks) and PDF (for LaTeX)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None})
    plt.close(fig)
    return paths


def metric_distribution(lead: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Per task, each seed's lead-metric score (points) over a box, majority baseline marked."""
    data = lead.assign(score=100 * lead["value"], label=lead["task"] + "\n" + lead["metric"])
    order = list(dict.fromkeys(data["label"]))
    fig, ax = plt.subplots(figsize=(1.4 * len(order) + 1.5, 3.6))
    sns.boxplot(data=data, x="label", y="score", order=order, color="0.9", width=0.5,
                showfliers=False, ax=ax)
    state = np.random.get_state()  # seaborn jitters from NumPy's global generator: fix it, then restore
    np.random.seed(0)
    sns.stripplot(data=data, x="label", y="score", order=order, hue="model", dodge=False,
                  size=6, jitter=0.12, ax=ax)
    np.random.set_state(state)
    baselines = data.groupby("label", sort=False)["baseline"].first().reindex(order)
    ax.scatter(range(len(order)), 100 * baselines.to_numpy(), marker="_", s=600, color="crimson",
               label="majority baseline", zorder=3)
    ax.set(xlabel="", ylabel="score (points)", title="Lead metric across seeds")
    ax.legend(fontsize=8, loc="best")
    return _save(fig, out_dir, "metric_distribution")


def con_vs_accuracy(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The paper's CON (two seeds agree) and our all-seeds agreement against mean accuracy, per task."""
    data = table.dropna(subset=["mean_accuracy", "con"])
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    acc = 100 * data["mean_accuracy"]
    ax.scatter(acc, 100 * data["con"], s=60, label="CON (two seeds agree)", zorder=3)
    ax.scatter(acc, 100 * data["all_agree"], s=40, marker="v", label="all seeds agree (ours)", zorder=3)
    for _, row in data.iterrows():
        ax.annotate(row["task"], (100 * row["mean_accuracy"], 100 * row["con"]),
                    textcoords="offset points", xytext=(5, 3), fontsize=8)
    lo = min(acc.min(), 100 * data["all_agree"].min(), 50) - 2
    ax.plot([lo, 100], [lo, 100], ls=":", color="0.5", lw=1)
    ax.set(xlabel="mean accuracy over seeds (%)", ylabel="agreement (%)",
           title="Equal accuracy, different predictions")
    ax.legend(fontsize=8)
    return _save(fig, out_dir, "con_vs_accuracy")


def all_agree_curve(curves: pd.DataFrame, out_dir: Path) -> list[Path]:
    """All-seeds agreement as a function of the number of seeds compared (2..N), one line per
    task: the expected value over seed subsets of each size (k = 2 is CON), with its 95 %
    interval over examples."""
    data = curves.assign(agree=100 * curves["all_agree"])
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    sns.lineplot(data=data, x="n_seeds", y="agree", hue="task", style="model", marker="o", ax=ax)
    if "all_agree_low" in data:
        for line, (_, g) in zip(ax.get_lines(), data.groupby(["task", "model"], sort=False)):
            ax.fill_between(g["n_seeds"], 100 * g["all_agree_low"], 100 * g["all_agree_high"],
                            color=line.get_color(), alpha=0.12, linewidth=0)
    ax.set(xlabel="number of seeds k", ylabel="all k seeds agree (%)",
           title="All-seeds agreement falls as seeds are added (k = 2: CON)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7)
    return _save(fig, out_dir, "all_agree_curve")


def lucky_seed(scores: dict[str, pd.DataFrame], tests: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The paper's figure (a): each seed's lead score on each task, standardised within the task
    (a seeds x tasks heatmap per model), with the lucky-seed test in the title."""
    from ..stats.acrosstasks import normalised_scores

    fig, axes = plt.subplots(1, len(scores), figsize=(1.0 + 0.9 * max(len(w) for w in scores.values())
                                                       * len(scores), 3.6), squeeze=False)
    for ax, (model, wide) in zip(axes[0], scores.items()):
        z = pd.DataFrame(normalised_scores(wide.to_numpy()).T, index=wide.columns, columns=wide.index)
        sns.heatmap(z, center=0, cmap="RdBu_r", annot=True, fmt=".1f", cbar_kws={"label": "z within task"},
                    ax=ax, annot_kws={"fontsize": 7})
        test = tests.set_index("model").loc[model]
        ax.set(xlabel="", ylabel="seed", title=f"{model}: Kendall W = {test['kendall_w']:.2f}, "
                                               f"permutation p = {test['p_permutation']:.3f}")
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        ax.title.set_fontsize(9)
    return _save(fig, out_dir, "lucky_seed")


def stability_vs_size(paper: pd.DataFrame, correlations: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The paper's figure (b): VAR, CON and ACC-CON of each task against its training-set size
    (log scale), with the correlation across tasks and its interval in each panel's title."""
    from .paper import STABILITY

    fig, axes = plt.subplots(1, len(STABILITY), figsize=(4.0 * len(STABILITY), 3.6))
    scale = {"var": 1e4, "con": 100, "acc_con": 100}
    for ax, (column, name) in zip(axes, STABILITY.items()):
        for model, g in paper[paper["primary"]].groupby("model", sort=False):
            g = g.dropna(subset=[column, "n_train"])
            ax.scatter(g["n_train"], scale[column] * g[column], s=45, label=model)
            for _, row in g.iterrows():
                ax.annotate(row["task"], (row["n_train"], scale[column] * row[column]),
                            textcoords="offset points", xytext=(4, 2), fontsize=7)
        rows = correlations[correlations["statistic"] == name]
        several = len(rows) > 1  # one r per model: each model's tasks are its own sample
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:,.0f}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set(xlabel="training examples", ylabel=f"{name} ({'points²' if column == 'var' else '%'})",
               title="\n".join(_correlation_title(name, r, several) for _, r in rows.iterrows()))
        ax.title.set_fontsize(9)
    axes[0].legend(fontsize=7)
    return _save(fig, out_dir, "stability_vs_size")


def _correlation_title(name: str, r: pd.Series, per_model: bool) -> str:
    """``CON: r = 0.12 [-0.70, 0.80]`` (prefixed by the model when there are several)."""
    who = f"{r['model']} " if per_model else ""
    if not np.isfinite(r["pearson"]):
        return f"{who}{name}: too few tasks"
    return f"{who}{name}: r = {r['pearson']:.2f} [{r['pearson_low']:.2f}, {r['pearson_high']:.2f}]"


def write_all(summary: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """All figures of the paper from the tables of ``paper.summarise``."""
    paths = metric_distribution(summary["lead"], out_dir)
    paths += con_vs_accuracy(summary["micro"], out_dir)
    if not summary["curves"].empty:
        paths += all_agree_curve(summary["curves"], out_dir)
    if summary["seed_by_task"]:
        paths += lucky_seed(summary["seed_by_task"], summary["lucky_seed"], out_dir)
    if summary["paper"]["n_train"].notna().sum() >= 2:
        paths += stability_vs_size(summary["paper"], summary["size"], out_dir)
    return paths


def expected_max(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Expected best lead score among n seeds, per task (Dodge et al., 2019), with ±1 std band."""
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    for (task, model), g in table.groupby(["task", "model"], sort=False):
        x, y, s = g["n_seeds"], 100 * g["expected_max"], 100 * g["std"]
        ax.plot(x, y, marker="o", label=f"{task} ({model})")
        ax.fill_between(x, y - s, y + s, alpha=0.15)
    ax.set(xlabel="seeds tried", ylabel="expected best lead score (points)",
           title="What trying more seeds buys")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7)
    return _save(fig, out_dir, "expected_max")


def churn_vs_accuracy(pairs: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Per seed pair: churn against the accuracy difference; the diagonal is the least churn possible."""
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    sns.scatterplot(data=pairs.assign(churn_pct=100 * pairs["churn"], diff=100 * pairs["accuracy_diff"]),
                    x="diff", y="churn_pct", hue="task", style="model", s=45, ax=ax)
    top = 100 * max(pairs["churn"].max(), pairs["accuracy_diff"].max()) + 2
    ax.plot([0, top], [0, top], ls=":", color="0.5", lw=1)
    ax.set(xlabel="|accuracy difference| of the pair (points)", ylabel="churn (% of examples)",
           title="Equal accuracy, many flips")
    ax.legend(fontsize=7)
    return _save(fig, out_dir, "churn_vs_accuracy")


def flip_vs_confidence(examples: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Per example: flip rate across seeds against the mean confidence, one panel per task."""
    data = examples.dropna(subset=["confidence"])
    grid = sns.FacetGrid(data, col="task", col_wrap=4, height=2.4, sharex=True, sharey=True)
    grid.map_dataframe(sns.scatterplot, x="confidence", y="flip_rate", s=8, alpha=0.35, linewidth=0)
    grid.set_axis_labels("mean confidence", "flip rate")
    grid.figure.suptitle("Unstable examples are the uncertain ones", y=1.02)
    return _save(grid.figure, out_dir, "flip_vs_confidence")


def ensemble_curve(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Pairwise agreement between disjoint soft-vote ensembles against ensemble size k.

    Pairwise agreement, not consistency: the number of ensembles shrinks as k grows, and
    consistency over fewer members is higher by construction.
    """
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    sns.lineplot(data=table.assign(agree=100 * table["pairwise_agreement"]), x="k", y="agree",
                 hue="task", style="model", marker="o", ax=ax)
    ax.set(xlabel="seeds per ensemble (soft vote)", ylabel="pairwise agreement of ensembles (%)",
           title="Does ensembling buy back stability?")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7)
    return _save(fig, out_dir, "ensemble_curve")


def decomposition(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Stacked variance-component shares of metric and predictions per source, two bars per task."""
    long = table.melt(id_vars=["task", "model", "effect"], value_vars=["metric_share", "prediction_share"],
                      var_name="of", value_name="share")
    long["bar"] = long["task"] + "\n" + long["of"].str.replace("_share", "")
    wide = long.pivot_table(index="bar", columns="effect", values="share", sort=False).fillna(0) * 100
    fig, ax = plt.subplots(figsize=(1.1 * len(wide) + 2, 3.8))
    wide.plot.bar(stacked=True, ax=ax, width=0.7)
    ax.set(xlabel="", ylabel="share of variance (components, %)", title="Where the variance comes from")
    ax.tick_params(axis="x", labelrotation=0, labelsize=7)
    ax.legend(fontsize=7, title="source")
    return _save(fig, out_dir, "decomposition")


def arms_consistency(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Per task, each model's CON and ACC-CON with their 95 % intervals (new seeds, new examples)."""
    fig, axes = plt.subplots(1, 2, figsize=(2.2 * table["task"].nunique() + 3, 3.6), sharey=True)
    tasks, models = list(dict.fromkeys(table["task"])), list(dict.fromkeys(table["model"]))
    for ax, (column, title) in zip(axes, (("con", "CON (two seeds agree)"), ("acc_con", "ACC-CON (both right)"))):
        for k, model in enumerate(models):
            rows = table[table["model"] == model].set_index("task").reindex(tasks)
            x = np.arange(len(tasks)) + 0.25 * (k - (len(models) - 1) / 2)  # side by side at each task
            value = 100 * rows[column].to_numpy()
            error = np.abs(100 * rows[[column + "_low", column + "_high"]].to_numpy().T - value)
            ax.errorbar(x, value, yerr=error, fmt="o", capsize=3, label=model)
        ax.set_xticks(range(len(tasks)), tasks)
        ax.set(title=title, xlabel="")
    axes[0].set_ylabel("percent of evaluation examples")
    axes[0].legend(fontsize=8)
    fig.suptitle("Seed stability of two models (95 % intervals for new seeds)", fontsize=10)
    return _save(fig, out_dir, "arms_consistency")


def write_beyond(beyond: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """The beyond-the-paper figures from the tables of ``beyond.summarise``."""
    paths = expected_max(beyond["expected_max"], out_dir) if len(beyond["expected_max"]) else []
    if len(beyond["pairs"]):
        paths += churn_vs_accuracy(beyond["pairs"], out_dir)
    if len(beyond["examples"]):
        paths += flip_vs_confidence(beyond["examples"], out_dir)
    if len(beyond["ensembles"]):
        paths += ensemble_curve(beyond["ensembles"], out_dir)
    if len(beyond.get("decomposition", [])):
        paths += decomposition(beyond["decomposition"], out_dir)
    return paths
