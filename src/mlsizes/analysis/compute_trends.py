"""The rules of "Compute Trends Across Three Eras of Machine Learning" (Sevilla et al. 2022) on a curated table.

The second paper of the same authors fits log10(training compute) on publication date like the parameter study
(stats.fit_trend, stats.bootstrap_slope: the same units and the same jittered bootstrap), but splits the systems
by eras and by scale: a system's z-score against the systems published within a window around it marks it a low
outlier (left out of every fit) or large-scale. Every number of the rules comes from `ComputeTrendParams`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlsizes.analysis import stats
from mlsizes.core.settings import ComputeTrendParams

QUANTILES = (2.5, 50.0, 97.5)


def zscores(x_days, log10_compute, half_window_days: float, min_systems: int) -> np.ndarray:
    """Each system's z-score against every system published within half_window_days either side (itself
    included, population standard deviation); NaN with fewer than min_systems in its window or no spread."""
    x, y = np.asarray(x_days, dtype=float), np.asarray(log10_compute, dtype=float)
    inside = np.abs(x[:, None] - x[None, :]) <= half_window_days  # a few hundred systems: a square is cheap
    count = inside.sum(axis=1)
    mean = (inside * y).sum(axis=1) / count
    spread = np.sqrt(np.maximum((inside * (y[None, :] - mean[:, None]) ** 2).sum(axis=1) / count, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (y - mean) / spread
    z[(count < min_systems) | (spread == 0)] = np.nan
    return z


def record_setters(x_days, log10_compute) -> np.ndarray:
    """Whether each system's compute is at least the maximum of every system published before it (the first
    system sets the first record; systems of the same day are not each other's predecessors)."""
    x, y = np.asarray(x_days, dtype=float), np.asarray(log10_compute, dtype=float)
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    running = np.maximum.accumulate(ys)
    first_of_day = np.searchsorted(xs, xs, side="left")  # the position where each system's day starts
    before = np.where(first_of_day > 0, running[np.maximum(first_of_day - 1, 0)], -np.inf)
    result = np.empty(len(x), dtype=bool)
    result[order] = ys >= before
    return result


def label_systems(
    models: pd.DataFrame, params: ComputeTrendParams, cutoff, measure: str = "training_compute_flop"
) -> pd.DataFrame:
    """The systems with a value of the measure (the paper's: training compute) published on or before the cut-off,
    with their date axis, log10 value, z-score, and whether each is a low outlier or large-scale."""
    chosen = models[models[measure].notna() & (models["publication_date"] <= cutoff.isoformat())]
    systems = pd.DataFrame(
        {
            "name": chosen["name"],
            "publication_date": chosen["publication_date"],
            "domain": chosen["primary_domain"],
            measure: chosen[measure],
        }
    ).reset_index(drop=True)
    systems["x"] = stats.days_since_epoch(systems["publication_date"].to_numpy())
    systems["y"] = np.log10(systems[measure].to_numpy(dtype=float))
    systems.attrs["measure"] = measure
    systems["z"] = zscores(systems["x"], systems["y"], params.half_window_days, params.min_window_systems)
    systems["low_outlier"] = systems["z"] < params.low_outlier_below
    systems["large_scale"] = large_scale(systems, params, params.large_scale_above)
    return systems


def large_scale(systems: pd.DataFrame, params: ComputeTrendParams, threshold: float) -> pd.Series:
    """Large-scale: z-score above the threshold and published after the large-scale era's start."""
    return (systems["z"] > threshold) & (systems["publication_date"] > params.large_scale_start.isoformat())


def in_period(systems: pd.DataFrame, after, until) -> pd.Series:
    """Systems published after `after` (None: from the start) and on or before `until` (None: to the end): a
    system on a boundary belongs to the earlier period."""
    dates = systems["publication_date"]
    mask = pd.Series(True, index=systems.index)
    if after is not None:
        mask &= dates > after.isoformat()
    if until is not None:
        mask &= dates <= until.isoformat()
    return mask


def other_domains(systems: pd.DataFrame, below: int) -> pd.Series:
    """Each system's domain for Table 7: domains with fewer than `below` systems pooled as Other."""
    counts = systems["domain"].value_counts()
    return systems["domain"].where(systems["domain"].map(counts) >= below, "Other")


def trend(systems: pd.DataFrame, params: ComputeTrendParams) -> dict:
    """The paper's readout of one group: n, OOM/year, doubling time, R^2 and bootstrap quantiles of the slope and
    of the doubling time; a group of n <= 2 (or fewer than 3 dates) is skipped with its reason."""
    fit = stats.fit_trend(systems["x"].to_numpy(), systems["y"].to_numpy())
    result = {
        "n": fit.n,
        "slope_oom_per_year": fit.slope_oom_per_year,
        "doubling_time_months": fit.doubling_time_months,
        "r2": fit.r2,
        "slope_interval": None,
        "doubling_interval": None,
    }
    if fit.insufficient_data:
        return {**result, "skipped": fit.reason}
    ends = np.array([systems["x"].min(), systems["x"].max()])
    dates = np.datetime64("1970-01-01") + (ends * 86400).astype("timedelta64[s]")
    # The fitted line over the group's dates, for figures: decimal years and log10 compute at both ends.
    result["line"] = {"years": stats.decimal_year(dates).tolist(), "log10_compute": fit.log10_size_at(ends).tolist()}
    boot = stats.bootstrap_slope(
        systems["x"].to_numpy(),
        systems["y"].to_numpy(),
        n_resamples=params.n_bootstrap,
        seed=params.seed,
        noise_ratio=params.noise_ratio,
        quantiles=QUANTILES,
    )
    slopes = boot.slope_oom_per_year
    result["slope_interval"] = list(slopes) if slopes else None
    result["doubling_interval"] = doubling_interval(slopes)
    return result


def doubling_interval(slope_quantiles) -> list[float] | None:
    """Doubling-time quantiles from the slope's (OOM/year), read in reverse: a resample whose slope is zero or
    negative counts as slower than any doubling, so the quantiles stand while the slope's lowest one is positive
    (stats.bootstrap_slope gives none once any resampled slope changes sign, as small large-scale groups do)."""
    if not slope_quantiles or min(slope_quantiles) <= 0:
        return None
    per_day = np.asarray(slope_quantiles[::-1], dtype=float) / stats.DAYS_PER_YEAR
    return stats.doubling_time_months(per_day).tolist()


# The decimals the paper prints each figure with (its tables): a printed 0.46 stands for anything in [0.455, 0.465].
PRINTED_DECIMALS = {"slope_oom_per_year": 1, "doubling_time_months": 1, "r2": 2}


def within_tolerance(paper: dict, ours: dict, tolerances: dict) -> dict:
    """Each of the paper's numbers against ours: n within a share, slope and R^2 within an absolute distance,
    doubling time within a share; a number the paper does not give is not judged (absent). The distance is to the
    interval the paper's rounded figure stands for (PRINTED_DECIMALS), not to the rounded figure itself."""
    checks = {}
    if paper.get("n") is not None:
        checks["n"] = ours["n"] is not None and abs(ours["n"] - paper["n"]) <= tolerances["n_relative"] * paper["n"]
    for field, kind in (
        ("slope_oom_per_year", "absolute"),
        ("doubling_time_months", "relative"),
        ("r2", "absolute"),
    ):
        if paper.get(field) is None:
            continue
        if ours.get(field) is None:
            checks[field] = False
            continue
        key = "doubling_time_relative" if field == "doubling_time_months" else field
        allowed = tolerances[key] * (paper[field] if kind == "relative" else 1.0)
        distance = max(abs(ours[field] - paper[field]) - 0.5 * 10.0 ** -PRINTED_DECIMALS[field], 0.0)
        checks[field] = bool(distance <= allowed + 1e-9)
    return checks


def system_list(systems: pd.DataFrame) -> list[dict]:
    """Systems by name with their date, value of the measure (label_systems') and z-score, in date order."""
    measure = systems.attrs.get("measure", "training_compute_flop")
    ordered = systems.sort_values(["publication_date", "name"], kind="stable")
    return [
        {
            "name": name,
            "publication_date": date,
            measure: float(value),
            "z": None if np.isnan(z) else float(z),
        }
        for name, date, value, z in zip(ordered["name"], ordered["publication_date"], ordered[measure], ordered["z"])
    ]
