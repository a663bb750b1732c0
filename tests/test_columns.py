"""columns.text_search and cells_containing find exactly the cells a per-cell search finds."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from mlsizes.tables import columns
from mlsizes.tables.columns import cells_containing, text_search

PATTERNS = [
    re.compile('[,"\n\r]'),  # what the CSV writer quotes
    re.compile("\x00[=+@'-]"),  # how a cell starts (spreadsheet formulas)
    re.compile("[^\\S ]|  |\x00 | (?=\x00|\\Z)"),  # whitespace ingest cleans (at the start, the end, in runs)
]


def _brute_force(values: pd.Series, pattern: re.Pattern) -> list[int]:
    texts = ["\x00" + (v if isinstance(v, str) else "") for v in values.tolist()]
    return [i for i, text in enumerate(texts) if pattern.search(text)]


def _random_cells(rng, n: int, distinct: int | None) -> list:
    alphabet = list("ab ,\"\n\r\t=+-@'é☃") + ["  ", "\u2028", "\x00"]
    pool = ["".join(rng.choice(alphabet, rng.integers(0, 6))) for _ in range(distinct or n)] + [None]
    return [pool[i] for i in rng.integers(0, len(pool), n)]


def test_text_search_is_a_search_of_each_cell_for_each_pattern(monkeypatch):
    monkeypatch.setattr(columns, "CHUNK_ROWS", 7)  # many chunks, cells matching at their edges, ASCII or not
    rng = np.random.default_rng(11)
    cells = [cell or "" for cell in _random_cells(rng, 500, None)]
    cells[:40] = ["plain"] * 40
    found = text_search(np.array(cells, dtype=object), PATTERNS)
    values = pd.Series(cells, dtype="str")
    for pattern, positions in zip(PATTERNS, found):
        expected = _brute_force(values, pattern)
        # A NUL inside a cell may add a position (the caller checks the cells found), never hide one.
        extra = set(positions.tolist()) - set(expected)
        assert set(expected) <= set(positions.tolist()) and all("\x00" in cells[i] for i in extra)
        if "\x00" not in pattern.pattern:
            assert positions.tolist() == expected
        assert expected, pattern


def test_text_search_finds_a_cell_once_however_often_it_matches():
    cells = np.array(["a,b,c,d", "plain", ",,,,", "", "x"], dtype=object)
    assert text_search(cells, [PATTERNS[0]])[0].tolist() == [0, 2]
    assert text_search(cells[:0], [PATTERNS[0]])[0].tolist() == []


@pytest.mark.parametrize("needles", [("  ", "\x00 ", " \x00"), (",", '"'), ("ab",)])
@pytest.mark.parametrize("dtype", ["str", "object"])
def test_cells_containing_is_a_search_of_each_cell(monkeypatch, needles, dtype):
    monkeypatch.setattr(columns, "CHUNK_ROWS", 7)
    values = pd.Series(_random_cells(np.random.default_rng(9), 500, None), dtype=dtype)
    texts = ["\x00" + (v if isinstance(v, str) else "") + "\x00" for v in values.tolist()]
    expected = [i for i, text in enumerate(texts) if any(needle in text for needle in needles)]
    found = cells_containing(values, needles).tolist()
    # A NUL inside a cell may add a position ("\x00 " inside it), never hide one.
    assert set(expected) <= set(found) and all("\x00" in values[i] for i in set(found) - set(expected))
    assert expected, "the random cells hold every needle somewhere"
