"""Benchmark the analysis stages (issues 3 and 5): analyze with 1000 bootstrap resamples per fit and 1,000,000
simulations per gap test on the curated table, and the history stage over every raw snapshot.

Prints a Markdown table; targets: analyze < 10 s, history < 30 s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from mlsizes import analyze, history
from mlsizes.paths import Paths
from mlsizes.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        settings = Settings.load(ROOT / "params.yaml")
        paths = (
            Paths.at(ROOT)
            .with_metrics_dir(Path(tmp))
            .replace(history=Path(tmp) / "h.json", history_figure=Path(tmp) / "h.png")
        )
        analyze.run(paths, settings.analysis)
        rows.append(("analyze stage (1000 bootstrap, 1e6 simulations)", time.perf_counter() - start, 10))
        start = time.perf_counter()
        history.run(paths, settings.analysis, settings.paper_reproduction.as_of)
        rows.append(("history stage (every snapshot)", time.perf_counter() - start, 30))
    print("| measurement | seconds | target (s) |\n|---|---|---|")
    for name, seconds, target in rows:
        print(f"| {name} | {seconds:.2f} | < {target} |")


if __name__ == "__main__":
    main()
