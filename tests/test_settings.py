"""params.yaml typed, and every word and key derived from it (so changing a setting changes every label)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from conftest import ROOT
from mlsizes.core.settings import AnalysisParams, Settings, count_words, scientific, size_words
from mlsizes.records.snapshots import dataset_as_of

PARAMS = Settings.load(ROOT / "params.yaml")


def test_the_projects_params_are_typed():
    assert PARAMS.analysis.as_of is None  # the analysed snapshot's date, recorded by curate
    assert (PARAMS.analysis.bounds, PARAMS.analysis.inclusive) == ("strict", False)
    assert PARAMS.paper_reproduction.analysis.as_of == PARAMS.paper_reproduction.as_of == dt.date(2022, 6, 30)
    assert PARAMS.snapshot.startswith("epoch_")


def test_labels_follow_the_params():
    default = PARAMS.analysis
    assert default.era_keys == {"before": "pre_2018", "after": "post_2018", "above": "above_gap", "below": "below_gap"}
    assert default.era_labels["post_2018"] == "2018 on, single trend"
    assert (default.gap_label, default.window_words, default.fit_lead_words) == ("20B-70B", "three-year", "2 years")
    changed = dataclasses.replace(
        default,
        gap_lower=1e10,
        gap_upper=1e11,
        era_break=dt.date(2019, 7, 1),
        window_years=12,
        fit_start=dt.date(2019, 1, 1),
    )
    assert changed.gap_label == "10B-100B"
    assert changed.era_keys["before"] == "pre_2019_07_01"
    assert changed.era_labels["post_2019_07_01"] == "2019-07-01 on, single trend"
    assert (changed.window_words, changed.fit_lead_words) == ("12-year", "1 year")
    assert dataclasses.replace(default, fit_start=dt.date(2018, 3, 1)).fit_lead_words == "671 days"


@pytest.mark.parametrize(("value", "words"), [(2e10, "20B"), (1e11, "100B"), (5e8, "0.5B")])
def test_size_words(value, words):
    assert size_words(value) == words


def test_numbers_as_words():
    assert (count_words(3), count_words(11)) == ("three", "11")
    assert (scientific(2e10), scientific(2.5e10), scientific(1e11)) == ("2e10", "2.5e10", "1e11")


def test_a_params_file_for_one_analysis_needs_only_that_section(tmp_path):
    text = (ROOT / "params.yaml").read_text().split("\npaper_reproduction:")[0]
    (tmp_path / "params.yaml").write_text(text)
    loaded = Settings.load(tmp_path / "params.yaml")
    assert loaded.paper_reproduction is None and loaded.analysis == PARAMS.analysis


def test_an_unknown_domain_rule_or_bounds_convention_is_refused():
    with pytest.raises(ValueError, match="'any' or 'primary'"):
        AnalysisParams.from_dict({"domains": {"rule": "most"}})
    with pytest.raises(ValueError, match="'strict' or 'inclusive'"):
        AnalysisParams.from_dict({"domains": {"rule": "any"}, "bounds": "open"})


def test_as_of_comes_from_the_top_level_then_analysis_then_the_snapshot(tmp_path):
    assert dataset_as_of({"as_of": "2025-01-02", "analysis": {"as_of": "2024-01-01"}}, tmp_path) == dt.date(2025, 1, 2)
    assert dataset_as_of({"analysis": {"as_of": "2024-01-01"}}, tmp_path) == dt.date(2024, 1, 1)
    assert dataset_as_of({"snapshot": "epoch_2024-07-16"}, tmp_path) == dt.date(2024, 7, 16)
