"""The `chips` stage (RQ3): on every release that carries training hardware, the share of systems below, in and
above the parameter gap whose weights, and separately whose training state, fit on one accelerator, by year,
with the coverage it rests on -> metrics/chips.json.

Each snapshot is curated in memory with the pipeline's own code (as the history stage does); the accelerators'
memory comes from schemas/chips.csv, checked against its contract schemas/chips.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlsizes.analysis import memory
from mlsizes.core import untrusted
from mlsizes.core.files import atomic_write_text, to_json
from mlsizes.core.paths import Paths
from mlsizes.core.settings import AnalysisParams
from mlsizes.records import contracts, curation
from mlsizes.records.snapshots import SnapshotError


@dataclass(frozen=True)
class ChipSettings:
    """The gap and its bound convention (the `analysis:` section), the bytes each parameter takes per kind of
    state (the `chips:` section) and the chip table."""

    analysis: AnalysisParams
    bytes_per_parameter: dict
    chip_table: Path = contracts.CHIPS_TABLE


def process(snapshot_paths: list[Path], chips, settings: ChipSettings) -> dict:
    """The shares on every snapshot whose curated table names any training hardware, oldest first."""
    params = settings.analysis
    releases = []
    for path in snapshot_paths:
        curated, snapshot = curation.curate_snapshot(path, require_provenance=True)
        models = curated.models
        if not models["training_hardware"].notna().any():
            continue
        result = memory.fit_shares(models, chips, params, settings.bytes_per_parameter)
        releases.append({"snapshot": snapshot.snapshot_id, "snapshot_date": snapshot.as_of.isoformat(), **result})
    if not releases:
        raise SnapshotError(f"no snapshot that names training hardware among {len(snapshot_paths)} snapshot(s)")
    releases.sort(key=lambda row: row["snapshot_date"])
    return {
        "question": "do the weights, or the training state, of systems below, in and above the gap fit on one "
        "accelerator of those they were trained on?",
        "chip_table": {"path": "schemas/chips.csv", "accelerators": len(chips)},
        "bytes_per_parameter": settings.bytes_per_parameter,
        "gap": [params.gap_lower, params.gap_upper],
        "bounds": params.bounds,
        "rule": memory.__doc__.split("\n\n")[1].replace("\n", " "),
        "releases": releases,
    }


def run(paths: Paths, settings: ChipSettings) -> dict:
    """Check the chip table, analyse every snapshot in the raw folder, write chips.json."""
    chips = contracts.read_chips(settings.chip_table)
    untrusted.check_folder(paths.raw_dir)
    snapshots = [path for path in sorted(paths.raw_dir.glob("*.csv")) if not path.name.startswith(".")]
    if not snapshots:
        raise SnapshotError(f"{paths.raw_dir}: no snapshot (*.csv) to analyse")
    result = process(snapshots, chips, settings)
    atomic_write_text(paths.chips, to_json(result))
    return result
