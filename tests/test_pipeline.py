"""The DVC pipeline's promise: a stage is stale whenever anything it reads changes, and a fresh clone is built.

What a stage reads is worked out here independently of dvc.yaml: the `mlsizes` command in its `cmd`, the
modules that command imports (statically, function-level imports included) and everything they import in turn,
and the contracts in schemas/ those modules name. Every one of them must be covered by a dep of the stage.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import BIN, ROOT

PACKAGE = ROOT / "src" / "mlsizes"
SCHEMAS = ROOT / "schemas"


def _module_path(name: str) -> Path | None:
    """`mlsizes.records.ingest` -> src/mlsizes/records/ingest.py, a package -> its __init__.py; None for anything
    outside the package."""
    if name != "mlsizes" and not name.startswith("mlsizes."):
        return None
    relative = Path(*name.split(".")[1:])
    for path in (PACKAGE / relative.with_suffix(".py"), PACKAGE / relative / "__init__.py"):
        if path.is_file():
            return path
    return None


def _with_packages(path: Path) -> set[Path]:
    """A module and the __init__.py of every package above it (Python runs them all to import it)."""
    found, folder = {path}, path.parent
    while folder != PACKAGE.parent:
        found.add(folder / "__init__.py")
        folder = folder.parent
    return found


def _imported(nodes) -> set[Path]:
    """The package modules imported anywhere in these AST nodes (`from mlsizes.x import y`: the module y when
    there is one, else the module x)."""
    found = set()
    for node in (n for top in nodes for n in ast.walk(top)):
        if isinstance(node, ast.ImportFrom) and node.module and _module_path(node.module):
            for alias in node.names:
                found.add(_module_path(f"{node.module}.{alias.name}") or _module_path(node.module))
        elif isinstance(node, ast.Import):
            found |= {p for a in node.names if (p := _module_path(a.name))}
    return found


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


# Of these modules only the module-level imports count. The package's __init__.py: its function is the lazy
# Python API (mlsizes.load & co.), which imports mlsizes.api only when a caller uses it, and no command does
# (test_no_command_uses_the_python_api). The command line's: it imports the one command asked for
# (_command_reads adds that module) and the overview only to show `mlsizes --help`.
TOP_LEVEL_ONLY = {PACKAGE / "__init__.py", PACKAGE / "cli" / "__init__.py"}


def _imports_of(path: Path) -> set[Path]:
    """The package modules a module imports (with the packages above them)."""
    tree = _tree(path)
    nodes = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))] if path in TOP_LEVEL_ONLY else [tree]
    return {found for module in _imported(nodes) for found in _with_packages(module)}


def _closure(start: set[Path]) -> set[Path]:
    seen, todo = set(), [found for path in start for found in _with_packages(path)]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += _imports_of(path) - seen
    return seen


def test_no_command_uses_the_python_api():
    """What lets the dependency check skip __init__.py's lazy API import: no module but api.py uses it."""
    import mlsizes

    users = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in (PACKAGE / "__init__.py", PACKAGE / "api.py"):
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module == "mlsizes":
                uses = {alias.name for alias in node.names} & set(mlsizes.__all__)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "mlsizes":
                uses = {node.attr} & set(mlsizes.__all__)
            else:
                continue
            if uses:
                users.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert users == []


def _command_modules() -> dict[str, Path]:
    """CLI command name -> the module of mlsizes.cli that defines it (cli/__init__.py's COMMANDS)."""
    from mlsizes.cli import COMMANDS

    return {command: PACKAGE / "cli" / f"{module}.py" for command, module in COMMANDS.items()}


# Folders of the package that hold no code but files a command reads as they are (the site's stylesheet, script and
# vendored charting library): a stage reads such a folder when one of its modules names it.
DATA_FOLDERS = ("site_assets",)


def _command_reads(command: str) -> set[Path]:
    """The files the `mlsizes COMMAND` process reads: the command line's entry, the command's own module, their
    import closure, and the schema files and data folders those modules name."""
    modules = _closure({PACKAGE / "__init__.py", PACKAGE / "cli" / "__init__.py", _command_modules()[command]})
    texts = " ".join(path.read_text(encoding="utf-8") for path in modules)
    contracts = {path for path in SCHEMAS.iterdir() if path.name in texts}
    folders = {PACKAGE / name for name in DATA_FOLDERS if f'"{name}"' in texts}
    return modules | contracts | folders


def test_every_command_is_defined_in_its_module():
    """COMMANDS names, for each command, the module that defines it: the map the dependency check relies on."""
    from click import Command

    from mlsizes.cli import main

    for command in _command_modules():
        assert isinstance(main.get_command(None, command), Command), command


@functools.cache
def _stages() -> dict[str, dict]:
    """Stage name -> its interpolated cmd, deps and outs, as DVC itself reads dvc.yaml."""
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        return {
            stage.name: {
                "cmd": stage.cmd,
                "deps": [d.def_path for d in stage.deps],
                "outs": [o.def_path for o in stage.outs],
            }
            for stage in repo.index.stages
        }


def _covered(path: Path, deps: list[str]) -> bool:
    relative = path.relative_to(ROOT)
    return any(relative == Path(dep) or Path(dep) in relative.parents for dep in deps)


# The stage names as dvc.yaml lists them, read without DVC: parametrizing over _stages() would build a DVC repo
# in every worker as it collects (1.5 s each); the first test below checks that DVC reads the same names.
STAGE_NAMES = sorted(yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"])


def test_every_stage_calls_the_mlsizes_command_it_is_named_after():
    assert sorted(_stages()) == STAGE_NAMES
    for name, stage in _stages().items():
        words = shlex.split(stage["cmd"])
        assert words[0] == "mlsizes" and words[1] in _command_modules(), (name, stage["cmd"])
        assert words[1] == name, f"stage {name} runs `mlsizes {words[1]}`: name the stage after its command"


@pytest.mark.parametrize("stage_name", STAGE_NAMES)
def test_stage_depends_on_every_module_and_contract_it_reads(stage_name):
    stage = _stages()[stage_name]
    command = shlex.split(stage["cmd"])[1]
    missing = sorted(str(p.relative_to(ROOT)) for p in _command_reads(command) if not _covered(p, stage["deps"]))
    assert not missing, f"stage {stage_name} (mlsizes {command}) reads these but does not depend on them: {missing}"


@pytest.mark.parametrize("stage_name", STAGE_NAMES)
def test_stage_depends_on_no_code_it_does_not_run(stage_name):
    """Its code deps are exactly what its command runs: editing another command or a help text re-runs nothing."""
    stage = _stages()[stage_name]
    reads = {str(p.relative_to(ROOT)) for p in _command_reads(shlex.split(stage["cmd"])[1])}
    extra = sorted(dep for dep in stage["deps"] if dep.startswith("src/") and dep not in reads)
    assert not extra, f"stage {stage_name} depends on code its command never runs: {extra}"


@pytest.mark.parametrize("stage_name", STAGE_NAMES)
def test_stage_depends_on_the_input_paths_in_its_command(stage_name):
    """A path named in the cmd is read (a dep, or a dep inside it) or written (an out)."""
    stage = _stages()[stage_name]
    for word in shlex.split(stage["cmd"])[2:]:
        path = ROOT / word
        if (
            word.startswith("-")
            or not path.exists()
            or any(word == o or Path(o).parent == Path(word) for o in stage["outs"])
        ):
            continue
        assert any(word == d or Path(word) in Path(d).parents for d in stage["deps"]), (stage_name, word)


def test_dependency_check_sees_what_a_command_reads():
    """The analysis above is not vacuous: curate reads the parsers and every contract but no statistics; history
    draws figures; no stage reads another command's module or the overview of `mlsizes --help`."""
    curate = {str(p.relative_to(ROOT)) for p in _command_reads("curate")}
    assert {
        "src/mlsizes/records/parse.py",
        "src/mlsizes/records/contribution_files.py",
        "src/mlsizes/records/__init__.py",
        "schemas/raw.yaml",
        "schemas/domains.yaml",
        "schemas/curated.yaml",
        "src/mlsizes/cli/__init__.py",
        "src/mlsizes/cli/curate.py",
    } <= curate
    assert not {"src/mlsizes/analysis/stats.py", "src/mlsizes/cli/site.py", "src/mlsizes/cli/overview.py"} & curate
    assert PACKAGE / "rendering" / "figures.py" in _command_reads("history")
    assert not _covered(PACKAGE / "records" / "parse.py", ["src/mlsizes/records/ingest.py", "src/mlsizes/parsers"])
    assert _covered(PACKAGE / "records" / "parse.py", ["src/mlsizes/records"])


# --- with real dvc, in a clean clone -------------------------------------------------------------------------


def _dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([str(BIN / "dvc"), *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    clone = tmp_path_factory.mktemp("pipeline") / "clone"
    subprocess.run(["git", "clone", "-q", "--shared", str(ROOT), str(clone)], check=True)
    return clone


def _status(clone: Path) -> dict[str, set[str]]:
    """Stage -> the deps `dvc status` reports changed, for every stage that is not up to date."""
    proc = _dvc("status", "--json", cwd=clone)
    assert proc.returncode == 0, proc.stderr
    return {
        stage: {path for change in changes if isinstance(change, dict) for path in change.get("changed deps", {})}
        for stage, changes in json.loads(proc.stdout or "{}").items()
    }


def test_a_fresh_clone_is_up_to_date(clone):
    """Everything a stage writes is in git, so the first `make reproduce` of a clone has nothing to run."""
    assert _status(clone) == {}


EDITED = [
    "src/mlsizes/records/parse.py",
    "src/mlsizes/analysis/stats.py",
    "src/mlsizes/rendering/figures.py",
    "src/mlsizes/cli/common.py",
    "src/mlsizes/cli/site.py",
    "src/mlsizes/cli/overview.py",
    "src/mlsizes/stages/site.py",
    "src/mlsizes/workflows/update.py",
    "schemas/domains.yaml",
    "schemas/curated.yaml",
]


def test_editing_code_or_a_contract_makes_exactly_the_stages_that_read_it_stale(clone):
    """One edit per file, one `dvc status`: each edited file must be a changed dep of every stage reading it, and
    of no other stage (editing another command, a help text or the site leaves curate and analyze alone)."""
    originals = {name: (clone / name).read_bytes() for name in [*EDITED, "src/mlsizes/site_assets/site.js"]}
    try:
        for name, original in originals.items():
            (clone / name).write_bytes(original + b"\n# edited\n")
        status = _status(clone)
    finally:
        for name, original in originals.items():
            (clone / name).write_bytes(original)
    for name in EDITED:
        readers = {
            stage for stage, info in _stages().items() if ROOT / name in _command_reads(shlex.split(info["cmd"])[1])
        }
        stale = {stage for stage, changed in status.items() if name in changed}
        assert stale == readers, (name, sorted(readers - stale), sorted(stale - readers))
    # The edits found on main that re-ran everything: another command's module, the help overview, a workflow.
    assert not any({"src/mlsizes/cli/overview.py", "src/mlsizes/workflows/update.py"} & c for c in status.values())
    assert {stage for stage, changed in status.items() if "src/mlsizes/cli/site.py" in changed} == {"site"}
    assert {stage for stage, changed in status.items() if "src/mlsizes/stages/site.py" in changed} == {"site"}
    assert {stage for stage, changed in status.items() if "src/mlsizes/site_assets" in changed} == {"site"}
    assert _status(clone) == {}


def test_the_named_readers_of_shared_modules_go_stale():
    """The cases found on main: parse.py and the contracts are read by reproduce-paper and history too (they
    re-curate the raw snapshots), and history draws with the report's figures."""
    reads = {name: _command_reads(shlex.split(stage["cmd"])[1]) for name, stage in _stages().items()}
    for shared in ("parse.py", "snapshots.py", "contracts.py"):
        readers = {n for n, r in reads.items() if PACKAGE / "records" / shared in r}
        assert {"curate", "reproduce-paper", "history"} <= readers
    assert {"report", "history"} <= {n for n, r in reads.items() if PACKAGE / "rendering" / "figures.py" in r}


def test_a_failing_stage_leaves_the_last_good_outputs_in_place(clone):
    """DVC would delete a stage's outputs before running it; `persist: true` keeps them, so a curate run that
    fails (here: a snapshot whose bytes no longer match its provenance) leaves the dataset as it was."""
    curate = _stages()["curate"]
    snapshot = clone / next(dep for dep in curate["deps"] if dep.endswith(".csv"))
    outputs = {out: (clone / out).read_bytes() for out in curate["outs"]}
    original = snapshot.read_bytes()
    try:
        snapshot.write_bytes(original + b"tampered,row\n")
        proc = _dvc("repro", "curate", cwd=clone)
        assert proc.returncode != 0 and "checksum mismatch" in proc.stdout + proc.stderr
        assert {out: (clone / out).read_bytes() for out in outputs} == outputs
    finally:
        snapshot.write_bytes(original)
    assert _status(clone) == {}


BROKEN_CONTRIBUTIONS = {
    "impossible-date.yaml": "id: impossible-date\nname: Impossible Date\npublication_date: 2023-02-30\n"
    "parameters: " + "9" * 400 + "\n",
    "alias-bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "domains: [*b, *b, *b, *b, *b]\n",
    "deep.yaml": "name: " + "[" * 10000 + "]" * 10000 + "\n",
}


def test_dvc_repro_with_broken_contributions_rebuilds_the_dataset_without_them(clone):
    """A bad contribution file is a reject row with its reason, never a failed stage: the build goes on, and
    gives what git holds (models.csv byte for byte; rejected.csv plus one row per bad file)."""
    curate = _stages()["curate"]
    folder = clone / "data" / "raw" / "contributions"
    models = (clone / "data" / "curated" / "models.csv").read_bytes()
    rejected_before = (clone / "data" / "curated" / "rejected.csv").read_text().splitlines()
    for name, text in BROKEN_CONTRIBUTIONS.items():
        (folder / name).write_text(text)
    try:
        proc = _dvc("repro", "curate", cwd=clone)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (clone / "data" / "curated" / "models.csv").read_bytes() == models
        rejected = (clone / "data" / "curated" / "rejected.csv").read_text().splitlines()
        added = [line for line in rejected if line not in rejected_before]
        assert [line for line in rejected if line in rejected_before] == rejected_before
        assert sorted(line.split(",")[0] for line in added) == sorted(
            f"contribution:{name}" for name in BROKEN_CONTRIBUTIONS
        ), added
    finally:
        for name in BROKEN_CONTRIBUTIONS:
            (folder / name).unlink()
        subprocess.run(["git", "checkout", "--", "dvc.lock", *curate["outs"]], cwd=clone, check=True)
    assert _status(clone) == {}
