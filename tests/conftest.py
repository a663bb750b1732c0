"""Shared test setup: where the project's real files are, and a quiet, isolated DVC environment."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw" / "epoch"
SNAPSHOTS = sorted(RAW.glob("*.csv"))
# The commands of the environment running the tests, wherever it lives (not necessarily ROOT/.venv).
BIN = Path(sys.executable).parent


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


os.environ.setdefault("DVC_NO_ANALYTICS", "1")
