"""Dataset versions and diffs on the project's own git history: its five real releases, one per upstream
snapshot (`mlsizes release` itself is tested in test_release.py)."""

import json
import re

import pytest

from conftest import ROOT, commit_all, mlsizes, sh

REAL_RELEASES = ["2022.06.02", "2022.06.30", "2022.09.01", "2024.07.16", "2026.03.10"]


def test_project_history_has_one_release_per_upstream_snapshot():
    listing = json.loads(mlsizes("versions", "--json", cwd=ROOT).stdout)
    assert [item["version"] for item in listing][:5] == REAL_RELEASES
    assert [item["snapshot"][-10:].replace("-", ".") for item in listing][:5] == REAL_RELEASES
    assert all(len(item["commit"]) == 40 and item["date"] for item in listing)
    assert listing[0]["headline"]["records"] == 320


def test_gap_verdict_between_the_paper_era_and_newest_releases():
    result = json.loads(mlsizes("diff", "2022.06.30", "2026.03.10", "--json", cwd=ROOT).stdout)
    verdict = "\n".join(result["gap_verdict"])
    assert "in-gap language 2020-2022: 2 -> 6" in verdict
    assert "in-gap all systems (strict bounds): 0 -> " in verdict


def test_diff_between_real_releases_shows_real_changes():
    result = json.loads(mlsizes("diff", "2022.06.02", "2026.03.10", "--json", cwd=ROOT).stdout)
    changes = {(c["id"], c["field"]): (c["old"], c["new"]) for c in result["changed"]}
    assert changes[("lamda", "publication_date")] == ("2022-10-02", "2022-02-10")
    # upstream renamed GPT-3 175B to "GPT-3 175B (davinci)": paired by its link, its size change shows
    assert changes[("gpt-3-175b-davinci", "parameters")] == ("175000000000.0", "174600000000.0")
    assert changes[("gpt-3-175b-davinci", "id")] == ("gpt-3-175b", "gpt-3-175b-davinci")
    # AlphaCode had no size in June 2022; its 41.1B now sits inside the 20B-70B gap
    assert changes[("alphacode", "parameters")] == ("", "41100000000.0")
    assert len(result["added"]) > 500
    curated = next(m for m in result["metrics"] if m["metric"] == "curated")
    assert (curated["old"], curated["new"], curated["change"]) == (320, 985, 665)


@pytest.mark.parametrize(
    "args, message",
    [
        (["2026.03.10", "2026.03.10"], "same revision"),
        (["2026.03.10", "no-such-rev"], "unknown revision or version 'no-such-rev'"),
        (["first-commit", "2026.03.10"], "predates the pipeline"),
    ],
)
def test_diff_errors_are_one_line(args, message):
    if args[0] == "first-commit":
        args = [sh("git", "rev-list", "--max-parents=0", "HEAD", cwd=ROOT).stdout.strip(), "2026.03.10"]
    proc = mlsizes("diff", *args, cwd=ROOT, check=False)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr, proc.stderr


def test_rebuilding_a_release_from_its_raw_data_gives_what_git_holds():
    """--rebuild runs the release's own pipeline with dvc in a temporary worktree: same records, same metrics."""
    from mlsizes.releases import diff

    rebuilt = diff.load_side(ROOT, "2022.06.30", rebuild=True)
    committed = diff.load_side(ROOT, "2022.06.30")
    assert rebuilt.models.equals(committed.models)
    assert rebuilt.metrics == committed.metrics
    assert "mlsizes-rebuild" not in sh("git", "worktree", "list", cwd=ROOT).stdout


def test_markdown_diff_fits_a_pull_request_comment_summary_first():
    markdown = mlsizes("diff", "2022.06.02", "2026.03.10", "--md", cwd=ROOT).stdout
    assert len(markdown) <= 60_000  # a pull-request comment holds 65,536 characters
    assert markdown.index("### Summary") < markdown.index("<details>") < markdown.index("</details>")
    for notable in (
        "**Entering the gap**",
        "bloomberggpt (50.6B, added)",
        "**Largest size changes**",
        "**Corrections of key fields**",
        "in-gap language systems (strict bounds): 0 -> 24",
    ):
        assert notable in markdown, notable
    assert "... and " in markdown  # long lists are cut, not dropped silently
    for artefact in ("None", "nan |", "247000000.00000003", "5355584.0"):
        assert artefact not in markdown, artefact
    assert not re.search(r"\d{4,}\.0\b", markdown)  # no float-printed counts
    full = mlsizes("diff", "2022.06.02", "2026.03.10", "--md", "--full", cwd=ROOT).stdout
    assert len(full) > 60_000 and "... and " not in full.split("<details>")[1]


def test_a_small_diff_still_shows_lamdas_date_fix_and_no_unchanged_results():
    markdown = mlsizes("diff", "2022.06.02", "2022.06.30", "--md", cwd=ROOT).stdout
    assert "lamda: publication_date 2022-10-02 -> 2022-02-10" in markdown
    for line in (line for line in markdown.splitlines() if line.startswith("- in-gap")):
        counts, p = line.split(": ", 1)[1].split("; P(K<=obs) ")
        assert counts.split(" -> ")[0] != counts.split(" -> ")[1] or p.split(" -> ")[0] != p.split(" -> ")[1], line


def test_conflicting_output_formats_are_a_usage_error():
    result = mlsizes("diff", "2022.06.02", "2022.06.30", "--md", "--json", cwd=ROOT, check=False)
    assert result.returncode == 2 and "--md" in result.stderr and "--json" in result.stderr


def test_diff_plot_draws_the_chart_diff(tmp_path):
    result = mlsizes("diff", "2022.06.02", "2022.06.30", "--plot", str(tmp_path / "chart.png"), cwd=ROOT)
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "11 added" in result.stderr and "lamda" in result.stdout


def test_a_hostile_dataset_yaml_in_history_names_no_release_and_hangs_nothing(tmp_path):
    """Measured on main: an alias bomb as `version:` in a committed dataset.yaml made `versions` take 206 s and
    `diff` hang; a `!!python` tag gave a raw ConstructorError. dataset.yaml is read as untrusted text: such a
    commit names no release, and the releases around it are listed as before."""
    import subprocess
    import sys

    repo = tmp_path / "repo"
    repo.mkdir()
    sh("git", "init", "-q", cwd=repo)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):
        sh("git", "config", key, value, cwd=repo)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n" for previous, name in zip("abcdefg", "bcdefgh")
    )
    texts = [
        "version: 2026.01.01\ndate: 2026-01-01\nsnapshot: s1\n",
        bomb + "version: *h\n",
        "version: !!python/object/apply:os.system ['true']\n",
        "version: 2026.02.01\ndate: 2026-02-01\nsnapshot: s2\n",
    ]
    for number, text in enumerate(texts):
        (repo / "dataset.yaml").write_text(text)
        sh("git", "add", "dataset.yaml", cwd=repo)
        sh("git", "commit", "-q", "-m", f"commit {number}", cwd=repo)
    code = (
        "import sys\nfrom mlsizes.releases import revisions\n"
        "print([release.version for release in revisions.releases(sys.argv[1])])"
    )
    # In a fresh interpreter, with a bound on a hung run (not a speed requirement).
    proc = subprocess.run([sys.executable, "-c", code, str(repo)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['2026.01.01', '2026.02.01']"


# ---- versions whose files are damaged (issue 22, case 14: each gave a traceback on main)

GOOD_RELEASE = "2026.01.01"
DAMAGED_RELEASE = "2026.02.01"
MODELS = "data/curated/models.csv"


def release_repo(folder, damage: dict[str, bytes]):
    """A git repository with two releases: GOOD_RELEASE holds the project's own files (its first 30 records),
    DAMAGED_RELEASE the same with the files in `damage` replaced by those bytes."""
    import shutil

    folder.mkdir()
    sh("git", "init", "-q", cwd=folder)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):
        sh("git", "config", key, value, cwd=folder)
    shutil.copy(ROOT / "dvc.yaml", folder / "dvc.yaml")
    good = {MODELS: b"".join((ROOT / MODELS).read_bytes().splitlines(keepends=True)[:31])}
    good |= {
        f"metrics/{name}.json": (ROOT / "metrics" / f"{name}.json").read_bytes()
        for name in ("curation", "trends", "gap")
    }
    for version, files in ((GOOD_RELEASE, good), (DAMAGED_RELEASE, good | damage)):
        for path, data in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(data)
        (folder / "dataset.yaml").write_text(f"version: {version}\ndate: '{version.replace('.', '-')}'\nsnapshot: s\n")
        commit_all(folder, f"Release {version}")
    return folder


DAMAGED = [
    ("metrics/gap.json", b"{not json", "metrics/gap.json at", "not JSON (Expecting property name"),
    ("metrics/gap.json", b"[1, 2]", "metrics/gap.json at", "a JSON list, not an object"),
    ("metrics/gap.json", b'{"gap": "20B-70B"}', "metrics/gap.json", "gap is '20B-70B', not two positive numbers"),
    (
        "metrics/gap.json",
        b'{"tests": {"language": {"observed_in_gap": [24]}}}',
        "metrics/gap.json",
        "tests.language.observed_in_gap is [24], not a number",
    ),
    (
        "metrics/trends.json",
        b'{"domains": {"all": {"pre": {"slope_oom_per_year": "0.1"}}}}',
        "metrics/trends.json",
        "not a number",
    ),
    ("metrics/curation.json", b"\xff\xfe{}", "metrics/curation.json at", "not UTF-8 text (byte 0)"),
    (MODELS, bytes(range(256)) * 4, f"{MODELS} at", "not UTF-8 text (byte 128): a binary file?"),
    (MODELS, b"name,parameters\nGPT-3,175B\n", MODELS, "no id column, so not a curated table"),
    (MODELS, b"", MODELS, "not a readable CSV"),
    (MODELS, b"id,name\na,A\nb,B,extra,fields\n", MODELS, "not a readable CSV (Error tokenizing data"),
    (MODELS, b"id,name\na,A\na,B\n", MODELS, "id 'a' names two records"),
]


@pytest.mark.parametrize(
    "path, data, file, reason", DAMAGED, ids=[f"{i}-{case[0].split('/')[-1]}" for i, case in enumerate(DAMAGED)]
)
def test_diff_names_the_version_the_file_and_what_is_wrong_with_a_damaged_file(tmp_path, path, data, file, reason):
    repo = release_repo(tmp_path / "repo", {path: data})
    proc = mlsizes("diff", GOOD_RELEASE, DAMAGED_RELEASE, cwd=repo, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {DAMAGED_RELEASE}: {file}") and reason in lines[0], lines[0]


def test_versions_names_the_release_whose_metrics_are_damaged(tmp_path):
    repo = release_repo(tmp_path / "repo", {"metrics/gap.json": b"\x00\x01 not json"})
    proc = mlsizes("versions", cwd=repo, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {DAMAGED_RELEASE}: metrics/gap.json at ") and proc.stderr.endswith(
        ": not JSON (Expecting value: line 1 column 1 (char 0))\n"
    ), proc.stderr


def test_diff_warns_of_a_table_cut_mid_row_and_leaves_the_cut_record_out(tmp_path):
    """A models.csv cut mid-row had been diffed without a word, its last record half empty (issue 22, item 13)."""
    table = (ROOT / MODELS).read_bytes().splitlines(keepends=True)[:31]
    cut = b"".join(table[:30]) + table[30][: len(table[30]) // 3]
    repo = release_repo(tmp_path / "repo", {MODELS: cut})
    proc = mlsizes("diff", GOOD_RELEASE, DAMAGED_RELEASE, "--json", cwd=repo)
    assert proc.stderr.strip().splitlines() == [
        f"warning: {DAMAGED_RELEASE}: {MODELS}: ends mid-row (cut short?): its last record (30) is left out"
    ]
    result = json.loads(proc.stdout)
    last_id = table[30].split(b",")[0].decode()
    assert [record["id"] for record in result["removed"]] == [last_id] and result["changed"] == []
