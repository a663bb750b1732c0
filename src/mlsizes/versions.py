"""Dataset versions: every commit is a version of the dataset; a release is a commit that changes `dataset.yaml`.

Everything here reads what git holds at a revision (`git show REV:path`), so it works in a fresh clone with no
DVC remote. `workspace` names the files on disk.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlsizes.files import atomic_write_text

WORKSPACE = "workspace"
DATASET_FILE = "dataset.yaml"
CHANGELOG = "CHANGELOG.md"
CHANGELOG_ITEMS = 200  # per section; `mlsizes diff` has them all
CHANGELOG_SECTIONS = ("New records", "Corrections", "Removed", "Validation changes", "Effect on the gap results")
CHANGELOG_HEADER = "# Changelog\n\nDataset releases of mlsizes, newest first. Written by `mlsizes release`.\n\n"
_VERSION = re.compile(r"(\d{4})\.(\d{2})\.(\d{2})(?:\.([1-9]\d*))?")


class VersionError(Exception):
    """A revision or version name cannot be used; the message says which and why."""


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise VersionError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"git {args[0]} failed")
    return proc.stdout


def dvc(folder: Path, *args: str, pythonpath: Path | None = None) -> str:
    """Run this environment's DVC in a folder (its stages find this environment's `mlsizes` first on PATH);
    VersionError with DVC's last line when it fails."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "DVC_NO_ANALYTICS": "1"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    proc = subprocess.run([str(Path(bin_dir) / "dvc"), *args], cwd=folder, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise VersionError((proc.stderr.strip() or proc.stdout.strip() or f"dvc {args[0]} failed").splitlines()[-1])
    return proc.stdout


def read_at(root: Path, revision: str, path: str) -> str | None:
    """A file's text at a revision (or on disk for `workspace`); None when the revision has no such file."""
    if revision == WORKSPACE:
        file = Path(root) / path
        return file.read_text(encoding="utf-8") if file.exists() else None
    proc = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=root, capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else None


def read_json_at(root: Path, revision: str, path: str) -> dict | None:
    text = read_at(root, revision, path)
    return json.loads(text) if text else None


def stages_writing(dvc_yaml: str, paths: tuple[str, ...]) -> list[str]:
    """The stages of a dvc.yaml text that write any of these paths (as outs, metrics or plots)."""
    found = []
    for name, stage in ((yaml.safe_load(dvc_yaml) or {}).get("stages") or {}).items():
        written = {next(iter(entry)) if isinstance(entry, dict) else entry
                   for key in ("outs", "metrics", "plots") for entry in stage.get(key) or []}
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
    version: str
    commit: str
    date: str
    snapshot: str
    notes: str


def releases(root: Path) -> list[Release]:
    """Every commit that changed the dataset version in `dataset.yaml`, oldest first."""
    try:
        log = git(root, "log", "--reverse", "--format=%H %cs", "--", DATASET_FILE)
    except VersionError:
        return []
    found, previous = [], None
    for line in log.splitlines():
        commit, date = line.split()
        meta = yaml.safe_load(read_at(root, commit, DATASET_FILE) or "") or {}
        version = str(meta.get("version", ""))
        if version and version != previous:
            found.append(Release(version=version, commit=commit, date=str(meta.get("date", date)),
                                 snapshot=str(meta.get("snapshot", "")), notes=str(meta.get("notes", "")).strip()))
        previous = version
    return found


def resolve(root: Path, name: str) -> str:
    """A revision for a name: `workspace`, a release version, or anything git understands (commit, tag, branch)."""
    if name == WORKSPACE:
        return WORKSPACE
    for release in releases(root):
        if release.version == name or release.version == name.removeprefix("v"):
            return release.commit
    try:
        return git(root, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}").strip()
    except VersionError:
        raise VersionError(f"unknown revision or version {name!r} (see `mlsizes versions`)") from None


def version_key(version: str) -> tuple[int, int, int, int] | None:
    """(year, month, day, N) of a `YYYY.MM.DD` or `YYYY.MM.DD.N` version naming a real date; None otherwise."""
    match = _VERSION.fullmatch(version)
    if not match:
        return None
    year, month, day, number = match.groups()
    try:
        dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
    return int(year), int(month), int(day), int(number or 0)


def check_new_version(root: Path, version: str) -> list[Release]:
    """Refuse a version that is malformed, reused, taken by a tag, or not newer than every release; return the
    releases so far."""
    if version_key(version) is None:
        raise VersionError(f"version {version!r}: expected YYYY.MM.DD or YYYY.MM.DD.N, a real date (e.g. 2026.03.10)")
    previous = releases(root)
    if version in {r.version for r in previous}:
        raise VersionError(f"version {version} already released; versions are never reused")
    if git(root, "tag", "--list", version).strip():
        raise VersionError(f"version {version}: a git tag of that name already exists")
    newest = max((r for r in previous if version_key(r.version)), key=lambda r: version_key(r.version), default=None)
    if newest is not None and version_key(version) <= version_key(newest.version):
        raise VersionError(f"version {version} is not newer than the latest release {newest.version}")
    return previous


def check_built_and_committed(root: Path) -> None:
    """A release is a commit of a built tree: DVC sees every stage up to date and git has nothing uncommitted."""
    git(root, "var", "GIT_COMMITTER_IDENT")  # fails now, not after writing, when git has no user name and email
    pending = git(root, "status", "--porcelain", "--untracked-files=normal").splitlines()
    if pending:
        raise VersionError(f"uncommitted changes ({len(pending)}, e.g. {pending[0][3:]}): commit the built dataset "
                           "first, then release it")
    try:
        status = dvc(root, "status", "--json")
    except VersionError as exc:
        raise VersionError(f"dvc status failed: {exc}") from None
    stale = sorted(json.loads(status or "{}"))
    if stale:
        raise VersionError(f"the dataset is not built: dvc status lists {', '.join(stale)}; run `dvc repro` and "
                           "commit the result first")


def write_release(root: Path, version: str, snapshot: str, notes: str, changelog_entry: str,
                  date: dt.date) -> list[Path]:
    """Write `dataset.yaml` for a new release and put its entry at the top of the changelog."""
    meta = {"version": version, "date": date.isoformat(), "snapshot": snapshot, "notes": notes}
    dataset_path, changelog_path = Path(root) / DATASET_FILE, Path(root) / CHANGELOG
    body = changelog_path.read_text(encoding="utf-8").removeprefix(CHANGELOG_HEADER) if changelog_path.exists() else ""
    atomic_write_text(dataset_path, "# The dataset version; a commit that changes it is a release "
                                    "(see `mlsizes versions`).\n" + yaml.safe_dump(meta, sort_keys=False))
    atomic_write_text(changelog_path, CHANGELOG_HEADER + changelog_entry.rstrip() + "\n\n" + body)
    return [dataset_path, changelog_path]


def commit_and_tag(root: Path, version: str, notes: str, paths: list[Path]) -> str:
    """Commit the release files and tag the commit with an annotated tag named as the version; on failure the
    files are restored, so a refused release leaves the tree as it found it."""
    names = [str(Path(path).relative_to(root)) for path in paths]
    try:
        git(root, "add", "--", *names)
        git(root, "commit", "--quiet", "-m", f"Release {version}", "-m", notes, "--", *names)
    except VersionError:
        git(root, "reset", "--quiet", "--", *names)
        git(root, "checkout", "--", *names)
        raise
    git(root, "tag", "-a", version, "-m", f"Dataset release {version}\n\n{notes}")
    return git(root, "rev-parse", "HEAD").strip()


def headline(root: Path, commit: str) -> dict:
    """Headline figures git holds at a commit: record counts and the gap test's in-gap counts and P(K<=obs)."""
    from mlsizes.diff import flatten

    curation = read_json_at(root, commit, "metrics/curation.json") or {}
    gap = flatten(read_json_at(root, commit, "metrics/gap.json") or {})
    figures = {"records": curation.get("curated"), "with_parameters": curation.get("with_parameters")}
    for bounds in ("strict", "inclusive"):
        test = f"tests.language.{bounds}"
        if f"{test}.observed_in_gap" in gap:
            figures[f"language_in_gap_{bounds}"] = gap[f"{test}.observed_in_gap"]
            figures[f"language_p_{bounds}"] = gap[f"{test}.p_le_observed_exact"]
    return figures


def run(root: Path) -> list[dict]:
    """The releases as JSON-able objects, oldest first, with their headline figures."""
    return [{"version": r.version, "commit": r.commit, "date": r.date, "snapshot": r.snapshot, "notes": r.notes,
             "headline": headline(root, r.commit)} for r in releases(root)]


def render(listing: list[dict]) -> str:
    lines = []
    for item in listing:
        figures = item["headline"]
        extra = "; ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                          for k, v in figures.items() if k not in ("records", "with_parameters") and v is not None)
        lines.append(f"{item['version']:<12} {item['commit'][:10]}  {item['date']}  {item['snapshot']:<40} "
                     f"{figures['records']} records, {figures['with_parameters']} with parameters"
                     + (f"; {extra}" if extra else ""))
    return "\n".join(lines)


def changelog_entry(version: str, date: dt.date, notes: str, previous: str | None, change) -> str:
    """The CHANGELOG entry for a release: its diff from the previous release, in fixed sections."""
    header = f"## {version} ({date.isoformat()})\n\n{notes}".rstrip()
    if previous is None:
        return header + "\n\nFirst release."
    key_fields = ("parameters", "publication_date", "name", "domains", "organization")
    corrections = sorted((c for c in change.changed if c["field"] in key_fields),
                         key=lambda c: (key_fields.index(c["field"]), c["id"]))
    validation = [r for r in change.metrics if r["file"].endswith("curation.json")
                  and r["metric"].startswith("rejected_by_reason")]
    sections = {
        "New records": [f"{r['id']} ({r['publication_date']}, {r['parameters'] or 'parameters unknown'})"
                        for _, r in change.added.iterrows()],
        "Corrections": [f"{c['id']}: {c['field']} {c['old']} -> {c['new']}" for c in corrections],
        "Removed": [f"{r['id']}" for _, r in change.removed.iterrows()],
        "Validation changes": [f"{r['metric']}: {r['old']} -> {r['new']}" for r in validation],
        "Effect on the gap results": change.headlines,
    }
    body = [header, f"Compared with {previous}: {len(change.added)} new, "
                    f"{len(change.removed)} removed, {len({c['id'] for c in change.changed})} changed records."]
    for title in CHANGELOG_SECTIONS:
        items = sections[title]
        shown = items[:CHANGELOG_ITEMS] + (
            [f"... and {len(items) - CHANGELOG_ITEMS} more (run `mlsizes diff`)"] if len(items) > CHANGELOG_ITEMS else [])
        body.append(f"### {title}\n\n" + ("\n".join(f"- {item}" for item in shown) or "- none"))
    return "\n\n".join(body)


def prepare(root: Path, version: str, notes: str | None, date: dt.date | None) -> tuple[str, list[Path]]:
    """Release the committed, built dataset as VERSION: check it may be released, write dataset.yaml and the
    CHANGELOG entry, commit them and tag the commit. Returns the commit and the files written.

    Refused, with nothing written: no notes, a malformed, reused or not newer version, uncommitted changes, a
    stale stage (`dvc status`), or no change in records or metrics since the last release.
    """
    from mlsizes import diff
    from mlsizes.project import dataset_as_of, read_params

    root = Path(root)
    notes = (notes or "").strip()
    if not notes:
        raise VersionError("--notes is required: one or two sentences on what this release is")
    previous = check_new_version(root, version)
    check_built_and_committed(root)
    params = read_params(root / "params.yaml")
    date = date or dataset_as_of(params, root)
    if date is None:
        raise VersionError("params.yaml names no as-of date and no dated snapshot: give --date")
    last, change = (previous[-1].version, None) if previous else (None, None)
    if last is not None:
        change = diff.process(root, last, WORKSPACE)
        if not (len(change.added) or len(change.removed) or change.changed or change.metrics):
            raise VersionError(f"nothing changed since release {last}: no record and no metric differs")
    entry = changelog_entry(version, date, notes, last, change)
    paths = write_release(root, version, params["snapshot"], notes, entry, date)
    return commit_and_tag(root, version, notes, paths), paths
