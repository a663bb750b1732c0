"""The check stage (pandera + the expectation suite, evaluated in pandas and held to GX's own results), the
generated metadata, and the DVC pipeline itself."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT, mlsizes
from mlsizes.core.paths import Paths
from mlsizes.records import contracts, validation
from mlsizes.stages import check, metadata

CURATED = ROOT / "data" / "curated" / "models.csv"
ROW_COUNT, NOT_NULL, UNIQUE_COUNT = (
    "expect_table_row_count_to_be_between",
    "expect_column_values_to_not_be_null",
    "expect_column_unique_value_count_to_be_between",
)


@pytest.fixture(scope="module")
def models():
    return contracts.read_curated(CURATED)


def test_pandera_report_names_record_and_field(models):
    bad = models.copy()
    bad.loc[0, "parameters"] = -3.0
    bad.loc[1, "primary_domain"] = "Astrology"
    bad.loc[2, "id"] = bad.loc[3, "id"]
    bad.loc[4, "publication_date"] = "10/02/2022"
    report = validation.pandera_report(bad)
    found = set(zip(report["id"], report["column"]))
    assert (bad.loc[0, "id"], "parameters") in found
    assert (bad.loc[1, "id"], "primary_domain") in found
    assert (bad.loc[3, "id"], "id") in found
    assert (bad.loc[4, "id"], "publication_date") in found


def _rows(models, n):
    """n real records (the table's own dtypes), repeated as needed."""
    return models.iloc[[i % len(models) for i in range(n)]].reset_index(drop=True)


def _with_parameters(models, n, missing):
    """n records of which exactly `missing` have no parameter count."""
    table = _rows(models[models["parameters"].notna()], n)
    table.loc[: missing - 1, "parameters"] = None
    return table


def _with_domains(models, n, domains):
    """n records spread over the first `domains` primary domains of the real table."""
    names = models["primary_domain"].dropna().unique()[:domains]
    table = _rows(models, n)
    table["primary_domain"] = [names[i % len(names)] for i in range(n)] if domains else None
    return table


def _suite(*expectations):
    return {"name": "crafted", "expectations": [{"type": t, "kwargs": k} for t, k in expectations]}


BOUNDS = _suite(
    (ROW_COUNT, {"min_value": 10, "max_value": 12, "strict_min": True, "strict_max": True}),
    (NOT_NULL, {"column": "parameters"}),
    (UNIQUE_COUNT, {"column": "primary_domain", "min_value": 2, "max_value": 3, "strict_max": True}),
    (NOT_NULL, {"column": "parameters", "mostly": 0.7}),
)
MOSTLY = _suite((NOT_NULL, {"column": "parameters", "mostly": 0.7}))

# (case, table, suite or None for the project's suite, the expectation types that must fail)
CASES = [
    ("real table", lambda m: m, None, []),
    ("min rows exactly", lambda m: _rows(m, 200), None, []),
    ("too few rows", lambda m: _rows(m, 199), None, [ROW_COUNT]),
    ("empty table", lambda m: m.head(0), None, [ROW_COUNT, UNIQUE_COUNT]),
    ("half the sizes missing", lambda m: _with_parameters(m, 300, 150), None, []),
    ("too many sizes missing", lambda m: _with_parameters(m, 300, 151), None, [NOT_NULL]),
    ("no sizes at all", lambda m: m.assign(parameters=None), None, [NOT_NULL]),
    ("three domains", lambda m: _with_domains(m, 300, 3), None, []),
    ("too few domains", lambda m: _with_domains(m, 300, 2), None, [UNIQUE_COUNT]),
    ("no domain", lambda m: _with_domains(m, 300, 0), None, [UNIQUE_COUNT]),
    ("strict bounds, inside", lambda m: _with_domains(_with_parameters(m, 11, 0), 11, 2), BOUNDS, []),
    ("strict min on the bound", lambda m: _with_parameters(m, 10, 0), BOUNDS, [ROW_COUNT, UNIQUE_COUNT]),
    (
        "strict max on the bound, 30% missing (mostly 0.7 met)",
        lambda m: _with_domains(_with_parameters(m, 12, 0), 12, 3).assign(parameters=[None] * 3 + [1.0] * 9),
        BOUNDS,
        [ROW_COUNT, NOT_NULL, UNIQUE_COUNT],
    ),
    ("mostly exactly met (7 of 10)", lambda m: _with_parameters(m, 10, 3), MOSTLY, []),
    ("mostly just missed (6 of 10)", lambda m: _with_parameters(m, 10, 4), MOSTLY, [NOT_NULL]),
]


@pytest.mark.parametrize("case, table, suite, failing", CASES, ids=[case[0] for case in CASES])
def test_suite_results_equal_great_expectations_own(models, case, table, suite, failing):
    """GX is the oracle: the evaluators in check.py give its success, observed values and unexpected counts
    (the whole result, as stored) on the real table, on tables that break each rule, and on each boundary."""
    table, suite = table(models), suite or validation.load_suite()
    ours = validation.run_expectations(table, suite)
    assert validation.canonical(ours) == validation.canonical(validation.gx_expectations(table, suite))
    assert [e["type"] for e in ours["expectations"] if not e["success"]] == failing
    assert ours["success"] == (not failing)


def test_a_rule_without_an_evaluator_is_refused_in_one_line(models, tmp_path, monkeypatch):
    """Adding a rule to the suite without teaching check.py to evaluate it cannot pass silently."""
    unknown = _suite((ROW_COUNT, {"min_value": 1}), ("expect_column_values_to_be_unique", {"column": "id"}))
    with pytest.raises(validation.SuiteError, match="expect_column_values_to_be_unique has no evaluator"):
        validation.run_expectations(models, unknown)
    with pytest.raises(validation.SuiteError, match="kwarg row_condition is not evaluated"):
        validation.run_expectations(models, _suite((ROW_COUNT, {"min_value": 1, "row_condition": 'id=="x"'})))
    with pytest.raises(validation.SuiteError, match="names column size, which the table does not have"):
        validation.run_expectations(models, _suite((NOT_NULL, {"column": "size", "mostly": 0.5})))
    suite_file = tmp_path / "dataset.expectations.json"
    suite_file.write_text(json.dumps(unknown))
    monkeypatch.setattr(validation, "SUITE", suite_file)
    proc = mlsizes("check", str(CURATED), "--reports", str(tmp_path / "reports"), cwd=ROOT, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: dataset.expectations.json: expectation type expect_column_values_to_be_unique has no evaluator "
        "in check.py (EVALUATORS)"
    ]
    assert not (tmp_path / "reports").exists()


def test_a_table_that_is_not_curated_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "models.csv"
    bad.write_text("id\ngpt-3\n")
    proc = mlsizes("check", str(bad), "--reports", str(tmp_path / "reports"), cwd=ROOT, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {bad}: table does not match schema") and proc.stderr.count("\n") == 1
    assert not (tmp_path / "reports").exists()


def test_the_suite_holds_only_dataset_level_rules():
    """A rule about one record lives in schemas/curated.yaml only: the suite has no per-value check but a share
    (mostly < 1), which no single record can break."""
    for expectation in validation.load_suite()["expectations"]:
        if expectation["type"].startswith("expect_column_values_to_"):
            assert expectation["kwargs"].get("mostly", 1) < 1, expectation


def test_check_command_does_not_import_great_expectations(tmp_path):
    """The stage's command (no --data-docs) runs the suite without GX: a fresh process, its modules listed."""
    code = (
        "import sys\nfrom mlsizes.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as exit:\n    print('exit', exit.code)\n"
        "print('great_expectations' in sys.modules)"
    )
    args = ["check", str(CURATED), "--reports", str(tmp_path)]
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert proc.stdout.splitlines()[-2:] == ["exit 0", "False"], proc.stdout + proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gx_results.json", "pandera_failures.csv"]


def test_metadata_is_generated_from_the_schema_and_committed_copy_is_current():
    package = metadata.datapackage(metadata.dataset_version(ROOT / "dataset.yaml"))
    fields = package["resources"][0]["schema"]["fields"]
    assert [f["name"] for f in fields] == list(contracts.curated_columns())
    assert all(f["description"] for f in fields)
    assert json.loads((ROOT / "data" / "curated" / "datapackage.json").read_text()) == package
    assert (ROOT / "data" / "curated" / "codebook.csv").read_text() == metadata.codebook()
    assert "CC-BY-4.0" in json.dumps(package["licenses"])


def test_committed_models_match_their_header_contract(models):
    assert list(models.columns) == list(contracts.curated_columns())


def test_committed_dataset_passes_both_contracts_and_reports_are_byte_identical_across_runs(tmp_path):
    """The committed table passes pandera and the suite; the committed reports are what the stage writes; with
    --data-docs, GX agrees and its site carries no wall-clock stamps or random ids, so two runs write the same
    bytes."""
    for run in ("a", "b"):
        result = check.run(Paths.at(ROOT).replace(validation_dir=tmp_path / run), check.CheckSettings(data_docs=True))
        assert result.success, result.summary()
    for name in ("gx_results.json", "pandera_failures.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (ROOT / "reports" / "validation" / name).read_bytes(), name
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert "data_docs/index.html" in {str(f) for f in files}
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
