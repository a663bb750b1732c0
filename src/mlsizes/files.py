"""Writing files: atomically, so a reader never sees half of one, and in the stored formats every stage shares.

Stored numbers keep 6 significant digits: enough for the science, none of the float noise that spoils diffs.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np

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
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def atomic_write_csv(path: Path, frame) -> None:
    """A table written as CSV (no index, "\\n" line ends, UTF-8) straight into the file, atomically."""
    atomic_write(path, lambda handle: write_csv(handle, frame))


CSV_CHUNK_ROWS = 20_000


def _csv_module_cell(cell) -> str:
    """One cell rendered by Python's csv module itself (as pandas' to_csv has it do: a float by its repr)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([cell, ""])
    return buffer.getvalue()[:-2]


# A text cell holding one of the characters that make the csv module quote it, asked of the module itself:
# whether a lone "\r" does (with "\n" line ends) differs between Python versions.
_NEEDS_QUOTES = re.compile("[" + re.escape("".join(c for c in ',"\n\r' if _csv_module_cell(c) != c)) + "]")


def write_csv(handle, frame) -> None:
    """Write a table exactly as `frame.to_csv(handle, index=False, lineterminator="\\n")` does, several times
    faster: every column's cells are rendered (formatted, quoted) once per distinct value, and rows are joined
    a chunk at a time, so a million rows are never one string in memory. tests/test_files.py holds it to
    pandas' bytes."""
    columns = [_csv_cells(frame.iloc[:, position], alone=frame.shape[1] == 1) for position in range(frame.shape[1])]
    handle.write((",".join(_csv_module_cell(str(label)) for label in frame.columns) + "\n").encode("utf-8"))
    for start in range(0, len(frame), CSV_CHUNK_ROWS):
        rows = slice(start, start + CSV_CHUNK_ROWS)
        text = "\n".join(map(",".join, zip(*(cells[rows].tolist() for cells in columns))))
        handle.write((text + "\n").encode("utf-8"))


def _csv_cells(values, alone: bool) -> np.ndarray:
    """A column's cells as pandas' to_csv writes them, rendered once per distinct value.

    A float is numpy's repr of it (0.0 and -0.0 told apart), an integer or boolean its str, a missing cell
    empty; text is quoted (inner quotes doubled) only when it holds a character the csv module quotes. Other
    objects are rendered one by one by the csv module itself. In a table of one column an empty cell is written
    "" (else the row would be a blank line).
    """
    import pandas as pd

    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        numbers = values.to_numpy()
        codes, bits = pd.factorize(numbers.view(f"u{numbers.itemsize}"))
        distinct = bits.view(dtype)
        texts = np.where(np.isnan(distinct), "", distinct.astype(str)).tolist()
    elif dtype.kind in "iub":  # numpy's and pandas' (Int64, boolean) integers and booleans
        codes, distinct = pd.factorize(values)
        texts = [str(value) for value in distinct.tolist()]
    elif pd.api.types.is_string_dtype(dtype) and pd.api.types.infer_dtype(values) in ("string", "empty"):
        texts = values.dropna().tolist()
        chunks = range(0, len(texts), CSV_CHUNK_ROWS)
        if alone or any(_NEEDS_QUOTES.search("".join(texts[start : start + CSV_CHUNK_ROWS])) for start in chunks):
            codes, distinct = pd.factorize(values)
        else:  # nothing to quote (ids, dates): no need to find the distinct values
            return values.to_numpy(dtype=object, na_value="")
        distinct = distinct.tolist()
        texts = [
            '"' + text.replace('"', '""') + '"' if quote else text
            for text, quote in zip(distinct, map(_NEEDS_QUOTES.search, distinct))
        ]
    elif dtype.kind == "O":  # objects of any type, and categories
        missing = values.isna().tolist()
        texts, codes = [_csv_module_cell(v) for v in values.tolist()], np.arange(len(values))
        texts = ["" if gap else text for gap, text in zip(missing, texts)]
    else:
        raise TypeError(f"write_csv: column {values.name!r} is {dtype}, which pandas formats in its own way")
    rendered = np.array([*texts, ""], dtype=object)  # the last one for missing values (code -1)
    if alone:
        rendered[rendered == ""] = '""'
    return rendered[codes]


def frame_to_csv(frame) -> str:
    """A plot-data table's text, numbers at the stored precision."""
    return frame.to_csv(index=False, lineterminator="\n", float_format=f"%.{SIGNIFICANT_DIGITS}g")
