"""`mlsizes reproduce-compute`: the compute-trends paper's tables re-run on the 2022 snapshot closest to it."""

from __future__ import annotations

from pathlib import Path

import click

from mlsizes.cli.common import EXISTING_DIR, NEW_FILE, PARAMS_OPTION, fail
from mlsizes.core.paths import LAYOUT, Paths


@click.command("reproduce-compute")
@click.option(
    "--raw", "raw_dir", type=EXISTING_DIR, show_default=LAYOUT["raw_dir"], help="Folder of the raw snapshots."
)
@PARAMS_OPTION
@click.option("--out", "out_path", type=NEW_FILE, show_default=LAYOUT["compute_reproduction"])
@click.option("--figure", "figure_path", type=NEW_FILE, show_default=LAYOUT["compute_eras_figure"])
def reproduce_compute(
    raw_dir: Path | None, params_path: Path | None, out_path: Path | None, figure_path: Path | None
) -> None:
    """Re-run "Compute Trends Across Three Eras of ML" (Sevilla et al. 2022) and write ours beside the paper's.

    Reads the `compute_reproduction:` section of params.yaml (the snapshot, the cut-off and the paper's rules);
    writes every table row with its verdict and the three-eras figure.
    """
    from mlsizes.core.settings import ComputeTrendParams
    from mlsizes.records.snapshots import SnapshotError
    from mlsizes.stages import reproduce_compute as stage

    paths = Paths.here().replace(
        raw_dir=raw_dir, params=params_path, compute_reproduction=out_path, compute_eras_figure=figure_path
    )
    try:
        params = ComputeTrendParams.load(paths.params)
        result = stage.run(paths, params)
    except (ValueError, SnapshotError, FileNotFoundError) as exc:
        fail(str(exc))
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
        click.echo(
            f"table {row['table']:>4} {key:<26} n {ours['n']} (paper {paper['n']}), doubling {doubling} months "
            f"(paper {paper['doubling_time_months']}): {verdict}"
        )
    summary = result["summary"]
    click.echo(
        f"{summary['judged_within_tolerance']} of {summary['judged']} judged rows within tolerance; "
        f"wrote {paths.compute_reproduction} and {paths.compute_eras_figure}"
    )
