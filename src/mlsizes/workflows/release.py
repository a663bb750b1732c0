"""`mlsizes release`: make the committed, built dataset a release (dataset.yaml, a CHANGELOG entry, a git tag).

Everything that could make the release wrong is checked before anything is written: the version's form and
order, uncommitted changes, stale DVC stages, contribution files `mlsizes validate` refuses or upstream now
supersedes, and that records or metrics changed since the last release.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import yaml

from mlsizes.core import untrusted
from mlsizes.core.files import atomic_write_text
from mlsizes.core.paths import LAYOUT, Paths
from mlsizes.core.settings import read_params
from mlsizes.records import curation
from mlsizes.records.snapshots import dataset_as_of
from mlsizes.releases import diff
from mlsizes.releases.revisions import WORKSPACE, Release, VersionError, dvc, git, releases
from mlsizes.stages import metadata, site
from mlsizes.workflows import add_model, compare

CHANGELOG_DIR = "changelog"  # beside CHANGELOG.md: one file per release with every record that changed
CHANGELOG_HEADER = "# Changelog\n\nDataset releases of mlsizes, newest first. Written by `mlsizes release`.\n\n"
# A version may be dated after its data's as-of date (a release made later), by at most this much.
FUTURE_DAYS = 366
_VERSION = re.compile(r"(\d{4})\.(\d{2})\.(\d{2})(?:\.([1-9]\d*))?")


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
        raise VersionError(
            f"uncommitted changes ({len(pending)}, e.g. {pending[0][3:]}): commit the built dataset "
            "first, then release it"
        )
    try:
        status = dvc(root, "status", "--json")
    except VersionError as exc:
        raise VersionError(f"dvc status failed: {exc}") from None
    stale = sorted(json.loads(status or "{}"))
    if stale:
        raise VersionError(
            f"the dataset is not built: dvc status lists {', '.join(stale)}; run `dvc repro` and "
            "commit the result first"
        )


def check_contributions(paths: Paths) -> None:
    """Refuse a release whose contribution files curate rejects: one upstream now supersedes (its id taken or a
    likely duplicate, as rejected.csv says), or any that `mlsizes validate` fails; the message says what to do."""
    rejected = pd.read_csv(paths.rejected, dtype=str, keep_default_na=False)
    stale = curation.superseded(rejected)
    if len(stale):
        files = ", ".join(
            f"{LAYOUT['contributions_dir']}/{untrusted.printable(source.removeprefix('contribution:'))}"
            for source in stale["source"]
        )
        raise VersionError(
            f"{len(stale)} contribution files are superseded by records upstream now has ({files}): for each, "
            f"{curation.SUPERSEDED_ADVICE}, then release"
        )
    try:
        reports = add_model.validate([], paths.root)
    except add_model.UsageProblem as exc:
        raise VersionError(f"mlsizes validate cannot run: {exc}") from None
    invalid = [report for report in reports if report.errors]
    if invalid:
        first = invalid[0]
        raise VersionError(
            f"`mlsizes validate` fails on {len(invalid)} contribution files (e.g. "
            f"{untrusted.printable(_relative(first.path, paths.root))}: {first.errors[0].field}: "
            f"{first.errors[0].message}): fix or delete them, run `dvc repro` and commit, then release"
        )


def _relative(path: Path, root: Path) -> str:
    """A path as shown in a message: relative to the project root when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)


def write_release(
    paths: Paths, version: str, snapshot: str, notes: str, changelog_entry: str, date: dt.date, full_list: str
) -> list[Path]:
    """Write `dataset.yaml` for a new release, put its entry at the top of the changelog and its full
    record-level list in changelog/<version>.md."""
    meta = {"version": version, "date": date.isoformat(), "snapshot": snapshot, "notes": notes}
    dataset_path, changelog_path = paths.dataset_file, paths.changelog
    body = changelog_path.read_text(encoding="utf-8").removeprefix(CHANGELOG_HEADER) if changelog_path.exists() else ""
    atomic_write_text(
        dataset_path,
        "# The dataset version; a commit that changes it is a release "
        "(see `mlsizes versions`).\n" + yaml.safe_dump(meta, sort_keys=False),
    )
    atomic_write_text(changelog_path, CHANGELOG_HEADER + changelog_entry.rstrip() + "\n\n" + body)
    full_path = changelog_path.parent / CHANGELOG_DIR / f"{version}.md"
    atomic_write_text(full_path, full_list)
    return [dataset_path, changelog_path, full_path]


def commit_and_tag(root: Path, version: str, notes: str, paths: list[Path]) -> str:
    """Commit the release files and tag the commit with an annotated tag named as the version."""
    names = [str(Path(path).relative_to(root)) for path in paths]
    git(root, "add", "--", *names)
    git(root, "commit", "--quiet", "-m", f"Release {version}", "-m", notes, "--", *names)
    git(root, "tag", "-a", version, "-m", f"Dataset release {version}\n\n{notes}")
    return git(root, "rev-parse", "HEAD").strip()


def restore(root: Path, head: str, version: str) -> None:
    """Put the tree back as the release found it: at `head`, clean (check_built_and_committed made sure it was,
    so nothing of the user's is lost), with no tag of the version. A release is made whole or not at all."""
    if git(root, "tag", "--list", version).strip():
        git(root, "tag", "-d", version)
    git(root, "reset", "--quiet", "--hard", head)
    git(root, "clean", "-fdq")  # what the attempt created (ignored files are left alone)


def changelog_entry(version: str, date: dt.date, notes: str, previous: str | None, change) -> str:
    """The CHANGELOG entry for a release: the diff's summary (counts by domain, records entering or leaving the
    gap, the largest size changes, corrections, results that moved, validation changes) and a link to the
    release's full record-level list."""
    header = f"## {version} ({date.isoformat()})\n\n{notes}".rstrip()
    if previous is None:
        return header + "\n\nFirst release."
    validation = [
        f"{r['metric'].removeprefix('rejected_by_reason.')}: {r['old'] or 0} -> {r['new'] or 0} rejected"
        for r in change.metrics
        if r["file"] == LAYOUT["curation_metrics"] and r["metric"].startswith("rejected_by_reason")
    ]
    counts = (
        f"Compared with {previous}: {len(change.added)} new, {len(change.removed)} removed, "
        f"{len({c['id'] for c in change.changed})} changed records. Every record: "
        f"[{CHANGELOG_DIR}/{version}.md]({CHANGELOG_DIR}/{version}.md)."
    )
    return "\n\n".join(
        [
            header,
            counts,
            "\n".join(diff.summary_lines(change, markdown=True)).strip(),
            "**Validation changes**\n\n" + ("\n".join(f"- {line}" for line in validation) or "- none"),
        ]
    )


def full_changes(version: str, previous: str | None, change) -> str:
    """A release's full record-level list (changelog/<version>.md): the whole diff from the previous release."""
    if change is None:
        return f"# {version}\n\nFirst release: every record of data/curated/models.csv is new.\n"
    return f"# {version}: every change since {previous}\n\n" + diff.render(change, markdown=True, full=True)


def prepare(paths: Paths, version: str, notes: str | None, date: dt.date | None) -> tuple[str, list[Path]]:
    """Release the committed, built dataset as VERSION: check it may be released, write dataset.yaml and the
    CHANGELOG entry, commit them and tag the commit. Returns the commit and the files written.

    Refused, with nothing written: no notes, a malformed, reused or not newer version, uncommitted changes, a
    stale stage (`dvc status`), contribution files upstream supersedes or `validate` fails, or no change in records
    or metrics since the last release.
    """
    root = paths.root
    notes = (notes or "").strip()
    if not notes:
        raise VersionError("--notes is required: one or two sentences on what this release is")
    previous = check_new_version(root, version)
    check_built_and_committed(root)
    check_contributions(paths)
    params = read_params(paths.params)
    date = date or dataset_as_of(params, paths.raw_dir)
    if date is None:
        raise VersionError("params.yaml names no as-of date and no dated snapshot: give --date")
    year, month, day, _ = version_key(version)
    if dt.date(year, month, day) > date + dt.timedelta(days=FUTURE_DAYS):
        raise VersionError(
            f"version {version} is more than a year after the data's date {date.isoformat()}: every later "
            "version would have to be newer still; name the release by its data's date"
        )
    last, change = (previous[-1].version, None) if previous else (None, None)
    if last is not None:
        # Like with like: the last release's metrics recomputed by the current code; the workspace's are current
        # (checked above: no stage is stale). A change of method alone is news too, shown apart.
        change = compare.process(paths, last, WORKSPACE, current=(WORKSPACE,))
        if not (len(change.added) or len(change.removed) or change.changed or change.metrics or change.method):
            raise VersionError(f"nothing changed since release {last}: no record, no metric and no method differs")
    entry = changelog_entry(version, date, notes, last, change)
    full_list = full_changes(version, last, change)
    # datapackage.json and the dataset card name the version: the release commit rebuilds them (and records
    # that in dvc.lock), so a release names itself and leaves no stage stale.
    head = git(root, "rev-parse", "HEAD").strip()
    try:
        written = metadata.run(paths, metadata.MetadataSettings(version=version))
        written += write_release(paths, version, params["snapshot"], notes, entry, date, full_list)
        # The site gets the release's page the same way (site.py reads the version being released from
        # dataset.yaml).
        written += site.run(paths)
        dvc(root, "commit", "--force", "metadata", "site")
        return commit_and_tag(root, version, notes, [*written, root / "dvc.lock"]), written
    except BaseException:  # a failed hook, a full disk, Ctrl-C: nothing of the attempt stays
        restore(root, head, version)
        raise
