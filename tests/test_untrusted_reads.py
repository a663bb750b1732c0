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

import json
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


# --- the command line on hostile files, in a fresh interpreter under a hang bound -----------------------------

_BATCH = """
import json, os, sys
from click.testing import CliRunner
from mlsizes.cli import main
results = []
for args, cwd, root in json.loads(sys.argv[1]):
    os.chdir(cwd)
    result = CliRunner().invoke(main, args, env={"MLSIZES_ROOT": root})
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    results.append([result.exit_code, result.stdout, result.stderr + (repr(result.exception) if crashed else "")])
print(json.dumps(results))
"""


def run_batch(*calls: tuple[list[str], Path], env: dict | None = None) -> list[subprocess.CompletedProcess]:
    """Each call (command line arguments, project root, which is also the working directory) run by the command
    line in one fresh interpreter, bounded against a hang (one interpreter for many cases: each costs seconds)."""
    payload = json.dumps([[list(map(str, args)), str(root), str(root)] for args, root in calls])
    proc = subprocess.run(
        [sys.executable, "-c", _BATCH, payload],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=HANG_BOUND,
    )
    assert proc.returncode == 0, proc.stderr
    return [
        subprocess.CompletedProcess(args, code, out, err)
        for (args, _), (code, out, err) in zip(calls, json.loads(proc.stdout))
    ]


def assert_one_line(proc: subprocess.CompletedProcess, *parts: str) -> None:
    """Exit 1 and one `error:` line naming each part; no traceback."""
    assert proc.returncode == 1, (proc.args, proc.stdout + proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (proc.args, proc.stderr)
    assert all(part in lines[0] for part in parts), (parts, lines[0])


PARAMS = (ROOT / "params.yaml").read_text()
HOSTILE_PARAMS = {
    "alias bomb": (BOMB + PARAMS, "line 1: anchors and aliases (&, *) are not allowed"),
    "python tag": (PARAMS.replace("alpha: 0.01", f"alpha: {PYTHON_TAG}"), "tags ('tag:yaml.org,2002:python"),
    "huge": (PARAMS + HUGE, "bytes; at most 256 KB"),
    "wrong type": (PARAMS.replace("alpha: 0.01", "alpha: [0.01, 0.05]"), "analysis.alpha must be a number, got ["),
    "not a section": (
        PARAMS.replace("windows: {length_years: 3, step_years: 1}", "windows: 3"),
        "analysis.windows must be a mapping of settings",
    ),
    "impossible date": (PARAMS.replace('era_break: "2018-01-01"', "era_break: 2018-02-30"), "day is out of range"),
    "fifo": (None, "is not a regular file but a FIFO (named pipe)"),
}


def test_a_hostile_params_yaml_is_refused_in_one_line(tmp_path):
    """analyze reads --params first: each hostile file is refused, nothing is analysed or written."""
    calls = []
    for number, (text, _) in enumerate(HOSTILE_PARAMS.values()):
        params = tmp_path / f"p{number}" / "params.yaml"
        params.parent.mkdir()
        params.write_text(text) if text is not None else os.mkfifo(params)
        calls.append((["analyze", ROOT / "data/curated/models.csv", "--params", params, "--out", "out"], params.parent))
    for (case, (_, reason)), proc, (args, _) in zip(HOSTILE_PARAMS.items(), run_batch(*calls), calls):
        assert_one_line(proc, str(args[3]), reason)
        assert "PWNED" not in proc.stdout and not (args[3].parent / "out").exists(), case


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
    os.mkfifo(params)
    with pytest.raises(update.UpdateError, match=re.escape("is not a regular file but a FIFO (named pipe)")):
        update.params_bytes(params)  # update reads params.yaml before it fetches: never blocking on a FIFO
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


def test_a_hostile_contract_is_refused_in_one_line(package_copy, tmp_path):
    """An alias bomb in raw.yaml (read by curate) and a wrong shape in domains.yaml (read by validate): one line
    naming the contract, in a package whose contracts are these (tags and huge contracts meet load_file as above)."""
    schemas = package_copy / "mlsizes" / "schemas"
    snapshot = tmp_path / f"{SNAPSHOT}.csv"
    snapshot.write_bytes((RAW / snapshot.name).read_bytes())
    cases = [
        ("raw.yaml", BOMB, ["curate", snapshot, "--out", tmp_path / "out"], "anchors and aliases (&, *) are not"),
        ("domains.yaml", "vocabulary: Language\n", ["validate"], "`vocabulary` must be a list of mappings"),
    ]
    for name, text, args, reason in cases:
        original = (schemas / name).read_text()
        (schemas / name).write_text(text)
        try:
            (proc,) = run_batch((args, ROOT), env={"PYTHONPATH": str(package_copy)})
        finally:
            (schemas / name).write_text(original)
        assert_one_line(proc, f"schemas/{name}", reason)
    assert not (tmp_path / "out").exists()


# --- provenance records -------------------------------------------------------------------------------------


def test_a_provenance_record_that_cannot_be_used_is_refused_in_one_line(tmp_path):
    cases = {
        "huge": (lambda path: path.write_text(HUGE), "provenance record cannot be used (is 262"),
        "wrong type": (lambda path: path.write_text("sha256: {a: b}\n"), "checksum mismatch"),
        "fifo": (os.mkfifo, "provenance record cannot be used (is not a regular file but a FIFO (named pipe))"),
        "link": (lambda path: path.symlink_to(RAW / path.name), "cannot be used (is a symbolic link"),
    }
    calls = []
    for case, (make, _) in cases.items():
        folder = tmp_path / case.replace(" ", "-")
        folder.mkdir()
        (folder / f"{SNAPSHOT}.csv").write_bytes((RAW / f"{SNAPSHOT}.csv").read_bytes())
        make(folder / f"{SNAPSHOT}.provenance.yaml")
        calls.append((["curate", folder / f"{SNAPSHOT}.csv", "--out", folder / "out"], folder))
    for (case, (_, reason)), proc, (_, folder) in zip(cases.items(), run_batch(*calls), calls):
        assert_one_line(proc, f"{SNAPSHOT}.", reason)
        assert not (folder / "out").exists(), case


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
    shutil.copy(ROOT / "params.yaml", repo / "params.yaml")
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
    """`versions`, `diff`, `mlsizes.versions(repo=...)` and `mlsizes.load(repo=...)` (measured on main: 206 s, a
    hang, 182 s, a ConstructorError): the hostile commits name no release, the real ones are found, nothing hangs."""
    versions, diff = run_batch(
        (["versions"], hostile_history), (["diff", "2026.01.01", "2026.02.01", "--json", "--stored"], hostile_history)
    )
    assert versions.returncode == 0, versions.stderr
    assert re.findall(r"^2026\.\S+", versions.stdout, flags=re.M) == ["2026.01.01", "2026.02.01"], versions.stdout
    assert diff.returncode == 0, diff.stderr
    changes = json.loads(diff.stdout)
    assert changes["old"]["name"] == "2026.01.01" and changes["new"]["name"] == "2026.02.01" and changes["added"] == []
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


def special_project(base: Path, name: str) -> Path:
    """A small project (the contributing project's files and the 2022-06-02 snapshot with its provenance record)."""
    root = base / name
    shutil.copytree(ROOT / "schemas", root / "schemas")
    for file in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / file, root / file)
    (root / "data" / "curated").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "curated" / "models.csv", root / "data" / "curated" / "models.csv")
    contributions_dir(root).mkdir(parents=True)
    (contributions_dir(root) / "README.md").write_text("Contributions.\n")
    (root / "data" / "raw" / "epoch").mkdir()
    for file in (f"{SMALL}.csv", f"{SMALL}.provenance.yaml"):
        shutil.copy(RAW / file, root / "data" / "raw" / "epoch" / file)
    return root


SMALL = "epoch_pcd_2022-06-02"
ADD = ["add-model", "--name", "Odd Model 7B", "--organization", "Odd Lab", "--domain", "Language", "--date"]
ADD += ["2022-01-01", "--parameters", "7B", "--source", "https://odd-lab.org/odd-model"]


def test_every_command_refuses_a_special_file_in_the_folder_it_reads(tmp_path):
    """DVC hangs on a FIFO in a folder it depends on (`dvc status`, `dvc repro`): validate, which the pre-commit
    hook and CI run before DVC, refuses a FIFO, a socket or a link in every input folder and every dependency.
    history (the snapshots), add-model (the contributions), curate (its snapshot), check and analyze (their table)
    refuse them too, in one line, without opening them."""
    clean = special_project(tmp_path, "clean")
    calls, expected = [(["validate"], clean)], [None]
    for kind, (make, words) in SPECIALS.items():
        for folder in ["data/raw/epoch", "data/raw/epoch/sub", "metrics/plots", "schemas"]:
            root = special_project(tmp_path, f"{kind}-{folder.replace('/', '-')}")
            (root / folder).mkdir(parents=True, exist_ok=True)
            make(root / folder / "odd.csv")
            calls.append((["validate"], root))
            expected.append((root / folder / "odd.csv", f"is {words}: an input folder holds only regular files"))
        root = special_project(tmp_path, f"{kind}-commands")
        make(root / "data" / "raw" / "epoch" / "epoch_odd_2025-01-01.csv")
        history = ["history", "--out", root / "history.json", "--figure", root / "history.png"]
        calls.append((history, root))
        expected.append((root / "data" / "raw" / "epoch" / "epoch_odd_2025-01-01.csv", words))
        (contributions_dir(root) / "corrections").mkdir()
        make(contributions_dir(root) / "corrections" / "odd.yaml")
        calls.append((ADD, root))
        expected.append((contributions_dir(root) / "corrections" / "odd.yaml", f"is {words}"))
        make(root / "odd.csv")
        calls.append((["curate", root / "odd.csv", "--out", root / "out"], root))
        expected.append((root / "odd.csv", words))
        if kind != "link":  # a table given by hand may be a link; never a FIFO or a socket
            for command in (["check", root / "odd.csv", "--reports", root / "out"], ["analyze", root / "odd.csv"]):
                calls.append((command + ["--out", root / "out"] if command[0] == "analyze" else command, root))
                expected.append((root / "odd.csv", words))
    fifo_params = special_project(tmp_path, "fifo-params")
    (fifo_params / "params.yaml").unlink()
    os.mkfifo(fifo_params / "params.yaml")
    calls.append((["validate"], fifo_params))
    expected.append((fifo_params / "params.yaml", "a FIFO (named pipe)"))
    results = run_batch(*calls)
    assert results[0].returncode == 0, results[0].stdout + results[0].stderr
    for proc, (path, words) in zip(results[1:], expected[1:]):
        assert_one_line(proc, str(path), words)
    for kind in SPECIALS:
        root = tmp_path / f"{kind}-commands"
        assert not (root / "history.json").exists() and not (root / "out").exists()
        assert sorted(path.name for path in contributions_dir(root).iterdir()) == ["README.md", "corrections"]


def test_special_files_among_contributions_are_named_by_validate_and_rejected_by_curate(tmp_path):
    """In the contributions folder each file is judged on its own: validate names it (exit 1) and curate makes it
    a reject row with its reason (not_a_file); neither opens it."""
    calls = []
    for kind, folder in (("fifo", ""), ("socket", "corrections")):
        root = special_project(tmp_path, kind)
        (contributions_dir(root) / folder).mkdir(exist_ok=True)
        SPECIALS[kind][0](contributions_dir(root) / folder / "odd-model-7b.yaml")
        snapshot = root / "data" / "raw" / "epoch" / f"{SMALL}.csv"
        calls.append((["validate"], root))
        calls.append((["curate", snapshot, "--out", root / "out", "--contributions", contributions_dir(root)], root))
    results = run_batch(*calls)
    for validated, curated, kind in zip(results[::2], results[1::2], ("fifo", "socket")):
        assert validated.returncode == 1 and "odd-model-7b.yaml: file: is not a regular file" in validated.stdout
        assert curated.returncode == 0, curated.stderr
        assert "not_a_file" in (tmp_path / kind / "out" / "rejected.csv").read_text()


@pytest.mark.parametrize("kind", SPECIALS)
def test_fetch_refuses_a_special_file_among_the_snapshots_it_compares(kind, tmp_path):
    """fetch hashes every stored snapshot to find one with the same bytes; a FIFO there would block it."""
    make, words = SPECIALS[kind]
    make(tmp_path / "epoch_odd_2025-01-01.csv")
    with pytest.raises(UnreadableFile, match=re.escape(words)):
        fetch.find_identical(tmp_path, "0" * 64)


def test_diff_refuses_a_special_file_in_the_workspace(tmp_path):
    """`diff REV workspace` reads the working tree's files: a FIFO there is refused, never opened."""
    os.mkfifo(tmp_path / "dataset.yaml")
    with pytest.raises(revisions.VersionError, match=re.escape("dataset.yaml: is not a regular file but a FIFO")):
        revisions.read_at(tmp_path, revisions.WORKSPACE, "dataset.yaml")
    assert revisions.read_at(tmp_path, revisions.WORKSPACE, "missing.yaml") is None


@pytest.mark.parametrize(
    "make", [lambda path: path.write_text(BOMB + "version: *i\n"), os.mkfifo], ids=["bomb", "fifo"]
)
def test_metadata_refuses_a_hostile_workspace_dataset_yaml(make, tmp_path):
    from mlsizes.stages import metadata

    make(tmp_path / "dataset.yaml")
    with pytest.raises(metadata.MetadataError, match=r"dataset\.yaml: not readable \(file: (line 1: anchors|is not a)"):
        metadata.dataset_version(tmp_path / "dataset.yaml")


@pytest.mark.parametrize("name", ["--output=/tmp/pwned", "-uhelp"])
def test_a_revision_that_looks_like_an_option_never_reaches_git(name):
    with pytest.raises(revisions.VersionError, match="is not a revision or version"):
        revisions.resolve(ROOT, name)


def test_a_configuration_read_twice_is_parsed_once_and_each_reader_gets_its_own_copy():
    """load_data keeps the parse of a text for the process (dvc.yaml takes 0.15 s through the checked composer);
    what one caller changes in its mapping never reaches the next, and a refused text is refused every time."""
    text = "analysis:\n  bounds: strict\n  windows: {length_years: 3}\n"
    first = untrusted.load_data(text)
    first["analysis"]["windows"]["length_years"] = 99
    assert untrusted.load_data(text) == {"analysis": {"bounds": "strict", "windows": {"length_years": 3}}}
    for _ in range(2):
        with pytest.raises(untrusted.FieldError, match="anchors and aliases"):
            untrusted.load_data("a: &x 1\nb: *x\n")
