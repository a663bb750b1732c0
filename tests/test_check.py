"""The validate stage (pandera + Great Expectations), the generated metadata, and the DVC pipeline itself."""

import json

import pytest

from conftest import ROOT
from mlsizes import check, contracts, metadata
from mlsizes.paths import Paths

CURATED = ROOT / "data" / "curated" / "models.csv"


@pytest.fixture(scope="module")
def models():
    return contracts.read_curated(CURATED)


def test_pandera_report_names_record_and_field(models):
    bad = models.copy()
    bad.loc[0, "parameters"] = -3.0
    bad.loc[1, "primary_domain"] = "Astrology"
    bad.loc[2, "id"] = bad.loc[3, "id"]
    bad.loc[4, "publication_date"] = "10/02/2022"
    report = check.pandera_report(bad)
    found = set(zip(report["id"], report["column"]))
    assert (bad.loc[0, "id"], "parameters") in found
    assert (bad.loc[1, "id"], "primary_domain") in found
    assert (bad.loc[3, "id"], "id") in found
    assert (bad.loc[4, "id"], "publication_date") in found


@pytest.mark.parametrize(
    "breakage, failing",
    [
        (lambda m: m.head(50), "expect_table_row_count_to_be_between"),
        (lambda m: m.assign(parameters=None), "expect_column_values_to_not_be_null"),
        (lambda m: m.assign(primary_domain="Language"), "expect_column_unique_value_count_to_be_between"),
    ],
)
def test_expectation_suite_catches_broken_datasets(models, breakage, failing):
    results = check.run_expectations(breakage(models).reset_index(drop=True), docs_dir=None)
    assert not results["success"]
    assert failing in [e["type"] for e in results["expectations"] if not e["success"]]


def test_the_suite_holds_only_dataset_level_rules():
    """A rule about one record lives in schemas/curated.yaml only: the suite has no per-value check but a share
    (mostly < 1), which no single record can break."""
    for expectation in check.load_suite()["expectations"]:
        if expectation["type"].startswith("expect_column_values_to_"):
            assert expectation["kwargs"].get("mostly", 1) < 1, expectation


def test_metadata_is_generated_from_the_schema_and_committed_copy_is_current():
    package = metadata.datapackage()
    fields = package["resources"][0]["schema"]["fields"]
    assert [f["name"] for f in fields] == list(contracts.curated_columns())
    assert all(f["description"] for f in fields)
    assert json.loads((ROOT / "data" / "curated" / "datapackage.json").read_text()) == package
    assert (ROOT / "data" / "curated" / "codebook.csv").read_text() == metadata.codebook()
    assert "CC-BY-4.0" in json.dumps(package["licenses"])


def test_committed_models_match_their_header_contract(models):
    assert list(models.columns) == list(contracts.curated_columns())


def test_committed_dataset_passes_both_contracts_and_reports_are_byte_identical_across_runs(tmp_path):
    """The committed table passes pandera and GX; the reports (Data Docs included) carry no wall-clock stamps or
    random ids, so two runs on the same data write the same bytes."""
    for run in ("a", "b"):
        result = check.run(Paths.at(ROOT).replace(validation_dir=tmp_path / run))
        assert result.success, result.summary()
    saved = json.loads((tmp_path / "a" / "gx_results.json").read_text())
    assert saved["statistics"]["evaluated_expectations"] == len(check.load_suite()["expectations"])
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert "data_docs/index.html" in {str(f) for f in files}
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
