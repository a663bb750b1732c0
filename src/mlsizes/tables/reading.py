"""Reading a CSV table: only the columns asked for, every value as text as written, every record's fields checked.

pandas' C parser reads the columns; it cannot tell a row that does not line up (it pads a short row with empty
fields and, reading only some columns, drops a long row's extra fields), so every record's fields are also
counted on the bytes (numpy, a chunk at a time) and checked against the header. Errors name the file, the line
and the reason: a row with the wrong number of fields, a stray quote, a quoted field never closed, the byte where
the text stops being UTF-8.
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes.core.errors import reason

SNIFF_BYTES = 8192
COUNT_CHUNK_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
_QUOTE, _COMMA, _LF, _CR = b'"'[0], b","[0], b"\n"[0], b"\r"[0]
# The bytes a quote may stand next to, on its outer side (a lookup table: byte -> allowed).
_QUOTE_NEIGHBOURS = np.isin(np.arange(256), [_QUOTE, _COMMA, _LF, _CR])


class TableError(ValueError):
    """A file that is not a readable CSV table; the message names the file, the line and the reason."""


# How pandas reads a snapshot: every value as text, as written. index_col=False: a first data row one field
# longer than the header (a trailing comma) must never turn the first column into pandas' index; the field
# count refuses such a file anyway.
_AS_TEXT = {"dtype": str, "na_filter": False, "index_col": False}


def read_checked(path: Path, header: list[str], known: set[str]) -> pd.DataFrame:
    """The columns of a CSV named in `known` (names compared without surrounding spaces), every value as text as
    written, once every record's field count has been checked against the header (`header`: the header as
    Python's csv module reads it).

    The fields are counted on a second thread while pandas reads: pandas' tokenizer and numpy release the GIL
    for part of their work, so the two overlap (BENCHMARKS.md has the figures). The count's verdict wins over
    pandas' (it is raised in `finally`): a row that does not line up is the more precise reason. TableError names
    the file, the line and the reason.
    """
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            counting = pool.submit(_check_fields, path, len(header))
            try:
                table = _read_text(path, header, known)
            finally:
                fields, _ = counting.result()
    except UnicodeDecodeError:
        raise TableError(f"{path}: {_undecodable(path)}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise TableError(f"{path}: not a readable CSV ({reason(exc)})") from None
    if len(table) != len(fields) - 1:
        read, counted = len(table), len(fields) - 1
        raise TableError(f"{path}: {counted} data rows in the file but {read} read; not a well-formed CSV")
    return table


def _read_text(path: Path, header: list[str], known: set[str]) -> pd.DataFrame:
    """The known columns of a CSV, named as in `header` (the header as Python's csv module read it): pandas is
    given column positions, so a header line pandas would read differently cannot rename a column.

    No encoding is named: pandas' C parser drops a UTF-8 BOM itself, and "utf-8-sig" would halve its speed."""
    positions = [i for i, name in enumerate(header) if name.strip() in known]
    table = pd.read_csv(path, header=0, names=list(range(len(header))), usecols=positions, **_AS_TEXT)
    return table.set_axis([header[i] for i in positions], axis=1)


def sniff(path: Path) -> bytes:
    """The file's first bytes after any blank lines, once it is known not to be empty, binary or a web page."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
        while head and not head.strip():  # blank lines before the header: look past them
            head = handle.read(SNIFF_BYTES)
    if not head.strip():
        raise TableError(f"{path}: file is empty")
    if b"\x00" in head:
        raise TableError(f"{path}: not a CSV (binary content)")
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")):
        raise TableError(f"{path}: not a CSV (an HTML/XML page)")
    return head


def read_header(path: Path) -> list[str]:
    """The header's column names as written (pandas would rename a repeated one `X.1`), blank lines skipped."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return next((row for row in csv.reader(handle) if row), [])
    except UnicodeDecodeError:
        raise TableError(f"{path}: {_undecodable(path)}") from None
    except csv.Error as exc:
        raise TableError(f"{path}: not a readable CSV ({reason(exc)})") from None


def check_delimiter(path: Path, head: bytes, header: list[str]) -> None:
    """Refuse a file whose header is one column: another delimiter, or not a table."""
    if len(header) > 1:
        return
    header = next(line for line in head.decode("utf-8", "replace").splitlines() if line.strip())
    for name, char in (("semicolon", ";"), ("tab", "\t"), ("pipe", "|")):
        if char in header:
            raise TableError(f"{path}: wrong delimiter: the header is {name}-separated, expected commas")
    raise TableError(f"{path}: only one column ({header[:60]!r}); expected a comma-separated table")


def check_header(path: Path, header: list[str]) -> None:
    """Refuse a repeated column name: which of the two columns holds the data would be a guess.

    Names are compared as ingest uses them (surrounding spaces stripped); unnamed columns are never read.
    """
    repeated = [name for name, n in Counter(name.strip() for name in header).items() if n > 1 and name]
    if repeated:
        raise TableError(f"{path}: duplicate column {repeated[0]!r} in the header: every column name must be unique")


def _check_fields(path: Path, expected: int) -> tuple[np.ndarray, np.ndarray]:
    """Refuse a row with more or fewer fields than the header; return the field count and start of every record."""
    fields, starts = _record_fields(path)
    bad = np.flatnonzero(fields[1:] != expected)
    if len(bad):
        row = int(bad[0]) + 1
        count = int(fields[row])
        raise TableError(
            f"{path}: data row {row} (line {_line_of(path, int(starts[row]))}) has "
            f"{count} field{'' if count == 1 else 's'}, the header has {expected}: the row does not "
            "line up with the columns"
        )
    return fields, starts


def _record_fields(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Field count and starting byte of every record (header first, blank lines skipped), counted on the bytes.

    pandas cannot tell a row that does not line up: its C parser pads a short row with empty fields and,
    reading only some columns, drops a long row's extra fields. Quoting follows RFC 4180: a quote opens a
    field, closes it or is doubled inside it; a quote anywhere else (`5" screen`) leaves the field
    boundaries to each reader's interpretation, so it is refused. numpy on cache-sized chunks costs about
    half of pandas' read of the same file; Python's csv module would cost more than twice the read.
    """
    # Each chunk's counts and starts, and an empty pair (a file without records still gives two arrays).
    fields, starts = zip(*_counted_records(path), (np.zeros(0, dtype=np.int64),) * 2)
    return np.concatenate(fields), np.concatenate(starts)


def _counted_records(path: Path) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """_record_fields a chunk of the file at a time: the field counts and starts of the records ending in it."""
    inside = 0  # 1 while in a quoted field
    commas = 0  # separators seen so far in the record in progress
    # Two buffers read into in turn (the chunk and the one after it), and the chunk's byte masks and separator
    # ranks computed into arrays made once: fresh megabyte arrays would each cost the kernel a round of page
    # faults (half a million of them in a 2 GB file, a second of system time).
    buffers = (bytearray(COUNT_CHUNK_BYTES), bytearray(COUNT_CHUNK_BYTES))
    masks = np.empty((2, COUNT_CHUNK_BYTES), dtype=bool)
    running = np.zeros(COUNT_CHUNK_BYTES // 64 + 2, dtype=np.int64)
    with open(path, "rb") as handle:
        offset = 3 if handle.read(3) == _BOM else 0
        handle.seek(offset)
        last_end, before = offset - 1, _LF  # the last line end outside quotes; the byte before the chunk
        size, turn = handle.readinto(buffers[0]), 0
        while size:
            following = handle.readinto(buffers[1 - turn])
            data = np.frombuffer(buffers[turn], dtype=np.uint8, count=size)
            # Quotes and line ends are found together (one scan of the chunk), then told apart.
            marked, other = masks[0, :size], masks[1, :size]
            np.equal(data, _QUOTE, out=marked)
            marks = np.flatnonzero(np.bitwise_or(marked, np.equal(data, _LF, out=other), out=marked))
            is_quote = data[marks] == _QUOTE
            quotes, ends = marks[is_quote], marks[~is_quote]
            _check_quotes(path, data, quotes, inside, before, buffers[1 - turn][0] if following else _LF, offset)
            if buffers[turn].find(b"\r", 0, size) >= 0:
                ends = np.union1d(ends, np.flatnonzero(np.equal(data, _CR, out=other)))
            separators_before, separators = _ranker(np.equal(data, _COMMA, out=other), running)
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
        raise TableError(
            f"{path}: a quoted field in the record starting on line {_line_of(path, last_end + 1)} is never closed"
        )
    if offset - last_end > 1:  # the last record has no line end
        yield np.array([commas + 1]), np.array([last_end + 1])


def _ranker(marked: np.ndarray, running: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """For a chunk's marked bytes (its separators): a function giving how many are marked before each of some
    positions, and how many are marked in all. `running`: an array of zeros of at least len(marked) / 64 + 2,
    written into.

    The marks are packed into 64-bit words with a running count of the words before, so a position's rank is
    one lookup and one popcount: no array of the marked positions (a million separators a megabyte, whose
    finding and searching had been half of the count).
    """
    words = np.packbits(marked, bitorder="little")
    words = np.concatenate((words, np.zeros(-len(words) % 8, dtype=np.uint8))).view(np.uint64)
    running = running[: len(words) + 1]
    np.cumsum(np.bitwise_count(words), dtype=np.int64, out=running[1:])

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
        raise TableError(
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
