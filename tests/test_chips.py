"""RQ3: the chip table's contract (schemas/chips.yaml) with inputs that must fail, and the fit-on-one-accelerator
shares on synthetic systems with known answers."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ROOT
from mlsizes.analysis import memory
from mlsizes.cli import main
from mlsizes.core.settings import Settings
from mlsizes.records import contracts

PARAMS = Settings.load(ROOT / "params.yaml").analysis
BYTES = {"weights": 2.0, "training_state": 16.0}
GOOD = contracts.CHIPS_TABLE.read_text()
HEADER = "hardware,memory_gb,year,source,note\n"


def test_the_shipped_chip_table_keeps_its_contract_and_knows_every_accelerator_epoch_names():
    chips = contracts.read_chips()
    assert chips["hardware"].is_unique and (chips["memory_gb"] > 0).all()
    named = contracts.read_curated(ROOT / "data" / "curated" / "models.csv")["training_hardware"].dropna()
    names = {part.strip() for cell in named for part in cell.split(",")}
    assert names <= set(chips["hardware"]), sorted(names - set(chips["hardware"]))
    v100 = chips.set_index("hardware").loc["NVIDIA Tesla V100 DGXS 32 GB"]
    assert v100["memory_gb"] == 32 and v100["source"].startswith("https://")


# Each breaks one rule of the contract; the error names the line, the accelerator and the column.
MUST_FAIL = {
    "negative memory": ("NVIDIA X,-16,2017,https://a.example/x,\n", "line 2 (NVIDIA X): memory_gb"),
    "memory as words": ("NVIDIA X,lots,2017,https://a.example/x,\n", "memory_gb: 'lots' is not a number"),
    "no memory": ("NVIDIA X,,2017,https://a.example/x,\n", "memory_gb: empty"),
    "year out of range": ("NVIDIA X,16,1990,https://a.example/x,\n", "year: fails in_range"),
    "fractional year": ("NVIDIA X,16,2017.5,https://a.example/x,\n", "year: '2017.5' is not a whole number"),
    "no source": ("NVIDIA X,16,2017,,\n", "source: fails not_nullable"),
    "source not a link": ("NVIDIA X,16,2017,a datasheet,\n", "source: fails str_matches"),
    "spaces around the name": (" NVIDIA X,16,2017,https://a.example/x,\n", "hardware: fails str_matches"),
    "repeated name": (
        "NVIDIA X,16,2017,https://a.example/x,\nNVIDIA X,32,2018,https://a.example/x,\n",
        "line 2 (NVIDIA X): hardware: fails field_uniqueness",  # both rows fail; the first is named
    ),
}


@pytest.mark.parametrize("case", sorted(MUST_FAIL))
def test_a_chip_table_that_breaks_its_contract_is_one_error_naming_row_and_column(tmp_path, case):
    rows, message = MUST_FAIL[case]
    path = tmp_path / "chips.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(ValueError) as raised:
        contracts.read_chips(path)
    assert message in str(raised.value) and str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_a_chip_table_with_other_columns_is_refused(tmp_path):
    path = tmp_path / "chips.csv"
    path.write_text("hardware,memory\nNVIDIA X,16\n")
    with pytest.raises(ValueError, match="the contract's are hardware, memory_gb, year, source, note"):
        contracts.read_chips(path)


def test_the_cli_refuses_a_bad_chip_table_in_one_line_and_writes_nothing(tmp_path):
    bad, out = tmp_path / "chips.csv", tmp_path / "chips.json"
    bad.write_text(HEADER + MUST_FAIL["no source"][0])
    raw = ROOT / "data" / "raw" / "epoch"
    result = CliRunner().invoke(main, ["chips", "--raw", str(raw), "--chips", str(bad), "--out", str(out)])
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "source" in result.stderr and not out.exists()


def _systems(rows):
    frame = pd.DataFrame(rows, columns=["parameters", "training_hardware", "hardware_quantity", "publication_date"])
    return frame.assign(parameters=frame["parameters"].astype(float))


def test_shares_of_systems_whose_weights_and_training_state_fit_on_one_accelerator():
    chips = pd.DataFrame({"hardware": ["Small 40", "Big 80"], "memory_gb": [40.0, 80.0]})
    models = _systems(
        [
            (1e9, "Small 40", 8, "2021-03-01"),  # 2 GB weights, 16 GB state: both fit on 40 GB
            (5e9, "Small 40", None, "2021-05-01"),  # 10 GB weights fit, 80 GB state does not
            (5e9, "Small 40,Big 80", 4, "2021-06-01"),  # judged on its largest chip: 80 GB state fits
            (3e10, "Big 80", 64, "2022-01-01"),  # in the gap: 60 GB weights fit on 80, 480 GB state does not
            (3e10, "Small 40", 2, "2022-02-01"),  # in the gap: 60 GB fits neither; 2 x 40 < 480 GB
            (2e11, "Big 80", 1024, "2022-03-01"),  # above: nothing fits on one
            (1e9, "Mystery 7", 1, "2022-04-01"),  # a name the table does not know: left out, counted
            (1e9, None, None, "2022-05-01"),  # no hardware named
            (None, "Big 80", 1, "2022-06-01"),  # no parameter count
        ]
    )
    result = memory.fit_shares(models, chips, PARAMS, BYTES)
    coverage = result["coverage"]
    assert coverage["systems"] == 9 and coverage["with_parameters"] == 8 and coverage["with_training_hardware"] == 8
    assert coverage["with_parameters_and_known_chip"] == 6 and coverage["unknown_hardware"] == {"Mystery 7": 1}
    below, inside, above = (result["by_position"][where] for where in ("below", "in", "above"))
    assert below["n"] == 3 and below["weights"]["fit"] == 3 and below["training_state"]["fit"] == 2
    assert below["training_state"]["share"] == pytest.approx(2 / 3)
    assert inside["n"] == 2 and inside["weights"]["fit"] == 1 and inside["training_state"]["fit"] == 0
    assert above == {
        "n": 1,
        "weights": {"fit": 0, "share": 0.0},
        "training_state": {"fit": 0, "share": 0.0},
        "with_hardware_quantity": 1,
        "training_state_fits_all_accelerators": 1,
    }
    assert inside["with_hardware_quantity"] == 2 and inside["training_state_fits_all_accelerators"] == 1
    assert result["by_year"]["2021"]["below"]["n"] == 3 and result["by_year"]["2022"]["in"]["n"] == 2
    json.dumps(result)


def test_a_system_exactly_on_a_bound_is_outside_the_gap_under_strict_bounds():
    on_bounds = pd.Series([PARAMS.gap_lower, PARAMS.gap_upper, PARAMS.gap_lower * 1.5])
    assert PARAMS.bounds == "strict"
    assert memory.position(on_bounds, PARAMS).tolist() == ["below", "above", "in"]


def test_committed_chips_metrics_state_their_coverage_per_release():
    result = json.loads((ROOT / "metrics" / "chips.json").read_text())
    dates = [release["snapshot_date"] for release in result["releases"]]
    assert dates and all(dt.date.fromisoformat(day).year >= 2024 for day in dates)
    for release in result["releases"]:
        coverage = release["coverage"]
        assert 0 < coverage["with_parameters_and_known_chip"] <= coverage["with_parameters_and_hardware"]
        assert sum(cell["n"] for cell in release["by_position"].values()) == coverage["with_parameters_and_known_chip"]


def test_snapshots_without_training_hardware_are_an_error_not_an_empty_answer():
    """The 2022 exports name no hardware: RQ3 has nothing to rest on, and says so instead of writing no release."""
    from mlsizes.records.snapshots import SnapshotError
    from mlsizes.stages import chips

    paper_era = ROOT / "data" / "raw" / "epoch" / "epoch_pcd_2022-06-30.csv"
    with pytest.raises(SnapshotError, match="no snapshot that names training hardware among 1 snapshot"):
        chips.process([paper_era], contracts.read_chips(contracts.CHIPS_TABLE), chips.ChipSettings(PARAMS, BYTES))
