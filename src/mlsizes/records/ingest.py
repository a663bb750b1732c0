"""Ingest: one upstream snapshot (any vintage of Epoch's CSV) -> a typed table, one row per raw row.

Load: check the file is a CSV at all and every row lines up with the header (tables/reading.py), verify its
checksum against its provenance record, rename the vintage's columns to canonical names from `schemas/raw.yaml`
and check the required ones are there.
Process: parse every value. A row that cannot be used keeps its place with a reason code and a message, so
curation can account for every raw row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes.core import untrusted
from mlsizes.records import contracts, snapshots
from mlsizes.records.parse import parse_date, parse_flag, parse_number
from mlsizes.records.snapshots import SnapshotError
from mlsizes.tables import reading
from mlsizes.tables.columns import cells_containing, repetitive

# The text columns cleaned of stray whitespace, and the columns parsed into values.
TEXT_COLUMNS = [
    "name",
    "organization",
    "notability_criteria",
    "link",
    "confidence",
    "parameters_notes",
    "training_compute_notes",
    "notability_criteria_notes",
    "training_hardware",
]
# The measures besides parameters and compute: an unusable cell leaves the measure empty with its reason in
# measures_missing_reason (the record stays); a value the curated contract refuses still rejects the record.
MEASURE_COLUMNS = [
    "training_dataset_size",
    "training_cost_usd",
    "training_cost_cloud_usd",
    "training_cost_upfront_usd",
    "hardware_quantity",
    "training_time_hours",
]
PARSED_COLUMNS = [
    "publication_date",
    "domain",
    "parameters",
    "training_compute_flop",
    *MEASURE_COLUMNS,
    "frontier_model",
]
# The reject columns every typed table carries.
REJECT_COLUMNS = ["reject_code", "reject_field", "reject_value", "reject_message"]
# Control characters that str.split() does not treat as whitespace (C0 and C1, tab and line ends excluded).
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


@dataclass
class Snapshot:
    """A loaded snapshot: its canonical-column text table and what is known of its origin."""

    path: Path
    snapshot_id: str
    table: pd.DataFrame
    provenance: dict | None
    as_of: dt.date | None
    states_notability: bool = False  # an empty notability criterion marks a non-notable system (raw.yaml)
    spellings: dict[str, str] = dataclasses.field(default_factory=dict)  # canonical column -> the vintage's name


def load(path: Path, require_provenance: bool = False) -> Snapshot:
    """Read and check a snapshot file; raise SnapshotError naming the file and the problem."""
    path = Path(path)
    try:  # never through a link, never opening a FIFO or a device (it would block)
        untrusted.regular_file(path)
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such file") from None
    except untrusted.FieldError as exc:
        raise SnapshotError(f"{path}: {exc.message}") from None
    # Only the columns schemas/raw.yaml knows are read: upstream files carry up to 47, most of them unused.
    known = {alias for spec in contracts.raw_columns().values() for alias in spec["aliases"]}
    try:
        head = reading.sniff(path)
        provenance = snapshots.verify(path, require_provenance)
        header = reading.read_header(path)
        reading.check_delimiter(path, head, header)
        reading.check_header(path, header)
        table = reading.read_checked(path, header, known)
    except reading.TableError as exc:
        raise SnapshotError(str(exc)) from None
    table, spellings = _rename_columns(path, table)
    marking = contracts.raw_columns()["notability_criteria"].get("empty_means_not_notable", [])
    return Snapshot(
        path=path,
        snapshot_id=snapshots.snapshot_id(path, provenance),
        table=table,
        provenance=provenance,
        as_of=snapshots.snapshot_date(path, provenance),
        states_notability=any(column.strip() in marking for column in header),
        spellings=spellings,
    )


def _rename_columns(path: Path, table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename the vintage's column names to canonical ones (also returned: canonical -> the vintage's name); fail
    on a missing required column, or on two columns that mean the same one (which holds the data is a guess)."""
    stripped = {column: column.strip() for column in table.columns}
    table = table.rename(columns=stripped)
    renames, missing = {}, []
    for canonical, spec in contracts.raw_columns().items():
        found = [alias for alias in spec["aliases"] if alias in table.columns]
        if len(found) > 1:
            raise SnapshotError(f"{path}: columns {found[0]!r} and {found[1]!r} both mean {canonical}; keep one")
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
    contracts.validate_raw(table)
    return table, {canonical: alias for alias, canonical in renames.items()}


def _distinct(values: pd.Series) -> tuple[np.ndarray, list]:
    """A column as codes into its distinct values: upstream columns repeat a lot, so work done once per distinct
    value and spread back by code keeps 1M-row files fast."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    return codes, distinct.tolist()


def _spread(results: list, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Per-distinct-value results as a column (its dtype inferred from the results, as Series.map would)."""
    return pd.Series(results).take(codes).set_axis(index)


def _factorized(raw: pd.DataFrame, columns: list[str]) -> dict[str, tuple[np.ndarray, list]]:
    """_distinct of each of the columns that repeat their values."""
    return {column: _distinct(raw[column]) for column in columns if repetitive(raw[column])}


def _clean(value: str) -> str:
    """A text cell with its control characters removed and runs of whitespace collapsed."""
    return " ".join(_CONTROL.sub("", value).split())


def _clean_text(values: pd.Series, factorized: tuple[np.ndarray, list] | None) -> tuple[pd.Series, pd.Series]:
    """Collapse runs of whitespace (upstream names carry newlines), remove control characters (a NUL byte would
    end a C reader's value) and turn empty text into missing: once per distinct value when the column repeats
    (its `factorized` codes and values), else cell by cell. Also which cells lost a control character."""
    if factorized is not None:
        codes, distinct = factorized
        controlled = [bool(_CONTROL.search(value)) for value in distinct]
        return _spread([_clean(value) or None for value in distinct], codes, values.index), _spread(
            controlled, codes, values.index
        ).astype(bool)
    cleaned = values.to_numpy(dtype=object, na_value="", copy=True)
    # Every whitespace and control character but the space is unprintable: the cells that may change are those,
    # and those with two spaces in a row or a space at either end.
    unprintable = np.flatnonzero(~np.fromiter(map(str.isprintable, cleaned), dtype=bool, count=len(cleaned)))
    controlled = np.zeros(len(cleaned), dtype=bool)
    controlled[unprintable] = [bool(_CONTROL.search(value)) for value in cleaned[unprintable]]
    unclean = np.union1d(unprintable, cells_containing(values, ("  ", "\x00 ", " \x00")))
    cleaned[unclean] = [_clean(value) for value in cleaned[unclean]]
    cleaned[cleaned == ""] = None
    return pd.Series(cleaned, index=values.index), pd.Series(controlled, index=values.index)


@dataclass
class _Parsed:
    """A text column stripped and parsed once per distinct value."""

    codes: np.ndarray  # each row's distinct value
    text: list[str]  # the distinct values, stripped
    results: list  # what each parsed to (None where it did not)
    errors: dict[str, str]  # stripped text -> why it did not parse
    index: pd.Index

    def column(self, part=None) -> pd.Series:
        """Each row's stripped text, or with `part` that part of its parsed value (None where it did not parse)."""
        values = self.text if part is None else [None if result is None else part(result) for result in self.results]
        return _spread(values, self.codes, self.index)

    def rows(self, test) -> pd.Series:
        """Whether each row's stripped text passes `test`, asked once per distinct value."""
        return _spread([bool(test(text)) for text in self.text], self.codes, self.index).astype(bool)

    def failed(self) -> pd.Series:
        """Whether each row's text did not parse."""
        return self.rows(self.errors.__contains__)


def _parse(values: pd.Series, parser, factorized: tuple[np.ndarray, list] | None) -> _Parsed:
    """Strip and parse each distinct value of a column (its `factorized` codes and values, when known); a
    ValueError is that value's error message."""
    codes, distinct = factorized or _distinct(values)
    stripped, results, errors = [value.strip() for value in distinct], [], {}
    for text in stripped:
        try:
            results.append(parser(text))
        except ValueError as exc:
            results.append(None)
            errors[text] = str(exc)
    return _Parsed(codes, stripped, results, errors, values.index)


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
    factorized = _factorized(raw, [*TEXT_COLUMNS, *PARSED_COLUMNS])
    controlled = {}
    for column in TEXT_COLUMNS:
        out[column], controlled[column] = _clean_text(raw[column], factorized.get(column))

    dates = _parse(raw["publication_date"], parse_date, factorized.get("publication_date"))
    date_text, date_errors = dates.column(), dates.errors
    out["publication_date"] = dates.column(lambda date: date.isoformat())
    out["date_precision"] = dates.column(lambda date: date.precision)

    domains = _parse(raw["domain"], parse_domains, factorized.get("domain"))
    domain_text, domain_errors = domains.column(), domains.errors
    out["domains"] = domains.column(lambda parsed: parsed[0])
    out["primary_domain"] = domains.column(lambda parsed: parsed[1])

    params = _parse(raw["parameters"], parse_number, factorized.get("parameters"))
    param_text, param_errors = params.column(), params.errors
    parameters = params.column(lambda size: size).astype("float64")
    zero = parameters == 0
    out["parameters"] = parameters.where(~zero)
    out["parameters_missing_reason"] = None
    out.loc[parameters.isna(), "parameters_missing_reason"] = "not_in_source"
    out.loc[zero, "parameters_missing_reason"] = "zero_in_source"

    compute = _parse(raw["training_compute_flop"], parse_number, factorized.get("training_compute_flop"))
    compute_text, compute_errors = compute.column(), compute.errors
    training_compute = compute.column(lambda size: size).astype("float64")
    zero_compute = training_compute == 0
    out["training_compute_flop"] = training_compute.where(~zero_compute)

    missing_reasons = _measures(raw, snapshot, factorized, out)

    notes = domains.column(lambda parsed: "; ".join(parsed[2]) or None)
    _add_note(notes, zero, "parameters 0 in source treated as missing")
    _add_note(notes, zero_compute, "training compute 0 in source treated as missing")
    for column, mask in controlled.items():
        _add_note(notes, mask, f"control characters removed from {column}")
    if snapshot.as_of is not None:
        future = out["publication_date"].notna() & (out["publication_date"] > snapshot.as_of.isoformat())
        _add_note(notes, future, f"publication date after the snapshot date {snapshot.as_of.isoformat()}")
    out["curation_notes"] = notes
    out["measures_missing_reason"] = missing_reasons

    earlier = _earlier_copies(raw)
    _mark_rejects(
        out,
        [
            (
                "duplicate_row",
                "name",
                earlier.notna(),
                out["name"],
                "identical to data row " + earlier.astype("str") + " in every column curate reads",
            ),
            (
                "not_notable",
                "notability_criteria",
                out["notability_criteria"].isna() & snapshot.states_notability,
                raw["notability_criteria"],
                lambda v: "no notability criteria: Epoch does not count the system as notable",
            ),
            ("missing_name", "name", out["name"].isna(), raw["name"], lambda v: "record has no name"),
            (
                "missing_date",
                "publication_date",
                dates.rows(lambda text: text == ""),
                date_text,
                lambda v: "record has no publication date",
            ),
            (
                "unparseable_date",
                "publication_date",
                dates.rows(lambda text: text in date_errors and text != ""),
                date_text,
                date_errors.get,
            ),
            (
                "missing_domain",
                "domain",
                domains.rows(lambda text: text == ""),
                domain_text,
                lambda v: "record has no domain",
            ),
            (
                "unknown_domain",
                "domain",
                domains.rows(lambda text: text in domain_errors and text != ""),
                domain_text,
                domain_errors.get,
            ),
            ("unparseable_parameters", "parameters", params.failed(), param_text, param_errors.get),
            (
                "unparseable_training_compute",
                "training_compute_flop",
                compute.failed(),
                compute_text,
                compute_errors.get,
            ),
        ],
    )
    return out


def _measures(raw: pd.DataFrame, snapshot: Snapshot, factorized: dict, out: pd.DataFrame) -> pd.Series:
    """Parse the measures besides parameters and compute into `out`, once per distinct value; returns each row's
    measures_missing_reason (column=reason pairs for the cells upstream filled but that give no value)."""
    reasons = pd.Series(None, index=raw.index, dtype="object")
    for column in MEASURE_COLUMNS:
        parsed = _parse(raw[column], parse_number, factorized.get(column))
        values = parsed.column(lambda number: number).astype("float64")
        zero = values == 0
        out[column] = values.where(~zero)
        _add_note(reasons, zero, f"{column}=zero_in_source")
        _add_note(reasons, parsed.failed(), f"{column}=unparseable_in_source")
    dollars = contracts.raw_columns()["training_cost_usd"]["dollars"].get(snapshot.spellings.get("training_cost_usd"))
    out["training_cost_dollars"] = pd.Series(dollars, index=raw.index, dtype="object").where(
        out["training_cost_usd"].notna()
    )
    flags = _parse(raw["frontier_model"], parse_flag, factorized.get("frontier_model"))
    frontier = flags.column(lambda flag: flag).astype("boolean")
    if "frontier_model" in snapshot.spellings:  # the vintage has the flag: an empty cell means False
        frontier = frontier.mask(flags.rows(lambda text: text == ""), False)
    out["frontier_model"] = frontier
    _add_note(reasons, flags.failed(), "frontier_model=unparseable_in_source")
    return reasons


def _earlier_copies(raw: pd.DataFrame) -> pd.Series:
    """For each row identical in every column read to an earlier row, that row's data row number (else NA).

    A repeated row repeats its name, so only rows whose name repeats are compared whole (a million names are
    hashed once; the few rows left are compared cell by cell)."""
    maybe = np.flatnonzero(raw["name"].duplicated(keep=False).to_numpy())
    first_seen, earlier = {}, {}
    for position, values in zip(maybe, raw.iloc[maybe].itertuples(index=False, name=None)):
        first = first_seen.setdefault(values, position + 1)
        if first != position + 1:
            earlier[raw.index[position]] = first
    return pd.Series(earlier, index=raw.index, dtype="Int64")


def _add_note(notes: pd.Series, mask: pd.Series, note: str) -> None:
    """Append a curation note to the rows in mask ("; " between notes)."""
    if not mask.any():  # most notes concern no row: a million-row assignment of nothing is not free
        return
    notes[mask] = (notes[mask] + "; " + note).fillna(note)


def _mark_rejects(out: pd.DataFrame, rules) -> None:
    """Record the first failing rule of each row as its reject reason (rules are checked in order); a rule's
    message is made from the row's value, or given for every row."""
    for column in REJECT_COLUMNS:
        out[column] = None
    for code, field, mask, values, message in rules:
        todo = mask & out["reject_code"].isna()
        if not todo.any():
            continue
        out.loc[todo, "reject_code"] = code
        out.loc[todo, "reject_field"] = field
        # A lone carriage return would be written unquoted by Python's csv writer (with "\n" line ends) and
        # split the rejected.csv row for every reader: it is kept as a line break, "\n".
        out.loc[todo, "reject_value"] = (
            values[todo].str.replace("\r(?!\n)", "\n", regex=True).str.replace(_CONTROL, "", regex=True)
        )
        out.loc[todo, "reject_message"] = values[todo].map(message) if callable(message) else message[todo]
