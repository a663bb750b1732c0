"""Where the project's data lives, so commands that write into the project work from any subfolder.

The root is the nearest folder at or above the working directory that holds `dvc.yaml`; the environment
variable MLSIZES_ROOT overrides it (tests point it at a temporary copy so they never touch the real data).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import yaml

ROOT_ENV = "MLSIZES_ROOT"
ROOT_MARKER = "dvc.yaml"


class ProjectNotFound(Exception):
    """No project root: the message says where it was looked for."""


def project_root() -> Path:
    override = os.environ.get(ROOT_ENV)
    if override:
        root = Path(override).resolve()
        if not root.is_dir():
            raise ProjectNotFound(f"{ROOT_ENV}={override}: no such folder")
        return root
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / ROOT_MARKER).is_file():
            return folder
    raise ProjectNotFound(f"no {ROOT_MARKER} in {cwd} or above it; run inside the project or set {ROOT_ENV}")


def raw_snapshot_dir(root: Path) -> Path:
    """The folder of upstream snapshots and their provenance records."""
    return root / "data" / "raw" / "epoch"


def read_params(params_path: Path) -> dict:
    """The pipeline's params.yaml as a mapping."""
    with open(params_path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def dataset_as_of(params: dict, root: Path) -> dt.date | None:
    """The date the dataset describes: a top-level `as_of`, else `analysis.as_of`, else the date of the snapshot
    params.yaml names. Never today, so a build means the same thing on any day."""
    from mlsizes import snapshots

    value = params.get("as_of") or (params.get("analysis") or {}).get("as_of")
    if value:
        return dt.date.fromisoformat(str(value))
    snapshot = raw_snapshot_dir(root) / f"{params.get('snapshot')}.csv"
    return snapshots.snapshot_date(snapshot, snapshots.read_provenance(snapshot))
