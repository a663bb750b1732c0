"""Contribution files: models people add that upstream lacks, and corrections to existing records.

Layout (one file per record, named by its id, so two contributions never touch the same file):

    data/raw/contributions/<id>.yaml              a model: id, name, organization, domains, date, parameters,
                                                  link (and optionally training compute and notes)
    data/raw/contributions/corrections/<id>.yaml  new values for some fields of record <id>, each with its
                                                  reason and link

The curate stage loads them into the typed-table shape of `ingest.process` (same parsers, same reject columns),
so contributed values meet the same curated schema as upstream ones and a file that cannot be used becomes a
reject row with a reason code instead of stopping the pipeline. `mlsizes add-model` writes these files and
`mlsizes validate` checks them, both through this module.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import yaml

from mlsizes import contracts, ingest
from mlsizes.parse import parse_date, parse_number

CORRECTIONS = "corrections"
README = "README.md"
REQUIRED_FIELDS = ("name", "organization", "domains", "publication_date", "parameters", "link")
OPTIONAL_FIELDS = ("training_compute_flop", "parameters_notes")
# A correction may change any described value of a record; its link is where the record was published, and
# the evidence for a corrected value goes with the correction instead.
CORRECTABLE_FIELDS = ("name", "organization", "domains", "publication_date", "parameters",
                      "training_compute_flop", "parameters_notes")
CORRECTION_KEYS = ("value", "reason", "link")


class FieldError(ValueError):
    """A value that cannot enter the dataset: the field it is in, a reason code, and a message for people."""

    def __init__(self, field: str, code: str, message: str, value: object = None):
        super().__init__(f"{field}: {message}")
        self.field, self.code, self.message = field, code, message
        self.value = None if value is None else str(value)


@dataclass(frozen=True)
class Correction:
    """A parsed correction file: the record it targets and the typed columns each corrected field sets."""

    source: str
    target: str
    values: dict[str, dict[str, object]]


@dataclass
class Contributions:
    """Contribution files in typed form: records (and unusable files) as typed rows, corrections to apply."""

    typed: pd.DataFrame
    corrections: list[Correction]


def id_pattern() -> re.Pattern:
    """The record id regex of schemas/curated.yaml: lower-case slugs, so an id never names a path elsewhere."""
    return re.compile(contracts.curated_columns()["id"]["str_matches"])


def check_id(field_name: str, value: object) -> str:
    if not isinstance(value, str) or not id_pattern().fullmatch(value):
        raise FieldError(field_name, "invalid_id", f"{value!r} is not a record id (lower-case letters, digits and "
                         "single hyphens, as in data/curated/models.csv)", value)
    return value


def record_path(directory: Path, record_id: str) -> Path:
    return Path(directory) / f"{check_id('id', record_id)}.yaml"


def correction_path(directory: Path, record_id: str) -> Path:
    return Path(directory) / CORRECTIONS / f"{check_id('correct', record_id)}.yaml"


def source_of(path: Path) -> str:
    """The curated `source` of a contribution file: `contribution:` and its path in the folder's layout."""
    return f"contribution:{CORRECTIONS}/{path.name}" if is_correction_file(path) else f"contribution:{path.name}"


def is_correction_file(path: Path) -> bool:
    return path.parent.name == CORRECTIONS


def files(directory: Path) -> list[Path]:
    """Every contribution file: records at the top, corrections in corrections/ (hidden files and README skipped).

    Any other visible file is listed too, so a misnamed contribution (`model.yml`) is rejected, not ignored.
    """
    directory = Path(directory)
    found = []
    for folder in (directory, directory / CORRECTIONS):
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir()
                            if p.is_file() and not p.name.startswith(".") and p.name != README)
    return found


def read(path: Path) -> dict:
    """The mapping in a contribution file (safe YAML loader: no tags, no code); FieldError if there is none."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FieldError("file", "unreadable_file", f"not valid YAML text ({first})") from None
    if not isinstance(data, dict):
        raise FieldError("file", "unreadable_file", "expected a mapping of field: value")
    return data


def _expect_file_name(path: Path, field_name: str, record_id: str) -> None:
    if path.name != f"{record_id}.yaml":
        raise FieldError(field_name, "file_name_mismatch",
                         f"the file of record {record_id!r} must be named {record_id}.yaml, not {path.name}",
                         path.name)


def _text(field_name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FieldError(field_name, f"invalid_{field_name}", f"expected text, got {type(value).__name__}", value)
    text = " ".join(str(value).split())
    if not text:
        raise FieldError(field_name, f"missing_{field_name}", "is empty", value)
    return text


def _domains(value: object) -> dict:
    label = _text("domains", ",".join(map(str, value)) if isinstance(value, list) else value)
    try:
        domains, primary, _ = ingest.parse_domains(label)
    except ValueError as exc:
        raise FieldError("domains", "unknown_domain", str(exc), value) from None
    return {"domains": domains, "primary_domain": primary}


def _date_text(value: object) -> str:
    """A date as written in a file: YAML reads 2024-04-18 as a date and 2024 as a number; both mean the text."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return _text("publication_date", value)


def _date(value: object, as_of: dt.date | None) -> dict:
    try:
        parsed = parse_date(_date_text(value))
    except ValueError as exc:
        raise FieldError("publication_date", "unparseable_date", str(exc), value) from None
    if as_of is not None and parsed.date > as_of:
        raise FieldError("publication_date", "date_after_as_of",
                         f"{parsed.isoformat()} is after the dataset's as-of date {as_of.isoformat()}", value)
    return {"publication_date": parsed.isoformat(), "date_precision": parsed.precision}


def _count(field_name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FieldError(field_name, f"unparseable_{field_name}", f"not a number: {value!r}", value)
    try:
        number = parse_number(value)
    except ValueError as exc:
        raise FieldError(field_name, f"unparseable_{field_name}", str(exc), value) from None
    if number is None:
        raise FieldError(field_name, f"missing_{field_name}", "has no value", value)
    return number


def check_link(value: object) -> str:
    """An http(s) URL with a host and no spaces: where a reader can check the values."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(text)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. a malformed [IPv6] host
        valid = False
    if not valid or any(ch.isspace() for ch in text):
        raise FieldError("link", "invalid_link", f"{value!r} is not an http(s) URL", value)
    return text


def parse_field(field_name: str, value: object, as_of: dt.date | None = None) -> dict[str, object]:
    """One contributed value -> the typed columns it sets, with the parsers upstream values go through."""
    if value is None:
        raise FieldError(field_name, f"missing_{field_name}", "has no value")
    if field_name in ("name", "organization", "parameters_notes"):
        return {field_name: _text(field_name, value)}
    if field_name == "domains":
        return _domains(value)
    if field_name == "publication_date":
        return _date(value, as_of)
    if field_name == "parameters":
        return {"parameters": _count("parameters", value), "parameters_missing_reason": None}
    if field_name == "training_compute_flop":
        return {"training_compute_flop": _count("training_compute_flop", value)}
    if field_name == "link":
        return {"link": check_link(value)}
    raise FieldError(field_name, "unknown_field", "is not a field of a contribution")


def file_value(field_name: str, columns: dict[str, object]) -> object:
    """What a file stores for a parsed field: the canonical text, a date only as precise as stated, and counts
    as integers when floats hold them exactly (70B -> 70000000000; 6.3e23 stays 6.3e+23), so the file reads
    back to the same typed values."""
    if field_name == "publication_date":
        return columns["publication_date"][:{"day": 10, "month": 7, "year": 4}[columns["date_precision"]]]
    value = columns[field_name]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _unknown_keys(data: dict, allowed: tuple[str, ...], what: str) -> None:
    for key in data:
        if key not in allowed:
            raise FieldError(str(key), "unknown_field",
                             f"is not a field of {what} (allowed: {', '.join(allowed)})")


def parse_record(data: dict, path: Path, source: str, as_of: dt.date | None) -> dict[str, object]:
    """A contributed model file -> one typed row (the columns of ingest.process plus its preset id)."""
    _unknown_keys(data, ("id", *REQUIRED_FIELDS, *OPTIONAL_FIELDS), "a contributed model")
    record_id = check_id("id", data.get("id"))
    _expect_file_name(path, "id", record_id)
    for name in REQUIRED_FIELDS:
        if data.get(name) in (None, ""):
            raise FieldError(name, f"missing_{name}", "is required")
    row = {"id": record_id, "source": source, "source_row": 1}
    for name in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS):
        if name in data:
            row.update(parse_field(name, data[name], as_of))
    return row


def parse_correction(data: dict, path: Path, source: str, as_of: dt.date | None) -> Correction:
    """A correction file -> the record it targets and, per corrected field, the typed columns it sets."""
    _unknown_keys(data, ("correct", "fields"), "a correction")
    target = check_id("correct", data.get("correct"))
    _expect_file_name(path, "correct", target)
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise FieldError("fields", "missing_fields", "a correction needs at least one field to change")
    values = {}
    for name, entry in fields.items():
        if name not in CORRECTABLE_FIELDS:
            raise FieldError(str(name), "unknown_field",
                             f"cannot be corrected (correctable: {', '.join(CORRECTABLE_FIELDS)})")
        if not isinstance(entry, dict):
            raise FieldError(name, "invalid_correction", "expected value, reason and link")
        _unknown_keys(entry, CORRECTION_KEYS, f"the correction of {name}")
        if entry.get("reason") is None or not str(entry["reason"]).strip():
            raise FieldError("reason", "missing_reason", f"the correction of {name} needs a reason")
        check_link(entry.get("link"))
        values[name] = parse_field(name, entry.get("value"), as_of)
    return Correction(source=source, target=target, values=values)


def reject_row(source: str, error: FieldError, name: object = None) -> dict[str, object]:
    """A typed row for a file that cannot be used: it keeps its place in the accounting as a reject."""
    return {"source": source, "source_row": 1, "name": name if isinstance(name, str) else None,
            "reject_code": error.code, "reject_field": error.field, "reject_value": error.value,
            "reject_message": error.message}


def load(directory: Path, as_of: dt.date | None) -> Contributions:
    """Every contribution file under the folder, parsed; bad files become reject rows, never errors."""
    directory = Path(directory)
    rows, corrections = [], []
    for path in files(directory):
        source = source_of(path)
        data = None
        try:
            data = read(path)
            if is_correction_file(path):
                corrections.append(parse_correction(data, path, source, as_of))
                continue
            row = parse_record(data, path, source, as_of)
        except FieldError as error:
            row = reject_row(source, error, (data or {}).get("name"))
        rows.append({column: None for column in ingest.REJECT_COLUMNS} | row)
    typed = pd.DataFrame(rows)
    if not typed.empty:
        typed["source_row"] = typed["source_row"].astype("int64")
    return Contributions(typed=typed, corrections=corrections)


def apply_corrections(candidates: pd.DataFrame, corrections: list[Correction]) -> tuple[pd.DataFrame, list[dict]]:
    """Set the corrected values on the records they target, noting each field's source in `field_sources`.

    Returns the records and one reject row per correction whose target is not among them (its record left
    upstream or was rejected), so a correction is either applied or accounted for, never dropped.
    """
    candidates = candidates.copy()
    # Columns that get values are made generic first: a column missing everywhere may be typed float.
    touched = {"field_sources"} | {column for correction in corrections
                                   for columns in correction.values.values() for column in columns}
    for column in touched:
        candidates[column] = candidates[column].astype(object) if column in candidates else None
    labels = pd.Series(candidates.index, index=candidates["id"])
    rejects = []
    for correction in corrections:
        if correction.target not in labels.index:
            missing = FieldError("correct", "correction_target_missing",
                                 f"no curated record has id {correction.target!r} (removed upstream or rejected)",
                                 correction.target)
            rejects.append(reject_row(correction.source, missing))
            continue
        label = labels[correction.target]
        for columns in correction.values.values():
            for column, value in columns.items():
                candidates.at[label, column] = value
        candidates.at[label, "field_sources"] = ";".join(f"{name}={correction.source}"
                                                         for name in correction.values)
    return candidates, rejects
