"""The `analyze` stage: trend fits, the parameter-gap test and the paper-beyond analyses on a curated table.

Load (curated CSV + the `analysis:` params) -> process (pure, seeded: the same inputs give byte-identical
outputs) -> save (trends.json, gap.json and the plot data under plots/). The statistics live in stats.py;
this module decides which systems enter each fit and test, and shapes the results for storage and diffing.

Selection: a system enters when it has a parameter count and a publication date on or before the as-of date
(from params, never today). Domain membership follows `domains.rule`: with `any`, a system belongs to a group
when the group's domain is among its domains (a Language+Vision system is in both); with `primary`, only its
primary domain counts. The `other` group holds the systems in none of the named groups; `all` holds every one.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes import contracts, stats
from mlsizes.files import atomic_write_text, frame_to_csv, to_json
from mlsizes.paths import Paths
from mlsizes.settings import AnalysisParams

GAP_DOMAINS = ("all", "language", "non_language")
WINDOW_DOMAINS = ("all", "language")
PLOT_FILES = ("sizes.csv", "windows.csv", "break_profile.csv")


def progress(message: str) -> None:
    """A progress line on stderr (stdout carries the results)."""
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# selection


def select_systems(models: pd.DataFrame, params: AnalysisParams) -> pd.DataFrame:
    """Systems with a parameter count published on or before as_of, with the columns every fit needs."""
    dates = pd.to_datetime(models["publication_date"], format="%Y-%m-%d")
    keep = models["parameters"].notna() & (models["parameters"] > 0) & (dates <= pd.Timestamp(params.as_of))
    systems = models.loc[keep, ["id", "name", "domains", "primary_domain", "publication_date", "parameters"]].copy()
    systems["date"] = dates[keep]
    systems["x_days"] = stats.days_since_epoch(systems["date"].to_numpy())
    systems["log10_parameters"] = np.log10(systems["parameters"].to_numpy(dtype=float))
    systems["decimal_year"] = stats.decimal_year(systems["date"].to_numpy())
    for group in domain_group_names(params):
        systems[f"in_{group}"] = domain_mask(systems, group, params)
    return systems.sort_values(["date", "id"], kind="stable").reset_index(drop=True)


def domain_group_names(params: AnalysisParams) -> list[str]:
    """Every domain group the results are broken down by: all, the params' groups, and the rest."""
    return ["all", *params.domain_groups, "other"]


def domain_mask(systems: pd.DataFrame, group: str, params: AnalysisParams) -> pd.Series:
    """Membership of each system in a domain group under the params' rule (see the module docstring)."""
    if group == "all":
        return pd.Series(True, index=systems.index)
    if group == "other":
        named = [domain_mask(systems, g, params) for g in params.domain_groups]
        return ~np.logical_or.reduce(named) if named else pd.Series(True, index=systems.index)
    if group == "non_language":
        return ~domain_mask(systems, "language", params)
    domain = params.domain_groups[group]
    if params.domain_rule == "primary":
        return systems["primary_domain"] == domain
    return systems["domains"].str.split(",").apply(lambda names: domain in names)


def between(systems: pd.DataFrame, start: dt.date | None, end: dt.date) -> pd.Series:
    """Published in [start, end] (start None: from the beginning)."""
    mask = systems["date"] <= pd.Timestamp(end)
    if start is not None:
        mask &= systems["date"] >= pd.Timestamp(start)
    return mask


def era_masks(systems: pd.DataFrame, params: AnalysisParams) -> dict[str, pd.Series]:
    """The paper's eras, by role (see AnalysisParams.era_keys): before the break, after it as one trend, and
    after it above / below the gap."""
    before = systems["date"] < pd.Timestamp(params.era_break)
    after = between(systems, params.era_break, params.as_of)
    return {
        "before": before,
        "after": after,
        "above": after & (systems["parameters"] >= params.gap_upper),
        "below": after & (systems["parameters"] <= params.gap_lower),
    }


def _x(day: dt.date) -> float:
    return float(stats.days_since_epoch(np.array([np.datetime64(day.isoformat())]))[0])


# --------------------------------------------------------------------------------------------------
# trends


def trend_summary(systems: pd.DataFrame, start: dt.date | None, end: dt.date, params: AnalysisParams) -> dict:
    """One fit in the paper's units, its bootstrap interval and the fitted scale at the period's ends."""
    x = systems["x_days"].to_numpy()
    y = systems["log10_parameters"].to_numpy()
    fit = stats.fit_trend(x, y)
    if fit.insufficient_data:
        return {"n": fit.n, "insufficient_data": True, "reason": fit.reason}
    boot = stats.bootstrap_slope(x, y, n_resamples=params.n_bootstrap, seed=params.seed)
    start_x = _x(start) if start is not None else float(x.min())
    return {
        "n": fit.n,
        "insufficient_data": False,
        "slope_oom_per_year": fit.slope_oom_per_year,
        "slope_oom_per_year_ci": _interval(boot.slope_oom_per_year),
        "growth_x_per_year": fit.growth_x_per_year,
        "doubling_time_months": fit.doubling_time_months,
        "doubling_time_months_ci": _interval(boot.doubling_time_months),
        "doubling_time_note": boot.reason,
        "r2": fit.r2,
        "residual_sd_log10": fit.residual_sd,
        "period_start": (start or systems["date"].min().date()).isoformat(),
        "period_end": end.isoformat(),
        "fitted_parameters_at_start": 10.0 ** float(fit.log10_size_at(start_x)),
        "fitted_parameters_at_end": 10.0 ** float(fit.log10_size_at(_x(end))),
        "intercept_log10_at_1970": fit.intercept,
        "slope_log10_per_day": fit.slope_per_day,
    }


def _interval(quantiles) -> dict | None:
    if quantiles is None:
        return None
    low, median, high = quantiles
    return {"p2_5": low, "p50": median, "p97_5": high}


def era_trends(systems: pd.DataFrame, params: AnalysisParams) -> dict:
    """The four era fits of the paper's table, for the given (already domain-filtered) systems."""
    periods = {
        "before": (None, params.era_break),
        "after": (params.era_break, params.as_of),
        "above": (params.era_break, params.as_of),
        "below": (params.era_break, params.as_of),
    }
    masks = era_masks(systems, params)
    return {key: trend_summary(systems[masks[role]], *periods[role], params) for role, key in params.era_keys.items()}


def all_trends(systems: pd.DataFrame, params: AnalysisParams) -> dict:
    """The era fits of every domain group."""
    return {group: era_trends(systems[systems[f"in_{group}"]], params) for group in domain_group_names(params)}


# --------------------------------------------------------------------------------------------------
# gap test


def gap_test(
    systems: pd.DataFrame,
    fit_start: dt.date,
    test_start: dt.date,
    end: dt.date,
    params: AnalysisParams,
    inclusive: bool,
) -> dict:
    """The gap test of the report's model on the given systems: trend fitted on [fit_start, end], tested on
    the systems of [test_start, end]; "insufficient data" when the fit or the test set cannot be formed."""
    fitted = systems[between(systems, fit_start, end)]
    tested = systems[between(systems, test_start, end)]
    window = {"fit_start": fit_start.isoformat(), "test_start": test_start.isoformat(), "end": end.isoformat()}
    fit = stats.fit_trend(fitted["x_days"].to_numpy(), fitted["log10_parameters"].to_numpy())
    if fit.insufficient_data or tested.empty or not fit.residual_sd:
        reason = fit.reason or ("no systems in the test window" if tested.empty else "no scatter around the trend")
        return {**window, "n_fit": fit.n, "n_systems": len(tested), "insufficient_data": True, "reason": reason}
    result = stats.gap_test(
        fit,
        tested["x_days"].to_numpy(),
        tested["parameters"].to_numpy(),
        params.gap_lower,
        params.gap_upper,
        inclusive=inclusive,
        n_sims=params.n_simulations,
        seed=params.seed,
    )
    in_gap = stats.in_gap(tested["parameters"], params.gap_lower, params.gap_upper, inclusive)
    return {
        **window,
        "n_fit": fit.n,
        "insufficient_data": False,
        "fit_slope_oom_per_year": fit.slope_oom_per_year,
        "fit_residual_sd_log10": fit.residual_sd,
        **result,
        "significant": result["p_le_observed_exact"] < params.alpha,
        "systems_in_gap": sorted(tested.loc[in_gap, "name"].tolist()),
    }


def gap_tests(systems: pd.DataFrame, params: AnalysisParams) -> dict:
    """The headline gap test for all domains, language only and non-language, inclusive and strict bounds."""
    cases = [(group, bounds) for group in GAP_DOMAINS for bounds in ("inclusive", "strict")]
    tests = in_parallel(
        lambda case: gap_test(
            systems[domain_mask(systems, case[0], params)],
            params.fit_start,
            params.test_window_start,
            params.as_of,
            params,
            inclusive=case[1] == "inclusive",
        ),
        cases,
    )
    results = {group: {} for group in GAP_DOMAINS}
    for (group, bounds), test in zip(cases, tests):
        results[group][bounds] = test
    return results


def in_parallel(function, items: list) -> list:
    """map() on threads: the Monte Carlo's numpy work releases the GIL, and each test has its own seeded
    generator, so results do not depend on scheduling."""
    with ThreadPoolExecutor() as pool:
        return list(pool.map(function, items))


def sliding_windows(params: AnalysisParams) -> list[tuple[dt.date, dt.date]]:
    """Test windows of window_years calendar years, every window_step_years from test_window_start, the last
    one starting no later than as_of (and cut at as_of)."""
    windows = []
    year = params.test_window_start.year
    while dt.date(year, 1, 1) <= params.as_of:
        end = min(dt.date(year + params.window_years - 1, 12, 31), params.as_of)
        windows.append((dt.date(year, 1, 1), end))
        if end == params.as_of:
            break
        year += params.window_step_years
    return windows


def window_tests(systems: pd.DataFrame, params: AnalysisParams) -> dict:
    """The gap test on each sliding window; the trend is fitted from the same lead before the window as the
    headline test (test_window_start - fit_start), so every window is judged like the paper's 2020-2022."""
    lead = params.test_window_start - params.fit_start
    cases = [(group, start, end) for group in WINDOW_DOMAINS for start, end in sliding_windows(params)]
    tests = in_parallel(
        lambda case: gap_test(
            systems[domain_mask(systems, case[0], params)], case[1] - lead, case[1], case[2], params, inclusive=True
        ),
        cases,
    )
    rows = [
        {"domain": group, "window": f"{start.year}-{end.year}", "window_start_year": start.year, **_window_row(test)}
        for (group, start, end), test in zip(cases, tests)
    ]
    return {"rows": rows, "answer": closing_answer(rows, params)}


def _window_row(test: dict) -> dict:
    keys = (
        "fit_start",
        "test_start",
        "end",
        "n_systems",
        "insufficient_data",
        "observed_in_gap",
        "expected_in_gap",
        "p_le_observed_exact",
        "mc_estimate",
        "mc_se",
        "significant",
    )
    return {key: test.get(key) for key in keys}


def closed(before: dict, after: dict) -> bool:
    """The gap closed between two gap tests: significant in the first, no longer in the second. A test without a
    result (insufficient data) is neither."""
    return bool(before.get("significant", False)) and not after.get("significant", True)


def closing_answer(rows: list[dict], params: AnalysisParams) -> dict:
    """Has the gap been closing since 2022? Judged per domain on the share of expected systems observed in the
    gap and on whether the emptiness is still improbable (P(K<=obs) < alpha) in the newest window."""
    answer = {}
    for group in WINDOW_DOMAINS:
        usable = [r for r in rows if r["domain"] == group and not r["insufficient_data"]]
        if len(usable) < 2:
            answer[group] = {"verdict": "insufficient data"}
            continue
        first, last = usable[0], usable[-1]
        ratio = [r["observed_in_gap"] / r["expected_in_gap"] if r["expected_in_gap"] else None for r in (first, last)]
        if closed(first, last):
            verdict = "closed: the newest window's in-gap count is no longer improbable"
        elif not last["significant"]:
            verdict = "no significant gap in the first or the newest window"
        elif ratio[1] is not None and ratio[0] is not None and ratio[1] > ratio[0]:
            verdict = "closing but still significant"
        else:
            verdict = "not closing"
        answer[group] = {
            "verdict": verdict,
            "first_window": first["window"],
            "newest_window": last["window"],
            "observed_over_expected_first": ratio[0],
            "observed_over_expected_newest": ratio[1],
            "p_first": first["p_le_observed_exact"],
            "p_newest": last["p_le_observed_exact"],
            "alpha": params.alpha,
        }
    return answer


# --------------------------------------------------------------------------------------------------
# beyond the paper: break date and clusters


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every month from start's month to end: the candidate break dates."""
    months, year, month = [], start.year, start.month
    while dt.date(year, month, 1) <= end:
        months.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def break_date(systems: pd.DataFrame, params: AnalysisParams) -> tuple[dict, pd.DataFrame]:
    """The best two-segment break over a monthly grid (all domains, all dates), with its profile."""
    candidates = month_starts(params.break_search_start, params.break_search_end)
    profile = stats.break_date_profile(
        systems["x_days"].to_numpy(), systems["log10_parameters"].to_numpy(), [_x(day) for day in candidates]
    )
    table = pd.DataFrame(
        {
            "candidate": [day.isoformat() for day in candidates],
            "decimal_year": stats.decimal_year([day.isoformat() for day in candidates]),
            "rss": profile["rss"],
            "bic": profile["bic"],
        }
    )
    best = None if profile["best_x"] is None else candidates[[_x(d) for d in candidates].index(profile["best_x"])]
    at_assumed = table.loc[table["candidate"] == params.era_break.isoformat(), "bic"]
    summary = {
        "n": profile["n"],
        "grid": f"{candidates[0].isoformat()} to {candidates[-1].isoformat()}, monthly",
        "best_break": best.isoformat() if best else None,
        "best_bic": profile["best_bic"],
        "one_line_bic": profile["one_line_bic"],
        "delta_bic_one_line_minus_best": profile["delta_bic"],
        "assumed_break": params.era_break.isoformat(),
        "bic_at_assumed_break": None if at_assumed.empty or pd.isna(at_assumed.iloc[0]) else float(at_assumed.iloc[0]),
        "reason": profile["reason"],
    }
    if summary["bic_at_assumed_break"] is not None and profile["best_bic"] is not None:
        summary["bic_assumed_minus_best"] = summary["bic_at_assumed_break"] - profile["best_bic"]
    return summary, table


def clusters(systems: pd.DataFrame, params: AnalysisParams) -> dict:
    """One trend vs two clusters for the post-break systems (all domains and language), BIC criterion."""
    after = era_masks(systems, params)["after"]
    split = (math.log10(params.gap_lower) + math.log10(params.gap_upper)) / 2
    results = {}
    for group in WINDOW_DOMAINS:
        members = systems[after & domain_mask(systems, group, params)]
        results[group] = stats.compare_one_trend_vs_two_clusters(
            members["x_days"].to_numpy(),
            members["log10_parameters"].to_numpy(),
            seed=params.seed,
            init_split_log10=split,
        )
    return results


# --------------------------------------------------------------------------------------------------
# process and save


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


def process(models: pd.DataFrame, params: AnalysisParams) -> Analysis:
    """Select the systems, fit the trends, run the gap tests and the beyond-the-paper analyses."""
    systems = select_systems(models, params)
    header = {
        "dataset": dataset_label(models),
        "as_of": params.as_of.isoformat(),
        "n_systems": len(systems),
        "domain_rule": params.domain_rule,
        "gap": [params.gap_lower, params.gap_upper],
    }
    progress(f"analyze: {len(systems)} systems; trend fits with {params.n_bootstrap} bootstrap resamples...")
    trends = {**header, "era_break": params.era_break.isoformat(), "domains": all_trends(systems, params)}
    progress(f"analyze: gap tests with {params.n_simulations:,} simulations each...")
    gap = {**header, "model": GAP_MODEL, "tests": gap_tests(systems, params)}
    progress("analyze: sliding windows...")
    gap["windows"] = window_tests(systems, params)
    progress("analyze: break date and clusters...")
    gap["break_date"], profile = break_date(systems, params)
    gap["clusters"] = clusters(systems, params)
    eras = era_masks(systems, params)
    sizes = systems[["id", "name", "primary_domain", "decimal_year", "parameters", "log10_parameters"]].copy()
    keys = params.era_keys
    sizes["era"] = np.select(
        [eras["before"], eras["above"], eras["below"]], [keys["before"], keys["above"], keys["below"]], "in_gap"
    )
    windows = pd.DataFrame(gap["windows"]["rows"])
    return Analysis(
        trends=trends, gap=gap, plots={"sizes.csv": sizes, "windows.csv": windows, "break_profile.csv": profile}
    )


GAP_MODEL = (
    "log10(parameters) = a + b*t + e, e ~ Normal(0, s^2), fitted by OLS to the domain's systems published from "
    "fit_start to the window end; s is the residual sd (plug-in). Each system i published in the test window "
    "lands in [gap_lower, gap_upper] with probability p_i; the in-gap count K is a sum of independent "
    "Bernoulli(p_i) (Poisson-binomial). P(K <= observed) is computed exactly and by seeded Monte Carlo, which "
    "must agree within 4 standard errors."
)


def save(analysis: Analysis, paths: Paths) -> list[Path]:
    """trends.json and gap.json, and the plot data in the plots folder."""
    texts = {paths.trends: to_json(analysis.trends), paths.gap: to_json(analysis.gap)}
    texts.update({paths.plots_dir / name: frame_to_csv(frame) for name, frame in analysis.plots.items()})
    for path, text in texts.items():
        atomic_write_text(path, text)
    return list(texts)


def run(paths: Paths, params: AnalysisParams) -> Analysis:
    """Load the curated table, analyse it, save the metrics and plot data."""
    analysis = process(contracts.read_curated(paths.models), params)
    save(analysis, paths)
    return analysis
