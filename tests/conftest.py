"""Shared test setup: where the project's real files are, and a quiet, isolated DVC environment."""

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import settings

# Property tests are examples drawn from a fixed seed, with no time limit per example: on a shared 2-core machine
# a deadline fails at random, and a test that draws other examples on each run is not a reproducible check.
settings.register_profile("mlsizes", deadline=None, derandomize=True, database=None)
settings.load_profile("mlsizes")

ROOT = Path(__file__).resolve().parents[1]
# Tests clone ROOT with `git clone --shared`: the clone reads the checkout's objects (git's alternates) instead of
# hard-linking each of them. A working checkout holds thousands of loose objects between two `git gc` (4,190 at
# one time here), and hard-linking them into each of the suite's clones, then deleting them, had made the suite
# 15 s slower (BENCHMARKS.md). A shared clone is a real repository with its own commits, tags and config.
RAW = ROOT / "data" / "raw" / "epoch"
SNAPSHOTS = sorted(RAW.glob("*.csv"))
# The commands of the environment running the tests, wherever it lives (not necessarily ROOT/.venv).
BIN = Path(sys.executable).parent


# The header of Epoch's 2026 download: the columns tests of hand-made snapshots write.
HEADER_2026 = [
    "Model",
    "Organization",
    "Publication date",
    "Domain",
    "Parameters",
    "Training compute (FLOP)",
    "Confidence",
    "Link",
    "Notability criteria",
]

# `make test` runs two workers (pytest-xdist, `--dist loadfile`): each test file is one unit of work on one worker,
# so its module fixtures (a clone built by `dvc repro`, a browser) are made once. Here loadfile is refined in two
# ways (pytest_xdist_make_scheduler below):
# - SEPARATE: tests that use none of their file's costly module fixtures form units of their own, which the other
#   worker may take (tests named by the start of their function name);
# - SLOW_UNITS: the units start longest first (a long unit started last would leave one worker idle at the end),
#   with the CPU seconds each used in a run of the whole suite (a clone's `dvc repro` and the processes it starts
#   included; Chromium's own not). Units not listed follow in file order. (xdist hands a worker its next unit when
#   two tests of its current one are left, so a worker may take one unit while the last two of its current one
#   run. Handing busy workers the smallest unit instead was tried: they then took every small unit first, and
#   the long ones ran last.)
SEPARATE = {
    "test_update.py": {
        "refusals": (
            "test_unchanged_upstream",
            "test_a_dvc_repro_that_fails",
            "test_uncommitted_",
            "test_a_failed_download",
            "test_an_export_without_a_date",
        )
    },
    "test_api.py": {
        "wheel": ("test_the_installed_",),
    },
    "test_versions.py": {
        "method": ("test_a_diff_of_a_method_change_alone", "test_versions_says_which_releases_have_no_tag"),
    },
    "test_add_model.py": {
        "writers": (
            "test_four_concurrent_writers",
            "test_two_concurrent_writers",
            "test_a_writer_killed",
            "test_writers_killed",
        )
    },
}
SLOW_UNITS = (
    # 58 (38 and 36 when each file built and released its own clone): test_release.py JOINED, the `flow`
    # fixture: a clone with a correction updated from a new snapshot (`dvc repro`), fixed (a short second one),
    # its release tried twice (a hook refuses one)
    "test_update.py",
    "test_clusters.py",  # 23: the split test's size over 200 null data sets, twice (a double bootstrap each)
    "test_remote.py",  # 20: the README's remote set-up on an S3 server, a 1,000,000-row round trip
    "test_pipeline.py",  # 12: `dvc status` and `dvc repro curate` in a clone
    "test_site.py",  # 11, and a headless Chromium's
    "test_api.py",  # 11
    "test_contribution_files.py",  # 11
    "test_cli.py",  # 10: every command's --json run once (small simulation counts), every exit code
    "test_update.py::refusals",  # 8: fresh clones, one `dvc repro` that fails
    "test_add_model.py::writers",  # 8: concurrent and killed writers (and 5 s of random waits)
    "test_versions.py::method",  # 7: two analyses of one table by two methods, a diff that recomputes them
    "test_api.py::wheel",  # 7: the wheel built and installed into a venv; its commands, an analysis at full counts
    "test_add_model.py",  # 7
    "test_ingest.py",  # 6
    "test_versions.py",  # 6
    "test_untrusted_reads.py",  # 4
    "test_analyze.py",  # 4
    "test_check.py",  # 3
    "test_rule_book.py",  # 3
    "test_curate.py",  # 3
    "test_report.py",  # 3
    "test_history.py",  # 3
)


# Files whose tests share a session fixture (one worker's, made once) join another file's unit: test_release.py's
# tests check the release of the `flow` fixture below, which test_update.py's tests check up to that release.
JOINED = {"test_release.py": "test_update.py"}


def unit(nodeid: str) -> str:
    """The unit of work of a test, from its node id: its file's name (or the file's it JOINED), or file::name for
    a SEPARATE group."""
    path, _, test = nodeid.partition("::")
    file = path.rpartition("/")[2]
    for name, starts in SEPARATE.get(file, {}).items():
        if test.startswith(starts):
            return f"{file}::{name}"
    return JOINED.get(file, file)


def pytest_collection_modifyitems(items):
    rank = {name: index for index, name in enumerate(SLOW_UNITS)}
    items.sort(key=lambda item: rank.get(unit(item.nodeid), len(SLOW_UNITS)))


def pytest_xdist_make_scheduler(config, log):
    """loadfile with SEPARATE's units, in the order of the collection (sorted above), not xdist's largest first."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class UnitScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit(nodeid)  # test files are all in tests/: their names are unique

    config.option.loadscopereorder = False
    return UnitScheduling(config, log)


def pytest_addoption(parser):
    parser.addoption("--print-files", action="store_true", help="print each test file's name when it starts")


def pytest_configure(config):
    if hasattr(config, "workerinput"):
        return
    # The controller (or a run without xdist): the workers it starts inherit its environment. Metrics that `diff`,
    # `release` and `update` recompute per commit are cached for the whole run in one folder the workers share
    # (clones of this repository share their commits, so a release's recomputation is paid once), never in the
    # user's ~/.cache, and gone afterwards.
    config.mlsizes_cache = tempfile.mkdtemp(prefix="mlsizes-test-cache-")
    os.environ["MLSIZES_CACHE"] = config.mlsizes_cache
    if config.getoption("print_files"):
        config.pluginmanager.register(FilePrinter(config), "mlsizes-file-printer")


def pytest_unconfigure(config):
    if hasattr(config, "mlsizes_cache"):
        shutil.rmtree(config.mlsizes_cache, ignore_errors=True)


class FilePrinter:
    """Names each unit of work (a test file, or a SEPARATE group of one) on its own line, with its xdist worker,
    when its first test reports, amid pytest's dots."""

    def __init__(self, config):
        self.config = config
        self.seen = set()

    def pytest_runtest_logreport(self, report):
        path = report.nodeid.partition("::")[0]
        name = unit(report.nodeid)
        if report.when != "setup" or (path, name) in self.seen:
            return
        self.seen.add((path, name))
        gateway = getattr(getattr(report, "node", None), "gateway", None)
        group = f" ({name.partition('::')[2]})" if "::" in name else ""
        worker = f" [{gateway.id}]" if gateway is not None else ""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        reporter.ensure_newline()
        reporter.write_line(f"{path}{group}{worker}")


@pytest.fixture(scope="session")
def flow(tmp_path_factory):
    """One maintainer's round on a clone (tests/maintainer_flow.py: an update, a correction, a release), run once
    and shared by test_update.py and test_release.py (one unit of work, JOINED above: one worker makes it)."""
    from maintainer_flow import run

    with pytest.MonkeyPatch.context() as patch:  # as _quiet_tools, which is per test and set up after this
        patch.setenv("DVC_NO_ANALYTICS", "1")
        patch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path_factory.mktemp("dvc-site-cache")))
        return run(tmp_path_factory.mktemp("flow"))


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


def sh(*args, cwd, check=True):
    """Run a command in a project folder (MLSIZES_ROOT and PATH pointing at it and this environment)."""
    env = {**os.environ, "MLSIZES_ROOT": str(cwd), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


def mlsizes(*args, cwd, check=True):
    """Run the mlsizes command line on the project in `cwd`, in this process (the click app the `mlsizes` script
    runs, without paying the imports again for every call); the result has returncode, stdout and stderr.

    `cwd` reaches the command as MLSIZES_ROOT only: the process stays in its own folder, so give file arguments
    as absolute paths (a relative one names a file of the checkout the tests run from), or use `sh`."""
    from click.testing import CliRunner

    from mlsizes.cli import main

    result = CliRunner().invoke(main, list(args), env={"MLSIZES_ROOT": str(cwd)}, prog_name="mlsizes")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    proc = subprocess.CompletedProcess(["mlsizes", *args], result.exit_code, result.stdout, result.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


def commit_all(repo, message):
    """Commit everything in a test repository (its git identity is set by the fixture that made it)."""
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", message, cwd=repo)


# The study's settings with small simulation counts and coarse grids: the same code and stages, seconds instead of
# minutes. Tests
# of a workflow around the pipeline (update, release, diff) build clones with them; the committed metrics and the
# statistics' own tests keep the full counts.
SMALL_COUNTS = {
    "analysis": {
        "n_bootstrap": 50,
        "n_simulations": 4000,
        "n_window_simulations": 2000,
        "n_posterior_draws": 20,
        "monte_carlo": {"first_batch": 20, "resolve_factor": 2, "max_scan": 40, "max_family": 20, "max_split": 9},
        "split_fit": {"starts": 2, "iterations": 50},  # as the split test's calibration in test_clusters.py
        "scan": {"grid_step_dex": 0.02, "widths_dex": [0.4, 0.4], "width_step_dex": 0.05},
    },
    "atlas": {
        "widths_dex": [0.3, 0.6],
        "width_step_dex": 0.3,
        "position_step_dex": 0.2,
        "monte_carlo": {"first_batch": 20, "max_n": 40},
    },
}


def use_small_counts(params_path: Path) -> None:
    """Set SMALL_COUNTS in a params.yaml, editing only the value of each of those lines (comments and layout kept,
    as a maintainer's edit would)."""
    lines = params_path.read_text().splitlines(keepends=True)
    section = None
    for i, line in enumerate(lines):
        if re.match(r"[a-z_]+:", line):
            section = line.split(":")[0]
        key = re.match(r"  ([a-z_]+): ", line)
        if key and key[1] in SMALL_COUNTS.get(section, {}):
            value = yaml.safe_dump(SMALL_COUNTS[section][key[1]], default_flow_style=True, sort_keys=False, width=1000)
            value = value.removesuffix("...\n").strip()
            comment = line.partition("#")[2]
            lines[i] = f"  {key[1]}: {value}" + (f"   #{comment}" if comment else "\n")
    params_path.write_text("".join(lines))
    loaded = yaml.safe_load(params_path.read_text())
    for section, values in SMALL_COUNTS.items():
        assert {key: loaded[section][key] for key in values} == values, f"{params_path}: {section} not set"


os.environ.setdefault("DVC_NO_ANALYTICS", "1")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A temporary project for contributing (add-model, validate): the real schemas, params and curated table,
    and an empty contributions folder."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "schemas", root / "schemas")
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, root / name)
    (root / "data" / "curated").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "curated" / "models.csv", root / "data" / "curated" / "models.csv")
    folder = root / "data" / "raw" / "contributions"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("Contributions.\n")
    monkeypatch.setenv("MLSIZES_ROOT", str(root))
    monkeypatch.chdir(tmp_path)
    return root


def contributions_dir(root: Path) -> Path:
    """The contributions folder of a project."""
    return root / "data" / "raw" / "contributions"


def written_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as curate writes it (spreadsheet escape included), read back as text: an empty cell is ""."""
    from mlsizes.records import curation
    from mlsizes.tables import writing

    buffer = io.BytesIO()
    writing.write_csv(buffer, frame, rule=curation.formula_escape())
    header, *rows = csv.reader(io.StringIO(buffer.getvalue().decode("utf-8"), newline=""))
    return pd.DataFrame(rows, columns=header, dtype="str")


def run_python(code: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`code` run by a fresh interpreter. Work that forks needs one: mlsizes never forks a process in which
    other threads run, and earlier tests leave threads in a test process (an HTTP server, fsspec's IO loop)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )
