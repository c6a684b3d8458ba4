"""The paper's figures (seaborn), each saved as PNG and PDF.

Each function takes the tables built in ``seedstudy.report`` and returns the figure paths.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; notebooks display the saved PNGs
import matplotlib.pyplot as plt  # noqa: E402
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
    sns.stripplot(data=data, x="label", y="score", order=order, hue="model", dodge=False,
                  size=6, jitter=0.12, ax=ax)
    baselines = data.groupby("label", sort=False)["baseline"].first().reindex(order)
    ax.scatter(range(len(order)), 100 * baselines.to_numpy(), marker="_", s=600, color="crimson",
               label="majority baseline", zorder=3)
    ax.set(xlabel="", ylabel="score (points)", title="Lead metric across seeds")
    ax.legend(fontsize=8, loc="best")
    return _save(fig, out_dir, "metric_distribution")


def consistency_vs_accuracy(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Consistency against mean accuracy per task (classification tasks)."""
    data = table.dropna(subset=["mean_accuracy"])
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    sns.scatterplot(data=data.assign(acc=100 * data["mean_accuracy"], cons=100 * data["consistency"]),
                    x="acc", y="cons", hue="model", s=70, ax=ax)
    for _, row in data.iterrows():
        ax.annotate(row["task"], (100 * row["mean_accuracy"], 100 * row["consistency"]),
                    textcoords="offset points", xytext=(5, 3), fontsize=8)
    lo = min(100 * data["mean_accuracy"].min(), 100 * data["consistency"].min(), 50) - 2
    ax.plot([lo, 100], [lo, 100], ls=":", color="0.5", lw=1)
    ax.set(xlabel="mean accuracy over seeds (%)", ylabel="consistency: all seeds agree (%)",
           title="Equal accuracy, different predictions")
    return _save(fig, out_dir, "consistency_vs_accuracy")


def consistency_curve(curves: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Consistency as a function of the number of seeds compared (2..N), one line per task."""
    data = curves.assign(cons=100 * curves["consistency"])
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    sns.lineplot(data=data, x="n_seeds", y="cons", hue="task", style="model", marker="o", ax=ax)
    ax.set(xlabel="number of seeds", ylabel="consistency (%)",
           title="Agreement falls as seeds are added")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7)
    return _save(fig, out_dir, "consistency_curve")


def write_all(summary: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """All figures of the paper from the tables of ``report.summarise``."""
    paths = metric_distribution(summary["lead"], out_dir)
    paths += consistency_vs_accuracy(summary["consistency"], out_dir)
    if not summary["curves"].empty:
        paths += consistency_curve(summary["curves"], out_dir)
    return paths
