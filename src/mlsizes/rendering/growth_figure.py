"""One trend figure per measure: every notable system with a value against its publication date (log scale), the
frontier systems marked, and the recent-growth fits of notable and frontier systems labelled with their x/year."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes.analysis import growth, stats
from mlsizes.rendering.figures import grid_margins, pyplot, save_figure, year

# The two groups of the readout: their colour and words.
GROUPS = {"notable": ("tab:blue", "notable systems"), "frontier": ("tab:red", "frontier systems")}


def measure_figure(models: pd.DataFrame, column: str, reading: dict, since: str, top: int, path: Path, footer: str):
    """Draw one measure: the systems (frontier as diamonds, before `since` greyed) and both fitted lines."""
    plt = pyplot()
    has = (models[column].notna() & (models[column] > 0)).to_numpy()
    dates = models["publication_date"].to_numpy()
    when = stats.decimal_year(pd.to_datetime(dates).to_numpy())
    leading = growth.frontier(pd.to_datetime(dates).to_numpy(), models["training_compute_flop"], top)
    log10 = np.log10(models[column].where(has).to_numpy(dtype=float))
    recent = when >= year(since)
    fig, ax = plt.subplots(figsize=(10, 6))
    kinds = (
        (has & ~recent, dict(marker="o", color="0.75", s=10), f"before {since[:4]} (not fitted)"),
        (has & recent & ~leading, dict(marker="o", color="tab:blue", s=12, alpha=0.6), "notable, not frontier"),
        (has & recent & leading, dict(marker="D", color="tab:red", s=22), f"frontier (top {top} by compute)"),
    )
    for mask, style, label in kinds:
        if not mask.any():  # e.g. no cost before 2010: no empty legend entry
            continue
        ax.scatter(when[mask], log10[mask], label=f"{label} (n={int(mask.sum())})", **style)
    for group, (colour, words) in GROUPS.items():
        fit = reading[group]
        if "line" not in fit:
            continue
        interval = fit["interval_95"]
        spread = f" [{interval[0]:.1f}x; {interval[1]:.1f}x]" if interval else ""
        ax.plot(
            fit["line"]["years"],
            fit["line"]["log10"],
            color=colour,
            linewidth=2.4,
            label=f"{words} since {since[:4]}: {fit['x_per_year']:.1f}x/year{spread}, n={fit['n']}",
        )
    ax.set_xlabel("publication date")
    ax.set_ylabel(f"{reading['measure']} (log10)")
    ax.set_title(f"{reading['measure'].capitalize()} of notable ML systems and its recent growth")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    grid_margins(fig, 1, 1, top=0.45)
    save_figure(fig, path, footer)
