"""The shape docs/architecture.md describes, checked on the code: modules import each other without a cycle,
click lives only in the CLI, no production module carries a test hook, and no module restates the study's
settings that params.yaml owns."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "mlsizes"
MODULES = sorted(PACKAGE.glob("*.py"))


def _imports(path: Path) -> set[str]:
    """The package modules a module imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mlsizes"):
            names = [f"mlsizes.{a.name}" for a in node.names] if node.module == "mlsizes" else [node.module]
            found |= {name.removeprefix("mlsizes.") for name in names if (PACKAGE / f"{name[8:]}.py").is_file()}
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("mlsizes.") for a in node.names if a.name.startswith("mlsizes.")}
    return found - {"__init__"}


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
    graph = {path.stem: _imports(path) for path in MODULES}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_click_only_in_the_cli():
    users = [
        path.name
        for path in MODULES
        if "click"
        in {
            (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else a.name.split(".")[0]
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for a in (node.names if isinstance(node, ast.Import) else [node])
        }
    ]
    assert users == ["cli.py"]


def test_no_test_hook_in_production_code():
    """Tests inject their hooks (e.g. a paused write) from outside; the code reads no test-only setting."""
    for path in MODULES:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"MLSIZES_TEST|PAUSE", text), path.name


def test_every_stage_module_has_the_same_shape():
    """Each stage module has run(paths, ...) taking the project paths first."""
    for name in ("curate", "metadata", "check", "analyze", "reproduce", "history", "report", "fetch"):
        tree = ast.parse((PACKAGE / f"{name}.py").read_text())
        run = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "run")
        assert run.args.args[0].arg == "paths", name
        assert ast.unparse(run.args.args[0].annotation) == "Paths", name


def test_no_module_restates_a_study_setting():
    """The gap bounds, alpha and the era year are params.yaml's: no literal of them in the code (the paper's own
    table, kept as facts of the paper in reproduce.py, aside)."""
    settings = re.compile(r"20B-70B|\b[27]e10\b|\b[27]\.0e\+?10\b|alpha = 0\.01|\bpre_2018\b|\bpost_2018\b")
    for path in MODULES:
        hits = [line for line in _code(path).splitlines() if settings.search(line)]
        assert not hits, (path.name, hits)
    assert settings.search(_code(PACKAGE / "settings.py").replace("size_words", '"20B-70B"'))  # the check can fail


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
