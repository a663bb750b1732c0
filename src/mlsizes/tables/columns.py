"""Finding the few cells of a text column that need attention, without a Python call per cell.

A million-row table is mostly cells that need nothing: names without a comma to quote, without a formula
character in front, without stray whitespace. Ingest, curate and the CSV writer each look for such cells; this
module finds them cheaply whatever the column: a column that repeats its values (domains, notes copied across
rows) is searched once per distinct value, a mostly unique one (names, ids) by the regex engine over the cells
joined a chunk at a time, so the scanning runs in C.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

CHUNK_ROWS = 20_000
_TO_CELL_END = "[^\\x00]*"


@dataclass(frozen=True)
class CellRule:
    """A rewrite of some text cells: a cell where `pattern` matches (searched as text_search searches) goes
    through `rewrite`, which may return it unchanged. The CSV writer applies it as it renders each column."""

    pattern: re.Pattern
    rewrite: Callable[[str], str]

    def __call__(self, text: str) -> str:
        """One cell with the rule applied."""
        return self.rewrite(text) if self.pattern.search("\x00" + text) else text


def repetitive(values: pd.Series) -> bool:
    """Whether a column repeats its values, judged on its first chunk: fewer than half of them distinct."""
    sample = values.iloc[:CHUNK_ROWS]
    return len(pd.unique(sample)) * 2 < len(sample)


def text_search(cells, patterns: list[re.Pattern]) -> list[np.ndarray]:
    """For text cells (none missing): the positions of the cells where each pattern matches NUL + the cell's text.

    The leading NUL lets a pattern ask how a cell starts (`\\x00[=+]`) or ends (` (?=\\x00|\\Z)`); a match must end
    inside the cell. A NUL within a cell's own text can only add a position, never hide one, so a caller that
    needs certainty checks the cells found (CellRule does). Each chunk of cells is joined once for all the
    patterns: reading a million strings scattered in memory is most of the cost.
    """
    # One match per cell however often a pattern matches in it: each match runs on to the end of its cell.
    whole_cells = [re.compile(f"(?:{pattern.pattern}){_TO_CELL_END}", pattern.flags) for pattern in patterns]
    found = [[] for _ in patterns]
    for start in range(0, len(cells), CHUNK_ROWS):
        chunk = cells[start : start + CHUNK_ROWS]
        joined, starts = "\x00" + "\x00".join(chunk), None
        for whole_cell, positions in zip(whole_cells, found):
            ends = [match.end() - 1 for match in whole_cell.finditer(joined)]
            if ends:
                starts = _starts(chunk) if starts is None else starts
                positions.append(start + np.searchsorted(starts, ends, side="right") - 1)
    empty = np.zeros(0, dtype=np.int64)
    return [np.unique(np.concatenate(positions)) if positions else empty for positions in found]


def cells_containing(values: pd.Series, needles: tuple[str, ...]) -> np.ndarray:
    """Positions of the cells where NUL + the cell's text + NUL holds one of the needles (plain text, found by
    str.find, which skips through text far faster than a regex that has to try each character).

    A needle may hold a NUL at either end to ask how a cell starts or ends ("\x00 ", " \x00"). Missing and
    non-text cells are "".
    """
    cells = _texts(values)
    found = []
    for start in range(0, len(cells), CHUNK_ROWS):
        chunk = cells[start : start + CHUNK_ROWS]
        joined = "\x00" + "\x00".join(chunk) + "\x00"
        hits = []
        for needle in needles:
            inside = len(needle) - len(needle.lstrip("\x00"))  # where the needle's first character of text is
            at = joined.find(needle)
            while at >= 0:
                hits.append(at + inside)
                at = joined.find(needle, at + 1)
        if hits:
            found.append(start + np.searchsorted(_starts(chunk), hits, side="right") - 1)
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def _texts(values: pd.Series):
    """A column's cells as text: missing and non-text cells are ""."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.to_numpy(dtype=object, na_value="")
    return [value if isinstance(value, str) else "" for value in values.tolist()]


def _starts(chunk) -> np.ndarray:
    """Each cell's first character in NUL + the cells joined by NUL."""
    lengths = np.fromiter(map(len, chunk), dtype=np.int64, count=len(chunk))
    return np.cumsum(lengths + 1) - lengths
