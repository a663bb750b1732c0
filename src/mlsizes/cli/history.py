"""`mlsizes history`: the gap test and trend fits on every snapshot, each as of its own date."""

from __future__ import annotations

from pathlib import Path

import click

from mlsizes.cli.common import (
    EXISTING_DIR,
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
@PARAMS_OPTION
@click.option("--out", "out_path", type=NEW_FILE, show_default=LAYOUT["history"])
@click.option("--figure", "figure_path", type=NEW_FILE, show_default=LAYOUT["history_figure"])
@click.option(
    "--atlas-figure",
    "atlas_figure_path",
    type=NEW_FILE,
    show_default=LAYOUT["history_atlas_figure"],
    help="RQ5's figure: the atlas minimum, the paper's cell and the closing test per release.",
)
@project_options("Print the history (as written to --out) as JSON.")
def history(
    raw_dir: Path | None,
    params_path: Path | None,
    out_path: Path | None,
    figure_path: Path | None,
    atlas_figure_path: Path | None,
    as_json: bool,
    root: Path | None,
) -> None:
    """Run the gap test and trend fits on every snapshot in RAW, each as of its own date.

    Reads the `analysis:` section, the paper's cut-off (`paper_reproduction.as_of`) and the `growth:` section (the
    recent-growth readout of every measure, per snapshot).
    """
    from mlsizes.core.settings import GrowthParams
    from mlsizes.records.snapshots import SnapshotError
    from mlsizes.stages import history as stage

    paths = here(root).replace(
        raw_dir=raw_dir,
        params=params_path,
        history=out_path,
        history_figure=figure_path,
        history_atlas_figure=atlas_figure_path,
    )
    settings = study_settings(paths, "history")
    if settings.paper_reproduction is None:
        fail(f"{paths.params}: no paper_reproduction section (its as_of is the paper's cut-off)")
    from mlsizes.core.settings import AtlasParams

    try:
        growth = GrowthParams.load(paths.params)
        section = AtlasParams.load(paths.params, settings.analysis)
        result = stage.run(
            paths, stage.HistorySettings(settings.analysis, settings.paper_reproduction.as_of, section, growth)
        )
    except (ValueError, SnapshotError) as exc:
        fail(str(exc))
    if as_json:
        print_json(result, metrics=True)
        return
    for domain, info in result["answer"].items():
        click.echo(
            f"{domain}: in the paper's window {info['observed_first']} -> {info['observed_newest']} in the "
            f"gap, P {info['p_first']:.2g} -> {info['p_newest']:.2g} ({info['first']} -> {info['newest']})"
        )
    click.echo(f"wrote {paths.history}, {paths.history_figure} and {paths.history_atlas_figure}")
