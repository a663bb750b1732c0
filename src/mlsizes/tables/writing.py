"""Writing a table as CSV: the bytes of pandas' `to_csv(index=False, lineterminator="\\n")`, several times faster,
streamed into the file a chunk of rows at a time (a million rows are never one string in memory), atomically.

Every column's cells are rendered (formatted, quoted) a column at a time: a column that repeats its values
(domains, notes copied across rows) once per distinct value, a mostly unique one (names, ids) by finding the few
cells that need quoting or a rule's rewrite without a Python call per cell (columns.py). tests/test_files.py holds
the writer to pandas' bytes.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mlsizes.core.files import atomic_write
from mlsizes.tables.columns import CellRule, repetitive, text_search

CHUNK_ROWS = 20_000


def atomic_write_csv(path: Path, frame: pd.DataFrame, rule: CellRule | None = None) -> None:
    """`frame` written as CSV straight into `path`, atomically, its text cells passed through `rule` (curate's
    spreadsheet escape) when one is given."""
    atomic_write(path, lambda handle: write_csv(handle, frame, rule=rule))


def write_csv(handle, frame: pd.DataFrame, header: bool = True, rule: CellRule | None = None) -> None:
    """Write a table exactly as `frame.to_csv(handle, index=False, lineterminator="\\n", header=header)` does,
    with `rule` applied to every text cell first."""
    alone = frame.shape[1] == 1
    columns = _joined_runs([_csv_cells(frame.iloc[:, position], alone, rule) for position in range(frame.shape[1])])
    if header:
        handle.write((",".join(_csv_module_cell(str(label)) for label in frame.columns) + "\n").encode("utf-8"))
    for start in range(0, len(frame), CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        # Rows are encoded one by one: a chunk joined as text first would be widened to 2 or 4 bytes a character
        # wherever one name in it is not ASCII, and encoding it back costs twice the whole join.
        cells = (column[rows].tolist() for column in columns)
        handle.write(b"\n".join([*map(str.encode, map(",".join, zip(*cells))), b""]))


def _joined_runs(columns: list[tuple[np.ndarray, np.ndarray | None]]) -> list[np.ndarray]:
    """Each row's cells from the rendered columns (cells, or distinct cells and each row's code into them), a run
    of neighbouring coded columns joined into one: each combination of their values that occurs is joined once
    (upstream rows repeat whole, so a million rows hold a few thousand), and a row's join has a few parts left
    instead of one a column."""
    joined, run = [], []
    for cells, codes in [*columns, (None, None)]:
        if codes is not None:
            run.append((cells, codes))
            continue
        if run:
            combined = run[0][1]
            for distinct, codes_after in run[1:]:
                combined = pd.factorize(combined * len(distinct) + codes_after)[0]
            firsts = np.full(combined.max() + 1 if len(combined) else 0, len(combined))
            np.minimum.at(firsts, combined, np.arange(len(combined)))  # a row holding each combination
            parts = zip(*(distinct[codes[firsts]].tolist() for distinct, codes in run))
            joined.append(np.array([",".join(part) for part in parts], dtype=object)[combined])
            run = []
        if cells is not None:
            joined.append(cells)
    return joined


def _csv_module_cell(cell) -> str:
    """One cell rendered by Python's csv module itself (as pandas' to_csv has it do: a float by its repr)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([cell, ""])
    return buffer.getvalue()[:-2]


# A text cell holding one of the characters that make the csv module quote it, asked of the module itself:
# whether a lone "\r" does (with "\n" line ends) differs between Python versions.
_NEEDS_QUOTES = re.compile("[" + re.escape("".join(c for c in ',"\n\r' if _csv_module_cell(c) != c)) + "]")


def _csv_cells(values: pd.Series, alone: bool, rule: CellRule | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """A column's cells as pandas' to_csv writes them, text passed through `rule` first (when given): each row's
    cell and None, or the distinct cells and each row's code into them.

    A float is numpy's repr of it (0.0 and -0.0 told apart), an integer or boolean its str, a missing cell
    empty; text is quoted (inner quotes doubled) only when it holds a character the csv module quotes. Other
    objects are rendered one by one by the csv module itself. In a table of one column an empty cell is written
    "" (else the row would be a blank line).
    """
    dtype = values.dtype
    text = pd.api.types.is_string_dtype(dtype) and pd.api.types.infer_dtype(values) in ("string", "empty")
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        numbers = values.to_numpy()
        codes, bits = pd.factorize(numbers.view(f"u{numbers.itemsize}"))
        distinct = bits.view(dtype)
        texts = np.where(np.isnan(distinct), "", distinct.astype(str)).tolist()
    elif (dtype.kind in "iub" or text) and not repetitive(values):
        if text:
            # A copy of our own: pandas' to_numpy(copy=True) can hand back the column's own array (a frame that
            # was pickled), and the cells are quoted in place below.
            cells = np.array(values.to_numpy(dtype=object, na_value=""), dtype=object)
            found = text_search(cells, [_NEEDS_QUOTES] + ([rule.pattern] if rule is not None else []))
            ruled = found[1] if rule is not None else np.zeros(0, dtype=np.int64)
            changed = np.union1d(found[0], ruled)  # rewritten cells are checked for quoting again
            cells[ruled] = [rule(cell) for cell in cells[ruled]]  # rule() checks again: see text_search
            cells[changed] = [_quoted(cell) if _NEEDS_QUOTES.search(cell) else cell for cell in cells[changed]]
        else:
            cells = np.array([str(value) for value in values.tolist()], dtype=object)
            cells[values.isna().to_numpy()] = ""
        if alone:
            cells[cells == ""] = '""'
        return cells, None
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
    rendered = np.array([*texts, ""], dtype=object)  # the last one for missing values
    if alone:
        rendered[rendered == ""] = '""'
    return rendered, np.where(codes < 0, len(texts), codes)


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'
