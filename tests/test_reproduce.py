"""The paper reproduction: its stored structure, and the selection rule written from the params."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from conftest import ROOT
from mlsizes.core.paths import Paths
from mlsizes.core.settings import Settings
from mlsizes.stages import reproduce

PARAMS = Settings.load(ROOT / "params.yaml").paper_reproduction


def test_paper_reproduction_structure():
    data = json.loads((ROOT / "metrics" / "paper_reproduction.json").read_text())
    for row in ("pre_2018", "post_2018", "above_gap", "below_gap"):
        for side in ("paper", "ours"):
            assert set(data[row][side]) == {"n", "slope_oom_per_year", "doubling_time_months", "r2"}
    assert data["gap_probability"]["paper"] == 1e-5
    assert 1e-6 <= data["gap_probability"]["ours"] <= 1e-4


def test_the_stored_selection_rule_is_the_one_the_params_give():
    stored = json.loads((ROOT / "metrics" / "paper_reproduction.json").read_text())["selection"]
    assert reproduce.selection(PARAMS) == stored


def test_the_selection_rule_follows_the_params():
    analysis = dataclasses.replace(PARAMS.analysis, gap_lower=1e10, gap_upper=1e11, fit_start=dt.date(2019, 1, 1))
    text = reproduce.selection(dataclasses.replace(PARAMS, analysis=analysis))
    assert ">= 1e11 parameters and below it <= 1e10" in text and "trend fitted 2019 onwards" in text
    assert "2e10" not in text and "7e10" not in text


def test_targets_are_judged_with_their_tolerances():
    paper = reproduce.PAPER["after"]
    near = {"n": 130, "slope_oom_per_year": 0.95, "doubling_time_months": 4.5, "r2": 0.33}
    far = {"n": 150, "slope_oom_per_year": 0.5, "doubling_time_months": 9.0, "r2": 0.5}
    assert all(reproduce.meets_target("after", paper, near).values())
    assert not any(reproduce.meets_target("after", paper, far).values())
    assert "doubling_time_months" not in reproduce.meets_target("above", reproduce.PAPER["above"], near)


def test_the_paper_era_analysis_is_byte_identical_across_runs(tmp_path):
    small = dataclasses.replace(
        PARAMS.analysis,
        n_bootstrap=50,
        n_simulations=5000,
        n_posterior_draws=20,
        mc_first_batch=20,
        mc_max_scan=40,
        mc_max_family=20,
        family_widths_dex=(0.4,),
    )
    params = dataclasses.replace(PARAMS, analysis=small)
    texts = []
    for run in ("a", "b"):
        paths = Paths.at(ROOT).replace(paper_reproduction=tmp_path / run / "paper_reproduction.json")
        reproduce.run(paths, params)
        texts.append((tmp_path / run / "paper_reproduction.json").read_bytes())
    assert texts[0] == texts[1]
    stored = json.loads(texts[0])
    for group in ("all", "language"):
        test = stored["gap_tests"][group]
        assert {"p_le_observed_exact", "p_scan_corrected", "p_posterior_predictive", "p_out_of_sample"} <= set(test)
        assert {"design_effect", "p_clustered"} <= set(test)
        for null in ("normal", "bootstrap", "t"):
            assert {"hits", "n", "p", "interval"} <= set(test["simulated"]["scan"][null])
        assert {"hits", "n", "p", "interval"} <= set(stored["family_scan"]["p"][group])
        assert stored["closing"][group]["verdict"] == "insufficient data"  # nothing was published after the paper
