"""Ingest stage: one upstream snapshot (any vintage of Epoch's CSV) -> a typed table, one row per raw row.

Load: check the file is a CSV at all (not empty, not HTML, not binary, comma-delimited), verify its checksum,
rename the vintage's columns to canonical names from `schemas/raw.yaml` and check the required ones are there.
Process: parse every value. A row that cannot be used keeps its place with a reason code and a message, so
the curate stage can account for every raw row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlsizes import contracts, snapshots
from mlsizes.parse import parse_date, parse_number
from mlsizes.snapshots import SnapshotError

SNIFF_BYTES = 8192

# The typed columns, in order, and the reject columns every typed table carries.
REJECT_COLUMNS = ["reject_code", "reject_field", "reject_value", "reject_message"]


@dataclass
class Snapshot:
    """A loaded snapshot: its canonical-column text table and what is known of its origin."""

    path: Path
    snapshot_id: str
    table: pd.DataFrame
    provenance: dict | None
    as_of: dt.date | None


def load(path: Path, require_provenance: bool = False) -> Snapshot:
    """Read and check a snapshot file; raise SnapshotError naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise SnapshotError(f"{path}: no such file")
    head = _sniff(path)
    provenance = snapshots.verify(path, require_provenance)
    # Only the columns schemas/raw.yaml knows are read: upstream files carry up to 47, most of them unused.
    # No encoding is named: pandas' C parser drops a UTF-8 BOM itself, and "utf-8-sig" would halve its speed.
    known = {alias for spec in contracts.raw_columns().values() for alias in spec["aliases"]}
    try:
        header = pd.read_csv(path, nrows=0).columns
        _check_delimiter(path, head, header)
        table = pd.read_csv(path, dtype=str, na_filter=False,
                            usecols=lambda column: column.strip() in known)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{path}: not a readable CSV ({_first_line(exc)})") from None
    table = _rename_columns(path, table)
    return Snapshot(
        path=path,
        snapshot_id=snapshots.snapshot_id(path),
        table=table,
        provenance=provenance,
        as_of=snapshots.snapshot_date(path, provenance),
    )


def _sniff(path: Path) -> bytes:
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head.strip():
        raise SnapshotError(f"{path}: file is empty")
    if b"\x00" in head:
        raise SnapshotError(f"{path}: not a CSV (binary content)")
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")):
        raise SnapshotError(f"{path}: not a CSV (an HTML/XML page)")
    return head


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _check_delimiter(path: Path, head: bytes, header: pd.Index) -> None:
    if len(header) > 1:
        return
    header = head.decode("utf-8", "replace").splitlines()[0]
    for name, char in (("semicolon", ";"), ("tab", "\t"), ("pipe", "|")):
        if char in header:
            raise SnapshotError(f"{path}: wrong delimiter: the header is {name}-separated, expected commas")
    raise SnapshotError(f"{path}: only one column ({header[:60]!r}); expected a comma-separated table")


def _rename_columns(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    """Rename the vintage's column names to canonical ones; fail on a missing required column."""
    stripped = {column: column.strip() for column in table.columns}
    table = table.rename(columns=stripped)
    renames, missing = {}, []
    for canonical, spec in contracts.raw_columns().items():
        found = [alias for alias in spec["aliases"] if alias in table.columns]
        if found:
            renames[found[0]] = canonical
        elif spec.get("required"):
            missing.append(f"{canonical} (upstream: {' or '.join(spec['aliases'])})")
    if missing:
        raise SnapshotError(f"{path}: missing required column {', '.join(missing)}")
    table = table[list(renames)].rename(columns=renames)
    for canonical in contracts.raw_columns():
        if canonical not in table.columns:
            table[canonical] = ""
    contracts.raw_schema().validate(table)
    return table


def _parse_unique(values: pd.Series, parser) -> tuple[dict, dict]:
    """Apply a parser once per distinct value: returns value -> result and value -> error message."""
    results, errors = {}, {}
    for value in values.unique():
        try:
            results[value] = parser(value)
        except ValueError as exc:
            errors[value] = str(exc)
    return results, errors


def _clean_text(values: pd.Series) -> pd.Series:
    """Collapse runs of whitespace (upstream names carry newlines) and turn empty text into missing.

    Cleaned once per distinct value: upstream columns repeat a lot, and this keeps 1M-row files fast.
    """
    cleaned = {value: " ".join(value.split()) or None for value in values.unique()}
    return values.map(cleaned)


def _stripped(values: pd.Series) -> pd.Series:
    return values.map({value: value.strip() for value in values.unique()})


def parse_domains(label: str) -> tuple[str, str, tuple[str, ...]]:
    """Domain cell -> (domains, primary domain, recodings); ValueError for an empty or unknown domain.

    Contributions (`mlsizes add-model`) go through this too, so a label means the same wherever it enters.
    """
    vocab = contracts.vocabulary()
    parts = [part.strip() for part in label.split(",") if part.strip()]
    if not parts:
        raise ValueError("no domain")
    known, recodings = [], []
    for part in parts:
        canonical = vocab.canonical(part)
        if canonical is None:
            suggestion = vocab.suggest(part)
            hint = f"; did you mean {suggestion!r}?" if suggestion else ""
            raise ValueError(f"unknown domain {part!r} (not in schemas/domains.yaml{hint})")
        if canonical != part:
            recodings.append(f"domain {part!r} recoded to {canonical!r}")
        known.append(canonical)
    ordered = vocab.order(known)
    return ",".join(ordered), ordered[0], tuple(recodings)


def process(snapshot: Snapshot) -> pd.DataFrame:
    """Parse the canonical text table into typed values; a row that cannot be parsed gets a reject reason."""
    raw = snapshot.table
    out = pd.DataFrame(index=raw.index)
    out["source"] = f"epoch:{snapshot.snapshot_id}"
    out["source_row"] = pd.Series(range(1, len(raw) + 1), index=raw.index, dtype="int64")
    out["name"] = _clean_text(raw["name"])
    for column in ("organization", "notability_criteria", "link", "confidence",
                   "parameters_notes", "training_compute_notes", "notability_criteria_notes"):
        out[column] = _clean_text(raw[column])

    date_text = _stripped(raw["publication_date"])
    dates, date_errors = _parse_unique(date_text, parse_date)
    out["publication_date"] = date_text.map({k: v.isoformat() for k, v in dates.items()})
    out["date_precision"] = date_text.map({k: v.precision for k, v in dates.items()})

    domain_text = _stripped(raw["domain"])
    domains, domain_errors = _parse_unique(domain_text, parse_domains)
    out["domains"] = domain_text.map({k: v[0] for k, v in domains.items()})
    out["primary_domain"] = domain_text.map({k: v[1] for k, v in domains.items()})

    param_text = _stripped(raw["parameters"])
    params, param_errors = _parse_unique(param_text, parse_number)
    parameters = param_text.map(params).astype("float64")
    zero = parameters == 0
    out["parameters"] = parameters.where(~zero)
    out["parameters_missing_reason"] = None
    out.loc[parameters.isna(), "parameters_missing_reason"] = "not_in_source"
    out.loc[zero, "parameters_missing_reason"] = "zero_in_source"

    compute_text = _stripped(raw["training_compute_flop"])
    compute, compute_errors = _parse_unique(compute_text, parse_number)
    out["training_compute_flop"] = compute_text.map(compute).astype("float64")

    notes = [[] for _ in range(len(raw))]
    for position, value in enumerate(domain_text):
        if value in domains:
            notes[position].extend(domains[value][2])
    for position in map(int, zero.to_numpy().nonzero()[0]):
        notes[position].append("parameters 0 in source treated as missing")
    if snapshot.as_of is not None:
        future = out["publication_date"].notna() & (out["publication_date"] > snapshot.as_of.isoformat())
        for position in map(int, future.to_numpy().nonzero()[0]):
            notes[position].append(f"publication date after the snapshot date {snapshot.as_of.isoformat()}")
    out["curation_notes"] = [("; ".join(n) if n else None) for n in notes]

    _mark_rejects(out, [
        ("missing_name", "name", out["name"].isna(), raw["name"], lambda v: "record has no name"),
        ("missing_date", "publication_date", date_text == "", date_text, lambda v: "record has no publication date"),
        ("unparseable_date", "publication_date", date_text.isin(list(date_errors)) & (date_text != ""), date_text,
         date_errors.get),
        ("missing_domain", "domain", domain_text == "", domain_text, lambda v: "record has no domain"),
        ("unknown_domain", "domain", domain_text.isin(list(domain_errors)) & (domain_text != ""), domain_text,
         domain_errors.get),
        ("unparseable_parameters", "parameters", param_text.isin(list(param_errors)), param_text, param_errors.get),
        ("unparseable_training_compute", "training_compute_flop", compute_text.isin(list(compute_errors)),
         compute_text, compute_errors.get),
    ])
    return out


def _mark_rejects(out: pd.DataFrame, rules) -> None:
    """Record the first failing rule of each row as its reject reason (rules are checked in order)."""
    for column in REJECT_COLUMNS:
        out[column] = None
    for code, field, mask, values, message in rules:
        todo = mask & out["reject_code"].isna()
        if not todo.any():
            continue
        out.loc[todo, "reject_code"] = code
        out.loc[todo, "reject_field"] = field
        out.loc[todo, "reject_value"] = values[todo]
        out.loc[todo, "reject_message"] = values[todo].map(message)
