"""The compute paper's three-eras figure: training compute against publication date, the eras shaded, large-scale
systems and low outliers marked, and each era's trend line labelled with its doubling time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes.analysis import stats
from mlsizes.core.settings import ComputeTrendParams
from mlsizes.rendering.figures import grid_margins, pyplot, save_figure, year

# The trend lines drawn: a row of compute_reproduction.json and its colour.
LINES = {
    "pre_deep_learning": "black",
    "deep_learning_regular": "tab:blue",
    "large_scale_era_large": "tab:red",
}


def three_eras(systems: pd.DataFrame, result: dict, params: ComputeTrendParams, path: Path) -> None:
    """Draw and save the figure from the labelled systems and the reproduction's rows."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 6))
    when = stats.decimal_year(systems["publication_date"].to_numpy())
    start, end = float(np.floor(when.min())), float(np.ceil(when.max()))
    dl_start, ls_start = year(params.pre_deep_learning_end.isoformat()), year(params.large_scale_start.isoformat())
    ax.axvspan(start, dl_start, color="0.92", zorder=0, label="pre-deep-learning era")
    ax.axvspan(dl_start, end, color="#dbe9f6", zorder=0, label="deep-learning era")
    ax.axvspan(ls_start, end, color="#f6dcdc", alpha=0.8, zorder=0, label="large-scale era")
    kinds = (
        (~systems["large_scale"] & ~systems["low_outlier"], dict(marker="o", color="0.35", s=14), "regular-scale"),
        (systems["large_scale"] & ~systems["low_outlier"], dict(marker="D", color="tab:red", s=26), "large-scale"),
        (systems["low_outlier"], dict(marker="x", color="tab:purple", s=24), "low outlier (z < -2, not fitted)"),
    )
    for mask, style, label in kinds:
        ax.scatter(when[mask.to_numpy()], systems.loc[mask, "y"], label=f"{label} (n={int(mask.sum())})", **style)
    for key, colour in LINES.items():
        row = result["rows"].get(key)
        if not row or "line" not in row["ours"]:
            continue
        ours, line = row["ours"], row["ours"]["line"]
        ax.plot(
            line["years"],
            line["log10_compute"],
            color=colour,
            linewidth=2.2,
            label=f"{row['period']} {row['systems']}: doubling {ours['doubling_time_months']:.1f} months "
            f"({ours['slope_oom_per_year']:.2f} OOM/yr, n={ours['n']})",
        )
    ax.set_xlim(start, end)
    ax.set_xlabel("publication date")
    ax.set_ylabel("training compute (log10 FLOP)")
    ax.set_title("Training compute of notable ML systems: three eras (Sevilla et al. 2022, reproduced)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    footer = f"{result['snapshot']}, systems published up to {result['cutoff']}; mlsizes reproduce-compute"
    grid_margins(fig, 1, 1, top=0.45)
    save_figure(fig, path, footer)
    plt.close(fig)
