"""Dataset versions and diffs on the project's own git history: its five real releases, one per upstream
snapshot (`mlsizes release` itself is tested in test_release.py)."""

import json
import re

import pytest

from conftest import BIN, ROOT, SMALL_COUNTS, commit_all, mlsizes, sh

REAL_RELEASES = ["2022.06.02", "2022.06.30", "2022.09.01", "2024.07.16", "2026.03.10"]


def test_project_history_has_one_release_per_upstream_snapshot():
    listing = json.loads(mlsizes("versions", "--json", cwd=ROOT).stdout)
    assert [item["version"] for item in listing][:5] == REAL_RELEASES
    assert [item["snapshot"][-10:].replace("-", ".") for item in listing][:5] == REAL_RELEASES
    assert all(len(item["commit"]) == 40 and item["date"] for item in listing)
    assert listing[0]["headline"]["records"] == 320


def test_gap_verdict_between_the_paper_era_and_newest_releases():
    result = json.loads(mlsizes("diff", "--stored", "2022.06.30", "2026.03.10", "--json", cwd=ROOT).stdout)
    verdict = "\n".join(result["gap_verdict"])
    assert "in-gap language 2020-2022: 2 -> 6" in verdict
    assert "in-gap all systems (strict bounds): 0 -> " in verdict


def test_diff_between_real_releases_shows_real_changes():
    result = json.loads(mlsizes("diff", "--stored", "2022.06.02", "2026.03.10", "--json", cwd=ROOT).stdout)
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
    proc = mlsizes("diff", "--stored", *args, cwd=ROOT, check=False)
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
    markdown = mlsizes("diff", "--stored", "2022.06.02", "2026.03.10", "--md", cwd=ROOT).stdout
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
    full = mlsizes("diff", "--stored", "2022.06.02", "2026.03.10", "--md", "--full", cwd=ROOT).stdout
    assert len(full) > 60_000 and "... and " not in full  # --full cuts nothing, the summary's lists included


def test_a_small_diff_still_shows_lamdas_date_fix_and_no_unchanged_results():
    markdown = mlsizes("diff", "--stored", "2022.06.02", "2022.06.30", "--md", cwd=ROOT).stdout
    assert "lamda: publication_date 2022-10-02 -> 2022-02-10" in markdown
    for line in (line for line in markdown.splitlines() if line.startswith("- in-gap")):
        counts, p = line.split(": ", 1)[1].split("; P(K<=obs) ")
        assert counts.split(" -> ")[0] != counts.split(" -> ")[1] or p.split(" -> ")[0] != p.split(" -> ")[1], line


def test_corrections_are_ranked_by_their_effect_not_alphabetically():
    """Measured on main: the corrections were alphabetical and cut at 15 (adam-cifar-10, albert, ...), so LaMDA's
    date fix was not shown. Now: a record crossing the gap first, then by size ratio or date shift."""
    markdown = mlsizes("diff", "--stored", "2022.06.02", "2026.03.10", "--md", cwd=ROOT).stdout
    section = markdown.split("**Corrections of key fields**")[1].split("**Gap and trend")[0]
    items = [line[2:] for line in section.strip().splitlines() if line.startswith("- ") and "... and" not in line]
    assert items[0] == "alphacode: parameters none -> 41.1B (a size added enters the gap)"
    assert "lamda: publication_date 2022-10-02 -> 2022-02-10 (234 days earlier)" in items
    assert "decision-tree-classification: parameters 120M -> 12K (x0.0001)" in items[:3]
    assert items != sorted(items)


def test_no_change_is_shown_that_vanishes_at_the_shown_precision():
    """Measured on main: "iss (11.1M -> 11.1M)" and "transformer-xl-257m (257M -> 257M)" (float noise upstream
    rounded away since) and metrics such as "-6.63 -6.63 -1e-05". Every old -> new pair shown differs."""
    markdown = mlsizes("diff", "--stored", "2026.03.10", "HEAD", "--md", "--full", cwd=ROOT).stdout
    pairs = re.findall(r"(?:^|[ (])([^ ()|]+) -> ([^ ()|;]+)", markdown, flags=re.M)
    assert pairs and all(old != new for old, new in pairs), [pair for pair in pairs if pair[0] == pair[1]]
    changed, metrics = markdown.split("**Changed**")[1].split("**Metrics**")
    for section, (old, new) in ((changed, (2, 3)), (metrics, (1, 2))):
        rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| ")][1:]
        assert rows and all(row[old].strip() != row[new].strip() for row in rows), section
    assert "iss" not in markdown.split("### Summary")[1].split("<details>")[0]


def test_conflicting_output_formats_are_a_usage_error():
    result = mlsizes("diff", "--stored", "2022.06.02", "2022.06.30", "--md", "--json", cwd=ROOT, check=False)
    assert result.returncode == 2 and "--md" in result.stderr and "--json" in result.stderr


def test_diff_plot_draws_the_chart_diff(tmp_path):
    result = mlsizes("diff", "--stored", "2022.06.02", "2022.06.30", "--plot", str(tmp_path / "chart.png"), cwd=ROOT)
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
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, folder / name)
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


def test_a_diff_with_very_long_record_names_prints_no_table_line_over_100_columns(tmp_path):
    """Long names and ids are cut with an ellipsis in the terminal's tables; --md keeps them whole."""
    import io

    import pandas as pd

    table = pd.read_csv(io.BytesIO(b"".join((ROOT / MODELS).read_bytes().splitlines(keepends=True)[:31])), dtype=str)
    long_name = "A Very Long Model Name " * 8
    table.loc[0, "name"] = long_name
    table.loc[1, ["id", "name"]] = ["an-id-" + "x" * 110, "Another " + long_name]
    repo = release_repo(tmp_path / "repo", {MODELS: table.to_csv(index=False).encode()})
    text = mlsizes("diff", "--stored", "--full", GOOD_RELEASE, DAMAGED_RELEASE, cwd=repo).stdout
    # a table: a header, a rule of dashes, its rows (the summary's prose lines wrap as prose does)
    blocks = [block.splitlines() for block in text.split("\n\n")]
    tables = [lines for lines in blocks if len(lines) > 1 and re.fullmatch(r"-+( +-+)*", lines[1])]
    assert any("an-id-xxxx" in line and "…" in line for table in tables for line in table), text
    assert max(len(line) for table in tables for line in table) <= 100, text
    markdown = mlsizes("diff", "--stored", "--md", GOOD_RELEASE, DAMAGED_RELEASE, cwd=repo).stdout
    assert "an-id-" + "x" * 110 in markdown


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
    proc = mlsizes("diff", GOOD_RELEASE, DAMAGED_RELEASE, "--json", "--stored", cwd=repo)
    assert proc.stderr.strip().splitlines() == [
        f"warning: {DAMAGED_RELEASE}: {MODELS}: ends mid-row (cut short?): its last record (30) is left out"
    ]
    result = json.loads(proc.stdout)
    last_id = table[30].split(b",")[0].decode()
    assert [record["id"] for record in result["removed"]] == [last_id] and result["changed"] == []


# ---- like with like (issue 24): two releases whose stored metrics differ in method only


@pytest.fixture(scope="module")
def method_only(tmp_path_factory):
    """A real git repository with two releases of the same records: 2026.01.01's metrics made with inclusive
    bounds, 2026.02.01's with strict ones (params.yaml changed, nothing else); only the first is tagged."""
    import shutil

    import yaml

    repo = tmp_path_factory.mktemp("method") / "repo"
    (repo / "data" / "curated").mkdir(parents=True)
    (repo / "metrics").mkdir()
    shutil.copy(ROOT / "data" / "curated" / "models.csv", repo / "data" / "curated" / "models.csv")
    shutil.copy(ROOT / "metrics" / "curation.json", repo / "metrics" / "curation.json")
    shutil.copy(ROOT / "data" / "curated" / "models.snapshot.json", repo / "data" / "curated" / "models.snapshot.json")
    (repo / "dvc.yaml").write_text("stages: {}\n")
    sh("git", "init", "-q", cwd=repo)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):
        sh("git", "config", key, value, cwd=repo)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["analysis"].update(SMALL_COUNTS["analysis"])
    for version, bounds in (("2026.01.01", "inclusive"), ("2026.02.01", "strict")):
        params["analysis"]["bounds"] = bounds
        (repo / "params.yaml").write_text(yaml.safe_dump(params))
        sh(
            str(BIN / "mlsizes"),
            *("analyze", "data/curated/models.csv", "--curation", "metrics/curation.json", "--out", "metrics"),
            cwd=repo,
        )
        (repo / "dataset.yaml").write_text(f"version: {version}\ndate: '2026-03-10'\nsnapshot: s\nnotes: n\n")
        sh("git", "add", "-A", cwd=repo)
        sh("git", "commit", "-q", "-m", f"Release {version}", cwd=repo)
        if version == "2026.01.01":
            sh("git", "tag", "-a", version, "-m", version, cwd=repo)
    return repo


def test_a_diff_of_a_method_change_alone_says_no_data_change_and_names_the_method(method_only, tmp_path):
    env_cache = {"MLSIZES_CACHE": str(tmp_path / "cache")}
    first = diff_in(method_only, env_cache, "2026.01.01", "2026.02.01")
    assert first.returncode == 0, first.stderr
    summary = first.stdout.split("Details")[0]
    assert "no data change: only the method changed" in summary
    assert "method changed: 2026.01.01's stored metrics were made by another method (bounds inclusive -> strict)" in (
        summary
    )
    assert "(as stored -> the current method)" in summary and "2026.02.01's stored" not in summary
    assert "Gap and trend results that moved:\n\n- none" in summary and "no metric changed" in first.stdout
    assert "recomputing 2026.01.01's metrics" in first.stderr
    # the same records, as-of date, params and code: one cache entry serves both sides and the next diff
    assert len(list((tmp_path / "cache" / "metrics").glob("*.json"))) == 1
    again = diff_in(method_only, env_cache, "2026.01.01", "2026.02.01", "--json")
    assert "recomputing" not in again.stderr
    result = json.loads(again.stdout)
    assert result["recomputed"] and not result["data_changed"] and result["metrics"] == []
    assert "bounds inclusive -> strict" in result["method_changes"][0]
    # --stored compares what each release stored: the method change then shows as moved results, labelled as
    # mixing data and method
    stored = json.loads(diff_in(method_only, env_cache, "2026.01.01", "2026.02.01", "--json", "--stored").stdout)
    assert stored["data_changed"] and not stored["recomputed"]
    assert [change.split(" (")[0] for change in stored["method_changes"]] == [
        "method changed: 2026.01.01 and 2026.02.01 stored metrics made by different methods"
    ]
    assert "bounds inclusive -> strict" in stored["method_changes"][0]
    assert any(row["metric"] == "bounds" for row in stored["metrics"])


def test_versions_says_which_releases_have_no_tag(method_only):
    proc = mlsizes("versions", cwd=method_only)
    assert "note: 1 of 2 releases have no git tag in this clone (2026.02.01)" in proc.stderr
    assert "git push --follow-tags" in proc.stderr and "git fetch --tags" in proc.stderr
    sh("git", "tag", "-a", "2026.02.01", "-m", "2026.02.01", cwd=method_only)
    try:
        assert "note:" not in mlsizes("versions", cwd=method_only).stderr
    finally:
        sh("git", "tag", "-d", "2026.02.01", cwd=method_only)


def diff_in(repo, env, *args):
    """`mlsizes diff` as a process (the analysis it may recompute forks workers: never from the test process)."""
    import os
    import subprocess

    full_env = {**os.environ, **env, "MLSIZES_ROOT": str(repo), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [str(BIN / "mlsizes"), "diff", *args], cwd=repo, env=full_env, capture_output=True, text=True, timeout=600
    )


def test_a_version_that_cannot_be_recomputed_is_compared_as_stored_and_the_diff_says_so(tmp_path, monkeypatch):
    """A table the current contract cannot read, or metrics naming no as-of date: both versions keep their stored
    metrics (never one recomputed against one stored), with a note naming the version and the reason."""
    import pandas as pd

    from mlsizes.core.settings import Settings
    from mlsizes.releases import diff
    from mlsizes.workflows import compare

    monkeypatch.setenv("MLSIZES_CACHE", str(tmp_path / "cache"))
    recompute = compare.recomputer(Settings.load(ROOT / "params.yaml").analysis)
    good = diff.load_side(ROOT, "2026.03.10")
    odd = diff.Side("odd", "abc", pd.DataFrame(), {"metrics/gap.json": {"as_of": "2026-03-10"}}, text="id,x\n1,2\n")
    undated = diff.Side("undated", "def", pd.DataFrame(), {}, text=good.text)
    for side, reason in ((odd, "does not fit the current code (KeyError 'publication_date')"), (undated, "no as-of")):
        before = dict(good.metrics)
        (note,) = diff._recomputed((side, good), recompute)
        assert f"{side.name}'s metrics could not be recomputed" in note and reason in note, note
        assert good.stored is None and good.metrics == before
    assert not (tmp_path / "cache").exists()


def test_files_at_a_revision_are_read_as_git_holds_them(tmp_path):
    """revisions.read_bytes_at serves every read from one `git cat-file --batch`: names with spaces or a newline,
    a file a later commit changed, and None for a missing file, a folder, an unknown revision, or no repository."""
    from mlsizes.releases import revisions

    sh("git", "init", "-q", cwd=tmp_path)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):
        sh("git", "config", key, value, cwd=tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a b.csv").write_bytes(b"x,y\n1,2\n")
    (tmp_path / "line\nbreak.txt").write_bytes(b"\x00binary\n")
    commit_all(tmp_path, "first")
    first = sh("git", "rev-parse", "HEAD", cwd=tmp_path).stdout.strip()
    read = revisions.read_bytes_at
    assert read(tmp_path, first, "data/a b.csv") == b"x,y\n1,2\n"
    (tmp_path / "data" / "a b.csv").write_bytes(b"x,y\n3,4\n")
    commit_all(tmp_path, "second")
    assert read(tmp_path, "HEAD", "data/a b.csv") == b"x,y\n3,4\n"  # a commit made after the reader started
    assert read(tmp_path, "HEAD", "line\nbreak.txt") == b"\x00binary\n"
    assert read(tmp_path, "HEAD", "data/missing.csv") is None and read(tmp_path, "HEAD", "data") is None
    assert read(tmp_path, "no-such-revision", "data/a b.csv") is None
    outside = tmp_path.parent / f"{tmp_path.name}-no-repository"
    outside.mkdir()
    assert read(outside, "HEAD", "x") is None
