"""The analyze stage: selection, membership rule, trend recovery, insufficient data, gap bounds on real data,
byte-identical outputs and the CLI."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import RAW, ROOT
from mlsizes import cli
from mlsizes.analysis import study
from mlsizes.core.settings import AnalysisParams, Settings, in_gap
from mlsizes.records import curation
from mlsizes.records.snapshots import SnapshotError
from mlsizes.stages import analyze


@pytest.fixture(scope="module")
def params() -> AnalysisParams:
    """The project's params with small counts, so tests stay fast."""
    full = Settings.load(ROOT / "params.yaml").analysis
    return dataclasses.replace(
        full,
        as_of=dt.date(2026, 3, 10),
        n_bootstrap=100,
        n_simulations=20_000,
        n_posterior_draws=50,
        mc_first_batch=20,
        mc_max_scan=40,
        mc_max_family=20,
        mc_max_split=9,
        split_starts=2,
        split_iterations=50,
        family_widths_dex=(0.4,),
    )


def synthetic_models(
    n: int = 200, slope_oom_per_year: float = 0.5, sd: float = 0.3, seed: int = 1, domains: str = "Language"
) -> pd.DataFrame:
    """A curated-shaped table whose log10 sizes follow a known line with normal noise."""
    rng = np.random.default_rng(seed)
    days = np.sort(rng.uniform(0, 8 * 365, n))
    dates = pd.Timestamp("2010-01-01") + pd.to_timedelta(days.round(), unit="D")
    log10 = 6 + slope_oom_per_year * days / 365 + rng.normal(0, sd, n)
    return pd.DataFrame(
        {
            "id": [f"m{i}" for i in range(n)],
            "name": [f"M{i}" for i in range(n)],
            "domains": domains,
            "primary_domain": domains.split(",")[0],
            "publication_date": dates.strftime("%Y-%m-%d"),
            "parameters": 10.0**log10,
            "notability_criteria": "Highly cited",
            "source": "epoch:synthetic",
        }
    )


def write_curated(models: pd.DataFrame, path: Path) -> Path:
    from mlsizes.records import contracts

    full = models.copy()
    for column in contracts.curated_columns():
        if column not in full:
            full[column] = None
    full["date_precision"] = "day"
    full["source_row"] = range(1, len(full) + 1)
    full[list(contracts.curated_columns())].to_csv(path, index=False)
    return path


def test_recovers_known_slope(params):
    models = synthetic_models(slope_oom_per_year=0.5)
    systems = study.select_systems(models, params)
    fit = study.trend_summary(systems, None, dt.date(2018, 1, 1), params)
    assert fit["slope_oom_per_year"] == pytest.approx(0.5, abs=0.05)
    ci = fit["slope_oom_per_year_ci"]
    assert ci["p2_5"] < 0.5 < ci["p97_5"]
    assert fit["doubling_time_months"] == pytest.approx(np.log10(2) / (0.5 / 365) / 30, rel=0.12)


def test_insufficient_data_is_reported_not_raised(params):
    models = synthetic_models(n=2)
    systems = study.select_systems(models, params)
    fit = study.trend_summary(systems, None, dt.date(2018, 1, 1), params)
    assert fit == {"n": 2, "insufficient_data": True, "reason": fit["reason"]}
    test = study.gap_test(systems, dt.date(2010, 1, 1), dt.date(2011, 1, 1), params.as_of, params, inclusive=True)
    assert test["insufficient_data"] and test["reason"]
    trends = study.all_trends(systems, params)
    assert trends["vision"]["post_2018"]["insufficient_data"]


def test_selection_drops_missing_sizes_and_future_dates(params):
    models = synthetic_models(n=10)
    models.loc[0, "parameters"] = np.nan
    models.loc[1, "publication_date"] = "2030-01-01"
    systems = study.select_systems(models, dataclasses.replace(params, as_of=dt.date(2026, 1, 1)))
    assert len(systems) == 8


def test_membership_rule(params):
    models = pd.concat(
        [
            synthetic_models(n=3, domains="Language,Vision"),
            synthetic_models(n=2, domains="Speech"),
            synthetic_models(n=1, domains="Vision"),
        ],
        ignore_index=True,
    )
    models["id"] = [f"m{i}" for i in range(len(models))]
    any_rule = study.select_systems(models, params)
    assert (any_rule["in_language"].sum(), any_rule["in_vision"].sum(), any_rule["in_other"].sum()) == (3, 4, 2)
    primary = study.select_systems(models, dataclasses.replace(params, domain_rule="primary"))
    assert (primary["in_language"].sum(), primary["in_vision"].sum(), primary["in_other"].sum()) == (3, 1, 2)
    with pytest.raises(ValueError):
        AnalysisParams.from_dict({"domains": {"rule": "most"}})


def _language_2018_2022(snapshot: str, params) -> pd.DataFrame:
    curated, snapshot_file = curation.curate_snapshot(RAW / f"{snapshot}.csv")
    models, as_of = curated.models, snapshot_file.as_of
    systems = study.select_systems(models, dataclasses.replace(params, as_of=as_of))
    window = study.between(systems, dt.date(2018, 1, 1), dt.date(2022, 12, 31)) & systems["in_language"]
    return systems[window]


@pytest.mark.parametrize(
    ("snapshot", "strict_names"),
    [
        ("epoch_pcd_2022-06-30", []),
        ("epoch_notable_ai_models_2026-03-10", ["AlphaCode", "M4-50B", "NLLB", "PLUG"]),
    ],
)
def test_strict_and_inclusive_bounds_on_real_snapshots(snapshot, strict_names, params):
    language = _language_2018_2022(snapshot, params)
    strict = in_gap(language["parameters"], params.gap_lower, params.gap_upper, inclusive=False)
    inclusive = in_gap(language["parameters"], params.gap_lower, params.gap_upper, inclusive=True)
    assert sorted(n.split(" ")[0].split("(")[0] for n in language.loc[strict, "name"]) == strict_names
    on_bounds = language.loc[inclusive & ~strict, "parameters"]
    assert set(on_bounds) <= {2e10, 7e10}
    if snapshot.endswith("2026-03-10"):
        names = " ".join(language.loc[inclusive & ~strict, "name"])
        assert "GPT-NeoX-20B" in names and "Chinchilla" in names


def test_sliding_windows_stop_at_as_of(params):
    windows = study.sliding_windows(dataclasses.replace(params, as_of=dt.date(2024, 6, 1)))
    assert [(s.year, e.isoformat()) for s, e in windows] == [
        (2020, "2022-12-31"),
        (2021, "2023-12-31"),
        (2022, "2024-06-01"),
    ]


def small_params_file(folder: Path, as_of: bool = True) -> Path:
    """The project's params.yaml with small counts (and as_of 2026-03-10 set, unless AS_OF is False)."""
    params_file = folder / "params.yaml"
    text = (ROOT / "params.yaml").read_text()
    for old, new in (
        ("n_bootstrap: 1000", "n_bootstrap: 50"),
        ("n_simulations: 1000000", "n_simulations: 10000"),
        ("n_posterior_draws: 5000", "n_posterior_draws: 50"),
        (
            "monte_carlo: {first_batch: 1000, resolve_factor: 2, max_scan: 200000, max_family: 20000, max_split: 999}",
            "monte_carlo: {first_batch: 20, resolve_factor: 2, max_scan: 40, max_family: 20, max_split: 9}",
        ),
        ("split_fit: {starts: 20, iterations: 500}", "split_fit: {starts: 2, iterations: 50}"),
        ('  # as_of: "2026-03-10"', '  as_of: "2026-03-10"' if as_of else '  # as_of: "2026-03-10"'),
    ):
        assert old in text
        text = text.replace(old, new)
    params_file.write_text(text)
    return params_file


def test_two_runs_are_byte_identical_and_cli_works(tmp_path, params):
    curated = write_curated(synthetic_models(n=300, slope_oom_per_year=0.8, sd=0.8, seed=3), tmp_path / "m.csv")
    params_file = small_params_file(tmp_path)
    runner = CliRunner()
    for out in ("a", "b"):
        result = runner.invoke(
            cli.main, ["analyze", str(curated), "--out", str(tmp_path / out), "--params", str(params_file), "--json"]
        )
        assert result.exit_code == 0, result.output
    files = ["trends.json", "gap.json", *(f"plots/{name}" for name in analyze.PLOT_FILES)]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert "nan" not in (tmp_path / "a" / "gap.json").read_text().lower()


def test_as_of_defaults_to_the_one_curate_wrote_beside_the_table(params, tmp_path):
    undated, table = dataclasses.replace(params, as_of=None), tmp_path / "models.csv"
    with pytest.raises(ValueError, match=f"{table}: no as-of date: no models.snapshot.json"):
        analyze.resolve_as_of(undated, table)
    record = {"snapshot": "s", "snapshot_date": "2022-06-30", "as_of": "2022-06-30"}
    (tmp_path / "models.snapshot.json").write_text(json.dumps(record))
    assert analyze.resolve_as_of(undated, table).as_of == dt.date(2022, 6, 30)
    assert analyze.resolve_as_of(params, table).as_of == params.as_of  # a date given wins
    for broken in ("not json", '{"as_of": "2022-13-01"}', "[1, 2]"):
        (tmp_path / "models.snapshot.json").write_text(broken)
        with pytest.raises(SnapshotError, match="models.snapshot.json: not a snapshot record of a curated table"):
            analyze.resolve_as_of(undated, table)


def test_a_table_is_analysed_as_of_its_own_snapshot_inside_any_project(tmp_path):
    """Measured on main: `analyze FILE --out DIR` on a table curated from the 2024-07-16 export, run inside the
    project, was analysed as of the project's 2026-03-10 (its metrics/curation.json), and `curate --out` wrote
    nothing saying which snapshot a table came from."""
    runner, out = CliRunner(), tmp_path / "curated"
    curated = runner.invoke(
        cli.main, ["curate", str(RAW / "epoch_notable_ai_models_2024-07-16.csv"), "--out", str(out)]
    )
    assert curated.exit_code == 0, curated.output
    record = json.loads((out / "models.snapshot.json").read_text())
    assert record == {
        "snapshot": "epoch_notable_ai_models_2024-07-16",
        "snapshot_date": "2024-07-16",
        "as_of": "2024-07-16",
    }
    params_file = small_params_file(tmp_path, as_of=False)
    for extra, as_of in (([], "2024-07-16"), (["--as-of", "2023-01-01"], "2023-01-01")):
        metrics = tmp_path / f"metrics-{as_of}"
        command = ["analyze", str(out / "models.csv"), "--out", str(metrics), "--params", str(params_file), *extra]
        result = runner.invoke(cli.main, command)
        assert result.exit_code == 0, result.output
        gap = json.loads((metrics / "gap.json").read_text())
        assert gap["as_of"] == as_of and gap["dataset"] == "epoch_notable_ai_models_2024-07-16"
        assert gap["non_notable_left_out"] == 0  # the project's curation.json describes another table
        assert f"as of {as_of}" in result.stdout


def test_a_table_without_an_as_of_date_is_refused_in_one_line(tmp_path):
    curated = write_curated(synthetic_models(n=50), tmp_path / "m.csv")
    params_file = small_params_file(tmp_path, as_of=False)
    result = CliRunner().invoke(
        cli.main, ["analyze", str(curated), "--out", str(tmp_path / "out"), "--params", str(params_file)]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        f"error: {curated}: no as-of date: no m.snapshot.json with one beside it (written by `mlsizes curate --out`) "
        "and the params set no analysis.as_of; give --as-of YYYY-MM-DD"
    ]
    assert not (tmp_path / "out").exists()


def test_one_bound_convention_everywhere(params):
    """A system exactly on a bound is outside the gap with strict bounds: in the above/below eras and not
    counted in the gap; with inclusive bounds it is in the gap and in neither era."""
    models = synthetic_models(n=60, seed=5)
    models.loc[0, ["publication_date", "parameters"]] = ["2021-06-01", params.gap_upper]
    for convention, in_era in (("strict", True), ("inclusive", False)):
        chosen = dataclasses.replace(params, bounds=convention)
        systems = study.select_systems(models, chosen)
        on_bound = systems["parameters"] == params.gap_upper
        assert bool(study.era_masks(systems, chosen)["above"][on_bound].all()) is in_era
        test = study.gap_test(systems, dt.date(2010, 1, 1), dt.date(2021, 1, 1), params.as_of, chosen)
        assert (models.loc[0, "name"] in test["systems_in_gap"]) is not in_era


def test_a_2022_snapshot_is_analysed_as_of_2022_without_an_as_of_in_the_params(tmp_path):
    """The as-of date is the snapshot's, recorded by curate: a 2022 snapshot gets no 2022-2024 window."""
    text = (ROOT / "params.yaml").read_text()
    assert "  # as_of:" in text  # the project's params set none
    for old, new in (
        ("n_bootstrap: 1000", "n_bootstrap: 20"),
        ("n_simulations: 1000000", "n_simulations: 2000"),
        ("n_window_simulations: 100000", "n_window_simulations: 2000"),
        ("n_posterior_draws: 5000", "n_posterior_draws: 10"),
        (
            "monte_carlo: {first_batch: 1000, resolve_factor: 2, max_scan: 200000, max_family: 20000, max_split: 999}",
            "monte_carlo: {first_batch: 20, resolve_factor: 2, max_scan: 40, max_family: 20, max_split: 9}",
        ),
    ):
        text = text.replace(old, new)
    (tmp_path / "params.yaml").write_text(text)
    runner = CliRunner()
    curated = runner.invoke(
        cli.main,
        [
            "curate",
            str(RAW / "epoch_pcd_2022-06-30.csv"),
            "--out",
            str(tmp_path / "curated"),
            "--metrics",
            str(tmp_path / "curation.json"),
        ],
    )
    assert curated.exit_code == 0, curated.output
    analysed = runner.invoke(
        cli.main,
        [
            "analyze",
            str(tmp_path / "curated" / "models.csv"),
            "--curation",
            str(tmp_path / "curation.json"),
            "--params",
            str(tmp_path / "params.yaml"),
            "--out",
            str(tmp_path / "metrics"),
        ],
    )
    assert analysed.exit_code == 0, analysed.output
    gap = json.loads((tmp_path / "metrics" / "gap.json").read_text())
    assert gap["as_of"] == "2022-06-30" and gap["bounds"] == "strict"
    assert {row["window"] for row in gap["windows"]["rows"]} == {"2020-2022"}


@pytest.mark.parametrize(
    ("params_text", "curation_text", "message"),
    [
        ("analysis: {domains: {rule: any}}\n", None, "no 'analysis.bounds' setting"),
        (
            (ROOT / "params.yaml").read_text().replace("split_fit: {starts: 20,", "split_fit: {starts: 0,"),
            None,
            "analysis.split_fit: starts and iterations must be positive",
        ),
        (None, "not json", "not curate's metrics"),
    ],
    ids=["missing setting", "no EM start", "bad curation metrics"],
)
def test_bad_params_or_curation_metrics_are_one_line_and_write_nothing(tmp_path, params_text, curation_text, message):
    params = tmp_path / "params.yaml"
    params.write_text(params_text or (ROOT / "params.yaml").read_text())
    curation = tmp_path / "curation.json"
    curation.write_text(curation_text or '{"snapshot_date": "2026-03-10"}')
    result = CliRunner().invoke(
        cli.main,
        [
            "analyze",
            str(ROOT / "data" / "curated" / "models.csv"),
            "--out",
            str(tmp_path / "out"),
            "--params",
            str(params),
            "--curation",
            str(curation),
        ],
    )
    assert result.exit_code == 1 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
