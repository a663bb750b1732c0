"""The metadata stage: datapackage.json passes `frictionless validate` (committed and freshly built), CITATION.cff
passes the CFF 1.2.0 schema, and the dataset card is generated from the contract and the newest metrics."""

from __future__ import annotations

import csv
import io
import json
import shutil

import frictionless
import jsonschema
import pytest
import yaml

import mlsizes
from conftest import ROOT
from conftest import mlsizes as run_cli
from mlsizes.core.paths import Paths
from mlsizes.records import contracts, curation
from mlsizes.stages import curate, metadata

CURATED = ROOT / "data" / "curated"
CFF_SCHEMA = json.loads((ROOT / "tests" / "data" / "cff-schema-1.2.0.json").read_text())
VERSION = metadata.dataset_version(ROOT / "dataset.yaml")


def _valid(descriptor) -> frictionless.Report:
    return frictionless.validate(str(descriptor))


def _front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


# --- datapackage.json ---------------------------------------------------------------------------------------


def test_committed_datapackage_passes_frictionless_validate():
    report = _valid(CURATED / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    assert report.warnings == [] and all(task.warnings == [] for task in report.tasks)
    assert [task.stats["rows"] for task in report.tasks] == [
        sum(1 for _ in open(CURATED / name, encoding="utf-8")) - 1 for name in ("models.csv", "rejected.csv")
    ]


@pytest.mark.parametrize(
    "snapshot",
    ["epoch_notable_ai_models_2026-03-10", "epoch_pcd_2022-06-02"],
    ids=["newest-with-contributions", "2022-with-nameless-rejects"],
)
def test_a_freshly_curated_table_passes_frictionless_validate(tmp_path, snapshot):
    """Curate a real snapshot into a temporary folder and describe it there: what curate writes today (integer
    sizes with empty cells, ISO dates, rejects without a name) is what the descriptor says."""
    paths = Paths.at(ROOT).with_curated_dir(tmp_path).replace(curation_metrics=tmp_path / "curation.json")
    curate.run(paths, curate.CurateSettings(paths.snapshot(snapshot), with_contributions=True, require_provenance=True))
    written = metadata.run(paths)
    assert written == [tmp_path / "datapackage.json", tmp_path / "codebook.csv", tmp_path / "README.md"]
    report = _valid(tmp_path / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    assert report.tasks[1].stats["rows"] == json.loads((tmp_path / "curation.json").read_text())["rejected"]


def _copy(tmp_path):
    """The committed package in a temporary folder."""
    for name in ("datapackage.json", "models.csv", "rejected.csv"):
        shutil.copy(CURATED / name, tmp_path / name)
    return tmp_path / "datapackage.json"


def _copy_with(tmp_path, column: str, value: str, row: int = 5):
    """The committed package in a temporary folder, with one cell of models.csv replaced."""
    _copy(tmp_path)
    rows = list(csv.reader(io.StringIO((tmp_path / "models.csv").read_text(encoding="utf-8"))))
    rows[row][rows[0].index(column)] = value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    (tmp_path / "models.csv").write_text(buffer.getvalue(), encoding="utf-8")
    return tmp_path / "datapackage.json"


@pytest.mark.parametrize(
    "column, value, error",
    [
        ("publication_date", "2020-13-45", "type-error"),
        ("publication_date", "1900-01-01", "constraint-error"),
        ("parameters", "1.5e9", "type-error"),
        ("parameters", "0", "constraint-error"),
        ("date_precision", "week", "constraint-error"),
        ("id", "", "constraint-error"),
        # the measures of issue 25
        ("training_compute_flop", "0", "constraint-error"),
        ("training_dataset_size", "0", "constraint-error"),
        ("training_cost_usd", "-1", "constraint-error"),
        ("training_cost_dollars", "1999 USD", "constraint-error"),
        ("hardware_quantity", "0", "constraint-error"),
        ("training_time_hours", "-2", "constraint-error"),
        ("frontier_model", "maybe", "type-error"),
        ("measures_missing_reason", "parameters=lost", "constraint-error"),
    ],
    ids=[
        "impossible-date",
        "date-before-minimum",
        "size-not-integer",
        "size-below-minimum",
        "off-vocabulary",
        "no-id",
        "compute-zero",
        "dataset-size-zero",
        "cost-negative",
        "cost-basis-off-vocabulary",
        "hardware-quantity-zero",
        "training-time-negative",
        "frontier-flag-not-boolean",
        "missing-reason-unknown-code",
    ],
)
def test_frictionless_validate_fails_on_a_bad_cell(tmp_path, column, value, error):
    report = _valid(_copy_with(tmp_path, column, value))
    assert not report.valid
    assert [column, error] in report.flatten(["fieldName", "type"])


@pytest.mark.parametrize(
    "breakage",
    [
        lambda package: package["resources"][0]["schema"]["fields"][5].update(type="string"),
        lambda package: package["resources"][0]["schema"]["fields"][5]["constraints"].update(pattern="^x$"),
        lambda package: package["resources"][1].pop("schema"),
        lambda package: package["resources"][0]["schema"]["fields"][0].update(type="text"),
    ],
    ids=["date-as-text-with-a-range", "pattern-on-a-date", "resource-without-schema", "unknown-type"],
)
def test_frictionless_validate_fails_on_a_broken_descriptor(tmp_path, breakage):
    """The errors the issue found on main (a date typed as text with a range, a resource without a schema)."""
    descriptor = _copy(tmp_path)
    package = json.loads(descriptor.read_text())
    assert package["resources"][0]["schema"]["fields"][5]["name"] == "publication_date"
    breakage(package)
    descriptor.write_text(json.dumps(package))
    assert not _valid(descriptor).valid


def test_descriptor_names_the_dataset_version_and_describes_what_curate_writes():
    package = metadata.datapackage(VERSION)
    assert package["version"] == "2026.03.10" == VERSION != mlsizes.__version__
    models, rejected = package["resources"]
    assert [f["name"] for f in models["schema"]["fields"]] == list(contracts.curated_columns())
    assert [f["name"] for f in rejected["schema"]["fields"]] == curation.REJECTED_COLUMNS
    types = {f["name"]: f["type"] for f in models["schema"]["fields"]}
    assert (types["publication_date"], types["parameters"], types["training_compute_flop"]) == (
        "date",
        "integer",
        "number",
    )
    assert all(f["description"] and f["title"] for f in models["schema"]["fields"] + rejected["schema"]["fields"])


def test_a_check_without_a_frictionless_form_is_an_error_not_a_silent_gap():
    spec = dict(contracts.curated_columns()["name"], str_startswith="A")
    with pytest.raises(ValueError, match=r"column name: no Frictionless constraint for \['str_startswith'\]"):
        metadata.field_descriptor("name", spec)


# --- the committed files are current ------------------------------------------------------------------------


def test_committed_metadata_is_what_the_stage_builds_from_the_committed_inputs():
    built = metadata.process(metadata.load(Paths.at(ROOT)))
    assert json.loads((CURATED / "datapackage.json").read_text()) == built.datapackage
    assert (CURATED / "codebook.csv").read_text() == built.codebook
    assert (CURATED / "README.md").read_text() == built.card


# --- the dataset card ---------------------------------------------------------------------------------------


def test_card_front_matter_is_what_a_dataset_hub_reads():
    card = (CURATED / "README.md").read_text()
    front = _front_matter(card)
    curated = json.loads((ROOT / "metrics" / "curation.json").read_text())["curated"]
    assert front["license"] == "cc-by-4.0" and front["language"] == ["en"] and front["pretty_name"]
    assert front["size_categories"] == [metadata.size_category(curated)] == ["n<1K"]
    configs = {c["config_name"]: c["data_files"] for c in front["configs"]}
    assert configs == {
        "models": [{"split": "train", "path": "models.csv"}],
        "rejected": [{"split": "train", "path": "rejected.csv"}],
    }
    assert "machine-learning" in front["tags"]


def test_card_documents_every_column_the_version_and_how_to_cite_and_load():
    card = (CURATED / "README.md").read_text()
    body = card.split("---\n", 2)[2]
    for name, spec in contracts.curated_columns().items():
        assert f"| `{name}` | {spec['title']} |" in body, name
    for name in curation.REJECTED_COLUMNS:
        assert f"| `{name}` |" in body, name
    assert f"**{VERSION}**" in body and "mlsizes.load()" in body and 'version="2022.06.30", repo="."' in body
    assert metadata.CITATION in body and "(https://creativecommons.org/licenses/by/4.0/)" in body
    assert "arXiv:2207.02852" in body and "`missing_domain` | 1 | record has no domain" in body
    assert "| language | 265 | 24 | 44.8 | 0.00016 |" in body  # the newest gap result, as report.md gives it


def test_card_follows_the_metrics(tmp_path):
    """Built from other metrics, the card says other things: counts, size bucket, reasons, gap result."""
    inputs = metadata.load(Paths.at(ROOT))
    before = metadata.card(inputs.version, inputs.curation, inputs.gap, inputs.reject_examples)
    assert metadata.card(inputs.version, inputs.curation, inputs.gap, inputs.reject_examples) == before
    curation = dict(inputs.curation, curated=12345, rejected_by_reason={"missing_name": 7, "not_notable": 2})
    gap = json.loads(json.dumps(inputs.gap))
    gap["tests"]["language"]["observed_in_gap"] = 41
    after = metadata.card("2027.01.01", curation, gap, {"missing_name": "record has <b>no</b> name"})
    assert after != before
    assert _front_matter(after)["size_categories"] == ["10K<n<100K"]
    assert "12345 records" in after and "985 records" not in after and "**2027.01.01**" in after
    assert "`missing_name` | 7 | record has &lt;b&gt;no&lt;/b&gt; name" in after and "<b>" not in after
    assert "| language | 265 | 41 |" in after


@pytest.mark.parametrize(
    "count, bucket",
    [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (99_999, "10K<n<100K"), (10**6, "1M<n<10M"), (10**12, "n>1T")],
)
def test_size_category_uses_the_hubs_buckets(count, bucket):
    assert metadata.size_category(count) == bucket


def test_missing_input_is_one_line_error_and_nothing_is_written(tmp_path):
    """Without dataset.yaml (or a metric) the command names the file, exits 1 and writes none of its outputs."""
    root = tmp_path / "project"
    (root / "data" / "curated").mkdir(parents=True)
    (root / "metrics").mkdir()
    shutil.copy(ROOT / "dvc.yaml", root / "dvc.yaml")
    for name in ("data/curated/rejected.csv", "metrics/curation.json", "metrics/gap.json"):
        shutil.copy(ROOT / name, root / name)
    proc = run_cli("metadata", cwd=root, check=False)
    assert proc.returncode == 1 and proc.stderr == f"error: {root / 'dataset.yaml'}: no such file\n"
    (root / "dataset.yaml").write_text("version: 2026.03.10\n")
    (root / "metrics" / "gap.json").write_text("{not json")
    proc = run_cli("metadata", cwd=root, check=False)
    assert proc.returncode == 1 and proc.stderr.startswith(f"error: {root / 'metrics' / 'gap.json'}: not readable")
    assert sorted(p.name for p in (root / "data" / "curated").iterdir()) == ["rejected.csv"]
    shutil.copy(ROOT / "metrics" / "gap.json", root / "metrics" / "gap.json")
    assert "wrote" in run_cli("metadata", cwd=root).stdout
    assert metadata.dataset_version(root / "dataset.yaml") == "2026.03.10"


# --- CITATION.cff -------------------------------------------------------------------------------------------


def _cff_errors(cff: dict) -> list[str]:
    return [error.message for error in jsonschema.Draft7Validator(CFF_SCHEMA).iter_errors(cff)]


def test_citation_cff_passes_the_cff_1_2_0_schema_and_cites_the_data_and_the_paper():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert _cff_errors(cff) == []
    assert cff["version"] == mlsizes.__version__  # the tool's version; dataset versions are named by the user
    data, paper = cff["references"]
    assert data["type"] == "data" and data["license"] == "CC-BY-4.0" and data["notes"] == metadata.CITATION
    assert paper["type"] == "article" and paper["identifiers"][0]["value"] == "arXiv:2207.02852"
    assert "Epoch AI" in cff["message"] and "paper" in cff["message"]


@pytest.mark.parametrize(
    "breakage",
    [
        lambda cff: cff["references"][0].update(type="dataset"),  # what main had: not a CFF type
        lambda cff: cff["references"][1].pop("authors"),
        lambda cff: cff.update({"date-released": "March 2026"}),
    ],
    ids=["type-dataset", "reference-without-authors", "date-not-iso"],
)
def test_the_cff_schema_refuses_a_broken_citation(breakage):
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    breakage(cff)
    assert _cff_errors(cff)
