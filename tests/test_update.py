"""`mlsizes update` in real git clones of the project, against a real HTTP server on 127.0.0.1 serving the newest
real snapshot: with two new models (fetched, params.yaml pointed at it, a real `dvc repro`, the summary, and the
printed commands run as printed), unchanged (nothing new), broken so that `dvc repro` fails (everything undone),
and refused before anything is fetched (uncommitted changes) or stored (a failed download).

One clone is rebuilt by `dvc repro` (about a minute) and shared by the tests of a successful update; the other
cases need no rebuild, each in a fresh clone (a local clone takes a second).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import BIN, RAW, ROOT, commit_all, mlsizes, sh, use_small_counts
from mlsizes.core.paths import Paths
from mlsizes.releases.revisions import releases
from mlsizes.workflows import compare, update
from test_fetch import EXPORT_DATE, ok, serving, status

REAL_SNAPSHOT = RAW / "epoch_notable_ai_models_2026-03-10.csv"
CURRENT = "epoch_notable_ai_models_2026-03-10"
FAST = ["--backoff", "0.01", "--timeout", "10"]
# The export the issue was found with: named by its date, served with test_fetch's Last-Modified (the same date).
EXPORT = dt.date.fromisoformat(EXPORT_DATE)
EXPORT_NAME = f"notable_ai_models_{EXPORT_DATE}.csv"
# Two systems upstream does not have yet, published before the export's date (its as-of date).
NEW_MODELS = [
    {
        "Model": "Updatetest Alpha 30B",
        "Organization": "Example Lab",
        "Publication date": (EXPORT - dt.timedelta(days=20)).isoformat(),
        "Domain": "Language",
        "Parameters": "30000000000.0",
        "Confidence": "Confident",
        "Link": "https://example.org/updatetest-alpha",
        "Notability criteria": "SOTA improvement",
    },
    {
        "Model": "Updatetest Beta Vision",
        "Organization": "Example Lab",
        "Publication date": (EXPORT - dt.timedelta(days=10)).isoformat(),
        "Domain": "Vision",
        "Parameters": "2500000000.0",
        "Confidence": "Likely",
        "Link": "https://example.org/updatetest-beta",
        "Notability criteria": "Highly cited",
    },
]


# A row upstream adds that curate rejects (no domain): a new reject the summary must name with its reason.
NO_DOMAIN = {
    "Model": "Updatetest Gamma",
    "Organization": "Example Lab",
    "Publication date": (EXPORT - dt.timedelta(days=5)).isoformat(),
    "Domain": "",
    "Parameters": "1000000000.0",
    "Link": "https://example.org/updatetest-gamma",
    "Notability criteria": "SOTA improvement",
}
# A contribution made before upstream had the model (after the as-of date of the time, so ahead of the data),
# which the new upstream row of the same name supersedes.
AHEAD = "updatetest-alpha-30b"
AHEAD_FILE = f"data/raw/contributions/{AHEAD}.yaml"
AHEAD_TEXT = f"""id: {AHEAD}
name: Updatetest Alpha 30B
organization: Example Lab
domains: Language
publication_date: '{NEW_MODELS[0]["Publication date"]}'
parameters: 30000000000
link: https://testlab.dev/updatetest-alpha-preprint
"""


def snapshot_csv(extra: list[dict] = (), every_date: str | None = None) -> bytes:
    """The real 2026-03-10 download with EXTRA rows appended, or with every publication date set to EVERY_DATE."""
    with open(REAL_SNAPSHOT, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    rows += [{column: row.get(column, "") for column in header} for row in extra]
    if every_date is not None:
        rows = [{**row, "Publication date": every_date} for row in rows]
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def upstream():
    with serving() as server:
        yield server


@pytest.fixture(scope="module")
def quiet_dvc(tmp_path_factory):
    """DVC's site cache in a temporary folder, for the module's fixtures too (conftest's is per test)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DVC_NO_ANALYTICS", "1")
        patch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path_factory.mktemp("dvc-site-cache")))
        yield


def make_clone(folder: Path) -> Path:
    """A git clone of the project with a git identity, DVC's update check off (in the untracked local config, so
    the tree stays clean; written as `dvc config --local core.check_update false` writes it, without starting
    DVC) and the study's small simulation counts committed (conftest.SMALL_COUNTS: an update rebuilds every
    stage)."""
    repo = folder / "repo"
    sh("git", "clone", "-q", str(ROOT), str(repo), cwd=ROOT)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):
        sh("git", "config", key, value, cwd=repo)
    (repo / ".dvc" / "config.local").write_text("[core]\n    check_update = false\n")
    use_small_counts(repo / "params.yaml")
    commit_all(repo, "Small simulation counts for tests")
    assert porcelain(repo) == ""
    return repo


@pytest.fixture
def clone(tmp_path, quiet_dvc) -> Path:
    return make_clone(tmp_path)


def porcelain(repo: Path) -> str:
    return sh("git", "status", "--porcelain", "--untracked-files=all", cwd=repo).stdout


def raw_files(repo: Path) -> list[str]:
    """Every file and folder under data/raw/ (hidden staging folders included)."""
    return sorted(str(path.relative_to(repo)) for path in (repo / "data" / "raw").rglob("*"))


def assert_one_error_line(proc, *fragments: str) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == errors[0]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


# --- editing params.yaml ----------------------------------------------------------------------------------------

PARAMS = b"""# The snapshot.
snapshot: {value}   # a comment kept
analysis:
  seed: 1
paper_reproduction:
  snapshot: epoch_pcd_2022-06-30
"""


@pytest.mark.parametrize(
    "value", ["old_snapshot", '"old_snapshot"', "'old_snapshot'"], ids=["bare", "double", "single"]
)
def test_point_at_edits_only_the_top_level_snapshot_value(value):
    text = PARAMS.replace(b"{value}", value.encode())
    assert update.snapshot_value(Path("params.yaml"), text) == "old_snapshot"
    edited = update.point_at(Path("params.yaml"), text, "epoch_notable_ai_models_2026-12-01")
    assert edited == text.replace(b"old_snapshot", b"epoch_notable_ai_models_2026-12-01")
    assert yaml.safe_load(edited)["paper_reproduction"]["snapshot"] == "epoch_pcd_2022-06-30"


def test_params_without_a_snapshot_line_are_refused():
    with pytest.raises(update.UpdateError, match="expected one top-level `snapshot:` line"):
        update.snapshot_value(Path("params.yaml"), b"analysis:\n  seed: 1\n")


# --- a new snapshot: fetched, built, summarised, left uncommitted --------------------------------------------


@dataclass
class Updated:
    repo: Path
    proc: object
    params_before: bytes
    head_before: str
    new_snapshot: str


@pytest.fixture(scope="module")
def updated(tmp_path_factory, upstream, quiet_dvc) -> Updated:
    """A clone with a contribution ahead of its data, updated from a snapshot with two new models (one of them
    the contributed one) and a row curate rejects (one real `dvc repro`)."""
    repo = make_clone(tmp_path_factory.mktemp("update"))
    (repo / AHEAD_FILE).write_text(AHEAD_TEXT)
    commit_all(repo, "Contribute a model ahead of the data")
    params_before = (repo / "params.yaml").read_bytes()
    head_before = sh("git", "rev-parse", "HEAD", cwd=repo).stdout
    upstream.serve(ok(snapshot_csv([*NEW_MODELS, NO_DOMAIN]), "gzip", last_modified=None))
    url = upstream.url.replace("notable_ai_models.csv", EXPORT_NAME)
    proc = mlsizes("update", "--url", url, *FAST, cwd=repo, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    new = f"epoch_notable_ai_models_{EXPORT_DATE}"
    return Updated(repo, proc, params_before, head_before, new)


def test_update_points_params_at_the_new_snapshot_changing_only_that_line(updated):
    after = (updated.repo / "params.yaml").read_bytes()
    assert yaml.safe_load(after)["snapshot"] == updated.new_snapshot
    before_lines, after_lines = updated.params_before.splitlines(), after.splitlines()
    changed = [(a, b) for a, b in zip(before_lines, after_lines, strict=True) if a != b]
    assert changed == [(f"snapshot: {CURRENT}".encode(), f"snapshot: {updated.new_snapshot}".encode())]
    assert b"# as_of:" in after  # comments kept


def test_update_builds_the_dataset_from_it(updated):
    with open(updated.repo / "data" / "curated" / "models.csv", newline="", encoding="utf-8") as handle:
        names = {row["name"] for row in csv.DictReader(handle)}
    assert {model["Model"] for model in NEW_MODELS} <= names
    curation = json.loads((updated.repo / "metrics" / "curation.json").read_text())
    assert curation["snapshot"] == updated.new_snapshot and curation["snapshot_date"] == EXPORT_DATE
    stale = sh(str(BIN / "dvc"), "status", cwd=updated.repo).stdout
    assert "up to date" in stale, stale


def test_update_leaves_its_changes_uncommitted(updated):
    assert sh("git", "rev-parse", "HEAD", cwd=updated.repo).stdout == updated.head_before
    changes = porcelain(updated.repo).splitlines()
    for line in (
        " M params.yaml",
        " M dvc.lock",
        " M data/curated/models.csv",
        f"?? data/raw/epoch/{updated.new_snapshot}.csv",
        f"?? data/raw/epoch/{updated.new_snapshot}.provenance.yaml",
    ):
        assert line in changes, changes
    assert not [path for path in raw_files(updated.repo) if ".fetch-" in path]


def test_update_summary_names_the_new_models_and_the_gap_verdict_and_ends_with_the_release_command(updated):
    out = updated.proc.stdout.splitlines()
    last_release = releases(updated.repo)[-1].version
    assert f"params.yaml: snapshot: {CURRENT} -> {updated.new_snapshot}; rebuilt with dvc repro" in out
    counts = next(line for line in out if line.startswith(f"against release {last_release}: "))
    assert counts.startswith(f"against release {last_release}: 2 added, 0 removed, ")
    assert "new models (2):" in out
    for model in NEW_MODELS:
        assert f"  {model['Model']}" in out
    # like with like: the last release's metrics recomputed with the current code, as update compares them
    headlines = compare.process(Paths.at(updated.repo), last_release, "workspace", current=("workspace",)).headlines
    assert headlines  # the 30B language model is in the gap: in-gap counts move
    verdict = out.index("gap verdict:")
    assert out[verdict + 1 : verdict + 1 + len(headlines)] == [f"  {line}" for line in headlines]
    assert f"dated {EXPORT_DATE} (the date in the file name {EXPORT_NAME})" in out
    version = EXPORT.strftime("%Y.%m.%d")
    assert out[-2] == f'git add -A && git commit -m "Build from {updated.new_snapshot}"'
    assert out[-1].startswith(f"mlsizes release {version} --notes \"Built from Epoch's snapshot of {EXPORT}: 2 added")
    assert "fetching http://127.0.0.1:" in updated.proc.stderr and "running dvc repro" in updated.proc.stderr


def section(out: list[str], title: str) -> list[str]:
    """The indented lines under a summary line starting with TITLE."""
    start = next(i for i, line in enumerate(out) if line.startswith(title))
    return list(itertools.takewhile(lambda line: line.startswith("  "), out[start + 1 :]))


def test_update_summary_says_everything(updated):
    """Measured on main: the update rejected the contribution the new upstream row superseded, and the new rows
    curate rejected, without a word. Every one is listed now, with every record entering or leaving the gap."""
    out = updated.proc.stdout.splitlines()
    assert "records entering the gap (1):" in out and section(out, "records entering the gap") == [
        "  updatetest-alpha-30b (30B, added)"
    ]
    assert "records leaving the gap: none" in out
    rejects = section(out, "new rejects (2):")
    superseded = (
        f"  Updatetest Alpha 30B ({AHEAD_FILE}): duplicate_id: the snapshot now has a record with this id: delete "
        "the contribution, or turn the values it adds into a correction"
    )
    assert rejects[0] == superseded
    assert rejects[1].startswith(f"  Updatetest Gamma (row 984 of epoch_notable_ai_models_{EXPORT_DATE}): missing_")
    header = next(line for line in out if line.startswith("contributions upstream now supersedes (1): "))
    assert "delete the file, or turn the values it adds into a correction" in header
    assert "`mlsizes release` refuses until then" in header
    assert section(out, "contributions upstream now supersedes") == [superseded]


def test_the_printed_commands_commit_and_release_it_then_nothing_is_new(updated, upstream):
    """Run the last two lines as printed; afterwards the same upstream content is nothing new, and a second
    release on the same day would get the next version."""
    repo, out = updated.repo, updated.proc.stdout.splitlines()
    sh("bash", "-c", out[-2], cwd=repo)
    head, tags = sh("git", "rev-parse", "HEAD", cwd=repo).stdout, sh("git", "tag", cwd=repo).stdout
    refused = sh("bash", "-c", out[-1], cwd=repo, check=False)  # the superseded contribution is still there
    assert_one_error_line(
        refused, f"error: 1 contribution files are superseded by records upstream now has ({AHEAD_FILE}): for each,"
    )
    assert "delete the file" in refused.stderr and "then release" in refused.stderr
    assert porcelain(repo) == "" and sh("git", "rev-parse", "HEAD", cwd=repo).stdout == head
    assert sh("git", "tag", cwd=repo).stdout == tags
    sh("git", "rm", "-q", AHEAD_FILE, cwd=repo)
    sh(str(BIN / "dvc"), "repro", cwd=repo)
    commit_all(repo, "Remove the contribution upstream now has")
    released = sh("bash", "-c", out[-1], cwd=repo).stdout
    version = EXPORT.strftime("%Y.%m.%d")
    assert releases(repo)[-1].version == version
    # the files of the release named, the site's pages counted: one line a person can read
    assert released.startswith(f"released {version}: commit ") and "dataset.yaml, CHANGELOG.md" in released
    assert re.search(r" and [\d,]+ files of the site in reports/site/\), tag ", released), released
    assert len(released) < 400, released
    assert porcelain(repo) == ""
    url = upstream.url.replace("notable_ai_models.csv", EXPORT_NAME)
    proc = mlsizes("update", "--url", url, *FAST, cwd=repo)
    assert proc.stdout.startswith(f"nothing new: {url} is identical to data/raw/epoch/{updated.new_snapshot}")
    assert porcelain(repo) == ""
    assert update.next_version(repo, EXPORT, releases(repo)) == f"{version}.1"


# --- nothing new, a failed rebuild, refusals ---------------------------------------------------------------


def test_unchanged_upstream_is_nothing_new_and_changes_nothing(clone, upstream):
    url = upstream.serve(ok(REAL_SNAPSHOT.read_bytes()))
    params = (clone / "params.yaml").read_bytes()
    proc = mlsizes("update", "--url", url, *FAST, cwd=clone)
    assert proc.stdout == f"nothing new: {url} is identical to data/raw/epoch/{CURRENT}.csv; nothing changed\n"
    assert porcelain(clone) == ""
    assert (clone / "params.yaml").read_bytes() == params


def _repeated(times: int) -> bytes:
    header, rest = REAL_SNAPSHOT.read_bytes().split(b"\n", 1)
    return header + b"\n" + rest * times


@pytest.mark.parametrize(
    "snapshot",
    [lambda: snapshot_csv(every_date="sometime"), lambda: _repeated(10)],
    ids=["every date unreadable", "every row ten times"],
)
def test_a_dvc_repro_that_fails_is_undone_entirely(clone, upstream, snapshot):
    """A snapshot that passes fetch's checks but curate refuses as misread (every date unreadable; every row
    repeated, which on main went through as "8820 added" with 240 language systems in the gap): the pipeline
    fails after params.yaml was edited, and the tree is put back as it was."""
    url = upstream.serve(ok(snapshot()))
    params, raw = (clone / "params.yaml").read_bytes(), raw_files(clone)
    proc = mlsizes("update", "--url", url, *FAST, cwd=clone, check=False)
    error = assert_one_error_line(
        proc, "error: dvc repro failed: failed to reproduce 'curate'", "(undone: params.yaml restored"
    )
    assert f"epoch_notable_ai_models_{EXPORT_DATE}.csv removed" in error
    assert (clone / "params.yaml").read_bytes() == params
    assert raw_files(clone) == raw
    assert porcelain(clone) == ""
    assert proc.stdout == ""


def test_uncommitted_changes_are_refused_before_fetching(clone, upstream):
    url = upstream.serve(ok(snapshot_csv(NEW_MODELS)))
    hits = upstream.hits
    (clone / "data" / "raw" / "contributions" / "draft.yaml").write_text("name: A draft\n")
    before, raw = porcelain(clone), raw_files(clone)
    proc = mlsizes("update", "--url", url, *FAST, cwd=clone, check=False)
    assert_one_error_line(proc, "uncommitted changes (1, e.g. data/raw/contributions/draft.yaml)")
    assert upstream.hits == hits
    assert porcelain(clone) == before and raw_files(clone) == raw


def test_a_failed_download_writes_nothing(clone, upstream):
    url = upstream.serve(status(404))
    params, raw = (clone / "params.yaml").read_bytes(), raw_files(clone)
    proc = mlsizes("update", "--url", url, *FAST, cwd=clone, check=False)
    assert_one_error_line(proc, f"error: {url}: HTTP 404 Not Found")
    assert (clone / "params.yaml").read_bytes() == params and raw_files(clone) == raw
    assert porcelain(clone) == ""


def test_an_export_without_a_date_asks_for_date_and_changes_nothing(clone, upstream):
    """Measured on main: an undated export was named and dated by the day `update` ran. Now it is refused before
    params.yaml is touched; with --date it would go through."""
    url = upstream.serve(ok(snapshot_csv(NEW_MODELS), last_modified=None))
    params, raw = (clone / "params.yaml").read_bytes(), raw_files(clone)
    proc = mlsizes("update", "--url", url, *FAST, cwd=clone, check=False)
    assert_one_error_line(proc, f"error: {url}: no date for this export", "give --date YYYY-MM-DD")
    assert (clone / "params.yaml").read_bytes() == params and raw_files(clone) == raw
    assert porcelain(clone) == "" and proc.stdout == ""
