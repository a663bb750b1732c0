"""Honest Monte Carlo P values: every P that comes from simulation is (hits + 1) / (n + 1) with an exact
(Clopper-Pearson) interval, simulated in batches until the interval lies on one side of alpha and resolves the P
within a factor (or a maximum count is reached), and worded no finer than what was resolved.

Why (hits + 1) / (n + 1): with the observed data counted among the n + 1 exchangeable data sets, P(p <= u) <= u
for every u under the null, for any n; hits / n is not a valid P (0 hits would claim P = 0), and flooring it at
another number (the earlier code used the local P) is not one either. The interval is for the P the simulation
estimates (the share of null statistics as extreme as the observed one), from hits of n.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

LEVEL = 0.95  # the interval printed next to every simulated P


def clopper_pearson(hits: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Exact two-sided binomial interval for a share from hits of n (0 hits: lower 0; n hits: upper 1)."""
    if n < 1 or not 0 <= hits <= n:
        raise ValueError(f"need 0 <= hits <= n and n >= 1, got {hits} of {n}")
    tail = (1.0 - level) / 2.0
    lower = 0.0 if hits == 0 else float(special.betaincinv(hits, n - hits + 1, tail))
    upper = 1.0 if hits == n else float(special.betaincinv(hits + 1, n - hits, 1.0 - tail))
    return lower, upper


def mc_p(hits: int, n: int, alpha: float, factor: float = 2.0) -> dict:
    """The simulated P from hits of n: p = (hits + 1) / (n + 1), its interval, where the interval lies against
    alpha ("below", "above" or "inconclusive") and whether it resolves p within `factor` either way."""
    lower, upper = clopper_pearson(hits, n)
    p = (hits + 1) / (n + 1)
    side = "below" if upper < alpha else "above" if lower > alpha else "inconclusive"
    return {
        "hits": int(hits),
        "n": int(n),
        "p": p,
        "interval": [lower, upper],
        "alpha": alpha,
        "side": side,
        "resolved": bool(upper <= factor * p and lower >= p / factor),
    }


def settled(result: dict, resolve: bool = True) -> bool:
    """A P is settled when its interval lies on one side of alpha and (when asked) resolves it within the factor."""
    return result["side"] != "inconclusive" and (result["resolved"] or not resolve)


def sequential(
    simulate: Callable[[int, np.random.Generator], dict[str, np.ndarray]],
    observed: dict[str, float],
    *,
    alpha: float,
    first_batch: int,
    max_n: int,
    seed: int,
    factor: float = 2.0,
    resolve: tuple[str, ...] | None = None,
    watch: tuple[str, ...] | None = None,
) -> dict[str, dict]:
    """Simulate null statistics in batches (first_batch, then doubling) until every P in `observed` is settled or
    max_n simulations are done; a hit is a null statistic <= the observed one (small statistics are extreme).
    The keys in `resolve` (default: all) must also be resolved within `factor`; the others only placed against
    alpha (a P whose interval already lies below alpha needs no finer value to decide a verdict). Only the keys
    in `watch` (default: all) decide when to stop; the others are counted on the same simulations.

    simulate(m, rng) returns, for each key of observed, m null statistics. One generator seeded once, batch sizes
    fixed by (first_batch, max_n) and the stopping rule: the same inputs give the same hits.
    """
    if not (0 < first_batch <= max_n):
        raise ValueError("need 0 < first_batch <= max_n")
    rng = np.random.default_rng(seed)
    hits = dict.fromkeys(observed, 0)
    n, batch = 0, first_batch
    while True:
        m = min(batch, max_n - n)
        stats = simulate(m, rng)
        for key, value in observed.items():
            hits[key] += int(np.count_nonzero(stats[key] <= value))
        n += m
        results = {key: mc_p(hits[key], n, alpha, factor) for key in observed}
        watched = [(key, r) for key, r in results.items() if watch is None or key in watch]
        if n >= max_n or all(settled(r, resolve is None or key in resolve) for key, r in watched):
            return {key: {**r, "max_n": max_n, "seed": seed} for key, r in results.items()}
        batch = min(2 * batch, max_n - n)
