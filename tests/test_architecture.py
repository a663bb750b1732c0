"""The shape docs/architecture.md describes, checked on the code: the layers (folders) import only downwards, no
stage imports another, modules import each other without a cycle, click lives only in the CLI, no production
module carries a test hook, no module restates the study's settings that params.yaml owns, and the document's
module map and stage table are the code's."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "mlsizes"
MODULES = sorted(PACKAGE.rglob("*.py"))
# The layers, lowest first: a module imports from its own layer or a lower one, never a higher one. The
# package's own top-level modules (the Python API, `python -m mlsizes`) sit above them all.
LAYERS = ("core", "tables", "records", "analysis", "rendering", "releases", "stages", "workflows", "cli")
TOP = len(LAYERS)


def _name(path: Path) -> str:
    """src/mlsizes/records/ingest.py -> records.ingest; a package's __init__.py -> the package."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


NAMES = {_name(path) for path in MODULES}


def _layer(module: str) -> int:
    """The layer of a module (records.ingest -> 2); the package's top-level modules are above every layer."""
    head = module.split(".")[0]
    return LAYERS.index(head) if head in LAYERS else TOP


def _imports(path: Path) -> set[str]:
    """The package modules a module imports, at module level or inside a function (`from mlsizes.x import y`:
    the module x.y when there is one, else x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mlsizes":
            base = node.module.removeprefix("mlsizes").removeprefix(".")
            for alias in node.names:
                full = f"{base}.{alias.name}".lstrip(".")
                found.add(full if full in NAMES else base)
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("mlsizes.") for a in node.names if a.name.startswith("mlsizes.")}
    return found - {"", _name(path)}


def _layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import that points up a layer, or from one stage to another."""
    wrong = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if _layer(target) > _layer(module):
                wrong.append(f"{module} imports {target}, a higher layer")
            elif module.startswith("stages.") and target.startswith("stages.") and target != "stages":
                wrong.append(f"{module} imports {target}: a stage imports no other stage (move the shared work down)")
    return wrong


def test_layers_import_only_downwards_and_no_stage_imports_another():
    graph = {_name(path): _imports(path) for path in MODULES}
    assert _layer_violations(graph) == []


def test_layer_check_finds_an_upward_import_and_a_stage_importing_a_stage():
    graph = {"core.paths": {"stages.curate"}, "stages.history": {"stages.analyze", "analysis.study"}}
    assert _layer_violations(graph) == [
        "core.paths imports stages.curate, a higher layer",
        "stages.history imports stages.analyze: a stage imports no other stage (move the shared work down)",
    ]
    assert {_layer(name) for name in NAMES if "." not in name} >= {TOP}  # api, __main__


def test_every_module_lives_in_a_layer():
    """No loose module: each is in a layer's folder, or one of the package's three top-level entry points."""
    assert sorted(name for name in NAMES if _layer(name) == TOP) == ["", "__main__", "api"]
    assert {name.split(".")[0] for name in NAMES if name} - {"__main__", "api"} == set(LAYERS)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in the graph, as the list of modules around it, or None."""
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> list[str] | None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return trail[trail.index(target) :] + [target]
            if target not in state and (found := visit(target, [*trail, target])):
                return found
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module, [module])):
            return found
    return None


def test_no_import_cycle_between_modules():
    graph = {_name(path): _imports(path) for path in MODULES}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_click_only_in_the_cli():
    users = [
        path
        for path in MODULES
        if "click"
        in {
            (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else a.name.split(".")[0]
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for a in (node.names if isinstance(node, ast.Import) else [node])
        }
    ]
    assert users and all(path.parent == PACKAGE / "cli" for path in users), users


def test_no_test_hook_in_production_code():
    """Tests inject their hooks (e.g. a paused write) from outside; the code reads no test-only setting."""
    for path in MODULES:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"MLSIZES_TEST|PAUSE", text), path.name


STAGES = sorted(path for path in (PACKAGE / "stages").glob("*.py") if path.name != "__init__.py")


def test_every_stage_module_has_the_same_shape():
    """Each stage module has run(paths: Paths, settings) and nothing more, its settings a frozen dataclass (the
    stage's section of params.yaml, or what a run of it may vary), so one call runs any stage."""
    import dataclasses
    import importlib
    import inspect

    from mlsizes.core.paths import Paths

    assert len(STAGES) == 12
    for path in STAGES:
        module = importlib.import_module(f"mlsizes.stages.{path.stem}")
        parameters = list(inspect.signature(module.run, eval_str=True).parameters.values())
        assert [p.name for p in parameters] == ["paths", "settings"], path.name
        assert parameters[0].annotation is Paths, path.name
        settings = parameters[1].annotation
        assert dataclasses.is_dataclass(settings) and settings.__dataclass_params__.frozen, (path.name, settings)


def test_no_module_restates_a_study_setting():
    """The gap bounds, alpha and the era year are params.yaml's: no literal of them in the code (the paper's own
    table, kept as facts of the paper in reproduce.py, aside)."""
    settings = re.compile(r"20B-70B|\b[27]e10\b|\b[27]\.0e\+?10\b|alpha = 0\.01|\bpre_2018\b|\bpost_2018\b")
    for path in MODULES:
        hits = [line for line in _code(path).splitlines() if settings.search(line)]
        assert not hits, (path.name, hits)
    assert settings.search(
        _code(PACKAGE / "core" / "settings.py").replace("size_words", '"20B-70B"')
    )  # the check can fail


def _code(path: Path) -> str:
    """A module's code without its docstrings and comments (examples there are no settings)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


DOC = ROOT / "docs" / "architecture.md"


def _doc_block(marker: str) -> list[str]:
    """The lines of the block that follows a marker comment in docs/architecture.md (a fenced block or a table)."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"<!-- {marker}: checked by tests/test_architecture.py -->") + 1
    block = []
    for text in lines[start:]:
        if not text.strip():
            break
        block.append(text)
    return [text for text in block if not text.startswith("```")]


def _module_map(block: list[str]) -> dict[str, list[str]]:
    """`folder/  module module ...` lines -> {folder: [modules]}."""
    return {folder.rstrip("/"): modules for folder, *modules in (text.split() for text in block)}


def test_the_documented_module_map_is_the_code():
    """Each layer's line names exactly the modules in its folder, and the layers come highest first."""
    documented = _module_map(_doc_block("module map"))
    assert list(documented) == list(reversed(LAYERS))
    for folder, modules in documented.items():
        actual = {path.stem for path in (PACKAGE / folder).glob("*.py")} - {"__init__"} | (
            {"__init__"} if "__init__" in modules else set()
        )
        assert sorted(modules) == sorted(actual), folder


def test_the_documented_stage_table_is_the_code():
    """One row per DVC stage: the module its command runs, and the settings class of that module's run()."""
    import importlib
    import inspect

    import yaml

    from mlsizes.cli import COMMANDS

    rows = [[cell.strip().strip("`") for cell in text.strip("|").split("|")] for text in _doc_block("stage table")]
    table = {row[0]: (row[1], row[2]) for row in rows[2:]}
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert list(table) == list(stages)
    for stage, (module_path, settings) in table.items():
        module_name = module_path.removesuffix(".py").replace("/", ".")
        command_module = (PACKAGE / "cli" / f"{COMMANDS[stage]}.py").read_text(encoding="utf-8")
        assert f"from mlsizes.stages import {module_name.split('.')[-1]} as stage" in command_module, stage
        run = importlib.import_module(f"mlsizes.{module_name}").run
        assert inspect.signature(run, eval_str=True).parameters["settings"].annotation.__name__ == settings, stage


def test_the_map_check_fails_on_a_drifted_line():
    assert _module_map(["core/   paths settings"]) == {"core": ["paths", "settings"]}
    documented = _module_map(["core/   paths settings errors"])
    assert sorted(documented["core"]) != sorted(p.stem for p in (PACKAGE / "core").glob("*.py") if p.stem != "__init__")


def test_every_numeric_option_of_every_command_is_bounded_and_refuses_nan_and_infinity():
    """A number no range holds (inf, nan, 1e300, a negative) is a usage error, never a traceback later (issue 22,
    case 14: fetch's --deadline inf had overflowed the clock). Any numeric option added later must have a range."""
    import math

    import click

    from mlsizes.cli import COMMANDS, main

    numeric = {}
    for name in COMMANDS:
        for param in main.get_command(None, name).params:
            if isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType)):
                numeric[f"{name} {param.opts[0]}"] = param.type
    assert set(numeric) == {
        f"{c} --{o}" for c in ("fetch", "update") for o in ("timeout", "max-mb", "retries", "backoff", "deadline")
    }
    for option, kind in numeric.items():
        assert isinstance(kind, (click.IntRange, click.FloatRange)) and None not in (kind.min, kind.max), option
        for text in ("nan", "inf", "-inf", "1e300", "-1", "-1e300"):
            try:
                value = kind.convert(text, None, None)
            except click.BadParameter:
                continue
            assert math.isfinite(value) and kind.min <= value <= kind.max, (option, text, value)
