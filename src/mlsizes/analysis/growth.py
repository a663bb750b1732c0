"""The recent-growth readout Epoch's pages lead with: how many times per year each measure of notable systems grows
since a start date, for all notable systems and for the frontier (the running top by training compute at release),
with a bootstrap 95% interval. One fit per measure and group, by the same code (stats.fit_trend,
stats.bootstrap_slope), so compute, parameters, dataset size and cost are read alike."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlsizes.analysis import stats

QUANTILES = (2.5, 50.0, 97.5)


def frontier(dates, compute, top: int) -> np.ndarray:
    """Whether each system was among the `top` by compute when it was released: fewer than `top` systems released
    on or before its date have more compute. A system without a compute is never frontier."""
    days = stats.days_since_epoch(np.asarray(dates))
    values = np.asarray(compute, dtype=float)
    known = ~np.isnan(values)
    earlier = days[None, known] <= days[known, None]
    larger = values[None, known] > values[known, None]
    result = np.zeros(len(values), dtype=bool)
    result[known] = (earlier & larger).sum(axis=1) < top
    return result


def readout(dates, values, n_bootstrap: int, seed: int) -> dict:
    """x/year of one measure with its 95% bootstrap interval (jittered like every fit here), and n."""
    days = stats.days_since_epoch(np.asarray(dates))
    log10 = np.log10(np.asarray(values, dtype=float))
    fit = stats.fit_trend(days, log10)
    result = {"n": fit.n, "x_per_year": fit.growth_x_per_year, "interval_95": None, "r2": fit.r2}
    if fit.insufficient_data:
        return {**result, "skipped": fit.reason}
    ends = np.array([days.min(), days.max()])
    when = np.datetime64("1970-01-01") + (ends * 86400).astype("timedelta64[s]")
    # the fitted line over the group's dates, for the figures: decimal years and log10 value at both ends
    result["line"] = {"years": stats.decimal_year(when).tolist(), "log10": fit.log10_size_at(ends).tolist()}
    boot = stats.bootstrap_slope(days, log10, n_resamples=n_bootstrap, seed=seed, quantiles=QUANTILES)
    if boot.slope_oom_per_year:
        low, _, high = boot.slope_oom_per_year
        result["interval_95"] = [10.0**low, 10.0**high]
    return result


def growth(models: pd.DataFrame, measures: dict[str, str], since, top: int, n_bootstrap: int, seed: int) -> dict:
    """Per measure (column -> its words): x/year of notable systems published since `since`, and of those among
    the frontier (running top `top` by training compute at release, ranked among every system)."""
    dates = pd.to_datetime(models["publication_date"]).to_numpy()
    leading = frontier(dates, models["training_compute_flop"], top)
    recent = (models["publication_date"] >= since.isoformat()).to_numpy()
    result = {}
    for column, words in measures.items():
        has = (models[column].notna() & (models[column] > 0)).to_numpy()
        result[column] = {"measure": words}
        for group, mask in (("notable", recent & has), ("frontier", recent & has & leading)):
            result[column][group] = readout(dates[mask], models[column].to_numpy()[mask], n_bootstrap, seed)
    return result


def sentence(words: str, group: str, reading: dict) -> str:
    """One readout as the report writes it: `compute of notable models: 4.3x/year [3.9x; 4.8x], n=512`."""
    if reading.get("x_per_year") is None:
        return f"{words} of {group} models: no trend ({reading.get('skipped', 'too few systems')})"
    interval = reading["interval_95"]
    bounds = f" [{interval[0]:.1f}x; {interval[1]:.1f}x]" if interval else ""
    return f"{words} of {group} models: {reading['x_per_year']:.1f}x/year{bounds}, n={reading['n']}"
