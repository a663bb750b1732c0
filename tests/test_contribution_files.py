"""Hostile and sloppy contribution files and add-model values: refused with a reason, never a crash or a slip.

Each class of issue 11 has its parametrized cases: crashes that must be refusals, resource exhaustion, values
YAML or Unicode would silently misread, escapes out of the folder, duplicates and look-alikes, placeholders. A
hypothesis fuzz test then feeds random files through `contribution_files.load` and `mlsizes validate`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import contributions_dir
from mlsizes.core import untrusted
from mlsizes.core.paths import Paths
from mlsizes.core.untrusted import FieldError
from mlsizes.records import contracts, contribution_files, rules
from mlsizes.stages import curate
from test_add_model import CORRECT, SNAPSHOT, invoke, model_args, tree, write_yaml

VALID_FILE = """\
id: fuzz-model-7b
name: Fuzz Model 7B
organization: Fuzz Lab
domains: Language
publication_date: '2024-04-18'
parameters: 7000000000
link: https://fuzzlab.dev/fuzz-model-7b
"""
VALID_CORRECTION = """\
correct: gpt-3-175b-davinci
fields:
  parameters:
    value: 175000000000
    reason: Table 2.1 of the paper
    link: https://arxiv.org/abs/2005.14165
"""


def model_file(**fields: str) -> str:
    """VALID_FILE with some lines replaced by raw YAML text (`field: <text>`)."""
    lines = dict(line.split(": ", 1) for line in VALID_FILE.splitlines())
    return "".join(f"{key}: {value}\n" for key, value in (lines | fields).items())


def validate_lines(*paths: str) -> tuple[int, list[str]]:
    result = invoke("validate", *paths)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout.splitlines()[:-1]


def codes_of(path: Path) -> list[str]:
    try:
        row = contribution_files.parse_record(contribution_files.read(path), path, contribution_files.source_of(path))
    except untrusted.Invalid as problem:
        return [error.code for error in problem.errors]
    return [] if row else ["?"]


# --- crashes on main that are refusals now: validate names them, everything else keeps working --------------

CRASHES = [
    ("impossible date", model_file(publication_date="2023-02-30"), "unparseable_date"),
    ("year 0", model_file(publication_date="0000-01-01"), "unparseable_date"),
    ("year 0 quoted", model_file(publication_date="'0000'"), "unparseable_date"),
    ("400-digit parameters", model_file(parameters="9" * 400), "too_long"),
    ("400-digit compute", model_file(training_compute_flop="9" * 400), "too_long"),
    ("31-digit parameters", model_file(parameters="1" * 31), "too_long"),
    ("deep nested name", model_file(name="[" * 30 + "]" * 30), "too_deep"),
    ("100,000-deep nested name", model_file(name="[" * 100_000 + "]" * 100_000), "file_too_large"),
    ("nested mapping as name", model_file(name="{a: {b: c}}"), "invalid_name"),
    ("list as parameters", model_file(parameters="[1, 2]"), "invalid_parameters"),
]


@pytest.mark.parametrize("text, code", [case[1:] for case in CRASHES], ids=[case[0] for case in CRASHES])
def test_a_file_that_crashed_is_a_refusal_with_its_code(project, text, code):
    path = write_yaml(contributions_dir(project) / "fuzz-model-7b.yaml", text)
    exit_code, lines = validate_lines()
    assert exit_code == 1 and any(
        line.startswith("project/data/raw/contributions/fuzz-model-7b.yaml: ") and line.endswith(f"({code})")
        for line in lines
    ), lines
    assert code in codes_of(path)


@pytest.mark.parametrize(
    "field, value, code",
    [
        ("publication_date", "2023-02-30", "unparseable_date"),
        ("publication_date", "'0000-01-01'", "unparseable_date"),
        ("parameters", "9" * 400, "too_long"),
        ("parameters", "[[[[x]]]]", "too_deep"),
    ],
)
def test_a_correction_with_an_impossible_value_is_a_refusal(project, field, value, code):
    write_yaml(
        contributions_dir(project) / "corrections" / "gpt-3-175b-davinci.yaml",
        VALID_CORRECTION.replace("parameters:", f"{field}:").replace("175000000000", value),
    )
    exit_code, lines = validate_lines()
    assert exit_code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("project/data/raw/contributions/corrections/gpt-3-175b-davinci.yaml: ")
    assert lines[0].endswith(f"({code})")


def test_bad_files_never_stop_add_model_or_curate_and_each_is_a_reject(project, tmp_path):
    folder = contributions_dir(project)
    for number, (_, text, _) in enumerate(CRASHES):
        write_yaml(folder / f"crash-{number}.yaml", text)
    write_yaml(
        folder / "corrections" / "gpt-3-175b-davinci.yaml",
        VALID_CORRECTION.replace("parameters:", "publication_date:").replace("175000000000", "2023-02-30"),
    )
    added = invoke("add-model", *model_args())
    assert added.exit_code == 0, added.output
    result = curate.run(
        Paths.at(tmp_path).with_curated_dir(tmp_path / "out").replace(contributions_dir=folder),
        curate.CurateSettings(SNAPSHOT, with_contributions=True),
    )
    reasons = dict(zip(result.rejected["source"], result.rejected["reject_code"]))
    assert {f"contribution:crash-{number}.yaml" for number in range(len(CRASHES))} <= reasons.keys()
    assert reasons["contribution:corrections/gpt-3-175b-davinci.yaml"] == "unparseable_date"
    assert "test-model-7b" in set(result.models["id"])


# --- resource exhaustion: refused before anything is built ----------------------------------------------------

ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))
    + "domains: *i\n"
)
HUGE = [
    ("alias bomb in domains", ALIAS_BOMB, "yaml_alias"),
    ("one alias", model_file(name="&n Fuzz Model 7B", organization="*n"), "yaml_alias"),
    ("merge key", "base: &b {name: x}\n<<: *b\n", "yaml_alias"),
    ("64 KB + 1 comment", model_file() + "#" * (64 * 1024), "file_too_large"),
    ("600-character name", model_file(name="x" * 600), "too_long"),
    ("2000-character notes", model_file(parameters_notes="n " * 1000), "too_long"),
    ("2000-character link", model_file(link="https://fuzzlab.dev/" + "a" * 2000), "too_long"),
]


@pytest.mark.parametrize("text, code", [case[1:] for case in HUGE], ids=[case[0] for case in HUGE])
def test_resource_exhaustion_is_refused(project, text, code):
    path = write_yaml(contributions_dir(project) / "fuzz-model-7b.yaml", text)
    assert code in codes_of(path)
    assert validate_lines()[0] == 1


def test_a_50_mb_file_is_refused_without_being_read(project):
    path = contributions_dir(project) / "fuzz-model-7b.yaml"
    with open(path, "wb") as handle:
        handle.truncate(50 << 20)  # sparse: 50 MB that cost nothing to write
    assert codes_of(path) == ["file_too_large"]


# --- silently wrong on main: YAML 1.1 coercions, duplicate keys, Unicode digits --------------------------------


def test_every_scalar_is_read_as_the_text_it_is():
    data = untrusted.load_text(
        "a: 1:30\nb: .nan\nc: yes\nd: on\ne: 2023-02-30\nf: 0x1F\ng: 1e3\nh: ~\ni: 'null'\nj: null\nk:\n"
    )
    assert data == {
        "a": "1:30",
        "b": ".nan",
        "c": "yes",
        "d": "on",
        "e": "2023-02-30",
        "f": "0x1F",
        "g": "1e3",
        "h": None,
        "i": "null",
        "j": None,
        "k": None,
    }


SILENT = [
    ("duplicate key", model_file() + "parameters: 70B\n", "duplicate_key"),
    ("sexagesimal parameters", model_file(parameters="1:30"), "unparseable_parameters"),
    ("nan parameters", model_file(parameters=".nan"), "unparseable_parameters"),
    ("boolean parameters", model_file(parameters="yes"), "unparseable_parameters"),
    ("hex parameters", model_file(parameters="0x1F"), "unparseable_parameters"),
    ("Arabic-Indic digits", model_file(parameters="'\u0667B'"), "unparseable_parameters"),
    ("full-width digits", model_file(parameters="'\uff17\uff10B'"), "unparseable_parameters"),
    ("Devanagari digits", model_file(training_compute_flop="'\u0967e23'"), "unparseable_training_compute_flop"),
    ("mathematical digits", model_file(parameters="'\U0001d7d5B'"), "unparseable_parameters"),
    ("Arabic-Indic date", model_file(publication_date="'\u0662\u0660\u0662\u0664'"), "unparseable_date"),
    ("python tag", model_file(name="!!python/object/apply:os.system ['true']"), "yaml_tag"),
    ("str tag", model_file(name="!!str Fuzz Model 7B"), "yaml_tag"),
    ("local tag", model_file(name="!x Fuzz Model 7B"), "yaml_tag"),
    ("list key", model_file() + "? [a, b]\n: c\n", "non_text_key"),
    ("two documents", model_file() + "---\nid: other\n", "unreadable_file"),
    ("not a mapping", "- a\n- b\n", "unreadable_file"),
    ("not UTF-8", "name: caf\xe9\n".encode("latin-1"), "unreadable_file"),
    ("a NUL byte", model_file() + "\x00", "unreadable_file"),
    ("unknown field", model_file() + "parameter: 7B\n", "unknown_field"),
    ("id not the file's name", model_file(id="other-model", name="Other Model"), "file_name_mismatch"),
]


@pytest.mark.parametrize("text, code", [case[1:] for case in SILENT], ids=[case[0] for case in SILENT])
def test_values_read_wrongly_on_main_are_refused(project, text, code):
    path = contributions_dir(project) / "fuzz-model-7b.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    assert code in codes_of(path)


def test_an_id_must_be_its_names_slug(project):
    path = write_yaml(contributions_dir(project) / "fuzz-model-7b.yaml", model_file(name="Other Model"))
    assert codes_of(path) == ["id_not_from_name"]


# --- escapes: links and hidden or nested files are refused, with a reason ---------------------------------------


def test_a_symlinked_file_is_refused_and_its_target_never_read(project, tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("name: TOP-SECRET-VALUE\n")
    folder = contributions_dir(project)
    (folder / "fuzz-model-7b.yaml").symlink_to(secret)
    (folder / "dangling.yaml").symlink_to(tmp_path / "nowhere.yaml")
    loaded = contribution_files.load(folder).typed
    assert list(loaded["reject_code"]) == ["symlink", "symlink"]
    assert "TOP-SECRET" not in loaded.to_csv()
    exit_code, lines = validate_lines()
    assert exit_code == 1 and len(lines) == 2 and all("(symlink)" in line for line in lines)


def test_a_symlinked_corrections_folder_is_refused_read_and_written(project, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "gpt-3-175b-davinci.yaml").write_text(VALID_CORRECTION.replace("Table 2.1", "TOP-SECRET-VALUE"))
    folder = contributions_dir(project)
    (folder / "corrections").symlink_to(outside, target_is_directory=True)
    loaded = contribution_files.load(folder)
    assert loaded.corrections == [] and list(loaded.typed["reject_code"]) == ["symlink"]
    assert "TOP-SECRET" not in loaded.typed.to_csv()
    before = tree(outside)
    result = invoke("add-model", *CORRECT, "--parameters", "175B")
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert tree(outside) == before
    assert invoke("validate", str(folder / "corrections" / "gpt-3-175b-davinci.yaml")).exit_code == 1


@pytest.mark.parametrize(
    "relative, code",
    [
        (".hidden.yaml", "hidden_file"),
        (".fuzz-model-7b.yaml", "hidden_file"),
        ("corrections/.gpt-3-175b-davinci.yaml", "hidden_file"),
        ("sub/fuzz-model-7b.yaml", "nested_folder"),
        ("corrections/sub/gpt-3-175b-davinci.yaml", "nested_folder"),
    ],
)
def test_hidden_and_nested_files_are_reported_not_skipped(project, relative, code):
    folder = contributions_dir(project)
    write_yaml(folder / relative, VALID_FILE)
    assert list(contribution_files.load(folder).typed["reject_code"]) == [code]
    exit_code, lines = validate_lines()
    assert exit_code == 1 and len(lines) == 1 and lines[0].endswith(f"({code})")


def test_the_folders_own_files_and_interrupted_writes_are_not_contributions(project):
    folder = contributions_dir(project)
    (folder / ".gitignore").write_text(".*.tmp\n")
    (folder / ".fuzz-model-7b.yaml.abc123.tmp").write_text("id: [half")
    assert contribution_files.load(folder).typed.empty and invoke("validate").exit_code == 0


def test_a_fifo_is_refused_without_blocking(project):
    os.mkfifo(contributions_dir(project) / "fuzz-model-7b.yaml")
    assert codes_of(contributions_dir(project) / "fuzz-model-7b.yaml") == ["not_a_file"]


def test_a_file_name_with_control_characters_is_shown_escaped_on_one_line(project):
    write_yaml(contributions_dir(project) / "evil\n\x1b[31m.yaml", VALID_FILE)
    exit_code, lines = validate_lines()
    assert exit_code == 1 and len(lines) == 1 and "\\n\\x1b[31m" in lines[0]


# --- names: control characters, look-alikes, Unicode forms --------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Bad\nName 7B",
        "Bad\tName 7B",
        "Bad\x1bName 7B",
        "Bad\x07Name 7B",
        "Bad\u202eName 7B",
        "Bad\u200bName 7B",
        "Bad\u2028Name 7B",
        "Bad\u00adName 7B",
        "Bad\x7fName 7B",
    ],
)
def test_control_and_bidi_characters_in_a_name_are_refused(name):
    with pytest.raises(contribution_files.FieldError, match="control, bidirectional") as refused:
        contribution_files.parse_field("name", name)
    assert refused.value.code == "control_character"


@pytest.mark.parametrize("quoted", ['"Bad\\0Name 7B"', '"Bad\\ud800Name 7B"', '"Bad\\u202eName 7B"', '"Bad\\eName 7B"'])
def test_control_characters_escaped_in_a_file_are_refused(project, quoted):
    path = write_yaml(contributions_dir(project) / "fuzz-model-7b.yaml", model_file(name=quoted))
    assert codes_of(path) == ["control_character"]


@pytest.mark.parametrize(
    "name, look_alike",
    [
        ("G\u0420\u0422-3 175B", "'P'"),  # Cyrillic Er and Te
        ("\u0405tarCoder 2", "'S'"),  # Cyrillic Dze
        ("Gem\u0456ni Nano", "'i'"),  # Cyrillic i
        ("\u039cistral 7B", "'M'"),  # Greek Mu
    ],
)
def test_latin_look_alikes_are_refused_with_the_letter_they_imitate(name, look_alike):
    with pytest.raises(contribution_files.FieldError, match=f"looks like Latin {look_alike}") as refused:
        contribution_files.parse_field("name", name)
    assert refused.value.code == "non_latin_name"


def test_a_name_with_no_latin_form_is_refused_not_turned_into_a_hash_id(project):
    result = invoke("add-model", *model_args(name="\u609f\u9053 2.0"))
    assert result.exit_code == 1 and "Latin script" in result.stderr


def test_full_width_and_styled_letters_are_stored_in_nfkc_form(project):
    result = invoke("add-model", *model_args(name="\uff34\uff45\uff53\uff54 Model \U0001d7d5B"), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["id"], out["record"]["name"]) == ("test-model-7b", "Test Model 7B")


@pytest.mark.parametrize(
    "name",
    ["GPT-3 175B", "gpt3 175b davinci", "G\u0420T-3 175B davinci", "GPT 3 175 B (davinci)", "GTP-3 175B davinci"],
)
def test_a_name_like_an_existing_records_is_a_likely_duplicate(name):
    names = rules.similar_names(name, pd.Series(["GPT-3 175B (davinci)", "GPT-3 6.7B", "Llama 3 70B"]))
    assert names.tolist() == [True, False, False]


# --- duplicates: the example, the release rule, --force-new, renames ------------------------------------

GPT3 = {"organization": "OpenAI", "date": "2020-05-28", "parameters": "175B"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "gpt3 175b davinci", **GPT3},
        {"name": "Davinci Three", **GPT3},  # same organization, date and size within 5% of 174.6B
        {"name": "Davinci Three", **GPT3, "date": "2020-06-20"},  # a date within a month
        {"name": "Davinci Three", **GPT3, "organization": "Microsoft,OpenAI"},  # one shared organization
    ],
)
def test_likely_duplicates_are_refused_and_force_new_records_the_exception(project, overrides):
    args = model_args(**overrides)
    refused = invoke("add-model", *args, "--json")
    assert refused.exit_code == 1 and json.loads(refused.stdout)["code"] == "likely_duplicate"
    assert "looks like existing record gpt-3-175b-davinci" in refused.stderr
    forced = invoke("add-model", *args, "--force-new")
    assert forced.exit_code == 0, forced.output
    path = next(contributions_dir(project).glob("*.yaml"))
    assert yaml.safe_load(path.read_text())["distinct_from"][0] == "gpt-3-175b-davinci"
    assert invoke("validate").exit_code == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "Davinci Three", **GPT3, "parameters": "150B"},  # size 14% off
        {"name": "Davinci Three", **GPT3, "date": "2020-08-01"},  # two months later
        {"name": "Davinci Three", **GPT3, "organization": "Other Lab"},
    ],
)
def test_near_misses_of_the_release_rule_are_new_models(project, overrides):
    result = invoke("add-model", *model_args(**overrides))
    assert result.exit_code == 0, result.output


def test_a_hand_written_duplicate_fails_validate_until_declared_distinct(project):
    path = write_yaml(
        contributions_dir(project) / "gpt3-175b-davinci.yaml",
        {
            "id": "gpt3-175b-davinci",
            "name": "gpt3 175b davinci",
            "organization": "OpenAI",
            "domains": "Language",
            "publication_date": "2020-05-28",
            "parameters": "175B",
            "link": "https://arxiv.org/abs/2005.14165",
        },
    )
    exit_code, lines = validate_lines()
    assert exit_code == 1 and lines[0].endswith("(likely_duplicate)")
    path.write_text(path.read_text() + "distinct_from: [gpt-3-175b-davinci]\n")
    assert validate_lines()[0] == 0


@pytest.mark.parametrize("new_name", ["Llama 3 70B", "llama-3 70b", "LLAMA 3 70B"])
def test_a_correction_cannot_give_a_record_another_records_name(project, new_name):
    result = invoke("add-model", *CORRECT, "--name", new_name, "--json")
    assert result.exit_code == 1 and json.loads(result.stdout)["code"] == "name_taken"
    assert "is the name of record llama-3-70b" in result.stderr
    assert not any(contributions_dir(project).rglob("*.yaml"))


def test_a_correction_may_keep_its_own_name_spelled_differently(project):
    result = invoke("add-model", *CORRECT, "--name", "GPT-3 175B (Davinci)")
    assert result.exit_code == 0, result.output


# --- placeholders: sources and reasons ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "https://...",
        "http://x",
        "https://localhost/model",
        "https://example.com/model",
        "https://www.example.org/",
        "https://model.test/",
        "http://192.168.0.1/model",
        "https://user:secret@lab.dev/",
        "https://lab.dev./x",
        "https://-lab.dev/",
        "https://\u0430rxiv.org/abs/1",
        "file:///etc/passwd",
        "https://arxiv.org:99999/",
    ],
)
def test_placeholder_and_malformed_sources_are_refused(source):
    with pytest.raises(contribution_files.FieldError) as refused:
        untrusted.check_link(source)
    assert (refused.value.field, refused.value.code) == ("link", "invalid_link")


@pytest.mark.parametrize(
    "source",
    [
        "https://arxiv.org/abs/2005.14165",
        "http://www.cs.toronto.edu/~kriz/",
        "https://xn--bcher-kva.ch/model",
        "https://huggingface.co/a/b?x=1#y",
    ],
)
def test_real_sources_are_accepted(source):
    assert untrusted.check_link(source) == source


@pytest.mark.parametrize(
    "reason", ["...", "TODO", "todo: check the paper", "<reason>", "n/a", "?", "tbd", "xx", "Reason.", "because"]
)
def test_placeholder_reasons_are_refused(reason):
    with pytest.raises(contribution_files.FieldError) as refused:
        contribution_files.check_reason(reason)
    assert refused.value.code == "placeholder_reason"


def test_add_model_refuses_the_readmes_placeholders(project):
    result = invoke(
        "add-model",
        "--correct",
        "gpt-3-175b-davinci",
        "--parameters",
        "175B",
        "--reason",
        "...",
        "--source",
        "https://...",
        "--json",
    )
    assert result.exit_code == 1
    assert [line.split(": ")[1] for line in result.stderr.splitlines()] == ["reason (--reason)", "link (--source)"]
    assert [error["code"] for error in json.loads(result.stdout)["errors"]] == ["placeholder_reason", "invalid_link"]


# --- every problem at once ----------------------------------------------------------------------------------------


def test_add_model_reports_every_bad_field_in_one_run(project):
    result = invoke(
        "add-model",
        *model_args(name="Bad\x1bName", date="2023-02-30", parameters="lots", source="https://..."),
        "--json",
    )
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == [
        "name (--name)",
        "publication_date (--date)",
        "parameters (--parameters)",
        "link (--source)",
    ]
    assert [error["code"] for error in json.loads(result.stdout)["errors"]] == [
        "control_character",
        "unparseable_date",
        "unparseable_parameters",
        "invalid_link",
    ]


def test_validate_reports_every_problem_of_a_file_one_line_each(project):
    write_yaml(
        contributions_dir(project) / "fuzz-model-7b.yaml",
        model_file(publication_date="2023-02-30", parameters="0", link="http://x", colour="red"),
    )
    exit_code, lines = validate_lines()
    assert exit_code == 1
    assert sorted(line.split(": ")[1] for line in lines) == ["colour", "link", "parameters", "publication_date"]
    assert all(line.startswith("project/data/raw/contributions/fuzz-model-7b.yaml: ") for line in lines)


def test_out_of_range_values_are_each_reported(project):
    result = invoke("add-model", *model_args(parameters="0", date="1900"), "--training-compute", "-1")
    assert result.exit_code == 1
    assert sorted(line.split(" ")[1] for line in result.stderr.splitlines()) == [
        "parameters",
        "publication_date",
        "training_compute_flop",
    ]


# --- fuzz: random files never raise, and every file is accounted for -----------------------------------------------

FILE_NAMES = [
    "fuzz-model-7b.yaml",
    "corrections/gpt-3-175b-davinci.yaml",
    "Odd Name.yml",
    ".hidden.yaml",
    "corrections/no-such-record.yaml",
]
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
structures = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
fields = st.fixed_dictionaries(
    {},
    optional={key: structures | st.text(max_size=40) for key in (*contribution_files.MODEL_KEYS, "correct", "fields")},
)


def _dumped(value) -> str:
    return yaml.safe_dump(value, allow_unicode=True)


@st.composite
def mutations(draw) -> str:
    """A valid model or correction file with random edits: text cut, inserted, repeated, or characters swapped."""
    text = draw(st.sampled_from([VALID_FILE, VALID_CORRECTION]))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        end = draw(st.integers(at, min(len(text), at + 20)))
        edit = draw(st.sampled_from(["cut", "insert", "repeat"]))
        inserted = draw(
            st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("&*!:-[]{}'\"#\n|>?%@` \t"), max_size=8)
            | st.sampled_from(["\\0", "\\u202e", "&a ", " *a", "!!python/name:os.system ", "<<: "])
        )
        text = {
            "cut": text[:at] + text[end:],
            "insert": text[:at] + inserted + text[at:],
            "repeat": text[:end] + text[at:],
        }[edit]
    return text


documents = (
    st.text(max_size=200)
    | st.binary(max_size=200).map(lambda data: data.decode("latin-1"))
    | structures.map(_dumped)
    | fields.map(_dumped)
    | mutations()
)


@pytest.fixture(scope="module")
def fuzz_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz") / "project"
    shutil.copytree(Path(__file__).resolve().parents[1] / "schemas", root / "schemas")
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(Path(__file__).resolve().parents[1] / name, root / name)
    (root / "data" / "curated").mkdir(parents=True)
    shutil.copy(
        Path(__file__).resolve().parents[1] / "data" / "curated" / "models.csv",
        root / "data" / "curated" / "models.csv",
    )
    return root


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files=st.dictionaries(st.sampled_from(FILE_NAMES), documents, min_size=1, max_size=3))
def test_fuzz_random_files_never_raise_and_every_file_is_accounted_for(fuzz_project, files):
    folder = contributions_dir(fuzz_project)
    shutil.rmtree(folder, ignore_errors=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    before = tree(fuzz_project)
    loaded = contribution_files.load(folder)
    assert len(loaded.typed) + len(loaded.corrections) == len(files)
    result = invoke("validate", "--root", str(fuzz_project))
    *problems, summary = result.stdout.splitlines()
    valid = int(summary.split()[0])
    assert summary == f"{valid} of {len(files)} contribution files valid"
    assert result.exit_code == (1 if problems else 0) and bool(problems) == (valid < len(files))
    assert all(line.count(": ") >= 2 and line.endswith(")") for line in problems)
    assert tree(fuzz_project) == before


# --- one rule book: what validate refuses, curate rejects as a whole ---------------------------------------

BAD_CORRECTIONS = {
    "size zero": ("parameters", "0", "invalid_parameters"),
    "date before the field began": ("publication_date", "1949-01-01", "invalid_publication_date"),
    "another record's name": ("name", "Chinchilla", "name_taken"),
}


@pytest.fixture(scope="module")
def rule_book_project(tmp_path_factory):
    """A project with the real contracts, params, snapshot and contribution files, and the curated table."""
    source = Path(__file__).resolve().parents[1]
    root = tmp_path_factory.mktemp("rule-book") / "project"
    shutil.copytree(source / "schemas", root / "schemas")
    shutil.copytree(source / "data" / "raw", root / "data" / "raw")
    shutil.copytree(source / "data" / "curated", root / "data" / "curated")
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(source / name, root / name)
    return root


def _curate(root: Path, out: Path):
    snapshot = root / "data" / "raw" / "epoch" / SNAPSHOT.name
    return invoke(
        "curate",
        str(snapshot),
        "--out",
        str(out),
        "--require-provenance",
        "--contributions",
        str(contributions_dir(root)),
    )


@pytest.mark.parametrize("field, value, code", BAD_CORRECTIONS.values(), ids=BAD_CORRECTIONS.keys())
def test_a_correction_validate_refuses_is_rejected_whole_by_curate_and_changes_no_record(
    rule_book_project, tmp_path, field, value, code
):
    """Measured on main: a correction setting GPT-2 (1.5B)'s parameters to 0 (or its date to 1949) was applied,
    and the record then left models.csv as `invalid_parameters` under its upstream row; one renaming a record
    "Chinchilla" was applied. validate refused both. Now both paths give the same verdict, and curate writes the
    table it writes without the file, plus one reject row naming the file."""
    root = rule_book_project
    before = _curate(root, tmp_path / "before")
    assert before.exit_code == 0, before.output
    path = contributions_dir(root) / "corrections" / "gpt-2-1-5b.yaml"
    write_yaml(
        path,
        {
            "correct": "gpt-2-1-5b",
            "fields": {field: {"value": value, "reason": "a test of the rule book", "link": "https://arxiv.org/abs/1"}},
        },
    )
    try:
        verdict = invoke("validate", "--root", str(root), str(path))
        after = _curate(root, tmp_path / "after")
    finally:
        path.unlink()
    assert verdict.exit_code == 1 and f"({code})" in verdict.stdout, verdict.output
    assert after.exit_code == 0, after.output
    assert (tmp_path / "after" / "models.csv").read_bytes() == (tmp_path / "before" / "models.csv").read_bytes()
    rejected_before = pd.read_csv(tmp_path / "before" / "rejected.csv", keep_default_na=False)
    rejected = pd.read_csv(tmp_path / "after" / "rejected.csv", keep_default_na=False)
    assert len(rejected) == len(rejected_before) + 1
    row = rejected[rejected["source"] == "contribution:corrections/gpt-2-1-5b.yaml"]
    assert row["reject_code"].tolist() == [code], rejected.tail(3).to_dict("records")


def test_a_symlinked_contributions_folder_is_refused_by_curate_and_add_model(rule_book_project, tmp_path):
    """Measured on main: with data/raw/contributions a symbolic link, curate dropped the 5 contributed models
    without a reject row, and add-model wrote its new file through the link, outside the repository."""
    root = tmp_path / "project"
    shutil.copytree(rule_book_project, root, symlinks=True)
    folder = contributions_dir(root)
    elsewhere = tmp_path / "elsewhere"
    folder.rename(elsewhere)
    folder.symlink_to(elsewhere, target_is_directory=True)
    outside = tree(elsewhere)
    curated = _curate(root, tmp_path / "out")
    assert curated.exit_code == 1, curated.output
    assert curated.stderr.strip() == f"error: {folder} is a symbolic link: make it a real folder inside the project"
    assert not (tmp_path / "out").exists()
    added = invoke("add-model", "--root", str(root), *model_args())
    assert added.exit_code == 2 and "is a symbolic link" in added.stderr, added.output
    assert tree(elsewhere) == outside


def test_add_model_names_a_refused_correction_once_in_one_line(rule_book_project):
    result = invoke(
        "add-model",
        "--root",
        str(rule_book_project),
        "--correct",
        "gpt-2-1-5b",
        "--parameters",
        "1e17",
        "--reason",
        "a test of the rule book",
        "--source",
        "https://arxiv.org/abs/1",
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [
        "error: parameters (--parameters): 1e+17 fails in_range(1, 1e+16) (schemas/curated.yaml)"
    ]


def test_every_character_the_contract_refuses_in_a_name_a_contribution_is_refused_for_first():
    """The curated contract's name rule (schemas/curated.yaml) is a guard for upstream names; a contributor hears
    of the same characters earlier, in words (control_character), never from a regular expression."""
    pattern = re.compile(contracts.curated_columns()["name"]["str_matches"])
    refused = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and not pattern.match(f"a{chr(c)}b")]
    assert {"\x00", "\u2800", "\ufe0f", "\u200b"} <= set(refused)
    for char in refused:
        with pytest.raises(FieldError) as refusal:
            untrusted.checked_text("name", f"a{char}b")
        assert refusal.value.code == "control_character", hex(ord(char))
