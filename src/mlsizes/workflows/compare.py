"""`mlsizes diff` like with like: each version's analysis metrics recomputed with the current code and params.

A release's stored metrics were made by the code and params of its day; comparing them with today's shows a
change of method (a bound convention, a fixed bug) as a change of data. So the diff runs the analyze stage's own
`process` on each version's curated table, with the project's current `analysis:` params and that version's
as-of date, and releases/diff.py reports any difference from what the version stored as a method change.

A result is cached under ~/.cache/mlsizes/metrics/ ($MLSIZES_CACHE, else $XDG_CACHE_HOME/mlsizes), keyed by the
table's bytes, the as-of date, the params and the code version (a hash of the package's modules and contracts),
so a second diff of the same versions with the same code reads it instead of computing it again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import os
from pathlib import Path

from mlsizes.analysis.study import progress
from mlsizes.core.files import atomic_write_text, to_json
from mlsizes.core.paths import LAYOUT, PACKAGE_DIR, Paths
from mlsizes.core.settings import AnalysisParams, Settings, iso_date
from mlsizes.records import contracts
from mlsizes.releases import diff
from mlsizes.releases.diff import Side
from mlsizes.releases.revisions import VersionError
from mlsizes.stages import analyze

CACHE_ENV = "MLSIZES_CACHE"


def cache_dir() -> Path:
    """Where recomputed metrics are kept: $MLSIZES_CACHE, else $XDG_CACHE_HOME/mlsizes, else ~/.cache/mlsizes."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]) / "metrics"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mlsizes" / "metrics"


# The code an analysis runs: the statistics, the analyze stage, what they build on (settings, stored formats,
# reading a curated table) and the contracts. An edit anywhere in them makes a new cache key; an edit to a
# command's help or to the diff's wording does not.
CODE = ("analysis", "core", "tables", "records", "schemas", "stages/analyze.py")


@functools.cache
def code_version() -> str:
    """A hash of the running package's analysis code and contracts (CODE)."""
    digest = hashlib.sha256()
    for part in CODE:
        top = PACKAGE_DIR / part
        files = sorted(top.rglob("*")) if top.is_dir() else [top]
        for path in (path for path in files if path.is_file() and path.suffix in (".py", ".yaml", ".json")):
            digest.update(str(path.relative_to(PACKAGE_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def as_of(side: Side):
    """The date a version's data describe: what its own analysis used (gap.json), else curate's snapshot date."""
    gap = side.metrics.get(LAYOUT["gap"]) or {}
    curation = side.metrics.get(LAYOUT["curation_metrics"]) or {}
    stated = gap.get("as_of") or curation.get("snapshot_date")
    if not stated:
        raise VersionError(f"{side.name}: no as-of date (neither its gap.json nor its curation.json names one)")
    return iso_date(stated)


def recomputer(params: AnalysisParams, current: tuple[str, ...] = ()):
    """A `recompute(side)` for releases/diff.process: the side's trends.json and gap.json as the current code
    computes them with these params (the side's own as-of date), from the cache when it has them. The versions
    named in `current` hold metrics the current code made (the workspace right after a `dvc repro` that left
    analyze up to date): theirs are taken as they are."""

    def recompute(side: Side) -> dict[str, dict]:
        if side.name in current:
            return {path: side.metrics.get(path) for path in diff.ANALYSIS_METRICS}
        settings = dataclasses.replace(params, as_of=as_of(side))
        curation = side.metrics.get(LAYOUT["curation_metrics"]) or {}
        not_notable = curation.get("rejected_by_reason", {}).get("not_notable", 0)
        key = hashlib.sha256(
            json.dumps([code_version(), repr(settings), not_notable, side.text]).encode("utf-8")
        ).hexdigest()[:32]
        cached = cache_dir() / f"{key}.json"
        if cached.is_file():
            try:
                return json.loads(cached.read_text(encoding="utf-8"))
            except ValueError:
                pass  # a damaged entry is computed again and replaced
        progress(
            f"diff: recomputing {side.name}'s metrics with the current code and params (as of {settings.as_of}); "
            f"once, then cached in {cached.parent}"
        )
        try:
            result = analyze.process(contracts.read_curated(io.StringIO(side.text)), settings, curation)
        except Exception as exc:  # an old table the current contract or code cannot take: the diff says why
            reason = f"{type(exc).__name__} {exc}" if isinstance(exc, (KeyError, TypeError)) else str(exc)
            raise VersionError(f"its curated table does not fit the current code ({reason})") from None
        metrics = {LAYOUT["trends"]: json.loads(to_json(result.trends)), LAYOUT["gap"]: json.loads(to_json(result.gap))}
        try:
            atomic_write_text(cached, json.dumps(metrics))
        except OSError:
            pass  # no cache (a read-only home): the next diff computes it again
        return metrics

    return recompute


def process(paths: Paths, old: str, new: str, rebuild: bool = False, current: tuple[str, ...] = ()) -> diff.DatasetDiff:
    """releases/diff.process like with like: both versions' analysis metrics recomputed by the current code with
    the project's `analysis:` params (`current` as in recomputer). What `mlsizes diff`, the CHANGELOG entry of
    `mlsizes release` and the summary of `mlsizes update` compare, so none of them shows a change of method as a
    change of data."""
    try:
        params = Settings.load(paths.params).analysis
    except (ValueError, FileNotFoundError) as exc:
        raise VersionError(str(exc)) from None
    return diff.process(paths.root, old, new, rebuild, recomputer(params, current))
