"""Atomic writes and the stored formats every stage shares."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from mlsizes.files import atomic_write_bytes, atomic_write_text, frame_to_csv, round_significant, rounded, to_json


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
