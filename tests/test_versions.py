"""Dataset versions and diffs, on a real git repository built from the project with two real releases."""

import json
import os
import subprocess

import pytest
import yaml

from conftest import BIN, ROOT



def sh(*args, cwd, check=True):
    env = {**os.environ, "MLSIZES_ROOT": str(cwd), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


def mlsizes(*args, cwd, check=True):
    return sh(str(BIN / "mlsizes"), *args, cwd=cwd, check=check)


def commit_all(repo, message):
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", message, cwd=repo)


def build_release(repo, snapshot, version):
    """The release steps of the README: point params.yaml at a snapshot, `dvc repro`, commit, `mlsizes release`."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["snapshot"] = snapshot
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh(str(BIN / "dvc"), "repro", cwd=repo)
    commit_all(repo, f"Build from {snapshot}")
    mlsizes("release", version, "--notes", f"Built from {snapshot}.", "--date", snapshot[-10:], cwd=repo)


# Two test releases after the project's real ones (versions must be newer than 2026.03.10).
V1, V2 = "2026.12.01", "2026.12.01.2"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("history") / "repo"
    sh("git", "clone", "-q", str(ROOT), str(repo), cwd=ROOT)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):  # release commits
        sh("git", "config", key, value, cwd=repo)
    build_release(repo, "epoch_pcd_2022-06-02", V1)
    build_release(repo, "epoch_notable_ai_models_2026-03-10", V2)
    return repo


REAL_RELEASES = ["2022.06.02", "2022.06.30", "2022.09.01", "2024.07.16", "2026.03.10"]


def test_project_history_has_one_release_per_upstream_snapshot():
    listing = json.loads(mlsizes("versions", "--json", cwd=ROOT).stdout)
    assert [item["version"] for item in listing][:5] == REAL_RELEASES
    assert [item["snapshot"][-10:].replace("-", ".") for item in listing][:5] == REAL_RELEASES
    assert all(len(item["commit"]) == 40 and item["date"] for item in listing)
    assert listing[0]["headline"]["records"] == 320


def test_versions_lists_new_releases_after_the_real_ones(repo):
    listing = json.loads(mlsizes("versions", "--json", cwd=repo).stdout)
    assert [item["version"] for item in listing] == REAL_RELEASES + [V1, V2]
    assert listing[-2]["snapshot"] == "epoch_pcd_2022-06-02"


def test_gap_verdict_between_the_paper_era_and_newest_releases():
    result = json.loads(mlsizes("diff", "2022.06.30", "2026.03.10", "--json", cwd=ROOT).stdout)
    verdict = "\n".join(result["gap_verdict"])
    assert "in-gap language 2020-2022: 2 -> 6" in verdict
    assert "in-gap all systems (strict bounds): 0 -> " in verdict


def test_diff_between_releases_shows_real_changes(repo):
    result = json.loads(mlsizes("diff", V1, V2, "--json", cwd=repo).stdout)
    changes = {(c["id"], c["field"]): (c["old"], c["new"]) for c in result["changed"]}
    assert changes[("lamda", "publication_date")] == ("2022-10-02", "2022-02-10")
    # upstream renamed GPT-3 175B to "GPT-3 175B (davinci)": paired by its link, its size change shows
    assert changes[("gpt-3-175b-davinci", "parameters")] == ("175000000000.0", "174600000000.0")
    assert changes[("gpt-3-175b-davinci", "id")] == ("gpt-3-175b", "gpt-3-175b-davinci")
    # AlphaCode had no size in June 2022; its 41.1B now sits inside the 20B-70B gap
    assert changes[("alphacode", "parameters")] == ("", "41100000000.0")
    assert len(result["added"]) > 500
    curated = next(m for m in result["metrics"] if m["metric"] == "curated")
    assert (curated["old"], curated["new"], curated["change"]) == (324, 985, 661)


def test_diff_renders_table_and_markdown(repo):
    table = mlsizes("diff", V1, V2, cwd=repo).stdout
    assert "lamda" in table and "2022-10-02" in table and "Old" in table
    markdown = mlsizes("diff", V1, V2, "--md", cwd=repo).stdout
    assert markdown.startswith("## Dataset diff") and "| metric | Old | New | Change |" in markdown


def test_changelog_has_fixed_sections(repo):
    text = (repo / "CHANGELOG.md").read_text()
    assert text.index(f"## {V2} (") < text.index(f"## {V1} (")
    for section in ("New records", "Corrections", "Removed", "Validation changes", "Effect on the gap results"):
        assert f"### {section}" in text
    assert "lamda: publication_date 2022-10-02 -> 2022-02-10" in text


def test_diff_default_is_head_against_workspace(repo):
    assert "0 added, 0 removed, 0 changed" in mlsizes("diff", cwd=repo).stdout


@pytest.mark.parametrize("args, message", [
    ([V1, V1], "same revision"),
    ([V1, "no-such-rev"], "unknown revision or version 'no-such-rev'"),
    (["first-commit", V2], "predates the pipeline"),
])
def test_diff_errors_are_one_line(repo, args, message):
    if args[0] == "first-commit":
        args = [sh("git", "rev-list", "--max-parents=0", "HEAD", cwd=repo).stdout.strip(), V2]
    proc = mlsizes("diff", *args, cwd=repo, check=False)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr, proc.stderr


def test_a_release_is_a_commit_of_dataset_yaml_and_changelog_tagged_with_its_version(repo):
    assert sh("git", "cat-file", "-t", V2, cwd=repo).stdout.strip() == "tag"  # annotated
    tagged = sh("git", "rev-parse", f"{V2}^{{commit}}", cwd=repo).stdout.strip()
    assert tagged == sh("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()
    changed = sh("git", "show", "--name-only", "--format=", tagged, cwd=repo).stdout.split()
    assert sorted(changed) == ["CHANGELOG.md", "dataset.yaml"]
    assert yaml.safe_load((repo / "dataset.yaml").read_text())["version"] == V2


def test_versions_are_found_without_tags(repo, tmp_path):
    """A clone may lack tags: the releases still come from the history of dataset.yaml."""
    untagged = tmp_path / "untagged"
    sh("git", "clone", "-q", "--no-tags", str(repo), str(untagged), cwd=tmp_path)
    assert not sh("git", "tag", cwd=untagged).stdout.strip()
    listing = json.loads(mlsizes("versions", "--json", cwd=untagged).stdout)
    assert [item["version"] for item in listing][-2:] == [V1, V2]
    assert "lamda" in mlsizes("diff", V1, V2, cwd=untagged).stdout


def _state(repo):
    """Everything a refused release must leave alone: files, index, commits and tags."""
    return (sh("git", "status", "--porcelain", cwd=repo).stdout, sh("git", "rev-parse", "HEAD", cwd=repo).stdout,
            sh("git", "tag", cwd=repo).stdout, (repo / "dataset.yaml").read_bytes(),
            (repo / "CHANGELOG.md").read_bytes())


@pytest.mark.parametrize("args, message", [
    (["banana", "--notes", "A release."], "version 'banana': expected YYYY.MM.DD"),
    (["2026.02.30", "--notes", "A release."], "version '2026.02.30': expected YYYY.MM.DD"),
    (["2020.01.01", "--notes", "An old release."], f"version 2020.01.01 is not newer than the latest release {V2}"),
    ([V2, "--notes", "Again."], f"version {V2} already released"),
    (["2026.12.24"], "--notes is required"),
    (["2026.12.24", "--notes", "  "], "--notes is required"),
    (["2026.12.24", "--notes", "Nothing new."], f"nothing changed since release {V2}"),
], ids=["not-a-version", "impossible-date", "older", "reused", "no-notes", "blank-notes", "no-change"])
def test_release_refuses_mistakes_in_one_line_and_writes_nothing(repo, args, message):
    before = _state(repo)
    proc = mlsizes("release", *args, cwd=repo, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [f"error: {proc.stderr.strip().removeprefix('error: ')}"]
    assert message in proc.stderr, proc.stderr
    assert _state(repo) == before


def test_release_refuses_an_unbuilt_correction_and_uncommitted_changes(repo):
    """A correction committed without `dvc repro` leaves the curate stage stale; an uncommitted one, a dirty tree."""
    try:
        _refuse_unbuilt_correction(repo)
    finally:
        sh("git", "reset", "-q", "--hard", V2, cwd=repo)
        sh("git", "clean", "-qfd", cwd=repo)


def _refuse_unbuilt_correction(repo):
    mlsizes("add-model", "--correct", "lamda", "--parameters", "138B", "--reason", "Section 3 of the paper.",
            "--source", "https://arxiv.org/abs/2201.08239", cwd=repo)
    before = _state(repo)
    proc = mlsizes("release", "2026.12.24", "--notes", "A correction.", cwd=repo, check=False)
    assert proc.returncode == 1 and "uncommitted changes" in proc.stderr, proc.stderr
    assert _state(repo) == before
    commit_all(repo, "Correct LaMDA, not built")
    before = _state(repo)
    proc = mlsizes("release", "2026.12.24", "--notes", "A correction.", cwd=repo, check=False)
    assert proc.returncode == 1 and "not built: dvc status lists curate" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert _state(repo) == before


def test_rebuilding_a_release_from_its_raw_data_gives_what_git_holds():
    """--rebuild runs the release's own pipeline with dvc in a temporary worktree: same records, same metrics."""
    from mlsizes import diff

    rebuilt = diff.load_side(ROOT, "2022.06.30", rebuild=True)
    committed = diff.load_side(ROOT, "2022.06.30")
    assert rebuilt.models.equals(committed.models)
    assert rebuilt.metrics == committed.metrics
    assert "mlsizes-rebuild" not in sh("git", "worktree", "list", cwd=ROOT).stdout
