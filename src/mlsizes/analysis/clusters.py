"""Two clusters or one trend: mixtures of two linear regressions of log10(size) on date, fitted so that a
"cluster" means what the parameter-gap paper means by it.

Why a module of its own: the first version (stats.compare_one_trend_vs_two_clusters) fitted a two-component
mixture by EM from a dozen starts and called any BIC win "two clusters". On the real data the winning mixtures
were not clusters at all: for all domains two components with the same level and different spreads (a
heavy-tailed scale mixture around one trend), for language a spike of 4 systems at the sd floor (sd 0.018).
Here:

- EM runs from many seeded starts at once (vectorised over starts and systems, so 200 starts cost little);
- a solution is admissible only if each component has at least min_members systems (by largest
  responsibility), a weight of at least min_weight and an sd above the floor; the best admissible likelihood
  wins, so a spike of a few identical sizes can never be a "cluster";
- the winning mixture's shape is classified: "two_levels" (the lines are apart at the median date by more than
  the larger component sd) or "scale_mixture" (same level, different spread), and only two levels with a BIC
  win count as two clusters;
- split_at_gap_test asks the paper's question directly (two trends on either side of the gap vs one trend) with
  a likelihood-ratio statistic calibrated by a double residual bootstrap under the one-trend null, because the
  mixture likelihood ratio has no chi-square null distribution (the null lies on the boundary of the model) and
  the plain residual bootstrap P is conservative (see split_at_gap_test). To keep ~1,000 refits of ~20 starts
  within a few seconds, the bootstrap screens starts with short EM runs and continues only the best (the same
  procedure on the data and on every null data set).

Conventions are those of stats.py: x is days since 1970-01-01, y is log10(parameters), seeded
np.random.default_rng(seed), plain JSON-ready dicts, and an "insufficient data" dict instead of an exception.
"""

from __future__ import annotations

import math

import numpy as np

from mlsizes.analysis import montecarlo
from mlsizes.analysis.stats import (
    DAYS_PER_YEAR,
    MIN_DISTINCT_DATES,
    _as_xy,
    _bic,
    _gaussian_loglik,
    _num,
    fit_trend,
    oom_per_year,
)

N_PARAMS_ONE = 3  # intercept, slope, sd
N_PARAMS_TWO = 7  # two (intercept, slope, sd) and one mixing weight
MIN_SEPARATION_SD = 1.0  # "two levels": the lines at the median date are apart by more than this x the larger sd
SPLIT_QUESTION = "Are these systems better described by two trends, one above and one below the gap, than by one trend?"
_LOG_2PI = math.log(2.0 * math.pi)
SCREEN_ITER = 10  # split_at_gap_test: every start runs this many EM iterations, then the best one continues ...
FINALISTS = 3  # ... and if it ends inadmissible the next best, up to this many per data set
TIE_BREAK = 1e-9  # split_at_gap_test: the random jitter that breaks ties of the LR (far below any real LR gap)
REDRAWS = 10  # split_at_gap_test: the data's own bootstrap P drawn again this many times (is the verdict stable?)
BLOCK_ELEMENTS = 1_000_000  # data sets x starts x systems per EM call in the bootstrap: bounded memory


# --------------------------------------------------------------------------------------------------
# EM for a mixture of two linear regressions, many starts of many data sets at once


def _em(
    t: np.ndarray,
    Y: np.ndarray,
    resp: np.ndarray,
    min_sd: float,
    max_iter: int,
    tol: float,
    leave: tuple[int, float] | None = None,
) -> dict:
    """EM for a 2-component mixture of linear regressions, for every start of every data set at once.

    t (n,) is the shared x axis (centred years), Y (problems, n) the data sets, resp (problems, starts, n) the
    initial responsibilities of component 1. Both component densities
    are quadratic in (t, y), so the E step is one batched product of a (starts x 6) coefficient matrix with the
    (6 x n) features [1, t, t^2, y, t y, y^2] of the data set, and the M step reads weighted sums of the same
    features (a second product): per iteration one exp per system and start, the rest are cheap passes.
    A start stops when its log-likelihood gains less than tol, after max_iter iterations, or (with leave =
    (min_members, min_weight)) as soon as its state is not admissible; when a quarter of the data sets (or of
    the starts) have every start stopped, they leave the working arrays. A start whose component loses all
    weight or all spread in x is flagged collapsed. The sd floor min_sd keeps the likelihood bounded; the M step
    is still the exact (constrained) maximiser, so the likelihood never decreases.
    Returns arrays by (problem, start): loglik, weight/intercept/slope/sd/raw_sd/n_assigned (..., 2), n_iter,
    converged, collapsed, resp (the responsibilities at the stop); raw_sd is the sd before the floor, n_assigned
    counts systems by largest responsibility.
    """
    problems, starts, n = resp.shape
    y_mean = Y.mean(axis=1)
    yc = Y - y_mean[:, None]  # centred per data set: the moment sums below stay well conditioned
    features = np.stack([np.ones_like(yc), np.broadcast_to(t, yc.shape), np.broadcast_to(t * t, yc.shape)])
    features = np.ascontiguousarray(np.concatenate([features, [yc, yc * t, yc * yc]]).transpose(1, 0, 2))
    out = {
        "loglik": np.full((problems, starts), -np.inf),
        "n_iter": np.zeros((problems, starts), dtype=int),
        "converged": np.zeros((problems, starts), dtype=bool),
        "collapsed": np.zeros((problems, starts), dtype=bool),
        "n_assigned": np.zeros((problems, starts, 2), dtype=int),
        "resp": np.array(resp, dtype=float),
        **{key: np.full((problems, starts, 2), np.nan) for key in ("weight", "intercept", "slope", "sd", "raw_sd")},
    }
    p_index, s_index = np.arange(problems), np.arange(starts)
    live = np.ones((problems, starts), dtype=bool)
    F, totals, r = features, features.sum(axis=-1), np.array(resp, dtype=float)
    F_t = np.ascontiguousarray(F.transpose(0, 2, 1))
    previous = np.full((problems, starts), -np.inf)
    for iteration in range(1, max_iter + 1):
        m1 = np.matmul(r, F_t)  # (p, s, 6) weighted feature sums of component 1
        w, st, stt, sy, sty, syy = np.moveaxis(np.stack([totals[:, None, :] - m1, m1], axis=-2), -1, 0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ctt = stt - st * st / w
            collapsed = np.any(~(w >= 1e-9) | ~(ctt >= 1e-12 * w), axis=-1)
            slope = (sty - st * sy / w) / ctt
            intercept = (sy - slope * st) / w
            raw_sd = np.sqrt(np.maximum(syy - sy * sy / w - slope * slope * ctt, 0.0) / w)
            sd = np.maximum(raw_sd, min_sd)
            inv = 1.0 / (sd * sd)
            # log(weight x normal density) = c . [1, t, t^2, y, t y, y^2] for each component
            c = np.stack(
                [
                    np.log(w / n) - np.log(sd) - 0.5 * _LOG_2PI - 0.5 * intercept * intercept * inv,
                    -intercept * slope * inv,
                    -0.5 * slope * slope * inv,
                    intercept * inv,
                    slope * inv,
                    -0.5 * inv,
                ],
                axis=-1,
            )
            d = np.matmul(c[..., 1, :] - c[..., 0, :], F)  # log odds of component 1, (p, s, n)
            # log-likelihood = sum log(e^l0 + e^l1) = sum l0 + sum softplus(d); responsibilities = expit(d),
            # both from e = exp(-|d|): softplus(d) = max(d, 0) + log(1 + e), expit(d) = 1/2 + sign(d) (1/2 - e/(1+e))
            e = np.exp(-np.abs(d))
            q = 1.0 + e
            loglik = np.einsum("psk,pk->ps", c[..., 0, :], totals) + np.maximum(d, 0.0).sum(axis=-1)
            loglik += np.log(q).sum(axis=-1) if n > 1000 else np.log(np.prod(q, axis=-1))  # prod <= 2^n
            r = 0.5 + np.sign(d) * (0.5 - e / q)
            converged = ~collapsed & (loglik - previous < tol)
            n1 = np.count_nonzero(d > 0, axis=-1)
            stop = collapsed | converged | (iteration == max_iter)
            if leave is not None:  # stop starts whose current state is not admissible (recorded as it is)
                stop |= np.minimum(n1, n - n1) < leave[0]
                stop |= np.any(~(w >= leave[1] * n) | ~(raw_sd > min_sd), axis=-1)
        stop &= live
        if stop.any():
            pl, sl = np.nonzero(stop)
            pg, sg = p_index[pl], s_index[sl]
            out["n_iter"][pg, sg] = iteration
            out["converged"][pg, sg] = converged[pl, sl]
            out["collapsed"][pg, sg] = collapsed[pl, sl]
            ok = ~collapsed[pl, sl]
            pl, sl, pg, sg = pl[ok], sl[ok], pg[ok], sg[ok]
            out["loglik"][pg, sg] = loglik[pl, sl]
            out["weight"][pg, sg] = w[pl, sl] / n
            out["intercept"][pg, sg] = intercept[pl, sl] + y_mean[pg, None]
            out["slope"][pg, sg] = slope[pl, sl]
            out["sd"][pg, sg] = sd[pl, sl]
            out["raw_sd"][pg, sg] = raw_sd[pl, sl]
            out["n_assigned"][pg, sg] = np.column_stack([n - n1[pl, sl], n1[pl, sl]])
            out["resp"][pg, sg] = r[pl, sl]
            live = live & ~stop
        keep_p, keep_s = live.any(axis=1), live.any(axis=0)
        if not keep_p.any():
            break
        if keep_p.sum() < 0.75 * keep_p.size or keep_s.sum() < 0.75 * keep_s.size:  # copy only when it pays
            p_index, s_index = p_index[keep_p], s_index[keep_s]
            live, r, loglik = (a[np.ix_(keep_p, keep_s)] for a in (live, r, loglik))
            F, F_t, totals = F[keep_p], F_t[keep_p], totals[keep_p]
        previous = loglik
    return out


def _admissible(fits: dict, min_members: int, min_weight: float, min_sd: float) -> dict:
    """Which EM solutions are two genuine components, and why the others are not (boolean arrays by start)."""
    fitted = ~fits["collapsed"] & (fits["n_iter"] > 0)
    reasons = {
        "collapsed": fits["collapsed"],
        "too_few_members": fitted & np.any(fits["n_assigned"] < min_members, axis=-1),
        "weight_below_min": fitted & np.any(~(fits["weight"] >= min_weight), axis=-1),
        "sd_at_floor": fitted & np.any(~(fits["raw_sd"] > min_sd), axis=-1),
    }
    return {"ok": fitted & ~np.logical_or.reduce(list(reasons.values())), "reasons": reasons}


def _best(fits: dict, ok: np.ndarray) -> np.ndarray:
    """Start index of the best admissible solution of each data set, -1 where there is none."""
    loglik = np.where(ok, fits["loglik"], -np.inf)
    best = np.argmax(loglik, axis=1)  # first of ties: the deterministic starts come first
    return np.where(np.isfinite(loglik[np.arange(len(best)), best]), best, -1)


def _screened_em(
    t, Y, resp, min_sd, max_iter, tol, min_members, min_weight, screen_iter=None, finalists=None
) -> tuple[dict, np.ndarray]:
    """Short runs of every start, then only the most promising one to the end (Biernacki et al.'s "emEM").

    All starts run SCREEN_ITER iterations and are ranked per data set, admissible first, then by likelihood.
    The first continues up to max_iter, and stops early if its state leaves the admissible set (a drift towards
    a spike or an empty component, which under a one-trend null is common and slow); if its solution is not
    admissible, the next one continues, up to FINALISTS. Candidates: the starts that ran to the end and those
    that converged within the short run. Returns (fits, candidate mask). The bootstrap applies exactly this
    procedure to the data and to every null data set, so the test is calibrated for the statistic it computes.
    """
    screen_iter = SCREEN_ITER if screen_iter is None else screen_iter
    finalists = FINALISTS if finalists is None else finalists
    fits = _em(t, Y, resp, min_sd, min(screen_iter, max_iter), tol)
    loglik = np.nan_to_num(fits["loglik"], nan=-np.inf)
    order = np.lexsort((-loglik, ~_admissible(fits, min_members, min_weight, min_sd)["ok"]), axis=-1)
    candidates = fits["converged"].copy()
    searching = np.ones(len(Y), dtype=bool)
    for rank in range(min(finalists, order.shape[1])):
        problems = np.nonzero(searching)[0]
        starts = order[problems, rank]
        candidates[problems, starts] = True
        running = ~(fits["converged"] | fits["collapsed"])[problems, starts]
        if max_iter > screen_iter and running.any():
            problems, starts = problems[running], starts[running]
            resp = fits["resp"][problems, starts][:, None]
            more = _em(t, Y[problems], resp, min_sd, max_iter - screen_iter, tol, leave=(min_members, min_weight))
            for key, value in fits.items():
                value[problems, starts] = more[key][:, 0] + (screen_iter if key == "n_iter" else 0)
        searching &= ~_admissible(fits, min_members, min_weight, min_sd)["ok"][np.arange(len(Y)), order[:, rank]]
        if not searching.any():
            break
    return fits, candidates


# --------------------------------------------------------------------------------------------------
# starts


def _starts(t: np.ndarray, Y: np.ndarray, resid: np.ndarray, split: float | None, n_starts: int, rng) -> np.ndarray:
    """Initial hard assignments to component 1, shape (problems, n_starts, n).

    Start 0 splits y at `split` (None: each problem's median y), start 1 by the sign of the one-trend residual;
    the others are random, in turn: a residual split at a random quantile in [0.05, 0.95] (two parallel
    levels), assignment to the nearer of two random lines through random pairs of systems (different slopes),
    and a residual split at a random quantile blurred by noise of a random size (overlapping components).
    """
    problems, n = Y.shape
    n_random = max(0, n_starts - 2)
    if split is None:
        level_split = Y > np.median(Y, axis=1, keepdims=True)
    else:
        level_split = Y > split
    fixed = [level_split, resid > 0][:n_starts]
    kind = np.arange(n_random) % 3  # the draws below do not depend on which kinds are used
    quantile = rng.uniform(0.05, 0.95, size=(problems, n_random))
    pairs = rng.integers(0, n, size=(problems, n_random, 4))
    blur = rng.uniform(0.1, 1.0, size=(problems, n_random, 1)) * rng.standard_normal((problems, n_random, n))

    scale = resid.std(axis=1, keepdims=True)[:, :, None] + 1e-12
    ordered, position = np.sort(resid, axis=1), quantile * (n - 1)  # linear interpolation, as np.quantile
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, n - 1)
    low_value, high_value = np.take_along_axis(ordered, below, 1), np.take_along_axis(ordered, above, 1)
    cut = (low_value + (position - below) * (high_value - low_value))[:, :, None]
    by_quantile = resid[:, None, :] > cut
    by_blurred_quantile = resid[:, None, :] + blur * scale > cut

    def line(i, j):
        ti, tj = t[pairs[..., i]], t[pairs[..., j]]
        yi, yj = np.take_along_axis(Y, pairs[..., i], 1), np.take_along_axis(Y, pairs[..., j], 1)
        dt = tj - ti
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(np.abs(dt) > 1e-9, (yj - yi) / dt, 0.0)
        return (yi - slope * ti)[..., None] + slope[..., None] * t

    by_lines = np.abs(Y[:, None, :] - line(2, 3)) < np.abs(Y[:, None, :] - line(0, 1))
    chosen = np.select(
        [kind[None, :, None] == 0, kind[None, :, None] == 1], [by_quantile, by_lines], by_blurred_quantile
    )
    return np.concatenate([np.stack(fixed, axis=1), chosen], axis=1).astype(float)


# --------------------------------------------------------------------------------------------------
# shared pieces


def _ols_rows(t: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(loglik, residuals, ml sd) of one OLS line per row of Y; t must be centred (mean 0)."""
    n = t.size
    slope = Y @ t / (t @ t)
    resid = Y - Y.mean(axis=1, keepdims=True) - slope[:, None] * t
    rss = np.einsum("an,an->a", resid, resid)
    return _gaussian_loglik(rss, n), resid, np.sqrt(rss / n)


def _components(fits: dict, row: tuple[int, int], x_mean: float, t_median: float) -> list[dict]:
    """The two components of one EM solution (data set, start) in the paper's units, lower (at the median date)
    first."""
    level = fits["intercept"][row] + fits["slope"][row] * t_median
    components = []
    for k in np.argsort(level, kind="stable"):
        slope_day = float(fits["slope"][row][k]) / DAYS_PER_YEAR
        components.append(
            {
                "weight": float(fits["weight"][row][k]),
                "intercept": float(fits["intercept"][row][k]) - slope_day * x_mean,  # log10 size at 1970-01-01
                "slope_per_day": slope_day,
                "slope_oom_per_year": float(oom_per_year(slope_day)),
                "sd": float(fits["sd"][row][k]),
                "n_assigned": int(fits["n_assigned"][row][k]),
                "level_at_median_date": float(level[k]),
            }
        )
    return components


def _shape(components: list[dict]) -> tuple[str, float]:
    """("two_levels" or "scale_mixture", separation in log10 units at the median date) of a fitted mixture."""
    low, high = components
    separation = high["level_at_median_date"] - low["level_at_median_date"]
    kind = "two_levels" if separation > MIN_SEPARATION_SD * max(low["sd"], high["sd"]) else "scale_mixture"
    return kind, separation


def _insufficient(x: np.ndarray, min_members: int) -> str | None:
    """Why there are too few systems for two admissible components, or None."""
    n, n_distinct = int(x.size), int(np.unique(x).size)
    if n_distinct < MIN_DISTINCT_DATES or n < 2 * min_members:
        return (
            f"{n} systems on {n_distinct} dates; two components of at least {min_members} systems need "
            f"{2 * min_members} systems and {MIN_DISTINCT_DATES} distinct dates"
        )
    return None


def _check_settings(n_starts: int, min_members: int, min_sd: float) -> None:
    """Settings that would make the fit meaningless are a caller's error, not data to report on."""
    if n_starts < 1 or min_members < 1 or not min_sd > 0:
        raise ValueError(f"need n_starts >= 1, min_members >= 1, min_sd > 0; got {n_starts}, {min_members}, {min_sd}")


def _centred_years(x: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(t, x_mean, t at the median date): centred years keep the EM well conditioned."""
    x_mean = float(x.mean())
    t = (x - x_mean) / DAYS_PER_YEAR
    return t, x_mean, float(np.median(t))


# --------------------------------------------------------------------------------------------------
# one trend vs two clusters


def compare_one_trend_vs_two_clusters(
    x_days,
    log10_sizes,
    seed: int = 0,
    *,
    n_starts: int = 200,
    min_members: int = 10,
    min_weight: float = 0.05,
    threshold: float = 10.0,
    min_sd: float = 0.01,
    max_iter: int = 500,
    tol: float = 1e-7,
    init_split_log10: float | None = None,
) -> dict:
    """Is "two clusters" (e.g. above/below the gap after 2018) a better description than one trend?

    (a) one OLS line with Gaussian residuals (3 parameters); (b) a mixture of two linear regressions (own
    intercept, slope and sd each, plus a weight: 7 parameters) fitted by EM from n_starts seeded starts: a split
    of y at init_split_log10 (default: the median), the sign of the one-trend residuals, and random splits (see
    _starts). A start's solution is admissible when each component has at least min_members systems assigned
    (largest responsibility), a weight >= min_weight and an sd above the floor min_sd; the best admissible
    likelihood wins. Its shape ("kind") is "two_levels" when the two lines at the median date are further apart
    than the larger component sd, else "scale_mixture" (one level, two spreads: heavy tails, not clusters).
    Verdict "two_clusters" only when BIC(one) - BIC(two) > threshold and kind is "two_levels"; "one_trend"
    otherwise; "no admissible two-cluster fit" when no start gives an admissible solution (then the two_clusters
    numbers are None and its components empty).
    Returns {"n", "insufficient_data", "reason", "one_trend": {loglik, n_params, bic, intercept, slope_per_day,
    slope_oom_per_year, sd}, "two_clusters": {loglik, n_params, bic, converged, n_iter, components: [{weight,
    intercept, slope_per_day, slope_oom_per_year, sd, n_assigned, level_at_median_date}, lower first]},
    "starts", "admissible_starts", "rejected_starts" (count by reason; a start can have several),
    "median_date_days", "separation_log10", "kind", "delta_bic", "threshold", "verdict", "verdict_note"},
    or {"n", "insufficient_data": True, "reason"} with fewer than 2 * min_members systems or 3 distinct dates.
    """
    x, y = _as_xy(x_days, log10_sizes)
    n = int(x.size)
    _check_settings(n_starts, min_members, min_sd)
    reason = _insufficient(x, min_members)
    if reason:
        return {"n": n, "insufficient_data": True, "reason": reason}

    t, x_mean, t_median = _centred_years(x)
    one = fit_trend(x, y)
    loglik_one, resid, sd_one = (v[0] for v in _ols_rows(t, y[None, :]))
    rng = np.random.default_rng(seed)
    inits = _starts(t, y[None, :], resid[None, :], init_split_log10, n_starts, rng)[0]
    fits = _em(t, y[None, :], inits[None], min_sd, max_iter, tol)
    check = _admissible(fits, min_members, min_weight, min_sd)
    best = (0, int(_best(fits, check["ok"])[0]))

    bic_one = float(_bic(loglik_one, N_PARAMS_ONE, n))
    result = {
        "n": n,
        "insufficient_data": False,
        "reason": None,
        "one_trend": {
            "loglik": _num(loglik_one),
            "n_params": N_PARAMS_ONE,
            "bic": _num(bic_one),
            "intercept": one.intercept,
            "slope_per_day": one.slope_per_day,
            "slope_oom_per_year": one.slope_oom_per_year,
            "sd": float(sd_one),  # maximum-likelihood sd, the one in the log-likelihood
        },
        "two_clusters": {
            "loglik": None,
            "n_params": N_PARAMS_TWO,
            "bic": None,
            "converged": None,
            "n_iter": None,
            "components": [],
        },
        "starts": n_starts,
        "admissible_starts": int(np.count_nonzero(check["ok"])),
        "rejected_starts": {key: int(np.count_nonzero(v)) for key, v in check["reasons"].items()},
        "median_date_days": float(np.median(x)),
        "separation_log10": None,
        "kind": None,
        "delta_bic": None,
        "threshold": threshold,
        "verdict": "no admissible two-cluster fit",
        "verdict_note": (
            f"None of the {n_starts} EM starts gave two components with at least {min_members} systems each, a "
            f"weight of at least {min_weight:g} and a spread above the floor ({min_sd:g}): the mixtures found are "
            "degenerate (e.g. a spike of a few near-identical sizes), so there are no two clusters to compare "
            "with one trend."
        ),
    }
    if best[1] < 0:
        return result

    components = _components(fits, best, x_mean, t_median)
    kind, separation = _shape(components)
    loglik_two = float(fits["loglik"][best])
    bic_two = float(_bic(loglik_two, N_PARAMS_TWO, n))
    delta = bic_one - bic_two
    spreads = f"sd {components[0]['sd']:.2f} and {components[1]['sd']:.2f}"
    if delta <= threshold:
        verdict = "one_trend"
        note = (
            f"BIC does not prefer two trends by more than {threshold:g} (BIC(one) - BIC(two) = {delta:.1f}): one "
            "trend describes these systems as well."
        )
    elif kind == "scale_mixture":
        verdict = "one_trend"
        note = (
            f"BIC prefers the mixture by {delta:.1f}, but its two components sit at the same level (lines "
            f"{separation:.2f} OOM apart at the median date, {spreads}): it describes heavy-tailed scatter around "
            "one trend, not two clusters."
        )
    else:
        verdict = "two_clusters"
        note = (
            f"BIC prefers two trends by {delta:.1f} (> {threshold:g}) and their lines are {separation:.2f} OOM "
            f"apart at the median date, more than either spread ({spreads}): two clusters."
        )
    result["two_clusters"] = {
        "loglik": loglik_two,
        "n_params": N_PARAMS_TWO,
        "bic": bic_two,
        "converged": bool(fits["converged"][best]),
        "n_iter": int(fits["n_iter"][best]),
        "components": components,
    }
    result.update(separation_log10=separation, kind=kind, delta_bic=_num(delta), verdict=verdict, verdict_note=note)
    return result


# --------------------------------------------------------------------------------------------------
# the paper's question: a split at the gap?


def _mc_text(mc: dict) -> str:
    """A simulated P as its interval with hits of n (the verdict note's wording; the report words it too)."""
    low, high = mc["interval"]
    return f"in [{low:.2g}, {high:.2g}] ({mc['hits']} of {mc['n']})"


def split_at_gap_test(
    x_days,
    log10_sizes,
    lower: float,
    upper: float,
    *,
    n_boot: int,
    seed: int,
    n_starts: int = 20,
    alpha: float = 0.01,
    first_batch: int = 99,
    inner: int = 9,
    min_members: int = 10,
    min_weight: float = 0.05,
    min_sd: float = 0.01,
    max_iter: int = 500,
    tol: float = 1e-7,
) -> dict:
    """Are these systems better described by two trends, one above and one below the gap [lower, upper]
    (sizes in parameters), than by one trend?

    Statistic: LR = 2 (loglik_two - loglik_one) of the best admissible two-component mixture of regressions
    (EM from n_starts seeded starts, the first splitting y at the gap's log-midpoint; admissibility as in
    compare_one_trend_vs_two_clusters) against one OLS trend; 0 when no start is admissible (the one trend is
    the mixture with two equal lines). The mixture LR has no chi-square null distribution, so it is calibrated
    by simulation under one trend with the data's own residuals resampled with replacement (inflated to the
    unbiased scale; the scatter's shape is kept, only its link to the date is broken): a null of normal scatter
    would be rejected by a skewed upper tail of frontier models alone, which is not two trends.
    That bootstrap P alone, (1 + #(LR* >= LR)) / (inner + 1), is conservative (2.5 to 5.5% at a nominal 10% on
    small data sets of one trend, normal or skewed scatter; 0 to 1.1% at this function's default fit settings
    with 300 systems): a resample repeats residuals and carries the sample's own bumps, and the
    mixture fits those lumpier samples better than the true scatter. So the bootstrap P is calibrated by a double
    bootstrap (Beran's prepivoting): each null data set gets its own bootstrap P, computed exactly as the
    data's (its own OLS trend, its own residuals resampled `inner` times), and the reported P is the share of
    null data sets whose own P is at most the data's, p = (1 + hits) / (m + 1), simulated in batches of
    first_batch until its exact interval lies on one side of alpha, at most n_boot (montecarlo.sequential); ties
    of the LR and of the P are broken by a seeded jitter. The cost is (1 + inner) refits per null data
    set, more for the few whose LR beats all their inner resamples. The interval covers the simulation of the
    null data sets, not the data's own P, which is one draw of `inner` resamples: near alpha the P can change
    with the seed. So the data's own P is drawn again REDRAWS times (the "redraws", each placed against the same
    null data sets; cheap: the data set alone). The tests measure the size (tests/test_clusters.py). The fitted
    components straddle the gap when, at the median date, one line is at or above log10(upper) and the other at
    or below log10(lower). Verdict "split at the gap" only when the interval lies below alpha, twice the median of
    the redrawn P does too (merged_p: a valid P whatever their dependence, Vovk and Wang 2020; a verdict of the
    data, not of the seed), and the components straddle the gap.
    Returns {"question", "n", "insufficient_data", "reason", "lower", "upper", "lr_statistic", "p", "monte_carlo",
    "null", "bootstrap_p" (the data's own, uncalibrated), "inner", "redraws" ({n, bootstrap_p, p, median_p,
    merged_p, share_below_alpha}), "n_boot" (simulated), "max_boot", "seed",
    "n_starts", "alpha", "admissible", "components", "kind", "components_straddle_gap",
    "null_lr_quantiles" (50/95/99 %), "null_admissible_fraction", "verdict", "verdict_note"}, or
    {"question", "n", "insufficient_data": True, "reason"} with fewer than 2 * min_members systems.
    """
    x, y = _as_xy(x_days, log10_sizes)
    n = int(x.size)
    if not 0 < lower < upper:
        raise ValueError(f"need 0 < lower < upper, got {lower}, {upper}")
    if n_boot < 1 or inner < 1:
        raise ValueError(f"n_boot and inner must be positive, got {n_boot}, {inner}")
    _check_settings(n_starts, min_members, min_sd)
    reason = _insufficient(x, min_members)
    if reason:
        return {"question": SPLIT_QUESTION, "n": n, "insufficient_data": True, "reason": reason}

    t, x_mean, t_median = _centred_years(x)
    log_lower, log_upper = math.log10(lower), math.log10(upper)
    one = fit_trend(x, y)
    trend = one.intercept + one.slope_per_day * x
    scale = math.sqrt(n / (n - 2))  # residuals are resampled at the unbiased scale
    residuals = (y - trend) * scale

    def lr_rows(Y: np.ndarray, rng: np.random.Generator):
        """The LR of each row of Y, every row fitted by the same procedure (one trend, n_starts EM starts)."""
        loglik_one, resid, _ = _ols_rows(t, Y)
        loglik_two = np.full(Y.shape[0], -np.inf)
        block = max(1, BLOCK_ELEMENTS // (n_starts * n))
        first_fits = None
        for first in range(0, Y.shape[0], block):
            part = slice(first, first + block)
            inits = _starts(t, Y[part], resid[part], (log_lower + log_upper) / 2, n_starts, rng)
            fits, candidates = _screened_em(t, Y[part], inits, min_sd, max_iter, tol, min_members, min_weight)
            best = _best(fits, candidates & _admissible(fits, min_members, min_weight, min_sd)["ok"])
            rows = np.nonzero(best >= 0)[0]
            loglik_two[part][rows] = fits["loglik"][rows, best[rows]]
            if first == 0:
                first_fits = (fits, int(best[0]))
        # 0 without an admissible fit: one trend is nested
        return np.maximum(2.0 * (loglik_two - loglik_one), 0.0), np.isfinite(loglik_two), first_fits

    lr, _, (observed, observed_best) = lr_rows(y[None, :], np.random.default_rng(seed))
    lr_obs = float(lr[0])
    # LR = 0 (no admissible mixture) is common in small samples: ties are broken at random (a tiny seeded jitter
    # on every statistic), so the P is uniform under the null instead of conservative
    jitter = TIE_BREAK * np.random.default_rng([seed, 1]).random()
    null_lr, null_admissible, null_p = [], [], []

    def bootstrap_p(Y: np.ndarray, lr_values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Each row's own residual-bootstrap P, (1 + #(LR** >= LR)) / (L + 1), from L data sets of its own OLS
        trend with its own residuals resampled: L = inner, and a row whose LR beats all of them continues to
        10 (L + 1) - 1 resamples, and so on while 1 / (L + 1) > alpha: a data set whose own P sits at a floor
        above alpha ties with every null data set at that floor, and the calibrated P could not go below alpha.
        At a floor at or below alpha the random tie-break keeps the calibrated P exact; a finer floor (alpha / 10
        was tried) cost ten times the refits of every such data set, the data's redraws included, and changes no
        verdict. The same function for the data and for every null data set (ties of the LR broken by the seeded
        jitter; the caller breaks ties of the P)."""
        _, resid, _ = _ols_rows(t, Y)
        fitted = Y - resid
        hits, drawn = np.zeros(len(Y), dtype=int), np.zeros(len(Y), dtype=int)
        rows, total = np.arange(len(Y)), inner
        while rows.size:
            k = total - drawn[rows[0]]
            pick = rng.integers(0, n, size=(rows.size, k, n))
            second = fitted[rows, None, :] + scale * resid[rows[:, None, None], pick]
            lr_second = lr_rows(second.reshape(rows.size * k, n), rng)[0].reshape(rows.size, k)
            lr_second += TIE_BREAK * rng.random(lr_second.shape)
            hits[rows] += np.count_nonzero(lr_second >= lr_values[rows, None], axis=1)
            drawn[rows] = total
            if 1 / (total + 1) <= alpha:
                break
            rows, total = rows[hits[rows] == 0], 10 * (total + 1) - 1
        return (hits + 1) / (drawn + 1)

    def simulate(m: int, rng: np.random.Generator) -> dict:
        # the null: one trend, the data's own residuals resampled (no shape assumed for the scatter); each null
        # data set's own bootstrap P is computed as the data's
        Y = trend + residuals[rng.integers(0, n, size=(m, n))]
        lr_null, admissible, _ = lr_rows(Y, rng)
        lr_null += TIE_BREAK * rng.random(m)
        null_lr.append(lr_null)
        null_admissible.append(admissible)
        null_p.append(bootstrap_p(Y, lr_null, rng) + TIE_BREAK * rng.random(m))
        return {"p": null_p[-1]}

    own_rng = np.random.default_rng([seed, 2])
    own_p = float(bootstrap_p(y[None, :], np.array([lr_obs + jitter]), own_rng)[0])
    mc = montecarlo.sequential(
        simulate,
        {"p": own_p + TIE_BREAK * own_rng.random()},
        alpha=alpha,
        first_batch=min(first_batch, n_boot),
        max_n=n_boot,
        seed=seed + 1,
        resolve=(),
    )["p"]
    lr_null = np.concatenate(null_lr)
    p = mc["p"]
    p_floor = 1 / (n_boot + 1)
    # The interval above covers the null data sets only; the data's own P is one draw of `inner` resamples. Drawn
    # again REDRAWS times and placed against the same null data sets, it shows whether the verdict is the data's
    # or the seed's. Each redrawn P is a valid P, and twice their median is one too, whatever their dependence
    # (Vovk and Wang 2020, quantile merging): a split is claimed only when that merged P lies below alpha too.
    redraw_rng = np.random.default_rng([seed, 3])
    again = bootstrap_p(np.repeat(y[None, :], REDRAWS, axis=0), np.full(REDRAWS, lr_obs + jitter), redraw_rng)
    nulls = np.sort(np.concatenate(null_p))
    placed = np.searchsorted(nulls, again + TIE_BREAK * redraw_rng.random(REDRAWS), side="right")
    redrawn = (1.0 + placed) / (nulls.size + 1.0)
    redraws = {
        "n": REDRAWS,
        "bootstrap_p": [float(v) for v in again],
        "p": [float(v) for v in redrawn],
        "median_p": float(np.median(redrawn)),
        "merged_p": float(min(1.0, 2.0 * np.median(redrawn))),
        "share_below_alpha": float(np.mean(redrawn < alpha)),
    }
    stable = redraws["merged_p"] < alpha
    spread = (
        f"over {REDRAWS} redraws of the data's own {inner} resamples the P runs from {redrawn.min():.2g} to "
        f"{redrawn.max():.2g}, below alpha in {int(np.sum(redrawn < alpha))}; twice their median, a P valid "
        f"whatever the redraws' dependence, is {redraws['merged_p']:.2g}"
    )

    components, kind, straddle = [], None, False
    if observed_best >= 0:
        components = _components(observed, (0, observed_best), x_mean, t_median)
        kind, _ = _shape(components)
        low, high = components
        straddle = bool(low["level_at_median_date"] <= log_lower and high["level_at_median_date"] >= log_upper)

    verdict = "no evidence of a split at the gap"
    if observed_best < 0:
        note = "No EM start gave two admissible components: there are no two trends to test."
    elif mc["side"] == "below" and straddle and stable:
        verdict = "split at the gap"
        note = (
            f"Two trends fit better than one by more than one trend with its own scatter does by chance (LR "
            f"{lr_obs:.1f}, p {_mc_text(mc)}; {spread}), and at the median date one "
            "lies below the gap, the other above it."
        )
    elif mc["side"] == "below" and straddle:
        note = (
            f"Inconclusive: with this seed the LR ({lr_obs:.1f}) gives p {_mc_text(mc)} and the components "
            f"straddle the gap, but {spread}: whether the P lies below alpha = {alpha:g} depends on the data's "
            "own resampling, not only on the data."
        )
    elif mc["side"] == "below":
        note = (
            f"Two trends fit better than one (LR {lr_obs:.1f}, p {_mc_text(mc)}), but they do not lie on either "
            f"side of the gap (lines at {low['level_at_median_date']:.2f} and {high['level_at_median_date']:.2f} "
            f"in log10 at the median date, gap {log_lower:.2f} to {log_upper:.2f}): one trend does not describe "
            "these systems, but they are not split at the gap."
        )
    elif mc["side"] == "inconclusive":
        note = (
            f"Inconclusive at alpha = {alpha:g}: the LR ({lr_obs:.1f}) against one trend with its residuals "
            f"resampled gives p {_mc_text(mc)}. Components "
            + ("straddle" if straddle else "do not straddle")
            + " the gap."
        )
    else:
        note = (
            f"The two-trend fit gains no more than one trend with its own scatter gains by chance (LR {lr_obs:.1f}, "
            f"p {_mc_text(mc)}, alpha {alpha:g})."
        )
    return {
        "question": SPLIT_QUESTION,
        "n": n,
        "insufficient_data": False,
        "reason": None,
        "lower": float(lower),
        "upper": float(upper),
        "lr_statistic": lr_obs,
        "p": p,
        "monte_carlo": mc,
        "null": "one trend, its residuals resampled with replacement; the bootstrap P calibrated by a double bootstrap",
        "bootstrap_p": own_p,
        "inner": inner,
        "redraws": redraws,
        "min_attainable_p": p_floor,
        "n_boot": mc["n"],
        "max_boot": n_boot,
        "seed": seed,
        "n_starts": n_starts,
        "alpha": alpha,
        "admissible": observed_best >= 0,
        "components": components,
        "kind": kind,
        "components_straddle_gap": straddle,
        "null_lr_quantiles": [float(q) for q in np.percentile(lr_null, [50.0, 95.0, 99.0])],
        "null_admissible_fraction": float(np.mean(np.concatenate(null_admissible))),
        "verdict": verdict,
        "verdict_note": note,
    }
