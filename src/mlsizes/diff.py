"""`mlsizes diff A B`: how the records and the trend and gap metrics changed between two dataset revisions.

Load: the curated table and the metrics files at each revision (from git, or the workspace).
Process: records added, removed and changed field by field (keyed by id); every metric side by side.
Save: render as a terminal table, Markdown (for a pull-request comment) or JSON.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mlsizes import revisions
from mlsizes.files import round_significant
from mlsizes.paths import LAYOUT, VERSIONED_METRICS, VERSIONED_TABLE
from mlsizes.revisions import VersionError

# Columns that say where a row sits in its source file; they change with every snapshot and are no news.
BOOKKEEPING = ("source", "source_row")


@dataclass
class Side:
    """One version of the dataset: the name given, the revision it resolved to, its curated table and metrics."""

    name: str
    revision: str
    models: pd.DataFrame
    metrics: dict[str, dict]


@dataclass
class DatasetDiff:
    """What changed between two versions: records added, removed and changed, metrics, and the gap verdict."""

    old: Side
    new: Side
    added: pd.DataFrame
    removed: pd.DataFrame
    changed: list[dict]
    metrics: list[dict]
    missing_metrics: list[str] = field(default_factory=list)
    headlines: list[str] = field(default_factory=list)


def load_side(root: Path, name: str, rebuild: bool = False) -> Side:
    """The curated table and metrics git holds at a version; with rebuild, those its raw data rebuild to."""
    revision = revisions.resolve(root, name)
    if rebuild and revision != revisions.WORKSPACE:
        with revisions.rebuilt_worktree(root, revision, (VERSIONED_TABLE, *VERSIONED_METRICS)) as tree:
            return _read_side(tree, name, revision, revisions.WORKSPACE)
    return _read_side(root, name, revision, revision)


def _read_side(root: Path, name: str, revision: str, read_from: str) -> Side:
    text = revisions.read_at(root, read_from, VERSIONED_TABLE)
    if text is None:
        raise VersionError(f"{name}: no {VERSIONED_TABLE} at this revision (it predates the pipeline)")
    models = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False).set_index("id", drop=False)
    metrics = {path: revisions.read_json_at(root, read_from, path) for path in VERSIONED_METRICS}
    return Side(name=name, revision=revision, models=models, metrics=metrics)


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _same(old: str, new: str) -> bool:
    """Equal as text, or as numbers ("1.75e+11" and "175000000000.0" are the same size)."""
    if old == new:
        return True
    a, b = _number(old), _number(new)
    return a is not None and b is not None and a == b


def renamed_pairs(old: pd.DataFrame, new: pd.DataFrame) -> dict[str, str]:
    """Old id -> new id for records upstream renamed: gone under one id, new under another, same link.

    A link pairs records only when it is unique on both sides, so two systems from one paper never pair.
    """
    gone = old.loc[old.index.difference(new.index)]
    came = new.loc[new.index.difference(old.index)]
    links_old = old["link"][old["link"] != ""].value_counts()
    links_new = new["link"][new["link"] != ""].value_counts()
    unique = set(links_old[links_old == 1].index) & set(links_new[links_new == 1].index)
    by_link = {link: record_id for record_id, link in came["link"].items() if link in unique}
    return {record_id: by_link[link] for record_id, link in gone["link"].items() if link in by_link}


def record_changes(old: pd.DataFrame, new: pd.DataFrame, renamed: dict[str, str]) -> list[dict]:
    """One row per changed field of each record on both sides (renamed ones paired), bookkeeping columns aside."""
    pairs = [(record_id, record_id) for record_id in old.index.intersection(new.index)] + list(renamed.items())
    fields = [c for c in new.columns if c in old.columns and c not in BOOKKEEPING]
    changes = []
    for old_id, new_id in sorted(pairs, key=lambda pair: pair[1]):
        before, after = old.loc[old_id], new.loc[new_id]
        for column in fields:
            if not _same(before[column], after[column]):
                changes.append(
                    {"id": new_id, "name": after["name"], "field": column, "old": before[column], "new": after[column]}
                )
    return changes


def _item_label(item, index: int) -> str:
    """How a list item is keyed: a sliding-window row by its domain and window, anything else by position."""
    if isinstance(item, dict) and "domain" in item and "window" in item:
        return f"{item['domain']} {item['window']}"
    return str(index)


def flatten(value, prefix: str = "") -> dict:
    """Nested metrics -> {dotted.key: scalar}. A list of scalars stays one value (a tuple), so a list of names
    changes as a whole instead of shifting position by position."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        if not any(isinstance(item, (dict, list)) for item in value):
            return {prefix: tuple(value)}
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{_item_label(item, index)}]"))
        return out
    return {prefix: value}


def metric_rows(old: dict[str, dict | None], new: dict[str, dict | None]) -> list[dict]:
    """One row per metric whose value differs, with the change when both are numbers (rounded for display)."""
    rows = []
    for path in VERSIONED_METRICS:
        before, after = flatten(old.get(path) or {}), flatten(new.get(path) or {})
        for key in sorted(set(before) | set(after), key=lambda k: (k not in after, k)):
            a, b = before.get(key), after.get(key)
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
            if numeric:
                a, b = round_significant(a), round_significant(b)
                change = round_significant(b - a)
            else:
                change = None
            if a != b:
                rows.append({"file": path, "metric": key, "old": a, "new": b, "change": change})
    return rows


def _test_label(key: str) -> str:
    """A test key as words: tests.language -> language systems; tests.language.strict (releases that stored
    both bound conventions) -> language systems (strict bounds)."""
    if key.startswith("tests."):
        _, domain, *bounds = key.split(".")
        return f"{domain.replace('_', '-')} systems" + (f" ({bounds[0]} bounds)" if bounds else "")
    return key[key.index("[") + 1 : key.rindex("]")] if "[" in key else key


def gap_headlines(old: dict | None, new: dict | None) -> list[str]:
    """Plain-words lines for the gap verdict: in-gap count and P(K<=obs) of every test that changed."""
    before, after = flatten(old or {}), flatten(new or {})
    lines = []
    for key in [k for k in after if k.endswith(".observed_in_gap")]:
        test = key.removesuffix(".observed_in_gap")
        p_key = f"{test}.p_le_observed_exact"
        count_old, count_new = before.get(key), after[key]
        p_old, p_new = before.get(p_key), after.get(p_key)
        if count_old == count_new and p_old == p_new:
            continue
        lines.append(
            f"in-gap {_test_label(test)}: {_fmt(count_old)} -> {_fmt(count_new)}; "
            f"P(K<=obs) {_fmt(p_old)} -> {_fmt(p_new)}"
        )
    return lines


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, tuple):
        return f"{len(value)} items"
    return str(value)


def process(root: Path, old_name: str, new_name: str, rebuild: bool = False) -> DatasetDiff:
    """Compare two versions: records added, removed and changed (renames paired by link), and their metrics."""
    old, new = load_side(root, old_name, rebuild), load_side(root, new_name, rebuild)
    if old.revision == new.revision and old.revision != revisions.WORKSPACE:
        raise VersionError(f"{old_name} and {new_name} are the same revision ({old.revision[:10]}): nothing to diff")
    renamed = renamed_pairs(old.models, new.models)
    added = new.models.loc[new.models.index.difference(old.models.index).difference(list(renamed.values()))]
    removed = old.models.loc[old.models.index.difference(new.models.index).difference(list(renamed))]
    missing = [f"{side.name}: {path}" for side in (old, new) for path, data in side.metrics.items() if data is None]
    return DatasetDiff(
        old=old,
        new=new,
        added=added,
        removed=removed,
        changed=record_changes(old.models, new.models, renamed),
        metrics=metric_rows(old.metrics, new.metrics),
        missing_metrics=missing,
        headlines=gap_headlines(old.metrics.get(LAYOUT["gap"]), new.metrics.get(LAYOUT["gap"])),
    )


def to_json(diff: DatasetDiff) -> dict:
    """The diff as plain JSON data: both sides' record counts, added and removed records in brief, every change."""
    brief = ["id", "name", "primary_domain", "publication_date", "parameters"]
    return {
        "old": {"name": diff.old.name, "revision": diff.old.revision, "records": len(diff.old.models)},
        "new": {"name": diff.new.name, "revision": diff.new.revision, "records": len(diff.new.models)},
        "added": diff.added[brief].to_dict(orient="records"),
        "removed": diff.removed[brief].to_dict(orient="records"),
        "changed": diff.changed,
        "metrics": diff.metrics,
        "gap_verdict": diff.headlines,
        "missing_metrics": diff.missing_metrics,
    }


def _table(headers: list[str], rows: list[list], markdown: bool) -> str:
    cells = [[str(c) for c in row] for row in rows]
    if markdown:
        escape = lambda text: text.replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in cells]
        return "\n".join(lines)
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    line = lambda row: "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(row) for row in cells])


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _brief(frame: pd.DataFrame) -> list[list]:
    """Added or removed records as table rows: id, short name, domain, date, size."""
    return [
        [r["id"], _short(r["name"], 40), r["primary_domain"], r["publication_date"], r["parameters"] or "-"]
        for _, r in frame.iterrows()
    ]


def render(diff: DatasetDiff, markdown: bool) -> str:
    """The diff as a report: plain text for a terminal, or Markdown for a pull-request comment."""
    title = (
        f"{diff.old.name} ({_rev(diff.old)}, {len(diff.old.models)} records) -> "
        f"{diff.new.name} ({_rev(diff.new)}, {len(diff.new.models)} records)"
    )
    heading = (lambda text: f"\n### {text}\n") if markdown else (lambda text: f"\n{text}\n{'=' * len(text)}")
    out = [f"## Dataset diff: {title}" if markdown else f"Dataset diff: {title}"]
    out.append(heading("Gap verdict"))
    out.append("\n".join(f"- {line}" for line in diff.headlines) or "- no change in the gap test results")
    summary = (
        f"{len(diff.added)} added, {len(diff.removed)} removed, "
        f"{len({c['id'] for c in diff.changed})} changed ({len(diff.changed)} field changes)"
    )
    out.append(heading(f"Records: {summary}"))
    for label, frame in (("Added", diff.added), ("Removed", diff.removed)):
        if len(frame):
            out.append(f"{label}:" if not markdown else f"**{label}**\n")
            out.append(_table(["id", "name", "domain", "date", "parameters"], _brief(frame), markdown))
    if diff.changed:
        out.append("Changed:" if not markdown else "**Changed**\n")
        out.append(
            _table(
                ["id", "field", "old", "new"],
                [[c["id"], c["field"], _short(c["old"]), _short(c["new"])] for c in diff.changed],
                markdown,
            )
        )
    out.append(heading("Metrics"))
    if diff.metrics:
        out.append(
            _table(
                ["metric", "Old", "New", "Change"],
                [
                    [
                        f"{Path(r['file']).stem}: {r['metric']}",
                        _fmt(r["old"]),
                        _fmt(r["new"]),
                        "" if r["change"] is None else f"{r['change']:+.3g}",
                    ]
                    for r in diff.metrics
                ],
                markdown,
            )
        )
    else:
        out.append("no metric changed")
    for missing in diff.missing_metrics:
        out.append(f"note: {missing} does not exist at that revision (run with --rebuild to compute it)")
    return "\n".join(out) + "\n"


def _rev(side: Side) -> str:
    return side.revision if side.revision == revisions.WORKSPACE else side.revision[:10]


def run(root: Path, old_name: str, new_name: str, output: str, rebuild: bool = False) -> str:
    """The diff between two versions rendered as `table`, `md` or `json`."""
    diff = process(root, old_name, new_name, rebuild)
    if output == "json":
        return json.dumps(to_json(diff), indent=2, default=str) + "\n"
    return render(diff, markdown=output == "md")
