"""Tests of mlsizes.analysis.montecarlo: the simulated P, its exact interval and the sequential stopping rule."""

import numpy as np
import pytest
from scipy import stats as sps

from mlsizes.analysis import montecarlo as M


@pytest.mark.parametrize(("hits", "n"), [(0, 200), (1, 200), (7, 1000), (200, 200), (50, 60)])
def test_clopper_pearson_equals_scipy(hits, n):
    expected = sps.binomtest(hits, n).proportion_ci(0.95, method="exact")
    assert M.clopper_pearson(hits, n) == pytest.approx((expected.low, expected.high), rel=1e-7, abs=1e-15)


def test_the_issue_example_one_hit_in_200():
    """One hit in 200: p = 2/201 (not 1/200), interval 0.00013 to 0.028, which straddles alpha = 0.01."""
    result = M.mc_p(1, 200, alpha=0.01)
    assert result["p"] == pytest.approx(2 / 201)
    assert result["interval"] == pytest.approx([0.000127, 0.0275], rel=0.01)
    assert result["side"] == "inconclusive" and not result["resolved"]
    assert M.mc_p(0, 200, alpha=0.01)["p"] == pytest.approx(1 / 201)  # never 0


def test_mc_p_refuses_impossible_counts():
    for hits, n in ((-1, 10), (11, 10), (0, 0)):
        with pytest.raises(ValueError):
            M.mc_p(hits, n, alpha=0.01)


def test_plus_one_p_is_valid_under_the_null():
    """With the observed statistic exchangeable with n null draws, P(p <= alpha) <= alpha exactly when
    alpha (n + 1) is whole: 4000 data sets, 19 simulations each, alpha 0.05 (the rate is 0.05, SE 0.0034)."""
    rng = np.random.default_rng(0)
    draws = rng.random((4000, 20))
    hits = np.count_nonzero(draws[:, 1:] <= draws[:, :1], axis=1)
    rate = np.mean([M.mc_p(int(h), 19, alpha=0.05)["p"] <= 0.05 for h in hits])
    assert abs(rate - 0.05) < 2 * np.sqrt(0.05 * 0.95 / 4000)


def uniform_null(m, rng):
    return {"u": rng.random(m)}


@pytest.mark.parametrize(("observed", "side"), [(1e-3, "below"), (0.2, "above")])
def test_sequential_stops_once_settled_and_resolves_the_p(observed, side):
    result = M.sequential(uniform_null, {"u": observed}, alpha=0.01, first_batch=500, max_n=200_000, seed=3)["u"]
    assert result["side"] == side and result["resolved"]
    low, high = result["interval"]
    assert low <= observed <= high and high <= 2 * result["p"] and low >= result["p"] / 2
    assert result["n"] < 200_000
    again = M.sequential(uniform_null, {"u": observed}, alpha=0.01, first_batch=500, max_n=200_000, seed=3)["u"]
    assert again == result


def test_sequential_says_inconclusive_at_the_maximum():
    """A true P at alpha cannot be placed on one side of it: the run ends at max_n with the interval."""
    result = M.sequential(uniform_null, {"u": 0.01}, alpha=0.01, first_batch=100, max_n=2000, seed=1)["u"]
    assert result["n"] == 2000 and result["side"] == "inconclusive"
    low, high = result["interval"]
    assert low < 0.01 < high


def test_sequential_decides_without_resolving_when_asked():
    """A P far below alpha needs only a few hundred simulations to be placed; resolving it would take 100,000."""
    decided = M.sequential(uniform_null, {"u": 1e-5}, alpha=0.01, first_batch=500, max_n=100_000, seed=2, resolve=())
    assert decided["u"]["side"] == "below" and decided["u"]["n"] <= 1500
    with pytest.raises(ValueError):
        M.sequential(uniform_null, {"u": 0.5}, alpha=0.01, first_batch=0, max_n=10, seed=0)
