"""The `mlsizes` command line: a thin layer over the stages and workflows, one module per command (or family).

A command's module is imported only when that command runs or its help is listed, and it imports its stage only
when it runs: the process a DVC stage starts reads this file, cli/common.py, its own command's module and that
module's closure, nothing of the other commands (tests/test_pipeline.py proves it with `dvc status`). DVC stages
call these same commands, so a stage run by `dvc repro` and one run by hand share one code path.
"""

from __future__ import annotations

import contextlib
import importlib

import click

# Every command, in the order `mlsizes --help` lists them, and the module of mlsizes.cli that defines it (a
# function named as the command, with "_" for "-").
COMMANDS = {
    "curate": "curate",
    "metadata": "metadata",
    "check": "check",
    "analyze": "analyze",
    "reproduce-paper": "reproduce",
    "reproduce-compute": "reproduce_compute",
    "growth": "growth",
    "history": "history",
    "chips": "chips",
    "atlas": "atlas",
    "report": "report",
    "site": "site",
    "add-model": "contribute",
    "validate": "contribute",
    "fetch": "upstream",
    "update": "upstream",
    "versions": "versions",
    "diff": "versions",
    "release": "versions",
}


# The libraries of the extra `mlsizes[pipeline]` (pyproject.toml): a reader's install (`pip install mlsizes`)
# lacks them, and a command that needs one says so in one line instead of a traceback.
PIPELINE_MODULES = ("dvc", "pandera", "great_expectations", "matplotlib", "requests", "markdown_it")
# The programs commands run as subprocesses: one missing is an environment error (exit 2), not a traceback.
TOOLS = ("git", "dvc")


@contextlib.contextmanager
def _one_line_errors():
    """click's errors (usage errors exit 2) as one `error:` line, the style of every command's own errors; asking
    for help with no arguments stays help."""
    from mlsizes.cli.common import OneLineError

    try:
        yield
    except (click.exceptions.NoArgsIsHelpError, OneLineError):
        raise
    except click.ClickException as exc:
        raise OneLineError(exc) from None


class _Commands(click.Group):
    """A group whose commands are imported when asked for, and whose long help is read only when shown."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        """click's parsing of `mlsizes ...` itself, its errors in the commands' one-line style."""
        with _one_line_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context):
        """Run the command; a file it reads as untrusted that cannot be used safely (a hostile YAML, a FIFO or a link
        in an input folder) or an output path no file can be written to (--out /dev/null, a folder where a file
        goes) is one line and exit 1 wherever it surfaces, never a traceback; a pipeline library or a tool (git,
        dvc) missing from the install is an environment error (exit 2); click's own usage errors (an unknown
        option, a missing argument) are one line too, with exit 2."""
        from mlsizes.core.errors import UnreadableFile
        from mlsizes.core.files import OutputError

        try:
            with _one_line_errors():
                return super().invoke(ctx)
        except (UnreadableFile, OutputError) as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in PIPELINE_MODULES:
                raise
            click.echo(
                f"error: `mlsizes {ctx.invoked_subcommand}` needs {exc.name.split('.')[0]}, part of the pipeline "
                'extra: pip install "mlsizes[pipeline]"',
                err=True,
            )
            ctx.exit(2)
        except FileNotFoundError as exc:  # a tool run as a subprocess that is not installed
            tool = str(exc.filename or "").rpartition("/")[2]
            if tool not in TOOLS:
                raise
            click.echo(f"error: `mlsizes {ctx.invoked_subcommand}` needs {tool}, which is not on PATH", err=True)
            ctx.exit(2)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        return getattr(importlib.import_module(f"mlsizes.cli.{COMMANDS[name]}"), name.replace("-", "_"))

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from mlsizes.cli.overview import TEXT

        self.help = TEXT
        super().format_help_text(ctx, formatter)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mlsizes")
def main() -> None:
    """Curate, validate and version Epoch's dataset of notable ML systems and their sizes (help: overview.py)."""
