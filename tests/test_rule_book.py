"""One rule book: every must-fail contribution file gets the same verdict from `mlsizes validate` and from the
curate stage as `dvc repro` runs it, in a clone of this repository, and a refused file changes no record.

Measured on main (4fbae58): `dvc repro` applied a correction renaming roberta-large to "Chinchilla" and curated
likely duplicates ("GPT 3 175B"), which `validate` refused; a correction setting a size of 0 removed its record.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from conftest import BIN, ROOT

LINK = "https://arxiv.org/abs/2203.15556"


def _model(record_id: str, name: str, organization: str = "Fuzz Lab", **overrides: str) -> str:
    fields = {
        "id": record_id,
        "name": name,
        "organization": organization,
        "domains": "Language",
        "publication_date": "'2024-04-18'",
        "parameters": "7000000000",
        "link": "https://fuzzlab.dev/paper",
    } | overrides
    return "".join(f"{key}: {value}\n" for key, value in fields.items())


def _correction(target: str, **values: str) -> str:
    fields = "".join(
        f"  {field}:\n    value: {value}\n    reason: a test of the rule book\n    link: {LINK}\n"
        for field, value in values.items()
    )
    return f"correct: {target}\nfields:\n{fields}"


# file in data/raw/contributions -> (its text, the code both must refuse it with)
MUST_FAIL = {
    "gpt-3-175b.yaml": (
        _model("gpt-3-175b", "GPT 3 175B", "OpenAI", publication_date="'2020-05-28'", parameters="175000000000"),
        "likely_duplicate",
    ),
    "chinchilla-70b.yaml": (
        _model(
            "chinchilla-70b", "Chinchilla-70B", "Google DeepMind", publication_date="'2022-03-29'", parameters="7e10"
        ),
        "likely_duplicate",
    ),
    "gopher-model.yaml": (
        _model(
            "gopher-model", "Gopher Model", "DeepMind Technologies", publication_date="'2021-12-10'", parameters="28e10"
        ),
        "likely_duplicate",
    ),
    "alexnet.yaml": (_model("alexnet", "AlexNet", "University of Toronto"), "duplicate_id"),
    "braille-net.yaml": (_model("braille-net", '"Braille\\u2800Net"'), "control_character"),
    "emoji-net.yaml": (_model("emoji-net", '"Emoji\\ufe0fNet"'), "control_character"),
    "nul-net.yaml": (_model("nul-net", '"Nul\\0Net"'), "control_character"),
    "cyrillic-lab-net.yaml": (_model("cyrillic-lab-net", "Cyrillic Lab Net", "\u041epenAI"), "mixed_script"),
    "localhost-net.yaml": (
        _model("localhost-net", "Localhost Net", link="http://localhost.localdomain/paper"),
        "invalid_link",
    ),
    "zero-compute-net.yaml": (
        _model("zero-compute-net", "Zero Compute Net", training_compute_flop="0"),
        "invalid_training_compute_flop",
    ),
    "corrections/gpt-2-1-5b.yaml": (_correction("gpt-2-1-5b", parameters="'0'"), "invalid_parameters"),
    "corrections/bert-large.yaml": (
        _correction("bert-large", publication_date="'1949-01-01'"),
        "invalid_publication_date",
    ),
    "corrections/xlnet.yaml": (_correction("xlnet", name="Chinchilla"), "name_taken"),
    "corrections/alexnet.yaml": (
        _correction("alexnet", organization="DeepMind", publication_date="'2022-03-29'", parameters="7e10"),
        "likely_duplicate",
    ),
    "corrections/no-such-model.yaml": (_correction("no-such-model", parameters="7e9"), "correction_target_missing"),
}
MUST_PASS = {
    "fuzz-model-7b.yaml": _model("fuzz-model-7b", "Fuzz Model 7B"),
    "corrections/t5-11b.yaml": _correction("t5-11b", parameters="11300000000"),
}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLSIZES_ROOT": str(cwd), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """A clone with every fixture file added: validate's output, and the curate stage's outputs by `dvc repro`,
    before and after."""
    clone = tmp_path_factory.mktemp("rule-book") / "clone"
    subprocess.run(["git", "clone", "-q", "--shared", str(ROOT), str(clone)], check=True)
    before = pd.read_csv(clone / "data" / "curated" / "models.csv", keep_default_na=False)
    folder = clone / "data" / "raw" / "contributions"
    for name, text in {**{name: text for name, (text, _) in MUST_FAIL.items()}, **MUST_PASS}.items():
        (folder / name).write_text(text, encoding="utf-8")
    validated = _run(str(BIN / "mlsizes"), "validate", cwd=clone)
    repro = _run(str(BIN / "dvc"), "repro", "--single-item", "curate", cwd=clone)
    assert repro.returncode == 0, repro.stdout + repro.stderr
    curated = clone / "data" / "curated"
    return {
        "validate": validated,
        "before": before,
        "models": pd.read_csv(curated / "models.csv", keep_default_na=False),
        "rejected": pd.read_csv(curated / "rejected.csv", keep_default_na=False),
    }


def _validate_codes(output: str, name: str) -> list[str]:
    """The reason codes validate gives one file, in its order (each problem line ends with `(code)`)."""
    prefix = f"data/raw/contributions/{name}: "
    return [line.rsplit("(", 1)[1].rstrip(")") for line in output.splitlines() if line.startswith(prefix)]


@pytest.mark.parametrize("name", MUST_FAIL, ids=list(MUST_FAIL))
def test_validate_and_dvc_repro_refuse_each_must_fail_file_for_the_same_reason(verdicts, name):
    expected = MUST_FAIL[name][1]
    codes = _validate_codes(verdicts["validate"].stdout, name)
    assert codes and codes[0] == expected, verdicts["validate"].stdout
    rejected = verdicts["rejected"]
    row = rejected[rejected["source"] == f"contribution:{name}"]
    assert row["reject_code"].tolist() == [expected], rejected.tail(20).to_dict("records")


def test_validate_fails_and_names_every_refused_file(verdicts):
    validated = verdicts["validate"]
    total = len(MUST_FAIL) + len(MUST_PASS) + 6  # the repository's own five models and one correction
    assert validated.returncode == 1
    assert validated.stdout.splitlines()[-1] == f"{total - len(MUST_FAIL)} of {total} contribution files valid"
    for name in MUST_PASS:
        assert _validate_codes(validated.stdout, name) == []


def test_refused_files_change_no_record_and_valid_ones_apply(verdicts):
    """Upstream records are the same but for the one valid correction; the valid model is added."""
    before, models = verdicts["before"].set_index("id"), verdicts["models"].set_index("id")
    assert set(models.index) == set(before.index) | {"fuzz-model-7b"}
    changed = [record for record in before.index if not before.loc[record].equals(models.loc[record])]
    assert changed == ["t5-11b"]
    assert models.at["t5-11b", "parameters"] == "11300000000"
    assert models.at["t5-11b", "field_sources"] == "parameters=contribution:corrections/t5-11b.yaml"
