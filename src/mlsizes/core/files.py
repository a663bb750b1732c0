"""Writing files: atomically, so a reader never sees half of one, and in the stored formats every stage shares.

Stored numbers keep 6 significant digits: enough for the science, none of the float noise that spoils diffs.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from mlsizes.tables import parallel
from mlsizes.tables.parallel import Beside

SIGNIFICANT_DIGITS = 6


def _default_mode() -> int:
    """The mode an ordinary new file gets (0o666 less the umask); mkstemp's own 0o600 would hide data files."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, write) -> None:
    """Call write(handle) on a temporary binary file in the same folder, fsync, then rename over the target, so
    a reader sees the old file or the whole new one, and a large file is streamed, never held in memory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _default_mode())
        with os.fdopen(fd, "wb") as handle:
            write(_WritingBack(handle))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _WritingBack:
    """A file that asks the kernel to start writing its data to disk every WRITEBACK_BYTES written, so the fsync
    at the end waits for the last stretch instead of the whole file (a 700 MB table: 0.1 s instead of 1.3 s).
    Where the kernel offers no such call (sync_file_range is Linux's), the fsync does it all."""

    def __init__(self, handle):
        self._handle, self._unsent = handle, 0

    def write(self, data) -> int:
        written = self._handle.write(data)
        self._unsent += len(data)
        if self._unsent >= WRITEBACK_BYTES:
            self._handle.flush()
            _start_writeback(self._handle.fileno())
            self._unsent = 0
        return written

    def flush(self) -> None:
        self._handle.flush()

    def fileno(self) -> int:
        return self._handle.fileno()


WRITEBACK_BYTES = 32 << 20


@functools.cache
def _sync_file_range():
    import ctypes

    call = getattr(ctypes.CDLL(None, use_errno=True), "sync_file_range", None)
    if call is not None:
        call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return call


def _start_writeback(fd: int, offset: int = 0, size: int = 0) -> None:
    """Start writing a file's dirty pages to disk without waiting (SYNC_FILE_RANGE_WRITE; size 0: to the end)."""
    call = _sync_file_range()
    if call is not None:
        call(fd, offset, size, 2)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """atomic_write of bytes."""
    atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    """atomic_write_bytes of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def round_significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    """A float as stored: `digits` significant digits; NaN and infinities become None."""
    return float(f"{value:.{digits}g}") if math.isfinite(value) else None


def rounded(value, digits: int = SIGNIFICANT_DIGITS):
    """Round every float in a JSON-like structure to significant digits; NaN/inf become None."""
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item, digits) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return round_significant(float(value), digits)
    return value


def to_json(data: dict) -> str:
    """A metrics file's text: rounded numbers, indented, a final newline (stable for git and DVC diffs)."""
    return json.dumps(rounded(data), indent=2) + "\n"


def atomic_write_csv(path: Path, frame, rule=None) -> None:
    """A table written as CSV (no index, "\\n" line ends, UTF-8) straight into the file, atomically, its text
    cells passed through `rule` (a columns.CellRule: curate's spreadsheet escape) when one is given.

    A table of parallel.MIN_ROWS or more is written by two processes when a second one can be forked: this one
    renders the first rows (FIRST_PART_SHARE), tells the other how many bytes they take, and writes them while
    the other writes the last rows from there on, into the same file. The bytes are the same either way.
    """
    path = Path(path)
    if len(frame) < parallel.MIN_ROWS or not parallel.can_fork():
        atomic_write(path, lambda handle: write_csv(handle, frame, rule=rule))
        return
    middle = round(len(frame) * FIRST_PART_SHARE)

    def write_parts(handle) -> None:
        hear, tell = os.pipe()
        second = Beside(lambda: _write_second_part(handle.fileno(), (hear, tell), frame.iloc[middle:], rule))
        os.close(hear)
        try:
            with open(tell, "wb", buffering=0) as telling:
                first = _Rendered(frame.iloc[:middle], rule=rule)
                telling.write(first.size.to_bytes(8, "little"))
            first.write(handle)
            handle.flush()
            if (written := os.lseek(handle.fileno(), 0, os.SEEK_CUR)) != first.size:  # the other part would not fit
                raise RuntimeError(f"{path}: the first rows took {written} bytes, not the {first.size} computed")
        except BaseException:
            second.reap()
            raise
        second.result()

    atomic_write(path, write_parts)


def _write_second_part(fd: int, pipe: tuple[int, int], frame, rule) -> None:
    """Render the last rows, hear where they start in the file (the size of the rows before them, once the
    other process has rendered those) and write them there."""
    hear, tell = pipe
    os.close(tell)  # else, should the other process fail before telling, this one would wait on itself forever
    rendered = _Rendered(frame, header=False, rule=rule)
    with open(hear, "rb", buffering=0) as heard:
        told = heard.read(8)
    if len(told) != 8:
        raise RuntimeError("the process writing the first rows stopped before saying where they end")
    rendered.write(_WritingAt(fd, int.from_bytes(told, "little")))


class _WritingAt:
    """Writes to a file from a given offset on (pwrite: the file's own position, which the other process moves,
    is left alone), asking the kernel to start writing each WRITEBACK_BYTES of them to disk as _WritingBack does."""

    def __init__(self, fd: int, offset: int):
        self._fd, self._offset, self._unsent = fd, offset, 0

    def write(self, data) -> int:
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, self._offset)
            self._offset, self._unsent, view = self._offset + written, self._unsent + written, view[written:]
        if self._unsent >= WRITEBACK_BYTES:
            _start_writeback(self._fd, self._offset - self._unsent, self._unsent)
            self._unsent = 0
        return len(data)


# This process renders and writes a little more than half the rows: the forked one takes about a fifth longer
# for the same rows (copy-on-write faults on every page of the parent's memory it touches), so both end together.
FIRST_PART_SHARE = 0.55


def _csv_module_cell(cell) -> str:
    """One cell rendered by Python's csv module itself (as pandas' to_csv has it do: a float by its repr)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([cell, ""])
    return buffer.getvalue()[:-2]


# A text cell holding one of the characters that make the csv module quote it, asked of the module itself:
# whether a lone "\r" does (with "\n" line ends) differs between Python versions.
_NEEDS_QUOTES = re.compile("[" + re.escape("".join(c for c in ',"\n\r' if _csv_module_cell(c) != c)) + "]")


def write_csv(handle, frame, header: bool = True, rule=None) -> None:
    """Write a table exactly as `frame.to_csv(handle, index=False, lineterminator="\\n", header=header)` does
    (with `rule`, a columns.CellRule, applied to every text cell first), several times faster: every column's
    cells are rendered (formatted, quoted) a column at a time, and rows are joined a chunk at a time, so a
    million rows are never one string in memory. tests/test_files.py holds it to pandas' bytes."""
    _Rendered(frame, header, rule).write(handle)


class _Rendered:
    """A table's CSV text before it is written: the header line, every column's cells, and its size in bytes."""

    def __init__(self, frame, header: bool = True, rule=None):
        alone = frame.shape[1] == 1
        rendered = [_csv_cells(frame.iloc[:, position], alone, rule) for position in range(frame.shape[1])]
        self._columns = [cells for cells, _ in rendered]
        labels = ",".join(_csv_module_cell(str(label)) for label in frame.columns) + "\n"
        self._header = labels.encode("utf-8") if header else b""
        self._rows = len(frame)
        # Every row: its cells, a separator between each two and a line end.
        self.size = len(self._header) + sum(size for _, size in rendered) + self._rows * frame.shape[1]

    def write(self, handle) -> None:
        handle.write(self._header)
        for start in range(0, self._rows, CSV_CHUNK_ROWS):
            rows = slice(start, start + CSV_CHUNK_ROWS)
            # Rows are encoded one by one: a chunk joined as text first would be widened to 2 or 4 bytes a
            # character wherever one name in it is not ASCII, and encoding it back costs twice the whole join.
            cells = (column[rows].tolist() for column in self._columns)
            handle.write(b"\n".join(map(str.encode, map(",".join, zip(*cells)))))
            handle.write(b"\n")


CSV_CHUNK_ROWS = 20_000


def _csv_cells(values, alone: bool, rule=None) -> tuple[np.ndarray, int]:
    """A column's cells as pandas' to_csv writes them, text passed through `rule` first (when given), and
    their size in UTF-8 bytes.

    A float is numpy's repr of it (0.0 and -0.0 told apart), an integer or boolean its str, a missing cell
    empty; text is quoted (inner quotes doubled) only when it holds a character the csv module quotes. Other
    objects are rendered one by one by the csv module itself. In a table of one column an empty cell is written
    "" (else the row would be a blank line). A column that repeats its values (domains, notes copied across
    rows) is rendered once per distinct value; a mostly unique one (names, ids) cell by cell, where finding the
    distinct values would cost more than it saves.
    """
    import pandas as pd

    from mlsizes.tables.columns import repetitive, text_search

    dtype = values.dtype
    text = pd.api.types.is_string_dtype(dtype) and pd.api.types.infer_dtype(values) in ("string", "empty")
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        numbers = values.to_numpy()
        codes, bits = pd.factorize(numbers.view(f"u{numbers.itemsize}"))
        distinct = bits.view(dtype)
        texts = np.where(np.isnan(distinct), "", distinct.astype(str)).tolist()
    elif (dtype.kind in "iub" or text) and not repetitive(values):
        if text:
            cells = values.to_numpy(dtype=object, na_value="", copy=True)
            found, size = text_search(cells, [_NEEDS_QUOTES] + ([rule.pattern] if rule is not None else []))
            ruled = found[1] if rule is not None else np.zeros(0, dtype=np.int64)
            changed = np.union1d(found[0], ruled)  # rewritten cells are checked for quoting again
            size -= sum(len(cell.encode("utf-8")) for cell in cells[changed])
            cells[ruled] = [rule(cell) for cell in cells[ruled]]  # rule() checks again: see cells_matching
            cells[changed] = [_quoted(cell) if _NEEDS_QUOTES.search(cell) else cell for cell in cells[changed]]
            size += sum(len(cell.encode("utf-8")) for cell in cells[changed])
        else:
            cells = np.array([str(value) for value in values.tolist()], dtype=object)
            cells[values.isna().to_numpy()] = ""
            size = len("".join(cells.tolist()))  # digits, signs and "True"/"False": ASCII
        if alone:
            empty = cells == ""
            cells[empty] = '""'
            size += 2 * int(empty.sum())
        return cells, size
    elif dtype.kind in "iub" or text:  # integers and booleans (numpy's and pandas' Int64, boolean), text
        codes, distinct = pd.factorize(values)
        texts = [str(value) for value in distinct.tolist()]
        if text:
            texts = [rule(cell) for cell in texts] if rule is not None else texts
            texts = [_quoted(cell) if _NEEDS_QUOTES.search(cell) else cell for cell in texts]
    elif dtype.kind == "O":  # objects of any type, and categories
        missing = values.isna().tolist()
        cells = [rule(v) if rule is not None and isinstance(v, str) else v for v in values.tolist()]
        texts, codes = [_csv_module_cell(v) for v in cells], np.arange(len(values))
        texts = ["" if gap else text for gap, text in zip(missing, texts)]
    else:
        raise TypeError(f"write_csv: column {values.name!r} is {dtype}, which pandas formats in its own way")
    rendered = np.array([*texts, ""], dtype=object)  # the last one for missing values (code -1)
    if alone:
        rendered[rendered == ""] = '""'
    sizes = np.fromiter((len(text.encode("utf-8")) for text in rendered), dtype=np.int64, count=len(rendered))
    return rendered[codes], int(sizes[codes].sum())


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


def frame_to_csv(frame) -> str:
    """A plot-data table's text, numbers at the stored precision."""
    return frame.to_csv(index=False, lineterminator="\n", float_format=f"%.{SIGNIFICANT_DIGITS}g")
