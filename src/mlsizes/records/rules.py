"""The checks a contribution must pass beyond its own values, against the records that exist: a correction must
target a record and must not give it another record's name or a value the curated contract refuses; a new model
must not take an id or look like an existing record. `mlsizes validate` and `add-model` refuse such a file, and
curate rejects it as a whole (a row in rejected.csv naming the file), so the two cannot disagree and a bad file
never changes or removes a record.

A contribution published after the dataset's as-of date is no problem: it is curated and marked (ahead_note), and
the analysis, which takes systems up to the as-of date, leaves it out until a release's as-of date reaches it.
validate and add-model say so with the same words curate writes into the record's curation notes."""

from __future__ import annotations

import datetime as dt
import difflib
import re

import pandas as pd

from mlsizes.core import untrusted
from mlsizes.core.paths import LAYOUT
from mlsizes.core.untrusted import FieldError, Problems
from mlsizes.records import contribution_files

_PARENTHESISED = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# Likely duplicates: names this similar (with the same numbers), or one organization, dates and sizes this close.
NAME_SIMILARITY = 0.9
SAME_RELEASE_DAYS = 31
SAME_SIZE = 0.05
MIN_ORGANIZATION = 4  # shorter skeletons (`ai`, `fb`) are inside too many other names to mean the same organization
# The columns that tell one model from another (what lookalikes compares).
IDENTITY_COLUMNS = ("name", "organization", "publication_date", "parameters")
# The field a curated column comes from, where the names differ.
SCHEMA_FIELDS = {
    "primary_domain": "domains",
    "date_precision": "publication_date",
    "parameters_missing_reason": "parameters",
}


def name_keys(name: str) -> tuple[str, str]:
    """A name as duplicate detection compares it: its skeleton (untrusted.skeleton: case, punctuation, accents
    and Cyrillic or Greek look-alikes ignored), and the same without bracketed parts."""
    full = untrusted.skeleton(name)
    return full, untrusted.skeleton(_PARENTHESISED.sub(" ", name)) or full


def similar_names(name: str, names: pd.Series) -> pd.Series:
    """Which names are likely the same model's: equal keys (`gpt3 175b davinci`, `GРТ-3 175B` and `GPT-3 175B
    (davinci)` all match), or the same numbers in the same order and a 90% similar spelling (a typo)."""
    full, bare = name_keys(name)
    digits = re.findall(r"\d+", full)

    def similar(other: str) -> bool:
        other_full, other_bare = name_keys(other)
        if not full or not other_full:
            return False
        return (
            full == other_full
            or bare == other_bare
            or (
                re.findall(r"\d+", other_full) == digits
                and difflib.SequenceMatcher(None, full, other_full).ratio() >= NAME_SIMILARITY
            )
        )

    return names.fillna("").map(similar).astype(bool)


def _organizations(text: object) -> set[str]:
    return {untrusted.skeleton(part) for part in text.split(",")} - {""} if isinstance(text, str) else set()


def same_organization(ours: set[str], theirs: set[str]) -> bool:
    """Whether two organization lists share one, a reworded name included: one contains the other
    (`OpenAI LP` and `OpenAI`, `Google DeepMind` and `DeepMind`), for names of at least MIN_ORGANIZATION letters."""
    return any(a == b or (min(len(a), len(b)) >= MIN_ORGANIZATION and (a in b or b in a)) for a in ours for b in theirs)


def lookalikes(row: dict, existing: pd.DataFrame) -> pd.DataFrame:
    """Existing records that are likely the model of `row` (whichever of its fields parsed): a similar name, or a
    shared organization, a date within a month and a parameter count within 5%."""
    likely = pd.Series(False, index=existing.index)
    if "name" in row:
        likely |= similar_names(row["name"], existing["name"])
    if {"organization", "publication_date", "parameters"} <= row.keys():
        organizations = _organizations(row["organization"])
        days = (
            pd.to_datetime(existing["publication_date"], errors="coerce") - pd.Timestamp(row["publication_date"])
        ).dt.days.abs()
        sizes = existing["parameters"].astype(float)
        likely |= (
            existing["organization"]
            .map(lambda text: same_organization(organizations, _organizations(text)))
            .astype(bool)
            & (days <= SAME_RELEASE_DAYS)
            & ((sizes - row["parameters"]).abs() <= SAME_SIZE * sizes.clip(lower=row["parameters"]))
        )
    return existing[likely]


def describe(row) -> str:
    """A record as messages name it: id, name, organization, date, size and source."""
    organization = row["organization"] if isinstance(row["organization"], str) else "no organization"
    size = f"{row['parameters']:.4g} parameters, " if pd.notna(row["parameters"]) else ""
    return f"{row['id']} ({row['name']}, {organization}, {row['publication_date']}, {size}{row['source']})"


def model_problems(
    row: dict, existing: pd.DataFrame, id_field: str, distinct: tuple[str, ...] = ()
) -> tuple[list[FieldError], pd.DataFrame]:
    """What refuses a new model beyond its own values (its id taken), and the existing records it likely
    duplicates, less those it declares distinct (add-model refuses those unless --force-new)."""
    errors = []
    taken = existing[existing["id"] == row.get("id")]
    if len(taken):
        errors.append(
            FieldError(
                id_field,
                "duplicate_id",
                f"id {row['id']!r} is taken by {describe(taken.iloc[0])}; "
                f"to change that record use --correct {row['id']}, to add a different model give it "
                "a more specific name",
                row["id"],
            )
        )
    similar = lookalikes(row, existing.drop(index=taken.index))
    return errors, similar[~similar["id"].isin(distinct)]


def likely_duplicate(similar: pd.DataFrame) -> FieldError:
    """The refusal of a model that looks like existing records: the first of them, and how to correct it or add
    the model anyway (--force-new)."""
    first = similar.iloc[0]
    more = f" (and {len(similar) - 1} more: {', '.join(similar['id'].iloc[1:4])})" if len(similar) > 1 else ""
    return FieldError(
        "name",
        "likely_duplicate",
        f"looks like existing record {describe(first)}{more}; to change it use --correct "
        f"{first['id']}; if yours is a different model, pass --force-new (in a file: "
        f"`{contribution_files.DISTINCT_FROM}: [{first['id']}]`)",
    )


def correction_problems(correction: contribution_files.Correction, existing: pd.DataFrame) -> list[FieldError]:
    """What refuses a correction beyond its own values: no record to correct, a new name that is another
    record's (a record cannot take another's name), or new values that make the record look like another one
    it did not look like before (a record cannot duplicate another)."""
    if correction.target is None:
        return []
    problems = Problems()
    target = existing[existing["id"] == correction.target]
    if target.empty:
        return [missing_target(correction.target)]
    others = existing[existing["id"] != correction.target]
    if "name" in correction.values:
        name = correction.values["name"]["name"]
        same = others[similar_names(name, others["name"])]
        if len(same):
            problems.errors.append(
                FieldError(
                    "name",
                    "name_taken",
                    f"{name!r} is the name of record {describe(same.iloc[0])}: a record cannot take another's name",
                    name,
                )
            )
    identity = {
        column: value
        for field, columns in correction.values.items()
        for column, value in columns.items()
        if column in IDENTITY_COLUMNS
    }
    if identity and not problems.errors:
        record = target.iloc[0].to_dict()
        before = set(lookalikes(record, others)["id"])
        after = lookalikes(record | identity, others)
        after = after[~after["id"].isin(before)]
        if len(after):
            problems.errors.append(
                FieldError(
                    next(field for field, columns in correction.values.items() if identity.keys() & columns.keys()),
                    "likely_duplicate",
                    f"the corrected record would look like existing record {describe(after.iloc[0])}: "
                    "a record cannot become a copy of another",
                )
            )
    return problems.errors


def missing_target(target: str) -> FieldError:
    """The refusal of a correction whose target no record has."""
    return FieldError(
        "correct",
        "correction_target_missing",
        f"no record has id {target!r} (see the id column of {LAYOUT['models']}, or "
        f"{LAYOUT['contributions_dir']}/<id>.yaml)",
        target,
    )


def schema_errors(failures: pd.DataFrame) -> list[FieldError]:
    """The curated contract's record failures (contracts.record_failures) as refusals, one per column, named by
    the field a contributor writes."""
    return [
        FieldError(
            SCHEMA_FIELDS.get(case.column, case.column),
            f"invalid_{case.column}",
            f"{case.failure_case!r} fails {case.check} (schemas/curated.yaml)",
            case.failure_case,
        )
        for case in failures.drop_duplicates("column").itertuples()
    ]


def ahead_note(as_of: dt.date) -> str:
    """The curation note of a contributed record published after the as-of date: curated, not yet analysed."""
    return (
        f"published after the as-of date {as_of.isoformat()}: left out of the analysis until a release's "
        "as-of date reaches it"
    )
