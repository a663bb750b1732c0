"""Ingest stage: one upstream snapshot (any vintage of Epoch's CSV) -> a typed table, one row per raw row.

Load: check the file is a CSV at all (not empty, not HTML, not binary, comma-delimited), verify its checksum,
check every row has as many fields as the header and no header name repeats, rename the vintage's columns to
canonical names from `schemas/raw.yaml` and check the required ones are there.
Process: parse every value. A row that cannot be used keeps its place with a reason code and a message, so
the curate stage can account for every raw row.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes.core.errors import reason
from mlsizes.records import contracts, snapshots
from mlsizes.records.parse import parse_date, parse_number
from mlsizes.records.snapshots import SnapshotError
from mlsizes.tables import parallel
from mlsizes.tables.columns import cells_containing, repetitive
from mlsizes.tables.parallel import Beside

SNIFF_BYTES = 8192
COUNT_CHUNK_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
_QUOTE, _COMMA, _LF, _CR = b'"'[0], b","[0], b"\n"[0], b"\r"[0]
# The bytes a quote may stand next to, on its outer side (a lookup table: byte -> allowed).
_QUOTE_NEIGHBOURS = np.isin(np.arange(256), [_QUOTE, _COMMA, _LF, _CR])

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
]
PARSED_COLUMNS = ["publication_date", "domain", "parameters", "training_compute_flop"]
# The reject columns every typed table carries.
REJECT_COLUMNS = ["reject_code", "reject_field", "reject_value", "reject_message"]


@dataclass
class Snapshot:
    """A loaded snapshot: its canonical-column text table and what is known of its origin."""

    path: Path
    snapshot_id: str
    table: pd.DataFrame
    provenance: dict | None
    as_of: dt.date | None
    states_notability: bool = False  # an empty notability criterion marks a non-notable system (raw.yaml)


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
        header = _header(path)
        _check_delimiter(path, head, header)
        _check_header(path, header)
        table, fields = _read_checked(path, header, known)
    except UnicodeDecodeError:
        raise SnapshotError(f"{path}: {_undecodable(path)}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise SnapshotError(f"{path}: not a readable CSV ({reason(exc)})") from None
    table = _rename_columns(path, table)
    marking = contracts.raw_columns()["notability_criteria"].get("empty_means_not_notable", [])
    return Snapshot(
        path=path,
        snapshot_id=snapshots.snapshot_id(path, provenance),
        table=table,
        provenance=provenance,
        as_of=snapshots.snapshot_date(path, provenance),
        states_notability=any(column.strip() in marking for column in header),
    )


# How pandas reads a snapshot: every value as text, as written. index_col=False: a first data row one field
# longer than the header (a trailing comma) must never turn the first column into pandas' index; the field
# count refuses such a file anyway.
_AS_TEXT = {"dtype": str, "na_filter": False, "index_col": False}
# In two processes, this one reads the first part of the file while the other counts every record's fields
# (about half a read's work) and reads the rest: both finish together.
FIRST_PART_SHARE = 0.8


def _read_checked(path: Path, header: list[str], known: set[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The known columns of every data row, as text, and every record's field count (checked against the header).

    The field count's verdict wins over pandas' (it is raised in `finally`): a row that does not line up is
    the more precise reason. A large file is read by two processes when a second one can be forked (on threads
    the two took turns on the GIL): the other one counts the fields, tells this one where the record after
    FIRST_PART_SHARE of the file starts, and reads from there while this one reads up to there.
    """
    if path.stat().st_size < parallel.MIN_BYTES or not parallel.can_fork():
        try:
            table = _read_text(path, header, known)
        finally:
            fields, _ = _check_fields(path, len(header))
        return _complete(path, table, fields)
    from_here = round(path.stat().st_size * FIRST_PART_SHARE)
    hear, tell = os.pipe()
    rest = Beside(lambda: _count_and_read_rest(path, header, known, from_here, tell))
    os.close(tell)
    try:
        with _FirstPart(path, from_here, hear) as first:
            table = _read_text(first, header, known)
    finally:
        fields, remaining = rest.result()
    if remaining is not None:
        table = pd.concat([table, remaining], ignore_index=True)
    return _complete(path, table, fields)


def _read_text(source, header: list[str], known: set[str], with_header: bool = True) -> pd.DataFrame:
    """The known columns of a CSV (a path or a file; its first line the header unless `with_header` is false),
    named as in `header`, the header as Python's csv module read it: the parts of a file read by two processes
    get the same names, whether or not pandas' reading of the header line would differ."""
    positions = [i for i, name in enumerate(header) if name.strip() in known]
    table = pd.read_csv(
        source, header=0 if with_header else None, names=list(range(len(header))), usecols=positions, **_AS_TEXT
    )
    return table.set_axis([header[i] for i in positions], axis=1)


def _complete(path: Path, table: pd.DataFrame, fields: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The table, once pandas is known to have read every data record the count found."""
    if len(table) != len(fields) - 1:
        raise SnapshotError(
            f"{path}: {len(fields) - 1} data rows in the file but {len(table)} read; not a well-formed CSV"
        )
    return table, fields


def _count_and_read_rest(
    path: Path, header: list[str], known: set[str], from_here: int, tell: int
) -> tuple[np.ndarray, pd.DataFrame | None]:
    """_check_fields, telling the `tell` pipe where the first record at or after byte `from_here` starts (the
    file's size if none does) as soon as the count gets there; then the known columns of the records from
    there on, named as in the header (None if there are none)."""
    told, seen = False, 0

    def telling(records, pipe):
        # The eight bytes always fit in the pipe, which this process holds open too: telling never fails, even
        # when the other process has failed on its part and stopped listening.
        nonlocal told, seen
        for fields, starts in records:
            later = starts[(starts >= from_here) & (np.arange(seen, seen + len(starts)) > 0)]  # not the header
            if not told and len(later):
                pipe.write(int(later[0]).to_bytes(8, "little"))
                told = True
            seen += len(starts)
            yield fields, starts

    with open(tell, "wb", buffering=0) as pipe:
        fields, starts = _check_fields(path, len(header), telling(_counted_records(path), pipe))
        if not told:
            pipe.write(path.stat().st_size.to_bytes(8, "little"))
    rest = starts[(starts >= from_here) & (np.arange(len(starts)) > 0)]
    if not len(rest):
        return fields, None
    with open(path, "rb") as handle:
        handle.seek(int(rest[0]))
        return fields, _read_text(handle, header, known, with_header=False)


class _FirstPart(io.RawIOBase):
    """A file's bytes up to where another process says its part starts; until it has said, up to `at_least`,
    since that part starts at or after it."""

    def __init__(self, path: Path, at_least: int, hear: int):
        self._file, self._position, self._end, self._hear = open(path, "rb", buffering=0), 0, at_least, hear

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._position >= self._end and self._hear is not None:
            told = os.read(self._hear, 8)
            os.close(self._hear)
            self._hear = None
            if len(told) != 8:
                raise _Untold("the counting process ended before naming where its part starts")
            self._end = int.from_bytes(told, "little")
        size = self._file.readinto(memoryview(buffer)[: max(0, self._end - self._position)])
        self._position += size
        return size

    def close(self) -> None:
        if self._hear is not None:
            os.close(self._hear)
            self._hear = None
        self._file.close()
        super().close()


class _Untold(RuntimeError):
    """The counting process failed before it named where its part of the file starts (its error says why)."""


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


def _header(path: Path) -> list[str]:
    """The header's column names as written (pandas would rename a repeated one `X.1`), blank lines skipped."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return next((row for row in csv.reader(handle) if row), [])


def _check_delimiter(path: Path, head: bytes, header: list[str]) -> None:
    if len(header) > 1:
        return
    header = head.decode("utf-8", "replace").splitlines()[0]
    for name, char in (("semicolon", ";"), ("tab", "\t"), ("pipe", "|")):
        if char in header:
            raise SnapshotError(f"{path}: wrong delimiter: the header is {name}-separated, expected commas")
    raise SnapshotError(f"{path}: only one column ({header[:60]!r}); expected a comma-separated table")


def _check_header(path: Path, header: list[str]) -> None:
    """Refuse a repeated column name: which of the two columns holds the data would be a guess.

    Names are compared as ingest uses them (surrounding spaces stripped); unnamed columns are never read.
    """
    repeated = [name for name, n in Counter(name.strip() for name in header).items() if n > 1 and name]
    if repeated:
        raise SnapshotError(f"{path}: duplicate column {repeated[0]!r} in the header: every column name must be unique")


def _check_fields(path: Path, expected: int, records: Iterable | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Refuse a row with more or fewer fields than the header; return the field count and start of every record
    (counted by _counted_records, or taken from `records`: its chunks)."""
    fields, starts = _record_fields(path, records)
    bad = np.flatnonzero(fields[1:] != expected)
    if len(bad):
        row = int(bad[0]) + 1
        count = int(fields[row])
        raise SnapshotError(
            f"{path}: data row {row} (line {_line_of(path, int(starts[row]))}) has "
            f"{count} field{'' if count == 1 else 's'}, the header has {expected}: the row does not "
            "line up with the columns"
        )
    return fields, starts


def _record_fields(path: Path, records: Iterable | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Field count and starting byte of every record (header first, blank lines skipped), counted on the bytes.

    pandas cannot tell a row that does not line up: its C parser pads a short row with empty fields and,
    reading only some columns, drops a long row's extra fields. Quoting follows RFC 4180: a quote opens a
    field, closes it or is doubled inside it; a quote anywhere else (`5" screen`) leaves the field
    boundaries to each reader's interpretation, so it is refused. numpy on cache-sized chunks costs about
    half of pandas' read of the same file; Python's csv module would cost more than twice the read.
    """
    counted = list(_counted_records(path) if records is None else records)
    return (
        np.concatenate([fields for fields, _ in counted]) if counted else np.zeros(0, dtype=np.int64),
        np.concatenate([starts for _, starts in counted]) if counted else np.zeros(0, dtype=np.int64),
    )


def _counted_records(path: Path) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """_record_fields a chunk of the file at a time: the field counts and starts of the records ending in it."""
    inside = 0  # 1 while in a quoted field
    commas = 0  # separators seen so far in the record in progress
    # Two buffers read into in turn (the chunk and the one after it): fresh megabyte objects would each cost
    # the kernel a round of page faults.
    buffers = (bytearray(COUNT_CHUNK_BYTES), bytearray(COUNT_CHUNK_BYTES))
    with open(path, "rb") as handle:
        offset = 3 if handle.read(3) == _BOM else 0
        handle.seek(offset)
        last_end, before = offset - 1, _LF  # the last line end outside quotes; the byte before the chunk
        size, turn = handle.readinto(buffers[0]), 0
        while size:
            following = handle.readinto(buffers[1 - turn])
            data = np.frombuffer(buffers[turn], dtype=np.uint8, count=size)
            # Quotes and line ends are found together (one scan of the chunk), then told apart.
            marks = np.flatnonzero((data == _QUOTE) | (data == _LF))
            is_quote = data[marks] == _QUOTE
            quotes, ends = marks[is_quote], marks[~is_quote]
            _check_quotes(path, data, quotes, inside, before, buffers[1 - turn][0] if following else _LF, offset)
            if _CR in data:
                ends = np.union1d(ends, np.flatnonzero(data == _CR))
            separators_before, separators = _ranker(data == _COMMA)
            # A line end outside quotes has an even number of quotes before it (with the chunks before).
            quotes_before = np.searchsorted(quotes, ends)
            outside = (inside + quotes_before) % 2 == 0
            ends, quotes_before = ends[outside], quotes_before[outside]
            # Separators inside quoted fields do not count. Summing the separators before each quote, negated
            # at an opening quote, up to a point outside quotes gives those inside the quoted fields before it
            # (cheaper than testing each separator: they outnumber quotes).
            at_quote = separators_before(quotes)
            signed = np.where((inside + np.arange(len(quotes))) % 2 == 0, -at_quote, at_quote)
            quoted_before = np.concatenate(([0], np.cumsum(signed)))
            ends_inside = (inside + len(quotes)) % 2
            unquoted = separators - int(quoted_before[-1]) - (separators if ends_inside else 0)
            inside = ends_inside
            if len(ends):
                commas_before = separators_before(ends) - quoted_before[quotes_before]
                per_record = np.diff(commas_before, prepend=0)
                per_record[0] += commas
                previous = np.concatenate(([last_end], ends[:-1] + offset))
                filled = ends + offset - previous > 1
                yield per_record[filled] + 1, previous[filled] + 1
                commas, last_end = unquoted - int(commas_before[-1]), int(ends[-1]) + offset
            else:
                commas += unquoted
            offset += size
            before, size, turn = int(data[-1]), following, 1 - turn
    if inside:
        raise SnapshotError(
            f"{path}: a quoted field in the record starting on line {_line_of(path, last_end + 1)} is never closed"
        )
    if offset - last_end > 1:  # the last record has no line end
        yield np.array([commas + 1]), np.array([last_end + 1])


def _ranker(marked: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """For a chunk's marked bytes (its separators): a function giving how many are marked before each of some
    positions, and how many are marked in all.

    The marks are packed into 64-bit words with a running count of the words before, so a position's rank is
    one lookup and one popcount: no array of the marked positions (a million separators a megabyte, whose
    finding and searching had been half of the count).
    """
    words = np.packbits(marked, bitorder="little")
    words = np.concatenate((words, np.zeros(-len(words) % 8, dtype=np.uint8))).view(np.uint64)
    running = np.concatenate(([0], np.cumsum(np.bitwise_count(words), dtype=np.int64)))

    def before(positions: np.ndarray) -> np.ndarray:
        word = positions >> 6
        below = np.left_shift(np.uint64(1), (positions & 63).astype(np.uint64)) - np.uint64(1)
        return running[word] + np.bitwise_count(words[word] & below)

    return before, int(running[-1])


def _check_quotes(
    path: Path, data: np.ndarray, quotes: np.ndarray, inside: int, before: int, after: int, offset: int
) -> None:
    """Every quote must open a field (after a separator or line end), close one (before them) or be doubled.

    `before` and `after` are the bytes around the chunk; `inside` whether the chunk starts in a quoted field.
    """
    opening, closing = quotes[inside::2], quotes[1 - inside :: 2]
    outer = np.concatenate((data[opening - 1], data[np.minimum(closing + 1, len(data) - 1)]))
    if len(opening) and opening[0] == 0:
        outer[0] = before
    if len(closing) and closing[-1] == len(data) - 1:
        outer[-1] = after
    stray = np.concatenate((opening, closing))[~_QUOTE_NEIGHBOURS[outer]]
    if len(stray):
        raise SnapshotError(
            f"{path}: line {_line_of(path, int(stray.min()) + offset)}: a quote inside an unquoted "
            "field or after a closing quote; quote the whole field and double the quotes inside it"
        )


def _undecodable(path: Path) -> str:
    """Where a file stops being UTF-8 text, for the error message: pandas and the csv module name a position in
    the block they were decoding, not in the file."""
    decoder, offset = codecs.getincrementaldecoder("utf-8")(), 0
    with open(path, "rb") as handle:
        while block := handle.read(COUNT_CHUNK_BYTES):
            pending = len(decoder.getstate()[0])  # the start of a character cut by the last block
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                at = offset - pending + exc.start
                return f"line {_line_of(path, at)}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at byte {at:,})"
            offset += len(block)
    return "not UTF-8 text"


def _line_of(path: Path, position: int) -> int:
    """1-based line number of a byte offset (only for error messages), read a chunk at a time."""
    line = 1
    with open(path, "rb") as handle:
        while position > 0 and (block := handle.read(min(position, COUNT_CHUNK_BYTES))):
            line, position = line + block.count(b"\n"), position - len(block)
    return line


def _rename_columns(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    """Rename the vintage's column names to canonical ones; fail on a missing required column, or on two
    columns that mean the same one (which of them holds the data would be a guess)."""
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
    return table


def _distinct(values: pd.Series) -> tuple[np.ndarray, list]:
    """A column as codes into its distinct values: upstream columns repeat a lot, so work done once per distinct
    value and spread back by code keeps 1M-row files fast."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    return codes, distinct.tolist()


def _spread(results: list, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Per-distinct-value results as a column (its dtype inferred from the results, as Series.map would)."""
    return pd.Series(results).take(codes).set_axis(index)


def _factorized(raw: pd.DataFrame, columns: list[str]) -> dict[str, tuple[np.ndarray, list]]:
    """_distinct of each of the columns that repeat their values, half of them found in a forked process: hashing
    a million strings a column is most of this stage's own time. The codes and distinct values travel back."""
    repeating = [column for column in columns if repetitive(raw[column])]
    theirs = Beside(
        lambda: {column: _distinct(raw[column]) for column in repeating[1::2]},
        worth_it=len(raw) >= parallel.MIN_ROWS,
    )
    try:
        ours = {column: _distinct(raw[column]) for column in repeating[::2]}
    except BaseException:
        theirs.reap()
        raise
    return {**ours, **theirs.result()}


def _clean_text(values: pd.Series, factorized: tuple[np.ndarray, list] | None) -> pd.Series:
    """Collapse runs of whitespace (upstream names carry newlines) and turn empty text into missing: once per
    distinct value when the column repeats (its `factorized` codes and values), else cell by cell."""
    if factorized is not None:
        codes, distinct = factorized
        return _spread([" ".join(value.split()) or None for value in distinct], codes, values.index)
    cleaned = values.to_numpy(dtype=object, na_value="", copy=True)
    # Every whitespace character but the space is unprintable: the cells that may change are those, and those
    # with two spaces in a row or a space at either end.
    unprintable = np.flatnonzero(~np.fromiter(map(str.isprintable, cleaned), dtype=bool, count=len(cleaned)))
    unclean = np.union1d(unprintable, cells_containing(values, ("  ", "\x00 ", " \x00")))
    cleaned[unclean] = [" ".join(value.split()) for value in cleaned[unclean]]
    cleaned[cleaned == ""] = None
    return pd.Series(cleaned, index=values.index)


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
    for column in TEXT_COLUMNS:
        out[column] = _clean_text(raw[column], factorized.get(column))

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
    out["training_compute_flop"] = compute.column(lambda size: size).astype("float64")

    notes = domains.column(lambda parsed: "; ".join(parsed[2]) or None)
    _add_note(notes, zero, "parameters 0 in source treated as missing")
    if snapshot.as_of is not None:
        future = out["publication_date"].notna() & (out["publication_date"] > snapshot.as_of.isoformat())
        _add_note(notes, future, f"publication date after the snapshot date {snapshot.as_of.isoformat()}")
    out["curation_notes"] = notes

    _mark_rejects(
        out,
        [
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
                date_text == "",
                date_text,
                lambda v: "record has no publication date",
            ),
            (
                "unparseable_date",
                "publication_date",
                date_text.isin(list(date_errors)) & (date_text != ""),
                date_text,
                date_errors.get,
            ),
            ("missing_domain", "domain", domain_text == "", domain_text, lambda v: "record has no domain"),
            (
                "unknown_domain",
                "domain",
                domain_text.isin(list(domain_errors)) & (domain_text != ""),
                domain_text,
                domain_errors.get,
            ),
            ("unparseable_parameters", "parameters", param_text.isin(list(param_errors)), param_text, param_errors.get),
            (
                "unparseable_training_compute",
                "training_compute_flop",
                compute_text.isin(list(compute_errors)),
                compute_text,
                compute_errors.get,
            ),
        ],
    )
    return out


def _add_note(notes: pd.Series, mask: pd.Series, note: str) -> None:
    """Append a curation note to the rows in mask ("; " between notes)."""
    notes[mask] = (notes[mask] + "; " + note).fillna(note)


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
        # A lone carriage return would be written unquoted by Python's csv writer (with "\n" line ends) and
        # split the rejected.csv row for every reader: it is kept as a line break, "\n".
        out.loc[todo, "reject_value"] = values[todo].str.replace("\r(?!\n)", "\n", regex=True)
        out.loc[todo, "reject_message"] = values[todo].map(message)
