"""Statistical core of the parameter-gap study: trend fits, bootstrap, gap test, break date, clusters.

Pure functions on numpy arrays, no I/O. Conventions follow Epoch's trend tool so that numbers are
comparable with the paper: x is days since 1970-01-01, y is log10(parameters),
OOMs/year = slope_per_day * 365, doubling time (months) = log10(2) / slope_per_day / 30.
Every result converts to plain JSON (floats, ints, str, bool, None): an unavailable number is None,
never NaN or inf, so results can be stored next to each dataset version and diffed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special

from mlsizes.core.settings import in_gap

DAYS_PER_YEAR = 365  # Epoch's trend tool convention
DAYS_PER_MONTH = 30  # idem: doubling times use a 30-day month
LOG10_2 = math.log10(2.0)
MIN_DISTINCT_DATES = 3  # a line through 2 dates has no residual degrees of freedom left to judge it
FOUR_SIGMA_TWO_SIDED = 2.0 * float(special.ndtr(-4.0))  # ~6.3e-5, the "within 4 standard errors" level


# --------------------------------------------------------------------------------------------------
# binomial tails from scipy.special (scipy.stats would add 1.4 s of imports to every analysis command)


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    return 0.0 if k < 0 else 1.0 if k >= n else float(special.bdtr(k, n, p))


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X > k) for X ~ Binomial(n, p)."""
    return 1.0 if k < 0 else 0.0 if k >= n else float(special.bdtrc(k, n, p))


def binom_two_sided_p(k: int, n: int, p: float) -> float:
    """Exact two-sided binomial test (scipy's binomtest): the probability of every outcome no more likely than
    k, with the same relative tolerance (1e-7) for ties."""
    outcomes = np.arange(n + 1)
    log_pmf = special.gammaln(n + 1) - special.gammaln(outcomes + 1) - special.gammaln(n - outcomes + 1)
    pmf = np.exp(log_pmf + special.xlogy(outcomes, p) + special.xlog1py(n - outcomes, -p))
    return float(min(1.0, pmf[pmf <= pmf[k] * (1 + 1e-7)].sum()))


# --------------------------------------------------------------------------------------------------
# time axis and unit conventions


def days_since_epoch(dates) -> np.ndarray:
    """Days (float) since 1970-01-01, the x axis of every fit; NaT becomes NaN.

    Accepts any datetime64 array-like (or ISO strings); sub-day precision is kept as a fraction.
    """
    arr = np.asarray(dates)
    if arr.dtype.kind != "M":
        arr = arr.astype("datetime64[ns]")
    return (arr - np.datetime64("1970-01-01")) / np.timedelta64(1, "D")


def decimal_year(dates) -> np.ndarray:
    """Dates as calendar decimal years (1 January of a year is the whole year, 1 July 2020 is 2020.497): the one
    conversion the plot data, the break profile and the figures share."""
    days = np.asarray(dates)
    days = (days if days.dtype.kind == "M" else days.astype("datetime64[ns]")).astype("datetime64[D]")
    year = days.astype("datetime64[Y]")
    start, end = year.astype("datetime64[D]"), (year + 1).astype("datetime64[D]")
    return 1970.0 + year.astype(float) + (days - start) / (end - start)


def oom_per_year(slope_per_day):
    """Orders of magnitude per year from a log10 slope per day (365-day year)."""
    return np.multiply(slope_per_day, DAYS_PER_YEAR)


def doubling_time_months(slope_per_day):
    """Doubling time in 30-day months; negative for shrinking trends, inf for a zero slope."""
    with np.errstate(divide="ignore"):
        return LOG10_2 / np.multiply(slope_per_day, DAYS_PER_MONTH)


def _num(value) -> float | None:
    """Plain float for JSON, None for anything not finite (so NaN never leaks into results)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _as_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate paired 1-D finite arrays; missing values must be dealt with upstream, not guessed here."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D arrays of equal length, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite; drop or fix missing dates/sizes before fitting")
    return x, y


def _gaussian_loglik(rss, n: int):
    """Maximised Gaussian log-likelihood of a least-squares fit (sigma^2 = RSS / n); +inf if RSS = 0."""
    with np.errstate(divide="ignore"):
        return -0.5 * n * (np.log(2.0 * np.pi * np.asarray(rss, dtype=float) / n) + 1.0)


def _bic(loglik, n_params: int, n: int):
    return -2.0 * loglik + n_params * math.log(n)


# --------------------------------------------------------------------------------------------------
# trend fit


@dataclass(frozen=True)
class TrendFit:
    """OLS fit of log10(size) on date. When insufficient_data is True every number is None."""

    n: int
    n_distinct_dates: int
    insufficient_data: bool = False
    reason: str | None = None
    slope_per_day: float | None = None
    intercept: float | None = None  # fitted log10 size at x = 0, i.e. 1970-01-01
    slope_oom_per_year: float | None = None
    growth_x_per_year: float | None = None
    doubling_time_months: float | None = None
    r2: float | None = None  # None when all sizes are equal (no variance to explain)
    residual_sd: float | None = None  # ddof=2: two fitted coefficients

    def log10_size_at(self, x_days):
        """Fitted log10 size at the given dates (e.g. a period's start and end); None if no fit."""
        if self.insufficient_data:
            return None
        return self.intercept + self.slope_per_day * np.asarray(x_days, dtype=float)

    def to_dict(self) -> dict:
        """The fit as a plain dict for JSON, every field by name."""
        return asdict(self)


def fit_trend(x_days, log10_sizes) -> TrendFit:
    """Fit log10(size) = intercept + slope * x by OLS, reported in the paper's units.

    Returns a result flagged insufficient_data (never an exception, never NaN) with fewer than
    3 distinct dates, because a slope from 2 dates cannot be judged against its own scatter.
    """
    x, y = _as_xy(x_days, log10_sizes)
    n = int(x.size)
    n_distinct = int(np.unique(x).size)
    if n_distinct < MIN_DISTINCT_DATES:
        return TrendFit(
            n=n,
            n_distinct_dates=n_distinct,
            insufficient_data=True,
            reason=f"{n_distinct} distinct dates; at least {MIN_DISTINCT_DATES} are needed",
        )
    x_mean, y_mean = x.mean(), y.mean()
    xc, yc = x - x_mean, y - y_mean  # centring keeps the days-scale sums well conditioned
    slope = float(xc @ yc / (xc @ xc))
    intercept = float(y_mean - slope * x_mean)
    rss = float(np.sum((yc - slope * xc) ** 2))
    tss = float(yc @ yc)
    oom = float(oom_per_year(slope))
    return TrendFit(
        n=n,
        n_distinct_dates=n_distinct,
        slope_per_day=slope,
        intercept=intercept,
        slope_oom_per_year=oom,
        growth_x_per_year=_num(10.0**oom),
        doubling_time_months=_num(doubling_time_months(slope)),
        r2=_num(1.0 - rss / tss) if tss > 0 else None,
        residual_sd=math.sqrt(rss / (n - 2)),
    )


# --------------------------------------------------------------------------------------------------
# bootstrap


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap quantiles of the slope; interval fields are None when they cannot be defined."""

    n_resamples: int
    n_used: int
    n_skipped: int  # resamples with fewer than 3 distinct dates
    jitter: bool
    seed: int
    quantiles: tuple[float, ...]  # percent levels, e.g. (2.5, 50, 97.5)
    slope_oom_per_year: tuple[float, ...] | None
    doubling_time_months: tuple[float, ...] | None
    reason: str | None = None

    def to_dict(self) -> dict:
        """The result as a plain dict for JSON, every field by name."""
        return asdict(self)


def bootstrap_slope(
    x_days,
    log10_sizes,
    n_resamples: int = 1000,
    seed: int = 0,
    jitter: bool = True,
    quantiles: tuple[float, ...] = (2.5, 50.0, 97.5),
    noise_ratio: float = 2.0,
) -> BootstrapResult:
    """Epoch's bootstrap: resample systems with replacement, jitter each size by U(1/2, 2) in ratio.

    The jitter (log10 noise U(-log10 r, +log10 r), r = noise_ratio) stands for the imprecision of reported
    sizes. Doubling-time quantiles are the empirical quantiles of the resampled doubling times; they
    are None when resampled slopes change sign, since the doubling time then passes through infinity.
    """
    x, y = _as_xy(x_days, log10_sizes)
    if n_resamples < 1:
        raise ValueError("n_resamples must be positive")
    if not noise_ratio >= 1:
        raise ValueError(f"noise_ratio must be at least 1, got {noise_ratio}")
    noise = math.log10(noise_ratio)
    n = x.size
    levels = tuple(float(q) for q in quantiles)

    def result(slopes: np.ndarray, n_skipped: int, reason: str | None = None) -> BootstrapResult:
        slope_q = dt_q = None
        if slopes.size:
            slope_q = tuple(float(v) for v in np.percentile(oom_per_year(slopes), levels))
            if np.all(slopes > 0) or np.all(slopes < 0):
                dt_q = tuple(float(v) for v in np.percentile(doubling_time_months(slopes), levels))
            else:
                reason = "resampled slopes change sign: doubling time is unbounded"
        return BootstrapResult(
            n_resamples=n_resamples,
            n_used=int(slopes.size),
            n_skipped=n_skipped,
            jitter=jitter,
            seed=seed,
            quantiles=levels,
            slope_oom_per_year=slope_q,
            doubling_time_months=dt_q,
            reason=reason,
        )

    if np.unique(x).size < MIN_DISTINCT_DATES:
        return result(np.empty(0), n_resamples, "fewer than 3 distinct dates in the data")

    rng = np.random.default_rng(seed)
    # Resamples are processed in blocks so memory stays bounded for large n; the stream of random
    # numbers depends only on (seed, n, n_resamples), so results stay deterministic.
    block = max(1, 2_000_000 // n)
    slopes = []
    for start in range(0, n_resamples, block):
        m = min(block, n_resamples - start)
        idx = rng.integers(0, n, size=(m, n))
        xs, ys = x[idx], y[idx]
        if jitter:
            ys = ys + rng.uniform(-noise, noise, size=ys.shape)
        # >= 3 distinct dates  <=>  some date differs from both the row's min and max (no sort needed)
        lo, hi = xs.min(axis=1, keepdims=True), xs.max(axis=1, keepdims=True)
        ok = np.any((xs != lo) & (xs != hi), axis=1)
        xc = xs[ok] - xs[ok].mean(axis=1, keepdims=True)
        slopes.append(np.einsum("ij,ij->i", xc, ys[ok]) / np.einsum("ij,ij->i", xc, xc))
    slopes = np.concatenate(slopes)
    return result(slopes, n_resamples - slopes.size)


# --------------------------------------------------------------------------------------------------
# gap test


def gap_probabilities(fit: TrendFit, x_test_days, lower: float, upper: float) -> np.ndarray:
    """P(lower <= size <= upper) for each test date under log10 size ~ Normal(a + b x, s^2).

    lower and upper are sizes in parameters (e.g. 2e10, 7e10). The model is continuous, so the
    probability is the same for an open or closed interval; inclusive/strict only matters for the
    observed count (see count_in_gap). s is the fit's residual_sd, taken as known (plug-in).
    """
    if fit.insufficient_data:
        raise ValueError(f"cannot compute gap probabilities from an insufficient fit: {fit.reason}")
    if not 0 < lower < upper:
        raise ValueError(f"need 0 < lower < upper, got {lower}, {upper}")
    if fit.residual_sd == 0:
        raise ValueError("residual sd is 0: the normal model is degenerate")
    mu = fit.log10_size_at(x_test_days)
    z_lo = (math.log10(lower) - mu) / fit.residual_sd
    z_hi = (math.log10(upper) - mu) / fit.residual_sd
    # Difference of upper tails when the interval lies above the mean avoids cancellation (1 - 1).
    p = np.where(
        z_lo > 0,
        special.ndtr(-z_lo) - special.ndtr(-z_hi),
        special.ndtr(z_hi) - special.ndtr(z_lo),
    )
    return np.clip(p, 0.0, 1.0)


def count_in_gap(sizes, lower: float, upper: float, inclusive: bool = True) -> int:
    """Observed number of systems with size in the gap (see in_gap)."""
    sizes = np.asarray(sizes, dtype=float)
    if not np.isfinite(sizes).all():
        raise ValueError("sizes must be finite")
    return int(np.count_nonzero(in_gap(sizes, lower, upper, inclusive)))


def _as_probabilities(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if p.ndim != 1:
        raise ValueError("p must be a 1-D array of probabilities")
    if not (np.isfinite(p).all() and np.all((p >= 0) & (p <= 1))):
        raise ValueError("probabilities must lie in [0, 1]")
    return p


def poisson_binomial_pmf(p) -> np.ndarray:
    """Exact pmf of K = sum of independent Bernoulli(p_i), as an array of length n + 1.

    Dynamic programming adding one system at a time: O(n^2), every step is a convex combination of
    non-negative numbers, so there is no cancellation and tiny tails (e.g. P(K=0) ~ 1e-8) stay exact.
    """
    p = _as_probabilities(p)
    pmf = np.zeros(p.size + 1)
    pmf[0] = 1.0
    for j, pj in enumerate(p):
        pmf[1 : j + 2] = pmf[1 : j + 2] * (1.0 - pj) + pmf[: j + 1] * pj
        pmf[0] *= 1.0 - pj
    return pmf


def poisson_binomial_cdf(p, k: int) -> float:
    """Exact P(K <= k) for K a Poisson-binomial variable with success probabilities p."""
    if k < 0:
        return 0.0
    return float(min(1.0, poisson_binomial_pmf(p)[: k + 1].sum()))


def monte_carlo_cdf(p, k: int, n_sims: int = 1_000_000, seed: int = 0, chunk_size: int = 20_000) -> dict:
    """Simulate the gap model directly (system i lands in the gap iff U_i < p_i) and estimate P(K <= k).

    An independent check of the exact computation. Simulations run in chunks of chunk_size, so peak
    memory is ~ 9 bytes x len(p) x chunk_size whatever n_sims is.
    Returns {"estimate", "se", "hits", "n_sims", "seed"}; se = sqrt(est (1 - est) / n_sims).
    """
    p = _as_probabilities(p)
    if n_sims < 1 or chunk_size < 1:
        raise ValueError("n_sims and chunk_size must be positive")
    rng = np.random.default_rng(seed)
    column = p[:, None]
    hits = 0
    for start in range(0, n_sims, chunk_size):
        m = min(chunk_size, n_sims - start)
        # layout (systems, sims): the per-simulation count is a contiguous sum over rows
        landed = rng.random((p.size, m)) < column
        counts = landed.sum(axis=0, dtype=np.int32)
        hits += int(np.count_nonzero(counts <= k))
    estimate = hits / n_sims
    return {
        "estimate": estimate,
        "se": math.sqrt(estimate * (1.0 - estimate) / n_sims),
        "hits": hits,
        "n_sims": n_sims,
        "seed": seed,
    }


class MonteCarloDisagreement(RuntimeError):
    """The simulation and the exact computation of the same model disagree: one of them is wrong."""


def mc_agreement(exact: float, hits: int, n_sims: int) -> dict:
    """Check a Monte Carlo hit count against an exact probability at the 4-standard-error level.

    The standard error is taken from the exact p, sqrt(p (1 - p) / n_sims), so a run with zero hits
    (SE of the estimate = 0) is still judged. Because the normal approximation behind "4 SE" fails
    when few hits are expected (p ~ 1e-6 with 1e6 simulations), agreement is decided with the exact
    binomial distribution of the hit count at the same two-sided level (6.3e-5); z is for reading.
    Returns {"z", "expected_se", "pvalue", "agrees"}.
    """
    expected_se = math.sqrt(exact * (1.0 - exact) / n_sims)
    z = (hits / n_sims - exact) / expected_se if expected_se > 0 else None
    lower_tail = binom_cdf(hits, n_sims, exact)
    upper_tail = binom_sf(hits - 1, n_sims, exact)
    pvalue = float(min(1.0, 2.0 * min(lower_tail, upper_tail)))
    return {"z": _num(z), "expected_se": expected_se, "pvalue": pvalue, "agrees": bool(pvalue >= FOUR_SIGMA_TWO_SIDED)}


def gap_test(
    fit: TrendFit,
    x_test_days,
    test_sizes,
    lower: float,
    upper: float,
    *,
    inclusive: bool = True,
    n_sims: int = 1_000_000,
    seed: int = 0,
    chunk_size: int = 20_000,
    strict: bool = True,
) -> dict:
    """How surprising is the observed emptiness of [lower, upper] if sizes scatter around the trend?

    K = number of test systems in the gap is Poisson-binomial with p_i from gap_probabilities.
    Reports P(K <= observed) exactly and by Monte Carlo, and checks that they agree (raising
    MonteCarloDisagreement when strict, otherwise only flagging mc_agrees=False).
    """
    x_test = np.asarray(x_test_days, dtype=float)
    test_sizes = np.asarray(test_sizes, dtype=float)
    if x_test.shape != test_sizes.shape:
        raise ValueError("x_test_days and test_sizes must have the same shape")
    p = gap_probabilities(fit, x_test, lower, upper)
    observed = count_in_gap(test_sizes, lower, upper, inclusive)
    exact = poisson_binomial_cdf(p, observed)
    mc = monte_carlo_cdf(p, observed, n_sims=n_sims, seed=seed, chunk_size=chunk_size)
    check = mc_agreement(exact, mc["hits"], n_sims)
    result = {
        "n_systems": int(p.size),
        "lower": float(lower),
        "upper": float(upper),
        "inclusive": bool(inclusive),
        "observed_in_gap": observed,
        "expected_in_gap": float(p.sum()),
        "p_le_observed_exact": exact,
        "mc_estimate": mc["estimate"],
        "mc_se": mc["se"],
        "mc_hits": mc["hits"],
        "mc_n_sims": n_sims,
        "mc_seed": seed,
        "mc_expected_se": check["expected_se"],
        "mc_z": check["z"],
        "mc_check_pvalue": check["pvalue"],
        "mc_agrees": check["agrees"],
    }
    if strict and not check["agrees"]:
        raise MonteCarloDisagreement(
            f"exact P(K<={observed})={exact:.3g} but Monte Carlo gave {mc['hits']}/{n_sims} "
            f"(binomial p-value {check['pvalue']:.2g})"
        )
    return result


# --------------------------------------------------------------------------------------------------
# gap test: parameter uncertainty, Holm


def _interval_probabilities(mu, sd, lo, hi) -> np.ndarray:
    """P(lo <= Y <= hi) for Y ~ Normal(mu, sd^2), arguments in log10 broadcast together (gap_probabilities' form)."""
    z_lo = (lo - mu) / sd
    z_hi = (hi - mu) / sd
    above = z_lo > 0  # both edges above the mean: difference of upper tails, Phi(-z_lo) - Phi(-z_hi)
    p = special.ndtr(np.where(above, -z_lo, z_hi)) - special.ndtr(np.where(above, -z_hi, z_lo))
    return np.clip(p, 0.0, 1.0)


def _cdf_rows(p: np.ndarray, k) -> np.ndarray:
    """Exact P(K_r <= k_r) for each row r of p, K_r Poisson-binomial with the row's probabilities.

    poisson_binomial_pmf's recurrence (same operations, so the same rounding) kept to the states 0..k: mass above k
    never flows back, so this is exact in O(n (k + 1)) per row instead of O(n^2). Rows are run together, grouped by
    the power of two above k + 1 so one large k does not widen every row; k < 0 gives 0, k >= n gives 1.
    """
    p = np.asarray(p, dtype=float)
    k = np.broadcast_to(np.asarray(k, dtype=np.int64), p.shape[:1])
    n = p.shape[1]
    out = np.where(k >= n, 1.0, 0.0)
    todo = (k >= 0) & (k < n)
    if not todo.any():
        return out
    widths = np.minimum(np.left_shift(1, np.ceil(np.log2(np.maximum(k, 0) + 1.0)).astype(np.int64)), n + 1)
    for width in np.unique(widths[todo]):
        rows = np.flatnonzero(todo & (widths == width))
        hit = np.ascontiguousarray(p[rows].T)  # (systems, rows): one contiguous row per DP step
        miss = 1.0 - hit
        state = np.zeros((rows.size, int(width)))
        state[:, 0] = 1.0
        moved = np.empty((rows.size, int(width) - 1))  # written in place: no fresh arrays per step
        for hit_j, miss_j in zip(hit[:, :, None], miss[:, :, None]):
            np.multiply(state[:, :-1], hit_j, out=moved)
            state[:, 1:] *= miss_j
            state[:, 1:] += moved
            state[:, 0] *= miss_j[:, 0]
        kept = np.arange(int(width)) <= k[rows][:, None]
        out[rows] = np.minimum(1.0, np.where(kept, state, 0.0).sum(axis=1))
    return out


def local_gap_p(p, observed: int) -> float:
    """Exact local P of the gap test, P(K <= observed) for K Poisson-binomial with probabilities p.

    The number poisson_binomial_cdf gives (same recurrence), computed in O(n (observed + 1)) instead of O(n^2).
    """
    p = _as_probabilities(p)
    return float(_cdf_rows(p[None, :], int(observed))[0])


def posterior_predictive_p(
    x_fit,
    y_fit,
    x_test,
    test_sizes,
    lower: float,
    upper: float,
    *,
    inclusive: bool,
    n_draws: int,
    seed: int,
) -> dict:
    """The local P = P(K <= observed) averaged over the posterior of the trend's intercept, slope and sd.

    Flat reference prior p(a, b, log s) ~ 1 on the OLS model fitted to (x_fit, y_fit): s^2 | data ~
    (n - 2) s_hat^2 / chi2(n - 2), and (a, b) | s ~ Normal(OLS estimate, s^2 (X'X)^-1), drawn at the centred date
    (level and slope are then independent). test_sizes are in parameters; each draw's P is exact.
    Returns {"p_posterior_predictive", "se" (sd of the per-draw P / sqrt(n_draws)), "n_draws", "seed",
    "observed_in_gap", "p_plug_in" (the local P at the fitted values)}, or {"insufficient_data": True, "reason"}.
    """
    x, y = _as_xy(x_fit, y_fit)
    x_test = np.asarray(x_test, dtype=float)
    test_sizes = np.asarray(test_sizes, dtype=float)
    if x_test.ndim != 1 or x_test.shape != test_sizes.shape:
        raise ValueError("x_test and test_sizes must be 1-D arrays of equal length")
    if not 0 < lower < upper:
        raise ValueError(f"need 0 < lower < upper, got {lower}, {upper}")
    if n_draws < 1:
        raise ValueError("n_draws must be positive")
    fit = fit_trend(x, y)
    if fit.insufficient_data:
        return {"insufficient_data": True, "reason": fit.reason}
    if x_test.size == 0:
        return {"insufficient_data": True, "reason": "no systems in the test window"}
    if not fit.residual_sd:
        return {"insufficient_data": True, "reason": "no scatter around the trend"}
    observed = count_in_gap(test_sizes, lower, upper, inclusive)
    level, slope, sd, x_mean = posterior_draws(x, y, n_draws, seed)
    bounds = (np.log10(lower), np.log10(upper))
    block = max(1, 1_000_000 // x_test.size)
    per_draw = []
    for start in range(0, n_draws, block):
        part = slice(start, start + block)
        mu = level[part, None] + slope[part, None] * (x_test - x_mean)
        per_draw.append(_cdf_rows(_interval_probabilities(mu, sd[part, None], *bounds), observed))
    per_draw = np.concatenate(per_draw)
    return {
        "p_posterior_predictive": float(per_draw.mean()),
        "se": _num(per_draw.std(ddof=1) / math.sqrt(n_draws)) if n_draws > 1 else None,
        "n_draws": int(n_draws),
        "seed": seed,
        "observed_in_gap": observed,
        "p_plug_in": local_gap_p(gap_probabilities(fit, x_test, lower, upper), observed),
    }


def posterior_draws(x_fit, y_fit, n_draws: int, seed: int):
    """Draws of (level at the mean date, slope per day, sd) from the posterior of the OLS trend under the flat
    reference prior p(a, b, log s) ~ 1: s^2 | data ~ (n - 2) s_hat^2 / chi2(n - 2), (level, slope) | s normal and
    independent at the centred date. Returns (level, slope, sd, x_mean)."""
    x, y = _as_xy(x_fit, y_fit)
    fit = fit_trend(x, y)
    if fit.insufficient_data or not fit.residual_sd:
        raise ValueError(f"cannot draw from the posterior of an insufficient fit: {fit.reason or 'no scatter'}")
    n = x.size
    x_mean = x.mean()
    sxx = float(np.sum((x - x_mean) ** 2))
    rng = np.random.default_rng(seed)
    sd = fit.residual_sd * np.sqrt((n - 2) / rng.chisquare(n - 2, n_draws))
    z = rng.standard_normal((n_draws, 2))
    level = y.mean() + sd * z[:, 0] / math.sqrt(n)
    slope = fit.slope_per_day + sd * z[:, 1] / math.sqrt(sxx)
    return level, slope, sd, x_mean


def holm(pvalues, alpha: float) -> list:
    """Holm-Bonferroni at family-wise level alpha: for each p, True when rejected (None entries stay None).

    The family is the non-None p-values; sorted ascending, the j-th smallest (from 0) is rejected while
    p <= alpha / (m - j), and every one after the first failure is kept.
    """
    values = list(pvalues)
    family = sorted((float(v), i) for i, v in enumerate(values) if v is not None)
    if any(not 0 <= v <= 1 for v, _ in family):
        raise ValueError("p-values must lie in [0, 1]")
    decisions = [None if v is None else False for v in values]
    for rank, (value, i) in enumerate(family):
        if value > alpha / (len(family) - rank):
            break
        decisions[i] = True
    return decisions


def normality_test(values) -> dict:
    """Jarque-Bera test of normality: JB = n/6 (S^2 + K^2/4) from the skewness S and excess kurtosis K, chi-square
    with 2 degrees of freedom under normality (its tail is exp(-JB / 2)); asymptotic, so read it with n >= ~30."""
    v = np.asarray(values, dtype=float)
    n = v.size
    if n < 3:
        raise ValueError("the normality test needs at least 3 values")
    c = v - v.mean()
    m2 = float(np.mean(c**2))
    skew = float(np.mean(c**3)) / m2**1.5 if m2 > 0 else 0.0
    kurt = float(np.mean(c**4)) / m2**2 - 3.0 if m2 > 0 else 0.0
    jb = n / 6.0 * (skew**2 + kurt**2 / 4.0)
    return {"skewness": skew, "excess_kurtosis": kurt, "jarque_bera": jb, "p": math.exp(-jb / 2.0)}


def normal_quantiles(levels) -> np.ndarray:
    """Standard normal quantiles at the given levels."""
    return special.ndtri(np.asarray(levels, dtype=float))


# --------------------------------------------------------------------------------------------------
# break date


def _segment_rss(sums: np.ndarray) -> np.ndarray:
    """RSS of an OLS line from the sums (count, x, y, xx, xy, yy) of each row's segment."""
    n, sx, sy, sxx, sxy, syy = sums.T
    with np.errstate(divide="ignore", invalid="ignore"):
        cxx = sxx - sx * sx / n
        cxy = sxy - sx * sy / n
        cyy = syy - sy * sy / n
        return np.maximum(cyy - cxy * cxy / cxx, 0.0)


def break_date_profile(x_days, log10_sizes, candidate_x) -> dict:
    """Profile a two-segment fit (separate OLS line before / from each candidate date) over candidates.

    Gives the evidence for a change of trend (e.g. the paper's 2018 era split) and where it is best
    placed. The left segment is x < candidate, the right x >= candidate; candidates leaving fewer than
    3 distinct dates on a side are skipped (rss/bic None). BIC uses the Gaussian likelihood with one
    shared sigma and 6 parameters (2 lines, sigma, the break date); the one-line BIC (3 parameters)
    is given for comparison. All candidates are evaluated at once from cumulative sums.
    Returns {"n", "candidates", "rss", "bic", "n_params_two_segment", "best_x", "best_rss",
    "best_bic", "one_line_bic", "delta_bic" (one line minus best two-segment), "reason"}.
    """
    x, y = _as_xy(x_days, log10_sizes)
    candidates = np.atleast_1d(np.asarray(candidate_x, dtype=float))
    n = x.size
    order = np.argsort(x, kind="stable")
    xs = x[order]
    # centre and use years so the cumulative sums stay small and the differences well conditioned
    t = (xs - xs.mean()) / DAYS_PER_YEAR
    v = y[order] - y.mean()
    columns = np.column_stack([np.ones(n), t, v, t * t, t * v, v * v])
    prefix = np.vstack([np.zeros(6), np.cumsum(columns, axis=0)])
    distinct_prefix = np.r_[0, np.cumsum(np.diff(xs, prepend=-np.inf) != 0)]

    split = np.searchsorted(xs, candidates, side="left")
    left, right = prefix[split], prefix[-1] - prefix[split]
    distinct_left = distinct_prefix[split]
    valid = (distinct_left >= MIN_DISTINCT_DATES) & (distinct_prefix[-1] - distinct_left >= MIN_DISTINCT_DATES)
    rss = np.where(valid, _segment_rss(left) + _segment_rss(right), np.nan)

    n_params = 6
    bic = _bic(_gaussian_loglik(rss, n), n_params, n)
    one_line_bic = None
    if distinct_prefix[-1] >= MIN_DISTINCT_DATES:
        one_line_bic = _num(_bic(_gaussian_loglik(_segment_rss(prefix[-1:])[0], n), 3, n))

    result = {
        "n": int(n),
        "candidates": [float(c) for c in candidates],
        "rss": [_num(r) for r in rss],
        "bic": [_num(b) for b in bic],
        "n_params_two_segment": n_params,
        "best_x": None,
        "best_rss": None,
        "best_bic": None,
        "one_line_bic": one_line_bic,
        "delta_bic": None,
        "reason": None,
    }
    if not valid.any():
        result["reason"] = "no candidate leaves 3 distinct dates on both sides"
        return result
    best = int(np.nanargmin(rss))
    result.update(best_x=float(candidates[best]), best_rss=_num(rss[best]), best_bic=_num(bic[best]))
    if one_line_bic is not None and result["best_bic"] is not None:
        result["delta_bic"] = one_line_bic - result["best_bic"]
    return result
