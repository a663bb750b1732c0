"""A reader's install, for real: the project's wheel into a new venv from PyPI without extras, its size on disk,
and `mlsizes.load()`, `gap_test()` and `fit_trend()` run in it from an empty folder (issue 24: at most 350 MB).

Run: .venv/bin/python bench/light_install.py [--json out.json]
It needs PyPI (about 100 MB of downloads unless pip's cache has them) and takes a minute or more, so it is a
benchmark, not a test; tests/test_api.py checks the same install offline with the pipeline libraries blocked.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MB = 350
CHECK = """
import json, sys, mlsizes
df = mlsizes.load()
gap = mlsizes.gap_test(df)
trend = mlsizes.fit_trend(df, start="2018-01-01")
pipeline = ("dvc", "pandera", "great_expectations", "matplotlib", "requests", "markdown_it")
print(json.dumps({"records": len(df), "version": df.attrs["version"], "p": gap["p_le_observed_exact"],
                  "slope": trend["slope_oom_per_year"], "file": mlsizes.__file__,
                  "pipeline_installed": [m for m in pipeline if __import__("importlib.util").util.find_spec(m)]}))
"""


def size_mb(folder: Path) -> float:
    """Bytes of every file under a folder (symbolic links not followed), in MB (10**6)."""
    total = sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlsizes-light-"))
    try:
        source = work / "source"
        shutil.copytree(
            ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(".git", ".venv", ".dvc", "*.egg-info")
        )
        for stale in ("build", "dist"):
            shutil.rmtree(source / stale, ignore_errors=True)
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
        subprocess.run([*pip, "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(source)], check=True)
        (wheel,) = (work / "dist").glob("mlsizes-*.whl")
        venv = work / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        empty_mb = size_mb(venv)
        start = time.perf_counter()
        subprocess.run(
            [python, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--no-cache-dir", str(wheel)],
            check=True,
        )
        install_s = time.perf_counter() - start
        folder = work / "empty"
        folder.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("MLSIZES_ROOT", "PYTHONPATH")}
        proc = subprocess.run([python, "-c", CHECK], cwd=folder, env=env, capture_output=True, text=True, check=True)
        packages = subprocess.run(
            [python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        figures = {
            "wheel": wheel.name,
            "wheel_kb": round(wheel.stat().st_size / 1e3),
            "venv_mb": round(size_mb(venv), 1),
            "empty_venv_mb": round(empty_mb, 1),
            "limit_mb": LIMIT_MB,
            "install_s": round(install_s, 1),
            "packages": packages,
            **json.loads(proc.stdout),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    verdict = "within" if figures["venv_mb"] <= LIMIT_MB else "OVER"
    print(f"venv {figures['venv_mb']} MB ({verdict} {LIMIT_MB} MB), install {figures['install_s']} s", file=sys.stderr)
    sys.exit(0 if figures["venv_mb"] <= LIMIT_MB and not figures["pipeline_installed"] else 1)


if __name__ == "__main__":
    main()
