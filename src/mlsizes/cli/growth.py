"""`mlsizes growth`: how fast every measure grows, for notable and frontier systems."""

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
    params_file,
    print_json,
    project_options,
)
from mlsizes.core.paths import LAYOUT


@click.command("growth")
@click.option("--models", "models_path", type=EXISTING_FILE, show_default=LAYOUT["models"])
@PARAMS_OPTION
@click.option("--out", "out_path", type=NEW_FILE, show_default=LAYOUT["growth"])
@figures_option("growth_<measure>.png")
@project_options("Print the readout (as written to --out) as JSON.")
def growth(
    models_path: Path | None,
    params_path: Path | None,
    out_path: Path | None,
    reports_dir: Path | None,
    as_json: bool,
    root: Path | None,
) -> None:
    """x/year of every measure since a start date, notable and frontier systems, with 95% intervals.

    Reads the `growth:` section of params.yaml (start date, frontier size, measures, bootstrap).
    """
    from mlsizes.core.settings import GrowthParams
    from mlsizes.stages import growth as stage

    paths = here(root).replace(models=models_path, params=params_path, growth=out_path, reports_dir=reports_dir)
    try:
        result = stage.run(paths, GrowthParams.load(params_file(paths, "growth")))
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        print_json(result, metrics=True)
        return
    for line in result["sentences"]:
        click.echo(line)
    click.echo(f"wrote {paths.growth} and a figure per measure in {paths.figures_dir}")
