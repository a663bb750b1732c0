"""The scan engine: the gap test at every window the analyst could have chosen, calibrated by simulation.

A family is every window position (a grid of lower edges, 0.02 dex apart by default, and the chosen window),
every width in a range, and every group (a domain group, a period: any subset of a joint data set with its own fit
and tested systems), on one joint data set; its statistic is the smallest
local statistic over the family, and the corrected P of a chosen window is the simulated chance that the family's
smallest statistic is as extreme as the chosen window's. The bound convention needs no simulation of its own: at
every position the strict count is at most the inclusive one (same expectation), so the family's minimum is
always a strict window's, and an inclusive choice is covered by it.

The local statistic of a window is z: the in-gap count against its Poisson-binomial mean and variance, continuity
corrected. It stands in for the exact
local P = P(K <= k) because it costs a few array operations per position instead of a recursion per system; the
scan P is exact for this statistic whatever its approximation error, because the data and every simulated data set
are scored by the same function (the exact local P of the chosen window is reported beside it).

Nulls: the trend with normal scatter (the paper's model), the trend with its own residuals resampled (the
empirical scatter, no shape assumed) and the trend with Student-t scatter of the same sd (heavy tails). Every
simulated data set is re-fitted exactly as the data. All positions, widths and simulations run as numpy arrays
(a block of simulations at a time); the random stream depends only on the seed and the batch sizes.

An atlas of every measure and release can call `family_p` with its own groups and widths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from mlsizes.analysis import montecarlo
from mlsizes.analysis.stats import _interval_probabilities, fit_trend
from mlsizes.core.settings import in_gap

NULLS = ("normal", "bootstrap", "t")
ELEMENTS_PER_BLOCK = 2_000_000  # simulated data sets x positions held at once: bounded memory
KERNEL_Z = 6.0  # a window more than 6 sd from a system's mean holds it with probability < 1e-9: left out
MOMENT_STEPS_PER_SD = 8  # resolution of the moments, interpolated linearly to the positions


@dataclass(frozen=True)
class Group:
    """A domain group in a joint data set: the systems its trend is fitted on (indices) and which of those are
    tested (a mask over them)."""

    name: str
    fit: np.ndarray
    tested: np.ndarray


@dataclass(frozen=True)
class Windows:
    """What is scanned: the chosen window (log10 bounds, convention), the widths (log10) and the grid of lower
    edges (log10 start, step, count)."""

    chosen: tuple[float, float]
    inclusive: bool
    widths: tuple[float, ...]
    grid: tuple[float, float, int]

    @classmethod
    def build(cls, lower, upper, inclusive, widths=(), grid_lo=1e6, grid_hi=1e13, grid_step_dex=0.02) -> Windows:
        """From sizes in parameters; the chosen width is always scanned."""
        if not 0 < lower < upper:
            raise ValueError(f"need 0 < lower < upper, got {lower}, {upper}")
        if not (0 < grid_lo < grid_hi and grid_step_dex > 0):
            raise ValueError("need 0 < grid_lo < grid_hi and a positive grid_step_dex")
        chosen = (math.log10(lower), math.log10(upper))
        g0 = math.log10(grid_lo)
        n_grid = int(math.floor((math.log10(grid_hi) - g0) / grid_step_dex + 1e-9)) + 1
        every = sorted({round(chosen[1] - chosen[0], 12), *(round(float(w), 12) for w in widths)})
        if every[0] <= 0:
            raise ValueError("widths must be positive")
        return cls(chosen, bool(inclusive), tuple(every), (g0, float(grid_step_dex), n_grid))


def z_statistic(counts, mean, var) -> np.ndarray:
    """The local statistic: continuity-corrected z of a count against its Poisson-binomial mean and variance;
    +inf for a window no system can reach, -inf for one every system must be in but is not."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sdk = np.sqrt(var)
        return np.where(sdk > 1e-9, (counts + 0.5 - mean) / sdk, np.where(counts + 0.5 < mean, -np.inf, np.inf))


def _moments(mu: np.ndarray, sd: np.ndarray, g0: float, n_points: int, width: float, step: float):
    """Mean and variance of the in-gap count for windows [L, L + width], L = g0 + k step (k < n_points), for each
    data set (mu: (B, n) fitted log10 means, sd: (B,)). p depends only on the distance of a mean from L, so each sum
    is the means, binned linearly on the grid, correlated with a kernel: one FFT per data set and moment instead
    of positions x systems normal cdfs. The step is at most sd / MOMENT_STEPS_PER_SD (binning errs ~1e-3)."""
    n_sets = mu.shape[0]
    reach = KERNEL_Z * float(sd.max())
    t_min = int(math.floor(-reach / step)) - 1
    t_max = int(math.ceil((width + reach) / step)) + 1
    offsets = np.arange(t_min, t_max + 1) * step  # mean minus lower edge
    p = _interval_probabilities(offsets[None, :], sd[:, None], 0.0, width)
    kernels = np.stack([p, p * (1.0 - p)], axis=1)  # (B, 2, L)
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
    return sums[:, 0], np.maximum(sums[:, 1], 0.0)


def _chosen_z(mu, sd, y_tested, windows: Windows) -> np.ndarray:
    lo, hi = windows.chosen
    p = _interval_probabilities(mu, sd[:, None], lo, hi)
    counts = np.count_nonzero(in_gap(y_tested, lo, hi, windows.inclusive), axis=1)
    return z_statistic(counts, p.sum(1), (p * (1.0 - p)).sum(1))


def _grid_counts(y_tested: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """#{y in row: lo_k < y < hi_k} for every row and every window k of a grid shared by all rows: one histogram
    of each row over the sorted distinct edges, then cumulative counts (no per-row search). Windows of several
    widths on one grid share their lower edges: pass them together and each y is searched once."""
    edges, at = np.unique(np.concatenate([lo, hi]), return_inverse=True)
    n_rows, n_edges = y_tested.shape[0], edges.size
    # below[r, j] = #{y < edges[j]} and at_or_below[r, j] = #{y <= edges[j]}
    rows = np.arange(n_rows)[:, None] * (n_edges + 1)
    hist_left = np.bincount(
        (np.searchsorted(edges, y_tested, "right") + rows).ravel(), minlength=n_rows * (n_edges + 1)
    )
    hist_right = np.bincount(
        (np.searchsorted(edges, y_tested, "left") + rows).ravel(), minlength=n_rows * (n_edges + 1)
    )
    below = np.cumsum(hist_left.reshape(n_rows, n_edges + 1), axis=1)[:, :-1]
    at_or_below = np.cumsum(hist_right.reshape(n_rows, n_edges + 1), axis=1)[:, :-1]
    return below[:, at[lo.size :]] - at_or_below[:, at[: lo.size]]


def _scan_min_z_widths(mu, sd, y_tested, widths, grid) -> list[np.ndarray]:
    """Min over positions of the local statistic (strict: open windows), per data set, for each of several
    widths; the counts of every width come from one search of the data.

    Positions: the grid's lower edges, shared by every data set, so counts come from one histogram per row and
    the moments (_moments: FFT over binned means) are read at the same columns for every row."""
    g0, step, n_grid = grid
    edges = g0 + step * np.arange(n_grid)
    every = np.asarray(widths, dtype=float)
    counts = _grid_counts(y_tested, np.tile(edges, every.size), (edges[None, :] + every[:, None]).ravel())
    moment_step = max(step, float(sd.min()) / MOMENT_STEPS_PER_SD)
    n_points = max(2, int(math.ceil((edges[-1] - g0) / moment_step)) + 1)
    at = np.clip((edges - g0) / moment_step, 0.0, n_points - 1.0)
    left = np.minimum(at.astype(np.int64), n_points - 2)
    frac = at - left
    out = []
    for i, width in enumerate(every):
        moments = _moments(mu, sd, g0, n_points, float(width), moment_step)
        mean, var = (m[:, left] * (1.0 - frac) + m[:, left + 1] * frac for m in moments)
        out.append(z_statistic(counts[:, i * n_grid : (i + 1) * n_grid], mean, var).min(axis=1))
    return out


def _refit(x: np.ndarray, Y: np.ndarray):
    """OLS of every row of Y on x: (fitted values at x, residual sd (ddof 2))."""
    x_mean = x.mean()
    xc = x - x_mean
    level = Y.mean(axis=1, keepdims=True)
    slope = ((Y - level) @ xc / float(xc @ xc))[:, None]
    fitted = level + slope * xc
    sd = np.sqrt(np.sum((Y - fitted) ** 2, axis=1) / (x.size - 2))
    return fitted, sd


def group_statistics(x, Y, groups: list[Group], windows: Windows, *, scan: bool, family: bool) -> dict:
    """The statistics of each group on data sets Y (rows): "<group>/local" (the chosen window's z),
    "<group>/scan" (min over positions at the chosen width), and, with `family`, "family" (min over every group,
    width and position)."""
    out = {}
    family_min = np.full(Y.shape[0], np.inf)
    chosen_width = windows.chosen[1] - windows.chosen[0]
    for group in groups:
        fitted, sd = _refit(x[group.fit], Y[:, group.fit])
        mu, y_t = fitted[:, group.tested], Y[:, group.fit][:, group.tested]
        out[f"{group.name}/local"] = _chosen_z(mu, sd, y_t, windows)
        if scan or family:
            others = [w for w in windows.widths if not math.isclose(w, chosen_width)] if family else []
            chosen, *rest = _scan_min_z_widths(mu, sd, y_t, [chosen_width, *others], windows.grid)
            out[f"{group.name}/scan"] = np.minimum(chosen, out[f"{group.name}/local"])
            family_min = np.minimum.reduce([family_min, out[f"{group.name}/scan"], *rest])
    if family:
        out["family"] = family_min
    return out


@dataclass(frozen=True)
class NullModel:
    """Sizes scattered around one trend per component (disjoint index sets covering the joint data set)."""

    x: np.ndarray
    components: tuple[np.ndarray, ...]
    trends: tuple[np.ndarray, ...]
    residuals: tuple[np.ndarray, ...]
    sds: tuple[float, ...]
    kind: str
    df: float

    @classmethod
    def fit(cls, x, y, components, kind: str, df: float = 4.0) -> NullModel:
        """Each component's OLS trend and residuals, from the data."""
        if kind not in NULLS:
            raise ValueError(f"null must be one of {NULLS}, got {kind!r}")
        if kind == "t" and not df > 2:
            raise ValueError("the t null needs df > 2 (a finite variance)")
        trends, residuals, sds = [], [], []
        for index in components:
            fit = fit_trend(x[index], y[index])
            if fit.insufficient_data or not fit.residual_sd:
                raise ValueError(f"cannot fit a null trend: {fit.reason or 'no scatter'}")
            trend = fit.log10_size_at(x[index])
            trends.append(trend)
            residuals.append(y[index] - trend)
            sds.append(fit.residual_sd)
        return cls(np.asarray(x, float), tuple(components), tuple(trends), tuple(residuals), tuple(sds), kind, df)

    def simulate(self, m: int, rng: np.random.Generator) -> np.ndarray:
        """m data sets (rows) of the joint sizes under the null."""
        Y = np.empty((m, self.x.size))
        for index, trend, resid, sd in zip(self.components, self.trends, self.residuals, self.sds):
            n = index.size
            if self.kind == "normal":
                noise = sd * rng.standard_normal((m, n))
            elif self.kind == "bootstrap":  # residuals inflated to the unbiased scale (ddof 2)
                noise = resid[rng.integers(0, n, size=(m, n))] * math.sqrt(n / (n - 2))
            else:
                noise = sd * math.sqrt((self.df - 2) / self.df) * rng.standard_t(self.df, size=(m, n))
            Y[:, index] = trend + noise
        return Y


def empirical_probabilities(mu, residuals, lower: float, upper: float) -> np.ndarray:
    """P(lower < size < upper) for each mean mu (log10) under the empirical scatter: the share of the residuals
    (inflated to the unbiased scale, as the bootstrap null draws them) that would land the system in the gap."""
    r = np.sort(np.asarray(residuals, float)) * math.sqrt(len(residuals) / (len(residuals) - 2))
    lo, hi = math.log10(lower) - np.asarray(mu, float), math.log10(upper) - np.asarray(mu, float)
    return (np.searchsorted(r, hi, "left") - np.searchsorted(r, lo, "right")) / r.size


def t_probabilities(mu, sd: float, df: float, lower: float, upper: float) -> np.ndarray:
    """P(lower < size < upper) for each mean mu (log10) under Student t scatter with sd `sd` (the t null's)."""
    scale = sd * math.sqrt((df - 2) / df)
    mu = np.asarray(mu, float)
    return special.stdtr(df, (math.log10(upper) - mu) / scale) - special.stdtr(df, (math.log10(lower) - mu) / scale)


def family_p(
    x,
    y,
    groups: list[Group],
    windows: Windows,
    null: NullModel,
    *,
    alpha: float,
    first_batch: int,
    max_n: int,
    seed: int,
    scan: bool = True,
    family: bool = False,
    resolve: tuple[str, ...] | None = None,
    watch: tuple[str, ...] | None = None,
) -> dict:
    """Simulated P of each group's chosen window (local), of its scan over positions (scan) and, with `family`,
    of each group's chosen window against the smallest statistic of the whole family (family), under one null.

    Returns {"null", "observed": {key: z}, "p": {key: montecarlo.mc_p result}} with keys "<group>/local",
    "<group>/scan" (the chosen window against the scan's minimum: the look-elsewhere corrected P),
    "<group>/anywhere" (the data's own most extreme position against it) and, with `family`, "family/<group>"
    (that group's chosen window against the family's minimum) and "family/anywhere" (the data's own minimum);
    sequential: stops when every P in `watch` (default: all) is settled (montecarlo.sequential)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    observed = {
        k: float(v[0]) for k, v in group_statistics(x, y[None, :], groups, windows, scan=scan, family=family).items()
    }
    for g in groups:  # the scan asks of the chosen window; "anywhere" of the data's own most extreme window
        if f"{g.name}/scan" in observed:
            observed[f"{g.name}/anywhere"] = observed[f"{g.name}/scan"]
            observed[f"{g.name}/scan"] = observed[f"{g.name}/local"]
    if family:  # each group's chosen window, and the data's own most extreme one, against the family's minimum
        observed.update({f"family/{g.name}": observed[f"{g.name}/local"] for g in groups})
        observed["family/anywhere"] = observed.pop("family")
    per_set = windows.grid[2] * len(windows.widths if family else (0,)) + sum(int(g.tested.sum()) for g in groups)
    block = max(1, ELEMENTS_PER_BLOCK // per_set)

    def source(key: str) -> str:
        return "family" if key.startswith("family/") else key.replace("/anywhere", "/scan")

    def simulate(m: int, rng: np.random.Generator) -> dict:
        parts = []
        for start in range(0, m, block):
            Y = null.simulate(min(block, m - start), rng)
            parts.append(group_statistics(x, Y, groups, windows, scan=scan, family=family))
        joined = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        return {key: joined[source(key)] for key in observed}

    results = montecarlo.sequential(
        simulate, observed, alpha=alpha, first_batch=first_batch, max_n=max_n, seed=seed, resolve=resolve, watch=watch
    )
    return {"null": null.kind, "observed": observed, "p": results}


def band_deficits(
    x,
    y,
    group: Group,
    windows: Windows,
    null: NullModel,
    *,
    alpha: float,
    first_batch: int,
    max_n: int,
    seed: int,
) -> dict:
    """How many size bands have a deficit, against how many the null gives: a check of the trend model, not of
    the gap (a model whose scatter is the wrong shape empties bands the gap's bounds did not pick).

    Bands: windows as wide as the chosen one, tiling log10 size from the chosen window outwards to cover every
    tested system of the data (fixed for every simulated data set; offsets count widths from the chosen
    window, 0, upwards), open intervals (a size on a shared edge is
    in neither band). A band has a deficit when its statistic (z_statistic: the count against its
    Poisson-binomial mean and variance under the re-fitted trend) is below the one-sided normal quantile at
    alpha. The P is the simulated chance of at least as many deficit bands (montecarlo.sequential, small
    statistics extreme: the statistic is minus the count)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    lo, hi = windows.chosen
    width = hi - lo
    y_t = y[group.fit][group.tested]
    first, last = math.floor((y_t.min() - lo) / width), math.ceil((y_t.max() - lo) / width)
    offsets = np.arange(first, last)  # in widths from the chosen window (0)
    edges = lo + width * offsets
    cut = float(special.ndtri(alpha))
    block = max(1, ELEMENTS_PER_BLOCK // (edges.size * y_t.size + x.size))

    def deficits(Y: np.ndarray) -> np.ndarray:
        fitted, sd = _refit(x[group.fit], Y[:, group.fit])
        mu, tested = fitted[:, group.tested], Y[:, group.fit][:, group.tested]
        p = _interval_probabilities(
            mu[:, None, :], sd[:, None, None], edges[None, :, None], edges[None, :, None] + width
        )
        z = z_statistic(_grid_counts(tested, edges, edges + width), p.sum(2), (p * (1.0 - p)).sum(2))
        return z < cut

    observed = deficits(y[None, :])[0]
    null_counts = []

    def simulate(m: int, rng: np.random.Generator) -> dict:
        counts = np.concatenate(
            [deficits(null.simulate(min(block, m - start), rng)).sum(1) for start in range(0, m, block)]
        )
        null_counts.append(counts)
        return {"deficits": -counts.astype(float)}

    p = montecarlo.sequential(
        simulate,
        {"deficits": -float(observed.sum())},
        alpha=alpha,
        first_batch=first_batch,
        max_n=max_n,
        seed=seed,
        resolve=(),
    )["deficits"]
    counts = np.concatenate(null_counts)
    return {
        "null": null.kind,
        "n_bands": int(edges.size),
        "band_width_dex": width,
        "band_alpha": alpha,
        "observed_deficits": int(observed.sum()),
        "deficit_bands": [[float(f"{10**e:.6g}"), float(f"{10 ** (e + width):.6g}")] for e in edges[observed]],
        "deficit_offsets": [int(k) for k in offsets[observed]],
        "null_mean_deficits": float(counts.mean()),
        "p": p,
    }
