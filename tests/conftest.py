"""Shared test setup: where the project's real files are, and a quiet, isolated DVC environment."""

import csv
import io
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw" / "epoch"
SNAPSHOTS = sorted(RAW.glob("*.csv"))
# The commands of the environment running the tests, wherever it lives (not necessarily ROOT/.venv).
BIN = Path(sys.executable).parent


# The files whose tests build a clone with `dvc repro` go first: `make test` runs two workers (pytest-xdist,
# one file per worker at a time), and a long file started last would leave one worker idle at the end.
# The header of Epoch's 2026 download: the columns tests of hand-made snapshots write.
HEADER_2026 = [
    "Model",
    "Organization",
    "Publication date",
    "Domain",
    "Parameters",
    "Training compute (FLOP)",
    "Confidence",
    "Link",
    "Notability criteria",
]
SLOW_FILES = ("test_release.py", "test_add_model.py", "test_pipeline.py")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: SLOW_FILES.index(item.path.name) if item.path.name in SLOW_FILES else len(SLOW_FILES))


@pytest.fixture(autouse=True)
def _quiet_tools(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "false")
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path_factory.mktemp("dvc-site-cache")))
    monkeypatch.setenv("MPLBACKEND", "Agg")


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write a small CSV in upstream's format (all text)."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def sh(*args, cwd, check=True):
    """Run a command in a project folder (MLSIZES_ROOT and PATH pointing at it and this environment)."""
    env = {**os.environ, "MLSIZES_ROOT": str(cwd), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


def mlsizes(*args, cwd, check=True):
    """Run the mlsizes command line on the project in `cwd`, in this process (the click app the `mlsizes` script
    runs, without paying the imports again for every call); the result has returncode, stdout and stderr."""
    from click.testing import CliRunner

    from mlsizes.cli import main

    result = CliRunner().invoke(main, list(args), env={"MLSIZES_ROOT": str(cwd)})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    proc = subprocess.CompletedProcess(["mlsizes", *args], result.exit_code, result.stdout, result.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


def commit_all(repo, message):
    """Commit everything in a test repository (its git identity is set by the fixture that made it)."""
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", message, cwd=repo)


os.environ.setdefault("DVC_NO_ANALYTICS", "1")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A temporary project for contributing (add-model, validate): the real schemas, params and curated table,
    and an empty contributions folder."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "schemas", root / "schemas")
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, root / name)
    (root / "data" / "curated").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "curated" / "models.csv", root / "data" / "curated" / "models.csv")
    folder = root / "data" / "raw" / "contributions"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("Contributions.\n")
    monkeypatch.setenv("MLSIZES_ROOT", str(root))
    monkeypatch.chdir(tmp_path)
    return root


def contributions_dir(root: Path) -> Path:
    """The contributions folder of a project."""
    return root / "data" / "raw" / "contributions"


def written_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as curate writes it (spreadsheet escape included), read back as text: an empty cell is ""."""
    from mlsizes.records import curation
    from mlsizes.tables import writing

    buffer = io.BytesIO()
    writing.write_csv(buffer, frame, rule=curation.formula_escape())
    header, *rows = csv.reader(io.StringIO(buffer.getvalue().decode("utf-8"), newline=""))
    return pd.DataFrame(rows, columns=header, dtype="str")


def run_python(code: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`code` run by a fresh interpreter. Work that forks needs one: mlsizes never forks a process in which
    other threads run, and earlier tests leave threads in a test process (an HTTP server, fsspec's IO loop)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )
