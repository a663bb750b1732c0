"""Contribute stage: `mlsizes add-model` writes a model or a correction file, `mlsizes validate` checks them.

Load: the project (its root, the as-of date in params.yaml) and the records that exist now: upstream ones from
data/curated/models.csv and every contribution file. Process: parse the values with the pipeline's parsers
(contributions.py) and pass the record through curate.process, so the curated schema in schemas/ decides
exactly as the next `dvc repro` will; refuse taken ids, likely duplicates and corrections of unknown ids.
Save: under an exclusive lock on the contributions folder, check again and write the file atomically, so
concurrent writers never lose or half-write a file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import click
import pandas as pd
import yaml

from mlsizes import check, contracts, contributions, curate
from mlsizes.contributions import CORRECTABLE_FIELDS, REQUIRED_FIELDS, FieldError
from mlsizes.files import atomic_write_text
from mlsizes.project import ProjectNotFound, dataset_as_of, project_root, read_params

CONTRIBUTIONS_DIR = Path("data/raw/contributions")
CURATED_TABLE = Path("data/curated/models.csv")
PARAMS_FILE = "params.yaml"
# The add-model option of each field, and the question that asks for it on a terminal.
OPTIONS = {"name": "--name", "organization": "--organization", "domains": "--domain", "publication_date": "--date",
           "parameters": "--parameters", "training_compute_flop": "--training-compute", "parameters_notes": "--notes",
           "link": "--source", "reason": "--reason", "correct": "--correct"}
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
CORRECTION_HEADER = ("# Corrections of record {id}, made with `mlsizes add-model --correct`; `dvc repro` applies "
                     "them.\n")
_PARENTHESISED = re.compile(r"\([^)]*\)|\[[^\]]*\]")


class UsageProblem(Exception):
    """The command was called wrongly (exit 2): a missing or conflicting option, or no project to write to."""


def described(field_name: str) -> str:
    """A field as a person typing add-model knows it: `publication_date (--date)`."""
    return f"{field_name} ({OPTIONS[field_name]})" if field_name in OPTIONS else field_name


@dataclass(frozen=True)
class Project:
    root: Path
    as_of: dt.date

    @property
    def contributions_dir(self) -> Path:
        return self.root / CONTRIBUTIONS_DIR

    @property
    def curated_path(self) -> Path:
        return self.root / CURATED_TABLE


def load_project(root: Path | None = None) -> Project:
    """The project to contribute to: `root`, else $MLSIZES_ROOT, else the nearest folder with dvc.yaml."""
    try:
        root = Path(root).resolve() if root is not None else project_root()
    except ProjectNotFound as exc:
        raise UsageProblem(str(exc)) from None
    return Project(root=root, as_of=read_as_of(root))


def read_as_of(root: Path) -> dt.date:
    """The dataset's as-of date (project.dataset_as_of); a usage problem when params.yaml says none."""
    try:
        params = read_params(root / PARAMS_FILE)
    except FileNotFoundError:
        raise UsageProblem(f"{root}: no {PARAMS_FILE}; is this the project folder?") from None
    date = dataset_as_of(params, root)
    if date is None:
        raise UsageProblem(f"{root / PARAMS_FILE}: no as_of and no dated snapshot to take it from")
    return date


def existing_records(project: Project) -> pd.DataFrame:
    """Records that exist now: upstream ones in the curated table and every usable contributed model.

    Contributed rows of the curated table are left out: the files are their source, and may be newer.
    """
    if not project.curated_path.is_file():
        raise UsageProblem(f"{project.curated_path}: no curated table to check against; run `dvc repro` first")
    curated = check.load_curated(project.curated_path)
    upstream = curated[curated["source"].str.startswith("epoch:")]
    contributed = contributions.load(project.contributions_dir, as_of=None).typed
    if not contributed.empty:
        contributed = contributed[contributed["reject_code"].isna()]
    return pd.concat([upstream, contributed], ignore_index=True)


def normalized_name(name: str) -> str:
    """A name reduced for duplicate detection: `GPT-3 175B (davinci)` and `gpt3 175b` both give `gpt3175b`."""
    bare = _PARENTHESISED.sub(" ", name)
    return curate.slugify(bare if bare.strip() else name).replace("-", "")


def _describe(row) -> str:
    organization = row["organization"] if isinstance(row["organization"], str) else "no organization"
    return f"{row['id']} ({row['name']}, {organization}, {row['publication_date']}, {row['source']})"


def check_collisions(record: pd.Series, existing: pd.DataFrame, force_new: bool) -> list[str]:
    """Refuse a taken id; refuse a likely duplicate (same normalized name, or same organization, date and
    parameter count) unless force_new, in which case it is returned as a warning."""
    taken = existing[existing["id"] == record["id"]]
    if len(taken):
        raise FieldError("name", "duplicate_id",
                         f"id {record['id']!r} is taken by {_describe(taken.iloc[0])}; to change that record use "
                         f"--correct {record['id']}, to add a different model give it a more specific name")
    same_name = existing["name"].map(normalized_name) == normalized_name(record["name"])
    organizations = existing["organization"].fillna("").map(curate.slugify)
    same_release = ((organizations == curate.slugify(record["organization"]))
                    & (existing["publication_date"] == record["publication_date"])
                    & (existing["parameters"] == record["parameters"]))
    likely = existing[same_name | same_release]
    if likely.empty:
        return []
    first = likely.iloc[0]
    if not force_new:
        raise FieldError("name", "likely_duplicate",
                         f"looks like existing record {_describe(first)}; to change it use "
                         f"--correct {first['id']}, or pass --force-new if it is a different model")
    return [f"{record['id']} looks like existing record {_describe(first)}; added anyway (--force-new)"]


def schema_check(typed: pd.DataFrame, corrections: list[contributions.Correction] = ()) -> pd.Series:
    """The curated record the pipeline makes of these typed rows, or FieldError with the reason it rejects them."""
    curated = curate.process(typed, "contribution", corrections)
    if len(curated.rejected):
        reject = curated.rejected.iloc[0]
        message, value = reject["reject_message"], reject["reject_value"]
        if reject["reject_code"].startswith("invalid_"):
            message = f"{message.removeprefix(reject['reject_field'] + '=')} (schemas/curated.yaml)"
        raise FieldError(reject["reject_field"], reject["reject_code"], message,
                         value if isinstance(value, str) else None)
    return curated.models.iloc[0]


def _typed(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{column: None for column in curate.REJECTED_COLUMNS} | row for row in rows])


def target_rows(target: str, existing: pd.DataFrame) -> pd.DataFrame:
    """The record a correction targets, as a typed row; FieldError when no record has that id."""
    found = existing[existing["id"] == target]
    if found.empty:
        raise FieldError("correct", "correction_target_missing",
                         f"no record has id {target!r} (see the id column of {CURATED_TABLE}, or "
                         f"{CONTRIBUTIONS_DIR}/<id>.yaml)", target)
    return _typed([found.iloc[0].to_dict()])


@dataclass
class Draft:
    """A contribution file about to be written: where, its mapping, and the curated record it will yield."""

    kind: str  # "model" or "correction"
    record_id: str
    path: Path
    data: dict
    record: pd.Series
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        header = MODEL_HEADER if self.kind == "model" else CORRECTION_HEADER.format(id=self.record_id)
        return header + yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True, width=110)


def draft_model(values: dict[str, str], project: Project) -> Draft:
    """Parse a new model's values into its file and its curated record (FieldError on the first bad value)."""
    record_id = curate.slugify(values.get("name") or "")
    path = contributions.record_path(project.contributions_dir, record_id)
    source = contributions.source_of(path)
    row = contributions.parse_record({"id": record_id, **values}, path, source, project.as_of)
    data = {"id": record_id} | {name: contributions.file_value(name, row)
                                for name in (*REQUIRED_FIELDS, *contributions.OPTIONAL_FIELDS) if name in values}
    record = schema_check(_typed([contributions.parse_record(data, path, source, project.as_of)]))
    return Draft("model", record_id, path, data, record)


def draft_correction(target: str, values: dict[str, str], reason: str, link: str, project: Project,
                     existing: pd.DataFrame) -> Draft:
    """The correction file of `target` with these fields set (earlier corrections of other fields kept)."""
    path = contributions.correction_path(project.contributions_dir, target)
    fields = {}
    if path.exists():
        try:
            fields = contributions.read(path)["fields"]
        except (FieldError, KeyError):
            raise FieldError("correct", "unreadable_file",
                             f"{path} exists but is not a valid correction; fix or delete it first") from None
    fields = fields | {name: {"value": value, "reason": reason, "link": link} for name, value in values.items()}
    correction = contributions.parse_correction({"correct": target, "fields": fields}, path,
                                                contributions.source_of(path), project.as_of)
    for name, columns in correction.values.items():
        fields[name]["value"] = contributions.file_value(name, columns)
    record = schema_check(target_rows(target, existing), [correction])
    return Draft("correction", target, path, {"correct": target, "fields": fields}, record)


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
    for folder in (directory, directory / contributions.CORRECTIONS):
        for leftover in folder.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)


def save(draft: Draft, project: Project) -> None:
    _remove_interrupted_writes(project.contributions_dir)
    atomic_write_text(draft.path, draft.text())


def _missing(values: dict, names, interactive: bool, as_of: dt.date) -> dict:
    """Ask for each missing field on a terminal (re-asking until it parses); without one, refuse (exit 2)."""
    missing = [name for name in names if values.get(name) is None]
    if missing and not interactive:
        others = f" (also missing: {', '.join(OPTIONS[m] for m in missing[1:])})" if missing[1:] else ""
        raise UsageProblem(f"{described(missing[0])}: required{others}; stdin is not a terminal, so nothing is "
                           "asked: give every field as an option")
    for name in missing:
        if name == "domains":
            click.echo("domains: " + ", ".join(contracts.vocabulary().names))
        values[name] = click.prompt(PROMPTS[name],
                                    value_proc=lambda text, name=name: _checked(name, text, as_of))
    return values


def _checked(name: str, text: str, as_of: dt.date) -> str:
    try:
        if name == "reason":
            if not text.strip():
                raise FieldError("reason", "missing_reason", "is empty")
        else:
            contributions.parse_field(name, text, as_of)
    except FieldError as error:
        raise click.UsageError(str(error)) from None
    return text


def add(values: dict[str, str], *, target: str | None = None, reason: str | None = None, force_new: bool = False,
        dry_run: bool = False, root: Path | None = None, interactive: bool = False) -> Draft:
    """Write one contribution: a new model, or (with `target`) a correction of record `target`.

    `values` maps field names to the text given for them. Raises UsageProblem (exit 2) or FieldError (exit 1)
    before anything is written.
    """
    values = {name: value for name, value in values.items() if value is not None}
    project = load_project(root)
    link = values.pop("link", None)
    if target is None:
        if reason is not None:
            raise UsageProblem("reason (--reason): only with --correct; a new model's evidence is its --source")
        values = _missing(values | {"link": link}, REQUIRED_FIELDS, interactive, project.as_of)
    else:
        if force_new:
            raise UsageProblem("--force-new: only for a new model, not with --correct")
        if not values:
            raise UsageProblem("correct (--correct): name at least one field to change ("
                               + ", ".join(OPTIONS[name] for name in CORRECTABLE_FIELDS) + ")")
        contributions.check_id("correct", target)
        asked = _missing({"reason": reason, "link": link}, ("reason", "link"), interactive, project.as_of)
        reason, link = asked["reason"], asked["link"]
    contracts.curated_schema()  # build pandera's schema before the lock, so waiting writers don't queue behind it
    with contextlib.nullcontext() if dry_run else locked(project.contributions_dir):
        existing = existing_records(project)
        if target is None:
            draft = draft_model(values, project)
            if draft.path.exists():
                raise FieldError("name", "duplicate_id", f"id {draft.record_id!r} already exists: {draft.path}; "
                                 f"to change it use --correct {draft.record_id}")
            draft.warnings = check_collisions(draft.record, existing, force_new)
        else:
            draft = draft_correction(target, values, reason, link, project, existing)
        if not dry_run:
            save(draft, project)
    return draft


@dataclass
class FileReport:
    """The verdict on one contribution file: its record id (when readable) and the first problem, if any."""

    path: Path
    record_id: str | None
    error: FieldError | None


def _check_file(path: Path, project: Project, existing: pd.DataFrame) -> str:
    data = contributions.read(path)
    source = contributions.source_of(path)
    if contributions.is_correction_file(path):
        correction = contributions.parse_correction(data, path, source, project.as_of)
        schema_check(target_rows(correction.target, existing), [correction])
        return correction.target
    row = contributions.parse_record(data, path, source, project.as_of)
    others = existing[existing["source"] != source]
    if (others["id"] == row["id"]).any():
        taken = others[others["id"] == row["id"]].iloc[0]
        raise FieldError("id", "duplicate_id", f"id {row['id']!r} is taken by {_describe(taken)}", row["id"])
    schema_check(_typed([row]))
    return row["id"]


def validate(paths: list[Path], root: Path | None = None) -> list[FileReport]:
    """Check contribution files (default: all of the project's) as `dvc repro` will, plus taken ids."""
    project = load_project(root)
    targets = []
    for path in paths or [project.contributions_dir]:
        if Path(path).is_dir():
            targets += contributions.files(Path(path))
        elif Path(path).is_file():
            targets.append(Path(path))
        else:
            raise UsageProblem(f"{path}: no such file or folder")
    existing = existing_records(project)
    reports = []
    for path in targets:
        try:
            reports.append(FileReport(path, _check_file(path, project, existing), None))
        except FieldError as error:
            reports.append(FileReport(path, None, error))
    return reports
