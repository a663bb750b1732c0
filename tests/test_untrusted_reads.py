"""Every file that can arrive in a pull request is read as untrusted (issue 22, cases 7 and 8), and no command
blocks on a FIFO or reads through a link in an input folder.

- Only core/untrusted.py parses YAML: a grep of src/ for PyYAML's loaders finds nothing else (and the grep itself
  is shown to find a planted call).
- Hostile YAML (an alias bomb, a `!!python` tag, a huge document, wrong types) in params.yaml, a contract in
  schemas/, a provenance record, a committed dataset.yaml or dvc.yaml is refused in one line naming the file and
  the reason, or (dataset.yaml in history) names no release; nothing hangs and nothing prints a traceback.
- FIFOs, sockets and symbolic links in the input folders are refused by the commands that read them, in one
  line, without opening them; `mlsizes validate` refuses them in every folder DVC reads, where DVC would hang.

Commands that could hang run in a fresh interpreter under a timeout, a bound on a hung run, not a speed check.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, commit_all, contributions_dir, sh
from mlsizes.core import untrusted
from mlsizes.core.errors import UnreadableFile
from mlsizes.releases import revisions
from mlsizes.workflows import fetch, update

SRC = ROOT / "src" / "mlsizes"
RAW = ROOT / "data" / "raw" / "epoch"
SNAPSHOT = "epoch_notable_ai_models_2026-03-10"
HANG_BOUND = 120  # seconds: a run that takes this long has hung (the cases measured on main took 180 s to forever)

# PyYAML's ways of turning text into objects; only core/untrusted.py may use them (it uses the composer only).
_YAML_READERS = re.compile(
    r"\b(safe_load|unsafe_load|full_load|load_all|yaml\.load|yaml\.compose|yaml\.parse|SafeLoader|FullLoader"
    r"|UnsafeLoader|CLoader|CSafeLoader|yaml\.Loader)\b"
)
UNTRUSTED_READER = Path("core") / "untrusted.py"

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n" for previous, name in zip("abcdefgh", "bcdefghi")
)
PYTHON_TAG = "!!python/object/apply:os.system ['echo PWNED']"
HUGE = "notes: '" + "x" * (untrusted.MAX_DOCUMENT + 10) + "'\n"


def yaml_readers(folder: Path) -> list[str]:
    """`path:line` of every use of a PyYAML loader under folder, outside the untrusted reader."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        if path.relative_to(folder) == UNTRUSTED_READER:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _YAML_READERS.search(line.split("#")[0]):
                found.append(f"{path.relative_to(folder)}:{number}")
    return found


def test_only_the_untrusted_reader_parses_yaml():
    assert yaml_readers(SRC) == []
    assert "yaml.safe_load(" not in (SRC / UNTRUSTED_READER).read_text()  # it composes nodes, checked, instead


def test_the_yaml_grep_finds_a_planted_reader(tmp_path):
    """The grep above must be able to fail: each loader, planted outside the reader, is found."""
    for number, call in enumerate(["yaml.safe_load(t)", "yaml.load(t, Loader=yaml.Loader)", "yaml.full_load(t)"]):
        (tmp_path / "records").mkdir(exist_ok=True)
        (tmp_path / "records" / f"m{number}.py").write_text(f"import yaml\n\nx = {call}\n")
    (tmp_path / "core").mkdir()
    (tmp_path / UNTRUSTED_READER).write_text("x = yaml.safe_load(t)\n")  # the reader itself is allowed
    assert yaml_readers(tmp_path) == ["records/m0.py:3", "records/m1.py:3", "records/m2.py:3"]


# --- the checked typed reader: what safe_load gave, minus what it should never have accepted -------------------


def test_load_data_types_every_shipped_yaml_as_before():
    """params.yaml, dvc.yaml, the contracts and the provenance records read as they always were (the outputs built
    from them stay byte-identical: dvc.lock's outputs did not change when the readers moved)."""
    import yaml

    files = [ROOT / "params.yaml", ROOT / "dvc.yaml", ROOT / "dataset.yaml", *sorted((ROOT / "schemas").glob("*.yaml"))]
    files += sorted(RAW.glob("*.provenance.yaml"))
    for path in files:
        assert untrusted.load_file(path) == yaml.safe_load(path.read_text()), path  # the reference reader, in a test


@pytest.mark.parametrize(
    "text, reason",
    [
        (BOMB, "line 1: anchors and aliases (&, *) are not allowed"),
        (f"snapshot: {PYTHON_TAG}\n", "line 1: tags ('tag:yaml.org,2002:python"),
        (HUGE, f"characters long; at most {untrusted.MAX_DOCUMENT}"),
        ("a: 1\na: 2\n", "line 2: key 'a' appears twice"),
        ("a: " + "[" * 40 + "]" * 40 + "\n", "nested deeper than 10 levels"),
        ("as_of: 2023-02-30\n", "not valid YAML (line 1: day is out of range for month)"),
        ("- a\n- b\n", "expected a mapping"),
    ],
    ids=["alias bomb", "python tag", "huge", "duplicate key", "deep", "impossible date", "not a mapping"],
)
def test_load_data_refuses_hostile_yaml(text, reason):
    with pytest.raises(untrusted.FieldError) as caught:
        untrusted.load_data(text)
    assert reason in caught.value.message and "\n" not in caught.value.message


# --- params.yaml --------------------------------------------------------------------------------------------


def run_mlsizes(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command line in a fresh interpreter, bounded against a hang."""
    return subprocess.run(
        [sys.executable, "-m", "mlsizes", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=HANG_BOUND,
    )


def assert_one_line(proc: subprocess.CompletedProcess, *parts: str) -> None:
    """Exit 1 and one `error:` line naming each part; no traceback."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert all(part in lines[0] for part in parts), (parts, lines[0])


PARAMS = (ROOT / "params.yaml").read_text()


@pytest.mark.parametrize(
    "text, reason",
    [
        (BOMB + PARAMS, "anchors and aliases (&, *) are not allowed"),
        (PARAMS.replace("alpha: 0.01", f"alpha: {PYTHON_TAG}"), "tags ('tag:yaml.org,2002:python"),
        (PARAMS + HUGE, "bytes; at most 256 KB"),
        (PARAMS.replace("alpha: 0.01", "alpha: [0.01, 0.05]"), "analysis.alpha must be a number, got [0.01, 0.05]"),
        (PARAMS.replace("windows: {length_years: 3, step_years: 1}", "windows: 3"), "analysis.windows must be a map"),
        (PARAMS.replace('era_break: "2018-01-01"', "era_break: 2018-02-30"), "day is out of range for month"),
    ],
    ids=["alias bomb", "python tag", "huge", "wrong type", "not a section", "impossible date"],
)
def test_a_hostile_params_yaml_is_refused_in_one_line(text, reason, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(text)
    out = tmp_path / "out"
    proc = run_mlsizes("analyze", str(ROOT / "data/curated/models.csv"), "--params", str(params), "--out", str(out))
    assert_one_line(proc, str(params), reason)
    assert "PWNED" not in proc.stdout and not out.exists()


def test_params_yaml_as_a_fifo_is_refused_without_opening_it(tmp_path):
    params = tmp_path / "params.yaml"
    os.mkfifo(params)
    proc = run_mlsizes("analyze", str(ROOT / "data/curated/models.csv"), "--params", str(params), "--out", "o")
    assert_one_line(proc, str(params), "is not a regular file but a FIFO (named pipe)")


def test_the_api_refuses_a_hostile_params_file(tmp_path):
    import mlsizes.api

    params = tmp_path / "params.yaml"
    params.write_text(BOMB + PARAMS)
    with pytest.raises(ValueError, match=r"params\.yaml: line 1: anchors and aliases") as caught:
        mlsizes.api.analysis_params(params=params)
    assert "\n" not in str(caught.value)


def test_update_checks_its_params_edit_with_the_untrusted_reader(tmp_path):
    params = tmp_path / "params.yaml"
    text = (BOMB + PARAMS).encode()
    with pytest.raises(update.UpdateError, match="anchors and aliases"):
        update.point_at(params, text, "epoch_new_2026-04-01")
    edited = update.point_at(params, PARAMS.encode(), "epoch_new_2026-04-01")
    assert untrusted.load_data(edited.decode())["snapshot"] == "epoch_new_2026-04-01"


# --- the contracts in schemas/ ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory):
    """A copy of the package whose schemas/ is a real folder, run with PYTHONPATH first: a contract can be
    replaced by a hostile one without touching the project's."""
    src = tmp_path_factory.mktemp("package") / "src"
    shutil.copytree(SRC, src / "mlsizes", symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "bundled"))
    (src / "mlsizes" / "schemas").unlink()
    shutil.copytree(ROOT / "schemas", src / "mlsizes" / "schemas")
    return src


@pytest.mark.parametrize(
    "text, reason",
    [
        (BOMB, "anchors and aliases (&, *) are not allowed"),
        (f"columns: {PYTHON_TAG}\n", "tags ('tag:yaml.org,2002:python"),
        (HUGE, "bytes; at most 256 KB"),
    ],
    ids=["alias bomb", "python tag", "huge"],
)
def test_a_hostile_contract_is_refused_in_one_line(text, reason, package_copy, tmp_path):
    schema = package_copy / "mlsizes" / "schemas" / "raw.yaml"
    original = schema.read_text()
    schema.write_text(text)
    try:
        snapshot = tmp_path / f"{SNAPSHOT}.csv"
        snapshot.write_bytes((RAW / snapshot.name).read_bytes())
        proc = run_mlsizes(
            "curate", str(snapshot), "--out", str(tmp_path / "out"), cwd=tmp_path, env={"PYTHONPATH": str(package_copy)}
        )
    finally:
        schema.write_text(original)
    assert_one_line(proc, "schemas/raw.yaml", reason)
    assert not (tmp_path / "out").exists()


def test_a_contract_of_the_wrong_shape_is_refused_in_one_line(package_copy, tmp_path):
    """Wrong types: domains.yaml's vocabulary as a text instead of a list."""
    schema = package_copy / "mlsizes" / "schemas" / "domains.yaml"
    original = schema.read_text()
    schema.write_text("vocabulary: Language\n")
    try:
        proc = run_mlsizes("validate", cwd=tmp_path, env={"PYTHONPATH": str(package_copy), "MLSIZES_ROOT": str(ROOT)})
    finally:
        schema.write_text(original)
    assert_one_line(proc, "schemas/domains.yaml", "`vocabulary` must be a list of mappings")


# --- provenance records -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda path: path.write_text(HUGE), "is 262"),
        (lambda path: path.write_text("sha256: {a: b}\n"), "checksum mismatch"),
        (os.mkfifo, "is not a regular file but a FIFO (named pipe)"),
        (lambda path: path.symlink_to(RAW / f"{SNAPSHOT}.provenance.yaml"), "is a symbolic link"),
    ],
    ids=["huge", "wrong type", "fifo", "symlink"],
)
def test_a_provenance_record_that_cannot_be_used_is_refused_in_one_line(make, reason, tmp_path):
    snapshot = tmp_path / f"{SNAPSHOT}.csv"
    snapshot.write_bytes((RAW / snapshot.name).read_bytes())
    make(tmp_path / f"{SNAPSHOT}.provenance.yaml")
    proc = run_mlsizes("curate", str(snapshot), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_one_line(proc, f"{SNAPSHOT}.", reason)
    assert not (tmp_path / "out").exists()


# --- dataset.yaml and dvc.yaml at a revision ----------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_history(tmp_path_factory):
    """A repository with two releases and, between them, commits whose dataset.yaml is an alias bomb, a python
    tag, a huge document and a version of the wrong type."""
    repo = tmp_path_factory.mktemp("history") / "repo"
    (repo / "data" / "curated").mkdir(parents=True)
    sh("git", "init", "-q", cwd=repo)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):
        sh("git", "config", key, value, cwd=repo)
    (repo / "dvc.yaml").write_text("stages: {}\n")
    shutil.copy(ROOT / "data" / "curated" / "models.csv", repo / "data" / "curated" / "models.csv")
    texts = [
        "version: 2026.01.01\ndate: 2026-01-01\nsnapshot: s1\n",
        BOMB + "version: *i\n",
        f"version: {PYTHON_TAG}\n",
        HUGE + "version: 2026.01.15\n",
        "version: [2026.01.20, 2026.01.21]\n",
        "version: 2026.02.01\ndate: 2026-02-01\nsnapshot: s2\n",
    ]
    for number, text in enumerate(texts):
        (repo / "dataset.yaml").write_text(text)
        commit_all(repo, f"commit {number}")
    return repo


def test_hostile_dataset_yaml_in_history_names_no_release_in_every_reader(hostile_history):
    """`versions`, `mlsizes.versions(repo=...)` and `mlsizes.load(repo=...)` (measured on main: 206 s, 182 s, a
    ConstructorError): the hostile commits name no release, the two real ones are found, nothing hangs."""
    proc = run_mlsizes("versions", cwd=hostile_history, env={"MLSIZES_ROOT": str(hostile_history)})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert re.findall(r"^2026\.\S+", proc.stdout, flags=re.M) == ["2026.01.01", "2026.02.01"], proc.stdout
    code = (
        "import sys, mlsizes\n"
        "print(list(mlsizes.versions(repo=sys.argv[1])['version']))\n"
        "df = mlsizes.load(repo=sys.argv[1])\n"
        "print(df.attrs['version'], len(df) > 900)\n"
    )
    api = subprocess.run(
        [sys.executable, "-c", code, str(hostile_history)], capture_output=True, text=True, timeout=HANG_BOUND
    )
    assert api.returncode == 0, api.stderr
    assert api.stdout.splitlines() == ["['2026.01.01', '2026.02.01']", "2026.02.01 True"]


def test_diff_between_releases_around_hostile_commits(hostile_history):
    proc = run_mlsizes(
        "diff", "2026.01.01", "2026.02.01", "--json", cwd=hostile_history, env={"MLSIZES_ROOT": str(hostile_history)}
    )
    assert "Traceback" not in proc.stderr and proc.returncode in (0, 1), proc.stderr
    if proc.returncode == 1:  # no metrics at these toy releases: refused in one line, never a hang
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("text", [BOMB + "stages: {}\n", f"stages: {PYTHON_TAG}\n", HUGE])
def test_a_hostile_dvc_yaml_at_a_revision_is_a_version_error(text):
    with pytest.raises(revisions.VersionError, match=r"^dvc\.yaml: ") as caught:
        revisions.stages_writing(text, ("metrics/gap.json",))
    assert "\n" not in str(caught.value)


# --- FIFOs, sockets and links in the input folders ----------------------------------------------------------


def make_socket(path: Path) -> None:
    """A Unix socket bound at path (closed again: the file stays); bound in a short folder and moved, since a
    socket's path is limited to about 100 bytes."""
    with tempfile.TemporaryDirectory(dir="/tmp") as short, socket.socket(socket.AF_UNIX) as sock:
        sock.bind(f"{short}/s")
        os.rename(f"{short}/s", path)


def make_link(path: Path) -> None:
    """A symbolic link to a file outside the project."""
    path.symlink_to("/etc/hostname")


SPECIALS = {
    "fifo": (os.mkfifo, "a FIFO (named pipe)"),
    "socket": (make_socket, "a socket"),
    "link": (make_link, "a symbolic link"),
}


@pytest.fixture
def raw_project(project):
    """The contributing project with its raw folder: the snapshot params.yaml names and its provenance record."""
    raw = project / "data" / "raw" / "epoch"
    raw.mkdir(parents=True)
    for name in (f"{SNAPSHOT}.csv", f"{SNAPSHOT}.provenance.yaml"):
        shutil.copy(RAW / name, raw / name)
    return project


@pytest.mark.parametrize("kind", SPECIALS)
@pytest.mark.parametrize(
    "folder",
    ["data/raw/epoch", "data/raw/epoch/sub", "metrics/plots", "schemas"],
)
def test_validate_refuses_a_special_file_in_every_folder_dvc_reads(kind, folder, raw_project):
    """DVC hangs on a FIFO in a folder it depends on (`dvc status`, `dvc repro`); validate, which the pre-commit
    hook and CI run first, refuses any such file (and links) in every input folder and every dependency."""
    make, words = SPECIALS[kind]
    (raw_project / folder).mkdir(parents=True, exist_ok=True)
    special = raw_project / folder / "odd.csv"
    make(special)
    proc = run_mlsizes("validate", cwd=raw_project.parent, env={"MLSIZES_ROOT": str(raw_project)})
    assert_one_line(proc, str(special), f"is {words}: an input folder holds only regular files")


def test_validate_passes_a_clean_project_and_refuses_a_fifo_dependency_file(raw_project):
    assert run_mlsizes("validate", cwd=raw_project, env={"MLSIZES_ROOT": str(raw_project)}).returncode == 0
    (raw_project / "params.yaml").rename(raw_project / "params.keep")
    os.mkfifo(raw_project / "params.yaml")
    proc = run_mlsizes("validate", cwd=raw_project, env={"MLSIZES_ROOT": str(raw_project)})
    assert_one_line(proc, "params.yaml", "a FIFO (named pipe)")


@pytest.mark.parametrize("kind", ["fifo", "socket"])
@pytest.mark.parametrize("folder", ["", "corrections"])
def test_special_files_among_contributions_are_named_by_validate_and_rejected_by_curate(kind, folder, raw_project):
    """In the contributions folder each file is judged on its own: validate names it (exit 1), curate makes it a
    reject row with its reason; neither opens it."""
    make, _ = SPECIALS[kind]
    (contributions_dir(raw_project) / folder).mkdir(exist_ok=True)
    special = contributions_dir(raw_project) / folder / "odd-model-7b.yaml"
    make(special)
    env = {"MLSIZES_ROOT": str(raw_project)}
    proc = run_mlsizes("validate", cwd=raw_project, env=env)
    assert proc.returncode == 1 and "odd-model-7b.yaml: file: is not a regular file" in proc.stdout, proc.stdout
    snapshot = raw_project / "data" / "raw" / "epoch" / f"{SNAPSHOT}.csv"
    out = raw_project / "out"
    args = ["curate", str(snapshot), "--out", str(out), "--contributions", str(contributions_dir(raw_project))]
    curated = run_mlsizes(*args, cwd=raw_project, env=env)
    assert curated.returncode == 0, curated.stderr
    assert "not_a_file" in (out / "rejected.csv").read_text()


@pytest.mark.parametrize("kind", SPECIALS)
def test_add_model_refuses_a_special_file_among_contributions(kind, raw_project):
    make, words = SPECIALS[kind]
    special = contributions_dir(raw_project) / "corrections" / "odd.yaml"
    special.parent.mkdir()
    make(special)
    args = ["add-model", "--name", "Odd Model 7B", "--organization", "Odd Lab", "--domain", "Language"]
    args += ["--date", "2024-01-01", "--parameters", "7B", "--source", "https://odd-lab.org/odd-model"]
    proc = run_mlsizes(*args, cwd=raw_project, env={"MLSIZES_ROOT": str(raw_project)})
    assert_one_line(proc, str(special), f"is {words}")
    assert sorted(path.name for path in contributions_dir(raw_project).iterdir()) == ["README.md", "corrections"]


@pytest.mark.parametrize("kind", SPECIALS)
def test_curate_refuses_a_snapshot_that_is_not_a_regular_file(kind, tmp_path):
    make, words = SPECIALS[kind]
    snapshot = tmp_path / f"{SNAPSHOT}.csv"
    make(snapshot)
    proc = run_mlsizes("curate", str(snapshot), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_one_line(proc, str(snapshot), words)


@pytest.mark.parametrize("kind", SPECIALS)
def test_history_refuses_a_special_file_among_the_snapshots(kind, raw_project):
    make, words = SPECIALS[kind]
    special = raw_project / "data" / "raw" / "epoch" / "epoch_odd_2025-01-01.csv"
    make(special)
    out = raw_project / "history.json"
    args = ["history", "--out", str(out), "--figure", str(raw_project / "history.png")]
    proc = run_mlsizes(*args, cwd=raw_project, env={"MLSIZES_ROOT": str(raw_project)})
    assert_one_line(proc, str(special), words)
    assert not out.exists()


@pytest.mark.parametrize("kind", SPECIALS)
def test_fetch_refuses_a_special_file_among_the_snapshots_it_compares(kind, tmp_path):
    """fetch hashes every stored snapshot to find one with the same bytes; a FIFO there would block it."""
    make, words = SPECIALS[kind]
    make(tmp_path / "epoch_odd_2025-01-01.csv")
    with pytest.raises(UnreadableFile, match=re.escape(words)):
        fetch.find_identical(tmp_path, "0" * 64)
