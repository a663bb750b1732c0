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
# gap test: look-elsewhere correction, parameter uncertainty, change between windows, power, Holm

SCAN_SCREEN_CANDIDATES = 10  # positions per approximate ranking whose local P is then computed exactly
_KERNEL_Z = 9.0  # a window more than 9 sd from a system's mean holds it with probability < 1e-18: left out
_MOMENT_STEPS_PER_SD = 16  # resolution of the screening moments (_window_moments)


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
        for hit_j, miss_j in zip(hit[:, :, None], miss[:, :, None]):
            state[:, 1:] = state[:, 1:] * miss_j + state[:, :-1] * hit_j
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


def _window_moments(mu: np.ndarray, sd: np.ndarray, g0: float, g1: float, width: float, grid_step: float):
    """Sums over systems of p, p(1-p) and p(1-p)(1-2p) (mean, variance, third cumulant of K) for windows
    [L, L + width] with lower edges L on a regular grid from g0 past g1, for B data sets (mu: (B, n) fitted log10
    means, sd: (B,)). Returns (step, mean, var, third), the sums of shape (B, n_points).

    p depends only on the distance of a system's mean from L, so each sum is a correlation of the means, binned
    linearly on the grid, with a kernel: one FFT per data set instead of positions x systems normal cdfs. The sums
    vary on the scale of sd, so the grid's step is sd / _MOMENT_STEPS_PER_SD (never finer than grid_step); binning
    and interpolation then err by ~1e-3 relatively. These moments only rank positions for exact evaluation
    (_scan_min_local_p): no reported P comes from them.
    """
    n_sets = mu.shape[0]
    step = max(grid_step, float(sd.min()) / _MOMENT_STEPS_PER_SD)
    n_points = max(2, int(math.ceil((g1 - g0) / step)) + 1)
    reach = _KERNEL_Z * float(sd.max())
    t_min = int(math.floor(-reach / step)) - 1
    t_max = int(math.ceil((width + reach) / step)) + 1
    offsets = np.arange(t_min, t_max + 1) * step  # mean minus lower edge
    p = _interval_probabilities(offsets[None, :], sd[:, None], 0.0, width)
    var = p * (1.0 - p)
    kernels = np.stack([p, var, var * (1.0 - 2.0 * p)], axis=1)  # (B, 3, L)
    n_bins = n_points + offsets.size - 1
    u = (mu - g0) / step
    j = np.floor(u)
    frac = u - j
    col = j.astype(np.int64) - t_min
    row = np.arange(n_sets)[:, None] * n_bins
    counts = np.zeros(n_sets * n_bins)
    for c, weight in ((col, 1.0 - frac), (col + 1, frac)):
        ok = (c >= 0) & (c < n_bins)
        counts += np.bincount((row + c)[ok], weight[ok], minlength=n_sets * n_bins)
    n_fft = 1 << (n_bins - 1).bit_length()  # no wrap-around for the n_points outputs
    spectrum = np.fft.rfft(counts.reshape(n_sets, n_bins), n_fft)[:, None, :]
    sums = np.fft.irfft(spectrum * np.conj(np.fft.rfft(kernels, n_fft)), n_fft)[..., :n_points]
    return step, sums[:, 0], np.maximum(sums[:, 1], 0.0), sums[:, 2]


def _scan_min_local_p(mu, sd, y_tested, chosen, grid, inclusive: bool):
    """The scan for B data sets: min over window positions of the exact local P.

    mu, y_tested: (B, n) fitted log10 means and log10 sizes of the tested systems, sd: (B,) residual sds;
    chosen = (log10 lower, log10 upper), the tested window; grid = (g0, step, n_grid), lower edges in log10.
    Positions: the chosen window, the grid, and windows whose lower or upper edge is a tested system's size (lower
    edge within the grid's range), all as wide as the chosen one. Each position's count is exact; the local P is
    approximated from the moments of K (normal with continuity correction, and its Cornish-Fisher skew correction)
    and computed exactly for the SCAN_SCREEN_CANDIDATES smallest of each ranking and for the chosen window.
    Returns (min local P, lower edge of the min (log10), local P of the chosen window), each of shape (B,).
    """
    n_sets, n = y_tested.shape
    g0, step, n_grid = grid
    lo_c, hi_c = chosen
    width = hi_c - lo_c
    grid_lo = g0 + step * np.arange(n_grid)
    column = np.ones((n_sets, 1))
    lo = np.concatenate([lo_c * column, column * grid_lo, y_tested, y_tested - width], axis=1)
    hi = np.concatenate([hi_c * column, column * (grid_lo + width), y_tested + width, y_tested], axis=1)
    valid = (lo >= grid_lo[0]) & (lo <= grid_lo[-1])
    valid[:, 0] = True

    counts = np.empty(lo.shape, dtype=np.int64)
    for b in range(n_sets):
        ys = np.sort(y_tested[b])
        if inclusive:
            counts[b] = np.searchsorted(ys, hi[b], "right") - np.searchsorted(ys, lo[b], "left")
        else:
            counts[b] = np.searchsorted(ys, hi[b], "left") - np.searchsorted(ys, lo[b], "right")
    counts[:, 0] = np.count_nonzero(in_gap(y_tested, lo_c, hi_c, inclusive), axis=1)

    # moments of K at every position, interpolated along the moments' grid (the chosen window's are not needed)
    moment_step, *moments = _window_moments(mu, sd, g0, grid_lo[-1], width, step)
    at = np.clip((lo - g0) / moment_step, 0.0, moments[0].shape[1] - 1.0)
    left = np.minimum(at.astype(np.int64), moments[0].shape[1] - 2)
    frac = at - left
    mean, var, third = (
        np.take_along_axis(m, left, 1) * (1.0 - frac) + np.take_along_axis(m, left + 1, 1) * frac for m in moments
    )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sdk = np.sqrt(var)
        z = np.where(sdk > 1e-9, (counts + 0.5 - mean) / sdk, np.where(counts + 0.5 < mean, -np.inf, np.inf))
        skew = np.where(sdk > 1e-9, third / sdk**3, 0.0)
        z_skew = np.where(np.isfinite(z), z - skew * (z * z - 1.0) / 6.0, z)
    ranked = []
    for score in (z, z_skew):
        score = np.where(valid & ~np.isnan(score), score, np.inf)
        score[:, 0] = np.inf  # the chosen window is always evaluated: column 0 below
        m = min(SCAN_SCREEN_CANDIDATES, score.shape[1])
        ranked.append(np.argpartition(score, m - 1, axis=1)[:, :m])
    cand = np.sort(np.concatenate([np.zeros((n_sets, 1), dtype=np.int64), *ranked], axis=1), axis=1)
    # the two rankings mostly agree: each position is evaluated once (the chosen window, 0, stays first)
    once = np.concatenate([np.ones((n_sets, 1), dtype=bool), cand[:, 1:] != cand[:, :-1]], axis=1)
    once &= np.take_along_axis(valid, cand, 1)
    sets, cols = np.nonzero(once)
    lo_k, hi_k = np.take_along_axis(lo, cand, 1), np.take_along_axis(hi, cand, 1)
    p = _interval_probabilities(mu[sets], sd[sets, None], lo_k[sets, cols, None], hi_k[sets, cols, None])
    local = np.full(cand.shape, np.inf)
    local[sets, cols] = _cdf_rows(p, np.take_along_axis(counts, cand, 1)[sets, cols])
    best = np.argmin(local, axis=1)  # ties go to the chosen window (column 0), then to the earlier candidate
    rows = np.arange(n_sets)
    return local[rows, best], lo_k[rows, best], local[:, 0]


def scan_corrected_p(
    x_fit,
    y_fit,
    tested,
    lower: float,
    upper: float,
    *,
    inclusive: bool,
    n_sims: int,
    seed: int,
    grid_lo: float = 1e6,
    grid_hi: float = 1e13,
    grid_step_dex: float = 0.01,
) -> dict:
    """Look-elsewhere correction of the local gap test: the bounds were read off the data.

    The trend is fitted on (x_fit, y_fit) (days, log10 sizes as np.log10 gives them: the bounds are compared in
    log10, so a system of exactly `upper` parameters sits on the edge); `tested` is a boolean mask over those
    systems (the test is in-sample). The statistic is the local P = P(K <= observed) at [lower, upper] with the
    given bounds convention (in_gap). The scan runs the same test with a window as wide in log10 at every lower
    edge of a grid from grid_lo to grid_hi in steps of grid_step_dex, at the windows whose lower or upper edge is a
    tested system's size (where counts jump; lower edge within the grid's range), and at [lower, upper] itself.
    Calibration by parametric bootstrap: n_sims data sets y* = a + b x_fit + s N(0, 1) from the fitted trend, each
    re-fitted, and the min local P over all positions of each (anchors at its own sizes).

    p_scan_corrected = share of simulations (hits / n_sims) whose min local P <= the observed local P, floored at the
    observed local P: the scan includes the tested window, whose local P alone falls that low with probability ~
    that P, so the corrected P cannot be smaller (the floor only acts when fewer than ~ n_sims x local P simulations
    hit). se = sqrt(p (1 - p) / n_sims). With few hits the simulations only bound the corrected P: p_upper_95 is the
    one-sided 95% Clopper-Pearson upper limit of the share (0.015 for 0 hits in 200), so with 0 hits quote
    observed_local_p <= P <= p_upper_95.
    For a window fixed in advance p_scan_corrected is conservative (its local P is not the data's minimum). The
    calibrated P, uniform under the model, is p_min_window: the share whose min local P <= the data's own min
    local P, i.e. for "the most significant window anywhere"; p_scan_corrected >= p_min_window, with equality
    when the tested window is the data's most significant one, the case of bounds read off the data.
    Each data set's min is exact at the SCAN_SCREEN_CANDIDATES positions that rank lowest by normal and skew-
    corrected approximations (see _scan_min_local_p), which is where it lies unless both approximations miss it.
    Returns {"p_scan_corrected", "se", "p_upper_95", "hits", "n_sims", "seed", "observed_local_p", "min_local_p",
    "min_local_p_lower" (in parameters), "p_min_window", "positions" (grid size), "log_width"}, or
    {"insufficient_data": True, "reason"}.
    """
    x, y = _as_xy(x_fit, y_fit)
    tested = np.asarray(tested)
    if tested.dtype != bool or tested.shape != x.shape:
        raise ValueError("tested must be a boolean mask over the fitted systems")
    if not 0 < lower < upper:
        raise ValueError(f"need 0 < lower < upper, got {lower}, {upper}")
    if n_sims < 1:
        raise ValueError("n_sims must be positive")
    if not (0 < grid_lo < grid_hi and grid_step_dex > 0):
        raise ValueError("need 0 < grid_lo < grid_hi and a positive grid_step_dex")
    fit = fit_trend(x, y)
    if fit.insufficient_data:
        return {"insufficient_data": True, "reason": fit.reason}
    if not tested.any():
        return {"insufficient_data": True, "reason": "no systems in the test window"}
    if not fit.residual_sd:
        return {"insufficient_data": True, "reason": "no scatter around the trend"}

    chosen = (float(np.log10(lower)), float(np.log10(upper)))
    g0 = math.log10(grid_lo)
    n_grid = int(math.floor((math.log10(grid_hi) - g0) / grid_step_dex + 1e-9)) + 1
    if n_grid < 2:
        raise ValueError("the grid needs at least two positions")
    grid = (g0, float(grid_step_dex), n_grid)
    x_t = x[tested]

    data_min, data_lower, data_local = _scan_min_local_p(
        fit.log10_size_at(x_t)[None, :], np.array([fit.residual_sd]), y[tested][None, :], chosen, grid, inclusive
    )
    observed = float(data_local[0])

    rng = np.random.default_rng(seed)
    n = x.size
    x_mean = x.mean()
    xc = x - x_mean
    sxx = float(xc @ xc)
    trend = fit.log10_size_at(x)
    block = max(1, 100_000 // (n_grid + 2 * x_t.size))  # bounded memory; the random stream does not depend on it
    sim_min = []
    for start in range(0, n_sims, block):
        ys = trend + fit.residual_sd * rng.standard_normal((min(block, n_sims - start), n))
        level = ys.mean(axis=1, keepdims=True)
        yc = ys - level
        slope = (yc @ xc / sxx)[:, None]
        sd = np.sqrt(np.sum((yc - slope * xc) ** 2, axis=1) / (n - 2))
        mu = level + slope * (x_t - x_mean)
        sim_min.append(_scan_min_local_p(mu, sd, ys[:, tested], chosen, grid, inclusive)[0])
    sim_min = np.concatenate(sim_min)
    hits = int(np.count_nonzero(sim_min <= observed))
    p = max(hits / n_sims, observed)
    upper_95 = 1.0 if hits == n_sims else float(special.betaincinv(hits + 1, n_sims - hits, 0.95))
    return {
        "p_scan_corrected": p,
        "se": math.sqrt(p * (1.0 - p) / n_sims),
        "p_upper_95": max(upper_95, observed),
        "hits": hits,
        "n_sims": int(n_sims),
        "seed": seed,
        "observed_local_p": observed,
        "min_local_p": float(data_min[0]),
        # the chosen window wins ties, and is then reported as given rather than as 10 ** log10(lower)
        "min_local_p_lower": float(lower) if data_min[0] == observed else _num(10.0 ** data_lower[0]),
        "p_min_window": int(np.count_nonzero(sim_min <= data_min[0])) / n_sims,
        "positions": n_grid,
        "log_width": chosen[1] - chosen[0],
    }


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
    n = x.size
    x_mean = x.mean()
    sxx = float(np.sum((x - x_mean) ** 2))
    rng = np.random.default_rng(seed)
    sd = fit.residual_sd * np.sqrt((n - 2) / rng.chisquare(n - 2, n_draws))
    z = rng.standard_normal((n_draws, 2))
    level = y.mean() + sd * z[:, 0] / math.sqrt(n)  # log10 size at the mean date
    slope = fit.slope_per_day + sd * z[:, 1] / math.sqrt(sxx)
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


def change_test(observed_first: int, expected_first: float, observed_newest: int, expected_newest: float) -> dict:
    """Has the in-gap rate relative to expectation changed between two non-overlapping windows?

    Each count is taken as Poisson(theta_j E_j); under H0 theta_first = theta_newest, and given T = O1 + O2,
    O2 ~ Binomial(T, E2 / (E1 + E2)). p is the one-sided P(O2 >= o2 | T) (the ratio rose: the gap is closing),
    p_two_sided the exact two-sided binomial P (outcomes no more likely than the observed one). Counts are less
    dispersed than Poisson (Poisson-binomial), so the test is conservative. T = 0 gives p = 1 (no information);
    an expected count of 0 makes that window's ratio None and the share 0 or 1 (p follows the degenerate
    binomial), both 0 gives p = 1 with a reason. statistic = ratio_newest / ratio_first, None when ratio_first
    is 0 or None.
    """
    o1, o2 = int(observed_first), int(observed_newest)
    e1, e2 = float(expected_first), float(expected_newest)
    if o1 < 0 or o2 < 0 or not (math.isfinite(e1) and math.isfinite(e2) and e1 >= 0 and e2 >= 0):
        raise ValueError("counts must be non-negative integers and expected counts finite and non-negative")
    ratio_first = o1 / e1 if e1 > 0 else None
    ratio_newest = o2 / e2 if e2 > 0 else None
    total = o1 + o2
    result = {
        "method": "conditional binomial test of equal observed/expected ratios (counts as Poisson)",
        "ratio_first": ratio_first,
        "ratio_newest": ratio_newest,
        "statistic": ratio_newest / ratio_first if ratio_first and ratio_newest is not None else None,
        "total": total,
        "expected_share_newest": e2 / (e1 + e2) if e1 + e2 > 0 else None,
        "p": 1.0,
        "p_two_sided": 1.0,
        "reason": None,
    }
    if total == 0:
        result["reason"] = "no system in the gap in either window"
    elif e1 + e2 == 0:
        result["reason"] = "no system was expected in the gap in either window"
    else:
        share = e2 / (e1 + e2)
        result["p"] = float(min(1.0, binom_sf(o2 - 1, total, share)))
        result["p_two_sided"] = binom_two_sided_p(o2, total, share)
    return result


def deficit_power(p_newest, ratio: float, alpha: float) -> float:
    """Power of the exact local test in a window against in-gap probabilities ratio x p_i (clipped to [0, 1]).

    The test rejects "no deficit" when P(K <= k) < alpha under Poisson-binomial(p_newest): with k* the largest
    such k, the power is P_alt(K <= k*), 0.0 when no count would be rejected. E.g. ratio = the first window's
    observed/expected: could the newest window have shown a deficit as large as the first one's?
    """
    p = _as_probabilities(p_newest)
    if not (math.isfinite(ratio) and ratio >= 0):
        raise ValueError("ratio must be finite and non-negative")
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")
    rejected = np.flatnonzero(np.cumsum(poisson_binomial_pmf(p)) < alpha)
    if rejected.size == 0:
        return 0.0
    return local_gap_p(np.clip(ratio * p, 0.0, 1.0), int(rejected[-1]))


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
