"""`make bench`: each figure of the project as a whole process, next to its floor measured in the same run.

A figure is a command as a user or DVC runs it (`mlsizes curate ...`, `dvc repro`); its floor is the least a
process doing that job must pay, measured the same way: reading the columns curate reads, importing the
libraries, `dvc --version`. Each figure and its floor run alternately (figure, floor, figure, floor, ...), so a
change in the machine's load reaches both. Each run is a fresh process: wall time from just before the process
starts until `os.wait4` reaps it, peak RSS from the rusage wait4 returns (that child's own ru_maxrss, its waited
children included), CPU seconds (user + system) from the same rusage. Peak RSS is one process's: a command
that forks shares most of its pages with its children, and adding their RSS would count those twice. So the
memory of all its processes together is sampled too, every SAMPLE_SECONDS: the rise of the machine's anonymous
memory over the run (a shared page counts once; anything else growing on the machine meanwhile counts too, so
it errs high). The table shows min and median wall seconds over --runs, median CPU seconds, the largest peak of
one process and of all of them, the ratio of the wall medians (and of the CPU medians) and whether the target
is met (seconds and ratios by wall median, memory by the larger of the two peaks). Peak RSS on Linux starts at
the parent's (the high-water mark survives exec), so the harness stays small.

The code measured is this tree's (`src/` first on PYTHONPATH), with the environment running the harness;
outputs go to a temporary folder, the no-op `dvc repro` to a clone of this repository's HEAD.

    python bench/harness.py                  # every figure, 3 runs each (about 10 minutes)
    python bench/harness.py --quick          # without the 1,000,000-row file
    python bench/harness.py --only curate --runs 5 --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import synthetic

ROOT = synthetic.ROOT
BIN = Path(sys.executable).parent
MLSIZES, DVC, PYTHON = str(BIN / "mlsizes"), str(BIN / "dvc"), sys.executable
MIB_PER_GIB = 1024


@dataclasses.dataclass
class Target:
    """What a figure must meet: a ratio to its floor, seconds, peak MiB (None: no such target)."""

    ratio: float | None = None
    seconds: float | None = None
    mib: float | None = None

    def __str__(self) -> str:
        parts = [f"<= {self.ratio:g}x floor" if self.ratio else "", f"< {self.seconds:g} s" if self.seconds else ""]
        parts.append(f"<= {self.mib / MIB_PER_GIB:g} GiB" if self.mib else "")
        return ", ".join(part for part in parts if part)

    def met(self, ratio: float, seconds: float, mib: float) -> bool | None:
        checks = [
            (self.ratio, ratio <= (self.ratio or 0)),
            (self.seconds, seconds < (self.seconds or 0)),
            (self.mib, mib <= (self.mib or 0)),
        ]
        given = [ok for limit, ok in checks if limit is not None]
        return all(given) if given else None


@dataclasses.dataclass
class Figure:
    """A command and its floor; argv and floor get the run's index (a command that adds a file names it so)."""

    name: str
    argv: Callable[[int], list[str]]
    floor_name: str
    floor: Callable[[int], list[str]]
    target: Target = dataclasses.field(default_factory=Target)
    cwd: Path = ROOT
    env: dict = dataclasses.field(default_factory=dict)
    group: str = ""


@dataclasses.dataclass
class Runs:
    """Every run's wall seconds, CPU seconds (user + system, which load on the machine hardly changes), peak RSS of
    one process and the peak of all of them together (None where /proc cannot tell)."""

    seconds: list[float] = dataclasses.field(default_factory=list)
    cpu: list[float] = dataclasses.field(default_factory=list)
    mib: list[float] = dataclasses.field(default_factory=list)
    all_mib: list[float | None] = dataclasses.field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def peak(self) -> float:
        """The larger of the two peaks, over the runs."""
        return max(self.mib + [mib for mib in self.all_mib if mib is not None])


SAMPLE_SECONDS = 0.05


def anonymous_mib() -> float | None:
    """The machine's anonymous memory (AnonPages in /proc/meminfo, Linux's), MiB; None where there is no such file.

    A page a forked child still shares with its parent is one page here, where the processes' RSS would count it
    once in each. Reading it costs microseconds: summing the processes' PSS (smaps_rollup) instead cost 50 ms a
    sample on a 1.2 GB process, a sixth of a core taken from the command measured."""
    try:
        with open("/proc/meminfo") as meminfo:
            return next(int(line.split()[1]) for line in meminfo if line.startswith("AnonPages:")) / 1024
    except (OSError, StopIteration):
        return None


class MemorySampler(threading.Thread):
    """Samples anonymous_mib() until stopped; `rise` is the largest sample less the one taken before the start."""

    def __init__(self):
        super().__init__(daemon=True)
        self._before, self._peak, self._done = anonymous_mib(), None, threading.Event()

    def run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            if (mib := anonymous_mib()) is not None:
                self._peak = max(self._peak or mib, mib)

    def stop(self) -> float | None:
        """The rise over the run, MiB (None where it cannot be read)."""
        self._done.set()
        self.join()
        return None if self._before is None or self._peak is None else max(0.0, self._peak - self._before)


def run_once(argv: list[str], cwd: Path, env: dict) -> tuple[float, float, float, float | None]:
    """Wall seconds, CPU seconds, peak RSS of one process and the peak of all of them together (MiB) of one
    command; a failed command stops the benchmark."""
    with tempfile.TemporaryFile() as stderr:
        sampler = MemorySampler()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        all_mib = sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace").strip().splitlines()[-3:]
            raise SystemExit(f"bench: {' '.join(argv)} exited {proc.returncode}: {' | '.join(tail)}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, all_mib  # Linux reports KiB


def measure(figure: Figure, runs: int, env: dict) -> tuple[Runs, Runs]:
    """The figure and its floor, alternating, `runs` times each."""
    own, floor = Runs(), Runs()
    for i in range(runs):
        for argv, into in ((figure.argv(i), own), (figure.floor(i), floor)):
            seconds, cpu, mib, all_mib = run_once(argv, figure.cwd, {**env, **figure.env})
            into.seconds.append(seconds)
            into.cpu.append(cpu)
            into.mib.append(mib)
            into.all_mib.append(all_mib)
        print(
            f"  {figure.name}: run {i + 1}/{runs} {own.seconds[-1]:.2f} s, floor {floor.seconds[-1]:.2f} s",
            file=sys.stderr,
        )
    return own, floor


def python_c(code: str, *args: str) -> Callable[[int], list[str]]:
    return lambda i: [PYTHON, "-c", code, *args]


def in_subprocess(*args: str) -> str:
    """What a Python child prints. The harness itself imports neither pandas nor mlsizes nor makes the synthetic
    files: on Linux a child starts from its parent's peak RSS (the high-water mark survives exec)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([PYTHON, *args], env=env, capture_output=True, text=True, check=True).stdout


def snapshot_file(kind: str, rows: int) -> Path:
    """A synthetic snapshot from the cache (bench/synthetic.py), made the first time."""
    return Path(in_subprocess(str(ROOT / "bench" / "synthetic.py"), kind, str(rows)).strip())


def read_floor(snapshot: Path) -> Callable[[int], list[str]]:
    """pandas reading the columns of this file that curate reads (those schemas/raw.yaml knows, as ingest
    selects them), as ingest reads them: all text, no NA detection."""
    columns = in_subprocess(
        "-c",
        "import csv, sys\nfrom mlsizes.records import contracts\n"
        "known = {alias for spec in contracts.raw_columns().values() for alias in spec['aliases']}\n"
        "with open(sys.argv[1], encoding='utf-8-sig', newline='') as handle:\n"
        "    print('\\n'.join(c for c in next(csv.reader(handle)) if c.strip() in known))",
        str(snapshot),
    ).splitlines()
    code = (
        "import sys, pandas as pd\n"
        "pd.read_csv(sys.argv[1], dtype=str, na_filter=False, index_col=False, usecols=sys.argv[2:])"
    )
    return python_c(code, str(snapshot), *columns)


def curate_figures(out: Path, quick: bool, wanted: Callable[[str], bool], busy: int = 0) -> list[Figure]:
    """curate on the real snapshot and on synthetic files (made once, only for the figures wanted); beside
    `busy` busy loops, the 1,000,000-row figure's target is 4x its floor instead of 3x."""
    sizes = [100_000] if quick else [100_000, 1_000_000]
    inputs = [("curate, 2026 snapshot (981 rows)", lambda: synthetic.SOURCE, None)]
    inputs += [(f"curate, {n:,} synthetic rows", lambda n=n: snapshot_file("synthetic", n), n) for n in sizes]
    inputs.append(("curate, 40,000 rows sharing one name", lambda: snapshot_file("shared-name", 40_000), None))
    figures = []
    for name, make, rows in inputs:
        if not wanted(name):
            continue
        snapshot = make()
        command = [MLSIZES, "curate", str(snapshot), "--out", str(out / "curated"), "--force"]
        command += ["--metrics", str(out / "curation.json"), "--contributions", str(ROOT / "data/raw/contributions")]
        target = Target(ratio=4 if busy else 3, mib=2 * MIB_PER_GIB) if rows == 1_000_000 else Target()
        floor = f"read_csv of curate's columns ({snapshot.stat().st_size / 2**20:,.0f} MiB file)"
        figures.append(Figure(name, lambda i, c=command: c, floor, read_floor(snapshot), target))
    return figures


def temporary_project(folder: Path) -> Path:
    """A copy of what add-model and validate read (params, schemas, the curated table), so data/ is never touched."""
    folder.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "schemas", folder / "schemas")
    (folder / "data" / "curated").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "curated" / "models.csv", folder / "data" / "curated" / "models.csv")
    (folder / "data" / "raw" / "contributions").mkdir(parents=True)
    return folder


def model(i: int) -> list[str]:
    return [
        MLSIZES,
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
        MLSIZES,
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


def dvc_clone(folder: Path, env: dict) -> Path:
    """A clone of HEAD brought up to date with one `dvc repro` (not measured), for the no-op figure."""
    clone = folder / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    print("  dvc repro in a clone of HEAD (setup, not measured)...", file=sys.stderr)
    env = {**env, "PYTHONPATH": str(clone / "src")}
    proc = subprocess.run([DVC, "repro"], cwd=clone, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench: dvc repro in a clone of HEAD failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return clone


def figures(out: Path, quick: bool, only: list[str], env: dict, busy: int = 0) -> list[Figure]:
    """Every figure (or those whose name contains one of `only`), in the order of the table."""
    releases = json.loads(
        subprocess.run(
            [MLSIZES, "versions", "--json"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    first, newest = releases[0]["version"], releases[-1]["version"]
    imports = "import pandas, pandera.pandas"
    project = temporary_project(out / "project")
    in_project = {"MLSIZES_ROOT": str(project)}
    wanted = lambda name: not only or any(word in name for word in only)  # noqa: E731
    all_figures = [
        *curate_figures(out, quick, wanted, busy),
        Figure(
            "check (mlsizes check)",
            lambda i: [MLSIZES, "check", "data/curated/models.csv", "--reports", str(out / "validation")],
            imports,
            python_c(imports),
            Target(ratio=2),
        ),
        Figure(
            "analyze (mlsizes analyze)",
            lambda i: [
                MLSIZES,
                "analyze",
                "data/curated/models.csv",
                "--curation",
                "metrics/curation.json",
                "--out",
                str(out / "metrics"),
            ],
            "import mlsizes.cli, mlsizes.stages.analyze",
            python_c("import mlsizes.cli, mlsizes.stages.analyze"),
            Target(seconds=10),
        ),
        Figure(
            "history (mlsizes history)",
            lambda i: [
                MLSIZES,
                "history",
                "--raw",
                "data/raw/epoch",
                "--out",
                str(out / "history.json"),
                "--figure",
                str(out / "history.png"),
            ],
            "import mlsizes.cli, mlsizes.stages.history",
            python_c("import mlsizes.cli, mlsizes.stages.history"),
            Target(seconds=8),
        ),
        Figure(
            "mlsizes --help", lambda i: [MLSIZES, "--help"], "python -c pass", python_c("pass"), Target(seconds=0.3)
        ),
        *(
            Figure(
                f"mlsizes diff {first} {newest} {flag}".strip(),
                lambda i, f=flag: [MLSIZES, "diff", first, newest, *f.split()],
                "import mlsizes.cli, mlsizes.releases.diff",
                python_c("import mlsizes.cli, mlsizes.releases.diff"),
                Target(seconds=3),
            )
            for flag in ("", "--md", "--json")
        ),
        Figure(
            "mlsizes versions",
            lambda i: [MLSIZES, "versions"],
            "import mlsizes.cli, mlsizes.releases.release_list",
            python_c("import mlsizes.cli, mlsizes.releases.release_list"),
        ),
        Figure("mlsizes add-model (new model)", model, imports, python_c(imports), Target(seconds=1.5), env=in_project),
        Figure(
            "mlsizes add-model --correct", correction, imports, python_c(imports), Target(seconds=1.5), env=in_project
        ),
        Figure(
            "mlsizes validate (contribution files)",
            lambda i: [MLSIZES, "validate"],
            imports,
            python_c(imports),
            env=in_project,
        ),
    ]
    chosen = [figure for figure in all_figures if wanted(figure.name)]
    if wanted("dvc repro"):
        clone = dvc_clone(out, env)
        chosen.append(
            Figure(
                "dvc repro (no-op, a clone)",
                lambda i: [DVC, "repro"],
                "dvc --version",
                lambda i: [DVC, "--version"],
                cwd=clone,
                env={"PYTHONPATH": str(clone / "src")},
            )
        )
    return chosen


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True)
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, tree {head.strip()}"
        f"{' + uncommitted changes in src/' if dirty.stdout.strip() else ''}; load average (1, 5, 15 min) {load}"
    )


def table(results: list[tuple[Figure, Runs, Runs]]) -> list[str]:
    lines = [
        "| figure | s min | s median | CPU s | peak MiB | all processes MiB | floor | floor s min | floor s median "
        "| floor CPU s | floor MiB | ratio | CPU ratio | target | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    medians = {}
    for figure, own, floor in results:
        ratio = own.median / floor.median
        met = figure.target.met(ratio, own.median, own.peak)
        sampled = [mib for mib in own.all_mib if mib is not None]
        together = f"{max(sampled):,.0f}" if sampled else ""
        medians[figure.name] = own.median
        lines.append(
            f"| {figure.name} | {min(own.seconds):.2f} | {own.median:.2f} | {own.cpu_median:.2f} | {max(own.mib):,.0f} "
            f"| {together} | {figure.floor_name} | {min(floor.seconds):.2f} | {floor.median:.2f} "
            f"| {floor.cpu_median:.2f} | {max(floor.mib):,.0f} | {ratio:.2f} | {own.cpu_median / floor.cpu_median:.2f} "
            f"| {figure.target} | {'' if met is None else ('yes' if met else '**no**')} |"
        )
    big, small = medians.get("curate, 1,000,000 synthetic rows"), medians.get("curate, 100,000 synthetic rows")
    if big and small:
        linear = big / small
        lines.append(
            f"| curate 1,000,000 / 100,000 rows (medians) | | | | | | | | | | | {linear:.2f} | | <= 11 "
            f"| {'yes' if linear <= 11 else '**no**'} |"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each figure and of its floor (default 3)")
    parser.add_argument("--quick", action="store_true", help="skip the 1,000,000-row file")
    parser.add_argument("--only", nargs="*", default=[], help="only figures whose name contains one of these")
    parser.add_argument("--json", type=Path, help="also write every run's seconds and MiB to this file")
    parser.add_argument(
        "--busy", type=int, default=0, metavar="N", help="measure beside N busy loops (a shared machine; default 0)"
    )
    args = parser.parse_args(argv)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "MPLBACKEND": "Agg",
    }
    before = machine()
    started = time.perf_counter()
    loops = [subprocess.Popen([PYTHON, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        with tempfile.TemporaryDirectory(prefix="mlsizes-bench-") as tmp:
            results = []
            for figure in figures(Path(tmp), args.quick, args.only, env, args.busy):
                results.append((figure, *measure(figure, args.runs, env)))
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
    if args.busy:
        print(f"Beside {args.busy} busy loops (`while True: pass`), each a process of its own.  ")
    print(f"Before: {before}.  ")
    print(f"After:  {machine()}; {time.perf_counter() - started:.0f} s in all, {args.runs} runs of each.  ")
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Peaks below the harness's own ({own_peak:.0f} MiB) read as it: a child starts from its parent's.\n")
    print("\n".join(table(results)))
    if args.json:
        rows = [
            {
                "figure": f.name,
                "floor": f.floor_name,
                "target": str(f.target),
                "runs": dataclasses.asdict(own),
                "floor_runs": dataclasses.asdict(floor),
            }
            for f, own, floor in results
        ]
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
