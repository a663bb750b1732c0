"""The `history` stage: the gap test and trend fits on every upstream snapshot, to see whether the paper's gap
closed as the dataset grew.

Each snapshot is curated in memory with the pipeline's own code and analysed as of its own snapshot date. Two
windows per snapshot and domain (all, language): the paper's window (trend from fit_start, systems tested from
test_window_start to the paper's cut-off, strict bounds as in the paper's table), which changes only when
upstream revises or back-fills records, and the window up to the snapshot date (inclusive bounds, the
analysis headline), which also grows with time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from mlsizes.analysis import atlas, growth, study
from mlsizes.core import untrusted
from mlsizes.core.files import atomic_write_text, rounded, to_json
from mlsizes.core.paths import Paths
from mlsizes.core.settings import AnalysisParams, AtlasParams, GrowthParams, date_words, size_text
from mlsizes.records import curation
from mlsizes.records.snapshots import SnapshotError

DOMAINS = ("all", "language")
CLOSING_KEYS = ("n_systems", "observed_in_gap", "expected_in_gap", "ratio", "interval", "verdict", "reason")


def process(
    snapshot_paths: list[Path],
    params: AnalysisParams,
    paper_cutoff: dt.date,
    atlas_params: AtlasParams,
    rates: GrowthParams | None = None,
) -> dict:
    """Curate and analyse each snapshot as of its own date; the rows oldest first, and the answer. Each row also
    carries RQ5's columns: the release's atlas minimum and the paper's cell (analysis/atlas.py, local P only) and
    the closing verdict (study.closing_tests); with `rates`, the recent-growth readout of every measure
    (_growth_readout)."""
    rows = []
    for path in snapshot_paths:
        # Each snapshot is analysed as of the date its provenance record states, as the curate stage requires.
        curated, snapshot = curation.curate_snapshot(path, require_provenance=True)
        models, snapshot_id, as_of = curated.models, snapshot.snapshot_id, snapshot.as_of
        study.progress(f"history: {snapshot_id} (as of {as_of})")
        snapshot_params = dataclasses.replace(params, as_of=as_of, n_simulations=params.n_window_simulations)
        systems = study.select_systems(models, snapshot_params)
        windows = {"paper_window": min(paper_cutoff, as_of), "to_snapshot_date": as_of}
        cases = [(domain, window) for domain in DOMAINS for window in windows]
        tests = study.in_parallel(
            functools.partial(_window_test, systems=systems, params=snapshot_params, windows=windows), cases
        )
        trends = study.era_trends(systems, snapshot_params)
        rows.append(
            {
                "snapshot": snapshot_id,
                "snapshot_date": as_of.isoformat(),
                "n_systems": len(systems),
                "gap": {
                    domain: {window: _summary(test) for (d, window), test in zip(cases, tests) if d == domain}
                    for domain in DOMAINS
                },
                "trends": {era: {k: trends[era].get(k) for k in ("n", "slope_oom_per_year", "r2")} for era in trends},
                "atlas": atlas.history_row(models, atlas_params, snapshot_params),
                "closing": {
                    domain: {key: test.get(key) for key in CLOSING_KEYS}
                    for domain, test in study.closing_tests(systems, snapshot_params).items()
                },
            }
        )
        if rates is not None:
            rows[-1]["growth"] = _growth_readout(models, rates)
    rows.sort(key=lambda row: row["snapshot_date"])
    return {
        "paper_cutoff": paper_cutoff.isoformat(),
        "bounds": params.bounds,
        "snapshots": rows,
        "answer": answer(rows),
    }


def _growth_readout(models, settings: GrowthParams) -> dict:
    """The growth stage's readout on one snapshot (x/year, 95% interval and n per measure, notable and frontier),
    so `compute of notable models: 4.3x/year` can be followed from release to release."""
    readouts = growth.growth(
        models, settings.measures, settings.since, settings.frontier_top, settings.n_bootstrap, settings.seed
    )
    keys = ("n", "x_per_year", "interval_95")
    return {
        column: {group: {key: reading[group].get(key) for key in keys} for group in ("notable", "frontier")}
        for column, reading in readouts.items()
    }


def _window_test(case: tuple[str, str], systems, params: AnalysisParams, windows: dict) -> dict:
    """The gap test of one (domain, window) case of a snapshot: trend from fit_start, tested from
    test_window_start to the window's end."""
    domain, window = case
    members = systems[study.domain_mask(systems, domain, params)]
    return study.gap_test(members, params.fit_start, params.test_window_start, windows[window], params)


def _summary(test: dict) -> dict:
    """The fields of a gap test the history keeps: a window row's, its bounds and the systems in the gap."""
    keys = (*study.WINDOW_KEYS, "inclusive", "systems_in_gap")
    return {key: test.get(key) for key in keys}


def answer(rows: list[dict]) -> dict:
    """The paper's gap, first snapshot vs newest, in numbers (language and all domains, paper window). The
    window is the same in both, so this shows what revisions and back-filled records did to the paper's test,
    not whether the gap closed over time (that is the windows' change test)."""
    first, last = rows[0], rows[-1]
    result = {}
    for domain in DOMAINS:
        a, b = first["gap"][domain]["paper_window"], last["gap"][domain]["paper_window"]
        result[domain] = {
            "first": first["snapshot"],
            "newest": last["snapshot"],
            "observed_first": a.get("observed_in_gap"),
            "observed_newest": b.get("observed_in_gap"),
            "expected_first": a.get("expected_in_gap"),
            "expected_newest": b.get("expected_in_gap"),
            "p_first": a.get("p_le_observed_exact"),
            "p_newest": b.get("p_le_observed_exact"),
            "added_in_gap": sorted(set(b.get("systems_in_gap") or []) - set(a.get("systems_in_gap") or [])),
            "significant_first": a.get("significant"),
            "significant_newest": b.get("significant"),
        }
    return result


def figure(history: dict, params: AnalysisParams, path: Path, footer: str) -> None:
    """In-gap count, expected count and P(K<=obs) against snapshot date, language and all domains."""
    from mlsizes.rendering import figures

    plt = figures.pyplot()
    import matplotlib.dates as mdates

    dates = [dt.date.fromisoformat(row["snapshot_date"]) for row in history["snapshots"]]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    start = date_words(params.test_window_start)
    styles = {
        "paper_window": ("-", "o", f"paper window {start} to {history['paper_cutoff']}, {params.bounds} bounds"),
        "to_snapshot_date": ("--", "s", f"{start} to each snapshot date, {params.bounds} bounds"),
    }
    for column, domain in enumerate(DOMAINS):
        counts, probability = axes[0, column], axes[1, column]
        for window, (line, marker, label) in styles.items():
            tests = [row["gap"][domain][window] for row in history["snapshots"]]
            observed = [t.get("observed_in_gap") for t in tests]
            expected = [t.get("expected_in_gap") for t in tests]
            p = [t.get("p_le_observed_exact") for t in tests]
            counts.plot(dates, observed, line, marker=marker, color="tab:blue", label=f"observed, {label}")
            counts.plot(dates, expected, line, marker=marker, color="tab:orange", label=f"expected, {label}")
            probability.plot(dates, p, line, marker=marker, color="tab:red", label=label)
        counts.set_title(
            f"{'Language models' if domain == 'language' else 'All domains'}: systems in {params.gap_label}"
        )
        counts.set_ylabel("systems in the gap")
        probability.set_yscale("log")
        probability.axhline(params.alpha, color="grey", linewidth=0.8, linestyle=":")
        probability.set_ylabel("P(K <= observed), log scale")
        probability.set_xlabel("upstream snapshot date")
        probability.xaxis.set_major_locator(mdates.YearLocator())
        probability.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        counts.grid(alpha=0.3)
        probability.grid(alpha=0.3, which="both")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    axes[1, 0].legend(fontsize=7, loc="lower right")
    fig.suptitle("The parameter gap across Epoch's dataset releases")
    figures.grid_margins(fig, 2, 2, top=0.6, between_rows=0.4)
    figures.save_figure(fig, path, footer)


def atlas_figure(history: dict, params: AnalysisParams, path: Path, footer: str) -> None:
    """RQ5: has the gap closed, and is something else opening? Per release, the local P of the atlas minimum
    (labelled with its band) and of the paper's cell, and the closing test's observed/expected ratio with its
    interval (language and all domains)."""
    from mlsizes.rendering import figures

    plt = figures.pyplot()
    import matplotlib.dates as mdates

    rows = history["snapshots"]
    dates = [dt.date.fromisoformat(row["snapshot_date"]) for row in rows]
    fig, (where, ratio) = plt.subplots(1, 2, figsize=(12, 5))
    low = [row["atlas"]["minimum"] for row in rows]
    paper = [row["atlas"]["paper_cell"] or {} for row in rows]
    where.plot(dates, [c["local_p"] for c in low], "o-", color="tab:purple", label="atlas minimum (smallest z)")
    where.plot(dates, [c.get("local_p") for c in paper], "s--", color="tab:blue", label=f"language {params.gap_label}")
    for i, (day, cell) in enumerate(zip(dates, low)):  # labels alternate below and above: releases sit close
        where.annotate(
            f"{cell['group']} {cell['measure'].replace('training_', '')}\n"
            f"{size_text(cell['lower'])}-{size_text(cell['upper'])}",
            (day, cell["local_p"]),
            textcoords="offset points",
            xytext=(0, -26 if i % 2 else 10),
            ha="center",
            fontsize=7,
        )
    where.set_yscale("log")
    where.axhline(params.alpha, color="grey", linewidth=0.8, linestyle=":")
    where.set_ylabel("local P = P(K <= observed), log scale")
    where.set_title("Is something else opening? The atlas minimum per release")
    for shift, domain, colour in ((-20, "language", "tab:blue"), (20, "all", "tab:orange")):
        tests = [row["closing"][domain] for row in rows]
        known = [(d, t) for d, t in zip(dates, tests) if t.get("ratio") is not None]
        if not known:
            continue
        days = [d + dt.timedelta(days=shift) for d, _ in known]
        values = [t["ratio"] for _, t in known]
        errors = [
            [v - t["interval"][0] for v, (_, t) in zip(values, known)],
            [t["interval"][1] - v for v, (_, t) in zip(values, known)],
        ]
        ratio.errorbar(days, values, yerr=errors, fmt="o", color=colour, capsize=3, label=f"{domain}")
        for day, (_, t) in zip(days, known):
            ratio.annotate(
                t["verdict"],
                (day, t["interval"][1]),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                fontsize=7,
            )
    ratio.axhline(1.0, color="grey", linewidth=0.8)
    ratio.axhline(params.closing_ratio, color="grey", linewidth=0.8, linestyle=":")
    ratio.set_ylabel(f"in-gap observed / expected ({1 - 2 * params.alpha:.0%} interval)")
    ratio.set_title(f"Has it closed? Systems from {params.closing_after.isoformat()} against the earlier trend")
    for ax in (where, ratio):
        ax.set_xlabel("upstream snapshot date")
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # a history of pre-paper releases has no closing test to show
            ax.legend(fontsize=8)
    figures.grid_margins(fig, 1, 2, top=0.45)
    figures.save_figure(fig, path, footer)


@dataclass(frozen=True)
class HistorySettings:
    """The analysis settings, and the paper's cut-off: the end of the window the paper saw."""

    analysis: AnalysisParams
    paper_cutoff: dt.date
    atlas: AtlasParams
    growth: GrowthParams | None = None  # the recent-growth readout per release (the `growth:` section)


def run(paths: Paths, settings: HistorySettings) -> dict:
    """Analyse every snapshot in the raw folder; write history.json and its figure."""
    params, paper_cutoff = settings.analysis, settings.paper_cutoff
    untrusted.check_folder(paths.raw_dir)  # no link, FIFO or device among the snapshots (a FIFO would block)
    snapshots = [path for path in sorted(paths.raw_dir.glob("*.csv")) if not path.name.startswith(".")]
    if not snapshots:
        raise SnapshotError(f"{paths.raw_dir}: no snapshot (*.csv) to analyse")
    history = process(snapshots, params, paper_cutoff, settings.atlas, settings.growth)
    atomic_write_text(paths.history, to_json(history))
    footer = (
        f"Snapshots: {', '.join(row['snapshot'] for row in history['snapshots'])}. Each analysed as of its "
        f"own date; {params.n_window_simulations:,} simulations per test, seed {params.seed}."
    )
    figure(rounded(history), params, paths.history_figure, footer)
    atlas_figure(rounded(history), params, paths.history_atlas_figure, footer)
    return history
