"""One maintainer's round on a real git clone of the project, run once per test session (conftest's `flow`
fixture) and recorded step by step for test_update.py and test_release.py to check: a contribution ahead of the
data and a correction of LaMDA's size committed, `mlsizes update` from a real HTTP server on 127.0.0.1 serving a
new snapshot (a real `dvc repro` builds both), the printed commit, the printed release refused (a contribution
upstream now supersedes), the contribution deleted, `dvc repro`, a commit, the release refused by a failing
pre-commit hook (and undone), the printed release, and `update` again (nothing new). One full build and one release
serve both files, as one clone serves a maintainer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from conftest import BIN, RAW, ROOT, commit_all, mlsizes, sh, use_small_counts
from mlsizes.core.paths import Paths
from mlsizes.releases.revisions import releases
from mlsizes.workflows import compare
from test_fetch import EXPORT_DATE, ok, serving

REAL_SNAPSHOT = RAW / "epoch_notable_ai_models_2026-03-10.csv"
CURRENT = "epoch_notable_ai_models_2026-03-10"
FAST = ["--backoff", "0.01", "--timeout", "10"]
# The export the issue was found with: named by its date, served with test_fetch's Last-Modified (the same date).
EXPORT = dt.date.fromisoformat(EXPORT_DATE)
EXPORT_NAME = f"notable_ai_models_{EXPORT_DATE}.csv"
NEW_SNAPSHOT = f"epoch_notable_ai_models_{EXPORT_DATE}"
VERSION = EXPORT.strftime("%Y.%m.%d")  # the release `update` prints, after the real ones
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
LAMDA_SOURCE = "https://arxiv.org/abs/2201.08239"


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


def make_clone(folder: Path) -> Path:
    """A git clone of the project with a git identity, DVC's update check off (in the untracked local config, so
    the tree stays clean; written as `dvc config --local core.check_update false` writes it, without starting
    DVC) and the study's small simulation counts committed (conftest.SMALL_COUNTS: an update rebuilds every
    stage)."""
    repo = folder / "repo"
    sh("git", "clone", "-q", "--shared", str(ROOT), str(repo), cwd=ROOT)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):
        sh("git", "config", key, value, cwd=repo)
    (repo / ".dvc" / "config.local").write_text("[core]\n    check_update = false\n")
    use_small_counts(repo / "params.yaml")
    commit_all(repo, "Small simulation counts for tests")
    assert porcelain(repo) == ""
    return repo


def porcelain(repo: Path) -> str:
    return sh("git", "status", "--porcelain", "--untracked-files=all", cwd=repo).stdout


def raw_files(repo: Path) -> list[str]:
    """Every file and folder under data/raw/ (hidden staging folders included)."""
    return sorted(str(path.relative_to(repo)) for path in (repo / "data" / "raw").rglob("*"))


def head(repo: Path) -> str:
    return sh("git", "rev-parse", "HEAD", cwd=repo).stdout


def correct_lamda(repo, parameters):
    mlsizes(
        "add-model",
        "--correct",
        "lamda",
        "--parameters",
        parameters,
        "--reason",
        "Section 3 of the LaMDA paper gives the size.",
        "--source",
        LAMDA_SOURCE,
        cwd=repo,
    )


def state(repo):
    """Everything a refused release must leave alone: files, index, commits and tags."""
    return (
        sh("git", "status", "--porcelain", cwd=repo).stdout,
        head(repo),
        sh("git", "tag", cwd=repo).stdout,
        (repo / "dataset.yaml").read_bytes(),
        (repo / "CHANGELOG.md").read_bytes(),
    )


@dataclass
class Flow:
    """What each step printed, and the clone as the steps left it (a field per observation, in step order)."""

    repo: Path
    url: str  # where the new snapshot was served
    # before `update`: the clone with a contribution ahead of its data and a correction committed
    params_before: bytes
    head_before: str
    last_release: str
    # `update`, and the clone just after it
    updated: subprocess.CompletedProcess
    params: bytes
    head_updated: str
    porcelain_updated: str
    raw_updated: list[str]
    names_updated: set[str]  # of the curated table
    curation_updated: dict  # metrics/curation.json
    dvc_status_updated: str
    headlines: list[str]  # the last release's gap results against the workspace's, as update compares them
    # the printed commit, then the printed release, refused (the superseded contribution is still there)
    head_committed: str
    tags_committed: str
    superseded: subprocess.CompletedProcess
    porcelain_superseded: str
    head_superseded: str
    tags_superseded: str
    # the contribution deleted, `dvc repro`, a commit; the release refused by a pre-commit hook
    head_fixed: str
    before_hook: tuple  # state() before the attempt
    hook_refused: subprocess.CompletedProcess
    after_hook: tuple  # state() after it
    untracked_hook: str  # `git status` after it, untracked files listed one by one
    # the printed release, then `update` again
    released: str  # its stdout
    porcelain_released: str
    again: subprocess.CompletedProcess
    porcelain_again: str


def run(folder: Path) -> Flow:
    """The round, with the commands `update` prints run as printed (one full `dvc repro` by `update`, a short one
    after the fix, one release that goes through)."""
    repo = make_clone(folder)
    (repo / AHEAD_FILE).write_text(AHEAD_TEXT)
    correct_lamda(repo, "138B")
    commit_all(repo, "Contribute a model ahead of the data; correct LaMDA's size")
    seen = dict(repo=repo, params_before=(repo / "params.yaml").read_bytes(), head_before=head(repo))
    seen["last_release"] = releases(repo)[-1].version
    with serving() as upstream:
        upstream.serve(ok(snapshot_csv([*NEW_MODELS, NO_DOMAIN]), "gzip", last_modified=None))
        seen["url"] = url = upstream.url.replace("notable_ai_models.csv", EXPORT_NAME)
        seen["updated"] = updated = mlsizes("update", "--url", url, *FAST, cwd=repo, check=False)
        assert updated.returncode == 0, updated.stdout + updated.stderr
        with open(repo / "data" / "curated" / "models.csv", newline="", encoding="utf-8") as handle:
            seen["names_updated"] = {row["name"] for row in csv.DictReader(handle)}
        seen.update(
            params=(repo / "params.yaml").read_bytes(),
            head_updated=head(repo),
            porcelain_updated=porcelain(repo),
            raw_updated=raw_files(repo),
            curation_updated=json.loads((repo / "metrics" / "curation.json").read_text()),
            dvc_status_updated=sh(str(BIN / "dvc"), "status", cwd=repo).stdout,
            headlines=compare.process(
                Paths.at(repo), seen["last_release"], "workspace", current=("workspace",)
            ).headlines,
        )
        commit_line, release_line = updated.stdout.splitlines()[-2:]
        sh("bash", "-c", commit_line, cwd=repo)
        seen.update(head_committed=head(repo), tags_committed=sh("git", "tag", cwd=repo).stdout)
        seen["superseded"] = sh("bash", "-c", release_line, cwd=repo, check=False)
        seen.update(
            porcelain_superseded=porcelain(repo),
            head_superseded=head(repo),
            tags_superseded=sh("git", "tag", cwd=repo).stdout,
        )
        sh("git", "rm", "-q", AHEAD_FILE, cwd=repo)
        sh(str(BIN / "dvc"), "repro", cwd=repo)
        commit_all(repo, "Remove the contribution upstream now has")
        seen.update(head_fixed=head(repo), before_hook=state(repo))
        hook = repo / ".git" / "hooks" / "pre-commit"
        hook.write_text("#!/bin/sh\necho 'refused by a hook' >&2\nexit 1\n")
        hook.chmod(0o755)
        seen["hook_refused"] = mlsizes(*shlex.split(release_line)[1:], cwd=repo, check=False)
        seen.update(untracked_hook=porcelain(repo), after_hook=state(repo))
        hook.unlink()
        seen["released"] = sh("bash", "-c", release_line, cwd=repo).stdout
        seen["porcelain_released"] = porcelain(repo)
        seen["again"] = mlsizes("update", "--url", url, *FAST, cwd=repo)
    return Flow(**seen, porcelain_again=porcelain(repo))
