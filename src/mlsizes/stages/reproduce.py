"""The `reproduce-paper` stage: the paper's results table beside ours, from the paper-era raw snapshot.

The selection rule was fixed before looking at the numbers and mirrors the paper's text; SELECTION states it
with the values of params.yaml filled in, and is stored in paper_reproduction.json. The paper's own figures
(its table and gap probability) are facts of the paper, kept here; the tolerances are the issue's targets.
"""

from __future__ import annotations

import math
import time

from mlsizes.analysis import study
from mlsizes.core.files import atomic_write_text, to_json
from mlsizes.core.paths import Paths
from mlsizes.core.settings import ReproductionParams, date_words, scientific
from mlsizes.records import curation

FIELDS = ("n", "slope_oom_per_year", "doubling_time_months", "r2")
# The paper's table, by era role (see AnalysisParams.era_keys): its eras split at 2018-01-01.
PAPER = {
    "before": {"n": 109, "slope_oom_per_year": 0.1, "doubling_time_months": 39.1, "r2": 0.62},
    "after": {"n": 129, "slope_oom_per_year": 0.9, "doubling_time_months": 4.2, "r2": 0.31},
    "above": {"n": 27, "slope_oom_per_year": 0.0, "doubling_time_months": 209.0, "r2": 0.0},
    "below": {"n": 102, "slope_oom_per_year": 0.5, "doubling_time_months": 8.0, "r2": 0.25},
}
PAPER_PUBLISHED = "2022-07-01"
PAPER_GAP_PROBABILITY = 1e-5
TARGETS = {
    "n_relative": 0.05,
    "slope_oom_per_year": 0.1,
    "r2": 0.05,
    "doubling_time_relative": 0.15,
    "gap_probability_orders_of_magnitude": 1.0,
}
SMALL = 1e8  # the report's "small systems", which pull the single post-break trend between the two clusters
NEAR_ZERO_SLOPE = "slope near zero: the doubling time is meaningless (it passes through infinity)"
# The selection rule as stored: one entry per line of the text (its line breaks are part of it).
SELECTION = "\n".join(
    (
        "Selection rule (fixed before looking at the numbers, mirroring the paper's text): the {as_of} snapshot,",
        "curated by the project's own pipeline in memory; every system with a parameter count (> 0), a name and a",
        "domain, published on or before the snapshot date (the paper appeared on {published}); every domain; eras "
        "split",
        "at {era_break}; above the gap means >= {upper} parameters and below it <= {lower}, both after the split. The "
        "gap",
        "probability is the headline test of the analysis (all domains, trend fitted {fit_start} onwards, systems "
        "tested from",
        "{test_start} onwards) with {bounds} bounds, ({lower}, {upper}): the paper's above (>= {upper}) and below "
        "(<= {lower}) rows add up to",
        "its post-2018 row ({paper_above} + {paper_below} = {paper_after}), so systems on a bound were outside its "
        "gap. No further filter is tuned to",
        "approach the paper's counts.",
        "",
    )
)


def selection(params: ReproductionParams) -> str:
    """The selection rule with the params' values."""
    analysis = params.analysis
    return SELECTION.format(
        as_of=params.as_of.isoformat(),
        published=PAPER_PUBLISHED,
        era_break=analysis.era_break.isoformat(),
        upper=scientific(analysis.gap_upper),
        lower=scientific(analysis.gap_lower),
        fit_start=date_words(analysis.fit_start),
        bounds=analysis.bounds,
        test_start=date_words(analysis.test_window_start),
        paper_above=PAPER["above"]["n"],
        paper_below=PAPER["below"]["n"],
        paper_after=PAPER["after"]["n"],
    )


def process(models, snapshot_id: str, params: ReproductionParams) -> dict:
    """Our era fits and gap test on the paper-era table, each beside the paper's figure and its target."""
    analysis = params.analysis
    start = time.monotonic()
    systems = study.select_systems(models, analysis)
    trends = study.era_trends(systems, analysis)
    gap = study.gap_tests(systems, analysis, stage="reproduce-paper")
    result = {
        "snapshot": snapshot_id,
        "as_of": analysis.as_of.isoformat(),
        "selection": selection(params),
        "targets": TARGETS,
    }
    for role, key in analysis.era_keys.items():
        paper = PAPER[role]
        ours = {field: trends[key].get(field) for field in FIELDS}
        result[key] = {"paper": paper, "ours": ours, "meets_target": meets_target(role, paper, ours)}
        if role == "above":
            result[key]["note"] = NEAR_ZERO_SLOPE
    headline = gap["all"]
    ours = headline["p_le_observed_exact"]
    result["gap_probability"] = {
        "paper": PAPER_GAP_PROBABILITY,
        "ours": ours,
        "ours_monte_carlo": headline["mc_estimate"],
        "observed_in_gap": headline["observed_in_gap"],
        "expected_in_gap": headline["expected_in_gap"],
        "n_systems": headline["n_systems"],
        "language_only": gap["language"]["p_le_observed_exact"],
        "non_language": gap["non_language"]["p_le_observed_exact"],
        "meets_target": ours > 0
        and abs(math.log10(ours / PAPER_GAP_PROBABILITY)) <= TARGETS["gap_probability_orders_of_magnitude"],
    }
    result["gap_tests"] = {group: gap[group] for group in ("all", "language")}
    result["family_scan"] = study.family_scan(systems, analysis, stage="reproduce-paper")
    study.finished("reproduce-paper: family-wide scan", start)
    result["closing"] = study.closing_tests(systems, analysis)
    study.finished("reproduce-paper: closing tests", start)
    result["model_check"] = study.model_check(systems, analysis)
    result["deficit_bands"] = study.deficit_bands(systems, analysis)
    after = study.era_masks(systems, analysis)["after"]
    result["small_systems_after_break"] = int((after & (systems["parameters"] < SMALL)).sum())
    return result


def meets_target(role: str, paper: dict, ours: dict) -> dict:
    """Each field against its tolerance; the above-gap doubling time is not judged (see NEAR_ZERO_SLOPE)."""
    if ours["n"] is None or ours["slope_oom_per_year"] is None:
        return {field: False for field in FIELDS}
    checks = {
        "n": abs(ours["n"] - paper["n"]) <= TARGETS["n_relative"] * paper["n"],
        "slope_oom_per_year": abs(ours["slope_oom_per_year"] - paper["slope_oom_per_year"])
        <= TARGETS["slope_oom_per_year"] + 1e-9,
        "r2": abs(ours["r2"] - paper["r2"]) <= TARGETS["r2"] + 1e-9,
    }
    if role != "above":
        checks["doubling_time_months"] = (
            abs(ours["doubling_time_months"] - paper["doubling_time_months"])
            <= TARGETS["doubling_time_relative"] * paper["doubling_time_months"]
        )
    return checks


def run(paths: Paths, settings: ReproductionParams) -> dict:
    """Curate the paper-era snapshot in memory, compare, and write paper_reproduction.json."""
    curated, snapshot = curation.curate_snapshot(paths.snapshot(settings.snapshot))
    result = process(curated.models, snapshot.snapshot_id, settings)
    atomic_write_text(paths.paper_reproduction, to_json(result))
    return result
