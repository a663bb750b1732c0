"""Property tests of every reader of untrusted input (issue 22, item 8): whatever arrives, a reader gives a valid
result or refuses with the project's own error in one line, never any other exception.

The readers: a snapshot CSV (records/ingest.py's load over tables/reading.py, then its parsing into typed rows),
the value parsers (records/parse.py), the untrusted YAML reader (core/untrusted.py) and the contribution
files (records/contribution_files.py, read from raw bytes). Inputs are small and the examples fixed
(derandomize), so the file runs in seconds and the same way in CI.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import HEADER_2026
from mlsizes.core import untrusted
from mlsizes.records import contribution_files, ingest
from mlsizes.records.parse import PartialDate, parse_date, parse_number, slugify, slugify_all
from mlsizes.records.snapshots import SnapshotError

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# A row of HEADER_2026 that curates.
GOOD_ROW = ["TestNet", "Lab", "2021-05-01", "Language", "1.5e9", "1e21", "Confident", "https://arxiv.org/abs/1", "SOTA"]


def one_line(message: str) -> bool:
    return bool(message) and "\n" not in message and "\r" not in message


# ---- snapshots: bytes -> ingest.load -> ingest.process

# Characters that break CSVs and parsers: separators, quotes, line ends, a BOM, NUL, look-alike digits, a formula.
NASTY = ",;\"'\n\r\t \ufeff=+-@eE.0123456789BMTkn/\u0661\uff12\u2028é"
CELL = st.one_of(
    st.text(alphabet=NASTY, max_size=8),
    st.sampled_from(["GPT-3", "175B", "1.75e11", "2020-05-28", "Language", "OpenAI", "", "N/A", "1e400", "05/2020"]),
)


@st.composite
def snapshot_bytes(draw) -> bytes:
    """A snapshot's bytes: the real header (or a damaged one) and rows of nasty cells, or bytes at random."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=300))
    header = list(HEADER_2026)
    if draw(st.integers(0, 3)) == 0:
        header = draw(st.permutations(header))[: draw(st.integers(1, len(header)))]
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.integers(0, 4)) == 0:  # a row that may not line up
            rows.append(draw(st.lists(CELL, min_size=1, max_size=len(header) + 1)))
        else:  # a good row with some cells replaced
            row = GOOD_ROW[: len(header)]
            for index in draw(st.lists(st.integers(0, len(row) - 1), max_size=3)):
                row[index] = draw(CELL)
            rows.append(row)
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if draw(st.integers(0, 3)):  # quoted as the csv module quotes
        import csv
        import io

        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=ending).writerows([header, *rows])
        text = buffer.getvalue()
    else:  # cells pasted between commas
        text = ending.join(",".join(row) for row in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    if draw(st.integers(0, 9)) == 0:
        text = text.replace(",", ",\x00", 1)  # a NUL byte somewhere
    return text.encode(encoding, errors="replace")


@FUZZ
@given(data=snapshot_bytes())
def test_a_snapshot_of_any_bytes_is_read_or_refused_in_one_line_naming_it(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "epoch_fuzz_2026-01-01.csv"
        path.write_bytes(data)
        try:
            snapshot = ingest.load(path)
            typed = ingest.process(snapshot)
        except SnapshotError as exc:
            assert one_line(str(exc)) and str(exc).startswith(str(path)), str(exc)
            return
    assert len(typed) == len(snapshot.table)
    assert all(isinstance(cell, str) for column in snapshot.table for cell in snapshot.table[column])
    rejected = typed["reject_code"].notna()
    sizes = typed.loc[~rejected, "parameters"].dropna()
    assert all(math.isfinite(size) for size in sizes)


# ---- the value parsers


@FUZZ
@given(
    value=st.one_of(
        st.text(max_size=16),
        st.text(alphabet="0123456789.,eE+- kKmMbBtTqQ\u0661\uff10", max_size=12),
        st.floats(),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.none(),
    )
)
def test_parse_number_gives_a_finite_number_or_none_or_refuses_in_one_line(value):
    try:
        number = parse_number(value)
    except ValueError as exc:
        assert one_line(str(exc)), str(exc)
        return
    assert number is None or (isinstance(number, float) and math.isfinite(number))


@FUZZ
@given(text=st.one_of(st.text(max_size=16), st.text(alphabet="0123456789-/. \u0661\uff12T:", max_size=14)))
def test_parse_date_gives_a_date_with_its_precision_or_refuses_in_one_line(text):
    try:
        date = parse_date(text)
    except ValueError as exc:
        assert one_line(str(exc)), str(exc)
        return
    assert isinstance(date, PartialDate) and isinstance(date.date, dt.date)
    assert date.precision in {"day", "month", "year"}


@FUZZ
@given(names=st.lists(st.text(max_size=12), max_size=6))
def test_every_name_has_an_id_of_lower_case_ascii_letters_digits_and_dashes(names):
    slugs = slugify_all(names)
    assert slugs == [slugify(name) for name in names]
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) for slug in slugs), slugs


# ---- the untrusted YAML reader

YAML_PIECES = [
    "id: x",
    "name: 'a'",
    'name: "b\\u0000"',
    "- ",
    ": ",
    "key",
    "{",
    "}",
    "[",
    "]",
    ", ",
    "\n",
    "  ",
    "\t",
    "&a ",
    "*a",
    "<<: *a",
    "!!python/object/apply:os.system ['true'] ",
    "!tag ",
    "|\n  text",
    ">-\n  text",
    "? ",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "# note",
    "'",
    '"',
    "\ufeff",
    "\x00",
    "null",
    "~",
    "1e400",
    "0x1F",
    "yes",
    "2024-01-01",
]


def _valid_value(value) -> bool:
    """A value the reader may give: text, None, or lists and mappings (text keys) of such values."""
    if value is None or isinstance(value, str):
        return True
    if isinstance(value, list):
        return all(_valid_value(item) for item in value)
    return isinstance(value, dict) and all(isinstance(k, str) and _valid_value(v) for k, v in value.items())


@FUZZ
@given(
    text=st.one_of(
        st.text(max_size=120),
        st.lists(st.sampled_from(YAML_PIECES), max_size=14).map("".join),
        st.integers(1, 80).map(lambda depth: "a: " + "[" * depth + "]" * depth),
    )
)
def test_untrusted_yaml_gives_plain_data_or_one_field_error_in_one_line(text):
    try:
        data = untrusted.load_text(text)
    except untrusted.FieldError as exc:
        assert exc.field == "file" and exc.code and one_line(str(exc)), str(exc)
        return
    assert isinstance(data, dict) and _valid_value(data)


# ---- contribution files, from their bytes

VALID_FILE = (
    "id: fuzz-model-7b\nname: Fuzz Model 7B\norganization: Fuzz Lab\ndomain: Language\n"
    "publication_date: 2024-04-18\nparameters: 7B\nlink: https://arxiv.org/abs/2005.14165\n"
)


@st.composite
def file_bytes(draw) -> bytes:
    """A contribution file's bytes: a valid file damaged (a cut, a byte flipped, junk put in), or random bytes."""
    data = VALID_FILE.encode()
    match draw(st.integers(0, 3)):
        case 0:
            return draw(st.binary(max_size=200))
        case 1:
            return data[: draw(st.integers(0, len(data)))]
        case 2:
            at = draw(st.integers(0, len(data) - 1))
            return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        case _:
            at = draw(st.integers(0, len(data)))
            junk = draw(st.sampled_from([b"\xff\xfe", b"\x00", b"\xef\xbb\xbf", b"\r\n", b"&a ", b"*a", b"\t"]))
            return data[:at] + junk + data[at:]


@FUZZ
@given(
    files=st.dictionaries(
        st.sampled_from(["fuzz-model-7b.yaml", "other.yaml", "corrections/gpt-3-175b-davinci.yaml"]),
        file_bytes(),
        min_size=1,
        max_size=3,
    )
)
def test_contribution_files_of_any_bytes_are_each_a_record_a_correction_or_a_one_line_reject(files):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "contributions"
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        loaded = contribution_files.load(folder)
    assert len(loaded.typed) + len(loaded.corrections) == len(files)
    if not loaded.typed.empty:
        rejects = loaded.typed[loaded.typed["reject_code"].notna()]
        assert all(one_line(message) for message in rejects["reject_message"]), rejects["reject_message"].tolist()
        assert pd.api.types.is_integer_dtype(loaded.typed["source_row"])
