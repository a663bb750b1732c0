"""The `atlas` stage: the gap atlas (analysis/atlas.py) of the current release and of the paper-era release ->
metrics/atlas.json (the minimum, the paper's cell, the top cells, each series' summary and model check, the
atlas-wide corrected P under two nulls), metrics/atlas_cells.csv (every cell of the current release, with its
reading), one figure per measure, reports/figures/atlas_<measure>.png, and the paper-era release's parameters
atlas, reports/figures/atlas_parameters_<snapshot>.png.

The paper-era release is asked the question the paper asked: did the atlas, free to look anywhere, find the
paper's band? The current release is asked whether that band is still the most improbable one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes.analysis import atlas, study
from mlsizes.core.files import atomic_write_text, frame_to_csv, refuse_unwritable, rounded, to_json
from mlsizes.core.paths import Paths
from mlsizes.core.settings import AnalysisParams, AtlasParams
from mlsizes.records import contracts, curation, snapshots
from mlsizes.rendering import atlas_text


@dataclass(frozen=True)
class AtlasSettings:
    """The atlas's own section, the analysis settings (as_of None: the curated table's snapshot date) and the
    paper-era snapshot with its cut-off."""

    atlas: AtlasParams
    analysis: AnalysisParams
    paper_snapshot: str
    paper_as_of: dt.date


def process(releases: dict[str, tuple[pd.DataFrame, AnalysisParams]], settings: AtlasParams) -> dict:
    """The atlas of each release (name -> its table and params), the corrected P simulated for each; returns
    {"json": the stored result, "cells": each release's cells}."""
    out, tables = {}, {}
    for name, (models, params) in releases.items():
        study.progress(f"atlas: {name} (as of {params.as_of})")
        analysed = atlas.analyse(models, settings, params, simulate=True)
        out[name] = analysed["result"]
        tables[name] = analysed["cells"]
    first = next(iter(releases.values()))[1]
    return {
        "json": {
            "statistic": atlas.STATISTIC,
            "grid": {
                "measures": settings.measures,
                "domain_groups": "the settings' groups and every domain with at least "
                f"{settings.min_domain_systems} systems from the earliest test start",
                "windows": {
                    k: {"fit_start": a.isoformat(), "test_start": b.isoformat()}
                    for k, (a, b) in settings.windows.items()
                },
                "widths_dex": list(atlas.widths(settings, first)),
                "positions": f"lower edges every {settings.step_dex:g} dex through log10 of the gap's lower bound",
                "bounds": "strict",
            },
            "null": "each measure's language and other systems scattered around their own trend (normal, or the "
            "trend's residuals resampled), every series re-fitted on every simulated atlas; measures independent",
            "model_check": "a deficit (local P < alpha) is a gap only when it is its series' one deficit and the trend "
            "fits (Jarque-Bera normal residuals, each tail beyond 2 sd as thick as expected)",
            "releases": out,
        },
        "cells": tables,
    }


def figure(
    cells: pd.DataFrame, measure: str, words: str, result: dict, params: AnalysisParams, path: Path, footer: str
):
    """One measure's atlas, a panel per domain group (headline window): band position against band width,
    coloured by the local P, cells whose atlas-wide corrected P lies below alpha crossed, the paper's cell
    outlined."""
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    from mlsizes.rendering import figures

    plt = figures.pyplot()
    own = cells[(cells["measure"] == measure) & (cells["window"] == "headline")]
    groups = [
        g for g in result["series"].get(measure, {}) if g not in ("n_systems", "skipped") and g in set(own["group"])
    ]
    columns = 2
    rows = max(1, math.ceil(len(groups) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(12, 2.6 * rows + 0.8), squeeze=False)
    widths = sorted(own["width_dex"].unique())
    norm = LogNorm(vmin=1e-6, vmax=1.0)
    for ax, group in zip(axes.flat, groups):
        part = own[own["group"] == group]
        grid = part.pivot_table(index="width_dex", columns="lower_log10", values="local_p", aggfunc="min")
        grid = grid.reindex(index=widths)
        x = grid.columns.to_numpy(float)
        step = float(np.diff(x).min()) if x.size > 1 else 0.05
        x_edges = np.append(x - step / 2, x[-1] + step / 2)
        y_edges = np.arange(len(widths) + 1) - 0.5
        mesh = ax.pcolormesh(x_edges, y_edges, grid.clip(lower=1e-6).to_numpy(), cmap="magma", norm=norm)
        marked = part[part["corrected_significant"]]
        ax.plot(marked["lower_log10"], [widths.index(w) for w in marked["width_dex"]], "x", color="cyan", ms=4)
        minimum = part.iloc[0]
        ax.plot(minimum["lower_log10"], widths.index(minimum["width_dex"]), "o", mfc="none", mec="lime", ms=9)
        if measure == "parameters" and group == "language":
            lo, hi = math.log10(params.gap_lower), math.log10(params.gap_upper)
            row = min(range(len(widths)), key=lambda i: abs(widths[i] - (hi - lo)))
            ax.add_patch(Rectangle((lo - 2 * step, row - 0.5), 4 * step, 1, fill=False, ec="deepskyblue", lw=1.5))
        fig.colorbar(mesh, ax=ax, label="local P", pad=0.01)
        ax.set_yticks(range(len(widths)), [f"{w:.2g}" for w in widths])
        at = atlas_text.value_text(measure, 10 ** minimum["lower_log10"])
        ax.set_title(f"{group}: minimum z {minimum['z']:.2f} at {at}", fontsize=9)
        ax.set_ylabel("band width (dex)")
        ax.set_xlim(own["lower_log10"].min() - 0.1, own["lower_log10"].max() + 0.1)
        ax.set_xlabel(f"band lower edge, log10 {words}")
    for ax in list(axes.flat)[len(groups) :]:
        ax.axis("off")
    if not groups:
        axes[0, 0].text(
            0.5, 0.5, f"no series: too few systems with {words}", ha="center", transform=axes[0, 0].transAxes
        )
    corrected = result.get("corrected", {}).get("normal", {})
    paper_mark = "; blue box: the paper's cell" if measure == "parameters" else ""
    title = (
        f"Gap atlas, {words}, as of {result['as_of']}: local P = P(K <= observed) of every band, headline test window\n"
        f"cyan x: atlas-wide corrected P < {params.alpha:g}; green circle: the group's minimum{paper_mark}"
    )
    if corrected:
        title += (
            f"; the atlas minimum's corrected P {corrected['p']:.2g} [{corrected['interval'][0]:.2g}, "
            f"{corrected['interval'][1]:.2g}] ({corrected['hits']} of {corrected['n']})"
        )
    fig.suptitle(title, fontsize=10)
    figures.grid_margins(fig, rows, columns, top=0.75 if corrected else 0.6)
    figures.save_figure(fig, path, footer)


def run(paths: Paths, settings: AtlasSettings) -> dict:
    """The atlas of the paper-era snapshot (curated in memory) and of the curated table; write the JSON, the cells
    and the figures."""
    record = snapshots.read_table_snapshot(paths.models) or {}
    as_of = settings.analysis.as_of or (dt.date.fromisoformat(record["as_of"]) if record.get("as_of") else None)
    if as_of is None:
        raise ValueError(f"{paths.models}: no as-of date beside it and the params set no analysis.as_of")
    paper, _ = curation.curate_snapshot(paths.snapshot(settings.paper_snapshot))
    releases = {
        settings.paper_snapshot: (paper.models, dataclasses.replace(settings.analysis, as_of=settings.paper_as_of)),
        str(record.get("snapshot") or paths.models.name): (
            contracts.read_curated(paths.models),
            dataclasses.replace(settings.analysis, as_of=as_of),
        ),
    }
    result = process(releases, settings.atlas)
    paper_name, current_name = list(releases)
    figure_paths = {measure: paths.atlas_figure(measure) for measure in settings.atlas.measures}
    paper_figure = paths.atlas_figure(f"parameters_{paper_name}")
    texts = {paths.atlas: to_json(result["json"]), paths.atlas_cells: frame_to_csv(result["cells"][current_name])}
    refuse_unwritable([*texts, *figure_paths.values(), paper_figure])
    for path, text in texts.items():
        atomic_write_text(path, text)
    stored = rounded(result["json"]["releases"])
    simulations = f"atlas-wide P from up to {settings.atlas.mc_max_n:,} simulated atlases, seed {settings.atlas.seed}."
    footer = f"Release {current_name}, as of {as_of}; {simulations}"
    study.progress("atlas: drawing the figures...")
    for measure, path in figure_paths.items():
        words = settings.atlas.measures[measure]
        figure(result["cells"][current_name], measure, words, stored[current_name], settings.analysis, path, footer)
    # The paper-era release, where the question began: its parameters atlas with the corrected-significant cells
    if "parameters" in settings.atlas.measures:
        footer = f"Release {paper_name}, as of {settings.paper_as_of}; {simulations}"
        cells, words = result["cells"][paper_name], settings.atlas.measures["parameters"]
        figure(cells, "parameters", words, stored[paper_name], settings.analysis, paper_figure, footer)
    return result["json"]
