"""`mlsizes reproduce-paper`: the paper's table re-run on the paper-era snapshot."""

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
    step,
    study_settings,
)
from mlsizes.core.paths import LAYOUT
from mlsizes.rendering.text import plain_table


@click.command("reproduce-paper")
@click.option(
    "--raw", "raw_dir", type=EXISTING_DIR, show_default=LAYOUT["raw_dir"], help="Folder of the raw snapshots."
)
@PARAMS_OPTION
@click.option("--out", "out_path", type=NEW_FILE, show_default=LAYOUT["paper_reproduction"])
@project_options("Print the reproduction (as written to --out) as JSON.")
def reproduce_paper(
    raw_dir: Path | None, params_path: Path | None, out_path: Path | None, as_json: bool, root: Path | None
) -> None:
    """Re-run the paper's table on the paper-era snapshot and write ours beside the paper's numbers.

    Reads the `paper_reproduction:` section (the snapshot and its cut-off) and the `analysis:` one.
    """
    from mlsizes.records.snapshots import SnapshotError
    from mlsizes.stages import reproduce as stage

    paths = here(root).replace(raw_dir=raw_dir, params=params_path, paper_reproduction=out_path)
    params = study_settings(paths, "reproduce-paper").paper_reproduction
    if params is None:
        fail(f"{paths.params}: no paper_reproduction section (snapshot, as_of)")
    step(
        f"reproduce-paper: curating {params.snapshot} in memory, then the era fits and the gap tests "
        f"({params.analysis.n_simulations:,} simulations each)..."
    )
    try:
        result = stage.run(paths, params)
    except SnapshotError as exc:
        fail(str(exc))
    if as_json:
        print_json(result, metrics=True)
        return
    rows = []
    for era in params.analysis.era_keys.values():
        paper, ours = result[era]["paper"], result[era]["ours"]
        rows.append(
            [era, ours["n"], paper["n"], f"{ours['slope_oom_per_year']:.2f}", paper["slope_oom_per_year"]]
            + [f"{ours['r2']:.2f}", paper["r2"]]
        )
    click.echo(plain_table(["era", "n", "paper", "OOM/yr", "paper", "R^2", "paper"], rows))
    gap = result["gap_probability"]
    click.echo(f"gap probability {gap['ours']:.2g} (paper {gap['paper']:g}); wrote {paths.paper_reproduction}")
