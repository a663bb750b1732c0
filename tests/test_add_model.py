"""`mlsizes add-model` and `mlsizes validate`: parsing, refusals, files, curation, concurrency, kills, speed.

Every test works on a temporary copy of the project (schemas, params.yaml, the curated table), pointed to by
MLSIZES_ROOT, so nothing here writes into the real data/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import random
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from conftest import RAW, ROOT, contributions_dir
from mlsizes.cli import main
from mlsizes.core.paths import Paths
from mlsizes.records import contribution_files, rules
from mlsizes.stages import curate
from mlsizes.workflows import add_model

MLSIZES = str(Path(sys.executable).parent / "mlsizes")
SNAPSHOT = RAW / "epoch_notable_ai_models_2026-03-10.csv"
HEAVY_MODULES = {"great_expectations", "dvc", "matplotlib"}
VALID = {
    "--name": "Test Model 7B",
    "--organization": "Test Lab",
    "--domain": "Language",
    "--date": "2024-04-18",
    "--parameters": "7B",
    "--source": "https://testlab.dev/test-model-7b",
}
CORRECT = [
    "--correct",
    "gpt-3-175b-davinci",
    "--reason",
    "Table D.1 of the paper",
    "--source",
    "https://arxiv.org/abs/2005.14165",
]


def model_args(**overrides: str | None) -> list[str]:
    """add-model options for a valid new model, with some replaced (None drops the option)."""
    options = {**VALID, **{f"--{key.replace('_', '-')}": value for key, value in overrides.items()}}
    return [part for option, value in options.items() if value is not None for part in (option, value)]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under the folder (hidden ones too) and its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MLSIZES, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120, **kwargs
    )


# --- parsing: the values a person types -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("70B", 7e10),
        ("70b", 7e10),
        ("1.2T", 1.2e12),
        ("340M", 3.4e8),
        ("175,000,000,000", 1.75e11),
        ("1.75e11", 1.75e11),
        ("7e10", 7e10),
        (" 41.1B ", 4.11e10),
    ],
)
def test_parameter_spellings(text, expected):
    assert contribution_files.parse_field("parameters", text)["parameters"] == pytest.approx(expected)


@pytest.mark.parametrize(
    "text, iso, precision, stored",
    [
        ("2024-04-18", "2024-04-18", "day", "2024-04-18"),
        ("2024-04", "2024-04-15", "month", "2024-04"),
        ("2024", "2024-07-01", "year", "2024"),
    ],
)
def test_dates_keep_their_precision_in_the_file_and_the_record(project, text, iso, precision, stored):
    result = invoke("add-model", *model_args(date=text), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["record"]["publication_date"], out["record"]["date_precision"]) == (iso, precision)
    assert yaml.safe_load(Path(out["path"]).read_text())["publication_date"] == stored


def test_domain_is_case_insensitive_and_canonicalised(project):
    result = invoke("add-model", *model_args(domain="vision, language"), "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)["record"]
    assert (record["domains"], record["primary_domain"]) == ("Language,Vision", "Language")


def test_similar_names_match_across_punctuation_and_suffixes_but_not_other_sizes():
    names = pd.Series(["GPT-3 175B (davinci)", "Llama 3 8B"])
    assert rules.similar_names("gpt3 175b", names).tolist() == [True, False]
    assert rules.similar_names("Llama 3 70B", names).tolist() == [False, False]


def test_name_keys_of_many_names_are_each_names_own():
    """name_key_table makes ASCII names' keys over joined text: each must be what name_keys gives alone,
    brackets left open, NUL bytes, Cyrillic and letters whose lower case is ASCII (Kelvin sign) included."""
    names = [
        "GPT-3 175B (davinci)",
        "GРТ-3 175B",
        None,
        "",
        "a(b",
        "a)b(c)d[e]f",
        "\u212a 1",
        "x\x00(y",
        "12a3",
        "AB [c",
    ]
    table = rules.name_key_table(pd.Series(names * 2))
    expected = [(*rules.name_keys(n or ""), re.sub("[^0-9]", "", rules.name_keys(n or "")[0])) for n in names]
    assert [tuple(keys) for keys in table.itertuples(index=False)] == expected * 2
    assert expected[0][:2] == ("gpt3175bdavinci", "gpt3175b") and expected[1][0] == "gpt3175b"
    assert rules.similar_names("gpt 3 175b", pd.Series(names), rules.name_key_table(pd.Series(names))).tolist() == [
        True,
        True,
        *[False] * 8,
    ]


def test_near_finds_the_records_sharing_a_key_as_the_whole_key_table_does(monkeypatch):
    """near looks for keys in names joined a chunk at a time and makes keys only where it finds one: the records it
    returns must be those sharing an id, a key or the digits of a key in the whole key table (chunks of 3 names
    here, so some chunks are passed over; Cyrillic, NUL, brackets and the Kelvin sign in names)."""
    monkeypatch.setattr(rules, "_KEY_CHUNK", 3)
    names = ["GPT-3 175B (davinci)", "T5", "a)b", "GРТ-3 175B", "\u212a 1", "BERT [base]", None, "x\x00(y", "Llama 3"]
    names += ["GPT\uff13 XL", "Mamba", "ab"]  # a fullwidth digit: only its own key says gpt3xl
    existing = pd.DataFrame({"id": [f"r{i}" for i in range(len(names))], "name": names, "parameters": None})
    for rows in ([{"name": "gpt3 175b"}], [{"name": "K1"}], [{"name": "bert"}, {"id": "r8"}], [{"name": "GPT-3 XL"}]):
        keyed = rules.with_name_keys(existing)
        wanted = [rules.name_keys(row["name"]) for row in rows if "name" in row]
        digits = ["".join(re.findall(r"\d+", full)) for full, _ in wanted]
        expected = keyed[
            keyed["id"].isin([row.get("id") for row in rows])
            | keyed["_name_key"].isin([full for full, _ in wanted])
            | keyed["_bare_name_key"].isin([bare for _, bare in wanted])
            | keyed["_name_digits"].isin(digits)
        ]
        assert rules.near(rows, existing).equals(expected), rows


def test_as_of_comes_from_params_top_level_then_analysis_then_snapshot(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text('as_of: "2025-01-02"\nanalysis: {as_of: "2024-01-01"}\n')
    assert add_model.read_as_of(Paths.at(tmp_path)).isoformat() == "2025-01-02"
    params.write_text('analysis: {as_of: "2024-01-01"}\n')
    assert add_model.read_as_of(Paths.at(tmp_path)).isoformat() == "2024-01-01"
    params.write_text("snapshot: epoch_notable_ai_models_2024-07-16\n")
    assert add_model.read_as_of(Paths.at(tmp_path)).isoformat() == "2024-07-16"


# --- adding a model ----------------------------------------------------------------------------------------


def test_add_model_writes_one_file_named_by_id_and_prints_id_and_path(project):
    result = invoke("add-model", *model_args(parameters="175,000,000,000"))
    assert result.exit_code == 0, result.output
    path = contributions_dir(project) / "test-model-7b.yaml"
    assert "test-model-7b" in result.stdout and str(path.relative_to(Path.cwd())) in result.stdout
    data = yaml.safe_load(path.read_text())
    assert data == {
        "id": "test-model-7b",
        "name": "Test Model 7B",
        "organization": "Test Lab",
        "domains": "Language",
        "publication_date": "2024-04-18",
        "parameters": 175_000_000_000,
        "link": "https://testlab.dev/test-model-7b",
    }
    assert invoke("validate").exit_code == 0


def test_optional_fields_are_kept(project):
    result = invoke("add-model", *model_args(), "--training-compute", "6.3e23", "--notes", "Table 1")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((contributions_dir(project) / "test-model-7b.yaml").read_text())
    assert (data["training_compute_flop"], data["parameters_notes"]) == (6.3e23, "Table 1")


def test_the_project_is_found_from_a_subfolder_without_the_environment_variable(project, monkeypatch):
    monkeypatch.delenv("MLSIZES_ROOT")
    monkeypatch.chdir(project / "data" / "curated")
    result = invoke("add-model", *model_args())
    assert result.exit_code == 0, result.output
    assert (contributions_dir(project) / "test-model-7b.yaml").is_file()


def test_dry_run_shows_the_file_and_writes_nothing(project):
    before = tree(contributions_dir(project))
    result = invoke("add-model", *model_args(), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would write" in result.stdout and "id: test-model-7b" in result.stdout
    assert tree(contributions_dir(project)) == before


def test_json_output_of_success_and_of_an_error(project):
    ok = json.loads(invoke("add-model", *model_args(), "--json").stdout)
    assert ok["ok"] and ok["id"] == "test-model-7b" and ok["record"]["parameters"] == 7e9
    bad = invoke("add-model", *model_args(name="Other 1B", parameters="lots"), "--json")
    assert bad.exit_code == 1
    assert json.loads(bad.stdout) | {"message": None, "errors": None} == {
        "ok": False,
        "field": "parameters",
        "code": "unparseable_parameters",
        "message": None,
        "errors": None,
    }
    assert [error["code"] for error in json.loads(bad.stdout)["errors"]] == ["unparseable_parameters"]


def test_force_new_adds_a_likely_duplicate_with_a_warning(project):
    args = model_args(name="gpt3 175b", organization="OpenAI", date="2020-05-28", parameters="175B")
    assert invoke("add-model", *args).exit_code == 1
    result = invoke("add-model", *args, "--force-new")
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "gpt-3-175b-davinci" in result.stderr


def test_the_same_model_twice_is_refused(project):
    assert invoke("add-model", *model_args()).exit_code == 0
    before = tree(contributions_dir(project))
    again = invoke("add-model", *model_args())
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert tree(contributions_dir(project)) == before


# --- the bad-input corpus: one line naming the field, the exit code, nothing written --------------------------

BAD_INPUTS = [
    # usage errors (exit 2): an option missing or in conflict
    ("no options", [], 2, "name"),
    ("no name", model_args(name=None), 2, "--name"),
    ("no organization", model_args(organization=None), 2, "--organization"),
    ("no domain", model_args(domain=None), 2, "--domain"),
    ("no date", model_args(date=None), 2, "--date"),
    ("no parameters", model_args(parameters=None), 2, "--parameters"),
    ("no source", model_args(source=None), 2, "--source"),
    ("unknown option", [*model_args(), "--bogus"], 2, "--bogus"),
    ("option without value", [*model_args(), "--parameters"], 2, "--parameters"),
    ("correct nothing", CORRECT, 2, "--correct"),
    (
        "correct without reason",
        ["--correct", "gpt-3-175b-davinci", "--parameters", "175B", "--source", "https://arxiv.org/abs/2005.14165"],
        2,
        "--reason",
    ),
    (
        "correct without source",
        ["--correct", "gpt-3-175b-davinci", "--parameters", "175B", "--reason", "stated in the model card"],
        2,
        "--source",
    ),
    ("reason without correct", [*model_args(), "--reason", "because"], 2, "--reason"),
    ("force-new with correct", [*CORRECT, "--parameters", "175B", "--force-new"], 2, "--force-new"),
    ("root missing", [*model_args(), "--root", "/no/such/folder"], 2, "--root"),
    ("root not a project", [*model_args(), "--root", "/"], 2, "not a project (no dvc.yaml in it)"),
    # invalid records (exit 1): the value of a field
    ("parameters text", model_args(parameters="abc"), 1, "parameters"),
    ("parameters negative", model_args(parameters="-70B"), 1, "parameters"),
    ("parameters zero", model_args(parameters="0"), 1, "parameters"),
    ("parameters implausible", model_args(parameters="1e17"), 1, "parameters"),
    ("parameters overflow", model_args(parameters="1e400"), 1, "parameters"),
    ("parameters inf", model_args(parameters="inf"), 1, "parameters"),
    ("parameters nan", model_args(parameters="nan"), 1, "parameters"),
    ("parameters bad suffix", model_args(parameters="70X"), 1, "parameters"),
    ("parameters below one", model_args(parameters="0.5"), 1, "parameters"),
    ("parameters bad commas", model_args(parameters="1,2,3"), 1, "parameters"),
    ("parameters empty", model_args(parameters=""), 1, "parameters"),
    ("parameters two suffixes", model_args(parameters="70 B B"), 1, "parameters"),
    ("date month 13", model_args(date="2024-13-01"), 1, "publication_date"),
    ("date 30 February", model_args(date="2024-02-30"), 1, "publication_date"),
    ("date before 1950", model_args(date="1949-12-31"), 1, "publication_date"),
    ("year before 1950", model_args(date="1900"), 1, "publication_date"),
    ("date after the contract's range", model_args(date="2101-01-01"), 1, "publication_date"),
    ("month after the contract's range", model_args(date="2101-12"), 1, "publication_date"),
    ("date word", model_args(date="yesterday"), 1, "publication_date"),
    ("date two-digit year", model_args(date="18/04/24"), 1, "publication_date"),
    ("date empty", model_args(date=""), 1, "publication_date"),
    ("domain typo", model_args(domain="Langauge"), 1, "did you mean 'Language'"),
    ("domain unknown", model_args(domain="Foo"), 1, "domains"),
    ("domain empty", model_args(domain=""), 1, "domains"),
    ("domain one of two unknown", model_args(domain="Language,Foo"), 1, "domains"),
    ("source ftp", model_args(source="ftp://testlab.dev/a"), 1, "link (--source)"),
    ("source no scheme", model_args(source="testlab.dev/model"), 1, "link (--source)"),
    ("source no host", model_args(source="https://"), 1, "link (--source)"),
    ("source javascript", model_args(source="javascript:alert(1)"), 1, "link (--source)"),
    ("source with space", model_args(source="https://exa mple.org"), 1, "link (--source)"),
    ("name empty", model_args(name=""), 1, "name"),
    ("name blank", model_args(name="   "), 1, "name"),
    ("name too long", model_args(name="x" * 301), 1, "name"),
    ("organization empty", model_args(organization=""), 1, "organization"),
    ("compute negative", [*model_args(), "--training-compute", "-5"], 1, "training_compute_flop"),
    ("compute text", [*model_args(), "--training-compute", "lots"], 1, "training_compute_flop"),
    ("id taken upstream", model_args(name="GPT-3 175B (davinci)"), 1, "name"),
    ("likely duplicate by name", model_args(name="gpt3 175b", organization="OpenAI"), 1, "name"),
    (
        "likely duplicate by release",
        model_args(name="Llama Three Seventy", organization="Meta AI", date="2024-04-18", parameters="70B"),
        1,
        "name",
    ),
    (
        "correct unknown id",
        [
            "--correct",
            "no-such-model",
            "--parameters",
            "1B",
            "--reason",
            "stated in the model card",
            "--source",
            "https://testlab.dev",
        ],
        1,
        "correct",
    ),
    (
        "correct path traversal",
        [
            "--correct",
            "../../etc/passwd",
            "--parameters",
            "1B",
            "--reason",
            "stated in the model card",
            "--source",
            "https://testlab.dev",
        ],
        1,
        "correct",
    ),
    (
        "correct hidden file",
        [
            "--correct",
            ".hidden",
            "--parameters",
            "1B",
            "--reason",
            "stated in the model card",
            "--source",
            "https://testlab.dev",
        ],
        1,
        "correct",
    ),
    (
        "correct upper case id",
        [
            "--correct",
            "GPT-3",
            "--parameters",
            "1B",
            "--reason",
            "stated in the model card",
            "--source",
            "https://testlab.dev",
        ],
        1,
        "correct",
    ),
    ("correct bad parameters", [*CORRECT, "--parameters", "abc"], 1, "parameters"),
    ("correct zero parameters", [*CORRECT, "--parameters", "0"], 1, "parameters"),
    ("correct date past the contract", [*CORRECT, "--date", "2101-01-01"], 1, "publication_date"),
    (
        "correct bad source",
        [
            "--correct",
            "gpt-3-175b-davinci",
            "--parameters",
            "175B",
            "--reason",
            "stated in the model card",
            "--source",
            "not a url",
        ],
        1,
        "link",
    ),
    (
        "correct blank reason",
        [
            "--correct",
            "gpt-3-175b-davinci",
            "--parameters",
            "175B",
            "--reason",
            "  ",
            "--source",
            "https://arxiv.org/abs/2005.14165",
        ],
        1,
        "reason",
    ),
]


def test_the_corpus_is_large_enough():
    assert len(BAD_INPUTS) >= 40


@pytest.mark.parametrize(
    "args, exit_code, names", [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS]
)
def test_bad_input_is_one_line_naming_the_field_with_its_exit_code_and_writes_nothing(project, args, exit_code, names):
    before = tree(contributions_dir(project))
    result = invoke("add-model", *args)
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert names in lines[0]
    assert result.stdout == ""
    assert tree(contributions_dir(project)) == before


# --- corrections -------------------------------------------------------------------------------------------


def test_a_correction_overrides_only_its_fields_and_merges_with_earlier_ones(project):
    first = invoke("add-model", *CORRECT, "--parameters", "175B")
    assert first.exit_code == 0, first.output
    second = invoke(
        "add-model",
        "--correct",
        "gpt-3-175b-davinci",
        "--date",
        "2020-05",
        "--reason",
        "month of the arXiv version",
        "--source",
        "https://arxiv.org/abs/2005.14165",
        "--json",
    )
    assert second.exit_code == 0, second.output
    record = json.loads(second.stdout)["record"]
    assert (record["parameters"], record["publication_date"], record["date_precision"]) == (
        1.75e11,
        "2020-05-15",
        "month",
    )
    assert record["name"] == "GPT-3 175B (davinci)" and record["organization"] == "OpenAI"
    source = "contribution:corrections/gpt-3-175b-davinci.yaml"
    assert record["field_sources"] == f"parameters={source};publication_date={source}"
    data = yaml.safe_load((contributions_dir(project) / "corrections" / "gpt-3-175b-davinci.yaml").read_text())
    assert data["fields"]["parameters"] == {
        "value": 175_000_000_000,
        "reason": "Table D.1 of the paper",
        "link": "https://arxiv.org/abs/2005.14165",
    }


def test_a_contributed_model_can_be_corrected(project):
    assert invoke("add-model", *model_args()).exit_code == 0
    result = invoke(
        "add-model",
        "--correct",
        "test-model-7b",
        "--parameters",
        "6.7B",
        "--reason",
        "model card",
        "--source",
        "https://testlab.dev/card",
    )
    assert result.exit_code == 0, result.output


# --- the curate stage -------------------------------------------------------------------------------------


def write_yaml(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False) if not isinstance(data, str) else data)
    return path


def test_curate_includes_contributions_applies_corrections_and_accounts_for_every_file(project, tmp_path):
    folder = contributions_dir(project)
    assert invoke("add-model", *model_args()).exit_code == 0
    assert invoke("add-model", *CORRECT, "--parameters", "175B").exit_code == 0
    write_yaml(
        folder / "corrections" / "vanished-model.yaml",
        {
            "correct": "vanished-model",
            "fields": {"parameters": {"value": 5, "reason": "stated in the model card", "link": "https://testlab.dev"}},
        },
    )
    write_yaml(folder / "broken.yaml", "id: broken\nname: [unclosed\n")
    write_yaml(
        folder / "llama-3-70b.yaml",
        {
            "id": "llama-3-70b",
            "name": "Llama 3 70B",
            "organization": "Meta AI",
            "domains": "Language",
            "publication_date": "2024-04-18",
            "parameters": "70B",
            "link": "https://ai.meta.com/blog/meta-llama-3/",
        },
    )
    write_yaml(folder / "misnamed.yml", {"id": "misnamed"})
    result = curate.run(
        Paths.at(tmp_path).with_curated_dir(tmp_path / "out").replace(contributions_dir=folder),
        curate.CurateSettings(SNAPSHOT, with_contributions=True),
    )
    models, rejected, metrics = result.models.set_index("id"), result.rejected, result.metrics
    added = models.loc["test-model-7b"]
    assert (added["source"], added["link"], added["parameters"]) == (
        "contribution:test-model-7b.yaml",
        "https://testlab.dev/test-model-7b",
        7e9,
    )
    corrected = models.loc["gpt-3-175b-davinci"]
    assert corrected["parameters"] == 1.75e11 and corrected["source"].startswith("epoch:")
    assert corrected["field_sources"] == "parameters=contribution:corrections/gpt-3-175b-davinci.yaml"
    reasons = dict(zip(rejected["source"], rejected["reject_code"]))
    assert reasons["contribution:corrections/vanished-model.yaml"] == "correction_target_missing"
    assert reasons["contribution:broken.yaml"] == "unreadable_file"
    assert reasons["contribution:llama-3-70b.yaml"] == "duplicate_id"
    assert reasons["contribution:misnamed.yml"] == "file_name_mismatch"
    assert metrics["contribution_rows"] == 6 and metrics["corrections_applied"] == 1
    assert metrics["input_rows"] == metrics["curated"] + metrics["rejected"] + metrics["corrections_applied"]
    assert metrics["raw_rows"] + metrics["contribution_rows"] == metrics["input_rows"]
    assert pd.read_csv(tmp_path / "out" / "models.csv")["id"].is_unique


def test_a_model_published_after_the_as_of_date_is_accepted_curated_marked_and_not_analysed(project, tmp_path):
    """Measured on main: add-model, validate and curate refused every model published after the dataset's as-of
    date (date_after_as_of), so this year's models could not be contributed until upstream moved. One rule now:
    accepted by all three, curated with a note saying so, and left out of the analysis until the as-of date
    reaches it."""
    from mlsizes.analysis import study
    from mlsizes.core.settings import AnalysisParams, read_params
    from mlsizes.records import contracts

    note = rules.ahead_note(add_model.read_as_of(Paths.at(project)))
    assert "2026-03-10" in note
    added = invoke("add-model", *model_args(name="Late Model 9B", date="2026-06-01"))
    assert added.exit_code == 0, added.output
    assert f"warning: late-model-9b: {note}" in added.stderr
    corrected = invoke(
        "add-model", "--correct", "bert-large", "--date", "2026-05", "--reason", "the paper's final version",
        "--source", "https://testlab.dev/bert",
    )  # fmt: skip
    assert corrected.exit_code == 0, corrected.output
    assert f"warning: bert-large: {note}" in corrected.stderr
    checked = invoke("validate")
    assert checked.exit_code == 0, checked.output
    assert f"late-model-9b.yaml: note: late-model-9b: {note}" in checked.stdout
    assert f"bert-large.yaml: note: bert-large: {note}" in checked.stdout
    out = tmp_path / "out"
    result = invoke(
        "curate", str(SNAPSHOT), "--out", str(out), "--contributions", str(contributions_dir(project)), "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rejected"] == 1  # upstream's one reject, nothing of ours
    assert "note: 2 contributed records published after the as-of date 2026-03-10 are curated" in result.stderr
    assert result.stderr.rstrip().endswith("reaches them: bert-large, late-model-9b")
    models = contracts.read_curated(out / "models.csv").set_index("id")
    for record_id, date in (("late-model-9b", "2026-06-01"), ("bert-large", "2026-05-15")):
        assert models.loc[record_id, "publication_date"] == date
        assert models.loc[record_id, "curation_notes"].endswith(note)
    assert sum(note in str(notes) for notes in models["curation_notes"]) == 2
    params = AnalysisParams.from_dict(read_params(project / "params.yaml")["analysis"], as_of=dt.date(2026, 3, 10))
    selected = set(study.select_systems(models.reset_index(), params)["id"])
    assert "late-model-9b" not in selected and "bert-large" not in selected and "gpt-3-175b-davinci" in selected


def test_the_pipeline_curates_the_contributions_folder():
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["curate"]
    assert "--contributions data/raw/contributions" in stage["cmd"]
    assert "data/raw/contributions" in stage["deps"] and "src/mlsizes/records/contribution_files.py" in stage["deps"]


# --- validate ----------------------------------------------------------------------------------------------


def test_validate_reports_each_invalid_file_and_exits_1(project):
    folder = contributions_dir(project)
    assert invoke("add-model", *model_args()).exit_code == 0
    write_yaml(
        folder / "bad-params.yaml",
        {
            "id": "bad-params",
            "name": "Bad Params",
            "organization": "Lab",
            "domains": "Language",
            "publication_date": "2024-01-01",
            "parameters": -3,
            "link": "https://testlab.dev",
        },
    )
    write_yaml(folder / "escape.yaml", {"id": "../escape", "name": "Escape"})
    write_yaml(folder / "evil.yaml", "!!python/object/apply:os.system ['touch pwned']\n")
    write_yaml(
        folder / "corrections" / "gone.yaml",
        {
            "correct": "gone",
            "fields": {
                "parameters": {"value": "1B", "reason": "stated in the model card", "link": "https://testlab.dev"}
            },
        },
    )
    write_yaml(folder / ".hidden.yaml", "not: [valid\n")
    result = invoke("validate")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[-1] == "1 of 6 contribution files valid"
    problems = "\n".join(lines[:-1])
    for expected in (
        "bad-params.yaml: parameters:",
        "escape.yaml: id:",
        "evil.yaml: file:",
        "gone.yaml: correct:",
        ".hidden.yaml: file:",
    ):
        assert expected in problems
    assert not (Path.cwd() / "pwned").exists()
    report = json.loads(invoke("validate", "--json").stdout)
    assert not report["ok"] and {f["code"] for f in report["files"] if not f["ok"]} == {
        "invalid_parameters",
        "invalid_id",
        "yaml_tag",
        "correction_target_missing",
        "hidden_file",
    }
    assert invoke("validate", str(folder / "test-model-7b.yaml")).exit_code == 0


def test_validate_with_no_contributions_passes(project):
    result = invoke("validate")
    assert result.exit_code == 0 and "0 of 0" in result.stdout


def test_validate_a_missing_path_is_a_usage_error(project):
    result = invoke("validate", "no-such-file.yaml")
    assert result.exit_code == 2 and result.stderr.startswith("error: no-such-file.yaml")


# --- terminals ---------------------------------------------------------------------------------------------


def _read_until(fd: int, text: str, timeout: float = 30) -> str:
    seen, deadline = "", time.monotonic() + timeout
    while text not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no {text!r} within {timeout} s; saw {seen!r}")
        seen += os.read(fd, 4096).decode(errors="replace")
    return seen


def test_on_a_terminal_missing_fields_are_asked_for_with_the_vocabulary(project):
    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(
        [MLSIZES, "add-model"], stdin=child_fd, stdout=child_fd, stderr=child_fd, env=os.environ.copy()
    )
    os.close(child_fd)
    try:
        for prompt, answer in [("Name", "Prompted Model 3B"), ("Organization", "Prompt Lab")]:
            _read_until(main_fd, prompt)
            os.write(main_fd, f"{answer}\n".encode())
        shown = _read_until(main_fd, "Domain(s)")
        assert "Language, Vision" in shown
        os.write(main_fd, b"Langauge\n")
        _read_until(main_fd, "did you mean 'Language'")
        os.write(main_fd, b"Language\n")
        for prompt, answer in [
            ("Publication date", "2024-05"),
            ("Parameters", "3B"),
            ("Source URL", "https://testlab.dev/prompted"),
        ]:
            _read_until(main_fd, prompt)
            os.write(main_fd, f"{answer}\n".encode())
        _read_until(main_fd, "added prompted-model-3b")
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        os.close(main_fd)
    assert yaml.safe_load((contributions_dir(project) / "prompted-model-3b.yaml").read_text())["parameters"] == 3e9


def test_without_a_terminal_missing_fields_are_an_error_not_a_hang(project):
    proc = run("add-model", stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "stdin is not a terminal" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


# --- concurrency and interruption --------------------------------------------------------------------------


def test_four_concurrent_writers_of_different_models_leave_four_valid_files(project):
    procs = [
        subprocess.Popen(
            [MLSIZES, "add-model", *model_args(name=f"Parallel Model {i}", parameters=f"{i}1B")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outcomes = [(proc.wait(timeout=120), proc.stderr.read()) for proc in procs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    files = sorted(p.name for p in contributions_dir(project).glob("*.yaml"))
    assert files == [f"parallel-model-{i}.yaml" for i in range(4)]
    assert invoke("validate").exit_code == 0


def test_two_concurrent_writers_of_the_same_model_leave_one_file_and_a_clear_error(project):
    procs = [
        subprocess.Popen(
            [MLSIZES, "add-model", *model_args(parameters=size)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for size in ("7B", "8B")
    ]
    outcomes = sorted((proc.wait(timeout=120), proc.stderr.read()) for proc in procs)
    assert [code for code, _ in outcomes] == [0, 1]
    assert "already exists" in outcomes[1][1] and len(outcomes[1][1].splitlines()) == 1
    assert [p.name for p in contributions_dir(project).glob("*.yaml")] == ["test-model-7b.yaml"]


def _wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# Runs add-model with every file write paused halfway (the hook is injected here, not built into the code), so
# the test can kill the writer exactly mid-write.
PAUSED_MID_WRITE = """
import os, sys, time
real_fdopen = os.fdopen

class HalfThenPause:
    def __init__(self, handle):
        self.handle = handle
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self.handle.__exit__(*exc)
    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        time.sleep(60)
        return self.handle.write(data[len(data) // 2:])
    def __getattr__(self, name):
        return getattr(self.handle, name)

os.fdopen = lambda *args, **kwargs: HalfThenPause(real_fdopen(*args, **kwargs))
from mlsizes.cli import main
sys.argv = ["mlsizes", *sys.argv[1:]]
main()
"""


def test_a_writer_killed_mid_write_leaves_no_file_and_the_next_writer_cleans_up(project):
    folder = contributions_dir(project)
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED_MID_WRITE, "add-model", *model_args()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(lambda: any(folder.glob(".*.tmp")))
    partial = next(folder.glob(".*.tmp")).read_text()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (folder / "test-model-7b.yaml").exists()
    assert partial.startswith("# A model contributed") and "link:" not in partial
    assert contribution_files.load(folder).typed.empty and invoke("validate").exit_code == 0
    again = run("add-model", *model_args())  # the lock died with the killed writer
    assert again.returncode == 0, again.stderr
    assert not any(folder.glob(".*.tmp"))
    assert invoke("validate").exit_code == 0


def test_writers_killed_at_random_moments_never_leave_a_partial_file(project):
    folder = contributions_dir(project)
    rng = random.Random(4)
    started = []
    for i in range(6):
        started.append(f"killed-model-{i}.yaml")
        proc = subprocess.Popen(
            [MLSIZES, "add-model", *model_args(name=f"Killed Model {i}")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.0, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        for path in folder.glob("*.yaml"):
            assert path.name in started
            assert contribution_files.parse_record(contribution_files.read(path), path, "contribution:x")
    assert invoke("validate").exit_code == 0


# --- the fast paths import no heavy library (their timings: `make bench`, bench/harness.py) ---


def _imported_by(args: list[str]) -> set[str]:
    code = (
        "import sys\nfrom mlsizes.cli import main\nsys.argv = ['mlsizes', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    return set(proc.stderr.splitlines()[-1].split())


@pytest.mark.parametrize(
    "args", [["--help"], ["add-model", *model_args()], ["validate"]], ids=["help", "add-model", "validate"]
)
def test_fast_commands_import_no_heavy_library(project, args):
    assert not _imported_by(args) & HEAVY_MODULES
