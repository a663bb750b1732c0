"""The gap atlas: every band of every measure, domain group and test window scored at once, with one correction for
all the looking and a model check beside every deficit.

The paper's gap was found by eye and then tested on the bounds that had been seen. The atlas asks the question the
eye asked, of everything: for each measure (parameters, training compute, dataset size), domain group, test window,
band width and band position, how many tested systems lie strictly inside the band against how many the trend
expects (each system's chance from the normal scatter around the group's trend fitted on the window), and the exact
local P = P(K <= observed) (Poisson-binomial). Cells are ranked by the scan engine's statistic z (the count
against its Poisson-binomial mean and variance, continuity corrected, scan.z_statistic), which is what the
correction simulates.

The corrected P of the atlas minimum: the whole atlas is simulated under a null (each measure's sizes scattered
around one trend for language and one for the other systems, normal scatter or the trend's own residuals
resampled), every group's trend re-fitted on every simulated data set exactly as on the data, and the smallest z of
the simulated atlas compared with the data's (montecarlo.sequential: (hits + 1) / (n + 1) with its interval).
Measures are simulated independently: real measures are positively correlated, which makes the true minimum less
extreme than under independence, so the correction errs conservative.

The model check (model_check, reading): a deficit is read as a gap only when it is the one deficit of its series
(measure, group, window) and the trend around it fits (normal residuals, tails as thick as the trend says);
several separate deficits, or a deficit in a tail the residuals show too thin or too heavy, say that the trend
model is wrong there, not that systems avoid a band.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from mlsizes.analysis import montecarlo, scan, stats, study
from mlsizes.core.settings import AnalysisParams, AtlasParams

EDGE_DECIMALS = 9  # band edges and log sizes compared at 1e-9 dex: a round size (7e10) sits exactly on its edge
TAIL_SD = 2.0  # the model check's tails: residuals beyond 2 sd of the trend
PROGRESS_EVERY_SECONDS = 5  # the longest a batch of simulated atlases goes without a line
MIN_TESTED = 10  # a series with fewer tested systems is reported as insufficient, not scanned
STATISTIC = (
    "z of the in-band count against its Poisson-binomial mean and variance (continuity corrected), strict bounds; "
    "the atlas minimum is the smallest z over every measure, domain group, test window, band width and position"
)


@dataclass(frozen=True)
class Series:
    """One measure, domain group and test window: the systems its trend is fitted on (indices into the measure's
    joint data) and which of them are tested."""

    measure: str
    group: str
    window: str
    fit: np.ndarray
    tested: np.ndarray


@dataclass(frozen=True)
class MeasureData:
    """One measure's joint data (every system with the measure, published from the earliest fit start to as_of),
    its series, its band grid (lower edges) and its null's components (language, the rest)."""

    measure: str
    systems: pd.DataFrame
    x: np.ndarray
    y: np.ndarray
    series: tuple[Series, ...]
    skipped: dict
    edges: np.ndarray
    components: tuple[np.ndarray, ...]


def widths(settings: AtlasParams, params: AnalysisParams) -> tuple[float, ...]:
    """The band widths: the grid from settings and the paper's own gap width."""
    paper = round(math.log10(params.gap_upper) - math.log10(params.gap_lower), EDGE_DECIMALS)
    return tuple(sorted({*settings.widths_dex, paper}))


def _membership(systems: pd.DataFrame, group: str, params: AnalysisParams) -> np.ndarray:
    """A domain group's members: the study's groups by its rule, any other name a domain among a system's
    domains."""
    if group in ("all", "non_language", *params.domain_groups):
        return study.domain_mask(systems, group, params).to_numpy(dtype=bool)
    return systems["domains"].fillna("").str.split(",").apply(lambda names: group in names).to_numpy(dtype=bool)


def domain_groups(models: pd.DataFrame, settings: AtlasParams, params: AnalysisParams) -> list[str]:
    """The settings' groups, then every domain with at least settings.min_domain_systems systems published in
    the earliest test window (with any measure), by size."""
    start = min(test for _, test in settings.windows.values())
    dates = pd.to_datetime(models["publication_date"], format="%Y-%m-%d")
    recent = models[(dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(params.as_of))]
    counts = recent["domains"].fillna("").str.split(",").explode().str.strip().value_counts()
    named = {name.lower() for name in params.domain_groups.values()}
    extra = [d for d, n in counts.items() if d and n >= settings.min_domain_systems and d.lower() not in named]
    return [*settings.groups, *sorted(extra, key=lambda d: (-counts[d], d))]


def measure_data(models: pd.DataFrame, measure: str, settings: AtlasParams, params: AnalysisParams) -> MeasureData:
    """Select one measure's systems and lay out its series and band grid (lower edges every step, on a grid
    through the paper's lower bound, from a width below the smallest size to a dex above the largest)."""
    first = min(fit for fit, _ in settings.windows.values())
    dates = pd.to_datetime(models["publication_date"], format="%Y-%m-%d")
    values = pd.to_numeric(models[measure], errors="coerce")
    keep = values.gt(0) & (dates >= pd.Timestamp(first)) & (dates <= pd.Timestamp(params.as_of))
    systems = models.loc[keep, ["id", "name", "domains", "primary_domain"]].copy()
    systems["date"] = dates[keep]
    systems = systems.assign(value=values[keep]).sort_values(["date", "id"], kind="stable").reset_index(drop=True)
    x = stats.days_since_epoch(systems["date"].to_numpy())
    y = np.round(np.log10(systems["value"].to_numpy(dtype=float)), EDGE_DECIMALS)
    series, skipped = [], {}
    for group in domain_groups(models, settings, params):
        member = _membership(systems, group, params)
        for window, (fit_start, test_start) in settings.windows.items():
            fit = np.flatnonzero(member & (systems["date"] >= pd.Timestamp(fit_start)).to_numpy())
            tested = (systems["date"].to_numpy()[fit] >= np.datetime64(test_start)) if fit.size else fit.astype(bool)
            trend = stats.fit_trend(x[fit], y[fit]) if fit.size else None
            if trend is None or trend.insufficient_data or not trend.residual_sd or tested.sum() < MIN_TESTED:
                skipped[f"{group}/{window}"] = f"{int(tested.sum())} tested systems, {fit.size} fitted"
                continue
            series.append(Series(measure, group, window, fit, tested))
    language = _membership(systems, "language", params)
    components = tuple(c for c in (np.flatnonzero(language), np.flatnonzero(~language)))
    if min(c.size for c in components) < settings.min_component_systems:
        components = (np.arange(len(systems)),)
    anchor = math.log10(params.gap_lower)
    lo = math.floor((y.min() - max(widths(settings, params)) - anchor) / settings.step_dex) if y.size else 0
    hi = math.ceil((y.max() + 1.0 - anchor) / settings.step_dex) if y.size else 0
    edges = np.round(anchor + settings.step_dex * np.arange(lo, hi + 1), EDGE_DECIMALS)
    return MeasureData(measure, systems, x, y, tuple(series), skipped, edges, components)


# --------------------------------------------------------------------------------------------------
# the cells of the data


def _local_p(p: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Exact P(K <= k) per row (Poisson-binomial), by the cheaper side: stats._cdf_rows on the hits when k is below
    the mean, else one minus the chance of more than k hits (the misses' lower tail), exact where it matters (a
    P near one loses digits it does not need)."""
    expected = p.sum(axis=1)
    low = k < expected
    out = np.empty(k.size)
    out[low] = stats._cdf_rows(p[low], k[low])
    high = ~low
    out[high] = 1.0 - stats._cdf_rows(1.0 - p[high], p.shape[1] - k[high] - 1)
    return np.clip(out, 0.0, 1.0)


def series_cells(data: MeasureData, s: Series, band_widths) -> pd.DataFrame:
    """Every band of one series: observed (strict), expected, z, the exact local P and where the band lies
    against the trend (its centre's mean standardised offset from the tested systems' fitted sizes)."""
    fit = stats.fit_trend(data.x[s.fit], data.y[s.fit])
    x_t, y_t = data.x[s.fit][s.tested], data.y[s.fit][s.tested]
    mu, sd = fit.log10_size_at(x_t), fit.residual_sd
    frames, probabilities = [], []
    for width in band_widths:
        lo = data.edges
        hi = np.round(lo + width, EDGE_DECIMALS)
        p = stats._interval_probabilities(mu[None, :], sd, lo[:, None], hi[:, None])
        observed = ((y_t[None, :] > lo[:, None]) & (y_t[None, :] < hi[:, None])).sum(axis=1)
        expected, variance = p.sum(axis=1), (p * (1.0 - p)).sum(axis=1)
        keep = (expected >= 0.5) | (observed > 0)  # else P(K <= 0) > 0.6: no band of interest
        probabilities.append(p[keep])
        frames.append(
            pd.DataFrame(
                {
                    "measure": s.measure,
                    "group": s.group,
                    "window": s.window,
                    "width_dex": round(float(width), EDGE_DECIMALS),
                    "lower_log10": lo[keep],
                    "upper_log10": hi[keep],
                    "n_tested": int(s.tested.sum()),
                    "observed": observed[keep],
                    "expected": expected[keep],
                    "z": scan.z_statistic(observed[keep], expected[keep], variance[keep]),
                    "offset_sd": ((lo[keep] + hi[keep]) / 2.0 - mu.mean()) / sd,
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    # The exact local P of the bands of every width in one pass of the recurrence (a pass per width cost more).
    local_p = _local_p(np.concatenate(probabilities), table["observed"].to_numpy())
    table.insert(table.columns.get_loc("offset_sd"), "local_p", local_p)
    return table


def cells(datas: list[MeasureData], settings: AtlasParams, params: AnalysisParams) -> pd.DataFrame:
    """Every cell of the atlas, ranked by z (1: the most extreme; ties by local P, then position)."""
    band_widths = widths(settings, params)
    table = pd.concat([series_cells(d, s, band_widths) for d in datas for s in d.series], ignore_index=True)
    table = table.sort_values(
        ["z", "local_p", "measure", "group", "window", "width_dex", "lower_log10"], kind="stable"
    ).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


# --------------------------------------------------------------------------------------------------
# the model check


def fit_check(data: MeasureData, s: Series, alpha: float) -> dict:
    """Does the series' trend fit? The residuals' normality (Jarque-Bera) and each tail's count beyond TAIL_SD sd
    against the trend's expectation (exact binomial, two-sided): 'too thin' or 'too heavy' when it rejects."""
    fit = stats.fit_trend(data.x[s.fit], data.y[s.fit])
    residuals = (data.y[s.fit] - fit.log10_size_at(data.x[s.fit])) / fit.residual_sd
    normality = stats.normality_test(residuals)
    n, share = residuals.size, float(special.ndtr(-TAIL_SD))
    tails = {}
    for side, count in (("upper", int((residuals > TAIL_SD).sum())), ("lower", int((residuals < -TAIL_SD).sum()))):
        p = stats.binom_two_sided_p(count, n, share)
        shape = "fits" if p >= alpha else "too thin" if count < n * share else "too heavy"
        tails[side] = {"observed": count, "expected": n * share, "p": p, "shape": shape}
    return {
        "n_fit": n,
        "n_tested": int(s.tested.sum()),
        "slope_per_year": fit.slope_oom_per_year,
        "residual_sd": fit.residual_sd,
        "skewness": normality["skewness"],
        "excess_kurtosis": normality["excess_kurtosis"],
        "normality_p": normality["p"],
        "normal_fits": normality["p"] >= alpha,
        "tails": tails,
    }


def deficit_threshold(widths_dex, span_dex: float, alpha: float):
    """The local P below which a band counts as a deficit when the model check counts a series' deficits: alpha
    shared among the disjoint bands of that width the tested sizes span (Bonferroni), so a series of normal
    scatter shows a spurious second deficit in about alpha of cases, however fine the grid."""
    return alpha * np.minimum(1.0, np.asarray(widths_dex, float) / span_dex)


def deficit_regions(series_table: pd.DataFrame, span_dex: float, alpha: float) -> int:
    """The number of separate stretches of the size axis covered by the series' deficits (deficit_threshold;
    overlapping bands merged)."""
    deficit = series_table["local_p"] < deficit_threshold(series_table["width_dex"], span_dex, alpha)
    regions, reach = 0, -math.inf
    for lo, hi in sorted(series_table.loc[deficit, ["lower_log10", "upper_log10"]].itertuples(index=False)):
        if lo >= reach:
            regions += 1
        reach = max(reach, hi)
    return regions


def reading(cell, check: dict, regions: int, threshold: float, alpha: float) -> str:
    """The model check of one deficit cell (local P < alpha) in plain words: a gap, a deficit too weak for the
    series' span, or a trend model that is wrong there."""
    side = "upper" if cell.offset_sd > 0 else "lower"
    tail = check["tails"][side]
    reasons = []
    if regions > 1:
        reasons.append(f"the series has {regions} separate deficits")
    if abs(cell.offset_sd) >= TAIL_SD - 0.5 and tail["shape"] != "fits":
        reasons.append(
            f"the band lies in the {side} tail, which is {tail['shape']} ({tail['observed']} systems beyond "
            f"{TAIL_SD:g} sd, {tail['expected']:.1f} expected)"
        )
    if not check["normal_fits"]:
        reasons.append(
            f"the residuals are not normal (skewness {check['skewness']:.2f}, excess kurtosis "
            f"{check['excess_kurtosis']:.2f}, P {check['normality_p']:.1g})"
        )
    if reasons:
        return "the trend model is wrong here, not a gap: " + "; ".join(reasons)
    if cell.local_p >= threshold:
        return f"a weak deficit: the trend fits, but a band this wide needs local P < {threshold:.1g} in this series"
    return "a gap: the only deficit of its series, inside a trend that fits (normal residuals, tails as expected)"


def model_check(datas: list[MeasureData], table: pd.DataFrame, alpha: float) -> tuple[dict, pd.Series]:
    """Each series' fit check and deficit count, and the reading of every cell (empty for a cell with no
    significant deficit)."""
    checks, words = {}, pd.Series("", index=table.index)
    for data in datas:
        for s in data.series:
            rows = table[(table["measure"] == s.measure) & (table["group"] == s.group) & (table["window"] == s.window)]
            check = fit_check(data, s, alpha)
            y_t = data.y[s.fit][s.tested]
            span = float(y_t.max() - y_t.min())
            regions = deficit_regions(rows, span, alpha)
            check["deficit_regions"] = regions
            checks.setdefault(s.measure, {}).setdefault(s.group, {})[s.window] = check
            deficits = rows[rows["local_p"] < alpha]
            thresholds = deficit_threshold(deficits["width_dex"], span, alpha)
            words.loc[deficits.index] = [
                reading(c, check, regions, t, alpha) for c, t in zip(deficits.itertuples(), thresholds)
            ]
    return checks, words


# --------------------------------------------------------------------------------------------------
# the corrected P of the atlas minimum


def simulated_minimum(data: MeasureData, Y: np.ndarray, band_widths, step: float) -> np.ndarray:
    """The smallest z of one measure's atlas on each data set (rows of Y): every series re-fitted, every width
    and position scored (scan._scan_min_z_widths: one histogram per data set for every width, one FFT per
    data set and width)."""
    minimum = np.full(Y.shape[0], np.inf)
    grid = (float(data.edges[0]), step, data.edges.size)
    widths = [float(width) for width in band_widths]
    for s in data.series:
        fitted, sd = scan._refit(data.x[s.fit], Y[:, s.fit])
        mu, y_t = fitted[:, s.tested], Y[:, s.fit][:, s.tested]
        minimum = np.minimum.reduce([minimum, *scan._scan_min_z_widths(mu, sd, y_t, widths, grid)])
    return minimum


def corrected_p(
    datas: list[MeasureData],
    band_widths,
    step: float,
    kind: str,
    *,
    alpha: float,
    first_batch: int,
    max_n: int,
    seed: int,
    df: float = 4.0,
) -> dict:
    """The atlas-wide P of the data's smallest z under one null (scan.NULLS), sequential (montecarlo): the share of
    simulated atlases whose smallest z is at most the data's. Also returns the simulated minima, so any cell's z
    can be placed against the same simulations (cell_corrected). A progress line follows each batch: the atlas
    of a current release takes about a minute to simulate."""
    began = time.monotonic()
    nulls = [scan.NullModel.fit(d.x, d.y, list(d.components), kind, df) for d in datas]
    observed = min(float(simulated_minimum(d, d.y[None, :], band_widths, step)[0]) for d in datas)
    minima: list[np.ndarray] = []
    said = [began]  # when the last progress line was printed

    def say(done: int) -> None:
        said[0] = time.monotonic()
        study.progress(f"atlas: {done:,} atlases simulated under the {kind} null ({said[0] - began:.0f} s)")

    def simulate(m: int, rng: np.random.Generator) -> dict:
        # data sets x (positions + systems) held at once stays under scan.ELEMENTS_PER_BLOCK
        block = max(1, scan.ELEMENTS_PER_BLOCK // max(d.edges.size + d.y.size for d in datas))
        out, before = [], sum(map(len, minima))
        for start in range(0, m, block):
            n = min(block, m - start)
            per_measure = [
                simulated_minimum(d, null.simulate(n, rng), band_widths, step) for d, null in zip(datas, nulls)
            ]
            out.append(np.min(per_measure, axis=0))
            if start + n < m and time.monotonic() - said[0] > PROGRESS_EVERY_SECONDS:  # a long batch says so too
                say(before + start + n)
        values = np.concatenate(out)
        minima.append(values)
        say(before + m)
        return {"minimum": values}

    result = montecarlo.sequential(
        simulate, {"minimum": observed}, alpha=alpha, first_batch=first_batch, max_n=max_n, seed=seed, resolve=()
    )["minimum"]
    return {"null": kind, "observed_z": observed, **result, "minima": np.concatenate(minima)}


def cell_corrected(z, minima: np.ndarray, alpha: float) -> list[dict]:
    """Each z placed against the simulated atlas minima: its atlas-wide P with hits, count and interval."""
    ordered = np.sort(minima)
    hits = np.searchsorted(ordered, np.asarray(z, float), side="right")
    return [montecarlo.mc_p(int(h), ordered.size, alpha) for h in hits]


# --------------------------------------------------------------------------------------------------
# one release


def paper_cell(table: pd.DataFrame, settings: AtlasParams, params: AnalysisParams) -> dict | None:
    """The paper's cell: parameters, language, the headline window, the paper's bounds."""
    lo, hi = (round(math.log10(v), EDGE_DECIMALS) for v in (params.gap_lower, params.gap_upper))
    rows = table[
        (table["measure"] == "parameters")
        & (table["group"] == "language")
        & (table["window"] == settings.headline_window)
        & np.isclose(table["lower_log10"], lo, atol=10**-EDGE_DECIMALS)
        & np.isclose(table["upper_log10"], hi, atol=10**-EDGE_DECIMALS)
    ]
    return None if rows.empty else cell_record(rows.iloc[0])


def cell_record(row) -> dict:
    """A cell as stored in the JSON: its place, counts, z, local P and reading, sizes in the measure's unit."""
    record = {key: (row[key].item() if hasattr(row[key], "item") else row[key]) for key in row.index}
    record["lower"] = 10.0 ** record["lower_log10"]
    record["upper"] = 10.0 ** record["upper_log10"]
    return record


def analyse(models: pd.DataFrame, settings: AtlasParams, params: AnalysisParams, *, simulate: bool) -> dict:
    """The atlas of one release: every cell (a DataFrame, kept out of the JSON), the minimum, the paper's cell,
    the top cells, each series' summary and model check and, with `simulate`, the atlas-wide corrected P under
    the normal and the residual-bootstrap nulls (cells whose corrected P lies below alpha are marked)."""
    datas = [measure_data(models, m, settings, params) for m in settings.measures]
    datas = [d for d in datas if d.series]
    table = cells(datas, settings, params)
    checks, words = model_check(datas, table, params.alpha)
    table["reading"] = words
    result = {
        "as_of": params.as_of.isoformat(),
        "n_cells": len(table),
        "minimum": cell_record(table.iloc[0]),
        "smallest_local_p": cell_record(table.loc[table["local_p"].idxmin()]),
        "paper_cell": paper_cell(table, settings, params),
    }
    table["corrected_significant"] = False
    if simulate:
        band_widths = widths(settings, params)
        corrected = {}
        for kind in ("normal", "bootstrap"):
            out = corrected_p(
                datas,
                band_widths,
                settings.step_dex,
                kind,
                alpha=params.alpha,
                first_batch=settings.mc_first_batch,
                max_n=settings.mc_max_n,
                seed=settings.seed,
                df=params.heavy_tail_df,
            )
            minima = out.pop("minima")
            corrected[kind] = out
            if kind == "normal":
                settled = cell_corrected(table["z"].to_numpy(), minima, params.alpha)
                table["corrected_significant"] = [c["side"] == "below" for c in settled]
        result["corrected"] = corrected
    result["top"] = [cell_record(row) for _, row in table.head(settings.top).iterrows()]
    result["series"] = summaries(datas, table, checks)
    return {"result": result, "cells": table}


def summaries(datas: list[MeasureData], table: pd.DataFrame, checks: dict) -> dict:
    """Per measure, group and window: the model check, the number of cells and deficits, and the series' minimum;
    the series left out and why."""
    out = {}
    for data in datas:
        measure = out.setdefault(data.measure, {"n_systems": len(data.systems), "skipped": data.skipped})
        for s in data.series:
            rows = table[(table["measure"] == s.measure) & (table["group"] == s.group) & (table["window"] == s.window)]
            measure.setdefault(s.group, {})[s.window] = {
                **checks[s.measure][s.group][s.window],
                "n_cells": len(rows),
                "minimum": cell_record(rows.iloc[0]),
            }
    return out


HISTORY_KEYS = ("measure", "group", "window", "width_dex", "lower", "upper", "observed", "expected", "z", "local_p")


def history_row(models: pd.DataFrame, settings: AtlasParams, params: AnalysisParams) -> dict:
    """What the history keeps of a release's atlas: its minimum and the paper's cell, each with its reading (no
    simulation)."""
    atlas = analyse(models, settings, params, simulate=False)["result"]
    return {
        key: None if atlas[key] is None else {k: atlas[key][k] for k in (*HISTORY_KEYS, "reading")}
        for key in ("minimum", "paper_cell")
    }
