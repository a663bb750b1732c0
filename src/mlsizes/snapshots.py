"""Raw upstream snapshots and their provenance records.

A snapshot is an immutable file under `data/raw/epoch/`; beside it, `<snapshot>.provenance.yaml` says who
produced it, where it was retrieved from, when, under which licence, and its sha256. Ingest refuses a
snapshot whose bytes no longer match that checksum.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import yaml

LICENSE = {
    "name": "CC-BY-4.0",
    "title": "Creative Commons Attribution 4.0 International",
    "path": "https://creativecommons.org/licenses/by/4.0/",
}
CITATION = (
    "Epoch AI, 'Data on AI Models'. Published online at epoch.ai. "
    "Retrieved from 'https://epoch.ai/data/ai-models'."
)
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


class SnapshotError(Exception):
    """A snapshot file cannot be used; the message names the file and the problem."""


def provenance_path(snapshot: Path) -> Path:
    return snapshot.with_name(snapshot.stem + ".provenance.yaml")


def snapshot_id(snapshot: Path) -> str:
    return snapshot.stem


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_provenance(snapshot: Path) -> dict | None:
    """The snapshot's provenance record, or None when it has none (a file the project has never stored)."""
    path = provenance_path(snapshot)
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as handle:
        record = yaml.safe_load(handle)
    if not isinstance(record, dict) or "sha256" not in record:
        raise SnapshotError(f"{path}: provenance record has no sha256")
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
        return dt.date.fromisoformat(str(provenance["upstream_date"]))
    match = _DATE_IN_NAME.search(snapshot.name)
    return dt.date.fromisoformat(match.group(1)) if match else None


def write_provenance(snapshot: Path, record: dict) -> Path:
    """Write the provenance record beside the snapshot (keys in the order given)."""
    path = provenance_path(snapshot)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(record, handle, sort_keys=False, allow_unicode=True, width=110)
    return path
