"""Tests of mlsizes.analysis.scan on synthetic data: counts and moments against brute force, the three nulls,
and the calibration of the scan and the family-wide scan (rejection rate at alpha over 200 null data sets)."""

import math

import numpy as np
import pytest

from mlsizes.analysis import scan
from mlsizes.analysis import stats as S

YEAR = 365.0
X_2018 = 17532.0
ALPHA = 0.05  # calibration is checked at 0.05, where 200 data sets can tell a size of 0.05 from 0.02 or 0.08
N_DATASETS = 200
SIMS = 19  # (hits + 1) / (n + 1) <= 0.05 exactly when no hit: an exact-size Monte Carlo test
TWO_SE = 2 * math.sqrt(ALPHA * (1 - ALPHA) / N_DATASETS)


SCATTER = {  # the null's scatter in the data: normal, skewed (log-normal), heavy-tailed (t, 4 df, sd 0.8)
    "normal": lambda rng, n, sd: rng.normal(0.0, sd, n),
    "skewed": lambda rng, n, sd: rng.lognormal(0.0, 0.6, n),
    "t": lambda rng, n, sd: sd * math.sqrt(0.5) * rng.standard_t(4, n),
}


def null_data(seed, n_fit=50, n_test=30, sd=0.8, scatter="normal"):
    """Systems scattered around one trend crossing 2e10-7e10 in the test window: no gap."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(X_2018, X_2018 + 5 * YEAR, n_fit))
    y = 8.5 + 0.5 * (x - X_2018) / YEAR + SCATTER[scatter](rng, n_fit, sd)
    return x, y, np.arange(n_fit) >= n_fit - n_test


def test_grid_counts_equal_brute_force_with_ties():
    rng = np.random.default_rng(0)
    y = np.round(rng.normal(10.0, 1.0, (7, 40)), 1)  # many ties, some on the edges
    lo = np.round(np.arange(6.0, 14.0, 0.05), 2)
    counts = scan._grid_counts(y, lo, lo + 0.5)
    brute = ((y[:, None, :] > lo[None, :, None]) & (y[:, None, :] < lo[None, :, None] + 0.5)).sum(axis=2)
    assert np.array_equal(counts, brute)


def test_moments_match_direct_sums():
    rng = np.random.default_rng(1)
    mu = rng.normal(10.0, 1.0, (3, 60))
    sd = np.array([0.7, 0.9, 1.2])
    g0, step, n_points, width = 6.0, 0.05, 140, 0.544
    mean, var = scan._moments(mu, sd, g0, n_points, width, step)
    edges = g0 + step * np.arange(n_points)
    p = S._interval_probabilities(mu[:, None, :], sd[:, None, None], edges[None, :, None], edges[None, :, None] + width)
    assert np.allclose(mean, p.sum(2), atol=2e-3 * mu.shape[1])
    assert np.allclose(var, (p * (1 - p)).sum(2), atol=2e-3 * mu.shape[1])


def test_z_statistic_known_values():
    z = scan.z_statistic(np.array([0, 10, 0]), np.array([4.0, 10.0, 0.0]), np.array([4.0, 9.0, 0.0]))
    assert z[0] == pytest.approx(-1.75) and z[1] == pytest.approx(0.5 / 3) and z[2] == np.inf


def test_nulls_have_the_trend_and_the_stated_scatter():
    x, y, _ = null_data(0, n_fit=400, n_test=10)
    everyone = np.arange(x.size)
    for kind in scan.NULLS:
        model = scan.NullModel.fit(x, y, [everyone], kind, df=4)
        Y = model.simulate(300, np.random.default_rng(2))
        noise = Y - model.trends[0]
        assert noise.std() == pytest.approx(model.sds[0], rel=0.05)
        kurtosis = np.mean(noise**4) / np.mean(noise**2) ** 2 - 3
        assert (kurtosis > 1.5) if kind == "t" else (abs(kurtosis) < 0.5)
    boot = scan.NullModel.fit(x, y, [everyone], "bootstrap").simulate(2, np.random.default_rng(0))
    resampled = (boot - model.trends[0]) / math.sqrt(x.size / (x.size - 2))
    assert np.isin(np.round(resampled, 9), np.round(y - model.trends[0], 9)).all()  # the data's own residuals
    with pytest.raises(ValueError):
        scan.NullModel.fit(x, y, [everyone], "cauchy")
    with pytest.raises(ValueError):
        scan.NullModel.fit(x, y, [everyone], "t", df=2)


def test_windows_refuse_bad_bounds():
    with pytest.raises(ValueError):
        scan.Windows.build(7e10, 2e10, False)
    with pytest.raises(ValueError):
        scan.Windows.build(2e10, 7e10, False, widths=(0.0,))
    widths = scan.Windows.build(2e10, 7e10, False, widths=(0.3, 0.75)).widths
    assert widths == pytest.approx((0.3, math.log10(3.5), 0.75))  # the gap's own width is always scanned


def rejection_rate(key, groups_of, family, widths=(), null_kind="normal", scatter="normal"):
    """Share of null data sets (scatter as given) whose simulated P (SIMS simulations, null_kind) is <= ALPHA."""
    rejected = 0
    for seed in range(N_DATASETS):
        x, y, tested = null_data(100 + seed, scatter=scatter)
        groups, components = groups_of(x.size, tested)
        windows = scan.Windows.build(2e10, 7e10, False, widths=widths, grid_step_dex=0.1)
        null = scan.NullModel.fit(x, y, components, null_kind, df=4)
        result = scan.family_p(
            x, y, groups, windows, null, alpha=ALPHA, first_batch=SIMS, max_n=SIMS, seed=seed, family=family
        )
        rejected += result["p"][key]["p"] <= ALPHA
    return rejected / N_DATASETS


def one_group(n, tested):
    return [scan.Group("g", np.arange(n), tested)], [np.arange(n)]


def two_groups(n, tested):
    half = np.arange(n) % 3 == 0
    groups = [scan.Group("all", np.arange(n), tested), scan.Group("third", np.flatnonzero(half), tested[half])]
    return groups, [np.flatnonzero(half), np.flatnonzero(~half)]


def periods(n, tested):
    """Two domain groups x two periods, as study.family_scan builds them: the headline period (every system
    fitted, the late ones tested) and a later window (fitted from its own start, its last third tested)."""
    third = np.arange(n) % 3 == 0
    late = np.arange(n) >= n // 3
    window_tested = np.arange(n) >= n - n // 3
    groups = []
    for name, member in (("all", np.ones(n, dtype=bool)), ("third", third)):
        groups.append(scan.Group(name, np.flatnonzero(member), tested[member]))
        index = np.flatnonzero(member & late)
        groups.append(scan.Group(f"{name}@late", index, window_tested[index]))
    return groups, [np.flatnonzero(third), np.flatnonzero(~third)]


def test_scan_is_calibrated_for_bounds_read_off_the_data():
    """The scan P of the data's own most extreme window (bounds read off the data) holds its size; the chosen
    window's scan P, for a window fixed in advance, can only be smaller than that, so it rejects less often."""
    assert abs(rejection_rate("g/anywhere", one_group, False) - ALPHA) <= TWO_SE
    assert rejection_rate("g/scan", one_group, False) <= ALPHA + TWO_SE


def test_family_wide_scan_is_calibrated():
    """Every width, both groups and every position at once: the family's own most extreme window holds the size."""
    rate = rejection_rate("family/anywhere", two_groups, True, widths=(0.3, 0.75))
    assert abs(rate - ALPHA) <= TWO_SE


def test_family_wide_scan_over_periods_is_calibrated():
    """Domain groups and periods (groups fitted and tested on different spans of one joint data set) at once."""
    rate = rejection_rate("family/anywhere", periods, True, widths=(0.3, 0.75))
    assert abs(rate - ALPHA) <= TWO_SE


@pytest.mark.parametrize(("null_kind", "scatter"), [("bootstrap", "skewed"), ("t", "t")])
def test_scan_under_the_other_nulls_is_calibrated(null_kind, scatter):
    """The residual-bootstrap null on skewed scatter, the Student t null on t scatter: each holds its size."""
    rate = rejection_rate("g/anywhere", one_group, False, null_kind=null_kind, scatter=scatter)
    assert abs(rate - ALPHA) <= TWO_SE


def test_scan_finds_an_emptied_gap_and_is_reproducible():
    x, y, tested = null_data(7, n_fit=200, n_test=150, sd=0.6)
    inside = tested & (y > math.log10(2e10)) & (y < math.log10(7e10))
    y[inside] = np.where(y[inside] < 10.5, math.log10(2e10) - 0.05, math.log10(7e10) + 0.05)  # empty the gap
    groups, components = one_group(x.size, tested)
    windows = scan.Windows.build(2e10, 7e10, False)
    null = scan.NullModel.fit(x, y, components, "normal")
    kwargs = dict(alpha=0.01, first_batch=500, max_n=2000, seed=3, resolve=())
    result = scan.family_p(x, y, groups, windows, null, **kwargs)
    assert result["p"]["g/scan"]["side"] == "below"
    assert result == scan.family_p(x, y, groups, windows, null, **kwargs)


def test_deficit_bands_counts_emptied_bands_against_the_null():
    """Two bands as wide as the gap emptied: both are counted, and more deficit bands than the null gives; on
    null data the count is what the null gives."""
    x, y, tested = null_data(11, n_fit=400, n_test=300, sd=0.8)
    group, windows = scan.Group("g", np.arange(x.size), tested), scan.Windows.build(2e10, 7e10, False)
    kwargs = dict(alpha=0.01, first_batch=200, max_n=200, seed=4)
    plain = scan.band_deficits(x, y, group, windows, scan.NullModel.fit(x, y, [np.arange(x.size)], "normal"), **kwargs)
    assert plain["observed_deficits"] == 0 and plain["p"]["p"] == 1.0 and plain["null_mean_deficits"] < 0.5
    lo, width = math.log10(2e10), math.log10(3.5)
    for band in (lo, lo - 2 * width):  # the gap and a band two widths below it
        inside = tested & (y > band) & (y < band + width)
        y[inside] = np.where(y[inside] < band + width / 2, band - 0.01, band + width + 0.01)
    emptied = scan.band_deficits(
        x, y, group, windows, scan.NullModel.fit(x, y, [np.arange(x.size)], "normal"), **kwargs
    )
    assert emptied["observed_deficits"] == 2 and emptied["p"]["hits"] == 0
    expected = [10 ** (lo - 2 * width), 10 ** (lo - width), 2e10, 7e10]
    assert np.ravel(emptied["deficit_bands"]) == pytest.approx(expected, rel=1e-5)
    assert emptied["deficit_offsets"] == [-2, 0]
    assert emptied["n_bands"] == plain["n_bands"] and emptied["p"]["n"] == 200
