"""`mlsizes add-model` writes a model or a correction file; `mlsizes validate` checks such files the same way.

Load: the destination project (its paths, the as-of date in params.yaml) and the records that exist now:
upstream ones from data/curated/models.csv and every contribution file. Process: parse the values with the
pipeline's parsers (contribution_files.py) and pass the record through curation.process, so the curated schema in
schemas/ decides exactly as the next `dvc repro` will; refuse taken ids, likely duplicates and corrections of
unknown ids.
Save: under an exclusive lock on the contributions folder, check again and write the file atomically, so
concurrent writers never lose or half-write a file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from mlsizes.core import untrusted
from mlsizes.core.errors import UnreadableFile
from mlsizes.core.files import atomic_write_text
from mlsizes.core.paths import LAYOUT, ROOT_MARKER, SCHEMA_DIR, Paths, ProjectNotFound
from mlsizes.core.settings import read_params
from mlsizes.core.untrusted import FieldError, Invalid, Problems
from mlsizes.records import contracts, contribution_files, curation, rules
from mlsizes.records.contribution_files import CORRECTABLE_FIELDS, REQUIRED_FIELDS
from mlsizes.records.parse import slugify
from mlsizes.records.snapshots import dataset_as_of

# The add-model option of each field, and the question that asks for it on a terminal.
OPTIONS = {
    "name": "--name",
    "organization": "--organization",
    "domains": "--domain",
    "publication_date": "--date",
    "parameters": "--parameters",
    "training_compute_flop": "--training-compute",
    "parameters_notes": "--notes",
    "link": "--source",
    "reason": "--reason",
    "correct": "--correct",
}
PROMPTS = {
    "name": "Name (as published, e.g. Llama 3 70B)",
    "organization": "Organization",
    "domains": "Domain(s), comma-separated",
    "publication_date": "Publication date (YYYY-MM-DD, YYYY-MM or YYYY)",
    "parameters": "Parameters (e.g. 70B, 1.2T, 340M, 1.75e11)",
    "link": "Source URL (http(s)://...)",
    "reason": "Reason for the correction",
}
MODEL_HEADER = "# A model contributed with `mlsizes add-model`; `dvc repro` adds it to data/curated/models.csv.\n"
CORRECTION_HEADER = "# Corrections of record {id}, made with `mlsizes add-model --correct`; `dvc repro` applies them.\n"


class UsageProblem(Exception):
    """The command was called wrongly (exit 2): a missing or conflicting option, or no project to write to."""


def described(field_name: str) -> str:
    """A field as a person typing add-model knows it: `publication_date (--date)`."""
    return f"{field_name} ({OPTIONS[field_name]})" if field_name in OPTIONS else field_name


# Asks for a missing field on a terminal: ask(question, hint, check) -> the answer, re-asked until check(answer)
# stops raising Invalid. The CLI provides it; without a terminal there is none and a missing field is refused.
Ask = Callable[[str, "str | None", Callable[[str], str]], str]


@dataclass(frozen=True)
class Destination:
    """The project a contribution goes to: its paths and the as-of date of its dataset."""

    paths: Paths
    as_of: dt.date


def load_destination(root: Path | None = None) -> Destination:
    """The project to contribute to: `root`, else $MLSIZES_ROOT, else the nearest folder with dvc.yaml."""
    try:
        paths = Paths.find(root)
        untrusted.check_folder(paths.contributions_dir, entries=False)
    except (ProjectNotFound, UnreadableFile) as exc:
        raise UsageProblem(str(exc)) from None
    return Destination(paths=paths, as_of=read_as_of(paths))


def read_as_of(paths: Paths) -> dt.date:
    """The dataset's as-of date (settings.dataset_as_of); a usage problem when params.yaml says none."""
    try:
        params = read_params(paths.params)
    except FileNotFoundError:
        raise UsageProblem(f"{paths.root}: no {paths.params.name}; is this the project folder?") from None
    date = dataset_as_of(params, paths.raw_dir)
    if date is None:
        raise UsageProblem(f"{paths.params}: no as_of and no dated snapshot to take it from")
    return date


def existing_records(destination: Destination) -> pd.DataFrame:
    """Records that exist now: upstream ones in the curated table and every usable contributed model.

    Contributed rows of the curated table are left out: the files are their source, and may be newer.
    """
    models = destination.paths.models
    if not models.is_file():
        raise UsageProblem(f"{models}: no curated table to check against; run `dvc repro` first")
    curated = contracts.read_curated(models)
    upstream = curated[curated["source"].str.startswith("epoch:")]
    contributed = contribution_files.load(destination.paths.contributions_dir).typed
    if not contributed.empty:
        contributed = contributed[contributed["reject_code"].isna()]
    return pd.concat([upstream, contributed], ignore_index=True)


def column_problems(columns: dict[str, object]) -> list[FieldError]:
    """Each parsed column against its column of the curated schema (only run on a refusal: pandera is slow)."""
    schema = contracts.curated_schema()
    names = [name for name in columns if name in schema.columns and name not in ("id", "source", "source_row")]
    if not names:
        return []
    dtypes = contracts.curated_dtypes()
    frame = pd.DataFrame([{name: columns[name] for name in names}]).astype({name: dtypes[name] for name in names})
    return rules.schema_errors(contracts.record_failures(frame, schema.select_columns(names)))


def every_problem(errors: list[FieldError], columns: dict[str, object]) -> Invalid:
    """A refusal with these errors and every column out of the schema's range, when the pipeline's verdict
    (schema_check) would name only a record's first."""
    seen = {(error.field, error.code) for error in errors}
    return Invalid(errors + [error for error in column_problems(columns) if (error.field, error.code) not in seen])


@contextlib.contextmanager
def schema_verdict(columns: dict[str, object]):
    """Around schema_check: its refusal, with every other column out of the schema's range."""
    try:
        yield
    except FieldError as error:
        raise every_problem([error], columns) from None


def corrected_columns(correction: contribution_files.Correction) -> dict[str, object]:
    """Every typed column a correction sets, all its corrected fields together."""
    return {column: value for columns in correction.values.values() for column, value in columns.items()}


def schema_check(
    typed: pd.DataFrame, corrections: list[contribution_files.Correction] = (), as_of: dt.date | None = None
) -> pd.Series:
    """The curated record the pipeline makes of these typed rows (marked as curate marks it when published after
    AS_OF), or FieldError with the reason it rejects them."""
    curated = curation.process(typed, "contribution", corrections, as_of)
    if len(curated.rejected):
        reject = curated.rejected.iloc[0]
        message, value = reject["reject_message"], reject["reject_value"]
        schema_wording = f"{reject['reject_field']}="  # the schema's own rejects; the rule book's are worded already
        if reject["reject_code"].startswith("invalid_") and message.startswith(schema_wording):
            message = f"{message.removeprefix(schema_wording)} (schemas/curated.yaml)"
        raise FieldError(
            reject["reject_field"], reject["reject_code"], message, value if isinstance(value, str) else None
        )
    return curated.models.iloc[0]


def ahead_notes(record: pd.Series, as_of: dt.date) -> list[str]:
    """The note curate will write on the record when it is published after the as-of date (rules.ahead_note)."""
    note = rules.ahead_note(as_of)
    notes = record.get("curation_notes")
    return [f"{record['id']}: {note}"] if isinstance(notes, str) and note in notes else []


def _typed(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{column: None for column in curation.REJECTED_COLUMNS} | row for row in rows])


def target_rows(target: str, existing: pd.DataFrame) -> pd.DataFrame:
    """The record a correction targets, as a typed row; FieldError when no record has that id."""
    found = existing[existing["id"] == target]
    if found.empty:
        raise rules.missing_target(target)
    return _typed([found.iloc[0].to_dict()])


@dataclass
class Draft:
    """A contribution file about to be written: where, its mapping, and the curated record it will yield."""

    kind: str  # "model" or "correction"
    record_id: str
    path: Path
    data: dict
    record: pd.Series | None = None
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The file's text: its comment header, then the mapping as YAML."""
        header = MODEL_HEADER if self.kind == "model" else CORRECTION_HEADER.format(id=self.record_id)
        return header + yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True, width=110)

    def reread(self) -> dict:
        """The file as the pipeline will read it: the record is checked from exactly the text written."""
        return untrusted.load_text(self.text())


def _parsed(parse, *args) -> tuple[object, list[FieldError]]:
    """What a contributions parser made of a file, and its problems: the part that parsed is still checked."""
    try:
        return parse(*args), []
    except Invalid as problem:
        return problem.partial, problem.errors


def draft_model(values: dict[str, str], destination: Destination, existing: pd.DataFrame, force_new: bool) -> Draft:
    """Parse a new model's values into its file and its curated record; Invalid with every problem found."""
    problems = Problems()
    row = {}
    for name, value in values.items():
        with problems.check():
            row.update(contribution_files.parse_field(name, value))
    if "name" in row:
        row["id"] = slugify(row["name"])
        path = contribution_files.record_path(destination.paths.contributions_dir, row["id"])
        if os.path.lexists(path):  # valid or not: the file's own record is left out of `existing` below
            problems.errors.append(
                FieldError(
                    "name",
                    "duplicate_id",
                    f"id {row['id']!r} already exists: {path}; to change it use --correct {row['id']}",
                )
            )
            existing = existing[existing["source"] != contribution_files.source_of(path)]
    errors, similar = rules.model_problems(row, existing, "name")
    problems.errors += errors
    if len(similar) and not force_new:
        problems.errors.append(rules.likely_duplicate(similar))
    if problems.errors:
        raise every_problem(problems.errors, row)
    data = {"id": row["id"]} | {
        name: contribution_files.file_value(name, row)
        for name in (*REQUIRED_FIELDS, *contribution_files.OPTIONAL_FIELDS)
        if name in values
    }
    if len(similar):
        data[contribution_files.DISTINCT_FROM] = list(similar["id"])
    draft = Draft(
        "model",
        row["id"],
        path,
        data,
        warnings=[
            f"{row['id']} looks like existing record {rules.describe(similar.iloc[0])}; added anyway (--force-new)"
        ]
        if len(similar)
        else [],
    )
    source = contribution_files.source_of(draft.path)
    with schema_verdict(row):
        draft.record = schema_check(
            _typed([contribution_files.parse_record(draft.reread(), draft.path, source)]), as_of=destination.as_of
        )
    draft.warnings += ahead_notes(draft.record, destination.as_of)
    return draft


def draft_correction(
    target: str, values: dict[str, str], reason: str, link: str, destination: Destination, existing: pd.DataFrame
) -> Draft:
    """The correction file of `target` with these fields set (earlier corrections of other fields kept)."""
    path = contribution_files.correction_path(destination.paths.contributions_dir, target)
    source = contribution_files.source_of(path)
    fields = {}
    if os.path.lexists(path):
        try:
            fields = contribution_files.read(path)["fields"]
        except (Invalid, KeyError):
            fields = None
        if not isinstance(fields, dict):
            raise FieldError(
                "correct", "unreadable_file", f"{path} exists but is not a valid correction; fix or delete it first"
            )
    fields = fields | {name: {"value": value, "reason": reason, "link": link} for name, value in values.items()}
    correction, errors = _parsed(
        contribution_files.parse_correction, {"correct": target, "fields": fields}, path, source
    )
    errors += rules.correction_problems(correction, existing)
    if errors:
        raise every_problem(errors, corrected_columns(correction))
    for name, columns in correction.values.items():
        fields[name]["value"] = contribution_files.file_value(name, columns)
    draft = Draft("correction", target, path, {"correct": target, "fields": fields})
    correction = contribution_files.parse_correction(draft.reread(), path, source)
    with schema_verdict(corrected_columns(correction)):
        draft.record = schema_check(target_rows(target, existing), [correction], destination.as_of)
    draft.warnings += ahead_notes(draft.record, destination.as_of)
    return draft


@contextlib.contextmanager
def locked(directory: Path):
    """Hold an exclusive lock on the contributions folder: flock on the folder itself, so there is no lock file
    to keep out of git and DVC. The kernel releases it when the process ends, even on SIGKILL."""
    directory.mkdir(parents=True, exist_ok=True)
    handle = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def _remove_interrupted_writes(directory: Path) -> None:
    """Temporary files left by a writer killed mid-write; safe to delete while holding the lock."""
    for folder in (directory, directory / contribution_files.CORRECTIONS):
        for leftover in [] if folder.is_symlink() else folder.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)


def save(draft: Draft, destination: Destination) -> None:
    """Write the draft's file atomically, after clearing interrupted writes (called holding the lock)."""
    _remove_interrupted_writes(destination.paths.contributions_dir)
    atomic_write_text(draft.path, draft.text())


def _missing(values: dict, names, ask: Ask | None) -> dict:
    """Ask for each missing field (re-asking until it parses); without a way to ask, refuse (exit 2)."""
    missing = [name for name in names if values.get(name) is None]
    if missing and ask is None:
        others = f" (also missing: {', '.join(OPTIONS[m] for m in missing[1:])})" if missing[1:] else ""
        raise UsageProblem(
            f"{described(missing[0])}: required{others}; stdin is not a terminal, so nothing is "
            "asked: give every field as an option"
        )
    for name in missing:
        hint = "domains: " + ", ".join(contracts.vocabulary().names) if name == "domains" else None
        values[name] = ask(PROMPTS[name], hint, lambda text, name=name: _checked(name, text))
    return values


def _checked(name: str, text: str) -> str:
    """The text given for a field, when it parses (Invalid otherwise)."""
    if name == "reason":
        contribution_files.check_reason(text)
    else:
        contribution_files.parse_field(name, text)
    return text


def add(
    values: dict[str, str],
    *,
    target: str | None = None,
    reason: str | None = None,
    force_new: bool = False,
    dry_run: bool = False,
    root: Path | None = None,
    ask: Ask | None = None,
) -> Draft:
    """Write one contribution: a new model, or (with `target`) a correction of record `target`.

    `values` maps field names to the text given for them. Raises UsageProblem (exit 2), or Invalid (exit 1) with
    every problem found, before anything is written.
    """
    values = {name: value for name, value in values.items() if value is not None}
    destination = load_destination(root)
    # Writing next to a link or a FIFO is refused outright (validate names each such file with its reason).
    untrusted.check_folder(destination.paths.contributions_dir)
    link = values.pop("link", None)
    if target is None:
        if reason is not None:
            raise UsageProblem("reason (--reason): only with --correct; a new model's evidence is its --source")
        values = _missing(values | {"link": link}, REQUIRED_FIELDS, ask)
    else:
        if force_new:
            raise UsageProblem("--force-new: only for a new model, not with --correct")
        if not values:
            raise UsageProblem(
                "correct (--correct): name at least one field to change ("
                + ", ".join(OPTIONS[name] for name in CORRECTABLE_FIELDS)
                + ")"
            )
        contribution_files.check_id("correct", target)
        asked = _missing({"reason": reason, "link": link}, ("reason", "link"), ask)
        reason, link = asked["reason"], asked["link"]
    contracts.curated_schema()  # build pandera's schema before the lock, so waiting writers don't queue behind it
    with contextlib.nullcontext() if dry_run else locked(destination.paths.contributions_dir):
        existing = existing_records(destination)
        if target is None:
            draft = draft_model(values, destination, existing, force_new)
        else:
            draft = draft_correction(target, values, reason, link, destination, existing)
        if not dry_run:
            save(draft, destination)
    return draft


@dataclass
class FileReport:
    """The verdict on one contribution file: its record id (when valid) and every problem found in it."""

    path: Path
    record_id: str | None
    errors: list[FieldError]
    notes: list[str] = field(default_factory=list)  # what curate will mark on a valid record (rules.ahead_note)


def _check_file(path: Path, destination: Destination, existing: pd.DataFrame) -> pd.Series:
    """The curated record a valid contribution file yields; Invalid with every problem otherwise."""
    data = contribution_files.read(path)
    source = contribution_files.source_of(path)
    if contribution_files.is_correction_file(path):
        correction, errors = _parsed(contribution_files.parse_correction, data, path, source)
        errors += rules.correction_problems(correction, existing)
        columns = corrected_columns(correction)
        if not errors:
            with schema_verdict(columns):
                return schema_check(target_rows(correction.target, existing), [correction], destination.as_of)
        raise every_problem(errors, columns)
    row, errors = _parsed(contribution_files.parse_record, data, path, source)
    distinct, _ = _parsed(contribution_files.distinct_from, data)  # its problems are parse_record's too
    more, similar = rules.model_problems(row, existing[existing["source"] != source], "id", distinct or ())
    errors += more + ([rules.likely_duplicate(similar)] if len(similar) else [])
    if not errors:
        with schema_verdict(row):
            return schema_check(_typed([row]), as_of=destination.as_of)
    raise every_problem(errors, row)


def check_project_inputs(paths: Paths) -> None:
    """Every input folder and every dependency of a DVC stage is a regular file or a real folder of them, with no
    link, FIFO, socket or device anywhere in it (UnreadableFile naming the first one). DVC opens the files of a
    folder it depends on to hash them and blocks on a FIFO (`dvc status` and `dvc repro` hang), which nothing in
    DVC can prevent, so this check, which the pre-commit hook and CI run before DVC sees the tree, is what stops it.
    The contributions folder's own files are left to the per-file checks, which name each one with its reason."""
    pipeline = paths.root / ROOT_MARKER
    stages = (untrusted.load_file(pipeline, follow_links=False) if pipeline.is_file() else {}).get("stages") or {}
    dependencies = {
        dep
        for stage in stages.values()
        if isinstance(stage, dict)
        for dep in stage.get("deps") or []
        if "${" not in dep
    }
    inputs = {LAYOUT["raw_dir"], LAYOUT["params"], LAYOUT["dataset_file"], SCHEMA_DIR.name, *dependencies} - {
        LAYOUT["contributions_dir"]
    }
    for relative in sorted(inputs):
        untrusted.check_input(paths.root / relative)


def validate(paths: list[Path], root: Path | None = None) -> list[FileReport]:
    """Check the project's inputs (check_project_inputs), then contribution files (default: all of the project's)
    as `dvc repro` will, plus taken ids, likely duplicates and corrections' targets and names."""
    destination = load_destination(root)
    check_project_inputs(destination.paths)
    targets = []
    for given in paths or [destination.paths.contributions_dir]:
        path = Path(given).absolute()
        if path.is_dir() and not path.is_symlink():
            targets += contribution_files.files(path)
        elif os.path.lexists(path):
            targets.append(path)
        else:
            raise UsageProblem(f"{untrusted.printable(str(given))}: no such file or folder")
    existing = existing_records(destination)
    reports = []
    for path in targets:
        try:
            record = _check_file(path, destination, existing)
            reports.append(FileReport(path, record["id"], [], ahead_notes(record, destination.as_of)))
        except Invalid as problem:
            reports.append(FileReport(path, None, problem.errors))
    return reports
