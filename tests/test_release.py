"""`mlsizes release`: a new release made the README's way (a correction, `dvc repro`, a commit, `mlsizes release`)
in a real git clone of the project, and every mistake a release must refuse.

The release is the one of the maintainer's round conftest's `flow` fixture runs once (tests/maintainer_flow.py):
a correction of LaMDA's size, built by `mlsizes update` with a new snapshot (checked in test_update.py), and the
printed release made, the second time (a failing pre-commit hook refuses the first)."""

import json
import os
import shlex

import pandas as pd
import pytest
import yaml

from conftest import commit_all, contributions_dir, mlsizes, sh
from maintainer_flow import NEW_SNAPSHOT, VERSION, correct_lamda, state
from test_versions import REAL_RELEASES

NEW = VERSION  # after the real ones: versions must be newer than 2026.03.10


@pytest.fixture(scope="module")
def repo(flow):
    return flow.repo


@pytest.fixture(scope="module")
def notes(flow) -> str:
    """The release's notes, as `update` printed them."""
    release = shlex.split(flow.updated.stdout.splitlines()[-1])
    return release[release.index("--notes") + 1]


def test_versions_lists_new_releases_after_the_real_ones(repo, notes):
    listing = json.loads(mlsizes("versions", "--json", cwd=repo).stdout)
    assert [item["version"] for item in listing] == REAL_RELEASES + [NEW]
    assert listing[-1]["snapshot"] == NEW_SNAPSHOT
    assert listing[-1]["notes"] == notes


def test_diff_renders_table_and_markdown(repo):
    table = mlsizes("diff", "--stored", "2026.03.10", NEW, cwd=repo).stdout
    assert "lamda" in table and "138B" in table and "Old" in table and "138000000000" not in table
    markdown = mlsizes("diff", "--stored", "2026.03.10", NEW, "--md", cwd=repo).stdout
    assert markdown.startswith("## Dataset diff") and "| metric | Old | New | Change |" in markdown


def test_changelog_entry_is_a_summary_linking_the_full_list(repo, notes):
    text = (repo / "CHANGELOG.md").read_text()
    entry = text[text.index(f"## {NEW} (") : text.index("## 2026.03.10 (")]
    for section in (
        "Entering the gap",
        "Largest size changes",
        "Corrections of key fields",
        "Gap and trend results that moved",
        "Validation changes",
    ):
        assert f"**{section}**" in entry
    assert notes in entry and "Compared with 2026.03.10: 2 new, 0 removed," in entry
    assert "lamda: parameters 137B -> 138B" in entry
    assert f"[changelog/{NEW}.md](changelog/{NEW}.md)" in entry
    full = (repo / "changelog" / f"{NEW}.md").read_text()
    assert "| lamda | parameters | 137B | 138B |" in full
    for artefact in ("None", "nan", "137000000000"):
        assert artefact not in entry and artefact not in full, artefact


def test_diff_default_is_head_against_workspace(repo):
    assert "0 added, 0 removed, 0 changed" in mlsizes("diff", "--stored", cwd=repo).stdout


def test_a_release_is_a_commit_of_dataset_yaml_and_changelog_tagged_with_its_version(repo):
    assert sh("git", "cat-file", "-t", NEW, cwd=repo).stdout.strip() == "tag"  # annotated
    tagged = sh("git", "rev-parse", f"{NEW}^{{commit}}", cwd=repo).stdout.strip()
    assert tagged == sh("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()
    changed = sh("git", "show", "--name-only", "--format=", tagged, cwd=repo).stdout.split()
    described = ["data/curated/README.md", "data/curated/datapackage.json", "dvc.lock"]  # they name the version
    # the new release's page and the one before's (its next link, its files no longer the current ones, its data
    # for the release menu, its files and figures), the downloads that name the version, their checksums, the list
    # of releases, and every record page, those of the records that left too (each lists every release)
    versions = [item["version"] for item in json.loads(mlsizes("versions", "--json", cwd=repo).stdout)]
    before = versions[-2]
    site = ["reports/site/index.html", *(f"reports/site/releases/{version}.html" for version in (before, NEW))]
    site += [f"reports/site/{name}" for name in ("downloads.html", "SHA256SUMS", "downloads/README.md")]
    site += [
        "reports/site/downloads/datapackage.json",
        "reports/site/data/releases.js",
        f"reports/site/data/{before}.js",
    ]
    for folder in ("downloads", "figures"):  # the one before's files and figures, now an older release's
        site += [
            f"reports/site/{folder}/{before}/{name}" for name in os.listdir(repo / "reports/site" / folder / before)
        ]
    records = [name for name in changed if name.startswith("reports/site/records/")]
    assert len(records) == len(list((repo / "reports" / "site" / "records").glob("*.html")))
    assert len(records) > len(pd.read_csv(repo / "data" / "curated" / "models.csv"))
    others = sorted(set(changed) - set(records))
    assert others == sorted(["CHANGELOG.md", f"changelog/{NEW}.md", "dataset.yaml", *described, *site])
    assert yaml.safe_load((repo / "dataset.yaml").read_text())["version"] == NEW
    assert json.loads((repo / "data" / "curated" / "datapackage.json").read_text())["version"] == NEW


def test_versions_are_found_without_tags(repo, tmp_path):
    """A clone may lack tags: the releases still come from the history of dataset.yaml."""
    untagged = tmp_path / "untagged"
    sh("git", "clone", "-q", "--no-tags", str(repo), str(untagged), cwd=tmp_path)
    assert not sh("git", "tag", cwd=untagged).stdout.strip()
    listing = json.loads(mlsizes("versions", "--json", cwd=untagged).stdout)
    assert [item["version"] for item in listing][-2:] == ["2026.03.10", NEW]
    assert "lamda" in mlsizes("diff", "--stored", "2026.03.10", NEW, cwd=untagged).stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["banana", "--notes", "A release."], "version 'banana': expected YYYY.MM.DD"),
        (["2026.02.30", "--notes", "A release."], "version '2026.02.30': expected YYYY.MM.DD"),
        (
            ["2020.01.01", "--notes", "An old release."],
            f"version 2020.01.01 is not newer than the latest release {NEW}",
        ),
        ([NEW, "--notes", "Again."], f"version {NEW} already released"),
        (["2026.12.24", "--notes", "  "], "--notes is required"),
        (["2026.12.24", "--notes", "Nothing new."], f"nothing changed since release {NEW}"),
        (["9999.12.31", "--notes", "Far ahead."], "version 9999.12.31 is more than a year after the data's date"),
    ],
    ids=["not-a-version", "impossible-date", "older", "reused", "blank-notes", "no-change", "far-future"],
)
def test_release_refuses_mistakes_in_one_line_and_writes_nothing(repo, args, message):
    before = state(repo)
    proc = mlsizes("release", *args, cwd=repo, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()  # progress lines (a release's metrics recomputed), then one error
    assert [line for line in lines if line.startswith("error: ")] == lines[-1:], proc.stderr
    assert message in proc.stderr, proc.stderr
    assert state(repo) == before


def test_release_refuses_an_unbuilt_correction_and_uncommitted_changes(repo):
    """A correction committed without `dvc repro` leaves the curate stage stale; an uncommitted one, a dirty tree."""
    try:
        _refuse_unbuilt_correction(repo)
    finally:
        sh("git", "reset", "-q", "--hard", NEW, cwd=repo)
        sh("git", "clean", "-qfd", cwd=repo)


def _refuse_unbuilt_correction(repo):
    correct_lamda(repo, "139B")
    before = state(repo)
    proc = mlsizes("release", "2026.12.24", "--notes", "A correction.", cwd=repo, check=False)
    assert proc.returncode == 1 and "uncommitted changes" in proc.stderr, proc.stderr
    assert state(repo) == before
    commit_all(repo, "Correct LaMDA, not built")
    before = state(repo)
    proc = mlsizes("release", "2026.12.24", "--notes", "A correction.", cwd=repo, check=False)
    assert proc.returncode == 1 and "not built: dvc status lists curate" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert state(repo) == before


def test_a_release_whose_commit_fails_leaves_the_tree_as_it_was(flow):
    """Measured on main: with a failing pre-commit hook, `release` exited 1 ("pathspec ... did not match") and left
    dataset.yaml at the new version, the changelog and site pages modified and new files untracked. Now the
    attempt is undone whole: same commit, clean tree, no tag (and the same release goes through once the hook is
    gone: the `flow` fixture)."""
    proc = flow.hook_refused
    assert proc.returncode == 1 and "refused by a hook" in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()  # progress lines (the last release recomputed), then one error
    assert [line for line in lines if line.startswith("error:")] == [lines[-1]]
    assert flow.untracked_hook == ""
    assert flow.after_hook[1] == flow.head_fixed
    assert flow.after_hook == flow.before_hook


def test_release_refuses_contribution_files_validate_fails_or_upstream_supersedes(project):
    """The checks `release` makes of the contributions (the end-to-end refusal after an update is in
    test_update.py): a file `mlsizes validate` refuses, and one rejected.csv says a record now stands for."""
    from mlsizes.core.paths import Paths
    from mlsizes.releases.revisions import VersionError
    from mlsizes.workflows import release

    paths = Paths.at(project)
    header = "source,source_row,name,reject_code,reject_field,reject_value,reject_message\n"
    paths.rejected.write_text(header)
    release.check_contributions(paths)  # nothing to refuse
    bad = contributions_dir(project) / "bad-model.yaml"
    bad.write_text("id: bad-model\nname: Bad Model\norganization: Lab\ndomains: Language\n"
                   "publication_date: '2024-01-01'\nparameters: lots\nlink: https://testlab.dev\n")  # fmt: skip
    with pytest.raises(VersionError, match=r"`mlsizes validate` fails on 1 contribution files \(e.g\. "
                       r"data/raw/contributions/bad-model.yaml: parameters: .*\): fix or delete them"):  # fmt: skip
        release.check_contributions(paths)
    bad.unlink()
    paths.rejected.write_text(
        header + "contribution:phi-2.yaml,1,Phi-2,duplicate_id,id,phi-2,the snapshot now has a record with this id\n"
    )
    with pytest.raises(VersionError, match=r"1 contribution files are superseded by records upstream now has "
                       r"\(data/raw/contributions/phi-2.yaml\): for each, delete the file"):  # fmt: skip
        release.check_contributions(paths)
