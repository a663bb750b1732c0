"""`mlsizes atlas`: every band of every measure, domain group and test window, and one corrected P for it all."""

from __future__ import annotations

from pathlib import Path

import click

from mlsizes.cli.common import (
    EXISTING_FILE,
    NEW_FILE,
    PARAMS_OPTION,
    fail,
    figures_option,
    here,
    print_json,
    project_options,
    study_settings,
)
from mlsizes.core.paths import LAYOUT


@click.command("atlas")
@click.option("--models", "models_path", type=EXISTING_FILE, show_default=LAYOUT["models"])
@PARAMS_OPTION
@click.option("--out", "out_path", type=NEW_FILE, show_default=LAYOUT["atlas"])
@click.option("--cells", "cells_path", type=NEW_FILE, show_default=LAYOUT["atlas_cells"])
@figures_option("atlas_<measure>.png")
@project_options("Print the atlas summary (as written to --out) as JSON.")
def atlas(
    models_path: Path | None,
    params_path: Path | None,
    out_path: Path | None,
    cells_path: Path | None,
    reports_dir: Path | None,
    as_json: bool,
    root: Path | None,
) -> None:
    """Scan every band of every measure, domain group and test window of the curated table and of the paper-era
    snapshot, with the atlas-wide corrected P of the most improbable band and a model check beside every deficit.

    Reads the `atlas:` and `analysis:` sections and the paper-era snapshot (`paper_reproduction`).
    """
    from mlsizes.core.settings import AtlasParams
    from mlsizes.records.snapshots import SnapshotError
    from mlsizes.stages import atlas as stage

    paths = here(root).replace(
        models=models_path, params=params_path, atlas=out_path, atlas_cells=cells_path, reports_dir=reports_dir
    )
    settings = study_settings(paths, "atlas")
    if settings.paper_reproduction is None:
        fail(f"{paths.params}: no paper_reproduction section (the paper-era snapshot the atlas also scans)")
    try:
        section = AtlasParams.load(paths.params, settings.analysis)
        result = stage.run(
            paths,
            stage.AtlasSettings(
                section, settings.analysis, settings.paper_reproduction.snapshot, settings.paper_reproduction.as_of
            ),
        )
    except (ValueError, SnapshotError) as exc:
        fail(str(exc))
    if as_json:
        print_json(result, metrics=True)
        return
    for name, release in result["releases"].items():
        low, p = release["minimum"], release["corrected"]["normal"]
        click.echo(
            f"{name}: atlas minimum {low['measure']} {low['group']} {low['lower']:.3g}-{low['upper']:.3g} "
            f"(z {low['z']:.2f}, local P {low['local_p']:.2g}); atlas-wide P {p['p']:.2g} "
            f"[{p['interval'][0]:.2g}, {p['interval'][1]:.2g}], {p['hits']} of {p['n']} ({p['side']} {p['alpha']:g})"
        )
    click.echo(f"wrote {paths.atlas}, {paths.atlas_cells} and the atlas figures")
