"""Dataset versions and diffs, on a real git repository built from the project with two real releases."""

import json
import os
import subprocess

import pytest
import yaml

from conftest import BIN, ROOT

GIT_ID = ["-c", "user.name=Test", "-c", "user.email=test@example.org"]


def sh(*args, cwd, check=True):
    env = {**os.environ, "MLSIZES_ROOT": str(cwd)}
    proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


def mlsizes(*args, cwd, check=True):
    return sh(str(BIN / "mlsizes"), *args, cwd=cwd, check=check)


def build_release(repo, snapshot, version):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["snapshot"] = snapshot
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    mlsizes("curate", f"data/raw/epoch/{snapshot}.csv", "--out", "data/curated", "--metrics",
            "metrics/curation.json", cwd=repo)
    mlsizes("release", version, "--notes", f"Built from {snapshot}.", "--date", snapshot[-10:], cwd=repo)
    sh("git", *GIT_ID, "commit", "-qam", f"Release {version}", cwd=repo)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("history") / "repo"
    sh("git", "clone", "-q", str(ROOT), str(repo), cwd=ROOT)
    build_release(repo, "epoch_pcd_2022-06-02", "t1")
    build_release(repo, "epoch_notable_ai_models_2026-03-10", "t2")
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
    assert [item["version"] for item in listing] == REAL_RELEASES + ["t1", "t2"]
    assert listing[-2]["snapshot"] == "epoch_pcd_2022-06-02"


def test_gap_verdict_between_the_paper_era_and_newest_releases():
    result = json.loads(mlsizes("diff", "2022.06.30", "2026.03.10", "--json", cwd=ROOT).stdout)
    verdict = "\n".join(result["gap_verdict"])
    assert "in-gap language 2020-2022: 2 -> 6" in verdict
    assert "in-gap all systems (strict bounds): 0 -> " in verdict


def test_diff_between_releases_shows_real_changes(repo):
    result = json.loads(mlsizes("diff", "t1", "t2", "--json", cwd=repo).stdout)
    changes = {(c["id"], c["field"]): (c["old"], c["new"]) for c in result["changed"]}
    assert changes[("lamda", "publication_date")] == ("2022-10-02", "2022-02-10")
    # upstream renamed GPT-3 175B to "GPT-3 175B (davinci)": paired by its link, its size change shows
    assert changes[("gpt-3-175b-davinci", "parameters")] == ("175000000000.0", "174600000000.0")
    assert changes[("gpt-3-175b-davinci", "id")] == ("gpt-3-175b", "gpt-3-175b-davinci")
    # AlphaCode had no size in June 2022; its 41.1B now sits inside the 20B-70B gap
    assert changes[("alphacode", "parameters")] == ("", "41100000000.0")
    assert len(result["added"]) > 500
    curated = next(m for m in result["metrics"] if m["metric"] == "curated")
    assert (curated["old"], curated["new"], curated["change"]) == (320, 980, 660)


def test_diff_renders_table_and_markdown(repo):
    table = mlsizes("diff", "t1", "t2", cwd=repo).stdout
    assert "lamda" in table and "2022-10-02" in table and "Old" in table
    markdown = mlsizes("diff", "t1", "t2", "--md", cwd=repo).stdout
    assert markdown.startswith("## Dataset diff") and "| metric | Old | New | Change |" in markdown


def test_changelog_has_fixed_sections(repo):
    text = (repo / "CHANGELOG.md").read_text()
    assert text.index("## t2") < text.index("## t1")
    for section in ("New records", "Corrections", "Removed", "Validation changes", "Effect on the gap results"):
        assert f"### {section}" in text
    assert "lamda: publication_date 2022-10-02 -> 2022-02-10" in text


def test_diff_default_is_head_against_workspace(repo):
    assert "0 added, 0 removed, 0 changed" in mlsizes("diff", cwd=repo).stdout


@pytest.mark.parametrize("args, message", [
    (["t1", "t1"], "same revision"),
    (["t1", "no-such-rev"], "unknown revision or version 'no-such-rev'"),
    (["first-commit", "t2"], "predates the pipeline"),
])
def test_diff_errors_are_one_line(repo, args, message):
    if args[0] == "first-commit":
        args = [sh("git", "rev-list", "--max-parents=0", "HEAD", cwd=repo).stdout.strip(), "t2"]
    proc = mlsizes("diff", *args, cwd=repo, check=False)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr, proc.stderr


def test_release_refuses_a_reused_version(repo):
    proc = mlsizes("release", "t1", cwd=repo, check=False)
    assert proc.returncode == 1 and "already released" in proc.stderr


def test_rebuilding_a_release_from_its_raw_data_gives_what_git_holds():
    """--rebuild runs the release's own pipeline with dvc in a temporary worktree: same records, same metrics."""
    from mlsizes import diff

    rebuilt = diff.load_side(ROOT, "2022.06.30", rebuild=True)
    committed = diff.load_side(ROOT, "2022.06.30")
    assert rebuilt.models.equals(committed.models)
    assert rebuilt.metrics == committed.metrics
    assert "mlsizes-rebuild" not in sh("git", "worktree", "list", cwd=ROOT).stdout
