"""The `analyze` stage: trend fits, the parameter-gap test and the paper-beyond analyses on a curated table.

Load (curated CSV + the `analysis:` params) -> process (pure, seeded: the same inputs give byte-identical
outputs) -> save (trends.json, gap.json and the plot data under plots/). The study itself (selection, fits,
tests) is analysis/study.py, which history and reproduce-paper run too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes.analysis.study import (
    all_trends,
    break_date,
    cluster_analysis,
    deficit_bands,
    era_masks,
    family_scan,
    gap_tests,
    model_check,
    progress,
    select_systems,
    sensitivity,
    side_by_side,
    window_tests,
)
from mlsizes.core.files import atomic_write_text, frame_to_csv, refuse_unwritable, to_json
from mlsizes.core.paths import Paths
from mlsizes.core.settings import AnalysisParams
from mlsizes.records import contracts, snapshots

PLOT_FILES = ("sizes.csv", "windows.csv", "break_profile.csv", "sensitivity.csv")


@dataclass
class Analysis:
    """What the analyze stage saves: trends.json, gap.json and the plot data tables by file name."""

    trends: dict
    gap: dict
    plots: dict[str, pd.DataFrame]


def dataset_label(models: pd.DataFrame) -> str:
    """The upstream snapshot(s) a curated table was built from, read from its records (git-independent)."""
    sources = sorted({s.split(":", 1)[1] for s in models["source"].dropna() if s.startswith("epoch:")})
    return ", ".join(sources) or "unknown"


def process(models: pd.DataFrame, params: AnalysisParams, curation: dict | None = None) -> Analysis:
    """Select the systems, fit the trends, run the gap tests and the beyond-the-paper analyses; curate's metrics
    (when known) say how many systems were left out as not notable."""
    systems = select_systems(models, params)
    header = {
        "dataset": dataset_label(models),
        "as_of": params.as_of.isoformat(),
        "n_systems": len(systems),
        "non_notable_left_out": (curation or {}).get("rejected_by_reason", {}).get("not_notable", 0),
        "domain_rule": params.domain_rule,
        "gap": [params.gap_lower, params.gap_upper],
        "bounds": params.bounds,
    }
    progress(f"analyze: {len(systems)} systems; trend fits with {params.n_bootstrap} bootstrap resamples...")
    trends = {**header, "era_break": params.era_break.isoformat(), "domains": all_trends(systems, params)}
    progress(
        f"analyze: gap tests ({params.n_simulations:,} simulations each; scans under three nulls, up to "
        f"{params.mc_max_scan:,} simulations each; posterior predictive with {params.n_posterior_draws:,} draws), the "
        f"family-wide scan (up to {params.mc_max_family:,}), sliding windows and the closing test, break date and "
        f"clusters (up to {params.mc_max_split} resamples), side by side..."
    )
    parts = {
        "tests": functools.partial(gap_tests, stage="analyze"),
        "family": functools.partial(family_scan, stage="analyze"),
        "windows": window_tests,
        "clusters": cluster_analysis,
    }
    results = side_by_side(parts, systems, params)
    gap = {
        **header,
        "model": GAP_MODEL,
        "tests": results["tests"],
        "family_scan": results["family"],
        "sensitivity": sensitivity(systems, params),
        "windows": results["windows"],
    }
    gap["model_check"] = model_check(systems, params)
    gap["deficit_bands"] = deficit_bands(systems, params)
    gap["break_date"], profile = break_date(systems, params)
    gap["clusters"] = results["clusters"]
    eras = era_masks(systems, params)
    sizes = systems[["id", "name", "primary_domain", "decimal_year", "parameters", "log10_parameters"]].copy()
    keys = params.era_keys
    sizes["era"] = np.select(
        [eras["before"], eras["above"], eras["below"]], [keys["before"], keys["above"], keys["below"]], "in_gap"
    )
    windows = pd.DataFrame(gap["windows"]["rows"])
    plots = {
        "sizes.csv": sizes,
        "windows.csv": windows,
        "break_profile.csv": profile,
        "sensitivity.csv": pd.DataFrame(gap["sensitivity"]),
    }
    return Analysis(trends=trends, gap=gap, plots=plots)


GAP_MODEL = (
    "log10(parameters) = a + b*t + e, e ~ Normal(0, s^2), fitted by OLS to the domain's systems published from "
    "fit_start to the window end; s is the residual sd (plug-in). Each system i published in the test window "
    "lands in [gap_lower, gap_upper] with probability p_i; the in-gap count K is a sum of independent "
    "Bernoulli(p_i) (Poisson-binomial). P(K <= observed) is computed exactly and by seeded Monte Carlo, which "
    "must agree within 4 standard errors. Systems of one organisation are not independent: every count test "
    "reports the organisation-clustered design effect and the P with the variance widened by it. Checks of the "
    "headline tests, each simulated P being (hits + 1) / (n + 1) with its exact 95% interval, simulated until "
    "the interval lies on one side of alpha: the scan-corrected P (the chosen window against the most extreme "
    "window as wide at any position, trend re-fitted on every simulated data set: the bounds were chosen after "
    "looking), under normal scatter, the residuals resampled and Student t scatter; the family-wide P (position, "
    "width, bound convention, domain group and period (the headline period and every sliding window) all free, "
    "under the same three nulls); the count of size bands as wide as the gap with a deficit, against each null; "
    "the posterior-predictive P (P averaged over the "
    "posterior of a, b, s under a flat prior); the out-of-sample P (trend fitted only on systems before the test "
    "window, averaged over that fit's posterior)."
)


def save(analysis: Analysis, paths: Paths) -> list[Path]:
    """trends.json and gap.json, and the plot data in the plots folder."""
    texts = {paths.trends: to_json(analysis.trends), paths.gap: to_json(analysis.gap)}
    texts.update({paths.plots_dir / name: frame_to_csv(frame) for name, frame in analysis.plots.items()})
    refuse_unwritable(texts)
    for path, text in texts.items():
        atomic_write_text(path, text)
    return list(texts)


def resolve_as_of(params: AnalysisParams, models: Path) -> AnalysisParams:
    """The params with their as-of date: the one they set (`--as-of`, params.yaml's analysis.as_of), else the one
    written beside the table by curate (snapshots.table_snapshot_path), so a table is analysed as of its own
    snapshot, whatever project or day it is analysed in; ValueError when there is none."""
    contracts.check_table_file(models)  # what the table is comes before what is beside it
    if params.as_of is not None:
        return params
    record = snapshots.read_table_snapshot(models) or {}
    if not record.get("as_of"):
        raise ValueError(
            f"{models}: no as-of date: no {snapshots.table_snapshot_path(models).name} with one beside it (written "
            "by `mlsizes curate --out`) and the params set no analysis.as_of; give --as-of YYYY-MM-DD"
        )
    return dataclasses.replace(params, as_of=dt.date.fromisoformat(record["as_of"]))


def load_curation(path: Path | None) -> dict:
    """curate's metrics of the analysed table, or {} when there are none."""
    if path is None or not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"{path}: not curate's metrics (a JSON file, e.g. metrics/curation.json)") from None


def run(paths: Paths, settings: AnalysisParams) -> Analysis:
    """Load the curated table, analyse it as of its snapshot's date (or the one given), save the metrics."""
    curation = load_curation(paths.curation_metrics)
    params = resolve_as_of(settings, paths.models)
    analysis = process(contracts.read_curated(paths.models), params, curation)
    save(analysis, paths)
    return analysis
