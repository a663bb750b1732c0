"""Dataset versions as git sees them: every commit is a version, a release is a commit that changes the version
in `dataset.yaml`.

Everything here reads what git holds at a revision (`git show REV:path`), so it works in a fresh clone with no
DVC remote; `workspace` names the files on disk. `mlsizes diff`, `mlsizes versions` and `mlsizes release` build
on it.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlsizes.core import untrusted
from mlsizes.core.errors import last_line, reason
from mlsizes.core.paths import LAYOUT

WORKSPACE = "workspace"
DATASET_FILE = LAYOUT["dataset_file"]
RELEASE_KEYS = ("version", "date", "snapshot", "notes")


class VersionError(Exception):
    """A revision or version name cannot be used; the message says which and why."""


def git(root: Path, *args: str) -> str:
    """Run git in the project; VersionError with git's last line when it fails."""
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise VersionError(last_line(proc.stderr, f"git {args[0]} failed"))
    return proc.stdout


def dvc(
    folder: Path, *args: str, pythonpath: Path | None = None, on_output: Callable[[str], None] | None = None
) -> str:
    """Run this environment's DVC in a folder (its stages find this environment's `mlsizes` first on PATH);
    VersionError with DVC's last line when it fails, and the failed stage's own `error:` line (its reason).
    `on_output` sees every line as DVC prints it (stdout and stderr in order), for progress during a long run."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "DVC_NO_ANALYTICS": "1"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    command = [str(Path(bin_dir) / "dvc"), *args]
    if on_output is None:
        proc = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        stdout, stderr = proc.stdout, proc.stderr
    else:
        lines = []
        with subprocess.Popen(
            command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc:
            for line in proc.stdout:
                lines.append(line)
                on_output(line.rstrip("\n"))
        stdout, stderr = "".join(lines), ""
    if proc.returncode != 0:
        output = f"{stdout}\n{stderr}"
        cause = next((line for line in reversed(output.splitlines()) if line.startswith("error: ")), None)
        message = last_line(stderr or stdout, f"dvc {args[0]} failed")
        raise VersionError(f"{message} ({cause})" if cause else message)
    return stdout


def _where(revision: str, path: str) -> str:
    return path if revision == WORKSPACE else f"{path} at {revision[:10]}"


def read_bytes_at(root: Path, revision: str, path: str) -> bytes | None:
    """A file's bytes at a revision (or on disk for `workspace`), as git holds them (a figure, a table); None when
    the revision has no such file."""
    if revision == WORKSPACE:
        file = Path(root) / path
        try:
            untrusted.regular_file(file)  # never through a link, never opening a FIFO
        except FileNotFoundError:
            return None
        except untrusted.FieldError as exc:
            raise VersionError(f"{path}: {exc.message}") from None
        return file.read_bytes()
    return _blob_reader(Path(root).resolve(), os.getpid()).read(f"{revision}:{path}")


class _BlobReader:
    """One `git cat-file --batch` process serving every file read at a revision in a project (the site reads some
    150 of them, a process each cost more than the reading). A name git cannot pass on one line is read by a
    process of its own."""

    def __init__(self, root: Path):
        self.root, self.lock = root, threading.Lock()
        self.process = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        atexit.register(self.close)

    def read(self, name: str) -> bytes | None:
        """The blob `REVISION:PATH` names, None when there is none (no such revision or file, or a folder)."""
        if "\n" in name:
            proc = subprocess.run(["git", "cat-file", "blob", name], cwd=self.root, capture_output=True)
            return proc.stdout if proc.returncode == 0 else None
        with self.lock:
            try:
                self.process.stdin.write(name.encode("utf-8") + b"\n")
                self.process.stdin.flush()
            except BrokenPipeError:  # git did not start here (not a repository): nothing at any revision
                return None
            header = self.process.stdout.readline().rstrip(b"\n")
            if not header or header.endswith((b" missing", b" ambiguous")):
                return None
            _, kind, size = header.rsplit(b" ", 2)  # "<object id> <type> <size>", then the object and a newline
            data = self.process.stdout.read(int(size) + 1)[:-1]
            return data if kind == b"blob" else None

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        self.process.wait()
        self.process.stdout.close()


@functools.cache
def _blob_reader(root: Path, pid: int) -> _BlobReader:
    """The project's reader in this process (a forked child starts its own: it must not share the parent's pipe)."""
    return _BlobReader(root)


def files_at(root: Path, revision: str, folder: str) -> list[str]:
    """The paths of the files directly in a folder at a revision (or on disk for `workspace`), sorted; none when
    the revision has no such folder."""
    if revision == WORKSPACE:
        found = (Path(root) / folder).glob("*")
        return sorted(f"{folder}/{file.name}" for file in found if file.is_file() and not file.is_symlink())
    proc = subprocess.run(["git", "ls-tree", "-z", f"{revision}:{folder}"], cwd=root, capture_output=True)
    if proc.returncode != 0:
        return []
    entries = (entry.split("\t", 1) for entry in proc.stdout.decode("utf-8").split("\0") if entry)
    return sorted(f"{folder}/{name}" for mode, name in entries if mode.split()[1] == "blob")


def read_at(root: Path, revision: str, path: str) -> str | None:
    """A file's text at a revision (or on disk for `workspace`), newlines as Python reads text; None when the
    revision has no such file; VersionError naming it when it is not UTF-8 text (a binary file)."""
    data = read_bytes_at(root, revision, path)
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VersionError(f"{_where(revision, path)}: not UTF-8 text (byte {exc.start}): a binary file?") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_json_at(root: Path, revision: str, path: str) -> dict | None:
    """A JSON object at a revision, parsed; None when the revision has no such file; VersionError naming the file
    when it is not JSON or not an object."""
    text = read_at(root, revision, path)
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise VersionError(f"{_where(revision, path)}: not JSON ({reason(exc)})") from None
    if not isinstance(data, dict):
        raise VersionError(f"{_where(revision, path)}: a JSON {type(data).__name__}, not an object")
    return data


def complete_records(text: str, where: str) -> tuple[str, str | None]:
    """A CSV's text without a last record cut short, and a warning naming the file when it ends mid-row. Curate
    ends every file with a newline: a file without one was cut, and its last record is left out when it has fewer
    fields than the header (it is kept, with the warning, when the cut may have taken only the end of a value)."""
    if not text or text.endswith("\n"):
        return text, None
    ends, position = [], [0]

    def lines():
        for line in text.splitlines(keepends=True):
            position[0] += len(line)
            yield line

    rows = []
    for row in csv.reader(lines()):
        rows.append(row)
        ends.append(position[0])
    if len(rows) > 1 and len(rows[-1]) < len(rows[0]):
        return text[: ends[-2]], f"{where}: ends mid-row (cut short?): its last record ({len(rows) - 1}) is left out"
    return text, f"{where}: ends without a newline (cut short?): its last record may be incomplete"


def stages_writing(dvc_yaml: str, paths: tuple[str, ...]) -> list[str]:
    """The stages of a dvc.yaml text that write any of these paths (as outs, metrics or plots); the text is read as
    untrusted (any revision's), VersionError when it cannot be."""
    try:
        pipeline = untrusted.load_data(dvc_yaml)
    except untrusted.FieldError as exc:
        raise VersionError(f"dvc.yaml: {exc.message}") from None
    found = []
    for name, stage in (pipeline.get("stages") or {}).items():
        written = {
            next(iter(entry)) if isinstance(entry, dict) else entry
            for key in ("outs", "metrics", "plots")
            for entry in stage.get(key) or []
        }
        if written & set(paths):
            found.append(name)
    return found


@contextlib.contextmanager
def rebuilt_worktree(root: Path, revision: str, outputs: tuple[str, ...]):
    """A temporary git worktree at the revision where `dvc repro` has rebuilt these outputs from its raw data.

    Only the stages writing them run, with everything they depend on (forced, so nothing is taken from git);
    the revision's own pipeline and code run (its src/ comes first on PYTHONPATH), with this environment's
    interpreter and DVC. The worktree is removed afterwards, whatever happens.
    """
    dvc_yaml = read_at(root, revision, "dvc.yaml")
    if dvc_yaml is None:
        raise VersionError(f"{revision[:10]}: no dvc.yaml at this revision (it predates the pipeline)")
    folder = Path(tempfile.mkdtemp(prefix="mlsizes-rebuild-")) / "tree"
    git(root, "worktree", "add", "--detach", "--quiet", str(folder), revision)
    try:
        try:
            dvc(folder, "repro", "--force", *stages_writing(dvc_yaml, outputs), pythonpath=folder / "src")
        except VersionError as exc:
            raise VersionError(f"{revision[:10]}: rebuilding failed: {exc}") from None
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=root, capture_output=True)
        subprocess.run(["rm", "-rf", str(folder.parent)], capture_output=True)


@dataclass(frozen=True)
class Release:
    """A release: its version, commit, date, upstream snapshot and notes (from dataset.yaml)."""

    version: str
    commit: str
    date: str
    snapshot: str
    notes: str


def _dataset_meta(text: str) -> dict:
    """A revision's dataset.yaml, read as untrusted text (a committed alias bomb had hung `versions` and `diff`);
    an unreadable one names no release."""
    try:
        meta = untrusted.load_text(text) if text.strip() else {}
    except ValueError:
        return {}
    # A version, date, snapshot or notes that is a list or a mapping (`version: [a, b]`) names no release either.
    return meta if all(isinstance(meta.get(key), (str, type(None))) for key in RELEASE_KEYS) else {}


def releases(root: Path) -> list[Release]:
    """Every commit that changed the dataset version in `dataset.yaml`, oldest first."""
    try:
        log = git(root, "log", "--reverse", "--format=%H %cs", "--", DATASET_FILE)
    except VersionError:
        return []
    found, previous = [], None
    for line in log.splitlines():
        commit, date = line.split()
        meta = _dataset_meta(read_at(root, commit, DATASET_FILE) or "")
        version = str(meta.get("version", ""))
        if version and version != previous:
            found.append(
                Release(
                    version=version,
                    commit=commit,
                    date=str(meta.get("date", date)),
                    snapshot=str(meta.get("snapshot", "")),
                    notes=str(meta.get("notes", "")).strip(),
                )
            )
        previous = version
    return found


def resolve(root: Path, name: str) -> str:
    """A revision for a name: `workspace`, a release version, or anything git understands (commit, tag, branch)."""
    if name == WORKSPACE:
        return WORKSPACE
    if name.startswith("-"):  # git would read it as an option
        raise VersionError(f"{name!r} is not a revision or version (see `mlsizes versions`)")
    for release in releases(root):
        if release.version == name or release.version == name.removeprefix("v"):
            return release.commit
    try:
        return git(root, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}").strip()
    except VersionError:
        raise VersionError(f"unknown revision or version {name!r} (see `mlsizes versions`)") from None
