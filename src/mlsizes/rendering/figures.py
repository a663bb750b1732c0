"""Drawing the study's figures: matplotlib on Agg, loaded only when a figure is drawn, PNGs without timestamps, the
shared marks (trend lines, the gap band) in the same colours everywhere."""

from __future__ import annotations

from pathlib import Path

from mlsizes.analysis import stats
from mlsizes.core.files import atomic_write_bytes
from mlsizes.core.settings import size_words

ERA_COLOURS = {"before": "black", "after": "tab:red", "above": "tab:blue", "below": "tab:green"}


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed), imported only when figures are drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "figure.dpi": 100, "svg.hashsalt": "mlsizes"})
    return plt


def save_figure(fig, path: Path, footer: str) -> None:
    """Footer (dataset version, as-of date) at the bottom; PNG without a timestamp so reruns are identical.

    The caller lays the figure out first (grid_margins: matplotlib's tight_layout measures every tick label of
    every panel, most of the cost of a figure)."""
    import io

    fig.text(0.01, 0.005, footer, fontsize=7.5, color="dimgray", ha="left", va="bottom", wrap=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    pyplot().close(fig)  # pyplot holds every figure until closed: a long run (history, atlas) would pile them up
    atomic_write_bytes(Path(path), buffer.getvalue())


def grid_margins(
    fig,
    rows: int,
    columns: int,
    *,
    top: float,
    bottom: float = 0.9,
    left: float = 0.75,
    between_rows: float = 0.85,
    between_columns: float = 0.9,
) -> None:
    """Place a grid of panels by fixed margins in inches (room for the suptitle's `top`, the footer and the last
    row's axis label at the bottom, tick labels on the left, each panel's title and axis label between rows, tick
    and axis labels between columns: less where panels share an axis, so only the outer ones are labelled)."""
    width, height = fig.get_size_inches()
    panel_height = (height - top - bottom - between_rows * (rows - 1)) / rows
    panel_width = (width - left - 0.2 - between_columns * (columns - 1)) / columns
    fig.subplots_adjust(
        left=left / width,
        right=1 - 0.2 / width,
        bottom=bottom / height,
        top=1 - top / height,
        hspace=between_rows / panel_height,
        wspace=between_columns / panel_width,
    )


def year(date: str) -> float:
    """An ISO date's place on the figures' time axis (stats.decimal_year)."""
    return float(stats.decimal_year(date))


def trend_line(ax, fit: dict, colour: str, label: str, style: str = "-") -> None:
    """A fitted trend over its period, labelled with its slope and size."""
    if fit.get("insufficient_data"):
        return
    start, end = year(fit["period_start"]), year(fit["period_end"])
    ax.plot(
        [start, end],
        [fit["fitted_parameters_at_start"], fit["fitted_parameters_at_end"]],
        style,
        color=colour,
        linewidth=2,
        label=f"{label}: {fit['slope_oom_per_year']:.2f} OOM/yr (n={fit['n']})",
    )


def gap_band(ax, trends: dict) -> None:
    """The gap the metrics were computed with, shaded."""
    lower, upper = trends["gap"]
    ax.axhspan(
        lower,
        upper,
        color="gold",
        alpha=0.35,
        zorder=0,
        label=f"gap {size_words(lower)}-{size_words(upper)} parameters",
    )
