"""Every project path in one place: the layout, how the root is found, and overrides by explicit files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from mlsizes.core import paths as layout
from mlsizes.core.paths import LAYOUT, SCHEMA_DIR, Paths, ProjectNotFound, find_root
from mlsizes.records.snapshots import table_snapshot_path


def test_every_layout_path_exists_in_the_project():
    for name, relative in LAYOUT.items():
        assert (ROOT / relative).exists(), name


def test_every_dvc_output_is_a_path_of_the_layout():
    """The pipeline writes where Paths says: each out in dvc.yaml is a layout path or inside one (or the snapshot
    record curate writes beside the layout's table)."""
    known = {Path(relative) for relative in LAYOUT.values()} | {Path("reports/figures")}
    known.add(table_snapshot_path(Path(LAYOUT["models"])))
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        for entry in [*stage.get("outs", []), *stage.get("metrics", []), *stage.get("plots", [])]:
            out = Path(next(iter(entry)) if isinstance(entry, dict) else entry)
            assert out in known or any(parent in known for parent in out.parents), (name, out)


def test_the_schemas_ship_inside_the_package():
    assert SCHEMA_DIR.parent == Path(layout.__file__).resolve().parents[1]  # src/mlsizes/, beside core/
    assert {path.name for path in SCHEMA_DIR.iterdir()} == {path.name for path in (ROOT / "schemas").iterdir()}
    assert (SCHEMA_DIR / "curated.yaml").read_bytes() == (ROOT / "schemas" / "curated.yaml").read_bytes()


def test_root_from_argument_environment_or_nearest_dvc_yaml(tmp_path, monkeypatch):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "data" / "curated").mkdir(parents=True)
    monkeypatch.delenv(layout.ROOT_ENV, raising=False)
    monkeypatch.chdir(tmp_path / "data" / "curated")
    assert find_root() == tmp_path.resolve()
    assert Paths.find().models == tmp_path.resolve() / "data" / "curated" / "models.csv"
    monkeypatch.setenv(layout.ROOT_ENV, str(ROOT))
    assert find_root() == ROOT.resolve()
    assert find_root(tmp_path / "data") == (tmp_path / "data").resolve()
    monkeypatch.setenv(layout.ROOT_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ProjectNotFound, match="no such folder"):
        find_root()


def test_outside_a_project_commands_work_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(layout.ROOT_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    if any((folder / "dvc.yaml").is_file() for folder in (tmp_path, *tmp_path.parents)):
        pytest.skip("the temporary folder is inside a project")
    with pytest.raises(ProjectNotFound, match="no dvc.yaml"):
        Paths.find()
    assert Paths.here().root == Path(os.getcwd())


def test_explicit_files_override_only_their_fields(tmp_path):
    paths = Paths.at(ROOT).with_curated_dir(tmp_path / "out").with_metrics_dir(tmp_path / "m")
    assert (paths.models, paths.rejected, paths.codebook) == (
        tmp_path / "out" / "models.csv",
        tmp_path / "out" / "rejected.csv",
        tmp_path / "out" / "codebook.csv",
    )
    assert (paths.gap, paths.plots_dir, paths.history) == (
        tmp_path / "m" / "gap.json",
        tmp_path / "m" / "plots",
        tmp_path / "m" / "history.json",
    )
    assert paths.params == ROOT / "params.yaml" and paths.raw_dir == ROOT / "data" / "raw" / "epoch"
    assert paths.replace(params=None).params == ROOT / "params.yaml"
    assert paths.snapshot("x") == ROOT / "data" / "raw" / "epoch" / "x.csv"
