"""Benchmark the contribution commands (issue 4): `mlsizes --help`, `add-model` (model and correction), `validate`.

Every run is a fresh `mlsizes` process, timed end to end, against a temporary copy of the project (schemas,
params.yaml, the curated table), so the real data/ is never touched. Also reports which heavy libraries each
command imports and where add-model's time goes (`python -X importtime`). Prints Markdown tables.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MLSIZES = str(Path(sys.executable).parent / "mlsizes")
RUNS = 7
HEAVY = ("great_expectations", "dvc", "matplotlib", "pandera", "pandas")
IMPORTS_OF = (
    "import sys\nfrom mlsizes.cli import main\nsys.argv = ['mlsizes', *sys.argv[1:]]\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
    "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)"
)


def temporary_project(folder: Path) -> Path:
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "schemas", folder / "schemas")
    (folder / "data" / "curated").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "curated" / "models.csv", folder / "data" / "curated" / "models.csv")
    (folder / "data" / "raw" / "contributions").mkdir(parents=True)
    return folder


def model(i: int) -> list[str]:
    return [
        "add-model",
        "--name",
        f"Bench Model {i}",
        "--organization",
        "Bench Lab",
        "--domain",
        "Language",
        "--date",
        "2024-04-18",
        "--parameters",
        f"{i + 1}B",
        "--source",
        "https://benchlab.dev/paper",
    ]


def correction(i: int) -> list[str]:
    return [
        "add-model",
        "--correct",
        "gpt-3-175b-davinci",
        "--parameters",
        f"{170 + i}B",
        "--reason",
        "Benchmark run of a correction.",
        "--source",
        "https://benchlab.dev/paper",
    ]


def timed(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run([MLSIZES, *args], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"mlsizes {' '.join(args)} failed: {proc.stderr}")
    return elapsed


def heavy_imports(args: list[str], env: dict) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", IMPORTS_OF, *args], capture_output=True, text=True, env=env)
    loaded = set(proc.stderr.splitlines()[-1].split())
    return [name for name in HEAVY if name in loaded]


def import_costs(args: list[str], env: dict) -> dict[str, float]:
    """Cumulative import time (s) of the top-level packages add-model loads, from `python -X importtime`."""
    code = "import sys\nfrom mlsizes.cli import main\nsys.argv = ['mlsizes', *sys.argv[1:]]\nmain()"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args], capture_output=True, text=True, env=env
    )
    costs = {}
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, module = (part.strip() for part in line.removeprefix("import time:").split("|"))
            if cumulative.isdigit() and module in ("pandas", "pandera.pandas", "click", "yaml", "mlsizes.cli"):
                costs[module] = int(cumulative) / 1e6
    return costs


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MLSIZES_ROOT": str(temporary_project(Path(tmp)))}
        cases = [
            ("mlsizes --help", lambda i: ["--help"], 0.3),
            ("mlsizes add-model (new model)", model, 1.5),
            ("mlsizes add-model --correct", correction, 1.5),
            ("mlsizes validate (all files)", lambda i: ["validate"], None),
        ]
        print(
            "| command | runs | median s | min s | max s | budget s | within budget | imports (of "
            + ", ".join(HEAVY)
            + ") |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for label, args, budget in cases:
            times = [timed(args(i), env) for i in range(RUNS)]
            median = statistics.median(times)
            verdict = "" if budget is None else ("yes" if median < budget else "**no**")
            imported = ", ".join(heavy_imports(args(RUNS), env)) or "none"
            print(
                f"| {label} | {RUNS} | {median:.3f} | {min(times):.3f} | {max(times):.3f} | "
                f"{budget or ''} | {verdict} | {imported} |"
            )
        costs = import_costs(model(RUNS + 1), env)
        print()
        print(
            "add-model import time (cumulative, one run): "
            + ", ".join(f"{module} {seconds:.3f} s" for module, seconds in sorted(costs.items()))
        )


if __name__ == "__main__":
    main()
