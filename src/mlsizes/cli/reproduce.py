"""`mlsizes reproduce-paper`: the paper's table re-run on the paper-era snapshot."""

from __future__ import annotations

from pathlib import Path

import click

from mlsizes.cli.common import (
    EXISTING_DIR,
    NEW_FILE,
    PARAMS_OPTION,
    fail,
    study_settings,
)
from mlsizes.core.paths import LAYOUT, Paths


@click.command("reproduce-paper")
@click.option(
    "--raw", "raw_dir", type=EXISTING_DIR, show_default=LAYOUT["raw_dir"], help="Folder of the raw snapshots."
)
@PARAMS_OPTION
@click.option("--out", "out_path", type=NEW_FILE, show_default=LAYOUT["paper_reproduction"])
def reproduce_paper(raw_dir: Path | None, params_path: Path | None, out_path: Path | None) -> None:
    """Re-run the paper's table on the paper-era snapshot and write ours beside the paper's numbers.

    Reads the `paper_reproduction:` section (the snapshot and its cut-off) and the `analysis:` one.
    """
    from mlsizes.stages import reproduce as stage

    paths = Paths.here().replace(raw_dir=raw_dir, params=params_path, paper_reproduction=out_path)
    params = study_settings(paths, "reproduce-paper").paper_reproduction
    if params is None:
        fail(f"{paths.params}: no paper_reproduction section (snapshot, as_of)")
    result = stage.run(paths, params)
    for era in params.analysis.era_keys.values():
        paper, ours = result[era]["paper"], result[era]["ours"]
        click.echo(
            f"{era:>10}: n {ours['n']} (paper {paper['n']}), slope {ours['slope_oom_per_year']:.2f} "
            f"(paper {paper['slope_oom_per_year']}) OOM/yr, R^2 {ours['r2']:.2f} (paper {paper['r2']})"
        )
    gap = result["gap_probability"]
    click.echo(f"gap probability {gap['ours']:.2g} (paper {gap['paper']:g}); wrote {paths.paper_reproduction}")
