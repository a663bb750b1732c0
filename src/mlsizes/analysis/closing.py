"""Count tests that allow for organisations and for the trend's own uncertainty: the design effect of a count of
systems in the gap, and the closing test (has the gap closed?) on systems published after the bounds were fixed.

Why: systems of one organisation share a size policy (9 of the 17 in-gap systems of the newest window came from two
organisations), so their in-gap indicators are correlated and the Poisson-binomial variance is too small; and an
expected count extrapolated from an earlier fit is itself uncertain. Both widen every interval here.

The design effect of a count K = sum of indicators I_i with model probabilities p_i, systems grouped by
organisation g: deff = sum_g (sum_{i in g} (I_i - p_i))^2 / sum_i p_i (1 - p_i), the organisation-clustered
(sandwich) variance over the model variance. It is estimated, so tests use max(1, deff): clustering is never
allowed to shrink a variance.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special


def design_effect(inside, p, clusters) -> dict:
    """The design effect of the in-gap count (see the module docstring); clusters labels each system's group."""
    inside = np.asarray(inside, dtype=float)
    p = np.asarray(p, dtype=float)
    labels = np.asarray(clusters, dtype=object)
    if not (inside.shape == p.shape == labels.shape):
        raise ValueError("inside, p and clusters must have one entry per system")
    model = float(np.sum(p * (1.0 - p)))
    _, group = np.unique(labels.astype(str), return_inverse=True)
    clustered = float(np.sum(np.bincount(group, inside - p) ** 2))
    deff = clustered / model if model > 0 else None
    return {
        "design_effect": deff,
        "design_effect_used": max(1.0, deff) if deff is not None else 1.0,
        "n_clusters": int(group.max() + 1) if group.size else 0,
        "n_systems": int(p.size),
        "model_variance": model,
        "clustered_variance": clustered,
    }


def clustered_p(observed: int, p, deff_used: float) -> float | None:
    """P(K <= observed) by the normal approximation with continuity correction and the variance times the design
    effect: the local test's P with organisations allowed for (None with no variance)."""
    p = np.asarray(p, dtype=float)
    var = deff_used * float(np.sum(p * (1.0 - p)))
    if var <= 0:
        return None
    return float(special.ndtr((observed + 0.5 - p.sum()) / math.sqrt(var)))


def _z(observed: int, rho: float, expected: float, sum_p2: float, var_expected: float, deff: float, side: int):
    """Score z of the count against ratio rho: side -1 for the lower tail (continuity +0.5), +1 for the upper."""
    var = deff * max(rho * expected - rho * rho * sum_p2, 0.0) + rho * rho * var_expected
    gap = observed - 0.5 * side - rho * expected
    if var <= 0:  # rho = 0: no count is expected, none varies
        return math.copysign(math.inf, gap) if gap else 0.0
    return gap / math.sqrt(var)


def _solve(f, target: float, hi: float) -> float:
    """The rho in [0, hi] where the decreasing f crosses target (bisection; 0 or hi at the ends)."""
    lo = 0.0
    if f(lo) <= target:
        return 0.0
    if f(hi) >= target:
        return hi
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) > target else (lo, mid)
    return (lo + hi) / 2


def ratio_test(
    observed: int,
    p,
    var_expected: float,
    deff_used: float,
    *,
    alpha: float,
    meaningful_ratio: float,
) -> dict:
    """The closing test: is the in-gap rate, as a ratio to the trend's expectation, still in deficit, or has it
    recovered beyond a meaningful deficit?

    The count is taken as normal with mean rho E and variance deff sum rho p (1 - rho p) + rho^2 var(E) (var(E): the
    expectation's own uncertainty, from the fit), continuity corrected. "persists" when rho = 1 is rejected
    downwards at alpha (p_deficit < alpha); "closed" when rho <= meaningful_ratio is rejected upwards at alpha
    (p_closed < alpha); otherwise "inconclusive". The interval at level 1 - 2 alpha is the set of ratios neither
    one-sided test rejects, so the verdicts read off it: closed when its lower end exceeds meaningful_ratio,
    persists when its upper end is below 1. Power: of the deficit test against rho = meaningful_ratio, and of the
    closed test against rho = 1.
    """
    p = np.asarray(p, dtype=float)
    expected, sum_p2 = float(p.sum()), float(np.sum(p * p))
    if expected <= 0:
        return {"insufficient_data": True, "reason": "no system was expected in the gap"}
    args = (expected, sum_p2, var_expected, deff_used)
    crit = float(special.ndtri(1.0 - alpha))
    p_deficit = float(special.ndtr(_z(observed, 1.0, *args, side=-1)))
    p_closed = float(special.ndtr(-_z(observed, meaningful_ratio, *args, side=1)))
    top = 10.0 * (observed + 5.0) / expected

    def interval(level_z: float) -> list[float]:
        lower = 0.0 if observed == 0 else _solve(lambda r: _z(observed, r, *args, side=1), level_z, top)
        upper = _solve(lambda r: _z(observed, r, *args, side=-1), -level_z, top)
        return [lower, upper]

    counts = np.arange(int(3 * expected) + 10)
    deficit_z = np.array([_z(int(k), 1.0, *args, side=-1) for k in counts[: int(expected) + 2]])
    closed_z = np.array([_z(int(k), meaningful_ratio, *args, side=1) for k in counts])
    deficit_cut = np.flatnonzero(special.ndtr(deficit_z) < alpha)  # counts the deficit test rejects
    closed_cut = np.flatnonzero(special.ndtr(-closed_z) < alpha)  # counts the closed test rejects

    def reject_below(rho: float) -> float:  # P_rho(deficit test rejects)
        return 0.0 if not deficit_cut.size else float(special.ndtr(_z(int(deficit_cut[-1]), rho, *args, side=-1)))

    def reject_above(rho: float) -> float:  # P_rho(closed test rejects)
        return 0.0 if not closed_cut.size else float(special.ndtr(-_z(int(closed_cut[0]), rho, *args, side=1)))

    verdict = "persists" if p_deficit < alpha else "closed" if p_closed < alpha else "inconclusive"
    return {
        "insufficient_data": False,
        "observed_in_gap": int(observed),
        "expected_in_gap": expected,
        "expected_sd": math.sqrt(var_expected),
        "ratio": observed / expected,
        "interval": interval(crit),
        "interval_level": 1.0 - 2.0 * alpha,
        "interval_95": interval(float(special.ndtri(0.975))),
        "p_deficit": p_deficit,
        "p_closed": p_closed,
        "meaningful_ratio": meaningful_ratio,
        "alpha": alpha,
        "design_effect_used": deff_used,
        "power_deficit_test_at_meaningful_ratio": reject_below(meaningful_ratio),
        "power_closed_test_at_ratio_1": reject_above(1.0),
        "verdict": verdict,
    }
