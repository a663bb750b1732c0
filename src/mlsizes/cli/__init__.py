"""The `mlsizes` command line: a thin layer over the stages and workflows, one module per command (or family).

A command's module is imported only when that command runs or its help is listed, and it imports its stage only
when it runs: the process a DVC stage starts reads this file, cli/common.py, its own command's module and that
module's closure, nothing of the other commands (tests/test_pipeline.py proves it with `dvc status`). DVC stages
call these same commands, so a stage run by `dvc repro` and one run by hand share one code path.
"""

from __future__ import annotations

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


class _Commands(click.Group):
    """A group whose commands are imported when asked for, and whose long help is read only when shown."""

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
