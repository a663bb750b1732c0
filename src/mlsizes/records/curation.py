"""Curation: typed records -> valid records with stable ids and rejected rows with their reasons, in memory.

Every typed row ends up in exactly one of the two tables; the identity raw = curated + rejected is checked.
Row-level validity is decided by the curated pandera schema in `schemas/curated.yaml`: a row breaking it is
rejected as `invalid_<column>`. Contribution files (`mlsizes add-model`) join the snapshot's typed rows, and
their corrections are applied by id; each correction is either applied or a reject row, so the identity counts
them too. The curate stage saves the result; history, reproduce-paper, add-model and the Python API run it too.

Two guards keep a misread file from becoming a dataset: a snapshot with no data rows, or one where most rows
are rejected for the same reason (a shifted column, a renamed file), stops the run unless forced. The files
are written spreadsheet-safe (formula_escape): a text cell that would start a formula gets an apostrophe in
front (the rule and how to read it back are in schemas/curated.yaml and the codebook).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes.core.untrusted import Invalid
from mlsizes.records import contracts, contribution_files, ingest, rules
from mlsizes.records.parse import slugify_all
from mlsizes.records.snapshots import SnapshotError
from mlsizes.tables.columns import CellRule

REJECTED_COLUMNS = ["source", "source_row", "name", "reject_code", "reject_field", "reject_value", "reject_message"]
# Columns written with another dtype than the contract's: parameter counts as whole numbers (Int64 prints
# 175000000000, not 175000000000.0). datapackage.json types the written files from this.
WRITTEN_DTYPES = {"parameters": "Int64"}
# More than this share of a snapshot's rows rejected for one reason means the file was misread, not that the
# data is bad: the sloppiest real snapshot (epoch_pcd_2022-06-02) rejects 30% as missing_name.
MISREAD_SHARE = 0.5
# Rows repeating an earlier row exactly are rejected (duplicate_row); more than this share of them means the
# file was duplicated (an export appended to itself), which would multiply every count: no real snapshot has one.
DUPLICATED_SHARE = 0.05


class IdentityError(Exception):
    """Rows were lost or duplicated between the raw input and the curated and rejected tables."""


def assign_ids(records: pd.DataFrame, name_slugs: pd.Series | None = None) -> pd.Series:
    """Stable, unique ids: the slug of the name; a repeated slug is resolved by publication date.

    Among records sharing a slug, the earliest (by date, then source and row) keeps the bare slug, so a
    later duplicate appearing upstream never renames an existing record; the others get `-YYYY-MM-DD`,
    and if that still collides, `-2`, `-3`, ... in the same order. Records that already carry an id
    (contributions) keep it and come first. `name_slugs`: the slugs of the names, when already made.
    """
    preset = records["id"] if "id" in records else pd.Series(None, index=records.index, dtype="object")
    if name_slugs is None:
        name_slugs = _name_slugs(records)
    slugs = name_slugs.where(preset.isna(), preset)
    ids = slugs.copy()
    shared = slugs.duplicated(keep=False)
    if not shared.any():
        return ids
    order = (
        records[shared]
        .assign(_slug=slugs[shared], _computed=preset[shared].isna())
        .sort_values(["_slug", "_computed", "publication_date", "source", "source_row"], kind="stable")
        .index
    )
    later = slugs[order].duplicated() & preset[order].isna()
    suffixed = (slugs[order] + "-" + records.loc[order, "publication_date"])[later]
    taken = set(ids.drop(index=suffixed.index))
    # Each base resumes its counter where the last record with that base stopped: the ids it skipped are still
    # taken (the set only grows), so the result is the same as counting from 2 again, in linear time.
    next_counter: dict[str, int] = {}
    assigned = {}
    for label, base in suffixed.items():
        candidate, counter = base, next_counter.get(base, 2)
        while candidate in taken:
            candidate, counter = f"{base}-{counter}", counter + 1
        next_counter[base] = counter
        assigned[label] = candidate
        taken.add(candidate)
    ids.loc[list(assigned)] = list(assigned.values())
    return ids


@dataclass
class Curated:
    """What curate makes of typed rows: the valid records, the rejected rows, and the counts for the metrics file."""

    models: pd.DataFrame
    rejected: pd.DataFrame
    metrics: dict
    as_of: dt.date | None = None  # the date curate marked contributions against (travels in TABLE_SNAPSHOT)


def process(
    typed: pd.DataFrame,
    snapshot_id: str,
    corrections: list[contribution_files.Correction] = (),
    as_of: dt.date | None = None,
) -> Curated:
    """Split typed rows into valid records and rejects, assign ids, apply corrections and the curated schema;
    contributed records dated after AS_OF are kept and marked (rules.ahead_note)."""
    typed = typed.reset_index(drop=True)
    parse_rejects = typed[typed["reject_code"].notna()]
    candidates = typed[typed["reject_code"].isna()]
    name_slugs = _name_slugs(candidates)
    superseded = _superseded(candidates, name_slugs)
    id_rejects = candidates[superseded]
    id_rejects = id_rejects.assign(
        reject_code="duplicate_id",
        reject_field="id",
        reject_value=id_rejects.get("id"),
        reject_message="the snapshot now has a record with this id: delete the contribution, or turn the "
        "values it adds into a correction",
    )
    if superseded.any():
        candidates = candidates[~superseded]
    candidates["id"] = assign_ids(candidates, name_slugs[~superseded])
    candidates, lookalike_rejects, applicable, refused = _contributions_checked(candidates, list(corrections))
    candidates, missing_targets = contribution_files.apply_corrections(candidates, applicable)
    missing_targets += refused
    models = _as_curated(candidates)
    failures = contracts.record_failures(models, contracts.curated_schema())
    # The order of the valid records does not depend on which others are rejected.
    ordered = models.iloc[_date_and_id_order(models)]
    schema_rejects = _schema_rejects(models, failures)
    models = ordered.drop(index=schema_rejects.index) if len(schema_rejects) else ordered
    models = mark_ahead(models, as_of)
    correction_rejects = pd.DataFrame(missing_targets, columns=REJECTED_COLUMNS)
    rejected = pd.concat([parse_rejects, id_rejects, lookalike_rejects, correction_rejects, schema_rejects])
    rejected = rejected[REJECTED_COLUMNS]
    rejected = rejected.sort_values(["source", "source_row"], kind="stable").reset_index(drop=True)
    applied = len(corrections) - len(missing_targets)
    metrics = _metrics(typed, models, rejected, snapshot_id, len(corrections), applied)
    return Curated(models=models.reset_index(drop=True), rejected=rejected, metrics=metrics)


def mark_ahead(models: pd.DataFrame, as_of: dt.date | None) -> pd.DataFrame:
    """Note on each contributed record, or record whose date a contribution corrected, published after the as-of
    date that the analysis leaves it out for now (upstream's own later dates are noted by ingest)."""
    if as_of is None or models.empty:
        return models
    contributed = models["source"].str.startswith(contribution_files.SOURCE_PREFIX, na=False) | models[
        "field_sources"
    ].str.contains(f"publication_date={contribution_files.SOURCE_PREFIX}", regex=False, na=False)
    ahead = contributed & (models["publication_date"].str[:10] > as_of.isoformat())
    if not ahead.any():
        return models
    models = models.copy()
    note, notes = rules.ahead_note(as_of), models.loc[ahead, "curation_notes"]
    models.loc[ahead, "curation_notes"] = notes.where(notes.isna(), notes + "; " + note).fillna(note)
    return models


def ahead_ids(models: pd.DataFrame, as_of: dt.date | None) -> list[str]:
    """The ids of the records mark_ahead noted as published after the as-of date."""
    if as_of is None:
        return []
    return list(models.loc[models["curation_notes"].str.contains(rules.ahead_note(as_of), regex=False, na=False), "id"])


# The rejects of a contribution file that a record now stands for: its id taken (upstream caught up with it, see
# _superseded) or a likely duplicate of a record (upstream added it under another name, see _refused_models).
SUPERSEDED_CODES = ("duplicate_id", "likely_duplicate")
SUPERSEDED_ADVICE = (
    "delete the file, or turn the values it adds into a correction (mlsizes add-model --correct ID), then run "
    "`dvc repro` and commit"
)


def superseded(rejected: pd.DataFrame) -> pd.DataFrame:
    """The reject rows of contribution files a record now stands for (SUPERSEDED_CODES): left in place they only
    fail `mlsizes validate`, so update lists them and release refuses until they are gone."""
    if rejected.empty:
        return rejected
    contributed = rejected["source"].astype(str).str.startswith(contribution_files.SOURCE_PREFIX)
    return rejected[contributed & rejected["reject_code"].isin(SUPERSEDED_CODES)]


def _as_curated(candidates: pd.DataFrame) -> pd.DataFrame:
    """Typed records as the curated contract types them (columns missing so far are empty)."""
    columns = list(contracts.curated_columns())
    for column in columns:
        if column not in candidates:
            candidates[column] = None
    return whole_parameters(candidates[columns].astype(contracts.curated_dtypes()))


def _contributions_checked(
    candidates: pd.DataFrame, corrections: list[contribution_files.Correction]
) -> tuple[pd.DataFrame, pd.DataFrame, list[contribution_files.Correction], list[dict]]:
    """The candidates less the contributed models refused (_refused_models), those rejects, and the corrections
    that may be applied and the reject rows of those that may not (_applicable)."""
    sources = candidates["source"]  # a few distinct values in a million rows: each is looked at once
    contributed = candidates.index[
        sources.isin([s for s in sources.unique() if s.startswith(contribution_files.SOURCE_PREFIX)])
    ]
    if not len(contributed) and not corrections:  # nothing to check: a snapshot curated alone
        return candidates, pd.DataFrame(columns=REJECTED_COLUMNS), [], []
    compared = candidates[list(rules.COMPARED_COLUMNS)]  # what contributions are compared with
    lookalike_rejects = _refused_models(candidates, contributed, compared)
    if len(lookalike_rejects):  # a million-row copy otherwise
        candidates = candidates.drop(index=lookalike_rejects.index)
        compared = compared.drop(index=lookalike_rejects.index)
    applicable, refused = _applicable(candidates, compared, corrections)
    return candidates, lookalike_rejects, applicable, refused


def _refused_models(candidates: pd.DataFrame, contributed: pd.Index, compared: pd.DataFrame) -> pd.DataFrame:
    """A reject row for each contributed model (`contributed`: their labels) that `mlsizes validate` refuses
    against the other records (`compared`: their rules.COMPARED_COLUMNS): its id taken, or a likely duplicate of
    a record it does not declare itself distinct from (rules.model_problems)."""
    rows = {label: candidates.loc[label].dropna().to_dict() for label in contributed}
    near = rules.near(list(rows.values()), compared)  # each model is compared with these few, not a million
    refused = {}
    for label, row in rows.items():
        errors, similar = rules.model_problems(
            row, near.drop(index=label), "id", row.get(contribution_files.DISTINCT_FROM, ())
        )
        errors += [rules.likely_duplicate(similar)] if len(similar) else []
        if errors:
            refused[label] = contribution_files.reject_row(row["source"], Invalid(errors, partial=row))
    return pd.DataFrame.from_dict(refused, orient="index", columns=REJECTED_COLUMNS)


def _applicable(
    candidates: pd.DataFrame, compared: pd.DataFrame, corrections: list[contribution_files.Correction]
) -> tuple[list[contribution_files.Correction], list[dict]]:
    """The corrections that may be applied, and a reject row for each one that may not: it would give its record
    another record's name (`compared`: the records' rules.COMPARED_COLUMNS), or a value the curated contract
    refuses (the checks `mlsizes validate` makes), so a bad correction file is rejected as a whole and its record
    stays as it was, never removed or renamed onto another. A correction whose target is missing is left to
    apply_corrections, which rejects it."""
    applicable, refused, keyed = [], [], None
    for correction in corrections:
        target = candidates[candidates["id"] == correction.target]
        if len(target) and keyed is None:  # each name's keys made once (a million names take a second)
            keyed = rules.with_name_keys(compared)
        errors = rules.correction_problems(correction, keyed) if len(target) else []
        if len(target) and not errors:
            corrected, _ = contribution_files.apply_corrections(target, [correction])
            errors = rules.schema_errors(contracts.record_failures(_as_curated(corrected), contracts.curated_schema()))
        if errors:
            refused.append(contribution_files.reject_row(correction.source, Invalid(errors)))
        else:
            applicable.append(correction)
    return applicable, refused


def _date_and_id_order(models: pd.DataFrame) -> np.ndarray:
    """The row positions of the records ordered by publication date, then id (unique, so the order is total).

    The dates are few (a day has many records), so the ids are sorted within each day: a million ids sort in
    small groups several times faster than all together.
    """
    ids, dates = (models[column].to_numpy(dtype=object, na_value="") for column in ("id", "publication_date"))
    day = pd.factorize(dates, sort=True)[0]
    by_day = np.argsort(day, kind="stable")
    days = np.split(by_day, np.flatnonzero(np.diff(day[by_day])) + 1)
    # Unstable within a day: two rows sharing an id and a day both break the schema's `unique`, so no tie is kept.
    return np.concatenate([rows[np.argsort(ids[rows])] for rows in days])


def whole_parameters(models: pd.DataFrame) -> pd.DataFrame:
    """Parameter counts are whole numbers: upstream float noise (247000000.00000003) is rounded, and each
    rounding is noted in the record's curation_notes."""
    sizes = models["parameters"]
    rounded = sizes.round()
    noisy = sizes.notna() & (rounded != sizes)
    if noisy.any():
        note = "parameters " + sizes[noisy].map(repr) + " in source rounded to a whole number"
        notes = models.loc[noisy, "curation_notes"]
        models.loc[noisy, "curation_notes"] = note.where(notes.isna(), notes + "; " + note)
        models.loc[noisy, "parameters"] = rounded[noisy]
    return models


def _name_slugs(records: pd.DataFrame) -> pd.Series:
    """The slug of every record's name (made once: a million names take a second)."""
    return pd.Series(slugify_all(records["name"].tolist()), index=records.index, dtype="str")


def _superseded(candidates: pd.DataFrame, name_slugs: pd.Series) -> pd.Series:
    """Contributions whose id is the slug of an upstream record's name (`name_slugs`): upstream has caught up
    with them.

    They are rejected (duplicate_id) instead of taking the id, so upstream ids never depend on contributions.
    """
    contributed = candidates["id"].notna() if "id" in candidates else pd.Series(False, index=candidates.index)
    if not contributed.any():
        return contributed
    # The few contributed ids are looked up among a million slugs, not a million slugs hashed for a few ids.
    upstream = name_slugs[~contributed]
    taken = set(upstream[upstream.isin(candidates.loc[contributed, "id"].tolist())].tolist())
    return contributed & candidates["id"].isin(taken)


def _schema_rejects(models: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    """One reject row per record that broke the schema (its first failed column, all failures in the message)."""
    if failures.empty:
        return pd.DataFrame(columns=REJECTED_COLUMNS)
    rows = []
    for label, cases in failures.groupby("index", sort=True):
        first = cases.iloc[0]
        message = "; ".join(f"{c.column}={c.failure_case!r} fails {c.check}" for c in cases.itertuples())
        rows.append(
            {
                "label": label,
                "source": models.at[label, "source"],
                "source_row": models.at[label, "source_row"],
                "name": models.at[label, "name"],
                "reject_code": f"invalid_{first['column']}",
                "reject_field": first["column"],
                "reject_value": str(first["failure_case"]),
                "reject_message": message,
            }
        )
    return pd.DataFrame(rows).set_index("label")


def _metrics(
    typed: pd.DataFrame, models: pd.DataFrame, rejected: pd.DataFrame, snapshot_id: str, corrections: int, applied: int
) -> dict:
    """Counts for the metrics file; raises IdentityError unless every input row is in exactly one output.

    Inputs are typed rows (upstream and contributed) and correction files; a correction is either applied
    (merged into a curated record) or a reject row.
    """
    key = ["source", "source_row"]
    seen = pd.concat([models[key], rejected[key]])
    if len(typed) + corrections != len(models) + len(rejected) + applied or _repeats(seen):
        raise IdentityError(
            f"identity broken: {len(typed)} input rows + {corrections} corrections != {len(models)} curated + "
            f"{len(rejected)} rejected + {applied} corrections applied"
        )
    per_source = typed["source"].value_counts()
    by_source = per_source.groupby(per_source.index.str.split(":").str[0]).sum()
    with_parameters = int(models["parameters"].notna().sum())
    return {
        "snapshot": snapshot_id,
        "input_rows": len(typed) + corrections,
        "raw_rows": int(by_source.get("epoch", 0)),
        "contribution_rows": int(by_source.get("contribution", 0)) + corrections,
        "corrections_applied": applied,
        "curated": len(models),
        "rejected": len(rejected),
        "identity_holds": True,
        "rejected_by_reason": {k: int(v) for k, v in sorted(rejected["reject_code"].value_counts().items())},
        "with_parameters": with_parameters,
        "share_with_parameters": round(with_parameters / len(models), 4) if len(models) else 0.0,
        "recoded_records": int(models["curation_notes"].notna().sum()),
    }


def _repeats(seen: pd.DataFrame) -> bool:
    """Whether a (source, source_row) pair appears twice: compared as one integer per pair (a million rows: a
    tenth of the time pandas takes to compare the pairs)."""
    sources = pd.factorize(seen["source"])[0].astype(np.int64)
    rows = seen["source_row"].to_numpy(dtype=np.int64)
    offset = rows.min() if len(rows) else 0
    return pd.Index(sources * (int(rows.max() - offset) + 1 if len(rows) else 1) + (rows - offset)).has_duplicates


def check_not_misread(curated: Curated, snapshot: ingest.Snapshot) -> None:
    """SnapshotError if the snapshot has no data rows, most of its rows are rejected for the same reason, or more
    than DUPLICATED_SHARE of them repeat an earlier row.

    Systems Epoch does not count as notable are not a misreading: an "all models" export is mostly those, so
    they are left out of the count (of both the rows and the rejects).
    """
    ours = curated.rejected["source"] == f"epoch:{snapshot.snapshot_id}"
    not_notable = int((curated.rejected.loc[ours, "reject_code"] == "not_notable").sum())
    raw_rows = curated.metrics["raw_rows"] - not_notable
    if curated.metrics["raw_rows"] == 0:
        raise SnapshotError(f"{snapshot.path}: no data rows, only a header (use --force to curate it anyway)")
    reasons = curated.rejected.loc[ours & (curated.rejected["reject_code"] != "not_notable"), "reject_code"]
    reasons = reasons.value_counts()
    repeated = int(reasons.get("duplicate_row", 0))
    if repeated > DUPLICATED_SHARE * raw_rows:
        raise SnapshotError(
            f"{snapshot.path}: {repeated} of {raw_rows} rows repeat an earlier row exactly: the file looks "
            "duplicated (use --force to curate it anyway, each repeat rejected as duplicate_row)"
        )
    if len(reasons) and reasons.iloc[0] > MISREAD_SHARE * raw_rows:
        raise SnapshotError(
            f"{snapshot.path}: {reasons.iloc[0]} of {raw_rows} rows rejected as {reasons.index[0]}: the file looks "
            "misread rather than the data bad (use --force to curate it anyway)"
        )


def formula_escape() -> CellRule:
    """The rule that makes written text spreadsheet-safe (OWASP CSV injection): `spreadsheet_safe_text` in
    schemas/curated.yaml, which the codebook documents. A cell whose first character after any escapes is a
    formula start gets one more escape in front, so reading it back is exact (drop one escape from such cells).
    Numbers are never text cells. The CSV writer applies it as it renders each column, so only the few cells
    starting with one of those characters are looked at closely.
    """
    rule = contracts.curated_spec()["spreadsheet_safe_text"]
    starts, escape = frozenset(rule["formula_start"]), rule["escape"]
    first = re.compile("\x00[" + re.escape("".join(sorted(starts | {escape}))) + "]")
    return CellRule(first, lambda cell: escape + cell if cell.lstrip(escape)[:1] in starts else cell)


def original_text(values: pd.Series) -> pd.Series:
    """Text cells as they were before curate made them spreadsheet-safe: one escape dropped from each cell that
    starts with escapes followed by a formula character (`spreadsheet_safe_text` in schemas/curated.yaml)."""
    rule = contracts.curated_spec()["spreadsheet_safe_text"]
    escape, starts = rule["escape"], frozenset(rule["formula_start"])
    escaped = values.str.startswith(escape, na=False)
    if not escaped.any():
        return values
    restored = values[escaped].map(lambda cell: cell[1:] if cell.lstrip(escape)[:1] in starts else cell)
    return values.where(~escaped, restored)


def curate_snapshot(
    snapshot_path: Path,
    *,
    require_provenance: bool = False,
    contributions_dir: Path | None = None,
    as_of: dt.date | None = None,
    force: bool = False,
) -> tuple[Curated, ingest.Snapshot]:
    """Load a snapshot (and the contribution files, when a folder is given) and curate them, in memory: the
    stage's load and process, which history and reproduce-paper run on every snapshot they read.

    Contributions dated after `as_of` (default: the snapshot's date) are curated and marked (rules.ahead_note),
    as `mlsizes validate` and `add-model` say. Unless `force`, a snapshot that looks misread (see
    check_not_misread) raises SnapshotError.
    """
    snapshot = ingest.load(snapshot_path, require_provenance=require_provenance)
    typed, corrections = ingest.process(snapshot), []
    if contributions_dir is not None:
        contributed = contribution_files.load(contributions_dir)
        typed = pd.concat([typed, contributed.typed], ignore_index=True)
        corrections = contributed.corrections
    as_of = as_of or snapshot.as_of
    curated = process(typed, snapshot.snapshot_id, corrections, as_of)
    curated.as_of = as_of
    # The date the snapshot describes: the analysis's as-of date unless params.yaml overrides it.
    date = snapshot.as_of.isoformat() if snapshot.as_of else None
    curated.metrics = {"snapshot": curated.metrics["snapshot"], "snapshot_date": date, **curated.metrics}
    if not force:
        check_not_misread(curated, snapshot)
    return curated, snapshot
