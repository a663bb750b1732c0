"""Benchmark the curated-dataset pipeline (issue 2): real snapshot, synthetic 100k and 1M rows, no-op dvc repro;
and id assignment when many records share a name and date (issue 11).

Each measurement runs in a fresh subprocess so peak memory (ru_maxrss) belongs to that run alone. The baseline
is plain `pd.read_csv` of the same file: the synthetic rows are real rows resampled, long abstracts included.
Prints Markdown tables; `make bench` runs every bench script, `python bench/bench_curate.py shared-names`
only the shared-name one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "data" / "raw" / "epoch" / "epoch_notable_ai_models_2026-03-10.csv"

BASELINE = r"""
import json, resource, sys, time
import pandas as pd
t0 = time.perf_counter()
pd.read_csv(sys.argv[1])
print(json.dumps({"read_s": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

WORKER = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
t0 = time.perf_counter()
from mlsizes import contracts, curate, ingest
from mlsizes.paths import Paths
contracts.curated_schema()
t1 = time.perf_counter()
snapshot = ingest.load(sys.argv[1])
typed = ingest.process(snapshot)
t2 = time.perf_counter()
result = curate.process(typed, snapshot.snapshot_id)
t3 = time.perf_counter()
contracts.record_failures(result.models, contracts.curated_schema())
t4 = time.perf_counter()
with tempfile.TemporaryDirectory() as out:
    curate.save(result, Paths.at(Path(out)).with_curated_dir(Path(out)))
t5 = time.perf_counter()
print(json.dumps({"imports_s": t1 - t0, "ingest_s": t2 - t1, "curate_s": t3 - t2, "validate_s": t4 - t3,
                  "save_s": t5 - t4, "work_s": t5 - t1, "rows": len(typed), "curated": len(result.models),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


SHARED_NAMES = r"""
import json, sys, time
from mlsizes import curate, ingest
snapshot = ingest.load(sys.argv[1])
typed = ingest.process(snapshot)
t0 = time.perf_counter()
ids = curate.assign_ids(typed[typed["reject_code"].isna()])
t1 = time.perf_counter()
result = curate.process(typed, snapshot.snapshot_id)
t2 = time.perf_counter()
print(json.dumps({"rows": len(typed), "assign_ids_s": t1 - t0, "curate_s": t2 - t1, "curated": len(result.models),
                  "unique": bool(ids.is_unique)}))
"""


def shared_name_snapshot(path: Path, rows: int) -> Path:
    """One real record (GPT-3) repeated: every row has the same name and date, the worst case for id suffixes."""
    import pandas as pd

    real = pd.read_csv(SNAPSHOT, dtype=str, keep_default_na=False)
    real[real["Model"] == "GPT-3 175B (davinci)"].iloc[[0] * rows].to_csv(path, index=False)
    return path


def synthetic_snapshot(path: Path, rows: int, seed: int = 0) -> Path:
    """An upstream-shaped file (2026 columns) with realistic values: real rows resampled, names made unique."""
    import numpy as np
    import pandas as pd

    real = pd.read_csv(SNAPSHOT, dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    frame = real.iloc[rng.integers(0, len(real), rows)].reset_index(drop=True)
    frame["Model"] = frame["Model"].str.strip() + " v" + pd.Series(np.arange(rows)).astype(str)
    frame.to_csv(path, index=False)
    return path


def measure(script: str, path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def noop_repro() -> dict:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    dvc = str(ROOT / ".venv" / "bin" / "dvc")
    subprocess.run([dvc, "repro"], cwd=ROOT, env=env, capture_output=True, check=True)
    timings = {}
    for label, args in (("dvc repro (no-op)", ["repro"]), ("dvc --version (start-up)", ["--version"])):
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([dvc, *args], cwd=ROOT, env=env, capture_output=True, check=True)
            runs.append(time.perf_counter() - start)
        timings[label] = sorted(runs)[2]
    return timings


def shared_names() -> None:
    print("| rows sharing one name and date | assign_ids s | curate.process s (assign_ids included) | ids unique |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (10_000, 40_000):
            m = measure(SHARED_NAMES, shared_name_snapshot(Path(tmp) / f"shared_{rows}.csv", rows))
            print(f"| {m['rows']:,} | {m['assign_ids_s']:.2f} | {m['curate_s']:.2f} | {m['unique']} |")


def pipeline() -> None:
    print(
        "| input | rows | file MB | plain pd.read_csv s | ingest s | curate s | pandera s | save s "
        "| work s (after imports) | peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        inputs = [(SNAPSHOT.name, SNAPSHOT)]
        for rows in (100_000, 1_000_000):
            inputs.append((f"synthetic {rows:,}", synthetic_snapshot(Path(tmp) / f"synthetic_{rows}.csv", rows)))
        for label, path in inputs:
            baseline, m = measure(BASELINE, path), measure(WORKER, path)
            print(
                f"| {label} | {m['rows']:,} | {path.stat().st_size / 2**20:,.0f} | {baseline['read_s']:.2f} "
                f"| {m['ingest_s']:.2f} | {m['curate_s']:.2f} | {m['validate_s']:.2f} | {m['save_s']:.2f} "
                f"| {m['work_s']:.2f} | {m['peak_mb']:.0f} |"
            )
    print()
    for label, seconds in noop_repro().items():
        print(f"- {label}: {seconds:.2f} s (median of 5)")


SECTIONS = {"pipeline": pipeline, "shared-names": shared_names}


def main(names: list[str]) -> None:
    for name in names or SECTIONS:
        SECTIONS[name]()
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
