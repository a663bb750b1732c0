"""`mlsizes reproduce-compute`: the compute-trends paper's tables re-run on the 2022 snapshot closest to it."""

from __future__ import annotations

from pathlib import Path

import click

from mlsizes.cli.common import (
    EXISTING_DIR,
    NEW_FILE,
    PARAMS_OPTION,
    fail,
    here,
    params_file,
    print_json,
    project_options,
    step,
)
from mlsizes.core.paths import LAYOUT
from mlsizes.rendering.text import plain_table


@click.command("reproduce-compute")
@click.option(
    "--raw", "raw_dir", type=EXISTING_DIR, show_default=LAYOUT["raw_dir"], help="Folder of the raw snapshots."
)
@PARAMS_OPTION
@click.option("--out", "out_path", type=NEW_FILE, show_default=LAYOUT["compute_reproduction"])
@click.option("--figure", "figure_path", type=NEW_FILE, show_default=LAYOUT["compute_eras_figure"])
@project_options("Print the reproduction (as written to --out) as JSON.")
def reproduce_compute(
    raw_dir: Path | None,
    params_path: Path | None,
    out_path: Path | None,
    figure_path: Path | None,
    as_json: bool,
    root: Path | None,
) -> None:
    """Re-run "Compute Trends Across Three Eras of ML" (Sevilla et al. 2022) and write ours beside the paper's.

    Reads the `compute_reproduction:` section of params.yaml (the snapshot, the cut-off and the paper's rules);
    writes every table row with its verdict and the three-eras figure.
    """
    from mlsizes.core.settings import ComputeTrendParams
    from mlsizes.records.snapshots import SnapshotError
    from mlsizes.stages import reproduce_compute as stage

    paths = here(root).replace(
        raw_dir=raw_dir, params=params_path, compute_reproduction=out_path, compute_eras_figure=figure_path
    )
    try:
        params = ComputeTrendParams.load(params_file(paths, "reproduce-compute"))
        step(f"reproduce-compute: {params.snapshot}: the paper's table rows and the three-eras figure...")
        result = stage.run(paths, params)
    except (ValueError, SnapshotError, FileNotFoundError) as exc:
        fail(str(exc))
    if as_json:
        print_json(result, metrics=True)
        return
    rows = []
    for key, row in result["rows"].items():
        paper, ours = row["paper"], row["ours"]
        verdict = (
            "not reproducible"
            if row["not_reproducible"]
            else "not judged"
            if not row["judged"]
            else ("within" if all(row["within_tolerance"].values()) else "OFF")
        )
        doubling = "-" if ours["doubling_time_months"] is None else f"{ours['doubling_time_months']:.1f}"
        rows.append([row["table"], key, ours["n"], paper["n"], doubling, paper["doubling_time_months"], verdict])
    click.echo(plain_table(["table", "row", "n", "paper", "doubling (months)", "paper", "verdict"], rows))
    summary = result["summary"]
    click.echo(
        f"{summary['judged_within_tolerance']} of {summary['judged']} judged rows within tolerance; "
        f"wrote {paths.compute_reproduction} and {paths.compute_eras_figure}"
    )
