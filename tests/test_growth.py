"""The recent-growth readout (analysis/growth.py, stage growth) on synthetic systems with known growth rates."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ROOT
from mlsizes.analysis import growth
from mlsizes.cli import main
from mlsizes.core.settings import GrowthParams
from mlsizes.stages import growth as stage

PARAMS = dataclasses.replace(GrowthParams.load(ROOT / "params.yaml"), n_bootstrap=200)


def test_frontier_is_the_running_top_by_compute_at_release():
    dates = np.array(["2020-01-01", "2020-06-01", "2021-01-01", "2021-01-01", "2022-01-01"], dtype="datetime64[ns]")
    compute = [10.0, 5.0, 1.0, 20.0, float("nan")]
    # top 2: the third system has two larger before it (on its own day too: 20 the same day); NaN is never frontier
    assert growth.frontier(dates, compute, top=2).tolist() == [True, True, False, True, False]
    assert growth.frontier(dates, compute, top=1).tolist() == [True, False, False, True, False]


def _models(rng, n, x_per_year, start="2010-01-01"):
    days = np.sort(rng.uniform(0, 12 * 365, n))
    dates = np.datetime64(start) + days.astype("timedelta64[D]")
    log10 = 18 + math.log10(x_per_year) * days / 365 + rng.normal(0, 0.3, n)
    return pd.DataFrame(
        {
            "publication_date": dates.astype(str),
            "training_compute_flop": 10.0**log10,
            "parameters": 10.0 ** (9 + math.log10(2) * days / 365 + rng.normal(0, 0.3, n)),
            "training_dataset_size": np.nan,
            "training_cost_usd": np.nan,
        }
    )


def test_readout_recovers_known_growth_rates():
    models = _models(np.random.default_rng(5), 300, 4.0)
    result = stage.process(models, PARAMS)
    compute, parameters = result["measures"]["training_compute_flop"], result["measures"]["parameters"]
    assert compute["notable"]["x_per_year"] == pytest.approx(4.0, rel=0.05)
    low, high = compute["notable"]["interval_95"]
    assert low < 4.0 < high
    assert parameters["notable"]["x_per_year"] == pytest.approx(2.0, rel=0.05)
    assert 0 < compute["frontier"]["n"] < compute["notable"]["n"] == 300
    assert result["measures"]["training_dataset_size"]["notable"]["skipped"]
    assert result["sentences"][0].startswith("training compute of notable models: 4.0x/year [")


def test_systems_before_the_start_are_left_out():
    models = _models(np.random.default_rng(2), 50, 3.0, start="2005-01-01")
    result = stage.process(models, PARAMS)
    assert result["measures"]["training_compute_flop"]["notable"]["n"] == int(
        (models["publication_date"] >= "2010-01-01").sum()
    )


def test_an_unknown_measure_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'flops' is not a column"):
        stage.process(_models(np.random.default_rng(1), 10, 2.0), dataclasses.replace(PARAMS, measures={"flops": "x"}))
    params = tmp_path / "params.yaml"
    params.write_text("growth: {since: 2010-01-01}\n")
    result = CliRunner().invoke(main, ["growth", "--params", str(params), "--out", str(tmp_path / "g.json")])
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "frontier_top" in result.stderr and not (tmp_path / "g.json").exists()


def test_each_measure_gets_a_figure_with_its_fitted_lines(tmp_path):
    models = _models(np.random.default_rng(5), 120, 4.0)
    models["training_dataset_size"] = models["parameters"] * 20
    result = stage.process(models, PARAMS)
    compute = result["measures"]["training_compute_flop"]["notable"]
    line = compute["line"]
    per_year = (line["log10"][1] - line["log10"][0]) / (line["years"][1] - line["years"][0])
    assert 10**per_year == pytest.approx(compute["x_per_year"], rel=0.01)  # the line drawn is the fit read out
    paths = stage.figure_paths(tmp_path, PARAMS)
    assert set(paths) == set(PARAMS.measures)
    from mlsizes.rendering import growth_figure

    column = "training_dataset_size"
    for attempt in (1, 2):
        path = tmp_path / f"{attempt}.png"
        growth_figure.measure_figure(models, column, result["measures"][column], "2010-01-01", 10, path, "test")
    assert (tmp_path / "1.png").read_bytes() == (tmp_path / "2.png").read_bytes()  # reruns are byte-identical
    assert (tmp_path / "1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
