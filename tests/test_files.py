"""Atomic writes and the stored formats every stage shares."""

from __future__ import annotations

import io
import os
import pickle
import re
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from mlsizes.core import files
from mlsizes.core.files import (
    atomic_write_bytes,
    atomic_write_text,
    frame_to_csv,
    round_significant,
    rounded,
    to_json,
)
from mlsizes.tables import columns, writing
from mlsizes.tables.columns import CellRule
from mlsizes.tables.writing import atomic_write_csv


def test_rounding_removes_float_noise():
    assert rounded({"a": [0.1 + 0.2, float("nan")], "b": np.float64(1 / 3), "c": True}) == {
        "a": [0.3, None],
        "b": 0.333333,
        "c": True,
    }


def test_stored_json_and_csv_keep_six_significant_digits():
    assert to_json({"x": 1 / 3}) == '{\n  "x": 0.333333\n}\n'
    assert frame_to_csv(pd.DataFrame({"x": [2 / 3]})) == "x\n0.666667\n"
    assert round_significant(float("inf")) is None and round_significant(123456789.0) == 123457000.0


def test_an_atomic_write_leaves_the_target_whole_and_no_temporary_file(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write_text(target, "first\n")
    atomic_write_text(target, "second\n")
    assert target.read_text() == "second\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old\n")
    with pytest.raises(TypeError):
        atomic_write_bytes(target, object())  # fails mid-write, inside the temporary file
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_write_tree_rewrites_what_changed_and_leaves_what_did_not(tmp_path):
    """A rebuilt site leaves a page that already holds its bytes as it was (the same file, not a new one) and
    replaces the others atomically: a changed page, one whose mode is not a new file's, a link where a page goes."""
    pages = {"same.html": b"same", "changed.html": b"old", "mode.html": b"mode", "d/linked.html": b"linked"}
    files.write_tree(tmp_path, pages)
    inodes = {name: (tmp_path / name).stat().st_ino for name in pages}
    (tmp_path / "mode.html").chmod(0o600)
    elsewhere = tmp_path / "elsewhere.html"
    elsewhere.write_bytes(b"linked")
    (tmp_path / "d" / "linked.html").unlink()
    (tmp_path / "d" / "linked.html").symlink_to(elsewhere)
    written = files.write_tree(tmp_path, {**pages, "changed.html": b"new"})
    assert written == [tmp_path / name for name in pages]
    assert (tmp_path / "same.html").stat().st_ino == inodes["same.html"]
    assert (tmp_path / "changed.html").read_bytes() == b"new"
    assert (tmp_path / "changed.html").stat().st_ino != inodes["changed.html"]
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "mode.html").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (
        not (tmp_path / "d" / "linked.html").is_symlink() and (tmp_path / "d" / "linked.html").read_bytes() == b"linked"
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(["d", "elsewhere.html", *map(os.path.basename, pages)])


def _pandas_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _written(tmp_path, frame: pd.DataFrame) -> bytes:
    atomic_write_csv(tmp_path / "t.csv", frame)
    return (tmp_path / "t.csv").read_bytes()


def test_write_csv_writes_pandas_bytes_for_awkward_cells(tmp_path, monkeypatch):
    monkeypatch.setattr(writing, "CHUNK_ROWS", 3)  # several chunks, some with quoting and some without
    frame = pd.DataFrame(
        {
            "text": pd.Series(
                ["a,b", 'say "hi"', "two\nlines", "cr\ronly", "", None, "plain", "ünï ☃", " pad "], dtype="str"
            ),
            "mixed": ["x", 1.5, None, 1, 1.0, True, float("nan"), 'q,"', 0.1 + 0.2],
            "float": [0.1, 1e16, 0.0, float("nan"), 1e-5, 2.5e-7, 0.1 + 0.2, -0.0, 1.75e11],
            "int": np.arange(9, dtype="int64") * 10**12,
            "Int64": pd.array([1, None, 175000000000, 3, 3, None, 0, -5, 2**53 + 1], dtype="Int64"),
            "bool": [True, False] * 4 + [True],
            'we,ird "label"': list("abcdefghi"),
        }
    )
    assert _written(tmp_path, frame) == _pandas_csv(frame)
    assert _written(tmp_path, frame.iloc[:0]) == _pandas_csv(frame.iloc[:0])


def test_write_csv_writes_pandas_bytes_for_random_text_and_one_column(tmp_path, monkeypatch):
    # Small chunks: columns are judged repetitive or unique on 7 rows, and rows are joined 7 at a time.
    monkeypatch.setattr(writing, "CHUNK_ROWS", 7)
    monkeypatch.setattr(columns, "CHUNK_ROWS", 7)
    rng = np.random.default_rng(13)
    alphabet = np.array(list("ab ,\"\n\r\t;'=é€\u2028"))
    cells = ["".join(rng.choice(alphabet, rng.integers(0, 6))) for _ in range(400)]
    repeated = [cells[i] for i in rng.integers(0, 3, 400)]
    numbers = pd.array(rng.integers(0, 3, 400), dtype="Int64")
    frame = pd.DataFrame(
        {"a": pd.Series(cells, dtype="str"), "b": cells[::-1], "c": pd.Series(repeated, dtype="str"), "d": numbers}
    )
    assert [columns.repetitive(frame[c]) for c in "abcd"] == [False, False, True, True]
    assert _written(tmp_path, frame) == _pandas_csv(frame)
    for column in (pd.Series(cells, dtype="str"), pd.Series(repeated, dtype="str"), pd.Series([1.0, None, 2.5])):
        one = pd.DataFrame({"only": column})
        assert _written(tmp_path, one) == _pandas_csv(one)


def test_write_csv_refuses_columns_pandas_formats_its_own_way(tmp_path):
    with pytest.raises(TypeError, match="when"):
        atomic_write_csv(tmp_path / "t.csv", pd.DataFrame({"when": pd.to_datetime(["2020-01-01"])}))
    assert not (tmp_path / "t.csv").exists()


def _awkward_table(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    alphabet = np.array(list('ab ,"\n=é☃'))
    names = ["".join(rng.choice(alphabet, rng.integers(0, 6))) for _ in range(rows)]
    return pd.DataFrame(
        {
            "name": pd.Series(names, dtype="str"),
            "kind": pd.Series(rng.choice(["x", "y,z", None], rows), dtype="str"),
            "size": rng.choice([1.5, float("nan"), 1e16], rows),
            "row": np.arange(rows),
        }
    )


# A rule that rewrites some of the cells it is shown (a = and a space start a cell), as curate's escape does.
ESCAPE = CellRule(re.compile("\x00[= ]"), lambda cell: "'" + cell if cell.startswith("=") else cell)


def _ruled(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with the rule applied to each text cell, one by one: what write_csv must render."""
    text = [c for c in frame if not pd.api.types.is_numeric_dtype(frame[c])]
    return frame.assign(**{c: frame[c].map(lambda v: ESCAPE(v) if isinstance(v, str) else v) for c in text})


def test_a_rule_rewrites_the_same_cells_on_every_path(tmp_path, monkeypatch):
    monkeypatch.setattr(columns, "CHUNK_ROWS", 7)  # repeated columns once per value, unique ones cell by cell
    rng = np.random.default_rng(3)
    pool = ["=1+1", "= x", " =y", "a,=b", "plain", "", None]
    frame = pd.DataFrame(
        {
            "unique": pd.Series([f"{rng.choice(pool[:5])}{i}" for i in range(300)], dtype="str"),
            "repeated": pd.Series(rng.choice(["=1+1", " =y", None], 300), dtype="str"),
            "mixed": pd.Series(list(rng.choice(pool, 299)) + [1.5], dtype="object"),
            "number": rng.random(300),
        }
    )
    assert not columns.repetitive(frame["unique"]) and columns.repetitive(frame["repeated"])
    buffer = io.BytesIO()
    writing.write_csv(buffer, frame, rule=ESCAPE)
    assert buffer.getvalue() == _pandas_csv(_ruled(frame))
    assert b"'=1+1" in buffer.getvalue() and b"' =y" not in buffer.getvalue()


def test_write_csv_leaves_the_frame_it_writes_as_it_was():
    """Found on a frame that had been pickled (as a process pool hands one back): pandas' to_numpy(copy=True)
    gave the column's own array, and the writer quoted and escaped cells in the caller's frame."""
    names = [f"model {i}" for i in range(500)] + ["a, b", "=SUM(1)", 'say "hi"']
    frame = pickle.loads(pickle.dumps(pd.DataFrame({"name": pd.Series(names, dtype="str")})))
    buffer = io.BytesIO()
    writing.write_csv(buffer, frame, rule=ESCAPE)
    assert frame["name"].tolist() == names and b"'=SUM(1)" in buffer.getvalue()


def test_the_next_write_removes_what_a_killed_writer_left_and_git_ignores_it_meanwhile(tmp_path):
    """Measured on main: SIGKILL mid-write left `.models.csv.*.tmp` in data/curated, which blocked `release`
    and which `git add -A` would have committed. A leftover untouched for STALE_SECONDS is a killed writer's;
    a fresher one may be a live writer's and stays."""
    target = tmp_path / "models.csv"
    stale, live = tmp_path / ".models.csv.killed.tmp", tmp_path / ".models.csv.writing.tmp"
    stale.write_text("half a table")
    live.write_text("a table being written")
    long_ago = time.time() - files.STALE_SECONDS - 5
    os.utime(stale, (long_ago, long_ago))
    atomic_write_text(target, "id\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".models.csv.writing.tmp", "models.csv"]
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "data/curated/.models.csv.killed.tmp"], cwd=ROOT, capture_output=True
    )
    assert ignored.returncode == 0
