"""`mlsizes update` in real git clones of the project, against a real HTTP server on 127.0.0.1 serving the newest
real snapshot: with two new models (fetched, params.yaml pointed at it, a real `dvc repro`, the summary, and the
printed commands run as printed), unchanged (nothing new), broken so that `dvc repro` fails (everything undone),
and refused before anything is fetched (uncommitted changes) or stored (a failed download).

The successful update is the first step of the maintainer's round conftest's `flow` fixture runs once (a clone
rebuilt by `dvc repro`, tests/maintainer_flow.py), whose release test_release.py checks; the other cases need no
rebuild, each in a fresh clone (a local clone takes a second).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import yaml

from conftest import mlsizes
from maintainer_flow import (
    AHEAD_FILE,
    CURRENT,
    EXPORT,
    EXPORT_DATE,
    EXPORT_NAME,
    FAST,
    NEW_MODELS,
    NEW_SNAPSHOT,
    REAL_SNAPSHOT,
    VERSION,
    make_clone,
    porcelain,
    raw_files,
    snapshot_csv,
)
from mlsizes.releases.revisions import releases
from mlsizes.workflows import update
from test_fetch import ok, serving, status


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


@pytest.fixture
def clone(tmp_path, quiet_dvc) -> Path:
    return make_clone(tmp_path)


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


def test_update_points_params_at_the_new_snapshot_changing_only_that_line(flow):
    assert yaml.safe_load(flow.params)["snapshot"] == NEW_SNAPSHOT
    before_lines, after_lines = flow.params_before.splitlines(), flow.params.splitlines()
    changed = [(a, b) for a, b in zip(before_lines, after_lines, strict=True) if a != b]
    assert changed == [(f"snapshot: {CURRENT}".encode(), f"snapshot: {NEW_SNAPSHOT}".encode())]
    assert b"# as_of:" in flow.params  # comments kept


def test_update_builds_the_dataset_from_it(flow):
    assert {model["Model"] for model in NEW_MODELS} <= flow.names_updated
    curation = flow.curation_updated
    assert curation["snapshot"] == NEW_SNAPSHOT and curation["snapshot_date"] == EXPORT_DATE
    assert "up to date" in flow.dvc_status_updated, flow.dvc_status_updated


def test_update_leaves_its_changes_uncommitted(flow):
    assert flow.head_updated == flow.head_before
    changes = flow.porcelain_updated.splitlines()
    for line in (
        " M params.yaml",
        " M dvc.lock",
        " M data/curated/models.csv",
        f"?? data/raw/epoch/{NEW_SNAPSHOT}.csv",
        f"?? data/raw/epoch/{NEW_SNAPSHOT}.provenance.yaml",
    ):
        assert line in changes, changes
    assert not [path for path in flow.raw_updated if ".fetch-" in path]


def test_update_summary_names_the_new_models_and_the_gap_verdict_and_ends_with_the_release_command(flow):
    out = flow.updated.stdout.splitlines()
    last_release = flow.last_release
    assert f"params.yaml: snapshot: {CURRENT} -> {NEW_SNAPSHOT}; rebuilt with dvc repro" in out
    counts = next(line for line in out if line.startswith(f"against release {last_release}: "))
    assert counts.startswith(f"against release {last_release}: 2 added, 0 removed, ")
    assert "new models (2):" in out
    for model in NEW_MODELS:
        assert f"  {model['Model']}" in out
    # like with like: the last release's metrics recomputed with the current code, as update compares them
    headlines = flow.headlines
    assert headlines  # the 30B language model is in the gap: in-gap counts move
    verdict = out.index("gap verdict:")
    assert out[verdict + 1 : verdict + 1 + len(headlines)] == [f"  {line}" for line in headlines]
    assert f"dated {EXPORT_DATE} (the date in the file name {EXPORT_NAME})" in out
    assert out[-2] == f'git add -A && git commit -m "Build from {NEW_SNAPSHOT}"'
    assert out[-1].startswith(f"mlsizes release {VERSION} --notes \"Built from Epoch's snapshot of {EXPORT}: 2 added")
    assert "fetching http://127.0.0.1:" in flow.updated.stderr and "running dvc repro" in flow.updated.stderr


def section(out: list[str], title: str) -> list[str]:
    """The indented lines under a summary line starting with TITLE."""
    start = next(i for i, line in enumerate(out) if line.startswith(title))
    return list(itertools.takewhile(lambda line: line.startswith("  "), out[start + 1 :]))


def test_update_summary_says_everything(flow):
    """Measured on main: the update rejected the contribution the new upstream row superseded, and the new rows
    curate rejected, without a word. Every one is listed now, with every record entering or leaving the gap."""
    out = flow.updated.stdout.splitlines()
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
    assert rejects[1].startswith(f"  Updatetest Gamma (row 984 of {NEW_SNAPSHOT}): missing_")
    header = next(line for line in out if line.startswith("contributions upstream now supersedes (1): "))
    assert "delete the file, or turn the values it adds into a correction" in header
    assert "`mlsizes release` refuses until then" in header
    assert section(out, "contributions upstream now supersedes") == [superseded]


def test_the_printed_release_is_refused_while_a_superseded_contribution_is_there(flow):
    """The printed commit, then the printed release: refused, with nothing written, until the contribution upstream
    now has is deleted."""
    assert flow.head_committed != flow.head_updated and flow.porcelain_superseded == ""
    assert_one_error_line(
        flow.superseded,
        f"error: 1 contribution files are superseded by records upstream now has ({AHEAD_FILE}): for each,",
    )
    assert "delete the file" in flow.superseded.stderr and "then release" in flow.superseded.stderr
    assert flow.head_superseded == flow.head_committed and flow.tags_superseded == flow.tags_committed


def test_the_printed_release_goes_through_once_it_is_fixed_then_nothing_is_new(flow):
    """The contribution deleted, `dvc repro`, a commit: the printed release is made;
    afterwards the same upstream content is nothing new, and a second release on the same day would get the next
    version."""
    repo, released = flow.repo, flow.released
    assert releases(repo)[-1].version == VERSION
    # the files of the release named, the site's pages counted: one line a person can read
    assert released.startswith(f"released {VERSION}: commit ") and "dataset.yaml, CHANGELOG.md" in released
    assert re.search(r" and [\d,]+ files of the site in reports/site/\), tag ", released), released
    assert len(released) < 400, released
    assert flow.porcelain_released == ""
    assert flow.again.stdout.startswith(f"nothing new: {flow.url} is identical to data/raw/epoch/{NEW_SNAPSHOT}")
    assert flow.porcelain_again == ""
    assert update.next_version(repo, EXPORT, releases(repo)) == f"{VERSION}.1"


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
