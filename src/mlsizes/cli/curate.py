"""`mlsizes curate`: a snapshot (and contribution files) -> models.csv, rejected.csv and the counts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from mlsizes.cli.common import (
    EXISTING_FILE,
    fail,
    here,
    print_json,
    project_options,
    refuse_overlaps,
)


@click.command()
@click.argument("snapshot", type=EXISTING_FILE)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for models.csv (valid records) and rejected.csv (every other row, with its reason).",
)
@click.option(
    "--metrics",
    "metrics_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the counts (raw, curated, rejected by reason) to this JSON file.",
)
@click.option(
    "--require-provenance",
    is_flag=True,
    help="Refuse a snapshot without a provenance record beside it (the pipeline sets this).",
)
@click.option(
    "--contributions",
    "contributions_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Also curate the contribution files in this folder (models and corrections/, see add-model).",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The as-of date (default: the snapshot's date): contributions published after it are curated and "
    "marked, and the analysis leaves them out until a release's as-of date reaches them.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Curate even a snapshot that looks misread: no data rows, more than half of its rows rejected for "
    "the same reason, or more than 5% repeating an earlier row (otherwise refused, nothing written).",
)
@project_options("Print the counts as JSON instead of a summary.")
def curate(
    snapshot: Path,
    out_dir: Path,
    metrics_path: Path | None,
    require_provenance: bool,
    contributions_dir: Path | None,
    as_of,
    as_json: bool,
    root: Path | None,
    force: bool,
) -> None:
    """Ingest an upstream SNAPSHOT (any Epoch vintage) and split it into curated records and rejects.

    The snapshot's sha256 is checked against its provenance record (SNAPSHOT.provenance.yaml) when
    there is one. Every raw row ends up in models.csv or in rejected.csv with a reason code; the
    identity raw = curated + rejected is checked before anything is written. A file whose rows do not
    line up with its header is refused; text cells are written spreadsheet-safe (see codebook.csv).
    """
    from mlsizes.core.errors import UnreadableFile
    from mlsizes.records import curation
    from mlsizes.records.snapshots import SnapshotError
    from mlsizes.stages import curate as stage

    paths = dataclasses.replace(here(root).with_curated_dir(out_dir), curation_metrics=metrics_path)
    refuse_overlaps(
        {"the snapshot": snapshot},
        {"--metrics": metrics_path, "models.csv in --out": paths.models, "rejected.csv in --out": paths.rejected},
    )
    try:
        result = stage.run(
            paths.replace(contributions_dir=contributions_dir),
            stage.CurateSettings(
                snapshot,
                with_contributions=contributions_dir is not None,
                require_provenance=require_provenance,
                as_of=as_of.date() if as_of else None,
                force=force,
            ),
        )
    except (SnapshotError, curation.IdentityError, UnreadableFile) as exc:
        fail(str(exc))
    counts = result.metrics
    repeated = counts["rejected_by_reason"].get("duplicate_row", 0)
    if repeated:
        click.echo(f"warning: {repeated} rows repeat an earlier row exactly (rejected as duplicate_row)", err=True)
    ahead = curation.ahead_ids(result.models, result.as_of)
    if ahead:
        click.echo(
            f"note: {len(ahead)} contributed records published after the as-of date {result.as_of} are curated and "
            f"left out of the analysis until a release's as-of date reaches them: {', '.join(ahead)}",
            err=True,
        )
    if as_json:
        print_json(counts)
        return
    reasons = ", ".join(f"{code} {n}" for code, n in counts["rejected_by_reason"].items()) or "none"
    contributed = (
        (f" ({counts['contribution_rows']} contribution files, {counts['corrections_applied']} corrections applied)")
        if counts["contribution_rows"]
        else ""
    )
    click.echo(
        f"{snapshot.name}: {counts['input_rows']} rows{contributed} -> {counts['curated']} curated "
        f"({counts['with_parameters']} with parameters), {counts['rejected']} rejected ({reasons})"
    )
    click.echo(f"wrote {paths.models} and {paths.rejected}")
