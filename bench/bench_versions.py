"""Benchmark `mlsizes diff` between the first and the newest release, as a user runs it (fresh process, no rebuild).

Prints a Markdown table: median of 5 runs per output format.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MLSIZES = str(Path(sys.executable).parent / "mlsizes")  # the environment running the benchmark


def main() -> None:
    releases = json.loads(
        subprocess.run([MLSIZES, "versions", "--json"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    )
    first, newest = releases[0]["version"], releases[-1]["version"]
    print(f"| command ({len(releases)} releases) | median s of 5 | target s |")
    print("|---|---|---|")
    for flag in ([], ["--md"], ["--json"]):
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([MLSIZES, "diff", first, newest, *flag], cwd=ROOT, capture_output=True, check=True)
            runs.append(time.perf_counter() - start)
        print(f"| mlsizes diff {first} {newest} {' '.join(flag)} | {statistics.median(runs):.2f} | < 3 |")


if __name__ == "__main__":
    main()
