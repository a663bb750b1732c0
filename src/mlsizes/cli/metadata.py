"""`mlsizes metadata`: datapackage.json, codebook.csv and the dataset card of the curated table."""

from __future__ import annotations

from pathlib import Path

import click

from mlsizes.cli.common import (
    NEW_DIR,
    fail,
    print_json,
    project,
    project_options,
)
from mlsizes.core.paths import LAYOUT


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=NEW_DIR,
    show_default=str(Path(LAYOUT["models"]).parent),
    help="Folder of models.csv and rejected.csv; datapackage.json, codebook.csv and README.md are written here.",
)
@project_options("Print the files written as a JSON list.")
def metadata(out_dir: Path | None, as_json: bool, root: Path | None) -> None:
    """Write datapackage.json (Frictionless), codebook.csv and the dataset card README.md for the curated table.

    From schemas/curated.yaml, the version in dataset.yaml and the metrics of curate and analyze.
    """
    from mlsizes.stages import metadata as stage

    paths = project(root)
    try:
        written = stage.run(paths.with_curated_dir(out_dir) if out_dir else paths)
    except (stage.MetadataError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        print_json([str(path) for path in written])
        return
    for path in written:
        click.echo(f"wrote {path}")
