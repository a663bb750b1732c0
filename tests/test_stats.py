"""Tests of mlsizes.analysis.stats on synthetic data with known answers (fixed seeds throughout)."""

import itertools
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from mlsizes.analysis import stats as S

YEAR = 365.0
X_2018 = 17532.0  # 2018-01-01 in days since 1970-01-01
X_2022 = 19173.0  # 2022-06-30


def to_json(result) -> str:
    """Results must be strict JSON: no NaN/inf sneaking in."""
    return json.dumps(result, allow_nan=False)


def linear_data(n, oom_per_year, noise_sd, seed, start=X_2018, years=20.0, intercept=7.0):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(start, start + years * YEAR, n))
    y = intercept + oom_per_year * (x - start) / YEAR + rng.normal(0.0, noise_sd, n)
    return x, y


# --- time axis and units ---------------------------------------------------------------------------


def test_days_since_epoch():
    dates = np.array(["1970-01-01", "1970-01-02T12:00", "2018-01-01", "NaT"], dtype="datetime64[ns]")
    days = S.days_since_epoch(dates)
    np.testing.assert_array_equal(days[:3], [0.0, 1.5, X_2018])
    assert np.isnan(days[3])
    assert S.days_since_epoch(["2022-06-30"])[0] == X_2022


def test_unit_conventions_match_hand_computation():
    slope = 0.9 / 365  # 0.9 OOMs per year, expressed per day
    # log10(2) * 365 / (0.9 * 30) = 0.30103 * 365 / 27 = 4.06947 months
    assert S.doubling_time_months(slope) == pytest.approx(4.06947, abs=1e-4)
    assert S.oom_per_year(slope) == pytest.approx(0.9)
    fit = S.fit_trend([0.0, 100.0, 200.0, 300.0], slope * np.array([0.0, 100.0, 200.0, 300.0]) + 5)
    assert fit.doubling_time_months == pytest.approx(4.06947, abs=1e-4)
    assert fit.growth_x_per_year == pytest.approx(10**0.9)
    assert fit.r2 == pytest.approx(1.0)


# --- fit_trend --------------------------------------------------------------------------------------


def test_fit_trend_recovers_known_slope_and_scatter():
    x, y = linear_data(n=300, oom_per_year=0.5, noise_sd=0.3, seed=1)
    fit = S.fit_trend(x, y)
    assert not fit.insufficient_data
    assert fit.n == 300 and fit.n_distinct_dates == 300
    assert fit.slope_oom_per_year == pytest.approx(0.5, abs=0.02)
    assert fit.residual_sd == pytest.approx(0.3, abs=0.03)
    # signal variance of a uniform 20-year window: 0.5^2 * 20^2 / 12 = 8.33; noise 0.09
    assert fit.r2 == pytest.approx(8.33 / (8.33 + 0.09), abs=0.01)
    start, end = fit.log10_size_at([X_2018, X_2018 + 20 * YEAR])
    assert start == pytest.approx(7.0, abs=0.1) and end == pytest.approx(17.0, abs=0.1)
    to_json(fit.to_dict())


def test_fit_trend_insufficient_data_is_flagged_not_nan():
    fit = S.fit_trend([X_2018, X_2018, X_2022, X_2022, X_2022], [8.0, 9.0, 10.0, 11.0, 10.5])
    assert fit.insufficient_data
    assert fit.n == 5 and fit.n_distinct_dates == 2
    assert "distinct dates" in fit.reason
    numbers = ["slope_per_day", "intercept", "slope_oom_per_year", "doubling_time_months", "r2", "residual_sd"]
    assert all(getattr(fit, name) is None for name in numbers)
    assert fit.log10_size_at(X_2022) is None
    to_json(fit.to_dict())
    assert S.fit_trend([], []).insufficient_data


def test_fit_trend_rejects_missing_values():
    with pytest.raises(ValueError):
        S.fit_trend([1.0, 2.0, np.nan], [1.0, 2.0, 3.0])


# --- bootstrap --------------------------------------------------------------------------------------


def test_bootstrap_interval_covers_true_slope_at_nominal_rate():
    covered = 0
    for seed in range(200):
        x, y = linear_data(n=40, oom_per_year=0.5, noise_sd=0.5, seed=seed, years=5.0)
        result = S.bootstrap_slope(x, y, n_resamples=400, seed=seed, jitter=False)
        low, _, high = result.slope_oom_per_year
        covered += low <= 0.5 <= high
    assert 0.88 <= covered / 200 <= 0.99


def test_bootstrap_is_deterministic_given_seed():
    x, y = linear_data(n=100, oom_per_year=0.9, noise_sd=0.8, seed=3, years=4.5)
    first = S.bootstrap_slope(x, y, n_resamples=300, seed=42)
    assert first == S.bootstrap_slope(x, y, n_resamples=300, seed=42)
    assert first != S.bootstrap_slope(x, y, n_resamples=300, seed=43)
    assert first.n_used == 300 and first.n_skipped == 0
    # positive slopes: the short doubling time goes with the steep slope, quantiles ascending
    assert first.doubling_time_months[0] < first.doubling_time_months[1] < first.doubling_time_months[2]
    to_json(first.to_dict())


def test_bootstrap_jitter_adds_the_size_imprecision():
    x = np.linspace(X_2018, X_2022, 50)
    y = 8.0 + 0.5 * (x - X_2018) / YEAR  # exactly linear
    plain = S.bootstrap_slope(x, y, n_resamples=200, seed=0, jitter=False).slope_oom_per_year
    jittered = S.bootstrap_slope(x, y, n_resamples=200, seed=0, jitter=True).slope_oom_per_year
    assert plain[2] - plain[0] == pytest.approx(0.0, abs=1e-9)
    assert jittered[2] - jittered[0] > 0.05
    assert jittered[1] == pytest.approx(0.5, abs=0.05)


def test_bootstrap_skips_and_counts_resamples_with_too_few_dates():
    x = np.r_[np.zeros(10), np.full(10, 100.0), 200.0]  # the third date is one system
    y = np.r_[np.zeros(10), np.ones(10), 2.0] + np.linspace(0, 0.1, 21)
    result = S.bootstrap_slope(x, y, n_resamples=1000, seed=0)
    # P(resample misses the lone system) = (20/21)^21 = 0.36
    assert result.n_used + result.n_skipped == 1000
    assert 300 <= result.n_skipped <= 420


def test_bootstrap_doubling_time_undefined_when_slope_changes_sign():
    x, y = linear_data(n=30, oom_per_year=0.0, noise_sd=0.5, seed=5, years=4.0)
    result = S.bootstrap_slope(x, y, n_resamples=500, seed=0)
    assert result.slope_oom_per_year[0] < 0 < result.slope_oom_per_year[2]
    assert result.doubling_time_months is None and "sign" in result.reason
    to_json(result.to_dict())


# --- Poisson-binomial ------------------------------------------------------------------------------


def brute_force_pmf(p):
    pmf = np.zeros(len(p) + 1)
    for outcome in itertools.product([0, 1], repeat=len(p)):
        pmf[sum(outcome)] += math.prod(pi if o else 1 - pi for pi, o in zip(p, outcome))
    return pmf


@pytest.mark.parametrize("n", [0, 1, 2, 5, 9, 12])
def test_pmf_matches_brute_force_enumeration(n):
    rng = np.random.default_rng(n)
    p = rng.uniform(0, 1, n)
    if n >= 2:
        p[0], p[-1] = 0.0, 1.0  # certain misses and hits are part of the model
    pmf = S.poisson_binomial_pmf(p)
    np.testing.assert_allclose(pmf, brute_force_pmf(p), rtol=1e-12, atol=1e-15)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    cdf = [S.poisson_binomial_cdf(p, k) for k in range(-1, n + 1)]
    assert cdf[0] == 0.0 and cdf[-1] == pytest.approx(1.0)
    assert all(a <= b for a, b in zip(cdf, cdf[1:]))


def test_pmf_large_n_moments_and_tiny_tail():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 3000)
    pmf = S.poisson_binomial_pmf(p)
    k = np.arange(p.size + 1)
    assert pmf.min() >= 0 and pmf.sum() == pytest.approx(1.0, abs=1e-10)
    assert k @ pmf == pytest.approx(p.sum(), rel=1e-10)
    assert (k - p.sum()) ** 2 @ pmf == pytest.approx(np.sum(p * (1 - p)), rel=1e-8)
    # all 100 systems 90% likely in the gap: P(K = 0) = 0.1^100, kept to full relative precision
    assert S.poisson_binomial_cdf(np.full(100, 0.9), 0) == pytest.approx(1e-100, rel=1e-10)


def test_pmf_rejects_invalid_probabilities():
    for bad in ([0.5, 1.2], [np.nan], [[0.1, 0.2]]):
        with pytest.raises(ValueError):
            S.poisson_binomial_pmf(bad)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=60))
def test_pmf_is_a_distribution_for_any_probabilities(p):
    pmf = S.poisson_binomial_pmf(p)
    assert pmf.shape == (len(p) + 1,)
    assert np.all(pmf >= 0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.arange(len(p) + 1) @ pmf == pytest.approx(sum(p), abs=1e-9)


@pytest.mark.parametrize(("n", "p_max", "k"), [(30, 0.3, 0), (30, 0.3, 3), (100, 0.1, 5), (12, 0.9, 9)])
def test_monte_carlo_matches_exact_within_4_se(n, p_max, k):
    p = np.random.default_rng(n + k).uniform(0, p_max, n)
    exact = S.poisson_binomial_cdf(p, k)
    mc = S.monte_carlo_cdf(p, k, n_sims=200_000, seed=k, chunk_size=30_000)
    assert mc["n_sims"] == 200_000
    assert abs(mc["estimate"] - exact) <= 4 * math.sqrt(exact * (1 - exact) / 200_000)
    assert S.mc_agreement(exact, mc["hits"], 200_000)["agrees"]
    assert mc == S.monte_carlo_cdf(p, k, n_sims=200_000, seed=k, chunk_size=30_000)


def test_mc_agreement_check_can_fail_and_handles_zero_hits():
    assert not S.mc_agreement(0.5, 400_000, 1_000_000)["agrees"]  # 200 SE away
    assert S.mc_agreement(0.5, 500_500, 1_000_000)["agrees"]  # 1 SE away
    assert S.mc_agreement(1e-9, 0, 1_000_000)["agrees"]  # exact too small to be seen
    assert S.mc_agreement(1e-6, 1, 1_000_000)["agrees"]  # one hit where one is expected
    assert not S.mc_agreement(1e-9, 5, 1_000_000)["agrees"]
    assert not S.mc_agreement(0.0, 1, 1_000_000)["agrees"]


# --- gap test ---------------------------------------------------------------------------------------


def test_gap_probabilities_equal_normal_interval_probability():
    fit = S.TrendFit(n=50, n_distinct_dates=50, intercept=-20.0, slope_per_day=0.0017, residual_sd=0.7)
    x = np.linspace(18262, X_2022, 25)  # 2020 onwards
    mu = -20.0 + 0.0017 * x
    expected = sps.norm.cdf(math.log10(7e10), mu, 0.7) - sps.norm.cdf(math.log10(2e10), mu, 0.7)
    np.testing.assert_allclose(S.gap_probabilities(fit, x, 2e10, 7e10), expected, rtol=1e-12)
    # gap far above the trend: tiny but accurate (no 1 - 1 cancellation)
    far = S.TrendFit(n=50, n_distinct_dates=50, intercept=5.0, slope_per_day=0.0, residual_sd=0.5)
    tail = sps.norm.sf(math.log10(2e10), 5.0, 0.5) - sps.norm.sf(math.log10(7e10), 5.0, 0.5)
    assert S.gap_probabilities(far, [0.0], 2e10, 7e10)[0] == pytest.approx(tail, rel=1e-9)
    with pytest.raises(ValueError):
        S.gap_probabilities(S.fit_trend([1.0, 2.0], [1.0, 2.0]), x, 2e10, 7e10)


def test_count_in_gap_inclusive_versus_strict():
    sizes = [1e10, 2e10, 3e10, 7e10, 1e11]
    assert S.count_in_gap(sizes, 2e10, 7e10, inclusive=True) == 3
    assert S.count_in_gap(sizes, 2e10, 7e10, inclusive=False) == 1


def test_gap_test_end_to_end():
    rng = np.random.default_rng(7)
    x = rng.uniform(X_2018, X_2022, 130)
    y = 8.0 + 0.9 * (x - X_2018) / YEAR + rng.normal(0, 0.8, x.size)
    fit = S.fit_trend(x, y)
    x_test = x[x >= 18262]
    sizes = 10 ** y[x >= 18262]
    result = S.gap_test(fit, x_test, sizes, 2e10, 7e10, n_sims=200_000, seed=1)
    to_json(result)
    p = S.gap_probabilities(fit, x_test, 2e10, 7e10)
    assert result["n_systems"] == x_test.size
    assert result["observed_in_gap"] == S.count_in_gap(sizes, 2e10, 7e10)
    assert result["expected_in_gap"] == pytest.approx(p.sum())
    assert result["p_le_observed_exact"] == pytest.approx(S.poisson_binomial_cdf(p, result["observed_in_gap"]))
    assert result["mc_agrees"] and abs(result["mc_z"]) <= 4
    # drawn from the model itself, the observed count is unremarkable
    assert 0.001 < result["p_le_observed_exact"] < 0.999


# --- break date -------------------------------------------------------------------------------------


def test_break_date_profile_finds_planted_break():
    rng = np.random.default_rng(11)
    x = rng.uniform(-18 * YEAR, X_2022, 500)  # 1952 to 2022
    break_x = 16436.0  # 2015-01-01
    years = (x - break_x) / YEAR
    y = np.where(years < 0, 7.0 + 0.1 * years, 7.5 + 0.9 * years) + rng.normal(0, 0.4, x.size)
    candidates = np.linspace(-10 * YEAR, X_2022 - YEAR, 100)
    profile = S.break_date_profile(x, y, candidates)
    to_json(profile)
    assert abs(profile["best_x"] - break_x) < YEAR
    assert profile["delta_bic"] > 10
    assert len(profile["rss"]) == 100


def test_break_date_rss_equals_two_separate_fits():
    x, y = linear_data(n=80, oom_per_year=0.3, noise_sd=0.6, seed=2)
    x = np.r_[x, x[:5]]  # repeated dates are grouped on one side
    y = np.r_[y, y[:5] + 0.2]
    candidates = [x.min() - 1, x[1], x[20], x[60], x.max() + 1]
    profile = S.break_date_profile(x, y, candidates)
    for c, rss in zip(candidates, profile["rss"]):
        left, right = x < c, x >= c
        if min(np.unique(x[left]).size, np.unique(x[right]).size) < 3:
            assert rss is None
            continue
        direct = sum(np.sum((y[m] - np.polyval(np.polyfit(x[m], y[m], 1), x[m])) ** 2) for m in (left, right))
        assert rss == pytest.approx(direct, rel=1e-9)
    assert profile["rss"][0] is None and profile["rss"][-1] is None and profile["rss"][2] is not None


# --- one trend vs two clusters ---------------------------------------------------------------------


def test_decimal_year_is_calendar_exact():
    years = S.decimal_year(["2018-01-01", "2020-07-01", "2021-07-02", "2021-12-31"])
    assert years[0] == 2018.0
    assert years[1] == pytest.approx(2020 + 182 / 366)  # leap year: 1 July is day 183
    assert years[2] == pytest.approx(2021 + 182 / 365)
    assert 2021.997 < years[3] < 2022.0
    assert float(S.decimal_year("2022-01-01")) == 2022.0


# --- synthetic systems around a trend crossing the gap -----------------------------------------------

LOG_LOWER, LOG_UPPER = np.log10(2e10), np.log10(7e10)


def scan_data(seed, n_fit=60, n_test=40, sd=0.8, keep=1.0):
    """Systems on a trend crossing the gap in the test window (the last n_test); with keep < 1 the tested systems
    in [2e10, 7e10] are moved out of it (to the nearer side, by 0.01-0.2 dex) with probability 1 - keep."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(X_2018, X_2018 + 5 * YEAR, n_fit))
    y = 8.5 + 0.5 * (x - X_2018) / YEAR + rng.normal(0.0, sd, n_fit)
    tested = np.arange(n_fit) >= n_fit - n_test
    inside = np.flatnonzero(tested & (y >= LOG_LOWER) & (y <= LOG_UPPER))
    move = inside[rng.random(inside.size) >= keep]
    shift = rng.uniform(0.01, 0.2, move.size)
    y[move] = np.where(y[move] < (LOG_LOWER + LOG_UPPER) / 2, LOG_LOWER - shift, LOG_UPPER + shift)
    return x, y, tested


# --- local P, posterior predictive ------------------------------------------------------------------


@pytest.mark.parametrize(("n", "k"), [(0, 0), (0, -1), (5, 2), (40, 0), (40, 7), (40, 39), (40, 40), (300, 12)])
def test_local_gap_p_equals_the_full_cdf(n, k):
    p = np.random.default_rng(n + abs(k)).uniform(0, 0.4, n)
    assert S.local_gap_p(p, k) == pytest.approx(S.poisson_binomial_cdf(p, k), rel=1e-12, abs=1e-300)


def trend_data(n, seed, start=X_2018, years=5.0, sd=0.8):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(start, start + years * YEAR, n))
    return x, 8.5 + 0.5 * (x - X_2018) / YEAR + rng.normal(0.0, sd, n)


def test_posterior_predictive_p_approaches_the_plug_in_p_with_many_systems():
    x_test, y_test = trend_data(200, seed=99, start=X_2018 + 3 * YEAR, years=2.0)
    spread = {}
    for n in (40, 5000):
        x, y = trend_data(n, seed=1)
        result = S.posterior_predictive_p(x, y, x_test, 10**y_test, 2e10, 7e10, inclusive=True, n_draws=200, seed=0)
        to_json(result)
        fit = S.fit_trend(x, y)
        observed = S.count_in_gap(10**y_test, 2e10, 7e10)
        assert result["observed_in_gap"] == observed
        assert result["p_plug_in"] == pytest.approx(
            S.poisson_binomial_cdf(S.gap_probabilities(fit, x_test, 2e10, 7e10), observed), rel=1e-9
        )
        spread[n] = result["se"] * math.sqrt(200)  # sd of the per-draw P
        if n == 5000:  # measured: 0.0005 apart
            assert result["p_posterior_predictive"] == pytest.approx(result["p_plug_in"], abs=0.005)
    assert spread[5000] < spread[40] / 3  # measured 0.004 and 0.026


def test_posterior_predictive_p_is_less_extreme_for_a_small_sample():
    for seed in range(3):
        x, y, tested = scan_data(seed, n_fit=30, n_test=20, keep=0.0)
        result = S.posterior_predictive_p(
            x, y, x[tested], 10 ** y[tested], 2e10, 7e10, inclusive=True, n_draws=400, seed=seed
        )
        assert result["observed_in_gap"] == 0
        assert result["p_plug_in"] < 0.05
        # the scatter of the estimates widens the predictive distribution (measured 1.3 to 1.5 x)
        assert result["p_posterior_predictive"] > 1.2 * result["p_plug_in"]
        assert result == S.posterior_predictive_p(
            x, y, x[tested], 10 ** y[tested], 2e10, 7e10, inclusive=True, n_draws=400, seed=seed
        )


def test_posterior_predictive_insufficient_data():
    x, y = trend_data(20, seed=0)
    empty = S.posterior_predictive_p(x, y, [], [], 2e10, 7e10, inclusive=True, n_draws=10, seed=0)
    assert empty["insufficient_data"] and "test window" in empty["reason"]
    flat = S.posterior_predictive_p(
        [1.0, 1.0, 2.0], [8.0, 9.0, 10.0], [3.0], [1e10], 2e10, 7e10, inclusive=True, n_draws=10, seed=0
    )
    assert flat["insufficient_data"]


# --- Holm -----------------------------------------------------------


def test_holm_on_a_known_example():
    # m = 4: 0.005 <= 0.0125, 0.01 <= 0.0167, 0.03 > 0.025 stops; None stays None
    assert S.holm([0.01, 0.04, 0.03, 0.005, None], 0.05) == [True, False, False, True, None]
    assert S.holm([0.01, 0.02], 0.05) == [True, True]
    assert S.holm([0.04, 0.04], 0.05) == [False, False]
    assert S.holm([0.04], 0.05) == [True]
    assert S.holm([], 0.05) == [] and S.holm([None], 0.05) == [None]
    with pytest.raises(ValueError):
        S.holm([1.5], 0.05)


def test_binomial_tails_from_scipy_special_equal_scipy_stats():
    """stats.py avoids importing scipy.stats (1.4 s): its binomial tails and two-sided test must be scipy's."""
    rng = np.random.default_rng(3)
    for _ in range(400):
        n = int(rng.integers(1, 400))
        k = int(rng.integers(-1, n + 2))
        p = float(rng.uniform(0.001, 0.999))
        assert S.binom_cdf(k, n, p) == pytest.approx(sps.binom.cdf(k, n, p), rel=1e-9, abs=1e-300)
        assert S.binom_sf(k, n, p) == pytest.approx(sps.binom.sf(k, n, p), rel=1e-9, abs=1e-300)
        if 0 <= k <= n:
            expected = sps.binomtest(k, n, p).pvalue
            assert S.binom_two_sided_p(k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-200)
    # ties: both tails of a symmetric binomial count (scipy's 1e-7 relative tolerance)
    assert S.binom_two_sided_p(3, 10, 0.5) == pytest.approx(sps.binomtest(3, 10, 0.5).pvalue)
    assert S.binom_two_sided_p(5, 10, 0.5) == 1.0


def test_analysis_modules_do_not_import_scipy_stats():
    code = "import sys, mlsizes.stages.analyze, mlsizes.stages.history; print('scipy.stats' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
