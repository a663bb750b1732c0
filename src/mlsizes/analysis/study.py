"""The gap study on a table of systems: which systems enter each fit and test, the trend fits, the gap tests,
sliding windows, the break date and the clusters, shaped for storage and diffing. The analyze, history and
reproduce-paper stages all run it; the statistics themselves live in stats.py and clusters.py.

Selection: a system enters when it has a parameter count and a publication date on or before the as-of date
(from params, never today). Domain membership follows `domains.rule`: with `any`, a system belongs to a group
when the group's domain is among its domains (a Language+Vision system is in both); with `primary`, only its
primary domain counts. The `other` group holds the systems in none of the named groups; `all` holds every one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed

import numpy as np
import pandas as pd

from mlsizes.analysis import closing, clusters, montecarlo, scan, stats
from mlsizes.core.settings import AnalysisParams, in_gap

GAP_DOMAINS = ("all", "language", "non_language")
WINDOW_DOMAINS = ("all", "language")


def progress(message: str) -> None:
    """A progress line on stderr (stdout carries the results)."""
    print(message, file=sys.stderr, flush=True)


def finished(what: str, start: float) -> None:
    """A progress line as a long part finishes, with the seconds since `start` (a time.monotonic() reading): a
    stage whose parts take tens of seconds must not look stuck."""
    progress(f"{what} done ({time.monotonic() - start:.0f} s)")


# --------------------------------------------------------------------------------------------------
# selection


# The scale measures a trend can be fitted to: curated column -> its words. Every fit, era and readout is computed
# by the same code for each; the gap test and everything built on it are of parameters.
MEASURES = {
    "parameters": "parameters",
    "training_compute_flop": "training compute (FLOP)",
    "training_dataset_size": "training dataset size (datapoints)",
    "training_cost_usd": "training cost (USD)",
}


def check_measure(measure: str) -> str:
    """The measure's name, or ValueError naming the known ones."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; known: {', '.join(MEASURES)}")
    return measure


def select_systems(models: pd.DataFrame, params: AnalysisParams, measure: str = "parameters") -> pd.DataFrame:
    """Systems with a positive value of the measure published on or before as_of, with the columns every fit needs
    (`log10_<measure>` among them; curate has already left out the systems Epoch does not count as notable, as
    not_notable rejects)."""
    check_measure(measure)
    dates = pd.to_datetime(models["publication_date"], format="%Y-%m-%d")
    keep = models[measure].notna() & (models[measure] > 0) & (dates <= pd.Timestamp(params.as_of))
    columns = list(
        dict.fromkeys(["id", "name", "domains", "primary_domain", "publication_date", "parameters", measure])
    )
    systems = models.loc[keep, columns].copy()
    # organisations cluster the count tests (the first one named); a system with none is a cluster of its own
    organization = models.loc[keep, "organization"] if "organization" in models else pd.Series("", index=systems.index)
    first = organization.fillna("").astype(str).str.split(",").str[0].str.strip()
    systems["cluster"] = first.where(first != "", "id:" + systems["id"].astype(str))
    systems["date"] = dates[keep]
    systems["x_days"] = stats.days_since_epoch(systems["date"].to_numpy())
    systems[f"log10_{measure}"] = np.log10(systems[measure].to_numpy(dtype=float))
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
    inside = in_gap(systems["parameters"], params.gap_lower, params.gap_upper, params.inclusive)
    return {
        "before": before,
        "after": after,
        "above": after & ~inside & (systems["parameters"] >= params.gap_upper),
        "below": after & ~inside & (systems["parameters"] <= params.gap_lower),
    }


def _x(day: dt.date) -> float:
    return float(stats.days_since_epoch(np.array([np.datetime64(day.isoformat())]))[0])


# --------------------------------------------------------------------------------------------------
# trends


def trend_summary(
    systems: pd.DataFrame, start: dt.date | None, end: dt.date, params: AnalysisParams, measure: str = "parameters"
) -> dict:
    """One fit of a measure (select_systems' `log10_<measure>`) in the paper's units, its bootstrap interval and
    the fitted scale at the period's ends."""
    x = systems["x_days"].to_numpy()
    y = systems[f"log10_{check_measure(measure)}"].to_numpy()
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
        f"fitted_{measure}_at_start": 10.0 ** float(fit.log10_size_at(start_x)),
        f"fitted_{measure}_at_end": 10.0 ** float(fit.log10_size_at(_x(end))),
        "intercept_log10_at_1970": fit.intercept,
        "slope_log10_per_day": fit.slope_per_day,
    }


def _interval(quantiles) -> dict | None:
    if quantiles is None:
        return None
    low, median, high = quantiles
    return {"p2_5": low, "p50": median, "p97_5": high}


def era_trends(systems: pd.DataFrame, params: AnalysisParams, measure: str = "parameters") -> dict:
    """The era fits of the paper's table for the given (already domain-filtered) systems: before and after the
    break for every measure, and above / below the parameter gap for parameters (the gap is a parameter band)."""
    periods = {
        "before": (None, params.era_break),
        "after": (params.era_break, params.as_of),
        "above": (params.era_break, params.as_of),
        "below": (params.era_break, params.as_of),
    }
    masks = era_masks(systems, params)
    roles = params.era_keys
    if measure != "parameters":
        roles = {role: key for role, key in roles.items() if role in ("before", "after")}
    return {key: trend_summary(systems[masks[role]], *periods[role], params, measure) for role, key in roles.items()}


def all_trends(systems: pd.DataFrame, params: AnalysisParams, measure: str = "parameters") -> dict:
    """The era fits of every domain group."""
    return {group: era_trends(systems[systems[f"in_{group}"]], params, measure) for group in domain_group_names(params)}


# --------------------------------------------------------------------------------------------------
# gap test

# The sensitivity table moves each bound by these factors (the bounds were read off the data, so a result that
# holds only at the exact bounds is fragile).
SENSITIVITY_FACTORS = (0.9, 1.0, 1.1)


def gap_test(
    systems: pd.DataFrame,
    fit_start: dt.date,
    test_start: dt.date,
    end: dt.date,
    params: AnalysisParams,
    *,
    inclusive: bool | None = None,
    extended: bool = False,
) -> dict:
    """The gap test of the report's model on the given systems: trend fitted on [fit_start, end], tested on
    the systems of [test_start, end], with the params' bounds convention unless told otherwise; "insufficient
    data" when the fit or the test set cannot be formed.

    `probabilities` (each tested system's chance to land in the gap) is kept in memory for the change test and
    dropped before storing. With `extended`, the test also carries the look-elsewhere (scan) correction, the
    posterior-predictive P and the out-of-sample P (see GAP_MODEL).
    """
    inclusive = params.inclusive if inclusive is None else inclusive
    fitted = systems[between(systems, fit_start, end)]
    tested = systems[between(systems, test_start, end)]
    window = {"fit_start": fit_start.isoformat(), "test_start": test_start.isoformat(), "end": end.isoformat()}
    fit = stats.fit_trend(fitted["x_days"].to_numpy(), fitted["log10_parameters"].to_numpy())
    if fit.insufficient_data or tested.empty or not fit.residual_sd:
        reason = fit.reason or ("no systems in the test window" if tested.empty else "no scatter around the trend")
        return {**window, "n_fit": fit.n, "n_systems": len(tested), "insufficient_data": True, "reason": reason}
    x_test, sizes = tested["x_days"].to_numpy(), tested["parameters"].to_numpy()
    result = stats.gap_test(
        fit,
        x_test,
        sizes,
        params.gap_lower,
        params.gap_upper,
        inclusive=inclusive,
        n_sims=params.n_simulations,
        seed=params.seed,
    )
    inside = in_gap(tested["parameters"], params.gap_lower, params.gap_upper, inclusive)
    probabilities = stats.gap_probabilities(fit, x_test, params.gap_lower, params.gap_upper)
    clustering = closing.design_effect(inside.to_numpy(), probabilities, tested["cluster"].to_numpy())
    test = {
        **window,
        "n_fit": fit.n,
        "insufficient_data": False,
        "fit_slope_oom_per_year": fit.slope_oom_per_year,
        "fit_residual_sd_log10": fit.residual_sd,
        **result,
        "mc_interval": list(montecarlo.clopper_pearson(result["mc_hits"], result["mc_n_sims"])),
        "significant": result["p_le_observed_exact"] < params.alpha,
        "systems_in_gap": sorted(tested.loc[inside, "name"].tolist()),
        "design_effect": clustering["design_effect"],
        "p_clustered": closing.clustered_p(result["observed_in_gap"], probabilities, clustering["design_effect_used"]),
        "clustering": clustering,
        "probabilities": probabilities,
    }
    if extended:
        test.update(robustness(fitted, tested, test_start, params, inclusive))
    return test


def robustness(
    fitted: pd.DataFrame, tested: pd.DataFrame, test_start: dt.date, params: AnalysisParams, inclusive: bool
) -> dict:
    """The answers to a referee's doubts about the local P: the bounds were chosen after looking (the scan over
    positions), the scatter may not be normal (every simulated P under three nulls: normal, the residuals
    resampled, Student t), the trend's parameters are estimates (posterior predictive) and the tested systems
    are in the fit (out of sample, with the early fit's uncertainty)."""
    x_fit, y_fit = fitted["x_days"].to_numpy(), fitted["log10_parameters"].to_numpy()
    bounds = (params.gap_lower, params.gap_upper)
    simulated = simulated_tests(x_fit, y_fit, fitted["date"].ge(pd.Timestamp(test_start)).to_numpy(), params, inclusive)
    posterior = stats.posterior_predictive_p(
        x_fit,
        y_fit,
        tested["x_days"].to_numpy(),
        tested["parameters"].to_numpy(),
        *bounds,
        inclusive=inclusive,
        n_draws=params.n_posterior_draws,
        seed=params.seed,
    )
    before = fitted[fitted["date"] < pd.Timestamp(test_start)]
    out_of_sample = stats.posterior_predictive_p(
        before["x_days"].to_numpy(),
        before["log10_parameters"].to_numpy(),
        tested["x_days"].to_numpy(),
        tested["parameters"].to_numpy(),
        *bounds,
        inclusive=inclusive,
        n_draws=params.n_posterior_draws,
        seed=params.seed,
    )
    out_of_sample["n_fit"] = len(before)
    return {
        "p_scan_corrected": simulated.get("scan", {}).get("normal", {}).get("p"),
        "p_posterior_predictive": posterior.get("p_posterior_predictive"),
        "p_out_of_sample": out_of_sample.get("p_posterior_predictive"),
        "p_out_of_sample_plug_in": out_of_sample.get("p_plug_in"),
        "simulated": simulated,
        "posterior_predictive": posterior,
        "out_of_sample": out_of_sample,
    }


SCAN_STATISTIC = (
    "z of the in-gap count against its Poisson-binomial mean and variance (continuity corrected), trend re-fitted "
    "on every simulated data set; scan: the smallest z over window lower edges every {step:g} dex from 1e6 to 1e13 "
    "(as wide as the gap) and the chosen window"
)


def simulated_tests(x_fit, y_fit, tested_mask, params: AnalysisParams, inclusive: bool) -> dict:
    """The chosen window (local) and the scan over positions, each P simulated under the three nulls (scan.NULLS),
    sequentially: the normal null's scan P is resolved within the params' factor, the others placed against
    alpha. Returns {"statistic", "observed_z", "local": {null: P}, "scan": {null: P}, "normal_only"}."""
    fit = stats.fit_trend(x_fit, y_fit)
    if fit.insufficient_data or not fit.residual_sd or not tested_mask.any():
        return {"insufficient_data": True, "reason": fit.reason or "no systems tested or no scatter"}
    windows = scan.Windows.build(params.gap_lower, params.gap_upper, inclusive, grid_step_dex=params.scan_grid_step_dex)
    everyone = np.arange(x_fit.size)
    groups = [scan.Group("g", everyone, tested_mask)]
    out = {"statistic": SCAN_STATISTIC.format(step=params.scan_grid_step_dex), "local": {}, "scan": {}, "anywhere": {}}
    for kind in scan.NULLS:
        null = scan.NullModel.fit(x_fit, y_fit, [everyone], kind, params.heavy_tail_df)
        result = scan.family_p(
            x_fit,
            y_fit,
            groups,
            windows,
            null,
            alpha=params.alpha,
            first_batch=params.mc_first_batch,
            max_n=params.mc_max_scan,
            seed=params.seed,
            resolve=("g/scan",) if kind == "normal" else (),
            watch=("g/local", "g/scan"),
        )
        out["observed_z"] = result["observed"]["g/local"]
        out["local"][kind] = result["p"]["g/local"]
        out["scan"][kind] = result["p"]["g/scan"]
        out["anywhere"][kind] = result["p"]["g/anywhere"]
        out["observed_z_anywhere"] = result["observed"]["g/anywhere"]
    out["normal_only"] = normal_only(out["scan"])
    return out


def normal_only(by_null: dict) -> bool:
    """A verdict that holds only under normal scatter: below alpha under the normal null, not under another."""
    return by_null["normal"]["side"] == "below" and any(r["side"] != "below" for r in by_null.values())


def analyst_periods(params: AnalysisParams) -> list[tuple[str, dt.date, dt.date, dt.date]]:
    """The periods an analyst could have tested, as (label, fit_start, test_start, end): the headline period and
    every sliding window, each fitted from the same lead before its test start (the windows' convention)."""
    lead = params.test_window_start - params.fit_start
    periods = [("headline", params.fit_start, params.test_window_start, params.as_of)]
    for start, end in sliding_windows(params):
        if (start, end) != (params.test_window_start, params.as_of):
            periods.append((f"{start.year}-{end.year}", start - lead, start, end))
    return periods


def family_scan(systems: pd.DataFrame, params: AnalysisParams, stage: str | None = None) -> dict:
    """One scan over every choice the analyst made: window position, width (params' range and the gap's own),
    bound convention (covered by the strict scan, see analysis/scan.py), domain group (GAP_DOMAINS) and period
    (analyst_periods: the headline period and every sliding window), on one joint data set; each group x period
    is re-fitted on every simulated data set. The null gives language and the other systems their own trend over
    the joint span, scattered normally, with their residuals resampled, or Student t (scan.NULLS); each headline
    group's chosen window gets a family-wide P under each (keys "p", "p_anywhere", "p_quote": the normal null's)."""
    periods = analyst_periods(params)
    joint = systems[between(systems, min(p[1] for p in periods), params.as_of)].reset_index(drop=True)
    language = domain_mask(joint, "language", params).to_numpy()
    members = {"all": np.ones(len(joint), dtype=bool), "language": language, "non_language": ~language}
    x, y = joint["x_days"].to_numpy(), joint["log10_parameters"].to_numpy()
    groups = []
    for label, fit_start, test_start, end in periods:
        in_period = between(joint, fit_start, end).to_numpy()
        tested = joint["date"].ge(pd.Timestamp(test_start)).to_numpy()
        for name in GAP_DOMAINS:
            index = np.flatnonzero(members[name] & in_period)
            fit = stats.fit_trend(x[index], y[index])
            if not fit.insufficient_data and fit.residual_sd and tested[index].any():
                groups.append(scan.Group(name if label == "headline" else f"{name}@{label}", index, tested[index]))
            elif label == "headline":
                return {
                    "insufficient_data": True,
                    "reason": f"{name}: {fit.reason or 'no systems tested or no scatter'}",
                }
    windows = scan.Windows.build(
        params.gap_lower,
        params.gap_upper,
        params.inclusive,
        widths=params.family_widths_dex,
        grid_step_dex=params.scan_grid_step_dex,
    )

    start = time.monotonic()

    def under(kind: str) -> dict:
        null = scan.NullModel.fit(
            x, y, [np.flatnonzero(language), np.flatnonzero(~language)], kind, params.heavy_tail_df
        )
        result = scan.family_p(
            x,
            y,
            groups,
            windows,
            null,
            alpha=params.alpha,
            first_batch=params.mc_first_batch,
            max_n=params.mc_max_family,
            seed=params.seed,
            family=True,
            resolve=(),
            watch=tuple(f"family/{name}" for name in GAP_DOMAINS),
        )
        if stage:
            finished(f"{stage}: family-wide scan, {kind} null", start)
        return result

    results = dict(zip(scan.NULLS, in_parallel(under, list(scan.NULLS))))
    by_null = {
        kind: {
            "p": {g.name: result["p"][f"family/{g.name}"] for g in groups},
            "p_anywhere": result["p"]["family/anywhere"],
        }
        for kind, result in results.items()
    }
    normal = results["normal"]
    p = by_null["normal"]["p"]
    quote = min(GAP_DOMAINS, key=lambda name: normal["observed"][f"{name}/local"])
    return {
        "insufficient_data": False,
        "family": {
            "positions": f"lower edges every {params.scan_grid_step_dex:g} dex from 1e6 to 1e13",
            "widths_dex": list(windows.widths),
            "bounds": ["strict", "inclusive"],
            "domain_groups": list(GAP_DOMAINS),
            "periods": [
                {"label": label, "fit_start": f.isoformat(), "test_start": t.isoformat(), "end": e.isoformat()}
                for label, f, t, e in periods
            ],
            "period": f"fit {params.fit_start.isoformat()} on, tested {params.test_window_start.isoformat()} on, "
            "and every sliding window",
            "n_groups": len(groups),
        },
        "null": "language and the other systems each around their own trend over the joint span; p and p_quote: "
        "normal scatter; by_null: also their residuals resampled and Student t scatter",
        "statistic": SCAN_STATISTIC.format(step=params.scan_grid_step_dex),
        "observed_z": {g.name: normal["observed"][f"{g.name}/local"] for g in groups},
        "p": {name: p[name] for name in GAP_DOMAINS},
        "p_anywhere": by_null["normal"]["p_anywhere"],
        "quote": quote,
        "p_quote": p[quote],
        "by_null": by_null,
        "normal_only": normal_only({kind: by_null[kind]["p"][quote] for kind in scan.NULLS}),
    }


def stored(test: dict) -> dict:
    """A gap test as stored: without the in-memory probabilities."""
    return {key: value for key, value in test.items() if key != "probabilities"}


def gap_tests(systems: pd.DataFrame, params: AnalysisParams, stage: str | None = None) -> dict:
    """The headline gap test for all domains, language only and non-language, with the params' bounds
    convention and its robustness checks; with `stage`, a progress line as each domain's test finishes (each
    takes seconds)."""
    start = time.monotonic()

    def test(group: str) -> dict:
        members = systems[domain_mask(systems, group, params)]
        result = gap_test(members, params.fit_start, params.test_window_start, params.as_of, params, extended=True)
        if stage:
            finished(f"{stage}: gap test, {group}", start)
        return result

    tests = in_parallel(test, list(GAP_DOMAINS))
    return {group: stored(test) for group, test in zip(GAP_DOMAINS, tests)}


def sensitivity(systems: pd.DataFrame, params: AnalysisParams) -> list[dict]:
    """The local P of the headline tests with each bound moved by SENSITIVITY_FACTORS, under both conventions
    (exact P only: the trend does not depend on the bounds, so it is fitted once per domain)."""
    rows = []
    for group in GAP_DOMAINS:
        members = systems[domain_mask(systems, group, params)]
        fitted = members[between(members, params.fit_start, params.as_of)]
        tested = members[between(members, params.test_window_start, params.as_of)]
        fit = stats.fit_trend(fitted["x_days"].to_numpy(), fitted["log10_parameters"].to_numpy())
        usable = not fit.insufficient_data and fit.residual_sd and not tested.empty
        for lower_factor in SENSITIVITY_FACTORS:
            for upper_factor in SENSITIVITY_FACTORS:
                lower, upper = lower_factor * params.gap_lower, upper_factor * params.gap_upper
                p = stats.gap_probabilities(fit, tested["x_days"].to_numpy(), lower, upper) if usable else None
                for convention in ("strict", "inclusive"):
                    observed = (
                        stats.count_in_gap(tested["parameters"].to_numpy(), lower, upper, convention == "inclusive")
                        if usable
                        else None
                    )
                    rows.append(
                        {
                            "domain": group,
                            "lower": lower,
                            "upper": upper,
                            "bounds": convention,
                            "chosen": lower_factor == upper_factor == 1.0 and convention == params.bounds,
                            "observed": observed,
                            "expected": float(p.sum()) if usable else None,
                            "p": stats.poisson_binomial_cdf(p, observed) if usable else None,
                        }
                    )
    return rows


def side_by_side(parts: dict, systems: pd.DataFrame, params: AnalysisParams, stage: str = "analyze") -> dict:
    """Run independent parts of the analysis in a pool of processes, one per part, and collect their results.

    Each part has its own seeded generators, so the results do not depend on where or in which order they run.
    Processes, not threads: the scan correction and the cluster bootstrap are mostly Python-level work that
    holds the GIL (threads ran them one after the other). The systems table (a few thousand rows) is pickled.
    A progress line names each part as it finishes.
    """
    start = time.monotonic()
    done = {}
    with ProcessPoolExecutor(max_workers=len(parts)) as pool:
        pending = {pool.submit(part, systems, params): name for name, part in parts.items()}
        for work in as_completed(pending):
            done[pending[work]] = work.result()
            finished(f"{stage}: {pending[work]}", start)
    return {name: done[name] for name in parts}


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


WINDOW_KEYS = (
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
    "design_effect",
    "p_clustered",
)


def window_tests(systems: pd.DataFrame, params: AnalysisParams) -> dict:
    """The gap test on each sliding window; the trend is fitted from the same lead before the window as the
    headline test (test_window_start - fit_start), so every window is judged like the paper's 2020-2022. The
    windows of a domain are one family: a window's deficit counts only when it survives Holm's correction."""
    lead = params.test_window_start - params.fit_start
    cases = [(group, start, end) for group in WINDOW_DOMAINS for start, end in sliding_windows(params)]
    checked = dataclasses.replace(params, n_simulations=params.n_window_simulations)
    tests = in_parallel(
        lambda case: gap_test(
            systems[domain_mask(systems, case[0], params)], case[1] - lead, case[1], case[2], checked
        ),
        cases,
    )
    rows = [
        {
            "domain": group,
            "window": f"{start.year}-{end.year}",
            "window_start_year": start.year,
            **{key: test.get(key) for key in WINDOW_KEYS},
        }
        for (group, start, end), test in zip(cases, tests)
    ]
    for group in WINDOW_DOMAINS:
        family = [row for row in rows if row["domain"] == group]
        for row, rejected in zip(family, stats.holm([row["p_le_observed_exact"] for row in family], params.alpha)):
            row["significant_holm"] = rejected
    return {
        "bounds": params.bounds,
        "multiple_testing": f"Holm over each domain's windows at alpha = {params.alpha:g}",
        "rows": rows,
        "answer": closing_tests(systems, params),
    }


def closing_tests(systems: pd.DataFrame, params: AnalysisParams) -> dict:
    """Has the gap closed? Asked only of the systems published from params.closing_after on (the bounds were fixed
    on the paper's data by then), against the trend fitted on fit_start..closing_after without them: a question
    put before its data were seen. closing.ratio_test gives the verdict from the observed/expected ratio, with
    the count's variance widened by the organisations' design effect and the expectation's own uncertainty (the
    early fit's posterior); the ratio is also given under the empirical and the Student t scatter."""
    answer = {}
    lo, hi = params.gap_lower, params.gap_upper
    for group in WINDOW_DOMAINS:
        members = systems[domain_mask(systems, group, params)]
        early = members[
            (members["date"] >= pd.Timestamp(params.fit_start)) & (members["date"] < pd.Timestamp(params.closing_after))
        ]
        late = members[between(members, params.closing_after, params.as_of)]
        x_early, y_early = early["x_days"].to_numpy(), early["log10_parameters"].to_numpy()
        fit = stats.fit_trend(x_early, y_early)
        after, as_of = params.closing_after.isoformat(), params.as_of.isoformat()
        # data that end before the bounds were fixed (the paper's own snapshot) cannot answer the question yet
        answerable = params.as_of >= params.closing_after
        period = f"{after} to {as_of}" if answerable else f"from {after} on"
        head = {
            "question": f"systems published {period} against the trend fitted on {params.fit_start.isoformat()} "
            f"to {after} without them",
            "n_fit": len(early),
            "n_systems": len(late),
        }
        if fit.insufficient_data or not fit.residual_sd or late.empty:
            empty = "no systems published after the bounds were fixed"
            if not answerable:
                empty = f"the data end on {as_of}, before the bounds were fixed ({after}): nothing to test yet"
            reason = fit.reason or (empty if late.empty else "no scatter")
            answer[group] = {**head, "insufficient_data": True, "verdict": "insufficient data", "reason": reason}
            continue
        x_late = late["x_days"].to_numpy()
        p = stats.gap_probabilities(fit, x_late, lo, hi)
        inside = in_gap(late["parameters"], lo, hi, params.inclusive).to_numpy()
        clustering = closing.design_effect(inside, p, late["cluster"].to_numpy())
        draws = expected_draws(x_early, y_early, x_late, params)
        test = closing.ratio_test(
            int(inside.sum()),
            p,
            float(draws.var(ddof=1)),
            clustering["design_effect_used"],
            alpha=params.alpha,
            meaningful_ratio=params.closing_ratio,
        )
        residuals = y_early - fit.log10_size_at(x_early)
        scatter = {
            "bootstrap": scan.empirical_probabilities(fit.log10_size_at(x_late), residuals, lo, hi),
            "t": scan.t_probabilities(fit.log10_size_at(x_late), fit.residual_sd, params.heavy_tail_df, lo, hi),
        }
        under = {}
        for kind, probs in scatter.items():
            scale = (probs.sum() / p.sum()) ** 2  # the expectation's uncertainty, in proportion
            other = closing.ratio_test(
                int(inside.sum()),
                probs,
                float(draws.var(ddof=1)) * scale,
                clustering["design_effect_used"],
                alpha=params.alpha,
                meaningful_ratio=params.closing_ratio,
            )
            under[kind] = {key: other.get(key) for key in ("expected_in_gap", "ratio", "interval", "verdict")}
        answer[group] = {
            **head,
            **test,
            "design_effect": clustering["design_effect"],
            "clustering": clustering,
            "systems_in_gap": sorted(late.loc[inside, "name"].tolist()),
            "under_other_scatter": under,
            "normal_only": test["verdict"] != "inconclusive"
            and any(u["verdict"] != test["verdict"] for u in under.values()),
        }
    return answer


def expected_draws(x_fit, y_fit, x_test, params: AnalysisParams) -> np.ndarray:
    """The expected in-gap count of the tested dates under draws of the fit's posterior (stats.posterior_draws)."""
    level, slope, sd, x_mean = stats.posterior_draws(x_fit, y_fit, params.n_posterior_draws, params.seed)
    mu = level[:, None] + slope[:, None] * (np.asarray(x_test) - x_mean)
    bounds = (math.log10(params.gap_lower), math.log10(params.gap_upper))
    return stats._interval_probabilities(mu, sd[:, None], *bounds).sum(axis=1)


QQ_POINTS = 41  # quantile pairs stored per era for the Q-Q figure


def model_check(systems: pd.DataFrame, params: AnalysisParams) -> dict:
    """Does the log-normal trend model fit? Per domain (WINDOW_DOMAINS) and era (before and after the break):
    skewness, excess kurtosis and the Jarque-Bera test of normal residuals (stats.normality_test), and the Q-Q
    pairs (normal quantiles against standardised residual quantiles) the report draws."""
    out = {}
    for group in WINDOW_DOMAINS:
        members = systems[domain_mask(systems, group, params)]
        masks = era_masks(members, params)
        out[group] = {}
        for role in ("before", "after"):
            era = members[masks[role]]
            x, y = era["x_days"].to_numpy(), era["log10_parameters"].to_numpy()
            fit = stats.fit_trend(x, y)
            if fit.insufficient_data or not fit.residual_sd:
                out[group][params.era_keys[role]] = {"n": len(era), "insufficient_data": True}
                continue
            residuals = (y - fit.log10_size_at(x)) / fit.residual_sd
            levels = (np.arange(QQ_POINTS) + 0.5) / QQ_POINTS
            out[group][params.era_keys[role]] = {
                "n": len(era),
                "insufficient_data": False,
                **stats.normality_test(residuals),
                "normal_fits": stats.normality_test(residuals)["p"] >= params.alpha,
                "qq_normal": [float(q) for q in stats.normal_quantiles(levels)],
                "qq_residual": [float(q) for q in np.quantile(residuals, levels)],
            }
    return out


def deficit_bands(systems: pd.DataFrame, params: AnalysisParams) -> dict:
    """How many size bands as wide as the gap have a deficit in the headline test (fit from fit_start, tested
    from test_window_start), against how many each null gives (scan.band_deficits), per domain (WINDOW_DOMAINS):
    a log-normal trend that fits empties about alpha of the bands by chance; many more say the model, not the
    gap, is at fault."""
    windows = scan.Windows.build(params.gap_lower, params.gap_upper, params.inclusive)
    out = {}
    for name in WINDOW_DOMAINS:
        members = systems[domain_mask(systems, name, params)]
        fitted = members[between(members, params.fit_start, params.as_of)]
        x, y = fitted["x_days"].to_numpy(), fitted["log10_parameters"].to_numpy()
        tested = fitted["date"].ge(pd.Timestamp(params.test_window_start)).to_numpy()
        fit = stats.fit_trend(x, y)
        if fit.insufficient_data or not fit.residual_sd or not tested.any():
            out[name] = {"insufficient_data": True, "reason": fit.reason or "no systems tested or no scatter"}
            continue
        everyone = np.arange(x.size)
        group = scan.Group(name, everyone, tested)
        out[name] = {"insufficient_data": False}
        for kind in scan.NULLS:
            null = scan.NullModel.fit(x, y, [everyone], kind, params.heavy_tail_df)
            out[name][kind] = scan.band_deficits(
                x,
                y,
                group,
                windows,
                null,
                alpha=params.alpha,
                first_batch=params.mc_first_batch,
                max_n=params.mc_max_family,
                seed=params.seed,
            )
    return out


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


def cluster_analysis(systems: pd.DataFrame, params: AnalysisParams) -> dict:
    """Two clusters or one trend after the break (all domains and language): the mixture-vs-one-trend comparison
    with admissible components only, and the paper's own question tested directly (a split at the gap)."""
    after = era_masks(systems, params)["after"]
    split = (math.log10(params.gap_lower) + math.log10(params.gap_upper)) / 2

    def analysed(group: str) -> dict:
        members = systems[after & domain_mask(systems, group, params)]
        x, y = members["x_days"].to_numpy(), members["log10_parameters"].to_numpy()
        return {
            **clusters.compare_one_trend_vs_two_clusters(x, y, seed=params.seed, init_split_log10=split),
            "split_at_gap": clusters.split_at_gap_test(
                x,
                y,
                params.gap_lower,
                params.gap_upper,
                n_boot=params.mc_max_split,
                seed=params.seed,
                alpha=params.alpha,
                n_starts=params.split_starts,
                max_iter=params.split_iterations,
            ),
        }

    return dict(zip(WINDOW_DOMAINS, in_parallel(analysed, list(WINDOW_DOMAINS))))


# --------------------------------------------------------------------------------------------------
# process and save
