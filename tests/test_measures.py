"""The measures besides parameters and compute (dataset size, costs, hardware, training time, frontier flag):
their spellings across vintages, the contract's refusals, and cells that give no value recorded, never dropped."""

import pandas as pd
import pytest

from conftest import HEADER_2026, RAW, write_csv
from mlsizes.records import contracts, curation, ingest
from mlsizes.records.parse import parse_flag
from mlsizes.records.snapshots import SnapshotError

MEASURE_HEADER = [
    "Training dataset size (total)",
    "Training compute cost (2023 USD)",
    "Training compute cost (cloud)",
    "Training compute cost (upfront)",
    "Training hardware",
    "Hardware quantity",
    "Training time (hours)",
    "Frontier model",
]
GOOD_MEASURES = {
    "Training dataset size (total)": "1.5E+12",
    "Training compute cost (2023 USD)": "1200000.5",
    "Training compute cost (cloud)": "900000",
    "Training compute cost (upfront)": "3.4e7",
    "Training hardware": "NVIDIA A100,Google TPU v4",
    "Hardware quantity": "1024.0",
    "Training time (hours)": "2.5",
    "Frontier model": "True",
}


def _row(name="TestNet", **measures):
    values = {**GOOD_MEASURES, **measures}
    base = [name, "Lab", "2021-05-01", "Language", "1.5e9", "1e21", "Confident", "https://example.org", "SOTA"]
    return base + [values[column] for column in MEASURE_HEADER]


def _curate(tmp_path, rows, header=None):
    path = write_csv(tmp_path / "snap.csv", header or HEADER_2026 + MEASURE_HEADER, rows)
    return curation.process(ingest.process(ingest.load(path)), "snap")


def test_every_measure_of_a_good_row_is_curated(tmp_path):
    models = _curate(tmp_path, [_row()]).models
    row = models.iloc[0]
    assert (row["training_dataset_size"], row["training_cost_usd"], row["training_cost_dollars"]) == (
        1.5e12,
        1200000.5,
        "2023 USD",
    )
    assert (row["training_cost_cloud_usd"], row["training_cost_upfront_usd"]) == (9e5, 3.4e7)
    assert (row["training_hardware"], row["hardware_quantity"], row["training_time_hours"]) == (
        "NVIDIA A100,Google TPU v4",
        1024.0,
        2.5,
    )
    assert row["frontier_model"] is True or row["frontier_model"] == True  # noqa: E712 (pandas' boolean)
    assert pd.isna(row["measures_missing_reason"])


REFUSED = [
    ("invalid_training_dataset_size", {"Training dataset size (total)": "-5"}),
    ("invalid_training_dataset_size", {"Training dataset size (total)": "1e19"}),
    ("invalid_training_cost_usd", {"Training compute cost (2023 USD)": "-1"}),
    ("invalid_training_cost_cloud_usd", {"Training compute cost (cloud)": "1e14"}),
    ("invalid_training_cost_upfront_usd", {"Training compute cost (upfront)": "-3.4e7"}),
    ("invalid_hardware_quantity", {"Hardware quantity": "0.5"}),
    ("invalid_training_time_hours", {"Training time (hours)": "-2"}),
    ("invalid_training_time_hours", {"Training time (hours)": "2e6"}),
]


@pytest.mark.parametrize("code, measures", REFUSED, ids=[f"{c}-{i}" for i, (c, _) in enumerate(REFUSED)])
def test_a_value_the_contract_refuses_rejects_the_record_with_its_reason(code, measures, tmp_path):
    result = _curate(tmp_path, [_row(), _row("BadNet", **measures)])
    assert result.models["name"].tolist() == ["TestNet"]
    assert result.rejected["reject_code"].tolist() == [code]
    assert result.rejected["source_row"].tolist() == [2]
    assert result.rejected["reject_message"].iloc[0]


NO_VALUE = [
    ({"Training dataset size (total)": "2260275840,2290000001"}, "training_dataset_size", "unparseable_in_source"),
    ({"Training dataset size (total)": "0"}, "training_dataset_size", "zero_in_source"),
    ({"Training compute cost (2023 USD)": "about a million"}, "training_cost_usd", "unparseable_in_source"),
    ({"Training compute cost (cloud)": "0.0"}, "training_cost_cloud_usd", "zero_in_source"),
    ({"Training compute cost (upfront)": "\u0661\u0665"}, "training_cost_upfront_usd", "unparseable_in_source"),
    ({"Hardware quantity": "8 x 128"}, "hardware_quantity", "unparseable_in_source"),
    ({"Training time (hours)": "3 weeks"}, "training_time_hours", "unparseable_in_source"),
    ({"Frontier model": "maybe"}, "frontier_model", "unparseable_in_source"),
]


@pytest.mark.parametrize("measures, column, reason", NO_VALUE, ids=[f"{c}-{r}" for _, c, r in NO_VALUE])
def test_a_cell_that_gives_no_value_leaves_the_measure_empty_with_its_reason(measures, column, reason, tmp_path):
    result = _curate(tmp_path, [_row(**measures)])
    assert result.rejected.empty
    row = result.models.iloc[0]
    assert pd.isna(row[column])
    assert row["measures_missing_reason"] == f"{column}={reason}"
    if column == "training_cost_usd":  # no cost, so no dollars to state
        assert pd.isna(row["training_cost_dollars"])


def test_several_missing_reasons_are_listed_and_pass_the_contract(tmp_path):
    row = _curate(tmp_path, [_row(**{"Hardware quantity": "0", "Training time (hours)": "x"})]).models.iloc[0]
    assert (
        row["measures_missing_reason"] == "hardware_quantity=zero_in_source; training_time_hours=unparseable_in_source"
    )


CONTRACT_REFUSES = [
    ("training_hardware", "NVIDIA A100\u200b"),  # an invisible character: no chip of the chip table matches it
    ("training_hardware", "NVIDIA\x07 A100"),
    ("training_cost_dollars", "1999 USD"),
    ("measures_missing_reason", "parameters=lost"),
    ("measures_missing_reason", "hardware_quantity=zero_in_source;training_time_hours=zero_in_source"),
]


@pytest.mark.parametrize("column, value", CONTRACT_REFUSES)
def test_the_contract_refuses_derived_values_curate_never_writes(column, value, tmp_path):
    models = _curate(tmp_path, [_row()]).models
    models.loc[0, column] = value
    failures = contracts.record_failures(models, contracts.curated_schema())
    assert failures["column"].tolist() == [column]


def test_an_empty_frontier_cell_is_false_and_a_vintage_without_the_flag_leaves_it_unknown(tmp_path):
    models = _curate(tmp_path, [_row(**{"Frontier model": ""})]).models
    assert models["frontier_model"].tolist() == [False]
    old_header = ["System", "Domain", "Organization(s)", "Publication date", "Parameters", "Training compute (FLOPs)"]
    old = [
        ["Net", "Vision", "Lab", "8/12/2021", "1.75E+11", "3.1E+23", "4.00E+01", "3.50E+07"],
        ["Cheap", "Vision", "Lab", "8/12/2021", "1.75E+11", "3.1E+23", "", "N/A"],
    ]
    header = old_header + ["Training dataset size (datapoints)", "Training cost (2020 USD)"]
    (tmp_path / "old").mkdir()
    models = _curate(tmp_path / "old", old, header).models.set_index("name")
    assert models["frontier_model"].isna().all()
    assert (models.loc["Net", "training_dataset_size"], models.loc["Net", "training_cost_usd"]) == (40.0, 3.5e7)
    assert models.loc["Net", "training_cost_dollars"] == "2020 USD"
    assert models.loc["Cheap", ["training_cost_usd", "training_cost_dollars", "measures_missing_reason"]].isna().all()


def test_two_spellings_of_one_cost_in_one_file_are_refused(tmp_path):
    header = HEADER_2026 + ["Training cost (2020 USD)", "Training compute cost (2023 USD)"]
    path = write_csv(tmp_path / "both.csv", header, [_row()[:9] + ["1", "2"]])
    with pytest.raises(SnapshotError, match="both mean training_cost_usd"):
        ingest.load(path)


@pytest.mark.parametrize("text, flag", [("True", True), ("true", True), ("1", True), ("FALSE", False), ("", None)])
def test_parse_flag(text, flag):
    assert parse_flag(text) is flag


@pytest.mark.parametrize("text", ["maybe", "Tru", "2", "\u0661"])
def test_parse_flag_refuses_what_is_not_a_flag(text):
    with pytest.raises(ValueError, match="not a yes/no flag"):
        parse_flag(text)


def test_the_current_snapshot_keeps_every_measure_upstream_wrote():
    """Every filled cell of the 2026 download is a value or a recorded reason (one record is rejected for its
    missing domain)."""
    result = curation.process(ingest.process(ingest.load(RAW / "epoch_notable_ai_models_2026-03-10.csv", True)), "x")
    models = result.models
    counts = {column: int(models[column].notna().sum()) for column in ingest.MEASURE_COLUMNS}
    assert counts == {
        "training_dataset_size": 657,
        "training_cost_usd": 179,
        "training_cost_cloud_usd": 25,
        "training_cost_upfront_usd": 33,
        "hardware_quantity": 247,
        "training_time_hours": 238,
    }
    assert int(models["training_hardware"].notna().sum()) == 354
    assert int(models["frontier_model"].sum()) == 122 and models["frontier_model"].notna().all()
    assert set(models["training_cost_dollars"].dropna()) == {"2023 USD"}
    assert models["measures_missing_reason"].value_counts().to_dict() == {
        "training_dataset_size=unparseable_in_source": 3
    }
