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

Anyone can write these files, so nothing in them is trusted: files are opened without following links and
size-capped, and their YAML and every value go through `untrusted` before a parser decides what they mean.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlsizes.core.untrusted import (
    MAX_DIGITS,
    MAX_TEXT,
    FieldError,
    Invalid,
    Problems,
    check_folder,
    check_link,
    checked_ascii,
    checked_text,
    load_text,
    look_alike_letter,
    non_latin,
    printable,
    read_file,
    shown,
)
from mlsizes.records import contracts, ingest
from mlsizes.records.parse import parse_date, parse_number, slugify

CORRECTIONS = "corrections"
SOURCE_PREFIX = "contribution:"  # the curated `source` of every contributed record and correction
# The folder's own files, and a writer's interrupted temporary files (`.*.tmp`, git-ignored): not contributions.
FOLDER_FILES = ("README.md", ".gitignore")
REQUIRED_FIELDS = ("name", "organization", "domains", "publication_date", "parameters", "link")
OPTIONAL_FIELDS = ("training_compute_flop", "parameters_notes")
# Ids of existing records a contributed model resembles but is not (written by `add-model --force-new`).
DISTINCT_FROM = "distinct_from"
MODEL_KEYS = ("id", *REQUIRED_FIELDS, *OPTIONAL_FIELDS, DISTINCT_FROM)
# A correction may change any described value of a record; its link is where the record was published, and
# the evidence for a corrected value goes with the correction instead.
CORRECTABLE_FIELDS = (
    "name",
    "organization",
    "domains",
    "publication_date",
    "parameters",
    "training_compute_flop",
    "parameters_notes",
)
CORRECTION_KEYS = ("value", "reason", "link")
_PLACEHOLDER_REASONS = {
    "todo",
    "tbd",
    "fixme",
    "xxx",
    "reason",
    "the reason",
    "why",
    "because",
    "na",
    "n a",
    "none",
    "placeholder",
    "see link",
    "see source",
    "see above",
    "fix",
    "fixed",
    "update",
    "updated",
    "correction",
    "corrected",
    "wrong",
    "typo",
}
MAX_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Correction:
    """A parsed correction file: the record it targets and the typed columns each corrected field sets."""

    source: str
    target: str | None
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
    """The value, when it is a record id; FieldError on `field_name` otherwise (saying so when it has non-Latin
    letters)."""
    if not isinstance(value, str) or len(value) > MAX_TEXT or not id_pattern().fullmatch(value):
        why = non_latin(value) if isinstance(value, str) and len(value) <= MAX_TEXT else None
        raise FieldError(
            field_name,
            "invalid_id",
            f"{shown(value)} is not a record id (lower-case letters, digits "
            "and single hyphens, as in data/curated/models.csv)" + (f"; it has {why}" if why else ""),
            value,
        )
    return value


def record_path(directory: Path, record_id: str) -> Path:
    """Where a contributed model lives: `<id>.yaml` in the folder, once the id is checked."""
    return Path(directory) / f"{check_id('id', record_id)}.yaml"


def correction_path(directory: Path, record_id: str) -> Path:
    """Where the corrections of a record live; refused when corrections/ is a link, which could lead anywhere."""
    folder = Path(directory) / CORRECTIONS
    if folder.is_symlink():
        raise FieldError("correct", "symlink", f"{folder} is a symbolic link: make it a real folder first")
    return folder / f"{check_id('correct', record_id)}.yaml"


def shown_name(path: Path) -> str:
    """A file's name fit for a message or a CSV cell (control characters escaped)."""
    return printable(path.name)


def source_of(path: Path) -> str:
    """The curated `source` of a contribution file: `contribution:` and its path in the folder's layout."""
    prefix = f"{CORRECTIONS}/" if is_correction_file(path) else ""
    return f"{SOURCE_PREFIX}{prefix}{shown_name(path)}"


def is_correction_file(path: Path) -> bool:
    """Whether a file is in a corrections/ folder, so a correction rather than a model."""
    return path.parent.name == CORRECTIONS


def files(directory: Path) -> list[Path]:
    """Every entry of the folder and of its corrections/ folder but the folder's own files and interrupted writes.

    Anything else is listed too, so `read` refuses it with its reason instead of skipping it without a word: a
    misnamed file (`model.yml`), a hidden file, a subfolder, a symbolic link (a linked corrections/ included).
    """
    directory = Path(directory)
    folders = [folder for folder in (directory, directory / CORRECTIONS) if folder.is_dir() and not folder.is_symlink()]
    found = []
    for folder in folders:
        with os.scandir(folder) as entries:
            names = sorted(entry.name for entry in entries)
        found += [
            folder / name
            for name in names
            if folder / name not in folders
            and name not in FOLDER_FILES
            and not (name.startswith(".") and name.endswith(".tmp"))
        ]
    return found


def read(path: Path) -> dict:
    """The mapping in a contribution file, read as untrusted text; FieldError if there is none."""
    path = Path(path)
    if path.name.startswith("."):
        raise FieldError("file", "hidden_file", "is hidden: a contribution is a visible <id>.yaml file")
    if is_correction_file(path) and path.parent.is_symlink():
        raise FieldError(
            "file",
            "symlink",
            f"is in {CORRECTIONS}/, a symbolic link: contributions are read only "
            "from real files inside the contributions folder",
        )
    return load_text(_file_text(path))


def _file_text(path: Path) -> str:
    """The text of a regular file, never following a symbolic link, never opening a FIFO and never reading more
    than MAX_FILE_BYTES (untrusted.read_file)."""
    try:
        return read_file(path, limit=MAX_FILE_BYTES)
    except FileNotFoundError:
        raise FieldError("file", "unreadable_file", "cannot be read (it is gone)") from None


def _expect_file_name(path: Path, field_name: str, record_id: str) -> None:
    if path.name != f"{record_id}.yaml":
        raise FieldError(
            field_name,
            "file_name_mismatch",
            f"the file of record {record_id!r} must be named {record_id}.yaml, not {shown_name(path)}",
            path.name,
        )


def _identity_text(field_name: str, value: object) -> str:
    """A name or organization: checked text in NFKC form, so full-width or styled letters become plain ones."""
    return " ".join(unicodedata.normalize("NFKC", checked_text(field_name, value)).split())


def _organization(value: object) -> str:
    """An organization with no Cyrillic or Greek look-alike among Latin letters: `ОpenAI` with a Cyrillic О would
    be another organization to every comparison. (A name must be all Latin: see _name.)"""
    organization = _identity_text("organization", value)
    why = look_alike_letter(organization)
    if why:
        raise FieldError("organization", "mixed_script", f"has {why}: write it in one script", value)
    return organization


def _name(value: object) -> str:
    name = _identity_text("name", value)
    why = non_latin(name)
    if why:
        raise FieldError(
            "name",
            "non_latin_name",
            f"has {why}: the record id is made of the name's Latin letters "
            "and digits, so write the name in Latin script",
            value,
        )
    return name


def _domains(value: object) -> dict:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = ",".join(value)
    label = checked_text("domains", value)
    try:
        domains, primary, _ = ingest.parse_domains(label)
    except ValueError as exc:
        raise FieldError("domains", "unknown_domain", str(exc), value) from None
    return {"domains": domains, "primary_domain": primary}


def _date(value: object) -> dict:
    """A publication date; one after the dataset's as-of date is accepted (curate marks it, rules.ahead_note)."""
    try:
        parsed = parse_date(checked_ascii("publication_date", value, "unparseable_date"))
    except ValueError as exc:
        raise FieldError("publication_date", "unparseable_date", str(exc), value) from None
    return {"publication_date": parsed.isoformat(), "date_precision": parsed.precision}


def _count(field_name: str, value: object) -> float:
    text = checked_ascii(field_name, value, f"unparseable_{field_name}")
    digits = sum(char.isdigit() for char in text)
    if digits > MAX_DIGITS:
        raise FieldError(field_name, "too_long", f"has {digits} digits; at most {MAX_DIGITS}", value)
    try:
        number = parse_number(text)
    except ValueError as exc:
        raise FieldError(field_name, f"unparseable_{field_name}", str(exc), value) from None
    if number is None:
        raise FieldError(field_name, f"missing_{field_name}", "has no value", value)
    if number <= 0:
        raise FieldError(field_name, f"invalid_{field_name}", f"is {shown(text)}: a count must be positive", value)
    return number


def check_reason(value: object) -> str:
    """Why a corrected value is right, in words: not empty, and not a placeholder (`...`, `TODO`, `reason`)."""
    text = checked_text("reason", value, free=True)
    words = re.sub(r"[\W_]+", " ", text.casefold()).split()
    letters = sum(char.isalpha() for char in text)
    if letters < 3 or " ".join(words) in _PLACEHOLDER_REASONS or words[0] in ("todo", "tbd", "fixme", "xxx"):
        raise FieldError(
            "reason",
            "placeholder_reason",
            f"{shown(text)} is a placeholder: say why the new value "
            "is right (e.g. which page or table of the source states it)",
            value,
        )
    return text


def parse_field(field_name: str, value: object) -> dict[str, object]:
    """One contributed value -> the typed columns it sets, with the parsers upstream values go through."""
    if field_name == "name":
        return {"name": _name(value)}
    if field_name == "organization":
        return {"organization": _organization(value)}
    if field_name == "parameters_notes":
        return {"parameters_notes": checked_text("parameters_notes", value, free=True)}
    if field_name == "domains":
        return _domains(value)
    if field_name == "publication_date":
        return _date(value)
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
        return columns["publication_date"][: {"day": 10, "month": 7, "year": 4}[columns["date_precision"]]]
    value = columns[field_name]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _key(key: str) -> str:
    return key if key.isprintable() and len(key) <= 40 else shown(key, 40)


def _unknown_keys(data: dict, allowed: tuple[str, ...], what: str) -> None:
    unknown = [
        FieldError(_key(key), "unknown_field", f"is not a field of {what} (allowed: {', '.join(allowed)})")
        for key in data
        if key not in allowed
    ]
    if unknown:
        raise Invalid(unknown)


def distinct_from(data: dict) -> tuple[str, ...]:
    """The ids a contributed model declares it only resembles (`distinct_from`: one id or a list)."""
    value = data.get(DISTINCT_FROM)
    ids = [] if value is None else value if isinstance(value, list) else [value]
    return tuple(check_id(DISTINCT_FROM, record_id) for record_id in ids)


def parse_record(data: dict, path: Path, source: str) -> dict[str, object]:
    """A contributed model file -> one typed row (the columns of ingest.process plus its preset id).

    Its id must be the slug of its name (as `add-model` makes it), so an id never hides what the name says.
    """

    problems = Problems()
    row = {"source": source, "source_row": 1}
    with problems.check():
        _unknown_keys(data, MODEL_KEYS, "a contributed model")
    with problems.check():
        row["id"] = check_id("id", data.get("id"))
        _expect_file_name(path, "id", row["id"])
    for name in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS):
        if name in REQUIRED_FIELDS or name in data:
            with problems.check():
                row.update(parse_field(name, data.get(name)))
    with problems.check():
        row[DISTINCT_FROM] = distinct_from(data)
    if "id" in row and "name" in row and row["id"] != slugify(row["name"]):
        problems.errors.append(
            FieldError(
                "id",
                "id_not_from_name",
                f"{row['id']!r} is not the id of the name {row['name']!r}, which is {slugify(row['name'])!r}",
                row["id"],
            )
        )
    problems.raise_any(partial=row)
    return row


def _evidence_problems(evidence: list[tuple[str, object, list[str]]]) -> Problems:
    """Each distinct reason and link of a correction checked once, naming the corrected fields that use it."""
    problems = Problems()
    for key, value, names in evidence:
        try:
            (check_reason if key == "reason" else check_link)(value)
        except FieldError as error:
            problems.errors.append(
                FieldError(error.field, error.code, f"{error.message} (the correction of {', '.join(names)})", value)
            )
    return problems


def parse_correction(data: dict, path: Path, source: str) -> Correction:
    """A correction file -> the record it targets and, per corrected field, the typed columns it sets."""
    problems = Problems()
    target = None
    with problems.check():
        _unknown_keys(data, ("correct", "fields"), "a correction")
    with problems.check():
        target = check_id("correct", data.get("correct"))
        _expect_file_name(path, "correct", target)
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        problems.errors.append(
            FieldError("fields", "missing_fields", "a correction needs at least one field to change")
        )
        fields = {}
    values, evidence = {}, []
    for name, entry in fields.items():
        if name not in CORRECTABLE_FIELDS:
            problems.errors.append(
                FieldError(
                    _key(name), "unknown_field", f"cannot be corrected (correctable: {', '.join(CORRECTABLE_FIELDS)})"
                )
            )
            continue
        if not isinstance(entry, dict):
            problems.errors.append(FieldError(name, "invalid_correction", "expected value, reason and link"))
            continue
        with problems.check():
            _unknown_keys(entry, CORRECTION_KEYS, f"the correction of {name}")
        for key in ("reason", "link"):
            group = next((item for item in evidence if item[:2] == (key, entry.get(key))), None)
            if group:
                group[2].append(name)
            else:
                evidence.append((key, entry.get(key), [name]))
        with problems.check():
            values[name] = parse_field(name, entry.get("value"))
    problems.errors += _evidence_problems(evidence).errors
    correction = Correction(source=source, target=target, values=values)
    problems.raise_any(partial=correction)
    return correction


def reject_row(source: str, problem: Invalid) -> dict[str, object]:
    """A typed row for a file that cannot be used: it keeps its place in the accounting as a reject, with its
    first problem's code and field, and every problem in the message."""
    first = problem.errors[0]
    message = first.message if len(problem.errors) == 1 else "; ".join(map(str, problem.errors))
    name = problem.partial.get("name") if isinstance(problem.partial, dict) else None
    return {
        "source": source,
        "source_row": 1,
        "name": name,
        "reject_code": first.code,
        "reject_field": first.field,
        "reject_value": first.value,
        "reject_message": message,
    }


def load(directory: Path) -> Contributions:
    """Every contribution file under the folder, parsed; bad files become reject rows, never errors (a folder
    that is a link, or not a folder, is an UnreadableFile)."""
    check_folder(directory, entries=False)
    rows, corrections = [], []
    for path in files(directory):
        source = source_of(path)
        try:
            data = read(path)
            if is_correction_file(path):
                corrections.append(parse_correction(data, path, source))
                continue
            row = parse_record(data, path, source)
        except Invalid as problem:
            row = reject_row(source, problem)
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
    candidates = candidates.copy(deep=False)  # copy on write: the caller's table is never changed
    # Columns that get values are made generic first: a column missing everywhere may be typed float.
    touched = {"field_sources"} | {
        column for correction in corrections for columns in correction.values.values() for column in columns
    }
    for column in touched:
        candidates[column] = candidates[column].astype(object) if column in candidates else None
    # Only the targeted records are indexed by id (hashing a million ids for a handful of corrections: 0.3 s).
    targeted = candidates["id"][candidates["id"].isin([correction.target for correction in corrections])]
    labels = pd.Series(targeted.index, index=targeted.to_numpy())
    rejects = []
    for correction in corrections:
        if correction.target not in labels.index:
            missing = FieldError(
                "correct",
                "correction_target_missing",
                f"no curated record has id {correction.target!r} (removed upstream or rejected)",
                correction.target,
            )
            rejects.append(reject_row(correction.source, missing))
            continue
        label = labels[correction.target]
        for columns in correction.values.values():
            for column, value in columns.items():
                candidates.at[label, column] = value
        candidates.at[label, "field_sources"] = ";".join(f"{name}={correction.source}" for name in correction.values)
    return candidates, rejects
