"""The history stage: every snapshot analysed as of its own date; the answer and the figure exist."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil

from conftest import RAW, ROOT, mlsizes, use_small_counts
from mlsizes.core.paths import Paths
from mlsizes.core.settings import AtlasParams, GrowthParams, Settings
from mlsizes.stages import history


def test_history_on_two_snapshots(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for stem in ("epoch_pcd_2022-06-30", "epoch_notable_ai_models_2026-03-10"):
        for suffix in (".csv", ".provenance.yaml"):
            shutil.copy(RAW / f"{stem}{suffix}", raw / f"{stem}{suffix}")
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    use_small_counts(tmp_path / "params.yaml")  # the test clones' counts and coarse atlas grid
    settings = Settings.load(tmp_path / "params.yaml")
    paths = Paths.at(tmp_path).replace(
        raw_dir=raw,
        history=tmp_path / "history.json",
        history_figure=tmp_path / "history.png",
        history_atlas_figure=tmp_path / "history_atlas.png",
    )
    section = AtlasParams.load(tmp_path / "params.yaml", settings.analysis)
    result = history.run(paths, history.HistorySettings(settings.analysis, settings.paper_reproduction.as_of, section))
    stored = json.loads((tmp_path / "history.json").read_text())
    assert [row["snapshot_date"] for row in stored["snapshots"]] == ["2022-06-30", "2026-03-10"]
    language = result["answer"]["language"]
    assert language["observed_first"] == 0 and language["observed_newest"] == 2
    assert language["added_in_gap"] == ["AlphaCode", "PLUG"]  # back-filled, published before 2022-06-30
    assert (tmp_path / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "history_atlas.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    first, newest = stored["snapshots"]
    assert first["closing"]["language"]["verdict"] == "insufficient data"  # nothing published after the paper yet
    assert newest["closing"]["language"]["verdict"] in ("persists", "closed", "inconclusive")
    assert newest["atlas"]["paper_cell"]["observed"] == newest["gap"]["language"]["to_snapshot_date"]["observed_in_gap"]


def test_each_snapshot_uses_its_own_as_of():
    params = dataclasses.replace(Settings.load(ROOT / "params.yaml").analysis, n_bootstrap=10, n_simulations=1000)
    growth = dataclasses.replace(GrowthParams.load(ROOT / "params.yaml"), n_bootstrap=20)
    section = AtlasParams.load(ROOT / "params.yaml", params)
    result = history.process([RAW / "epoch_pcd_2022-06-02.csv"], params, dt.date(2022, 6, 30), section, growth)
    row = result["snapshots"][0]
    # the growth readout of every measure rides along each release
    assert set(row["growth"]) == set(growth.measures)
    compute = row["growth"]["training_compute_flop"]
    assert compute["notable"]["n"] > compute["frontier"]["n"] >= 10
    low, high = compute["notable"]["interval_95"]
    assert 1 < low < compute["notable"]["x_per_year"] < high
    assert row["snapshot_date"] == "2022-06-02"
    assert row["gap"]["all"]["to_snapshot_date"]["end"] == "2022-06-02"
    assert row["gap"]["all"]["paper_window"]["end"] == "2022-06-02"
    assert row["atlas"]["paper_cell"]["observed"] == row["gap"]["language"]["to_snapshot_date"]["observed_in_gap"]


def test_a_snapshot_without_provenance_is_a_one_line_error_naming_it(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(RAW / "epoch_pcd_2022-06-30.csv", raw / "dropped_in.csv")
    out = tmp_path / "history.json"
    proc = mlsizes(
        "history", "--raw", str(raw), "--out", str(out), "--figure", str(tmp_path / "h.png"), cwd=ROOT, check=False
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "dropped_in.csv" in proc.stderr and "provenance" in proc.stderr
    assert not out.exists()
