"""Synthetic upstream snapshots of any size, for benchmarks and tests: real rows resampled.

`synthetic_snapshot(rows, path)` writes one: rows of the 2026 snapshot drawn with replacement (all 47 columns,
long abstracts and notes included, so 1,000,000 rows make a 2 GB file), names made unique so that every row is
a record of its own. `shared_name_snapshot(rows, path)` repeats one record (the worst case for id suffixes).
`cached(kind, rows)` writes a file once into the cache folder and reuses it while the source snapshot and
the maker's version are the same.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "data" / "raw" / "epoch" / "epoch_notable_ai_models_2026-03-10.csv"
CACHE = Path(os.environ.get("MLSIZES_BENCH_CACHE", Path.home() / ".cache" / "mlsizes-bench"))


def _source_rows():
    import pandas as pd

    return pd.read_csv(SOURCE, dtype=str, keep_default_na=False)


def synthetic_snapshot(rows: int, path: Path, seed: int = 0) -> Path:
    """An upstream-shaped file (2026 columns) with realistic values: real rows resampled, names made unique."""
    import numpy as np
    import pandas as pd

    real = _source_rows()
    rng = np.random.default_rng(seed)
    frame = real.iloc[rng.integers(0, len(real), rows)].reset_index(drop=True)
    frame["Model"] = frame["Model"].str.strip() + " v" + pd.Series(np.arange(rows)).astype(str)
    return _written(frame, path)


def shared_name_snapshot(rows: int, path: Path) -> Path:
    """One real record (GPT-3) repeated: every row has the same name and date, the worst case for id suffixes.
    Each row has its own parameter count, so no row is an exact copy of another (curate rejects those)."""
    import pandas as pd

    real = _source_rows()
    frame = real[real["Model"] == "GPT-3 175B (davinci)"].iloc[[0] * rows].reset_index(drop=True)
    frame["Parameters"] = (175_000_000_000 + pd.Series(range(rows))).astype(str)
    return _written(frame, path)


def _written(frame, path: Path) -> Path:
    """`frame.to_csv(path, index=False)`'s bytes, by mlsizes' own CSV writer (several times faster)."""
    from mlsizes.tables.writing import write_csv

    with open(path, "wb") as handle:
        write_csv(handle, frame)
    return Path(path)


MAKERS = {"synthetic": synthetic_snapshot, "shared-name": shared_name_snapshot}
# Part of the cache key: a maker that changes gets a new version, so its old files are not reused.
MAKER_VERSIONS = {"synthetic": b"", "shared-name": b"2"}


def cached(kind: str, rows: int) -> Path:
    """The file MAKERS[kind] writes for this many rows, made once per source snapshot (keyed by its sha256)."""
    digest = hashlib.sha256(SOURCE.read_bytes() + MAKER_VERSIONS[kind]).hexdigest()[:12]
    path = CACHE / f"{kind}_{rows}_{digest}.csv"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        MAKERS[kind](rows, partial)
        partial.replace(path)
    return path


if __name__ == "__main__":
    import sys

    print(cached(sys.argv[1], int(sys.argv[2])))
