"""One set of command-line habits (issue 24), walked over every command of mlsizes.cli.COMMANDS: each shows --json
and --root in its help, exits 0 ok, 1 on bad input or a refusal, 2 on a usage error or outside a project, says
what went wrong in one `error:` line on stderr (never click's usage block, never a traceback), and its --json
output parses as strict JSON. A command added to COMMANDS fails here until it is given a bad input and a --json
run below.

The commands run in this process (click's CliRunner, what the `mlsizes` script runs) on a small git project and,
read-only with their outputs in a temporary folder, on this repository; two run as real subprocesses of the
installed script, for the exit code and stderr the shell sees."""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conftest import BIN, RAW, ROOT, SMALL_COUNTS, commit_all, sh
from mlsizes.cli import COMMANDS, main

SNAPSHOT = RAW / "epoch_notable_ai_models_2026-03-10.csv"
# The commands that run outside any project when given their files (the README says so); every other one needs
# a project and exits 2 without one.
ANYWHERE = {"curate", "check", "analyze"}


def run(*args, cwd: Path):
    """`mlsizes ARGS` in folder CWD, no $MLSIZES_ROOT: (exit code, stdout, stderr); a traceback fails the test."""
    with contextlib.chdir(cwd):
        result = CliRunner().invoke(main, [str(arg) for arg in args], env={"MLSIZES_ROOT": None}, prog_name="mlsizes")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def assert_one_error_line(stderr: str) -> None:
    """The error style: the last line of stderr is `error: ...`; no usage block, no `Error:`, no traceback (the
    lines before it are progress, notes, warnings, or more `error:` lines of the same failure)."""
    lines = stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), stderr
    assert not any(line.startswith(("Usage:", "Error:", "Try ", "Traceback")) for line in lines), stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A small git project: the real contracts, params and curated table, an empty contributions folder, one
    commit; beside it a file that is no snapshot and no curated table, and an empty folder."""
    base = tmp_path_factory.mktemp("cli")
    root = base / "project"
    shutil.copytree(ROOT / "schemas", root / "schemas")
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, root / name)
    (root / "data" / "curated").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "curated" / "models.csv", root / "data" / "curated" / "models.csv")
    (root / "data" / "raw" / "contributions").mkdir(parents=True)
    (root / "data" / "raw" / "contributions" / "README.md").write_text("Contributions.\n")
    (root / "data" / "raw" / "epoch").mkdir()
    sh("git", "init", "-q", cwd=root)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):
        sh("git", "config", key, value, cwd=root)
    commit_all(root, "A project")
    (base / "bad.csv").write_text("a,b\n1,2\n")
    (base / "bad.yaml").write_text("kind: [\n")
    (base / "empty").mkdir()
    return root


def bad_input(project: Path) -> dict[str, list]:
    """For every command, arguments it must refuse with exit 1 in PROJECT: a file that is no snapshot or table, a
    folder without the inputs, an invalid value, an unknown revision, a server that is not there."""
    bad, empty = project.parent / "bad.csv", project.parent / "empty"
    out = project.parent / "out"
    nowhere = ["--url", "http://127.0.0.1:9/notable_ai_models.csv", "--retries", "0", "--date", "2026-01-01"]
    return {
        "curate": [bad, "--out", out / "curated"],
        "metadata": ["--out", empty],
        "check": [bad, "--reports", out / "validation"],
        "analyze": [bad, "--out", out / "metrics", "--as-of", "2026-01-01"],
        "reproduce-paper": ["--raw", empty, "--out", out / "paper.json"],
        "reproduce-compute": ["--raw", empty, "--out", out / "compute.json", "--figure", out / "compute.png"],
        "growth": ["--models", bad, "--out", out / "growth.json"],
        "history": ["--raw", empty, "--out", out / "history.json", "--figure", out / "history.png"],
        "atlas": ["--models", bad, "--out", out / "atlas.json", "--cells", out / "cells.csv", "--reports", out],
        "chips": ["--raw", empty, "--out", out / "chips.json"],
        "report": ["--metrics", empty, "--out", out / "reports"],
        "site": ["--out", out / "site"],  # nothing built: no validation reports, no figures
        "add-model": ["--name", "X 1B", "--organization", "X", "--domain", "Language", "--date", "2020-01-01"]
        + ["--parameters", "banana", "--source", "https://example.org/x", "--dry-run"],
        "validate": [project.parent / "bad.yaml"],
        "fetch": nowhere,
        "update": nowhere,
        "versions": [],  # run on a project whose one release has a damaged curation.json (below)
        "diff": ["no-such-revision", "HEAD"],
        "release": ["banana", "--notes", "A release."],
    }


def test_every_command_shows_json_and_root_and_the_top_help_the_exit_codes():
    for name in COMMANDS:
        options = {opt for param in main.get_command(None, name).params for opt in param.opts}
        assert {"--json", "--root"} <= options, name
    code, out, _ = run("--help", cwd=ROOT)
    assert code == 0 and "Exit codes: 0 ok; 1 bad input or refused" in out and "2 usage or environment" in out
    readme = (ROOT / "README.md").read_text()
    assert "Exit codes: **0** ok; **1** bad input or refused" in readme


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_exits_2_on_a_usage_error_and_outside_a_project_and_1_on_bad_input(name, project):
    code, _, err = run(name, "--no-such-option", cwd=project)
    assert code == 2, err
    assert_one_error_line(err)
    assert f"see `mlsizes {name} --help`" in err

    outside = project.parent / "empty"
    args = bad_input(project)[name]
    code, _, err = run(name, *args, "--root", outside, cwd=project)  # --root names a folder that is no project
    assert code == 2 and f"'--root': {outside}: not a project (no dvc.yaml in it)" in err, err
    assert_one_error_line(err)
    if name not in ANYWHERE:
        code, _, err = run(name, *args, cwd=outside)
        assert code == 2, err
        assert_one_error_line(err)

    root = project
    if name == "versions":
        root = damaged_release(project)
    before = sh("git", "status", "--porcelain", "--ignored", cwd=root).stdout
    code, out, err = run(name, *args, cwd=root)
    assert code == 1, out + err
    assert_one_error_line(err)
    assert sh("git", "status", "--porcelain", "--ignored", cwd=root).stdout == before  # nothing written


def damaged_release(project: Path) -> Path:
    """A clone of PROJECT with one release whose committed metrics/curation.json is not JSON."""
    clone = project.parent / "damaged"
    if not clone.exists():
        sh("git", "clone", "-q", str(project), str(clone), cwd=project.parent)
        for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):
            sh("git", "config", key, value, cwd=clone)
        (clone / "metrics").mkdir()
        (clone / "metrics" / "curation.json").write_text("{")
        (clone / "dataset.yaml").write_text("version: 2026.01.01\ndate: 2026-01-01\nsnapshot: x\nnotes: A release.\n")
        commit_all(clone, "Release 2026.01.01")
    return clone


def test_release_without_notes_is_a_usage_error(project):
    code, _, err = run("release", "2030.01.01", cwd=project)
    assert code == 2 and "Missing option '--notes'" in err
    assert_one_error_line(err)


def test_the_installed_script_exits_2_in_one_line_on_a_usage_error_and_outside_a_project(tmp_path):
    for args in (["curate"], ["versions"]):
        proc = subprocess.run([BIN / "mlsizes", *args], cwd=tmp_path, capture_output=True, text=True, env=_no_root())
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("error: ")


def _no_root() -> dict:
    import os

    return {key: value for key, value in os.environ.items() if key != "MLSIZES_ROOT"}


def assert_table(text: str, header: list[str], rows: int) -> None:
    """TEXT starts with a table: HEADER's words, a rule of dashes, ROWS rows, none wider than 100 columns."""
    lines = text.splitlines()[: 2 + rows]
    assert lines[0].split()[: len(header)] == header and set(lines[1]) == {"-", " "} and len(lines) == 2 + rows
    assert max(len(line) for line in lines) <= 100, text


def test_tables_have_a_header_and_fit_100_columns(tmp_path):
    code, out, _ = run("versions", cwd=ROOT)
    assert code == 0
    assert_table(
        out, ["version", "snapshot", "records", "sized"], len(strict_json(run("versions", "--json", cwd=ROOT)[1]))
    )
    out_args = ["--out", tmp_path / "compute.json", "--figure", tmp_path / "eras.png"]
    code, out, _ = run("reproduce-compute", *out_args, "--root", ROOT, cwd=tmp_path)
    assert code == 0
    assert_table(out, ["table", "row", "n", "paper"], len(json.loads((tmp_path / "compute.json").read_text())["rows"]))


# --- --json ------------------------------------------------------------------------------------------------


def strict_json(text: str):
    """TEXT parsed as JSON as any other tool reads it: NaN and Infinity, which Python's reader accepts, refused."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@contextlib.contextmanager
def serving(folder: Path):
    """A static file server on 127.0.0.1 for FOLDER; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log amid the test's output
        pass


def test_every_command_prints_json_that_parses(project, tmp_path):
    """Every command's --json on stdout is strict JSON: the pipeline commands on this repository's data (small
    simulation counts) with their outputs in TMP_PATH, the project commands on the small project. Not `release
    --json`: the suite's one real release (conftest's `flow`) is made as `update` prints it, without --json."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["analysis"].update(
        SMALL_COUNTS["analysis"]
    )  # and small simulation maxima, a coarse scan: seconds, not a minute
    params["analysis"]["monte_carlo"] = {"first_batch": 100, "resolve_factor": 2, "max_scan": 200}
    params["analysis"]["monte_carlo"].update({"max_family": 100, "max_split": 19})
    params["analysis"]["scan"] = {"grid_step_dex": 0.2, "widths_dex": [0.3, 0.6], "width_step_dex": 0.3}
    params["analysis"]["break_search"] = {"start": "2016-01-01", "end": "2019-12-01"}
    params["atlas"].update(widths_dex=[0.3, 0.6], width_step_dex=0.3, position_step_dex=0.2)
    params["atlas"]["monte_carlo"] = {"first_batch": 50, "max_n": 100}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    small = ["--params", tmp_path / "params.yaml"]
    paper_era = tmp_path / "raw"
    paper_era.mkdir()
    for suffix in (".csv", ".provenance.yaml"):
        shutil.copy(RAW / f"{params['paper_reproduction']['snapshot']}{suffix}", paper_era)
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    with open(SNAPSHOT, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[:31]
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    (upstream / "notable_ai_models_2026-07-19.csv").write_text(text.getvalue())
    cur, on_root = tmp_path / "curated", ["--root", ROOT]
    contribution = ["--name", "Tiny LM 1B", "--organization", "Test", "--domain", "Language", "--date", "2020-01-01"]
    contribution += ["--parameters", "1B", "--source", "https://arxiv.org/abs/2001.08361", "--dry-run"]
    with serving(upstream) as url:
        runs = {
            "curate": [SNAPSHOT, "--out", cur],
            "metadata": ["--out", cur, *on_root],
            "check": [cur / "models.csv", "--reports", tmp_path / "validation"],
            "analyze": [cur / "models.csv", "--out", tmp_path / "metrics", *small],
            "reproduce-paper": ["--out", tmp_path / "paper.json", *small, *on_root],
            "reproduce-compute": ["--out", tmp_path / "compute.json", "--figure", tmp_path / "eras.png", *on_root],
            "growth": ["--out", tmp_path / "growth.json", "--reports", tmp_path / "reports", *on_root],
            "history": ["--raw", paper_era, "--out", tmp_path / "history.json", "--figure", tmp_path / "h.png"]
            + ["--atlas-figure", tmp_path / "h_atlas.png", *small, *on_root],
            "atlas": ["--out", tmp_path / "atlas.json", "--cells", tmp_path / "cells.csv"]
            + ["--reports", tmp_path / "reports", *small, *on_root],
            "chips": ["--out", tmp_path / "chips.json", *on_root],
            "report": ["--out", tmp_path / "reports", *on_root],
            "site": ["--out", tmp_path / "site", *on_root],
            "add-model": [*contribution, "--root", project],
            "validate": ["--root", project],
            "fetch": ["--url", f"{url}/notable_ai_models_2026-07-19.csv", "--root", project],
            "update": ["--url", f"{url}/notable_ai_models_2026-07-19.csv", "--root", project],  # nothing new
            "versions": on_root,
            "diff": ["--stored", "2024.07.16", "2026.03.10", *on_root],
        }
        assert set(runs) | {"release"} == set(COMMANDS)
        before = sh("git", "status", "--porcelain", cwd=ROOT).stdout
        results = {}
        for name, args in runs.items():
            if name == "update":
                commit_all(project, "The fetched snapshot")  # update refuses uncommitted changes
            code, out, err = run(name, *args, "--json", cwd=tmp_path)
            assert code == 0, (name, err)
            results[name] = strict_json(out)
    assert sh("git", "status", "--porcelain", cwd=ROOT).stdout == before, "a --json run wrote into the repository"
    assert results["curate"]["curated"] > 0 and results["check"]["success"] is True
    assert results["fetch"]["stored"] is True and results["fetch"]["dating"]["source"] == "file name"
    assert results["update"]["stored"] is False and results["update"]["diff"] is None
    assert results["add-model"]["ok"] is True and results["versions"][-1]["version"] == "2026.03.10"
    assert results["diff"]["old"]["name"] == "2024.07.16" and str(tmp_path / "site" / "index.html") in results["site"]


def test_generated_scratch_is_ignored_by_git():
    """What tools write beside the project's files and no version holds: `dvc plots show`'s HTML, GX's Data Docs,
    a killed fetch's staging folder, a killed writer's temporary file, the benchmarks' output."""
    scratch = ["dvc_plots/index.html", "reports/validation/data_docs/index.html", "data/raw/.fetch-x/download.csv"]
    scratch += ["metrics/.gap.json.tmp", "bench/out/run.json", ".dvc/tmp/x"]
    proc = sh("git", "check-ignore", "--no-index", *scratch, cwd=ROOT)
    assert proc.stdout.split() == scratch
