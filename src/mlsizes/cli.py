"""The `mlsizes` command line: a thin layer over the stage modules, which it imports only when a command runs.

DVC stages call these same commands, so a stage run by `dvc repro` and one run by hand share one code path.
Heavy libraries (pandas, pandera, Great Expectations, DVC, matplotlib) are imported inside the commands,
keeping `mlsizes --help` fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _fail(message: str) -> None:
    """One line on stderr and exit code 1: the record/file, the field and the reason are in the message."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mlsizes")
def main() -> None:
    """Curate, validate and version Epoch's dataset of notable ML systems and their sizes.

    The pipeline (run it all with `dvc repro`, or `make reproduce` on a fresh clone):

    \b
      data/raw/epoch/*.csv  --curate-->   data/curated/models.csv (+ rejected.csv)
      models.csv            --check-->    reports/validation/ (pandera + Great Expectations)

    Every command works on any file, not only the pipeline's: e.g.
    `mlsizes curate SNAPSHOT.csv --out DIR` curates a snapshot the pipeline has never seen.
    """


@main.command()
@click.argument("snapshot", type=EXISTING_FILE)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for models.csv (valid records) and rejected.csv (every other row, with its reason).")
@click.option("--metrics", "metrics_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the counts (raw, curated, rejected by reason) to this JSON file.")
@click.option("--require-provenance", is_flag=True,
              help="Refuse a snapshot without a provenance record beside it (the pipeline sets this).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON instead of a summary.")
def curate(snapshot: Path, out_dir: Path, metrics_path: Path | None, require_provenance: bool,
           as_json: bool) -> None:
    """Ingest an upstream SNAPSHOT (any Epoch vintage) and split it into curated records and rejects.

    The snapshot's sha256 is checked against its provenance record (SNAPSHOT.provenance.yaml) when
    there is one. Every raw row ends up in models.csv or in rejected.csv with a reason code; the
    identity raw = curated + rejected is checked before anything is written.
    """
    from mlsizes import curate as stage
    from mlsizes.snapshots import SnapshotError

    try:
        result = stage.run(snapshot, out_dir, metrics_path, require_provenance=require_provenance)
    except (SnapshotError, stage.IdentityError) as exc:
        _fail(str(exc))
    counts = result.metrics
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    reasons = ", ".join(f"{code} {n}" for code, n in counts["rejected_by_reason"].items()) or "none"
    click.echo(f"{snapshot.name}: {counts['input_rows']} rows -> {counts['curated']} curated "
               f"({counts['with_parameters']} with parameters), {counts['rejected']} rejected ({reasons})")
    click.echo(f"wrote {out_dir / 'models.csv'} and {out_dir / 'rejected.csv'}")


@main.command()
@click.argument("curated", type=EXISTING_FILE)
@click.option("--reports", "reports_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports/validation"), show_default=True,
              help="Folder for pandera_failures.csv, gx_results.json and the Data Docs site (data_docs/).")
def check(curated: Path, reports_dir: Path) -> None:
    """Validate a CURATED table against schemas/curated.yaml (pandera) and the GX expectation suite.

    Exits 1 when any record or dataset-level expectation fails; the reports are written either way.
    Open REPORTS/data_docs/index.html in a browser to read the Great Expectations report.
    """
    click.echo("running pandera and Great Expectations (importing GX takes a few seconds)...", err=True)
    from mlsizes import check as stage

    result = stage.run(curated, reports_dir)
    click.echo(result.summary())
    click.echo(f"reports in {reports_dir}/ (Data Docs: {reports_dir / 'data_docs' / 'index.html'})")
    if not result.success:
        sys.exit(1)


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data/curated"),
              show_default=True, help="Folder of models.csv; datapackage.json and codebook.csv are written here.")
def metadata(out_dir: Path) -> None:
    """Write datapackage.json (Frictionless) and codebook.csv for the curated table, from schemas/curated.yaml."""
    from mlsizes import metadata as stage

    for path in stage.run(out_dir):
        click.echo(f"wrote {path}")
