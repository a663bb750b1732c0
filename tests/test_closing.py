"""Tests of mlsizes.analysis.closing: the design effect and the closing test, on synthetic data with known answers
(fixed seeds); the closing test's size over 200 null data sets."""

import math

import numpy as np
import pytest

from mlsizes.analysis import closing as C
from mlsizes.analysis import stats as S

YEAR = 365.0
X_2018 = 17532.0
LOG_LOWER, LOG_UPPER = math.log10(2e10), math.log10(7e10)
ALPHA = 0.05
N_DATASETS = 200
TWO_SE = 2 * math.sqrt(ALPHA * (1 - ALPHA) / N_DATASETS)


def test_design_effect_known_answers():
    p = np.full(6, 0.5)
    independent = C.design_effect([1, 0, 1, 0, 1, 0], p, ["a", "b", "c", "d", "e", "f"])
    assert independent["design_effect"] == pytest.approx(1.0) and independent["n_clusters"] == 6
    # two organisations, each all in or all out: the clustered variance is (3 x 0.5)^2 x 2 = 4.5 against 1.5
    together = C.design_effect([1, 1, 1, 0, 0, 0], p, ["a", "a", "a", "b", "b", "b"])
    assert together["design_effect"] == pytest.approx(3.0) and together["design_effect_used"] == 3.0
    below_one = C.design_effect([1, 0, 1, 0], np.full(4, 0.5), ["a", "a", "b", "b"])
    assert below_one["design_effect"] == pytest.approx(0.0) and below_one["design_effect_used"] == 1.0
    with pytest.raises(ValueError):
        C.design_effect([1, 0], [0.5], ["a", "b"])


def closing_data(seed, ratio=1.0, n_early=150, n_late=120, sd=0.8):
    """Early systems (the fit) and late ones (tested) around one trend; late systems in the gap are moved out of
    it with probability 1 - ratio, so the true observed/expected ratio is `ratio`."""
    rng = np.random.default_rng(seed)
    x_early = np.sort(rng.uniform(X_2018, X_2018 + 4.5 * YEAR, n_early))
    x_late = np.sort(rng.uniform(X_2018 + 4.5 * YEAR, X_2018 + 8 * YEAR, n_late))
    trend = lambda x: 8.0 + 0.4 * (x - X_2018) / YEAR  # noqa: E731
    y_early = trend(x_early) + rng.normal(0, sd, n_early)
    y_late = trend(x_late) + rng.normal(0, sd, n_late)
    inside = (y_late > LOG_LOWER) & (y_late < LOG_UPPER)
    move = inside & (rng.random(n_late) >= ratio)
    y_late[move] = np.where(rng.random(n_late) < 0.5, LOG_LOWER - 0.3, LOG_UPPER + 0.3)[move]
    return x_early, y_early, x_late, y_late


def closing_verdict(seed, ratio):
    x_early, y_early, x_late, y_late = closing_data(seed, ratio)
    fit = S.fit_trend(x_early, y_early)
    p = S.gap_probabilities(fit, x_late, 2e10, 7e10)
    level, slope, sd, x_mean = S.posterior_draws(x_early, y_early, 100, seed)
    mu = level[:, None] + slope[:, None] * (x_late - x_mean)
    var_expected = float(S._interval_probabilities(mu, sd[:, None], LOG_LOWER, LOG_UPPER).sum(1).var(ddof=1))
    inside = (y_late > LOG_LOWER) & (y_late < LOG_UPPER)
    deff = C.design_effect(inside, p, np.arange(x_late.size))["design_effect_used"]
    return C.ratio_test(int(inside.sum()), p, var_expected, deff, alpha=ALPHA, meaningful_ratio=0.5)


def test_persists_holds_its_size_when_nothing_changed():
    rate = np.mean([closing_verdict(seed, 1.0)["verdict"] == "persists" for seed in range(N_DATASETS)])
    assert abs(rate - ALPHA) <= TWO_SE


def test_closed_holds_its_size_at_a_meaningful_deficit():
    rate = np.mean([closing_verdict(1000 + seed, 0.5)["verdict"] == "closed" for seed in range(N_DATASETS)])
    assert abs(rate - ALPHA) <= TWO_SE


def test_ratio_test_verdicts_read_off_the_interval():
    p = np.full(100, 0.3)  # 30 expected
    for observed, verdict in ((8, "persists"), (29, "closed"), (20, "inconclusive")):
        result = C.ratio_test(observed, p, 4.0, 1.0, alpha=0.01, meaningful_ratio=0.5)
        low, high = result["interval"]
        assert result["verdict"] == verdict, (observed, result)
        assert (high < 1) == (verdict == "persists") and (low > 0.5) == (verdict == "closed")
        assert low <= result["ratio"] <= high
    clustered = C.ratio_test(20, p, 4.0, 3.0, alpha=0.01, meaningful_ratio=0.5)
    plain = C.ratio_test(20, p, 4.0, 1.0, alpha=0.01, meaningful_ratio=0.5)
    assert clustered["interval"][0] < plain["interval"][0] and clustered["interval"][1] > plain["interval"][1]
    assert clustered["power_deficit_test_at_meaningful_ratio"] < plain["power_deficit_test_at_meaningful_ratio"]
    assert C.ratio_test(0, np.zeros(3), 0.0, 1.0, alpha=0.01, meaningful_ratio=0.5)["insufficient_data"]
    assert C.ratio_test(0, p, 4.0, 1.0, alpha=0.01, meaningful_ratio=0.5)["interval"][0] == 0.0


def test_clustered_p_widens_the_local_test():
    p = np.full(100, 0.3)
    assert C.clustered_p(20, p, 2.0) > C.clustered_p(20, p, 1.0) > S.poisson_binomial_cdf(p, 19)
    assert C.clustered_p(0, np.zeros(3), 1.0) is None
