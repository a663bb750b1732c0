"""`mlsizes diff A B`: how the records and the trend and gap metrics changed between two dataset revisions.

Load: the curated table and the metrics files at each revision (from git, or the workspace).
Process: records added, removed and changed field by field (keyed by id); every metric side by side.
Save: render as a terminal table, Markdown (for a pull-request comment) or JSON.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes.core.errors import reason
from mlsizes.core.files import round_significant
from mlsizes.core.paths import LAYOUT, VERSIONED_METRICS, VERSIONED_TABLE
from mlsizes.core.settings import in_gap, size_text
from mlsizes.releases import revisions
from mlsizes.releases.revisions import VersionError
from mlsizes.rendering.text import markdown_text, plain_table

# The robustness checks stored inside a gap test (issue 14): not tests of their own.
ROBUSTNESS_CHECKS = ("scan", "posterior_predictive", "out_of_sample")
# Columns that say where a row sits in its source file; they change with every snapshot and are no news.
BOOKKEEPING = ("source", "source_row")


@dataclass
class Side:
    """One version of the dataset: the name given, the revision it resolved to, its curated table (and its text)
    and the metrics compared; `stored` keeps the metrics as the version stored them when the compared ones were
    recomputed with the current code (None when they were not)."""

    name: str
    revision: str
    models: pd.DataFrame
    metrics: dict[str, dict]
    warnings: list[str] = field(default_factory=list)  # what was read but looks damaged (a table cut short)
    text: str = ""
    stored: dict[str, dict] | None = None


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
    method: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_side(root: Path, name: str, rebuild: bool = False) -> Side:
    """The curated table and metrics git holds at a version; with rebuild, those its raw data rebuild to."""
    revision = revisions.resolve(root, name)
    if rebuild and revision != revisions.WORKSPACE:
        with revisions.rebuilt_worktree(root, revision, (VERSIONED_TABLE, *VERSIONED_METRICS)) as tree:
            return _read_side(tree, name, revision, revisions.WORKSPACE)
    return _read_side(root, name, revision, revision)


def side_at(root: Path, revision: str) -> Side:
    """The side at a revision already resolved (a commit, or the workspace), named by it: load_side without
    looking a name up in the history (the site reads every release, knowing their commits)."""
    return _read_side(root, revision, revision, revision)


# Metrics the diff computes with or formats as numbers: a value of another type is a damaged file.
NUMERIC_METRICS = ("observed_in_gap", "p_le_observed_exact", "slope_oom_per_year", "curated", "with_parameters")


def _read_side(root: Path, name: str, revision: str, read_from: str) -> Side:
    """One side's files; VersionError naming the version, the file and what is wrong with it."""
    try:
        text = revisions.read_at(root, read_from, VERSIONED_TABLE)
        if text is None:
            raise VersionError(f"no {VERSIONED_TABLE} at this revision (it predates the pipeline)")
        text, warning = revisions.complete_records(text, f"{name}: {VERSIONED_TABLE}")
        models = _models(text)
        metrics = {path: revisions.read_json_at(root, read_from, path) for path in VERSIONED_METRICS}
        for path, data in metrics.items():
            _check_metrics(path, data)
    except VersionError as exc:
        raise VersionError(f"{name}: {exc}") from None
    return Side(
        name=name,
        revision=revision,
        models=models,
        metrics=metrics,
        warnings=[warning] if warning else [],
        text=text,
    )


def _models(text: str) -> pd.DataFrame:
    """A curated table's text as text columns keyed by id; VersionError when it is no such table."""
    try:
        models = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise VersionError(f"{VERSIONED_TABLE}: not a readable CSV ({reason(exc)})") from None
    if "id" not in models.columns:
        raise VersionError(f"{VERSIONED_TABLE}: no id column, so not a curated table")
    twice = models["id"][models["id"].duplicated()]
    if len(twice):
        raise VersionError(f"{VERSIONED_TABLE}: id {twice.iloc[0]!r} names two records")
    return models.fillna("").set_index("id", drop=False)


def _check_metrics(path: str, data: dict | None) -> None:
    """VersionError when a metrics file holds a value of a type the diff cannot use (the gap bounds, a count)."""
    if data is None:
        return
    gap = data.get("gap")
    if gap is not None and not (
        isinstance(gap, list) and len(gap) == 2 and all(_is_number(bound) and bound > 0 for bound in gap)
    ):
        raise VersionError(f"{path}: gap is {gap!r}, not two positive numbers")
    if not isinstance(data.get("bounds", ""), str):
        raise VersionError(f"{path}: bounds is {data['bounds']!r}, not text")
    for key, value in flatten(data).items():
        if key.rsplit(".", 1)[-1] in NUMERIC_METRICS and value is not None and not _is_number(value):
            shown = list(value) if isinstance(value, tuple) else value  # flatten made a list a tuple
            raise VersionError(f"{path}: {key} is {shown!r}, not a number")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _same(old: str, new: str) -> bool:
    """Equal as text, or as numbers ("1.75e+11" and "175000000000.0" are the same size; 247000000.00000003 and
    247000000 too: a difference past 12 significant digits is float noise that no table can show)."""
    if old == new:
        return True
    a, b = _number(old), _number(new)
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-12)


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
    pairs = sorted(
        [(record_id, record_id) for record_id in old.index.intersection(new.index)] + list(renamed.items()),
        key=lambda pair: pair[1],
    )
    fields = [c for c in new.columns if c in old.columns and c not in BOOKKEEPING]
    if not pairs:
        return []
    old_ids, new_ids = (list(ids) for ids in zip(*pairs))
    before = old.loc[old_ids, fields].to_numpy(dtype=object)
    after = new.loc[new_ids, fields].to_numpy(dtype=object)
    names = new.loc[new_ids, "name"].to_numpy(dtype=object)
    # Whole columns compared as text at once; only the cells that differ as text are compared as numbers.
    rows, columns = np.nonzero(before != after)
    return [
        {
            "id": new_ids[row],
            "name": names[row],
            "field": fields[column],
            "old": before[row, column],
            "new": after[row, column],
        }
        for row, column in zip(rows, columns)
        if not _same(before[row, column], after[row, column])
    ]


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


def metric_rows(
    old: dict[str, dict | None], new: dict[str, dict | None], paths: tuple[str, ...] = VERSIONED_METRICS
) -> list[dict]:
    """One row per metric whose value differs, with the change when both are numbers (rounded for display)."""
    rows = []
    for path in paths:
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
    """Plain-words lines for the gap verdict: in-gap count and P(K<=obs) of every test that changed. A version
    that stored both bound conventions (`tests.language.strict`) is compared under the newer one's."""
    before, after = flatten(old or {}), flatten(new or {})
    bounds = (new or {}).get("bounds")
    lines = []
    for key in [k for k in after if k.endswith(".observed_in_gap")]:
        test = key.removesuffix(".observed_in_gap")
        if any(f".{check}" in test for check in ROBUSTNESS_CHECKS):
            continue  # a check's own count repeats its test's
        old_test = f"{test}.{bounds}" if f"{test}.observed_in_gap" not in before and bounds else test
        count_old, count_new = before.get(f"{old_test}.observed_in_gap"), after[key]
        p_old, p_new = before.get(f"{old_test}.p_le_observed_exact"), after.get(f"{test}.p_le_observed_exact")
        if (_fmt(count_old), _fmt(p_old)) == (_fmt(count_new), _fmt(p_new)):
            continue  # unchanged as shown: no news
        lines.append(
            f"in-gap {_test_label(test)}: {_fmt(count_old)} -> {_fmt(count_new)}; "
            f"P(K<=obs) {_fmt(p_old)} -> {_fmt(p_new)}"
        )
    return lines


# The metrics an analysis makes from a curated table: what `recompute` gives anew with the current code.
ANALYSIS_METRICS = (LAYOUT["trends"], LAYOUT["gap"])


def method_of(metrics: dict[str, dict | None]) -> dict[str, str]:
    """How a version's metrics were made, as far as their headers say: bounds convention, gap, domain rule and
    era break. Releases before issue 14 stored both conventions for the headline tests and used inclusive bounds
    for everything else."""
    gap, trends = metrics.get(LAYOUT["gap"]) or {}, metrics.get(LAYOUT["trends"]) or {}
    tests = gap.get("tests") or {}
    both = any(isinstance(test, dict) and {"strict", "inclusive"} <= set(test) for test in tests.values())
    facets = {
        "bounds": gap.get("bounds") or ("inclusive (headline tests: both)" if both else None),
        "gap": f"{size_text(gap['gap'][0])}-{size_text(gap['gap'][1])}" if gap.get("gap") else None,
        "domain rule": gap.get("domain_rule"),
        "era break": trends.get("era_break"),
    }
    return {name: str(value) for name, value in facets.items() if value is not None}


def method_change(side: Side, full: bool = False) -> list[str]:
    """Lines saying how a version's stored metrics differ from the current code's on the same table: which
    settings differ (bounds, gap, ...), how many values, and the gap results that move with the method alone."""
    if side.stored is None:
        return []
    stored = {path: side.stored.get(path) for path in ANALYSIS_METRICS}
    current = {path: side.metrics.get(path) for path in ANALYSIS_METRICS}
    rows = metric_rows(stored, current, ANALYSIS_METRICS)
    if not rows:
        return []
    before, after = method_of(stored), method_of(current)
    facets = [f"{name} {before.get(name, 'not recorded')} -> {value}" for name, value in after.items()]
    facets = [text for text, name in zip(facets, after) if before.get(name) != after[name]]
    moved = gap_headlines(stored.get(LAYOUT["gap"]), current.get(LAYOUT["gap"]))
    shown = moved if full else moved[:SUMMARY_ITEMS]
    return [
        f"method changed: {side.name}'s stored metrics were made by another method "
        f"({'; '.join(facets) or 'the code changed'}): {len(rows)} values differ from the current code's on "
        f"the same records",
        *(f"  - {line} (as stored -> the current method)" for line in shown),
        *([f"  - ... and {len(moved) - len(shown)} more"] if len(shown) < len(moved) else []),
    ]


def stored_method_change(old: Side, new: Side) -> list[str]:
    """Without recomputation (`--stored`, the site's release pages): a line when the two versions' stored metrics
    say they were made by different methods, so their metric changes are read as mixing data and method."""
    if old.stored is not None or new.stored is not None:
        return []
    before, after = method_of(old.metrics), method_of(new.metrics)
    facets = [
        f"{name} {before.get(name, 'not recorded')} -> {after.get(name, 'not recorded')}"
        for name in {**before, **after}
        if before.get(name) != after.get(name)
    ]
    if not facets:
        return []
    return [
        f"method changed: {old.name} and {new.name} stored metrics made by different methods ({'; '.join(facets)}); "
        "their metric changes mix data and method (`mlsizes diff` without --stored recomputes both)"
    ]


def data_changed(diff: DatasetDiff) -> bool:
    """Whether the data differ: a record added, removed or changed, or a metric that both versions hold moved
    (a metric only one of them holds is a change of format, not of data)."""
    moved = any(row["old"] is not None and row["new"] is not None for row in diff.metrics)
    return bool(len(diff.added) or len(diff.removed) or diff.changed or moved)


def _recomputed(sides: tuple[Side, Side], recompute) -> list[str]:
    """Both sides' analysis metrics recomputed with the current code (the stored ones kept in `stored`), or both
    left as stored with a note when either cannot be: a diff compares like with like or says it does not."""
    fresh = []
    for side in sides:
        try:
            fresh.append(recompute(side))
        except (VersionError, ValueError) as exc:
            return [
                f"note: {side.name}'s metrics could not be recomputed with the current code ({exc}); the stored "
                "metrics of both versions are compared, and a change of method shows as a change"
            ]
    for side, metrics in zip(sides, fresh):
        side.stored, side.metrics = side.metrics, {**side.metrics, **metrics}
    return []


def process(root: Path, old_name: str, new_name: str, rebuild: bool = False, recompute=None) -> DatasetDiff:
    """Compare two versions: records added, removed and changed (renames paired by link), and their metrics.

    `recompute(side) -> {path: metrics}` gives a side's analysis metrics as the current code computes them on
    its records (workflows/compare.py); with it both sides are compared like with like, and a side whose stored
    metrics were made by another method is reported apart (`method`). Without it the stored metrics are compared.
    """
    old, new = load_side(root, old_name, rebuild), load_side(root, new_name, rebuild)
    if old.revision == new.revision and old.revision != revisions.WORKSPACE:
        raise VersionError(f"{old_name} and {new_name} are the same revision ({old.revision[:10]}): nothing to diff")
    return compare(old, new, recompute)


def compare(old: Side, new: Side, recompute=None) -> DatasetDiff:
    """Two sides already read, compared (process's work; the site compares each release with the one before,
    reading each once)."""
    notes = _recomputed((old, new), recompute) if recompute is not None else []
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
        method=[line for side in (old, new) for line in method_change(side, full=True)]
        + stored_method_change(old, new),
        notes=notes,
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
        "data_changed": data_changed(diff),
        "method_changes": diff.method,
        "recomputed": diff.old.stored is not None,
        "notes": diff.notes,
    }


def _table(headers: list[str], rows: list[list], markdown: bool) -> str:
    cells = [[str(c) for c in row] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(markdown_text(c) for c in row) + " |" for row in cells]
        return "\n".join(lines)
    return plain_table(headers, cells)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _brief(frame: pd.DataFrame) -> list[list]:
    """Added or removed records as table rows: id, short name, domain, date, size."""
    return [
        [
            r["id"],
            _short(r["name"], 40),
            r["primary_domain"],
            r["publication_date"],
            cell("parameters", r["parameters"]),
        ]
        for _, r in frame.iterrows()
    ]


MD_LIMIT = 60_000  # a pull-request comment holds 65,536 characters
SUMMARY_ITEMS = 15  # per list in the summary
TERMINAL_ROWS = 60  # per detail table in a terminal, unless --full
KEY_FIELDS = ("parameters", "publication_date", "name", "domains", "organization")


def cell(field: str, value, digits: int = 3) -> str:
    """A value as a person reads it: sizes as 175B / 820M, whole numbers without .0, nothing as 'none'."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return "none"
    if field in ("parameters", "training_compute_flop"):
        number = _number(value)
        return size_text(number, digits) if number is not None else str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.3g}"
    return _short(value)


def change_text(change: dict) -> tuple[str, str]:
    """A field change's old and new values, with as many digits as it takes to tell them apart."""
    for digits in (3, 6, 12):
        old, new = cell(change["field"], change["old"], digits), cell(change["field"], change["new"], digits)
        if old != new:
            break
    return old, new


def _fmt(value, digits: int = 3) -> str:
    """A metric value for the tables: floats at 3 significant digits, whole floats as integers, text cut at 60
    characters (--json has it whole)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.{digits}g}"
    if isinstance(value, tuple):
        return f"{len(value)} items"
    return _short(value) if isinstance(value, str) else str(value)


def _fmt_pair(old, new) -> tuple[str, str]:
    """Two metric values with the significant digits it takes to tell them apart (3 to 6, as stored): a change
    never shows as "6.63 -> 6.63"."""
    for digits in (3, 4, 5, 6):
        pair = _fmt(old, digits), _fmt(new, digits)
        if pair[0] != pair[1]:
            return pair
    if isinstance(old, str) and isinstance(new, str):  # long texts that differ past the cut: from where they part
        start = max(next(i for i, (a, b) in enumerate(zip(old + "\0", new + "\1")) if a != b) - 20, 0)
        return _short("…" + old[start:]), _short("…" + new[start:])
    return pair


def _change(change) -> str:
    if change is None:
        return ""
    return f"{change:+.3g}"


def _gap(side: Side) -> tuple[float, float, bool] | None:
    """The gap bounds and convention a side's metrics were computed with (None without its gap.json)."""
    gap = side.metrics.get(LAYOUT["gap"])
    if not gap or "gap" not in gap:
        return None
    return gap["gap"][0], gap["gap"][1], gap.get("bounds") == "inclusive"


def _in_gap(value, bounds) -> bool:
    number = _number(value)
    return number is not None and bounds is not None and bool(in_gap(number, *bounds))


def _years_apart(old: str, new: str) -> float | None:
    try:
        return (pd.Timestamp(new) - pd.Timestamp(old)).days / 365.25
    except (TypeError, ValueError):
        return None


def correction_effect(change: dict, bounds) -> tuple[int, float, str]:
    """How much a correction of a key field matters, for ranking and in words: (moves the record into or out of
    the gap, effect, words). The effect is a size's ratio in orders of magnitude, or a date's shift in years (a
    year weighs as an order of magnitude: the size trend since 2018 is of that order); a size where there was
    none, or none where there was one, counts as half (a record entering or leaving the fits sits about that far
    from the trend). Names, organizations and domains rank after them."""
    if change["field"] == "parameters":
        old, new = _number(change["old"]), _number(change["new"])
        crosses = _in_gap(change["old"], bounds) != _in_gap(change["new"], bounds)
        where = (" enters the gap" if _in_gap(change["new"], bounds) else " leaves the gap") if crosses else ""
        if not old or not new:
            return int(crosses), 0.5, f"a size {'added' if new else 'removed'}{where}"
        return int(crosses), abs(math.log10(new / old)), f"x{new / old:.3g}{where}"
    if change["field"] == "publication_date":
        years = _years_apart(change["old"], change["new"])
        if years is not None:
            days = round(years * 365.25)
            return 0, abs(years), f"{abs(days)} days {'later' if days > 0 else 'earlier'}"
    return 0, 0.0, ""


def notable_changes(diff: DatasetDiff) -> dict[str, list[str]]:
    """What a reviewer must see first: records entering or leaving the gap, the largest size changes, the
    corrections of key fields ranked by their effect (gap membership, size ratio, date shift), and every gap or
    trend result that moved. Values print with the digits it takes to tell old from new."""
    bounds = _gap(diff.new) or _gap(diff.old)
    new_sizes = diff.new.models["parameters"] if "parameters" in diff.new.models else pd.Series(dtype=str)
    old_sizes = diff.old.models["parameters"] if "parameters" in diff.old.models else pd.Series(dtype=str)
    entering = [
        f"{i} ({cell('parameters', new_sizes[i])}, added)" for i in diff.added.index if _in_gap(new_sizes[i], bounds)
    ]
    leaving = [
        f"{i} ({cell('parameters', old_sizes[i])}, removed)"
        for i in diff.removed.index
        if _in_gap(old_sizes[i], bounds)
    ]
    moves = []
    for change in (c for c in diff.changed if c["field"] == "parameters"):
        before, after = _in_gap(change["old"], bounds), _in_gap(change["new"], bounds)
        text = f"{change['id']} ({' -> '.join(change_text(change))})"
        (entering if after and not before else leaving if before and not after else []).append(text)
        old_value, new_value = _number(change["old"]), _number(change["new"])
        if old_value and new_value:
            moves.append((abs(math.log10(new_value / old_value)), text))
    ranked = []
    for c in (c for c in diff.changed if c["field"] in KEY_FIELDS):
        crosses, effect, words = correction_effect(c, bounds)
        text = f"{c['id']}: {c['field']} {' -> '.join(change_text(c))}" + (f" ({words})" if words else "")
        ranked.append(((-crosses, -effect, KEY_FIELDS.index(c["field"]), c["id"]), text))
    return {
        "Entering the gap": entering,
        "Leaving the gap": leaving,
        "Largest size changes": [text for _, text in sorted(moves, key=lambda move: (-move[0], move[1]))],
        "Corrections of key fields": [text for _, text in sorted(ranked)],
        "Gap and trend results that moved": diff.headlines + trend_headlines(diff),
    }


def trend_headlines(diff: DatasetDiff) -> list[str]:
    """Every era slope that moved at the shown precision (0.01 OOM/yr), per domain group."""
    old, new = (flatten(side.metrics.get(LAYOUT["trends"]) or {}) for side in (diff.old, diff.new))
    lines = []
    for key in (k for k in new if k.endswith(".slope_oom_per_year") and k.startswith("domains.")):
        before, after = old.get(key), new[key]
        if before is None or after is None or f"{before:.2f}" == f"{after:.2f}":
            continue
        _, domain, era, _ = key.split(".")
        lines.append(f"trend {domain} {era}: {before:.2f} -> {after:.2f} OOM/yr")
    return lines


def method_lines(diff: DatasetDiff, full: bool = False) -> list[str]:
    """What changed in method rather than data, each version's lines cut at SUMMARY_ITEMS unless full."""
    lines = [line for side in (diff.old, diff.new) for line in method_change(side, full)]
    return lines + stored_method_change(diff.old, diff.new)


def summary_lines(diff: DatasetDiff, markdown: bool, full: bool = False) -> list[str]:
    """ "no data change" when nothing but the method changed, the method changes, counts by primary domain, then
    the notable changes, each list cut at SUMMARY_ITEMS unless full."""
    models = diff.new.models
    changed_ids = sorted({c["id"] for c in diff.changed} & set(models.index))
    changed = models.loc[changed_ids, "primary_domain"].value_counts()
    added, removed = (
        (frame["primary_domain"].value_counts() if len(frame) else pd.Series(dtype=int))
        for frame in (diff.added, diff.removed)
    )
    domains = sorted(set(added.index) | set(removed.index) | set(changed.index))
    rows = [
        [domain, int(added.get(domain, 0)), int(removed.get(domain, 0)), int(changed.get(domain, 0))]
        for domain in domains
    ]
    method = method_lines(diff, full)
    out = [] if data_changed(diff) else ["no data change" + (": only the method changed" if method else "")]
    if method:
        escape = markdown_text if markdown else str
        out.append(
            "\n".join(f"  - {escape(line[4:])}" if line.startswith("  - ") else f"- {escape(line)}" for line in method)
            + "\n"
        )
    out.append(_table(["domain", "added", "removed", "changed"], rows, markdown) if rows else "no record changed")
    for title, items in notable_changes(diff).items():
        shown = items if full else items[:SUMMARY_ITEMS]
        shown = shown + ([f"... and {len(items) - len(shown)} more"] if len(items) > len(shown) else [])
        out.append(f"\n{'**' + title + '**' if markdown else title + ':'}\n")
        out.append("\n".join(f"- {markdown_text(item) if markdown else item}" for item in shown) or "- none")
    return out


def detail_lines(diff: DatasetDiff, markdown: bool, limit: int | None) -> list[str]:
    """Every added, removed and changed record and every metric that changed, each table cut at `limit` rows."""

    def cut(rows: list[list], width: int) -> list[list]:
        if limit is None or len(rows) <= limit:
            return rows
        return rows[:limit] + [[f"... and {len(rows) - limit} more (mlsizes diff --full)"] + [""] * (width - 1)]

    out = []
    for label, frame in (("Added", diff.added), ("Removed", diff.removed)):
        if len(frame):
            out.append(f"\n{'**' + label + '**' if markdown else label + ':'}\n")
            out.append(_table(["id", "name", "domain", "date", "parameters"], cut(_brief(frame), 5), markdown))
    if diff.changed:
        out.append(f"\n{'**Changed**' if markdown else 'Changed:'}\n")
        rows = [[c["id"], c["field"], *change_text(c)] for c in diff.changed]
        out.append(_table(["id", "field", "old", "new"], cut(rows, 4), markdown))
    out.append(f"\n{'**Metrics**' if markdown else 'Metrics:'}\n")
    rows = [
        [f"{Path(r['file']).stem}: {r['metric']}", *_fmt_pair(r["old"], r["new"]), _change(r["change"])]
        for r in diff.metrics
    ]
    out.append(_table(["metric", "Old", "New", "Change"], cut(rows, 4), markdown) if rows else "no metric changed")
    return out


def render(diff: DatasetDiff, markdown: bool, full: bool = False) -> str:
    """The diff as a report, summary first: plain text for a terminal, or Markdown for a pull-request comment.

    Markdown keeps the details in a collapsed block and always fits a comment (MD_LIMIT characters): its tables
    are cut with "and N more" as needed. A terminal shows TERMINAL_ROWS rows per table. `full` cuts nothing.
    """
    title = (
        f"{diff.old.name} ({_rev(diff.old)}, {len(diff.old.models)} records) -> "
        f"{diff.new.name} ({_rev(diff.new)}, {len(diff.new.models)} records)"
    )
    counts = (
        f"{len(diff.added)} added, {len(diff.removed)} removed, "
        f"{len({c['id'] for c in diff.changed})} changed ({len(diff.changed)} field changes)"
    )
    heading = (lambda text: f"\n### {text}\n") if markdown else (lambda text: f"\n{text}\n{'=' * len(text)}")
    head = [
        f"## Dataset diff: {title}" if markdown else f"Dataset diff: {title}",
        heading(f"Summary: {counts}"),
        *summary_lines(diff, markdown, full),
    ]
    notes = [f"\n{note}" for note in diff.notes] + [
        f"\nnote: {missing} does not exist at that revision (run with --rebuild to compute it)"
        for missing in diff.missing_metrics
    ]
    limit = None if full else (None if markdown else TERMINAL_ROWS)
    while True:
        details = detail_lines(diff, markdown, limit)
        if markdown:
            body = ["\n<details><summary>Every record and metric that changed</summary>\n", *details, "\n</details>"]
        else:
            body = [heading("Details"), *details]
        text = "\n".join([*head, *body, *notes]) + "\n"
        if full or not markdown or len(text) <= MD_LIMIT:
            return text
        limit = max(len(diff.changed), len(diff.metrics), len(diff.added)) // 2 if limit is None else limit // 2
        if limit == 0:
            return "\n".join([*head, *notes]) + "\n"


def _rev(side: Side) -> str:
    return side.revision if side.revision == revisions.WORKSPACE else side.revision[:10]
