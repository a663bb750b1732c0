"""`mlsizes chips`: RQ3, whether the models below, in and above the gap fit on one accelerator, per release."""

from __future__ import annotations

from pathlib import Path

import click

from mlsizes.cli.common import (
    EXISTING_DIR,
    EXISTING_FILE,
    NEW_FILE,
    PARAMS_OPTION,
    fail,
    here,
    print_json,
    project_options,
    study_settings,
)
from mlsizes.core.paths import LAYOUT


@click.command()
@click.option(
    "--raw", "raw_dir", type=EXISTING_DIR, show_default=LAYOUT["raw_dir"], help="Folder of the raw snapshots."
)
@click.option("--chips", "chips_path", type=EXISTING_FILE, help="The chip table.  [default: schemas/chips.csv]")
@PARAMS_OPTION
@click.option("--out", "out_path", type=NEW_FILE, show_default=LAYOUT["chips"])
@project_options("Print the RQ3 table (as written to --out) as JSON.")
def chips(
    raw_dir: Path | None,
    chips_path: Path | None,
    params_path: Path | None,
    out_path: Path | None,
    as_json: bool,
    root: Path | None,
) -> None:
    """Whether weights and training state of the systems below, in and above the gap fit on one accelerator.

    On every snapshot in RAW that carries training hardware, by publication year, with its coverage. Reads the
    gap from the `analysis:` section and the bytes per parameter from `chips:`.
    """
    from mlsizes.core.settings import read_params
    from mlsizes.records import contracts
    from mlsizes.records.snapshots import SnapshotError
    from mlsizes.stages import chips as stage

    paths = here(root).replace(raw_dir=raw_dir, params=params_path, chips=out_path)
    settings = study_settings(paths, "chips")
    try:
        section = read_params(paths.params)["chips"]
        bytes_per_parameter = {str(kind): float(value) for kind, value in section["bytes_per_parameter"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        fail(f"{paths.params}: chips: no valid bytes_per_parameter mapping ({exc})")
    try:
        chip_table = chips_path or contracts.CHIPS_TABLE
        result = stage.run(paths, stage.ChipSettings(settings.analysis, bytes_per_parameter, chip_table))
    except (SnapshotError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        print_json(result, metrics=True)
        return
    for release in result["releases"]:
        coverage, where = release["coverage"], release["by_position"]
        shares = "; ".join(
            f"{name}: weights fit {cell['weights']['fit']}/{cell['n']}, training state "
            f"{cell['training_state']['fit']}/{cell['n']}"
            for name, cell in where.items()
        )
        click.echo(
            f"{release['snapshot']}: {coverage['with_parameters_and_known_chip']} systems with parameters and a "
            f"known accelerator ({coverage['with_training_hardware']} name hardware); {shares}"
        )
    click.echo(f"wrote {paths.chips}")
