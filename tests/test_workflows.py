"""The CI workflows stay a few lines: every project command they run is a `make` target or an `mlsizes` command
(with options) that exists and that the tests exercise."""

from __future__ import annotations

import re
import shlex

import yaml

from conftest import ROOT
from mlsizes.cli import main

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# The commands the workflows may call, and the test files that exercise each.
EXERCISED = {
    ("make", "test"): ".ci/run, every CI run",
    ("make", "venv"): "Makefile, every CI run",
    ("mlsizes", "validate"): "tests/test_add_model.py",
    ("mlsizes", "diff"): "tests/test_versions.py",
    ("mlsizes", "update"): "tests/test_update.py",
}


def _commands(workflow: dict) -> list[list[str]]:
    """The make and mlsizes command lines of every `run:` step."""
    found = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            for line in step.get("run", "").splitlines():
                for part in re.split(r"&&|\|\||;", line):
                    words = shlex.split(part.split(">")[0])
                    if words and (words[0] == "make" or words[0].endswith("mlsizes")):
                        found.append([words[0].rsplit("/", 1)[-1], *words[1:]])
    return found


def test_two_workflows_a_pull_request_check_and_a_weekly_update():
    names = {path.name for path in WORKFLOWS}
    assert names == {"pull-request.yml", "weekly-update.yml"}
    triggers = {path.name: yaml.safe_load(path.read_text())[True] for path in WORKFLOWS}  # YAML 1.1: on -> True
    assert "pull_request" in triggers["pull-request.yml"] and "schedule" in triggers["weekly-update.yml"]


def test_workflows_call_only_exercised_make_and_mlsizes_commands_with_real_options():
    seen = set()
    for path in WORKFLOWS:
        for words in _commands(yaml.safe_load(path.read_text())):
            key = (words[0], words[1])
            assert key in EXERCISED, (path.name, words)
            seen.add(key)
            if words[0] == "mlsizes":
                command = main.get_command(None, words[1])
                options = {name for param in command.params for name in getattr(param, "opts", [])}
                for word in words[2:]:
                    assert not word.startswith("--") or word in options, (path.name, word)
    assert {("make", "test"), ("mlsizes", "validate"), ("mlsizes", "diff"), ("mlsizes", "update")} <= seen
