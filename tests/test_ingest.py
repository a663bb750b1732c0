"""Hostile and sloppy snapshots (issue 11): never break the build, never slip through, never lose data.

A snapshot is either refused (exit 1, one line naming the file and the problem, nothing written) or curated
with every raw row in models.csv or rejected.csv and every text cell spreadsheet-safe. Real files stay as
they were: the five real snapshots' counts are checked in test_curate.py.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import random
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import HEADER_2026, RAW, ROOT, write_csv, written_text
from mlsizes.cli import main
from mlsizes.core.paths import Paths
from mlsizes.records import contracts, ingest, snapshots
from mlsizes.records.snapshots import SnapshotError
from mlsizes.stages import curate, metadata
from mlsizes.tables import columns, reading

REAL = RAW / "epoch_notable_ai_models_2026-03-10.csv"
HEADER = HEADER_2026
GOOD = ["TestNet", "Lab", "2021-05-01", "Language", "1.5e9", "1e21", "Confident", "https://example.org", "SOTA"]
RULE = contracts.curated_spec()["spreadsheet_safe_text"]
FORMULA = re.compile(f"^[{re.escape(RULE['formula_start'])}]")
ESCAPED = re.compile(f"^{re.escape(RULE['escape'])}+[{re.escape(RULE['formula_start'])}]")


def line(cells: list[str]) -> str:
    return ",".join(cells)


def curate_cli(snapshot: Path, out: Path, *args: str):
    return CliRunner().invoke(main, ["curate", str(snapshot), "--out", str(out), *args])


def unescape(value: str) -> str:
    """The codebook's read-back rule: drop one escape from a cell that starts with escapes and a formula start."""
    return value[1:] if ESCAPED.match(value) else value


def assert_refused(result, named: Path, out: Path, problem: str) -> None:
    """Exit 1, one line on stderr naming the file (the snapshot or its provenance record) and the problem."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named.name in lines[0] and problem in lines[0], result.stderr
    assert not out.exists()


# --- rows that do not line up with the header ---------------------------------------------------------------

MISALIGNED = {
    "trailing comma, first row": ([line(HEADER), line(GOOD) + ",", line(GOOD)], "data row 1 (line 2) has 10 fields"),
    "trailing comma, later row": ([line(HEADER), line(GOOD), line(GOOD) + ","], "data row 2 (line 3) has 10 fields"),
    "two extra fields": ([line(HEADER), line(GOOD), line(GOOD) + ",x,y"], "data row 2 (line 3) has 11 fields"),
    "short row": ([line(HEADER), line(GOOD[:-1]), line(GOOD)], "data row 1 (line 2) has 8 fields"),
    "short row, later": ([line(HEADER), line(GOOD), line(GOOD), line(GOOD[:4])], "data row 3 (line 4) has 4 fields"),
    "whitespace line": ([line(HEADER), line(GOOD), "   ", line(GOOD)], "data row 2 (line 3) has 1 field,"),
    "after a multi-line field": (
        [line(HEADER), '"Test\nNet",' + line(GOOD[1:]), line(GOOD) + ","],
        "data row 2 (line 4) has 10 fields",
    ),
    "duplicate header": ([line(HEADER[:-1] + ["Model"]), line(GOOD)], "duplicate column 'Model'"),
    "duplicate after spaces": ([line(HEADER[:-1] + [" Domain "]), line(GOOD)], "duplicate column 'Domain'"),
    "two names for one column": (
        [line(["System"] + HEADER[:-1]), line(["X"] + GOOD[:-1])],
        "columns 'System' and 'Model' both mean name",
    ),
    "stray quote": ([line(HEADER), 'Test 5" Net,' + line(GOOD[1:])], "line 2: a quote inside an unquoted field"),
    "text after a closing quote": ([line(HEADER), '"Test"Net,' + line(GOOD[1:])], "line 2: a quote inside"),
    "quote never closed": (
        [line(HEADER), line(GOOD), '"TestNet,' + line(GOOD[1:])],
        "record starting on line 3 is never closed",
    ),
}


@pytest.mark.parametrize("lines, problem", MISALIGNED.values(), ids=MISALIGNED.keys())
def test_misaligned_snapshot_is_refused_and_nothing_written(lines, problem, tmp_path):
    snapshot = tmp_path / "snap.csv"
    snapshot.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert_refused(curate_cli(snapshot, out), snapshot, out, problem)


@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(
    rows=st.lists(st.lists(st.text(alphabet='a,"\n\r ', max_size=4), min_size=1, max_size=4), max_size=5),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    chunk=st.integers(1, 9),
)
def test_field_counts_agree_with_pythons_csv_reader_across_chunk_boundaries(rows, ending, chunk):
    """The byte-level counter reads 16 MB at a time; tiny chunks put every boundary inside a quoted field,
    between a quote pair or between CR and LF somewhere."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=ending).writerows(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
        expected = [len(row) for row in csv.reader(io.StringIO(buffer.getvalue(), newline="")) if row]
        default, reading.COUNT_CHUNK_BYTES = reading.COUNT_CHUNK_BYTES, chunk
        try:
            fields, _ = reading._record_fields(path)
        finally:
            reading.COUNT_CHUNK_BYTES = default
    assert fields.tolist() == expected


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_line_endings_blank_lines_and_quoting_that_line_up_are_curated(ending, tmp_path):
    rows = [line(HEADER), "", '"Quoted, ""Net""","Lab, Inc.",' + line(GOOD[2:]), "", line(GOOD), ""]
    snapshot = tmp_path / "snap.csv"
    snapshot.write_bytes(b"\xef\xbb\xbf" + ending.join(rows).encode())
    result = curate_cli(snapshot, tmp_path / "out")
    assert result.exit_code == 0, result.output
    models = pd.read_csv(tmp_path / "out" / "models.csv", keep_default_na=False)
    assert models["name"].tolist() == ['Quoted, "Net"', "TestNet"]
    assert models["source_row"].tolist() == [1, 2]


def test_trailing_comma_on_the_real_snapshot_is_refused_not_misread(tmp_path):
    """Measured on main before issue 11: pandas took the first column as the index, 0 curated, 981 rejected."""
    with open(REAL, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[1].append("")
    snapshot = tmp_path / REAL.name
    with open(snapshot, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    out = tmp_path / "out"
    assert_refused(curate_cli(snapshot, out), snapshot, out, "data row 1 (line 2) has 48 fields, the header has 47")


def test_refusal_leaves_earlier_outputs_untouched(tmp_path):
    out = tmp_path / "out"
    good = write_csv(tmp_path / "good.csv", HEADER, [GOOD])
    assert curate_cli(good, out, "--metrics", str(out / "m.json")).exit_code == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    bad = tmp_path / "bad.csv"
    bad.write_text(line(HEADER) + "\n" + line(GOOD) + ",\n")
    result = curate_cli(bad, out, "--metrics", str(out / "m.json"))
    assert result.exit_code == 1
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


# --- a file that parses but was misread ----------------------------------------------------------------------


def _rows(n_bad: int, n_good: int, bad: list[str]) -> list[list[str]]:
    """n_bad rows like `bad` and n_good good ones, each row its own (a row repeating another is a duplicate)."""
    bad_rows = [bad[:4] + [f"{i + 1}e9"] + bad[5:] for i in range(n_bad)]
    return bad_rows + [[f"Net {i}"] + GOOD[1:] for i in range(n_good)]


MISREAD = {
    "every row one reason": (
        _rows(3, 0, ["X", "Lab", "2021-05-01", "Astrology"] + GOOD[4:]),
        "3 of 3 rows rejected as unknown_domain",
    ),
    "most rows one reason": (_rows(3, 2, [""] + GOOD[1:]), "3 of 5 rows rejected as missing_name"),
    "no data rows": ([], "no data rows, only a header"),
}


@pytest.mark.parametrize("rows, problem", MISREAD.values(), ids=MISREAD.keys())
def test_misread_snapshot_is_refused_unless_forced(rows, problem, tmp_path):
    snapshot = write_csv(tmp_path / "snap.csv", HEADER, rows)
    out = tmp_path / "out"
    assert_refused(curate_cli(snapshot, out), snapshot, out, problem)
    assert "--force" in curate_cli(snapshot, out).stderr
    forced = curate_cli(snapshot, out, "--force", "--json")
    assert forced.exit_code == 0, forced.output
    assert len(pd.read_csv(out / "models.csv")) + len(pd.read_csv(out / "rejected.csv")) == len(rows)


@pytest.mark.parametrize("n_bad, n_good", [(1, 1), (2, 2), (1, 2)], ids=["half", "half-of-4", "a-third"])
def test_half_or_fewer_rejected_for_one_reason_is_data_not_a_misread(n_bad, n_good, tmp_path):
    snapshot = write_csv(tmp_path / "snap.csv", HEADER, _rows(n_bad, n_good, [""] + GOOD[1:]))
    result = curate_cli(snapshot, tmp_path / "out")
    assert result.exit_code == 0, result.output


def test_real_snapshot_with_two_columns_swapped_is_refused(tmp_path):
    """Publication date and Domain headers swapped (a hand-edited export): every date is a domain name."""
    text = REAL.read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    header = header.replace("Publication date", "@@").replace("Domain", "Publication date").replace("@@", "Domain")
    snapshot = tmp_path / "swapped.csv"
    snapshot.write_text(header + "\n" + rest, encoding="utf-8")
    out = tmp_path / "out"
    assert_refused(curate_cli(snapshot, out), snapshot, out, "980 of 981 rows rejected as unparseable_date")


# --- snapshot identity ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "file_name, snapshot_id",
    [
        ("notable_ai_models (1).csv", "notable_ai_models_1"),
        ("notable ai models.csv", "notable_ai_models"),
        ("données+2024.csv", "donn_es_2024"),
        ("数据.csv", "snapshot-" + hashlib.sha1("数据".encode()).hexdigest()[:8]),
        ("epoch_notable_ai_models_2026-03-10.csv", "epoch_notable_ai_models_2026-03-10"),
    ],
)
def test_snapshot_id_without_provenance_is_the_file_name_made_safe(file_name, snapshot_id):
    assert snapshots.snapshot_id(Path(file_name)) == snapshot_id
    assert re.fullmatch(contracts.curated_columns()["source"]["str_matches"], f"epoch:{snapshot_id}")


def test_download_saved_under_another_name_curates_normally(tmp_path):
    """Measured on main before issue 11: `notable_ai_models (1).csv` rejected every row as invalid_source."""
    copy = tmp_path / "notable_ai_models (1).csv"
    shutil.copyfile(REAL, copy)
    result = curate_cli(copy, tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    models = pd.read_csv(tmp_path / "out" / "models.csv")
    assert len(models) == 980 and set(models["source"]) == {"epoch:notable_ai_models_1"}

    shutil.copyfile(snapshots.provenance_path(REAL), snapshots.provenance_path(copy))
    result = curate_cli(copy, tmp_path / "out2", "--require-provenance")
    assert result.exit_code == 0, result.output
    models = pd.read_csv(tmp_path / "out2" / "models.csv")
    assert set(models["source"]) == {f"epoch:{REAL.stem}"}  # the provenance record names the snapshot


@pytest.mark.parametrize(
    "record, problem",
    [
        ("snapshot: 'my snapshot (1)'\nsha256: {sha}\n", "snapshot 'my snapshot (1)' is not a valid id"),
        ("snapshot: [unclosed\nsha256: {sha}\n", "provenance record is not readable YAML"),
        # Read as untrusted text, an unquoted impossible date is text too, refused as the quoted one is.
        ("snapshot: ok\nsha256: {sha}\nupstream_date: 2024-02-30\n", "upstream_date '2024-02-30' is not a"),
        ("snapshot: ok\nsha256: {sha}\nupstream_date: '2024-02-30'\n", "upstream_date '2024-02-30' is not a"),
    ],
    ids=["bad-id", "bad-yaml", "impossible-yaml-date", "impossible-text-date"],
)
def test_bad_provenance_record_is_refused(record, problem, tmp_path):
    snapshot = write_csv(tmp_path / "snap.csv", HEADER, [GOOD])
    provenance = snapshots.provenance_path(snapshot)
    provenance.write_text(record.format(sha=snapshots.sha256_of(snapshot)))
    out = tmp_path / "out"
    assert_refused(curate_cli(snapshot, out), provenance, out, problem)


def test_impossible_date_in_the_file_name_is_no_date():
    assert snapshots.snapshot_date(Path("snap_2024-13-45.csv"), None) is None
    assert snapshots.snapshot_date(Path("snap_2024-02-29.csv"), None).isoformat() == "2024-02-29"


# --- spreadsheet-safe output ---------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1:A2)", "=cmd|' /C calc'!A0", "'=1+1", "''-1"]


TEXT_COLUMNS = {
    "Model": "name",
    "Organization": "organization",
    "Link": "link",
    "Notability criteria": "notability_criteria",
}


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_cells_are_escaped_in_models_csv(value, tmp_path):
    row = dict(zip(HEADER, GOOD)) | dict.fromkeys(TEXT_COLUMNS, value)
    snapshot = write_csv(tmp_path / "snap.csv", HEADER, [list(row.values())])
    assert curate_cli(snapshot, tmp_path / "out").exit_code == 0
    with open(tmp_path / "out" / "models.csv", newline="", encoding="utf-8") as handle:
        assert not [cell for record in csv.reader(handle) for cell in record if FORMULA.match(cell)]
    models = pd.read_csv(tmp_path / "out" / "models.csv", dtype=str, keep_default_na=False)
    for column in TEXT_COLUMNS.values():
        written = models[column].iloc[0]
        assert written == RULE["escape"] + value and unescape(written) == value


@pytest.mark.parametrize(
    "field, value, written",
    [
        ("Publication date", "=1+1", "'=1+1"),
        ("Domain", "@A1", "'@A1"),
        ("Parameters", "-5", "'-5.0"),
        ("Parameters", "+lots", "'+lots"),
        ("Publication date", "\t=1+1", "'=1+1"),
        ("Model", "\t", "'\t"),
        ("Model", "\r", "\n"),  # a lone carriage return would split the row for readers: kept as a line break
    ],
)
def test_formula_cells_are_escaped_in_rejected_csv(field, value, written, tmp_path):
    bad = dict(zip(HEADER, GOOD)) | {field: value}
    snapshot = write_csv(tmp_path / "snap.csv", HEADER, [GOOD, list(bad.values())])
    assert curate_cli(snapshot, tmp_path / "out").exit_code == 0
    text = (tmp_path / "out" / "rejected.csv").read_text(encoding="utf-8")
    with io.StringIO(text, newline="") as handle:
        assert not [cell for record in csv.reader(handle) for cell in record if FORMULA.match(cell)]
    rejected = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert rejected["reject_value"].tolist() == [written]


def test_numbers_and_ordinary_text_are_written_as_they_are():
    table = pd.DataFrame(
        {"text": ["-5", "plain", "'quoted'", None, ""], "float": [-5.0, 1.0, None, 2.0, 3.0], "int": [-3, 1, 2, 3, 4]}
    )
    written = written_text(table)
    assert written["text"].tolist() == ["'-5", "plain", "'quoted'", "", ""]
    assert written["float"].tolist() == ["-5.0", "1.0", "", "2.0", "3.0"] and written["int"].tolist()[0] == "-3"


@settings(max_examples=100, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from("=+-@\t\r'ab1 ,\"\n"), max_size=8))
def test_escaping_is_exact_to_read_back(value):
    # A lone CR never reaches the writer (text is cleaned of whitespace runs, reject values turn it into a line
    # break): CSV writers leave it unquoted, so here it comes with a line feed, which makes the cell quoted.
    value = value.replace("\r", "\r\n")
    written = written_text(pd.DataFrame({"text": pd.Series([value], dtype="str")}))["text"].iloc[0]
    assert not FORMULA.match(written) and unescape(written) == value


def test_committed_dataset_is_spreadsheet_safe_and_codebook_states_the_rule():
    for name in ("models.csv", "rejected.csv"):
        with open(ROOT / "data" / "curated" / name, newline="", encoding="utf-8") as handle:
            assert not [cell for record in csv.reader(handle) for cell in record if FORMULA.match(cell)]
    note = metadata.spreadsheet_note()
    assert '"=", "+", "-", "@", a tab or a carriage return' in note and "remove the first character" in note
    codebook = pd.read_csv(io.StringIO(metadata.codebook()), keep_default_na=False)
    assert codebook["description"].iloc[-1] == note
    assert all(note in resource["description"] for resource in metadata.datapackage("2026.03.10")["resources"])


# --- fuzz: random rows through the whole curate stage --------------------------------------------------------

CELL = st.one_of(
    st.sampled_from(
        [
            "",
            "Language",
            "Vision",
            "2021-05-01",
            "5/2020",
            "1.5e9",
            "70B",
            "-5",
            "Confident",
            "\u0661\u0662",
            "Forthcoming",
        ]
    ),
    st.text(alphabet=st.sampled_from(list("=+-@\t'\",\n\r ab7é٣文")), max_size=6),
    st.text(max_size=10),
)
ALIGNED = st.lists(CELL, min_size=len(HEADER), max_size=len(HEADER))
MISALIGNED = st.lists(CELL, min_size=1, max_size=len(HEADER) + 2)
# Mostly rows that line up, so most examples reach the curate stage; some that do not, to be refused.
ROW = st.one_of(ALIGNED, ALIGNED, ALIGNED, st.just(GOOD), MISALIGNED)


@settings(max_examples=50, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(ROW, max_size=6), quoted=st.booleans(), force=st.booleans(), ending=st.sampled_from(["\n", "\r\n"])
)
def test_fuzz_random_rows_never_escape_never_lose_a_row(rows, quoted, force, ending):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        snapshot = folder / "snap.csv"
        if quoted:  # well-formed CSV (the writer quotes what needs it), with random field counts
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator=ending).writerows([HEADER, *rows])
            text = buffer.getvalue()
        else:  # cells pasted between commas, quotes and line breaks and all
            text = ending.join(",".join(row) for row in [HEADER, *rows])
        snapshot.write_text(text, encoding="utf-8")
        around = {path: path.read_bytes() for path in folder.iterdir()}
        out = folder / "out"
        try:
            paths = dataclasses.replace(Paths.at(folder).with_curated_dir(out), curation_metrics=out / "m.json")
            result = curate.run(paths, curate.CurateSettings(snapshot, force=force))
        except SnapshotError as exc:
            assert str(exc).startswith(str(snapshot)) and "\n" not in str(exc)
            assert not out.exists()
        else:
            models = pd.read_csv(out / "models.csv", dtype=str, keep_default_na=False)
            rejected = pd.read_csv(out / "rejected.csv", dtype=str, keep_default_na=False)
            assert len(models) + len(rejected) == result.metrics["raw_rows"] == result.metrics["input_rows"]
            if quoted:
                assert result.metrics["raw_rows"] == len(rows)
            for frame in (models, rejected):
                assert not frame.map(lambda cell: bool(FORMULA.match(cell))).any().any()
        assert {path: path.read_bytes() for path in folder.iterdir() if path != out} == around


def test_whitespace_cleaning_is_the_same_once_per_distinct_value_and_cell_by_cell(monkeypatch):
    """Both of _clean_text's paths collapse whitespace runs (str.split's whitespace), remove control characters
    (C0 and C1 that are not whitespace), make empty text missing and tell the same cells they removed some from."""
    monkeypatch.setattr(columns, "CHUNK_ROWS", 7)
    rng = random.Random(3)
    alphabet = ["a", "b", " ", "  ", "\n", "\t", "\r", "\u2028", "\xa0", "\x1f", "\u3000", "é", ","]
    alphabet += ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\u200b"]
    cells = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(400)]
    values = pd.Series(cells, dtype="str")
    control = [chr(c) for c in range(0xA0) if unicodedata.category(chr(c)) == "Cc" and not chr(c).isspace()]
    stripped = ["".join(char for char in cell if char not in control) for cell in cells]
    expected = pd.Series([" ".join(cell.split()) or None for cell in stripped], dtype="str")
    lost = pd.Series([cell != kept for cell, kept in zip(cells, stripped)])
    assert lost.any() and (~lost).any()
    for factorized in (None, ingest._distinct(values)):
        cleaned, controlled = ingest._clean_text(values, factorized)
        pd.testing.assert_series_equal(cleaned, expected)
        pd.testing.assert_series_equal(controlled, lost)


def test_the_raw_contract_is_checked_on_the_header_and_on_rows_when_a_rule_needs_them(monkeypatch):
    import pandera.errors
    import pandera.pandas as pa

    text = {name: pd.Series(["a", "bb"], dtype="str") for name in contracts.raw_columns()}
    contracts.validate_raw(pd.DataFrame(text))
    with pytest.raises(pandera.errors.SchemaError, match="parameters"):  # a wrong type shows on the header
        contracts.validate_raw(pd.DataFrame({**text, "parameters": [1.0, 2.0]}))
    # A value rule in raw.yaml is checked on every row, not only on the header.
    strict = pa.DataFrameSchema({name: pa.Column(str, pa.Check.str_length(max_value=1)) for name in text})
    monkeypatch.setattr(contracts, "raw_schema", lambda: strict)
    with pytest.raises(pandera.errors.SchemaError, match="str_length"):
        contracts.validate_raw(pd.DataFrame(text))


# --- refusals with the line and the reason -------------------------------------------------------------------


def _records(rows: int) -> list[str]:
    """The header and rows whose names hold quoted line breaks, commas and quotes; a blank line among them."""
    records = [line(HEADER)]
    for i in range(rows):
        name = f'"Net {i},\n""v{i % 3}""\npart"' if i % 2 else f"Net{i}"
        records.append(line([name, "Lab", "2021-05-01", "Language", f"{i + 1}e9", "1e21", "Confident", "x", "SOTA"]))
        if i == 30:
            records.append("")
    return records


def test_a_bad_row_anywhere_is_refused_naming_its_line(tmp_path):
    """A row that does not line up, a stray quote or a quote never closed, early or late in a file whose quoted
    fields hold line breaks: one line naming the file, the line the record starts on and the reason."""
    good = _records(400)  # over the 8 kB the header is decoded from
    line_of = {i: "\n".join(good[:i]).count("\n") + 2 for i in (3, len(good) - 2, len(good))}
    cases = {
        "short row early": (
            good[:3] + [line(GOOD[:4])] + good[3:],
            f"line {line_of[3]}) has 4 fields, the header has 9",
        ),
        "short row late": (
            good[:-2] + [line(GOOD[:4])] + good[-2:],
            f"line {line_of[len(good) - 2]}) has 4 fields, the header has 9",
        ),
        "stray quote early": (good[:3] + ['Test 5" Net,' + line(GOOD[1:])] + good[3:], f"line {line_of[3]}: a quote"),
        "stray quote late": (
            good[:-2] + ['Test 5" Net,' + line(GOOD[1:])] + good[-2:],
            f"line {line_of[len(good) - 2]}: a quote inside an unquoted field",
        ),
        "quote never closed": (
            good + ['"TestNet,' + line(GOOD[1:])],
            f"in the record starting on line {line_of[len(good)]} is never closed",
        ),
    }
    for name, (lines, reason) in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with pytest.raises(SnapshotError) as refused:
            ingest.load(path)
        message = str(refused.value)
        assert message.startswith(f"{path}: ") and reason in message and "\n" not in message, (name, message)


@pytest.mark.parametrize("cut", range(1, 4))
def test_text_that_is_not_utf8_is_refused_naming_its_line_and_byte(cut, tmp_path, monkeypatch):
    """The byte is found however the blocks read cut the file, a character of several bytes included."""
    monkeypatch.setattr(reading, "COUNT_CHUNK_BYTES", 7)
    head = (line(HEADER) + "\n" + line(GOOD) + "\n").encode()
    path = tmp_path / "snap.csv"
    path.write_bytes(head + b"x" * cut + "☃".encode() + b"\xfe" + line(GOOD).encode()[1:] + b"\n")
    with pytest.raises(SnapshotError) as refused:
        ingest.load(path)
    assert str(refused.value) == f"{path}: line 3: not UTF-8 text (byte 0xfe at byte {len(head) + cut + 3:,})"


def test_a_table_after_thousands_of_blank_lines_is_read_and_a_blank_file_is_empty(tmp_path):
    """Measured on main: a valid CSV after 9,000 blank lines was refused as "file is empty" (only its first
    8 kB were looked at). Blank lines before the header are skipped as blank lines elsewhere are."""
    padded = tmp_path / "padded.csv"
    padded.write_text("\n" * 9000 + line(HEADER) + "\n" + line(GOOD) + "\n", encoding="utf-8")
    assert ingest.load(padded).table["name"].tolist() == ["TestNet"]
    blank = tmp_path / "blank.csv"
    blank.write_text("\n" * 9000 + "  \r\n", encoding="utf-8")
    with pytest.raises(SnapshotError, match="file is empty"):
        ingest.load(blank)


# --- rows repeated, and text no reader should get -------------------------------------------------------------


def test_a_row_repeating_an_earlier_one_is_rejected_as_duplicate_row_with_a_warning(tmp_path):
    """Measured on main: every upstream row repeated became another record (ids suffixed), counted in every test."""
    rows = [[f"Net {i}"] + GOOD[1:] for i in range(40)]
    near = ["Net 0"] + GOOD[1:4] + ["2e9"] + GOOD[5:]  # same name, another size: not a copy
    snapshot = write_csv(tmp_path / "snap.csv", HEADER, [*rows, rows[3], near, rows[3]])
    result = curate_cli(snapshot, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert result.stderr == "warning: 2 rows repeat an earlier row exactly (rejected as duplicate_row)\n"
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv", keep_default_na=False)
    assert rejected[["source_row", "name", "reject_code", "reject_message"]].values.tolist() == [
        [41, "Net 3", "duplicate_row", "identical to data row 4 in every column curate reads"],
        [43, "Net 3", "duplicate_row", "identical to data row 4 in every column curate reads"],
    ]
    assert len(pd.read_csv(tmp_path / "out" / "models.csv")) == 41


@pytest.mark.parametrize("copies", [2, 10])
def test_a_snapshot_appended_to_itself_is_refused_unless_forced(tmp_path, copies):
    """Measured on main: the 2026 snapshot 10 times over gave "9810 rows -> 9800 curated", and through `update`
    240 language systems in the gap (24 before) and P 1.4e-30."""
    header, *rows = list(csv.reader(io.StringIO(REAL.read_text(encoding="utf-8"), newline="")))
    snapshot = tmp_path / "doubled.csv"
    with open(snapshot, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows * copies])
    out = tmp_path / "out"
    repeats = len(rows) * (copies - 1)
    assert_refused(curate_cli(snapshot, out), snapshot, out, f"{repeats} of {len(rows) * copies} rows repeat")
    forced = curate_cli(snapshot, out, "--force", "--json")
    assert forced.exit_code == 0, forced.output
    assert pd.read_json(io.StringIO(forced.stdout), typ="series")["rejected_by_reason"]["duplicate_row"] == repeats


def test_control_characters_are_removed_with_a_note_and_invisible_names_rejected(tmp_path):
    """Measured on main: a NUL byte in an upstream name was copied into models.csv; a blank Braille cell (U+2800)
    or a variation selector (U+FE0F) passed the name check; a training compute of 0 was kept as 0 FLOP."""
    filler = [[f"Net {i}"] + GOOD[1:] for i in range(200)]  # a NUL byte in the first 8 KiB means a binary file
    rows = filler + [
        ["Nul\x00Net"] + GOOD[1:],
        ["Blank\u2800Net"] + GOOD[1:],
        ["Selector Net"] + ["Lab\ufe0f"] + GOOD[2:],
        ["Zero Compute Net"] + GOOD[1:5] + ["0"] + GOOD[6:],
    ]
    result = curate_cli(write_csv(tmp_path / "snap.csv", HEADER, rows), tmp_path / "out")
    assert result.exit_code == 0, result.output
    models = pd.read_csv(tmp_path / "out" / "models.csv", keep_default_na=False).set_index("id")
    assert models.at["nulnet", "name"] == "NulNet"
    assert models.at["nulnet", "curation_notes"] == "control characters removed from name"
    assert models.at["zero-compute-net", "training_compute_flop"] == ""
    assert models.at["zero-compute-net", "curation_notes"] == "training compute 0 in source treated as missing"
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv", keep_default_na=False)
    assert rejected[["name", "reject_code"]].values.tolist() == [
        ["Blank\u2800Net", "invalid_name"],
        ["Selector Net", "invalid_organization"],
    ]
    assert "\x00" not in (tmp_path / "out" / "models.csv").read_text(encoding="utf-8")
