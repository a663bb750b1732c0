"""The `reproduce_paper` stage: the paper's results table beside ours, from the paper-era raw snapshot.

Selection rule (fixed before looking at the numbers, mirroring the paper's text): the 2022-06-30 snapshot,
curated by the project's own pipeline in memory; every system with a parameter count (> 0), a name and a
domain, published on or before the snapshot date (the paper appeared on 2022-07-01); every domain; eras split
at 2018-01-01; above the gap means >= 7e10 parameters and below it <= 2e10, both after the split. The gap
probability is the headline test of the analysis (all domains, trend fitted 2018 onwards, systems tested from
2020 onwards) with strict bounds, (2e10, 7e10): the paper's above (>= 7e10) and below (<= 2e10) rows add up to
its post-2018 row (27 + 102 = 129), so systems on a bound were outside its gap. No further filter is tuned to
approach the paper's counts.
"""

from __future__ import annotations

import math
from pathlib import Path

from mlsizes import analyze
from mlsizes.files import atomic_write_text
from mlsizes.project import read_params

FIELDS = ("n", "slope_oom_per_year", "doubling_time_months", "r2")
PAPER = {
    "pre_2018": {"n": 109, "slope_oom_per_year": 0.1, "doubling_time_months": 39.1, "r2": 0.62},
    "post_2018": {"n": 129, "slope_oom_per_year": 0.9, "doubling_time_months": 4.2, "r2": 0.31},
    "above_gap": {"n": 27, "slope_oom_per_year": 0.0, "doubling_time_months": 209.0, "r2": 0.0},
    "below_gap": {"n": 102, "slope_oom_per_year": 0.5, "doubling_time_months": 8.0, "r2": 0.25},
}
PAPER_GAP_PROBABILITY = 1e-5
TARGETS = {"n_relative": 0.05, "slope_oom_per_year": 0.1, "r2": 0.05, "doubling_time_relative": 0.15,
           "gap_probability_orders_of_magnitude": 1.0}
NEAR_ZERO_SLOPE = "slope near zero: the doubling time is meaningless (it passes through infinity)"


def process(raw_snapshot: Path, params: analyze.AnalysisParams) -> dict:
    models, snapshot_id, _ = analyze.curate_snapshot(raw_snapshot)
    systems = analyze.select_systems(models, params)
    trends = analyze.era_trends(systems, params)
    gap = analyze.gap_tests(systems, params)
    result = {"snapshot": snapshot_id, "as_of": params.as_of.isoformat(), "selection": __doc__.split("\n\n")[1],
              "targets": TARGETS}
    for era, paper in PAPER.items():
        ours = {field: trends[era].get(field) for field in FIELDS}
        result[era] = {"paper": paper, "ours": ours, "meets_target": meets_target(era, paper, ours)}
        if era == "above_gap":
            result[era]["note"] = NEAR_ZERO_SLOPE
    headline = gap["all"]["strict"]
    ours = headline["p_le_observed_exact"]
    result["gap_probability"] = {
        "paper": PAPER_GAP_PROBABILITY,
        "ours": ours,
        "ours_monte_carlo": headline["mc_estimate"],
        "observed_in_gap": headline["observed_in_gap"],
        "expected_in_gap": headline["expected_in_gap"],
        "n_systems": headline["n_systems"],
        "language_only": gap["language"]["strict"]["p_le_observed_exact"],
        "non_language": gap["non_language"]["strict"]["p_le_observed_exact"],
        "meets_target": ours > 0 and abs(math.log10(ours / PAPER_GAP_PROBABILITY)) <= 1.0,
    }
    return result


def meets_target(era: str, paper: dict, ours: dict) -> dict:
    """Each field against the issue's tolerance; the above-gap doubling time is not judged (see NEAR_ZERO_SLOPE)."""
    if ours["n"] is None or ours["slope_oom_per_year"] is None:
        return {field: False for field in FIELDS}
    checks = {
        "n": abs(ours["n"] - paper["n"]) <= TARGETS["n_relative"] * paper["n"],
        "slope_oom_per_year": abs(ours["slope_oom_per_year"] - paper["slope_oom_per_year"])
        <= TARGETS["slope_oom_per_year"] + 1e-9,
        "r2": abs(ours["r2"] - paper["r2"]) <= TARGETS["r2"] + 1e-9,
    }
    if era != "above_gap":
        checks["doubling_time_months"] = (
            abs(ours["doubling_time_months"] - paper["doubling_time_months"])
            <= TARGETS["doubling_time_relative"] * paper["doubling_time_months"])
    return checks


def run(raw_dir: Path, params_path: Path, out_path: Path) -> dict:
    all_params = read_params(params_path)
    section = all_params["paper_reproduction"]
    params = analyze.AnalysisParams.from_dict(all_params["analysis"], section["as_of"])
    result = process(Path(raw_dir) / f"{section['snapshot']}.csv", params)
    atomic_write_text(out_path, analyze.to_json(result))
    return result
