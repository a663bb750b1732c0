"""Time the statistical core on paper-sized synthetic inputs and print a Markdown table.

Run: .venv/bin/python bench/bench_stats.py
Times are the best of several repeats (wall clock); peak memory is measured in a separate traced run,
because tracemalloc slows allocation-heavy code down.
"""

import time
import tracemalloc

import numpy as np

from mlsizes.analysis import clusters, scan
from mlsizes.analysis import stats as S

X_2018, X_2020, X_2022 = 17532.0, 18262.0, 19173.0


def best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_mib(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


SCAN_SIMS, FAMILY_SIMS = 20_000, 2_000


def scan_p(x, y, family: bool):
    """The scan engine at a fixed count (first batch = maximum): the rate, not the stopping rule, is measured."""
    tested = x >= X_2020
    half = np.arange(x.size) % 2 == 0
    everyone = np.arange(x.size)
    groups = [scan.Group("all", everyone, tested)]
    if family:
        groups.append(scan.Group("half", everyone[half], tested[half]))
    widths = tuple(0.3 + 0.05 * i for i in range(10)) if family else ()
    windows = scan.Windows.build(2e10, 7e10, False, widths=widths)
    sims = FAMILY_SIMS if family else SCAN_SIMS
    null = scan.NullModel.fit(x, y, [everyone[half], everyone[~half]] if family else [everyone], "normal")
    return scan.family_p(
        x, y, groups, windows, null, alpha=0.01, first_batch=sims, max_n=sims, seed=0, scan=True, family=family
    )


def main():
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(X_2018, X_2022, 500))
    y = 8.0 + 0.9 * (x - X_2018) / 365 + rng.normal(0, 0.8, x.size)
    fit = S.fit_trend(x, y)
    x_test = np.linspace(X_2020, X_2022, 100)
    p = S.gap_probabilities(fit, x_test, 2e10, 7e10)
    one_line = slice(0, 129)

    cases = [
        (
            "exact gap probability P(K<=0)",
            "100 systems",
            "< 10 ms",
            lambda: S.poisson_binomial_cdf(S.gap_probabilities(fit, x_test, 2e10, 7e10), 0),
            20,
        ),
        (
            "Monte Carlo P(K<=0)",
            "1,000,000 sims x 100 systems",
            "< 1 s",
            lambda: S.monte_carlo_cdf(p, 0, n_sims=1_000_000, seed=0),
            3,
        ),
        (
            "bootstrap slope (jitter)",
            "1000 resamples x 500 points",
            "few ms",
            lambda: S.bootstrap_slope(x, y, n_resamples=1000, seed=0),
            5,
        ),
        (
            "break date profile",
            "100 candidates x 500 points",
            "< 50 ms",
            lambda: S.break_date_profile(x, y, np.linspace(X_2018 + 100, X_2022 - 100, 100)),
            20,
        ),
        ("Poisson-binomial pmf", "3000 systems", "", lambda: S.poisson_binomial_pmf(rng.uniform(0, 1, 3000)), 5),
        (
            "scan-corrected P (look-elsewhere), one null",
            f"{SCAN_SIMS:,} simulations, 500 fitted / 300 tested",
            "",
            lambda: scan_p(x, y, family=False),
            2,
        ),
        (
            "family-wide scan (10 widths x 2 groups)",
            f"{FAMILY_SIMS:,} simulations, 500 fitted / 300 tested",
            "",
            lambda: scan_p(x, y, family=True),
            2,
        ),
        (
            "posterior-predictive P",
            "400 draws, 300 tested",
            "< 0.2 s",
            lambda: S.posterior_predictive_p(
                x, y, x[x >= X_2020], 10 ** y[x >= X_2020], 2e10, 7e10, inclusive=False, n_draws=400, seed=0
            ),
            3,
        ),
        (
            "split at the gap (LRT, double residual bootstrap)",
            "99 null data sets x 9 resamples, 300 points",
            "< 4 s",
            lambda: clusters.split_at_gap_test(x[:300], y[:300], 2e10, 7e10, n_boot=99, seed=0),
            1,
        ),
        (
            "one trend vs two clusters (EM, 200 starts)",
            "129 points",
            "",
            lambda: clusters.compare_one_trend_vs_two_clusters(x[one_line], y[one_line], seed=0),
            3,
        ),
    ]
    print("| task | size | best time | target | peak memory (traced) |")
    print("|---|---|---|---|---|")
    for name, size, target, fn, repeats in cases:
        seconds = best_time(fn, repeats)
        shown = f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"
        print(f"| {name} | {size} | {shown} | {target} | {peak_mib(fn):.1f} MiB |")

    for label, sims, family in (("scan", SCAN_SIMS, False), ("family-wide scan", FAMILY_SIMS, True)):
        seconds = best_time(lambda family=family: scan_p(x, y, family=family), 2)
        print(f"\nSimulation rate, {label}: {sims / seconds:,.0f} simulated data sets per second (one core)")
    mc = S.monte_carlo_cdf(p, 0, n_sims=1_000_000, seed=0)
    print(
        f"\nCheck: exact P(K<=0) = {S.poisson_binomial_cdf(p, 0):.4g}, Monte Carlo = {mc['estimate']:.4g} "
        f"+/- {mc['se']:.2g} (expected in gap {p.sum():.2f})"
    )


if __name__ == "__main__":
    main()
