"""Curate stage: a snapshot and the contribution files -> `models.csv` (valid records with stable ids),
`rejected.csv` (every other row, with its reason), `models.snapshot.json` beside the table (the snapshot, its
date and the as-of date: they travel with the table, and analyze takes its as-of date from there) and the counts
in `curation.json`.

Load and process are records/curation.py's curate_snapshot (history and reproduce-paper run it too); this
module saves: each file appears whole or not at all, text cells written spreadsheet-safe.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from mlsizes.core.files import atomic_write_text, refuse_unwritable
from mlsizes.core.paths import Paths
from mlsizes.records.curation import WRITTEN_DTYPES, Curated, curate_snapshot, formula_escape
from mlsizes.records.snapshots import table_snapshot, table_snapshot_path
from mlsizes.tables.writing import atomic_write_csv


def save(curated: Curated, paths: Paths) -> list[Path]:
    """Write models.csv, rejected.csv (spreadsheet-safe), the table's snapshot record beside it and the metrics
    (when paths has a curation_metrics file); each file appears whole or not at all."""
    outputs = (paths.models, paths.rejected, table_snapshot_path(paths.models), paths.curation_metrics)
    refuse_unwritable(path for path in outputs if path is not None)
    # The tables are streamed to their files: rendering a million rows into one string first would cost gigabytes.
    atomic_write_csv(paths.models, curated.models.astype(WRITTEN_DTYPES), rule=formula_escape())
    atomic_write_csv(paths.rejected, curated.rejected, rule=formula_escape())
    date = curated.metrics.get("snapshot_date")
    record = table_snapshot(curated.metrics["snapshot"], dt.date.fromisoformat(date) if date else None, curated.as_of)
    atomic_write_text(table_snapshot_path(paths.models), json.dumps(record, indent=2) + "\n")
    written = [paths.models, paths.rejected, table_snapshot_path(paths.models)]
    if paths.curation_metrics is not None:
        atomic_write_text(paths.curation_metrics, json.dumps(curated.metrics, indent=2) + "\n")
        written.append(paths.curation_metrics)
    return written


@dataclass(frozen=True)
class CurateSettings:
    """What a curate run is given: the snapshot, and how strict to be (the pipeline: its contributions, provenance
    required)."""

    snapshot: Path
    with_contributions: bool = False  # also curate the project's contribution files
    require_provenance: bool = False  # refuse a snapshot without its provenance record
    as_of: dt.date | None = None  # mark contributions published later (default: the snapshot's date)
    force: bool = False  # curate even a snapshot that looks misread


def run(paths: Paths, settings: CurateSettings) -> Curated:
    """Curate a snapshot (with the project's contribution files when asked) and save the outputs; a refused
    snapshot writes nothing."""
    curated, _ = curate_snapshot(
        settings.snapshot,
        require_provenance=settings.require_provenance,
        as_of=settings.as_of,
        force=settings.force,
        contributions_dir=paths.contributions_dir if settings.with_contributions else None,
    )
    save(curated, paths)
    return curated
