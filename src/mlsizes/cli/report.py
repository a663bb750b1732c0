"""`mlsizes report`: the figures and report.md from the metrics."""

from __future__ import annotations

from pathlib import Path

import click

from mlsizes.cli.common import (
    EXISTING_DIR,
    NEW_DIR,
    PARAMS_OPTION,
    fail,
    here,
    print_json,
    project_options,
    shown,
    step,
    study_settings,
)
from mlsizes.core.paths import LAYOUT


@click.command()
@click.option(
    "--metrics",
    "metrics_dir",
    type=EXISTING_DIR,
    show_default=str(Path(LAYOUT["trends"]).parent),
    help="Folder of the metrics of analyze, reproduce-paper and history.",
)
@PARAMS_OPTION
@click.option(
    "--out", "reports_dir", type=NEW_DIR, show_default=LAYOUT["reports_dir"], help="Folder for report.md and figures/."
)
@project_options("Print the files written as a JSON list.")
def report(
    metrics_dir: Path | None, params_path: Path | None, reports_dir: Path | None, as_json: bool, root: Path | None
) -> None:
    """Draw the six figures and write report.md from the metrics of the analyze, reproduce and history stages.

    Reads the `snapshot` and the `analysis:` section (for the footer and every label naming a setting).
    """
    from mlsizes.stages import report as stage

    paths = here(root).replace(params=params_path, reports_dir=reports_dir)
    paths = paths.with_metrics_dir(metrics_dir) if metrics_dir else paths
    settings = study_settings(paths, "report")
    step(f"report: drawing the figures and writing report.md in {paths.reports_dir}...")
    try:
        written = stage.run(paths, stage.ReportSettings(settings.analysis, settings.snapshot))
    except FileNotFoundError as exc:  # a metrics file or plot data no stage has written yet
        fail(f"{shown(Path(exc.filename))}: no such file (written by `dvc repro`; or give --metrics)")
    if as_json:
        print_json([str(path) for path in written])
        return
    for path in written:
        click.echo(f"wrote {path}")
