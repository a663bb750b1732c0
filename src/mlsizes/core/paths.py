"""Where every input and output of the project lives, found once (OWID's `PathFinder` is the model).

The project root is the folder given (`--root`), else $MLSIZES_ROOT, else the nearest folder at or above the
working directory that holds `dvc.yaml`. Every path a stage reads or writes is a field of `Paths`, built from
`LAYOUT`; the CLI defaults, the DVC stages (which run at the root) and the Python API all use it, and a command
given explicit files overrides only those fields. The contracts in `schemas/` ship inside the package, so a
wheel installed outside a clone still finds them.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "MLSIZES_ROOT"
ROOT_MARKER = "dvc.yaml"
# Package data, found with importlib.resources (a regular install is a folder on disk, which pandera and
# open() need). `schemas/` at the top of the repository ships through the `mlsizes/schemas` link; `bundled/`
# links the newest release's curated table, its descriptor, dataset.yaml and params.yaml (the API's defaults).
PACKAGE_DIR = Path(str(importlib.resources.files("mlsizes")))
SCHEMA_DIR = PACKAGE_DIR / "schemas"
BUNDLED_DIR = PACKAGE_DIR / "bundled"

# Every project path, relative to the root: the one place the layout is written down.
LAYOUT = {
    "params": "params.yaml",
    "raw_dir": "data/raw/epoch",
    "contributions_dir": "data/raw/contributions",
    "models": "data/curated/models.csv",
    "rejected": "data/curated/rejected.csv",
    "datapackage": "data/curated/datapackage.json",
    "codebook": "data/curated/codebook.csv",
    "dataset_card": "data/curated/README.md",
    "curation_metrics": "metrics/curation.json",
    "trends": "metrics/trends.json",
    "gap": "metrics/gap.json",
    "plots_dir": "metrics/plots",
    "paper_reproduction": "metrics/paper_reproduction.json",
    "compute_reproduction": "metrics/compute_reproduction.json",
    "growth": "metrics/growth.json",
    "history": "metrics/history.json",
    "chips": "metrics/chips.json",
    "atlas": "metrics/atlas.json",
    "atlas_cells": "metrics/atlas_cells.csv",
    "validation_dir": "reports/validation",
    "reports_dir": "reports",
    "site_dir": "reports/site",
    "history_figure": "reports/figures/history.png",
    "history_atlas_figure": "reports/figures/history_atlas.png",
    "compute_eras_figure": "reports/figures/compute_eras.png",
    "dataset_file": "dataset.yaml",
    "changelog": "CHANGELOG.md",
}
# The files `mlsizes diff` and the release notes compare between versions, as git paths.
VERSIONED_TABLE = LAYOUT["models"]
VERSIONED_METRICS = (LAYOUT["curation_metrics"], LAYOUT["trends"], LAYOUT["gap"])


class ProjectNotFound(Exception):
    """No project root: the message says where it was looked for."""


def find_root(root: Path | None = None) -> Path:
    """The project root: `root` when given, else $MLSIZES_ROOT, else the nearest folder with dvc.yaml."""
    if root is not None:
        return Path(root).resolve()
    override = os.environ.get(ROOT_ENV)
    if override:
        found = Path(override).resolve()
        if not found.is_dir():
            raise ProjectNotFound(f"{ROOT_ENV}={override}: no such folder")
        return found
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / ROOT_MARKER).is_file():
            return folder
    raise ProjectNotFound(f"no {ROOT_MARKER} in {cwd} or above it; run inside the project or set {ROOT_ENV}")


@dataclass(frozen=True)
class Paths:
    """Every input and output of the pipeline (fields named as in LAYOUT), plus the root they hang from."""

    root: Path
    params: Path
    raw_dir: Path
    contributions_dir: Path
    models: Path
    rejected: Path
    datapackage: Path
    codebook: Path
    dataset_card: Path
    curation_metrics: Path | None
    trends: Path
    gap: Path
    plots_dir: Path
    paper_reproduction: Path
    compute_reproduction: Path
    growth: Path
    history: Path
    chips: Path
    atlas: Path
    atlas_cells: Path
    validation_dir: Path
    reports_dir: Path
    site_dir: Path
    history_figure: Path
    history_atlas_figure: Path
    compute_eras_figure: Path
    dataset_file: Path
    changelog: Path

    @classmethod
    def at(cls, root: Path) -> Paths:
        """The layout under a given root."""
        root = Path(root)
        return cls(root=root, **{name: root / relative for name, relative in LAYOUT.items()})

    @classmethod
    def find(cls, root: Path | None = None) -> Paths:
        """The layout of the project found by find_root (ProjectNotFound when there is none)."""
        return cls.at(find_root(root))

    @classmethod
    def here(cls) -> Paths:
        """The project's layout when there is a project, else the working directory's: commands given their
        files explicitly also run outside any project."""
        try:
            return cls.find()
        except ProjectNotFound:
            return cls.at(Path.cwd())

    def replace(self, **changes: Path | None) -> Paths:
        """These paths with some fields overridden (a command's explicit files); None values keep the field."""
        return dataclasses.replace(self, **{name: value for name, value in changes.items() if value is not None})

    def with_curated_dir(self, folder: Path) -> Paths:
        """The curated table, its rejects and metadata in another folder (`mlsizes curate --out DIR`)."""
        folder = Path(folder)
        names = ("models", "rejected", "datapackage", "codebook", "dataset_card")
        return self.replace(**{name: folder / Path(LAYOUT[name]).name for name in names})

    def with_metrics_dir(self, folder: Path) -> Paths:
        """The metrics of analyze, reproduce-paper, reproduce-compute, growth and history in another folder (`--out` /
        `--metrics DIR`)."""
        folder = Path(folder)
        return self.replace(
            **{
                name: folder / Path(LAYOUT[name]).name
                for name in (
                    "trends",
                    "gap",
                    "plots_dir",
                    "paper_reproduction",
                    "history",
                    "compute_reproduction",
                    "growth",
                    "chips",
                    "atlas",
                    "atlas_cells",
                )
            }
        )

    def snapshot(self, snapshot_id: str) -> Path:
        """The raw snapshot file of an id (a file stem under raw_dir)."""
        return self.raw_dir / f"{snapshot_id}.csv"

    @property
    def figures_dir(self) -> Path:
        """The report's figures."""
        return self.reports_dir / "figures"

    def atlas_figure(self, measure: str) -> Path:
        """The atlas figure of one measure (a curated column)."""
        return self.figures_dir / f"atlas_{measure}.png"

    @property
    def report(self) -> Path:
        """The readable report."""
        return self.reports_dir / "report.md"

    @property
    def data_docs(self) -> Path:
        """The Great Expectations Data Docs site (rendered from the validation results)."""
        return self.validation_dir / "data_docs"
