"""What every command shares: path types, the one-line errors and their exit codes, the project and its params."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from mlsizes.core.paths import LAYOUT, Paths, ProjectNotFound

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
    """One line on stderr and exit code 2: the command was called wrongly (an option missing or in conflict)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


class OneLineUsage(click.Command):
    """Report click's own usage errors (unknown option, option without a value) as one line with exit 2 too."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """click's parsing, its usage errors as one line (exit 2)."""
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            usage(exc.format_message())


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


ROOT_OPTION = click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The project folder (default: $MLSIZES_ROOT, else the nearest folder with dvc.yaml).",
)


def project() -> Paths:
    """The paths of the project found from the working directory (or $MLSIZES_ROOT); exit 1 when there is none."""
    try:
        return Paths.find()
    except ProjectNotFound as exc:
        fail(str(exc))


def study_settings(paths: Paths, command: str):
    """The study's settings from the params file of these paths. Outside a project, `analyze` uses the study's
    defaults shipped with the package; the pipeline commands, which read a project's raw data or metrics, stop
    with one line."""
    from mlsizes.core.paths import BUNDLED_DIR
    from mlsizes.core.settings import Settings

    params_path = paths.params
    if not os.path.lexists(params_path):  # one that exists but is no file (a FIFO) is refused by the reader
        if command != "analyze":
            fail(
                f"`mlsizes {command}` is a pipeline command and {params_path} does not exist: run it inside a "
                "clone of the dataset's repository (or set MLSIZES_ROOT, or give --params)"
            )
        params_path = BUNDLED_DIR / "params.yaml"
        click.echo(f"{paths.params} not found: using the study's default params shipped with mlsizes", err=True)
    try:
        return Settings.load(params_path)
    except ValueError as exc:
        fail(str(exc))
