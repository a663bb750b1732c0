"""Ingest and curate on the real snapshots, on bad files and on bad rows."""

import hashlib
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import HEADER_2026, RAW, SNAPSHOTS, write_csv
from mlsizes.cli import main
from mlsizes.records import curation, ingest
from mlsizes.records.parse import slugify
from mlsizes.records.snapshots import SnapshotError


def good_row(name="TestNet", date="2021-05-01", domain="Language", params="1.5e9"):
    return [name, "Lab", date, domain, params, "1e21", "Confident", "https://example.org", "SOTA improvement"]


def run_curate(*args):
    return CliRunner().invoke(main, ["curate", *map(str, args)])


# Curated and rejected rows of each real snapshot (no contributions): the snapshot checks and the misread guard
# must let every one through unforced, with the same counts (epoch_pcd_2022-06-02 rejects 36%).
REAL_COUNTS = {
    "epoch_pcd_2022-06-02": (320, 181),
    "epoch_pcd_2022-06-30": (331, 170),
    "epoch_notable_2022-09-01": (342, 170),
    "epoch_notable_ai_models_2024-07-16": (825, 0),
    "epoch_notable_ai_models_2026-03-10": (980, 1),
}


@pytest.mark.parametrize("snapshot", SNAPSHOTS, ids=lambda p: p.stem)
def test_every_real_snapshot_curates_with_identity(snapshot, tmp_path):
    result = run_curate(snapshot, "--out", tmp_path, "--metrics", tmp_path / "m.json", "--require-provenance")
    assert result.exit_code == 0, result.output
    models = pd.read_csv(tmp_path / "models.csv")
    rejected = pd.read_csv(tmp_path / "rejected.csv")
    raw_rows = len(pd.read_csv(snapshot, dtype=str))
    assert len(models) + len(rejected) == raw_rows
    assert models["id"].is_unique
    assert set(rejected["reject_code"]) <= {
        "missing_name",
        "missing_domain",
        "missing_date",
        "unparseable_date",
        "unknown_domain",
    }
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["identity_holds"] and metrics["curated"] == len(models)
    assert (len(models), len(rejected)) == REAL_COUNTS[snapshot.stem]
    assert metrics["snapshot"] == snapshot.stem and (models["source"] == f"epoch:{snapshot.stem}").all()


def test_current_snapshot_counts():
    result = curation.process(ingest.process(ingest.load(RAW / "epoch_notable_ai_models_2026-03-10.csv", True)), "x")
    assert len(result.models) == 980
    assert result.rejected["reject_code"].tolist() == ["missing_domain"]
    assert result.models["parameters"].notna().sum() == 681


def test_paper_era_snapshot_quirks():
    typed = ingest.process(ingest.load(RAW / "epoch_pcd_2022-06-30.csv", True))
    result = curation.process(typed, "epoch_pcd_2022-06-30")
    models = result.models.set_index("name", drop=False)
    assert models.loc["GPT-3 175B", "parameters"] == 1.75e11
    assert models.loc["SqueezeNet", "parameters_missing_reason"] == "zero_in_source"
    assert pd.isna(models.loc["SqueezeNet", "parameters"])
    assert "recoded to 'Vision'" in models.loc["DSN", "curation_notes"]
    assert models.loc["Theseus", "date_precision"] == "day"
    month_precise = result.models[result.models["date_precision"] == "month"]
    assert len(month_precise) > 0 and month_precise["publication_date"].str.endswith("-15").all()
    # the same name twice: the earliest keeps the bare slug, the later one gets its date
    amoeba = result.models[result.models["name"] == "AmoebaNet-A"]["id"].tolist()
    assert amoeba[0] == "amoebanet-a" and amoeba[1].startswith("amoebanet-a-")
    flan = result.models[result.models["name"] == "FLAN"].sort_values("publication_date")["id"].tolist()
    assert flan == ["flan", "flan-2021-09-03"]


def test_future_date_is_flagged_not_hidden():
    typed = ingest.process(ingest.load(RAW / "epoch_pcd_2022-06-02.csv", True))
    lamda = typed[typed["name"] == "LaMDA"].iloc[0]
    assert lamda["publication_date"] == "2022-10-02"
    assert "after the snapshot date 2022-06-02" in lamda["curation_notes"]


def test_multi_valued_domains_in_any_order_are_canonical():
    typed = ingest.process(ingest.load(RAW / "epoch_notable_ai_models_2026-03-10.csv", True))
    mixed = typed[typed["domains"].fillna("").str.contains(",")]
    assert len(mixed) > 50
    assert (mixed["primary_domain"] == mixed["domains"].str.split(",").str[0]).all()
    raw = pd.read_csv(RAW / "epoch_notable_ai_models_2026-03-10.csv", dtype=str, keep_default_na=False)
    orders = raw["Domain"][raw["Domain"].isin(["Multimodal,Language,Vision", "Language,Vision,Multimodal"])]
    assert set(typed.loc[orders.index, "domains"]) == {"Language,Vision,Multimodal"}


def test_ids_stable_when_a_later_duplicate_appears():
    frame = pd.DataFrame(
        {
            "name": ["Net", "Net", "Other"],
            "publication_date": ["2020-01-01", "2019-01-01", "2020-01-01"],
            "source": ["s"] * 3,
            "source_row": [1, 2, 3],
        }
    )
    assert curation.assign_ids(frame).tolist() == ["net-2020-01-01", "net", "other"]
    assert slugify("GPT-3 175B (davinci)") == "gpt-3-175b-davinci"
    assert slugify("文心一言").startswith("model-")


def _records(names, dates, ids=None):
    frame = pd.DataFrame(
        {"name": names, "publication_date": dates, "source": "epoch:s", "source_row": range(1, len(names) + 1)}
    )
    return frame.assign(id=ids) if ids is not None else frame


@pytest.mark.parametrize(
    "names, dates, ids, expected",
    [
        (["Net"] * 4, ["2020-01-01"] * 4, None, ["net", "net-2020-01-01", "net-2020-01-01-2", "net-2020-01-01-3"]),
        # another record's bare slug already holds the dated id: the counter steps over it
        (["Net", "Net", "Net 2020 01 01"], ["2020-01-01"] * 3, None, ["net", "net-2020-01-01-2", "net-2020-01-01"]),
        # ...and over a taken -2
        (
            ["Net", "Net", "Net", "Net 2020 01 01 2"],
            ["2020-01-01"] * 4,
            None,
            ["net", "net-2020-01-01", "net-2020-01-01-3", "net-2020-01-01-2"],
        ),
        # two bases interleaved keep separate counters
        (
            ["A", "B", "A", "B", "A", "B"],
            ["2020-01-01"] * 6,
            None,
            ["a", "b", "a-2020-01-01", "b-2020-01-01", "a-2020-01-01-2", "b-2020-01-01-2"],
        ),
        # a contribution keeps its id and comes first; upstream records with the same slug get dated ids
        (
            ["Net", "Net", "Net"],
            ["2019-01-01", "2020-01-01", "2020-01-01"],
            [None, None, "net"],
            ["net-2019-01-01", "net-2020-01-01", "net"],
        ),
    ],
    ids=["same-name-and-date", "dated-id-taken", "counter-id-taken", "interleaved", "contribution-first"],
)
def test_assign_ids_resolves_shared_names(names, dates, ids, expected):
    assert curation.assign_ids(_records(names, dates, ids)).tolist() == expected


def test_assign_ids_many_records_sharing_a_name_and_date():
    """The case that was quadratic (issue 11); timings live in bench/bench_curate.py, never in tests."""
    ids = curation.assign_ids(_records(["Shared Net"] * 3000, ["2021-05-01"] * 3000)).tolist()
    assert ids[:2] == ["shared-net", "shared-net-2021-05-01"]
    assert ids[2:] == [f"shared-net-2021-05-01-{n}" for n in range(2, 3000)]


BAD_ROWS = [
    ("missing_name", good_row(name="")),
    ("missing_name", good_row(name="   ")),
    ("unparseable_date", good_row(date="Forthcoming")),
    ("unparseable_date", good_row(date="31/02/2020")),
    ("missing_date", good_row(date="")),
    ("unknown_domain", good_row(domain="Astrology")),
    ("missing_domain", good_row(domain="")),
    ("unparseable_parameters", good_row(params="lots")),
    ("invalid_parameters", good_row(params="-5")),
    ("invalid_parameters", good_row(params="1e20")),
    ("invalid_publication_date", good_row(date="1901")),
    ("unparseable_parameters", good_row(params="\u0661\u0665\u0660\u0660")),
    ("unparseable_date", good_row(date="\uff12\uff10\uff12\uff11-05-01")),
]


@pytest.mark.parametrize("code, row", BAD_ROWS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BAD_ROWS)])
def test_bad_row_is_rejected_with_its_reason(code, row, tmp_path):
    snapshot = write_csv(tmp_path / "snap.csv", HEADER_2026, [good_row(), row])
    result = run_curate(snapshot, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv", keep_default_na=False)
    assert rejected["reject_code"].tolist() == [code]
    assert rejected["source_row"].tolist() == [2]
    assert rejected["reject_message"].iloc[0]
    assert len(pd.read_csv(tmp_path / "out" / "models.csv")) == 1


def _bad_files(tmp_path):
    good = write_csv(tmp_path / "good.csv", HEADER_2026, [good_row()])
    text = good.read_text()
    yield "missing required column", write_csv(tmp_path / "nocol.csv", HEADER_2026[1:], [good_row()[1:]])
    (tmp_path / "empty.csv").write_text("")
    yield "file is empty", tmp_path / "empty.csv"
    (tmp_path / "page.csv").write_text("<!DOCTYPE html><html><body>Not found</body></html>")
    yield "HTML", tmp_path / "page.csv"
    (tmp_path / "blob.csv").write_bytes(bytes(range(256)) * 10)
    yield "binary", tmp_path / "blob.csv"
    (tmp_path / "semi.csv").write_text(text.replace(",", ";"))
    yield "wrong delimiter", tmp_path / "semi.csv"
    tampered = RAW / "epoch_pcd_2022-06-30.csv"
    copy = tmp_path / tampered.name
    copy.write_bytes(tampered.read_bytes().replace(b"GPT-3 175B", b"GPT-3 999B"))
    (tmp_path / "epoch_pcd_2022-06-30.provenance.yaml").write_bytes(
        (RAW / "epoch_pcd_2022-06-30.provenance.yaml").read_bytes()
    )
    yield "checksum mismatch", copy


@pytest.mark.parametrize("case", range(6))
def test_bad_file_stops_with_one_line_and_no_output(case, tmp_path):
    problem, path = list(_bad_files(tmp_path))[case]
    out = tmp_path / "out"
    result = run_curate(path, "--out", out)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0] and path.name in lines[0], result.stderr
    assert not out.exists()


def test_snapshot_without_provenance_is_refused_when_required(tmp_path):
    snapshot = write_csv(tmp_path / "snap.csv", HEADER_2026, [good_row()])
    with pytest.raises(SnapshotError, match="no provenance record"):
        ingest.load(snapshot, require_provenance=True)


def test_utf8_bom_and_2022_headers(tmp_path):
    header = [
        "System",
        "Domain",
        "Organization(s)",
        "Publication date",
        "Parameters",
        "Training compute (FLOPs)",
        "Inclusion criteria",
    ]
    path = write_csv(tmp_path / "old.csv", header, [["Net", "VIsion", "Lab", "8/12/2021", "1.75E+11", "3.1E+23", "x"]])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    typed = ingest.process(ingest.load(path))
    row = typed.iloc[0]
    assert (row["name"], row["domains"], row["publication_date"], row["parameters"]) == (
        "Net",
        "Vision",
        "2021-12-08",
        1.75e11,
    )


def test_two_runs_are_byte_identical(tmp_path):
    snapshot = RAW / "epoch_notable_ai_models_2024-07-16.csv"
    digests = []
    for run in ("a", "b"):
        run_curate(snapshot, "--out", tmp_path / run, "--metrics", tmp_path / run / "m.json")
        digests.append(
            [
                hashlib.sha256((tmp_path / run / f).read_bytes()).hexdigest()
                for f in ("models.csv", "rejected.csv", "m.json")
            ]
        )
    assert digests[0] == digests[1]


def test_outputs_are_readable_by_others(tmp_path):
    """Atomic writes go through a private temporary file; the result must still get the ordinary mode."""
    old = os.umask(0o022)
    try:
        run_curate(RAW / "epoch_pcd_2022-06-30.csv", "--out", tmp_path)
    finally:
        os.umask(old)
    assert (tmp_path / "models.csv").stat().st_mode & 0o777 == 0o644


def test_a_system_without_notability_criteria_in_an_export_that_states_them_is_not_notable(tmp_path):
    """Epoch's "all models" exports list systems it does not count as notable, with no Notability criteria:
    they are rejected as not_notable, never analysed, and never taken for a misread file even when they are
    most of it."""
    rows = [good_row()] + [good_row(name=f"Minor {i}")[:-1] + [""] for i in range(5)]
    snapshot = write_csv(tmp_path / "all_models.csv", HEADER_2026, rows)
    result = run_curate(snapshot, "--out", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rejected_by_reason"] == {"not_notable": 5}
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv", keep_default_na=False)
    assert set(rejected["reject_field"]) == {"notability_criteria"}


def test_the_2022_sheets_inclusion_criteria_is_optional(tmp_path):
    header = ["System", "Domain", "Organization(s)", "Publication date", "Parameters", "Inclusion criteria"]
    path = write_csv(tmp_path / "old.csv", header, [["Net", "Vision", "Lab", "8/12/2021", "1.75E+11", ""]])
    result = run_curate(path, "--out", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["curated"] == 1


def test_epochs_unverified_confidence_is_a_valid_value(tmp_path):
    row = good_row()
    row[6] = "Unverified"
    snapshot = write_csv(tmp_path / "snap.csv", HEADER_2026, [row, good_row(name="Other")])
    result = run_curate(snapshot, "--out", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rejected"] == 0
    assert "Unverified" in set(pd.read_csv(tmp_path / "out" / "models.csv")["confidence"])


def test_curate_records_the_snapshot_date_the_analysis_takes_as_its_as_of(tmp_path):
    snapshot = write_csv(tmp_path / "epoch_2024-07-16.csv", HEADER_2026, [good_row()])
    result = run_curate(snapshot, "--out", tmp_path / "out", "--metrics", tmp_path / "curation.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "curation.json").read_text())["snapshot_date"] == "2024-07-16"


def test_parameter_counts_are_whole_numbers_and_the_rounding_is_noted(tmp_path):
    rows = [good_row(params="247000000.00000003"), good_row(name="Other", params="1.75e11")]
    snapshot = write_csv(tmp_path / "snap.csv", HEADER_2026, rows)
    result = run_curate(snapshot, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "models.csv").read_text()
    assert ",247000000," in text and ",175000000000," in text and "175000000000.0" not in text
    models = pd.read_csv(tmp_path / "out" / "models.csv").set_index("name")
    assert (
        models.loc["TestNet", "curation_notes"] == "parameters 247000000.00000003 in source rounded to a whole number"
    )
    assert pd.isna(models.loc["Other", "curation_notes"])


@pytest.mark.parametrize("unique_names", [False, True], ids=["repeated-names", "unique-names"])
def test_record_failures_per_distinct_value_are_pandas_full_validation(unique_names):
    """contracts.record_failures checks each distinct value once (of a column that repeats: names, when unique,
    are checked cell by cell): it must report exactly what validating every cell reports, in the same order
    (curate's reject message lists them)."""
    import pandera.errors

    from mlsizes.records import contracts

    schema = contracts.curated_schema()
    models = contracts.read_curated(RAW.parent.parent / "curated" / "models.csv").head(40)
    frame = pd.concat([models] * 5, ignore_index=True)
    frame["id"] = [f"m-{i}" for i in range(len(frame))]
    if unique_names:
        frame["name"] = frame["name"] + [f" {i}" for i in range(len(frame))]
    frame.index = frame.index * 3 + 7  # labels are not positions
    bad = {
        "id": ["Bad Id", "m-1", "m-2"],
        "name": ["", "x" * 301, None],
        "domains": [None, None, "Language"],
        "publication_date": ["2021/01/01", "1900-01-01", "9999-99-99"],
        "date_precision": ["week", "day", "week"],
        "parameters": [0.0, -0.0, 1e17],
        "training_compute_flop": [-1.0, float("nan"), 1e40],
        "confidence": ["Sure", None, "Sure"],
        "source": ["elsewhere:x", "epoch:ok", "elsewhere:x"],
    }
    for column, values in bad.items():
        for offset, value in enumerate(values):
            frame.loc[frame.index[(offset * 37 + len(column)) % len(frame)], column] = value
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        expected = exc.failure_cases[["index", "column", "check", "failure_case"]].copy()
    expected["index"] = expected["index"].astype("int64")
    expected = expected.sort_values(["index", "column"], kind="stable").reset_index(drop=True)
    found = contracts.record_failures(frame, schema)
    assert set(expected["column"]) == set(bad), set(bad) - set(expected["column"])
    pd.testing.assert_frame_equal(found, expected, check_dtype=False)
    assert contracts.record_failures(models, schema).empty
    with pytest.raises(ValueError, match="table does not match schema"):
        contracts.record_failures(frame.drop(columns="name"), schema)


def _identity_tables(pairs_curated, pairs_rejected):
    frame = lambda pairs: pd.DataFrame(pairs, columns=["source", "source_row"]).assign(  # noqa: E731
        parameters=1.0, curation_notes=None, reject_code="missing_name"
    )
    return frame(pairs_curated), frame(pairs_rejected)


@pytest.mark.parametrize(
    "curated_pairs, rejected_pairs",
    [
        ([("epoch:a", 1), ("epoch:a", 2)], [("epoch:a", 2)]),  # a row both curated and rejected
        ([("epoch:a", 1), ("epoch:a", 1)], [("contribution:x", 3)]),  # a row curated twice
    ],
)
def test_the_identity_check_refuses_a_row_counted_twice(curated_pairs, rejected_pairs):
    typed = pd.DataFrame({"source": ["epoch:a", "epoch:a", "contribution:x"], "source_row": [1, 2, 3]})
    models, rejected = _identity_tables(curated_pairs, rejected_pairs)
    with pytest.raises(curation.IdentityError, match="identity broken"):
        curation._metrics(typed, models, rejected, "a", 0, 0)
    models, rejected = _identity_tables([("epoch:a", 1), ("epoch:a", 2)], [("contribution:x", 3)])
    assert curation._metrics(typed, models, rejected, "a", 0, 0)["identity_holds"]  # the same counts, each row once


def test_the_identity_check_refuses_a_lost_row():
    typed = pd.DataFrame({"source": ["epoch:a", "epoch:a"], "source_row": [1, 2]})
    models, rejected = _identity_tables([("epoch:a", 1)], [])
    with pytest.raises(curation.IdentityError, match="2 input rows"):
        curation._metrics(typed, models, rejected, "a", 0, 0)


@pytest.mark.parametrize(
    "command",
    [
        lambda snap, out: ["curate", str(snap), "--out", str(out), "--metrics", str(out / "models.csv")],
        lambda snap, out: ["curate", str(snap), "--out", str(out), "--metrics", str(out / "rejected.csv")],
        lambda snap, out: ["curate", str(out / "models.csv"), "--out", str(out)],
        lambda snap, out: ["analyze", str(out / "models.csv"), "--out", str(out), "--curation", str(out / "gap.json")],
        lambda snap, out: ["analyze", str(out / "trends.json"), "--out", str(out)],
    ],
    ids=["metrics onto models", "metrics onto rejects", "snapshot in out", "curation onto gap", "table onto trends"],
)
def test_an_output_onto_an_input_or_another_output_is_refused_and_nothing_written(command, tmp_path):
    """Measured on main: `curate --out D --metrics D/models.csv` replaced the table with the counts, exit 0."""
    out = tmp_path / "out"
    out.mkdir()
    for name in ("models.csv", "gap.json", "trends.json"):
        (out / name).write_text("keep\n")
    snapshot = RAW / "epoch_notable_ai_models_2026-03-10.csv"
    result = CliRunner().invoke(main, command(snapshot, out))
    assert result.exit_code == 2, result.output
    assert "are the same file" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["gap.json", "models.csv", "trends.json"]
    assert all((out / name).read_text() == "keep\n" for name in ("models.csv", "gap.json", "trends.json"))


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" + "".join(
    f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n" for previous, name in zip("bcdefgh", "cdefghi")
)


@pytest.mark.parametrize(
    "text, reason",
    [
        (ALIAS_BOMB + "sha256: x\n", "anchors and aliases (&, *) are not allowed"),
        ("sha256: !!python/object/apply:os.system ['true']\n", "line 1: tags ('tag:yaml.org,2002:python"),
    ],
    ids=["alias bomb", "python tag"],
)
def test_a_hostile_provenance_record_is_refused_in_one_line(text, reason, tmp_path):
    """Measured on main: an alias bomb in a *.provenance.yaml made curate hang (no answer in 200 s). Provenance
    records arrive in pull requests, so they are read as untrusted text."""
    snapshot = tmp_path / "epoch_notable_ai_models_2026-03-10.csv"
    snapshot.write_bytes((RAW / snapshot.name).read_bytes())
    snapshot.with_suffix("").with_suffix(".provenance.yaml").write_text(text)
    # In a fresh interpreter, with a bound on a hung run (not a speed requirement).
    proc = subprocess.run(
        [sys.executable, "-m", "mlsizes", "curate", str(snapshot), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"error: {snapshot.with_suffix('').with_suffix('.provenance.yaml')}: provenance")
    assert reason in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("blocked", ["models.csv", "rejected.csv", "fifo"])
def test_an_output_that_cannot_be_written_is_one_line_and_nothing_is_written(blocked, tmp_path):
    """A folder where a table goes, or a FIFO as --metrics (a rename would replace it): one line, exit 1, and
    not even the tables before it are written."""
    import os

    snapshot = write_csv(tmp_path / "snap.csv", HEADER_2026, [good_row()])
    out = tmp_path / "out"
    out.mkdir()
    metrics = out / "m.json"
    if blocked == "fifo":
        os.mkfifo(metrics)
    else:
        (out / blocked).mkdir()
    result = run_curate(snapshot, "--out", out, "--metrics", metrics)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    kind = "not a regular file" if blocked == "fifo" else "a folder"
    assert lines == [
        f"error: {out / ('m.json' if blocked == 'fifo' else blocked)}: cannot write a file there: it is {kind}"
    ]
    assert sorted(path.name for path in out.iterdir()) == ["m.json" if blocked == "fifo" else blocked]
