"""How much of curate's field count hides behind pandas' read (BENCHMARKS.md, "where the last 1.5x is").

Times, in one process, tables.reading's own steps on a snapshot: pandas' read of curate's columns alone, the
field count alone, the two one after the other, and the two together as curate runs them (the count on a
thread), with the count's chunk size varied.

    python bench/load_overlap.py [SNAPSHOT]      # default: the bench's 1,000,000-row file (made once)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import synthetic

from mlsizes.records import contracts
from mlsizes.tables import reading


def seconds(step) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else synthetic.cached("synthetic", 1_000_000)
    known = {alias for spec in contracts.raw_columns().values() for alias in spec["aliases"]}
    header = reading.read_header(path)
    steps = {
        "read alone": lambda: reading._read_text(path, header, known),
        "count alone": lambda: reading._check_fields(path, len(header)),
        "count, then read": lambda: (reading._check_fields(path, len(header)), reading._read_text(path, header, known)),
        "count on a thread beside the read (curate)": lambda: reading.read_checked(path, header, known),
    }
    default = reading.COUNT_CHUNK_BYTES
    for round_ in (1, 2):
        for name, step in steps.items():
            print(f"round {round_}: {name}: {seconds(step):.2f} s", flush=True)
        for chunk in (8 << 20, 16 << 20):
            reading.COUNT_CHUNK_BYTES = chunk
            alone = seconds(steps["count alone"])
            beside = seconds(steps["count on a thread beside the read (curate)"])
            print(f"round {round_}: {chunk >> 20} MB chunks: count alone {alone:.2f} s, on a thread {beside:.2f} s")
            reading.COUNT_CHUNK_BYTES = default


if __name__ == "__main__":
    main()
