"""The gap atlas (analysis/atlas.py, stage `atlas`): its corrected P holds its size over 200 null data sets, the
model check reads planted gaps and wrong trend models correctly, the paper's cell is the gap test's, and the
metrics the stages wrote answer the issue's questions (paper-era minimum at the paper's band, RQ5 per release)."""

import dataclasses
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlsizes.analysis import atlas, stats
from mlsizes.core.settings import AtlasParams, Settings, read_params
from mlsizes.records import contracts

ROOT = Path(__file__).resolve().parents[1]
ALPHA = 0.05
SIMS = 99  # (hits + 1) / 100 <= 0.05 exactly when at most 4 hits: an exact-size test for exchangeable data sets
N_DATASETS = 200
TWO_SE = 2 * math.sqrt(ALPHA * (1 - ALPHA) / N_DATASETS)


@pytest.fixture(scope="module")
def params():
    return dataclasses.replace(Settings.load(ROOT / "params.yaml").analysis, as_of=dt.date(2023, 12, 31), alpha=ALPHA)


def small_settings(params, **changes) -> AtlasParams:
    """A small atlas: one measure, all domains, two widths (and the gap's own), positions 0.1 dex apart."""
    section = read_params(ROOT / "params.yaml")["atlas"]
    base = AtlasParams.from_dict(section, params)
    small = dict(
        measures={"parameters": "parameters"},
        groups=("all",),
        min_domain_systems=10**6,
        widths_dex=(0.4, 0.8),
        step_dex=0.1,
        windows={"headline": base.windows["headline"]},
        mc_first_batch=19,
        mc_max_n=19,
    )
    return dataclasses.replace(base, **{**small, **changes})


def synthetic(seed: int, n: int = 120, scatter=None, gap=None) -> pd.DataFrame:
    """Systems 2018-2023 around a trend of 0.4 dex a year from 1e8, sd 0.8 (normal unless `scatter` draws it);
    `gap` (lo, hi) in log10 pushes every system inside it to the nearer edge and 0.05 dex beyond."""
    rng = np.random.default_rng(seed)
    days = np.sort(rng.integers(0, 6 * 365, n))
    noise = scatter(rng, n) if scatter else rng.normal(0.0, 0.8, n)
    y = 8.0 + 0.4 * days / 365 + noise
    if gap:
        lo, hi = gap
        inside = (y > lo) & (y < hi)
        y[inside] = np.where(y[inside] - lo < hi - y[inside], lo - 0.05, hi + 0.05)
    dates = pd.Timestamp("2018-01-01") + pd.to_timedelta(days, unit="D")
    return pd.DataFrame(
        {
            "id": [f"s{i}" for i in range(n)],
            "name": [f"system {i}" for i in range(n)],
            "domains": np.where(np.arange(n) % 2, "Language", "Vision"),
            "primary_domain": np.where(np.arange(n) % 2, "Language", "Vision"),
            "publication_date": dates.strftime("%Y-%m-%d"),
            "parameters": 10.0**y,
        }
    )


def null_atlas(seed: int, n: int = 60) -> atlas.MeasureData:
    """A small atlas with no gap, as arrays: one series, the last 40 systems tested, edges 0.1 dex apart."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(17532.0, 17532.0 + 6 * 365, n))
    y = 8.0 + 0.4 * (x - 17532.0) / 365 + rng.normal(0.0, 0.8, n)
    everyone = np.arange(n)
    series = (atlas.Series("parameters", "all", "headline", everyone, everyone >= n - 40),)
    edges = np.round(5.0 + 0.1 * np.arange(80), 9)
    return atlas.MeasureData("parameters", pd.DataFrame(), x, y, series, {}, edges, (everyone,))


@pytest.mark.parametrize("kind", ["normal", "bootstrap"])
def test_corrected_p_holds_its_size_over_200_null_data_sets(params, kind):
    widths = atlas.widths(small_settings(params), params)
    rejected = 0
    for seed in range(N_DATASETS):
        data = [null_atlas(seed)]
        result = atlas.corrected_p(data, widths, 0.1, kind, alpha=ALPHA, first_batch=SIMS, max_n=SIMS, seed=seed)
        assert result["n"] == SIMS and result["p"] == (result["hits"] + 1) / (SIMS + 1)
        rejected += result["p"] <= ALPHA
    assert abs(rejected / N_DATASETS - ALPHA) <= TWO_SE, rejected


def test_a_planted_gap_is_found_and_read_as_a_gap(params):
    settings = small_settings(params)
    models = synthetic(1, n=400, gap=(9.3, 9.9))
    out = atlas.analyse(models, settings, params, simulate=False)
    low = out["result"]["minimum"]
    assert low["lower_log10"] < 9.9 and low["upper_log10"] > 9.3  # the band overlaps the planted gap
    assert low["reading"].startswith("a gap:"), low["reading"]
    check = out["result"]["series"]["parameters"]["all"]["headline"]
    assert check["deficit_regions"] == 1 and check["normal_fits"]


def test_heavy_tails_are_read_as_a_wrong_trend_model(params):
    settings = small_settings(params)
    models = synthetic(2, n=400, scatter=lambda rng, n: 0.5 * rng.standard_t(2.5, n))
    out = atlas.analyse(models, settings, params, simulate=False)
    check = out["result"]["series"]["parameters"]["all"]["headline"]
    assert not check["normal_fits"] and check["excess_kurtosis"] > 1
    deficits = out["cells"][out["cells"]["local_p"] < ALPHA]
    assert len(deficits) and deficits["reading"].str.startswith("the trend model is wrong here").all()


def test_thin_tails_are_read_as_a_wrong_trend_model(params):
    settings = small_settings(params)
    models = synthetic(3, n=600, scatter=lambda rng, n: rng.uniform(-1.4, 1.4, n))
    out = atlas.analyse(models, settings, params, simulate=False)
    check = out["result"]["series"]["parameters"]["all"]["headline"]
    assert "too thin" in (check["tails"]["upper"]["shape"], check["tails"]["lower"]["shape"])
    tail_deficits = out["cells"][(out["cells"]["local_p"] < ALPHA) & (out["cells"]["offset_sd"].abs() > 1.6)]
    assert len(tail_deficits) and tail_deficits["reading"].str.contains("too thin").any()
    assert not out["cells"]["reading"].str.startswith("a gap").any()


def test_local_p_is_exact_on_both_sides():
    rng = np.random.default_rng(4)
    p = rng.uniform(0.0, 0.6, (6, 40))
    k = np.array([0, 3, 10, 20, 30, 39])  # below and above the means (about 12): both sides of _local_p
    expected = [stats.poisson_binomial_cdf(row, int(kk)) for row, kk in zip(p, k)]
    assert np.allclose(atlas._local_p(p, k), expected, rtol=1e-9, atol=1e-12)


def test_the_paper_cell_is_the_gap_test_on_the_current_release():
    settings = Settings.load(ROOT / "params.yaml")
    gap = json.loads((ROOT / "metrics/gap.json").read_text())
    params = dataclasses.replace(settings.analysis, as_of=dt.date.fromisoformat(gap["as_of"]))
    section = AtlasParams.load(ROOT / "params.yaml", params)
    narrow = dataclasses.replace(
        section, measures={"parameters": "parameters"}, groups=("language",), min_domain_systems=10**6
    )
    cell = atlas.analyse(contracts.read_curated(ROOT / "data/curated/models.csv"), narrow, params, simulate=False)
    cell = cell["result"]["paper_cell"]
    test = gap["tests"]["language"]
    assert cell["observed"] == test["observed_in_gap"]
    assert cell["expected"] == pytest.approx(test["expected_in_gap"], rel=1e-5)
    assert cell["local_p"] == pytest.approx(test["p_le_observed_exact"], rel=1e-5)
    stored = json.loads((ROOT / "metrics/atlas.json").read_text())["releases"]
    current = stored[list(stored)[-1]]["paper_cell"]
    assert current["local_p"] == pytest.approx(test["p_le_observed_exact"], rel=1e-5)


def test_the_paper_era_minimum_is_at_the_paper_band_and_its_corrected_p_is_settled():
    params = Settings.load(ROOT / "params.yaml")
    stored = json.loads((ROOT / "metrics/atlas.json").read_text())["releases"]
    paper = stored[params.paper_reproduction.snapshot]
    low = paper["minimum"]
    lo, hi = math.log10(params.analysis.gap_lower), math.log10(params.analysis.gap_upper)
    assert low["measure"] == "parameters"
    assert low["lower_log10"] < hi + 0.3 and low["upper_log10"] > lo - 0.3  # in or next to the paper's band
    for kind in ("normal", "bootstrap"):
        p = paper["corrected"][kind]
        assert p["side"] != "inconclusive" or p["n"] == p["max_n"]  # settled, or inconclusive at the maximum
        assert p["p"] == pytest.approx((p["hits"] + 1) / (p["n"] + 1), rel=1e-5)


def test_bad_atlas_settings_are_refused_by_name(params):
    section = read_params(ROOT / "params.yaml")["atlas"]
    for bad, words in (
        ({"widths_dex": [1.0, 0.3]}, "atlas"),
        ({"widths_dex": "wide"}, "atlas.widths_dex"),
        ({"position_step_dex": "fine"}, "atlas.position_step_dex"),
        ({"monte_carlo": {"first_batch": 10, "max_n": 5}}, "atlas.monte_carlo"),
        ({"windows": {"late": {"fit_start": "soon", "test_start": "2022-01-01"}}}, "atlas.windows.late.fit_start"),
    ):
        with pytest.raises(ValueError, match=words.replace(".", r"\.")):
            AtlasParams.from_dict({**section, **bad}, params)
    with pytest.raises(KeyError, match="atlas.top"):
        AtlasParams.from_dict({k: v for k, v in section.items() if k != "top"}, params)


def test_history_holds_the_rq5_columns_for_every_release():
    stored = json.loads((ROOT / "metrics/history.json").read_text())
    releases = sorted(path.stem for path in (ROOT / "data/raw/epoch").glob("*.csv"))
    assert sorted(row["snapshot"] for row in stored["snapshots"]) == releases
    for row in stored["snapshots"]:
        assert row["atlas"]["minimum"]["z"] <= row["atlas"]["paper_cell"]["z"]  # the minimum is over every cell
        for domain in ("all", "language"):
            assert row["closing"][domain]["verdict"] in ("persists", "closed", "inconclusive", "insufficient data")


def test_a_bad_atlas_setting_is_one_line_and_writes_nothing(tmp_path):
    from conftest import mlsizes

    params = (ROOT / "params.yaml").read_text().replace("widths_dex: [0.3, 1.0]", "widths_dex: [1.0, 0.3]")
    (tmp_path / "params.yaml").write_text(params)
    out, cells = tmp_path / "atlas.json", tmp_path / "cells.csv"
    proc = mlsizes(
        "atlas",
        "--params",
        str(tmp_path / "params.yaml"),
        "--out",
        str(out),
        "--cells",
        str(cells),
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "atlas" in proc.stderr and "widths_dex" in proc.stderr
    assert not out.exists() and not cells.exists()
