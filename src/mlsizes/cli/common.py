"""What every command shares: path types, the one-line errors and their exit codes, the project (--root) and its
params, and --json.

Exit codes, the same for every command (in `mlsizes --help`, cli/overview.py, and the README): 0 ok; 1 bad input or
refused (a value, a file or a state of the project the command will not take); 2 usage or environment (an option
missing or in conflict, no project, a missing tool). Every error is one line on stderr starting `error: `.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from mlsizes.core.paths import LAYOUT, ROOT_MARKER, Paths, ProjectNotFound

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


EXISTING_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


NEW_FILE = click.Path(dir_okay=False, path_type=Path)


NEW_DIR = click.Path(file_okay=False, path_type=Path)


PARAMS_OPTION = click.option(
    "--params",
    "params_path",
    type=EXISTING_FILE,
    show_default=LAYOUT["params"],
    help="The study's params (default: the project's params.yaml).",
)


def fail(message: str) -> None:
    """One line on stderr and exit code 1: the record/file, the field and the reason are in the message."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def usage(message: str) -> None:
    """One line on stderr and exit code 2: the command was called wrongly (an option missing or in conflict), or
    the environment lacks what it needs (no project, no git repository, a missing tool)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


class OneLineError(click.ClickException):
    """A click error (an unknown option, a missing argument, a value of the wrong type) in the commands' style:
    one `error:` line naming the command's help, with click's exit code (2 for a usage error)."""

    def __init__(self, exc: click.ClickException) -> None:
        where = getattr(exc, "ctx", None)
        hint = f" (see `{where.command_path} --help`)" if isinstance(exc, click.UsageError) and where else ""
        super().__init__(exc.format_message() + hint)
        self.exit_code = exc.exit_code

    def show(self, file=None) -> None:
        """The one line, instead of click's usage block and `Error:` line."""
        click.echo(f"error: {self.message}", err=True)


def refuse_overlaps(inputs: dict[str, Path | None], outputs: dict[str, Path | None]) -> None:
    """Usage error (exit 2, nothing written) when an output is an input or another output: writing it would
    destroy the other (`curate --out D --metrics D/models.csv` had replaced the table with the counts)."""
    seen: dict[Path, str] = {}
    for role, path in [*inputs.items(), *outputs.items()]:
        if path is None:
            continue
        where = Path(path).resolve()
        if where in seen and role in outputs:
            usage(f"{seen[where]} and {role} are the same file ({shown(Path(path))}): give another path")
        seen.setdefault(where, role)


def shown(path: Path) -> str:
    """A path as the user can paste it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _project_folder(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """--root names a project, a folder with dvc.yaml: a usage error (exit 2) before anything runs otherwise."""
    if value is not None and not (value / ROOT_MARKER).is_file():
        raise click.BadParameter(f"{shown(value)}: not a project (no {ROOT_MARKER} in it)", ctx, param)
    return value


def figures_option(figures: str):
    """--reports for a stage that draws a figure per measure: the reports folder whose figures/ gets FIGURES."""
    return click.option(
        "--reports",
        "reports_dir",
        type=NEW_DIR,
        show_default=LAYOUT["reports_dir"],
        help=f"The reports folder: a figure per measure goes to its figures/ ({figures}).",
    )


ROOT_OPTION = click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    callback=_project_folder,
    help="The project folder (default: $MLSIZES_ROOT, else the nearest folder with dvc.yaml).",
)


def project_options(json_help: str):
    """--json (the parameter `as_json`, JSON_HELP saying what it prints) and --root: the options of every command
    that reads the project."""

    def decorate(command):
        return click.option("--json", "as_json", is_flag=True, help=json_help)(ROOT_OPTION(command))

    return decorate


def print_json(data, *, metrics: bool = False) -> None:
    """A command's result as JSON on stdout, paths as text; `metrics`: numbers rounded as the metrics files have
    them (what the stage wrote), NaN as null. Strict JSON: a NaN left elsewhere is a bug, never printed."""
    from mlsizes.core.files import rounded

    click.echo(json.dumps(rounded(data) if metrics else data, indent=2, default=str, allow_nan=False))


def project(root: Path | None = None) -> Paths:
    """The paths of the project at --root, else $MLSIZES_ROOT, else the nearest folder with dvc.yaml; exit 2 (the
    environment) when there is none."""
    try:
        return Paths.find(root)
    except ProjectNotFound as exc:
        usage(f"{exc} (or give --root)")


def repository(root: Path | None = None) -> Paths:
    """The project, which must be a git repository: versions, diff, release and update read its history; exit 2
    (the environment) when it is not one."""
    import subprocess

    paths = project(root)
    if subprocess.run(["git", "rev-parse", "--git-dir"], cwd=paths.root, capture_output=True).returncode != 0:
        usage(f"{shown(paths.root)} is not a git repository: releases are commits, so work in a clone of the dataset")
    return paths


def here(root: Path | None = None) -> Paths:
    """The project's paths (--root when given), else the working directory's: commands given their files
    explicitly also run outside any project."""
    return project(root) if root is not None else Paths.here()


def step(message: str) -> None:
    """A progress line on stderr (stdout carries the results): what a command is doing, so no step is silent."""
    click.echo(message, err=True)


def params_file(paths: Paths, command: str) -> Path:
    """The params file of these paths; exit 2 (the environment) when there is none: the pipeline commands read a
    project's params (`analyze` alone falls back on the study's defaults, see study_settings)."""
    if not os.path.lexists(paths.params):  # one that exists but is no file (a FIFO) is refused by the reader
        usage(
            f"`mlsizes {command}` is a pipeline command and {paths.params} does not exist: run it inside a "
            "clone of the dataset's repository (or give --root, or --params)"
        )
    return paths.params


def study_settings(paths: Paths, command: str):
    """The study's settings from the params file of these paths. Outside a project, `analyze` uses the study's
    defaults shipped with the package; the pipeline commands, which read a project's raw data or metrics, stop
    with one line (exit 2)."""
    from mlsizes.core.paths import BUNDLED_DIR
    from mlsizes.core.settings import Settings

    params_path = paths.params
    if command == "analyze" and not os.path.lexists(params_path):
        params_path = BUNDLED_DIR / "params.yaml"
        click.echo(f"{paths.params} not found: using the study's default params shipped with mlsizes", err=True)
    try:
        return Settings.load(params_file(paths.replace(params=params_path), command))
    except ValueError as exc:
        fail(str(exc))
