"""Raw upstream snapshots and their provenance records.

A snapshot is an immutable file under `data/raw/epoch/`; beside it, `<snapshot>.provenance.yaml` says who
produced it, where it was retrieved from, when, under which licence, and its sha256. Ingest refuses a
snapshot whose bytes no longer match that checksum.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path

import yaml

from mlsizes.core import untrusted
from mlsizes.core.settings import iso_date

LICENSE = {
    "name": "CC-BY-4.0",
    "title": "Creative Commons Attribution 4.0 International",
    "path": "https://creativecommons.org/licenses/by/4.0/",
}
CITATION = (
    "Epoch AI, 'Data on AI Models'. Published online at epoch.ai. Retrieved from 'https://epoch.ai/data/ai-models'."
)
_DATE_IN_NAME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})")
# A snapshot id is the `epoch:<id>` source of its records: only the characters the curated `source` column allows.
_ID = re.compile(r"[A-Za-z0-9_.-]+")
_NOT_ID = re.compile(r"[^A-Za-z0-9_.-]+")


class SnapshotError(Exception):
    """A snapshot file cannot be used; the message names the file and the problem."""


def provenance_path(snapshot: Path) -> Path:
    """Where a snapshot's provenance record is: `<snapshot stem>.provenance.yaml` beside it."""
    return snapshot.with_name(snapshot.stem + ".provenance.yaml")


def snapshot_id(snapshot: Path, provenance: dict | None = None) -> str:
    """The snapshot's identity: the `snapshot` of its provenance record, else its file name made safe.

    Not the raw file name: a download saved as `notable_ai_models (1).csv` is the same data, and its records'
    `source` must still be a valid id (`notable_ai_models_1`). Characters outside A-Z a-z 0-9 _ . - become `_`.
    """
    if provenance and provenance.get("snapshot") is not None:
        recorded = str(provenance["snapshot"])
        if not _ID.fullmatch(recorded):
            raise SnapshotError(
                f"{provenance_path(snapshot)}: snapshot {recorded!r} is not a valid id (letters, digits, _ . - only)"
            )
        return recorded
    safe = _NOT_ID.sub("_", snapshot.stem).strip("_")
    return safe or "snapshot-" + hashlib.sha1(snapshot.stem.encode()).hexdigest()[:8]


def sha256_of(path: Path) -> str:
    """The sha256 hex digest of a file, read a MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# A provenance record is a dozen lines (about 1 KB).
PROVENANCE_BYTES = 64 * 1024
# The fields of a provenance record that are counts.
COUNTS = ("size_bytes", "rows")


def read_provenance(snapshot: Path) -> dict | None:
    """The snapshot's provenance record, or None when it has none (a file the project has never stored)."""
    path = provenance_path(snapshot)
    if not os.path.lexists(path):
        return None
    try:  # read as untrusted text: it arrives in pull requests (an alias bomb here had hung curate, a FIFO would)
        record = untrusted.load_text(untrusted.read_file(path, limit=PROVENANCE_BYTES))
    except untrusted.FieldError as exc:  # not YAML, anchors, tags, bad UTF-8, a link, a FIFO, too large
        what = "is not readable YAML" if exc.code.startswith("yaml_") or "YAML" in exc.message else "cannot be used"
        raise SnapshotError(f"{path}: provenance record {what} ({exc.message})") from None
    if not isinstance(record, dict) or "sha256" not in record:
        raise SnapshotError(f"{path}: provenance record has no sha256")
    for count in COUNTS:  # the numbers fetch writes, as numbers again (untrusted text keeps every value text)
        if isinstance(record.get(count), str) and record[count].isdigit():
            record[count] = int(record[count])
    return record


def verify(snapshot: Path, require_provenance: bool) -> dict | None:
    """Check the snapshot's bytes against its provenance sha256; return the provenance record."""
    record = read_provenance(snapshot)
    if record is None:
        if require_provenance:
            raise SnapshotError(f"{snapshot}: no provenance record ({provenance_path(snapshot).name}) beside it")
        return None
    actual = sha256_of(snapshot)
    if actual != record["sha256"]:
        raise SnapshotError(
            f"{snapshot}: checksum mismatch: sha256 is {actual}, its provenance record says {record['sha256']}"
        )
    return record


def snapshot_date(snapshot: Path, provenance: dict | None) -> dt.date | None:
    """The date the snapshot's content was current: its provenance's upstream date, else the date in its name."""
    if provenance and provenance.get("upstream_date"):
        try:
            return dt.date.fromisoformat(str(provenance["upstream_date"]))
        except ValueError:
            raise SnapshotError(
                f"{provenance_path(snapshot)}: upstream_date {provenance['upstream_date']!r} is not a YYYY-MM-DD date"
            ) from None
    return date_in_name(snapshot.name)


def date_in_name(name: str) -> dt.date | None:
    """The YYYY-MM-DD date a file name states (`notable_ai_models_2026-07-19.csv`), or None."""
    match = _DATE_IN_NAME.search(name)
    try:
        return dt.date.fromisoformat(match.group(1)) if match else None
    except ValueError:  # digits shaped like a date that is none (`2024-13-45`): the name states no date
        return None


def write_provenance(snapshot: Path, record: dict) -> Path:
    """Write the provenance record beside the snapshot (keys in the order given)."""
    path = provenance_path(snapshot)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(record, handle, sort_keys=False, allow_unicode=True, width=110)
    return path


def dataset_as_of(params: dict, raw_dir: Path) -> dt.date | None:
    """The date the dataset describes: a top-level `as_of`, else `analysis.as_of`, else the date of the snapshot
    params.yaml names (in raw_dir). Never today, so a build means the same thing on any day."""
    value = params.get("as_of") or (params.get("analysis") or {}).get("as_of")
    if value:
        return iso_date(value)
    snapshot = Path(raw_dir) / f"{params.get('snapshot')}.csv"
    return snapshot_date(snapshot, read_provenance(snapshot))


def table_snapshot_path(table: Path) -> Path:
    """Where the snapshot a curated table was built from is written: `<table stem>.snapshot.json` beside it
    (`models.csv` -> `models.snapshot.json`), so the snapshot and its date travel with the table."""
    table = Path(table)
    return table.with_name(table.stem + ".snapshot.json")


def table_snapshot(snapshot: str, snapshot_date: dt.date | None, as_of: dt.date | None) -> dict:
    """What `table_snapshot_path` holds: the snapshot's id, its date, and the as-of date curate used (the
    snapshot's date unless `curate --as-of` gave another), which analyze takes as its own by default."""
    return {
        "snapshot": snapshot,
        "snapshot_date": snapshot_date.isoformat() if snapshot_date else None,
        "as_of": as_of.isoformat() if as_of else None,
    }


def read_table_snapshot(table: Path) -> dict | None:
    """The snapshot record beside a curated table, or None when it has none; SnapshotError when unreadable."""
    path = table_snapshot_path(table)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict):
            raise TypeError
        if record.get("as_of") is not None:
            dt.date.fromisoformat(record["as_of"])
    except (ValueError, UnicodeDecodeError, TypeError):
        raise SnapshotError(
            f"{path}: not a snapshot record of a curated table (JSON with snapshot, snapshot_date, as_of)"
        ) from None
    return record
