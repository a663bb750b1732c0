"""`mlsizes update`: fetch upstream's current CSV, build the dataset from it, and say what changed.

The README's release steps up to the commit, in one command: fetch (fetch.py: every check, cap and retry), point
`snapshot:` in params.yaml at the new file (that line only, comments kept), `dvc repro`, then the diff against the
last release and the commands that commit and release it. Nothing is committed: a person reviews the change first.

The git tree must be clean to start, so every change afterwards is the update's own. That is also what makes it
all or nothing: if anything fails once the snapshot is stored (`dvc repro`, the diff, Ctrl-C), params.yaml gets its
bytes back, the snapshot and its provenance record are removed, and every tracked file a stage rewrote is checked
out again, leaving the tree as clean as it was.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mlsizes.core import untrusted
from mlsizes.core.errors import reason
from mlsizes.core.files import atomic_write_bytes
from mlsizes.core.paths import LAYOUT, Paths
from mlsizes.core.untrusted import printable
from mlsizes.records import contribution_files, curation, snapshots
from mlsizes.releases import diff
from mlsizes.releases.revisions import WORKSPACE, Release, VersionError, dvc, git, read_at, releases
from mlsizes.workflows import compare, fetch
from mlsizes.workflows.fetch import FetchOptions
from mlsizes.workflows.release import version_key

MAX_NAMES = 20  # new models named in the summary; `mlsizes diff` lists them all
# The top-level `snapshot:` line (the paper's own snapshot is indented under paper_reproduction): its value, bare or
# quoted, and whatever follows it (a comment) left as it is.
_SNAPSHOT_LINE = re.compile(r"^(snapshot:[ \t]*)(['\"]?)([^'\"\s#]*)\2", re.MULTILINE)

StepCallback = Callable[[str], None]


class UpdateError(Exception):
    """The update cannot start or did not finish (and was undone); the message is one line."""


@dataclass(frozen=True)
class UpdateResult:
    """What the update did: the snapshot fetched (or the identical one found) and, when the dataset was rebuilt,
    the snapshot it replaced, the last release, the diff against it and the version to release as."""

    fetched: fetch.FetchResult
    previous_snapshot: str
    last_release: str | None = None
    change: diff.DatasetDiff | None = None
    version: str | None = None
    superseded: list[str] = field(default_factory=list)  # contribution files a record now stands for
    new_rejects: list[str] = field(default_factory=list)  # reject rows the last release did not have

    @property
    def updated(self) -> bool:
        """Whether upstream had anything new (False: nothing was written)."""
        return self.fetched.stored


def run(
    paths: Paths,
    url: str,
    options: FetchOptions,
    on_progress: fetch.ProgressCallback | None = None,
    on_retry: fetch.RetryCallback | None = None,
    on_step: StepCallback | None = None,
    date: dt.date | None = None,
) -> UpdateResult:
    """Fetch URL as a new snapshot, build the dataset from it with `dvc repro` and diff it against the last
    release; the changes stay uncommitted. Nothing is written when upstream is unchanged or the fetch fails, and
    a failure after that restores the tree (see the module docstring). Call it from the main thread (fetch's
    deadline is a SIGALRM timer)."""
    root, step = paths.root, on_step or (lambda message: None)
    check_clean(root)
    params_before = params_bytes(paths.params)
    previous = snapshot_value(paths.params, params_before)
    fetched = fetch.run(paths, url, options, on_progress, on_retry, date)
    if not fetched.stored:
        return UpdateResult(fetched, previous)
    try:
        atomic_write_bytes(paths.params, point_at(paths.params, params_before, fetched.provenance["snapshot"]))
        step(f"stored {_relative(fetched.snapshot, root)}; params.yaml now names it; running dvc repro...")
        try:
            dvc(root, "repro", on_output=_stages(step))
        except VersionError as exc:
            raise UpdateError(f"dvc repro failed: {str(exc).removeprefix('ERROR: ')}") from None
        step("comparing with the last release...")
        released = releases(root)
        last = released[-1].version if released else None
        # Like with like (workflows/compare.py): the workspace was just rebuilt by the current code.
        change = compare.process(paths, last, WORKSPACE, current=(WORKSPACE,)) if last else None
        day = dt.date.fromisoformat(fetched.provenance["upstream_date"])
        rejected = _rejects(paths.rejected.read_text(encoding="utf-8"))
        before = _rejects(read_at(root, released[-1].commit, LAYOUT["rejected"]) if released else None)
        return UpdateResult(
            fetched,
            previous,
            last,
            change,
            next_version(root, day, released),
            superseded=[_reject_line(row) for _, row in curation.superseded(rejected).iterrows()],
            new_rejects=[_reject_line(row) for _, row in new_rejects(before, rejected).iterrows()],
        )
    except BaseException as exc:
        problems = undo(paths, params_before, fetched.snapshot)
        if not isinstance(exc, Exception):  # Ctrl-C: undone, and still an interruption
            raise
        undone = (
            f"; could not undo it all: {'; '.join(problems)}"
            if problems
            else f" (undone: params.yaml restored, {fetched.snapshot.name} removed)"
        )
        raise UpdateError(f"{reason(exc)}{undone}") from None


def _rejects(text: str | None) -> pd.DataFrame:
    """A rejected.csv as text cells (an empty table when a revision has none)."""
    if text is None:
        return pd.DataFrame(columns=curation.REJECTED_COLUMNS)
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def _reject_key(row: pd.Series) -> tuple:
    """A reject as it stays from one snapshot to the next: upstream's source and row number change with every
    snapshot, so an upstream reject is known by its name and reason; a contribution's also by its file."""
    source = row["source"] if row["source"].startswith(contribution_files.SOURCE_PREFIX) else "epoch"
    return source, row["name"], row["reject_code"], row["reject_field"], row["reject_value"]


def new_rejects(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The reject rows of AFTER that BEFORE did not have (as many of each as are new)."""
    left = Counter(_reject_key(row) for _, row in before.iterrows())
    keep = []
    for label, row in after.iterrows():
        key = _reject_key(row)
        if left[key]:
            left[key] -= 1
        else:
            keep.append(label)
    return after.loc[keep]


def _reject_line(row: pd.Series) -> str:
    """One reject as the summary lists it: the record, where it came from, its code and reason."""
    source = row["source"]
    if source.startswith(contribution_files.SOURCE_PREFIX):
        where = f"{LAYOUT['contributions_dir']}/{source.removeprefix(contribution_files.SOURCE_PREFIX)}"
    else:
        where = f"row {row['source_row']} of {source.removeprefix('epoch:')}"
    name = printable(row["name"]) if row["name"] else "(no name)"
    return f"{name} ({where}): {row['reject_code']}: {printable(row['reject_message'])}"


def check_clean(root: Path) -> None:
    """Refuse a tree with uncommitted changes: the update's changes must be reviewable, and undoable, on their
    own."""
    pending = git(root, "status", "--porcelain", "--untracked-files=normal").splitlines()
    if pending:
        raise UpdateError(
            f"uncommitted changes ({len(pending)}, e.g. {pending[0][3:]}): commit or stash them first, so the "
            "update can be reviewed on its own"
        )


def params_bytes(params_path: Path) -> bytes:
    """params.yaml's bytes, read as untrusted (a regular file, no link, no FIFO, at most 256 KB); UpdateError."""
    try:
        return untrusted.read_file(params_path).encode("utf-8")
    except FileNotFoundError:
        raise UpdateError(f"{params_path}: no such file") from None
    except untrusted.FieldError as exc:
        raise UpdateError(f"{params_path}: {exc.message}") from None


def snapshot_value(params_path: Path, text: bytes) -> str:
    """The snapshot the top-level `snapshot:` line names; UpdateError, before anything is fetched, when the
    params have no such line for the update to edit."""
    found = _SNAPSHOT_LINE.findall(text.decode("utf-8"))
    if len(found) != 1:
        raise UpdateError(
            f"{params_path}: expected one top-level `snapshot:` line to point at the new snapshot, found {len(found)}"
        )
    return found[0][2]


def point_at(params_path: Path, text: bytes, snapshot_id: str) -> bytes:
    """The params text with the `snapshot:` line naming SNAPSHOT_ID and every other byte (comments included)
    unchanged; checked by reading it back as YAML."""
    edited = _SNAPSHOT_LINE.sub(
        lambda match: f"{match[1]}{match[2]}{snapshot_id}{match[2]}", text.decode("utf-8"), count=1
    )
    try:
        read = untrusted.load_data(edited).get("snapshot")
    except untrusted.FieldError as exc:
        raise UpdateError(f"{params_path}: {exc.message}") from None
    if read != snapshot_id:
        raise UpdateError(f"{params_path}: editing the `snapshot:` line gave {read!r}, not {snapshot_id!r}")
    return edited.encode("utf-8")


def undo(paths: Paths, params_before: bytes, snapshot: Path) -> list[str]:
    """Put the tree back as the update found it (clean): params.yaml's bytes, no new snapshot or provenance
    record, and every tracked file a stage rewrote (outputs, dvc.lock) as git holds it. Returns what could not be
    undone, each step tried whatever the others did."""
    problems = []
    for what, action in (
        ("params.yaml", lambda: atomic_write_bytes(paths.params, params_before)),
        (snapshot.name, lambda: snapshot.unlink(missing_ok=True)),
        (snapshots.provenance_path(snapshot).name, lambda: snapshots.provenance_path(snapshot).unlink(missing_ok=True)),
        ("the rebuilt outputs", lambda: _checkout_changed(paths.root)),
    ):
        try:
            action()
        except (OSError, VersionError) as exc:
            problems.append(f"{what}: {reason(exc)}")
    return problems


def _checkout_changed(root: Path) -> None:
    """Check out every tracked file that differs from HEAD (the tree was clean when the update started)."""
    changed = [name for name in git(root, "diff", "--name-only", "-z", "HEAD").split("\0") if name]
    if changed:
        git(root, "checkout", "HEAD", "--", *changed)


def next_version(root: Path, day: dt.date, released: list[Release]) -> str:
    """The release version of a snapshot dated DAY: `YYYY.MM.DD`, or when that is released or tagged already the
    first `YYYY.MM.DD.N` that is free and newer than every release (what release.check_new_version accepts)."""
    base = f"{day:%Y.%m.%d}"
    taken = {r.version for r in released} | set(git(root, "tag", "--list").split())
    newest = max((key for key in (version_key(r.version) for r in released) if key), default=None)
    if newest is not None and version_key(base)[:3] < newest[:3]:
        return base  # a snapshot older than the last release: no version of its date is newer; release refuses it
    candidates = itertools.chain([base], (f"{base}.{n}" for n in itertools.count(1)))
    return next(v for v in candidates if v not in taken and (newest is None or version_key(v) > newest))


def summary(result: UpdateResult, root: Path, url: str) -> str:
    """What changed, in a few lines, ending with the commands that commit and release it."""
    shown = _relative(result.fetched.snapshot, root)
    if not result.updated:
        return f"nothing new: {url} is identical to {shown}; nothing changed\n"
    record, change = result.fetched.provenance, result.change
    new = record["snapshot"]
    lines = [
        f"stored {shown} ({record['rows']} rows, sha256 {record['sha256']}) and its provenance record",
        f"dated {result.fetched.dating}",
        f"params.yaml: snapshot: {result.previous_snapshot} -> {new}; rebuilt with dvc repro",
    ]
    if change is None:
        notes = f"First release, built from Epoch's snapshot of {record['upstream_date']}."
        lines.append("no earlier release to compare with")
    else:
        changed = len({c["id"] for c in change.changed})
        counts = f"{len(change.added)} added, {len(change.removed)} removed, {changed} changed records"
        notes = f"Built from Epoch's snapshot of {record['upstream_date']}: {counts}."
        lines.append(f"against release {result.last_release}: {counts}")
        names = [printable(name) for name in change.added["name"]]
        if names:
            more = f", the first {MAX_NAMES}" if len(names) > MAX_NAMES else ""
            lines.append(f"new models ({len(names)}{more}):")
            lines += [f"  {name}" for name in names[:MAX_NAMES]]
        moves = diff.notable_changes(change)
        for title in ("Entering the gap", "Leaving the gap"):
            records = moves[title]
            lines.append(f"records {title.lower()} ({len(records)}):" if records else f"records {title.lower()}: none")
            lines += [f"  {record}" for record in records]
        lines.append(f"new rejects ({len(result.new_rejects)}):" if result.new_rejects else "new rejects: none")
        lines += [f"  {line}" for line in result.new_rejects]
        lines.append("gap verdict:")
        lines += [f"  {line}" for line in change.headlines] or ["  no change in the gap test results"]
        lines += diff.method_lines(change)
    if result.superseded:
        lines.append(
            f"contributions upstream now supersedes ({len(result.superseded)}): for each, "
            f"{curation.SUPERSEDED_ADVICE}; `mlsizes release` refuses until then:"
        )
        lines += [f"  {line}" for line in result.superseded]
    compare = f"mlsizes diff {result.last_release} workspace" if result.last_release else "git diff --stat"
    lines += [
        f"nothing is committed: review the changes (git status, {compare}), then run:",
        f'git add -A && git commit -m "Build from {new}"',
        f'mlsizes release {result.version} --notes "{notes}"',
    ]
    return "\n".join(lines) + "\n"


def to_json(result: UpdateResult, root: Path) -> dict:
    """`mlsizes update --json`: the fetch, the snapshot replaced, the diff against the last release (as `mlsizes
    diff --json` gives it), the superseded contributions, the new rejects and the version to release as."""
    return {
        **fetch.to_json(result.fetched, root),
        "previous_snapshot": result.previous_snapshot,
        "last_release": result.last_release,
        "version": result.version,
        "superseded": result.superseded,
        "new_rejects": result.new_rejects,
        "diff": None if result.change is None else diff.to_json(result.change),
    }


def _stages(step: StepCallback):
    """An on_output for `dvc repro` that reports each stage as it starts, so a rebuild is never silent for long."""

    def on_output(line: str) -> None:
        if line.startswith("Running stage "):
            step(f"dvc repro: {line.removeprefix('Running stage ').rstrip(':')}")

    return on_output


def _relative(path: Path, root: Path) -> Path:
    try:
        return path.relative_to(root)
    except ValueError:
        return path
