"""A chart diff: two dataset versions' Figure 1 overlaid in one PNG, so a reviewer sees what a release changes.

Every system of the new version is a light grey point; records added in the new version are green, records
removed (only in the old one) red, and records whose size or date changed are orange arrows from the old
position to the new one. Both versions' era trend lines (old dashed, new solid) and the gap band are drawn
from each side's metrics/trends.json, whatever era keys it holds. Records are paired by id and, for records
upstream renamed, by `diff.renamed_pairs`, so a rename is no addition and removal. `mlsizes diff --plot` calls
`draw`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes.analysis import stats
from mlsizes.core.paths import LAYOUT
from mlsizes.core.settings import size_words
from mlsizes.releases import diff, revisions
from mlsizes.rendering import figures

# The fields whose change moves a record on the chart.
POSITION_FIELDS = ("parameters", "publication_date")
# Era colours by the order of the era keys in trends.json (the report's before, after, above, below), then more.
ERA_PALETTE = (*figures.ERA_COLOURS.values(), "tab:purple", "tab:brown", "tab:pink", "tab:olive")
ADDED, REMOVED, MOVED = "tab:green", "tab:red", "darkorange"
# The right panel zooms in on the crowded recent years (the report's Figure 2 starts there too).
ZOOM_SINCE = 2010


def short_revision(side: diff.Side) -> str:
    """A side's revision as a title shows it: `workspace`, or the first 10 digits of the commit."""
    return side.revision if side.revision == revisions.WORKSPACE else side.revision[:10]


def positions(models: pd.DataFrame) -> pd.DataFrame:
    """Each record's place on the chart: decimal year and parameters, NaN where either is missing or unusable
    (no parameter count, a size a log axis cannot show, no date)."""
    size = pd.to_numeric(models["parameters"], errors="coerce")
    dates = pd.to_datetime(models["publication_date"], errors="coerce", format="%Y-%m-%d")
    year = pd.Series(np.nan, index=models.index)
    known = dates.notna().to_numpy()
    if known.any():
        year[known] = stats.decimal_year(dates[known].to_numpy())
    placed = size.gt(0) & year.notna()
    return pd.DataFrame(
        {"year": year.where(placed), "parameters": size.where(placed)},
        index=models.index,
    )


def classify(old: diff.Side, new: diff.Side) -> dict:
    """Records added, removed and moved (size or date changed), renames paired: new ids, except removed (old)."""
    renamed = diff.renamed_pairs(old.models, new.models)
    added = new.models.index.difference(old.models.index).difference(list(renamed.values()))
    removed = old.models.index.difference(new.models.index).difference(list(renamed))
    changes = diff.record_changes(old.models, new.models, renamed)
    moved = sorted({c["id"] for c in changes if c["field"] in POSITION_FIELDS})
    old_id = {new_id: old_key for old_key, new_id in renamed.items()}
    return {
        "added": list(added),
        "removed": list(removed),
        "moved": [(old_id.get(record_id, record_id), record_id) for record_id in moved],
    }


def _trends(side: diff.Side) -> dict | None:
    return side.metrics.get(LAYOUT["trends"])


def _era_colours(old: dict | None, new: dict | None) -> dict[str, str]:
    """One colour per era key, shared by both sides (new's keys first), so a key's two lines match."""
    keys: list[str] = []
    for trends in (new, old):
        for key in ((trends or {}).get("domains") or {}).get("all") or {}:
            if key not in keys:
                keys.append(key)
    return {key: ERA_PALETTE[i % len(ERA_PALETTE)] for i, key in enumerate(keys)}


def _gap_bands(ax, old: dict | None, new: dict | None, old_label: str) -> None:
    """The new version's gap shaded (the old one's when new has no trends); the old gap outlined if it differs."""
    main = new or old
    if main and main.get("gap"):
        figures.gap_band(ax, main)
    if new and old and old.get("gap") and list(old["gap"]) != list(new["gap"]):
        lower, upper = old["gap"]
        ax.axhspan(
            lower,
            upper,
            facecolor="none",
            edgecolor="goldenrod",
            hatch="//",
            linewidth=0.8,
            zorder=0,
            label=f"{old_label} gap {size_words(lower)}-{size_words(upper)}",
        )


def _trend_lines(ax, trends: dict | None, colours: dict[str, str], style: str) -> None:
    """A side's era fits over all domains (its legend group names the side), one colour per era key."""
    for key, fit in ((trends or {}).get("domains") or {}).get("all", {}).items():
        figures.trend_line(ax, fit, colours[key], key.replace("_", " "), style)


def _layers(old: diff.Side, new: diff.Side) -> dict:
    """What the chart draws, as frames of (year, parameters), with the counts and the records left off."""
    kinds = classify(old, new)
    at_old, at_new = positions(old.models), positions(new.models)
    placed_old, placed_new = at_old["parameters"].notna(), at_new["parameters"].notna()
    added, removed, moved = kinds["added"], kinds["removed"], kinds["moved"]
    arrows = [(o, n) for o, n in moved if placed_old[o] and placed_new[n]]
    lost = {n: o for o, n in moved if placed_old[o] and not placed_new[n]}
    # Left off: new records with no place (a moved one drawn at its old place aside), and removed ones with none.
    unplaced = [r for r in new.models.index[~placed_new.to_numpy()] if r not in lost]
    unplaced_removed = [r for r in removed if not placed_old[r]]
    added_set, moved_set = set(added), {n for _, n in moved}
    return {
        "all": at_new[placed_new],
        "added": at_new.loc[[r for r in added if placed_new[r]]],
        "removed": at_old.loc[[r for r in removed if placed_old[r]]],
        "from": at_old.loc[[o for o, _ in arrows]],
        "to": at_new.loc[[n for _, n in arrows]],
        "gained": at_new.loc[[n for o, n in moved if not placed_old[o] and placed_new[n]]],
        "lost": at_old.loc[list(lost.values())],
        "counts": {
            "added": len(added),
            "removed": len(removed),
            "moved": len(moved),
            "skipped": len(unplaced) + len(unplaced_removed),
        },
        "skipped_by_kind": {
            "added": sum(r in added_set for r in unplaced),
            "removed": len(unplaced_removed),
            "moved": sum(r in moved_set for r in unplaced),
            "unchanged": sum(r not in added_set and r not in moved_set for r in unplaced),
        },
    }


def _panel(ax, layers: dict, old: diff.Side, new: diff.Side) -> dict[str, list]:
    """One view of the overlay: points, the gap, both sides' trends, additions, removals and moves; the legend
    entries in three groups (records and gap, old trends, new trends) as (handle, label) pairs."""
    from matplotlib.ticker import MaxNLocator

    counts = layers["counts"]
    old_trends, new_trends = _trends(old), _trends(new)
    ax.scatter(
        layers["all"]["year"],
        layers["all"]["parameters"],
        s=10,
        color="lightgray",
        zorder=1,
        label=f"{new.name}: {len(layers['all'])} of {len(new.models)} systems with a size",
    )
    _gap_bands(ax, old_trends, new_trends, old.name)
    colours = _era_colours(old_trends, new_trends)
    drawn = len(ax.get_legend_handles_labels()[0])
    _trend_lines(ax, old_trends, colours, "--")
    after_old = len(ax.get_legend_handles_labels()[0])
    _trend_lines(ax, new_trends, colours, "-")
    trends_end = len(ax.get_legend_handles_labels()[0])
    marks = (
        ("added", {"s": 22, "marker": "+", "linewidths": 1, "color": ADDED, "zorder": 3}),
        ("removed", {"s": 24, "marker": "x", "linewidths": 1.2, "color": REMOVED, "zorder": 4}),
    )
    for kind, style in marks:
        frame = layers[kind]
        label = f"{counts[kind]} {kind} ({len(frame)} with a size, drawn)"
        ax.scatter(frame["year"], frame["parameters"], label=label, **style)
    for (_, start), (_, end) in zip(layers["from"].iterrows(), layers["to"].iterrows()):
        ax.annotate(
            "",
            xy=(end["year"], end["parameters"]),
            xytext=(start["year"], start["parameters"]),
            arrowprops={"arrowstyle": "->", "color": MOVED, "linewidth": 1.3, "shrinkA": 0, "shrinkB": 0},
            zorder=5,
        )
    ax.scatter(
        layers["from"]["year"],
        layers["from"]["parameters"],
        s=16,
        facecolors="none",
        edgecolors=MOVED,
        linewidths=1,
        zorder=5,
        label=f"{counts['moved']} moved (size or date): {len(layers['from'])} arrows from the old place (o) to the new",
    )
    ends = (
        ("gained", "^", "moved that gained a size (new place)"),
        ("lost", "v", "moved that lost their size (old place)"),
    )
    for kind, marker, words in ends:
        frame = layers[kind]
        if len(frame):
            ax.scatter(
                frame["year"],
                frame["parameters"],
                s=30,
                marker=marker,
                color=MOVED,
                zorder=5,
                label=f"{len(frame)} {words}",
            )
    ax.set_yscale("log")
    ax.set_xlabel("publication date (year)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, which="major")
    entries = list(zip(*ax.get_legend_handles_labels()))
    return {
        "records": entries[:drawn] + entries[trends_end:],
        "old": entries[drawn:after_old],
        "new": entries[after_old:trends_end],
    }


def _zoom(ax, layers: dict, since: float) -> None:
    """Narrow a panel to the years since `since`, its size axis to what is drawn there."""
    frames = [layers[k] for k in ("all", "added", "removed", "from", "to", "gained", "lost") if len(layers[k])]
    points = pd.concat(frames) if frames else pd.DataFrame({"year": [], "parameters": []})
    recent = points[points["year"] >= since]
    if not len(recent):
        ax.set_visible(False)
        return
    ax.set_xlim(since - 0.3, recent["year"].max() + 0.5)
    ax.set_ylim(recent["parameters"].min() / 3, recent["parameters"].max() * 3)


def draw(old: diff.Side, new: diff.Side, path: Path) -> dict:
    """Draw the two versions' Figure 1 overlaid into a PNG at path; the counts added, removed, moved and skipped
    (records with no parameter count, which have no place on the chart: the footer says which)."""
    layers = _layers(old, new)
    counts, left_off = layers["counts"], layers["skipped_by_kind"]
    plt = figures.pyplot()
    fig = plt.figure(figsize=(16, 9.5))
    grid = fig.add_gridspec(2, 2, height_ratios=(1, 0.24), width_ratios=(1, 1.15))
    whole, recent, key = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, :])
    entries = _panel(whole, layers, old, new)
    _panel(recent, layers, old, new)
    _zoom(recent, layers, ZOOM_SINCE)
    whole.set_ylabel("trainable parameters (log scale)")
    whole.set_title("All years")
    recent.set_title(f"Since {ZOOM_SINCE} (zoomed)")
    fig.suptitle(
        f"Chart diff of Figure 1: {_side_words(old)} -> {_side_words(new)}\n"
        f"{counts['added']} added, {counts['removed']} removed, {counts['moved']} moved; "
        f"trend lines: {old.name} dashed, {new.name} solid"
    )
    _legends(key, entries, old, new)
    notes = [
        f"Not drawn (no parameter count): {counts['skipped']} records ("
        + ", ".join(f"{number} {kind}" for kind, number in left_off.items())
        + ")."
    ]
    notes += [
        f"No {LAYOUT['trends']} at {side.name}: no trend lines for it." for side in (old, new) if not _trends(side)
    ]
    fig.tight_layout(rect=(0, 0.04, 1, 1))  # a grid of unequal panels and a legend row: matplotlib places them
    figures.save_figure(fig, path, " ".join(notes))
    plt.close(fig)
    return counts


def _legends(key, entries: dict[str, list], old: diff.Side, new: diff.Side) -> None:
    """The legend under the panels: records and gap, then each side's trend lines, side by side (each drawn once:
    a legend added as an artist, not also the axes' own)."""
    from matplotlib.legend import Legend

    key.axis("off")
    groups = (
        ("records", "records", 0.0),
        ("old", f"{old.name} trends (dashed)", 0.5),
        ("new", f"{new.name} trends (solid)", 0.75),
    )
    for group, title, x in groups:
        if not entries[group]:
            continue
        handles, labels = zip(*entries[group])
        legend = Legend(
            key,
            handles,
            labels,
            title=title,
            title_fontproperties={"weight": "bold", "size": 9},
            loc="upper left",
            bbox_to_anchor=(x, 1.0),
            fontsize=8.5,
            frameon=False,
        )
        key.add_artist(legend)


def _side_words(side: diff.Side) -> str:
    """A side in the title: its name, the short revision when it is a commit, and its record count."""
    revision = "" if side.revision == revisions.WORKSPACE else f"{short_revision(side)}, "
    return f"{side.name} ({revision}{len(side.models)} records)"
