"""`mlsizes add-model` and `mlsizes validate`: a model or a correction contributed as one file, and such files
checked as `dvc repro` will read them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mlsizes.cli.common import (
    fail,
    project_options,
    shown,
    usage,
)


@click.command("add-model")
@click.option("--name", help="Name as published, e.g. 'Llama 3 70B'; the record id is its slug (llama-3-70b).")
@click.option("--organization", help="Organization(s) that developed it, comma-separated.")
@click.option("--domain", "domains", help="Domain(s) from schemas/domains.yaml, comma-separated, any case.")
@click.option("--date", "publication_date", help="Publication date: YYYY-MM-DD, YYYY-MM or YYYY (precision kept).")
@click.option("--parameters", help="Parameter count: 70B, 1.2T, 340M, 175,000,000,000 or 1.75e11.")
@click.option("--training-compute", "training_compute_flop", help="Training compute in FLOP, e.g. 6.3e23 (optional).")
@click.option("--notes", "parameters_notes", help="How the parameter count was obtained (optional).")
@click.option("--source", "link", help="http(s) URL of the paper, model card or announcement stating the values.")
@click.option(
    "--correct",
    "target",
    metavar="ID",
    help="Correct record ID (upstream or contributed) instead: only the fields given change.",
)
@click.option("--reason", help="Why the corrected values are right (required with --correct).")
@click.option("--force-new", is_flag=True, help="Add it although it looks like an existing record.")
@click.option("--dry-run", is_flag=True, help="Show the file that would be written, and write nothing.")
@project_options("Print the result, or the error, as JSON.")
def add_model(
    target: str | None,
    reason: str | None,
    force_new: bool,
    dry_run: bool,
    as_json: bool,
    root: Path | None,
    **values: str | None,
) -> None:
    """Add a model upstream lacks, or correct a record, as one file in data/raw/contributions/.

    The values go through the parsers and the curated schema the pipeline uses, and the next `dvc repro`
    puts the record in data/curated/models.csv with its source. On a terminal, missing fields are asked for.
    Exit 1: an invalid value, a taken id, a likely duplicate or an unknown id to correct; exit 2: an option
    missing or in conflict. Nothing is written unless the command succeeds. A model published after the
    dataset's as-of date is accepted and curated, and left out of the analysis until a release's as-of
    date reaches it (a warning says so). Guide: docs/contributing.md.
    """
    from mlsizes.workflows import add_model as stage

    try:
        draft = stage.add(
            values,
            target=target,
            reason=reason,
            force_new=force_new,
            dry_run=dry_run,
            root=root,
            ask=_ask if sys.stdin.isatty() else None,
        )
    except stage.UsageProblem as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "field": None, "code": "usage", "message": str(exc)}))
        usage(str(exc))
    except stage.Invalid as problem:
        errors = [
            {"field": error.field, "code": error.code, "message": f"{stage.described(error.field)}: {error.message}"}
            for error in problem.errors
        ]
        if as_json:
            click.echo(json.dumps({"ok": False, **errors[0], "errors": errors}))
        for error in errors[:-1]:
            click.echo(f"error: {error['message']}", err=True)
        fail(errors[-1]["message"])
    for warning in draft.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": True,
                    "dry_run": dry_run,
                    "kind": draft.kind,
                    "id": draft.record_id,
                    "path": str(draft.path),
                    "file": draft.data,
                    "record": json.loads(draft.record.to_json()),
                    "warnings": draft.warnings,
                },
                indent=2,
            )
        )
    elif dry_run:
        click.echo(f"would write {shown(draft.path)} (dry run, nothing written):\n\n{draft.text()}", nl=False)
    else:
        verb = "added" if draft.kind == "model" else "corrected"
        click.echo(f"{verb} {draft.record_id}: {shown(draft.path)}")
        click.echo("run `dvc repro` to put it in data/curated/models.csv")


def _ask(question: str, hint: str | None, check) -> str:
    """Ask for a missing add-model field on the terminal until check(answer) accepts it."""
    from mlsizes.core.untrusted import Invalid

    def checked(text: str) -> str:
        try:
            return check(text)
        except Invalid as problem:
            raise click.UsageError(str(problem)) from None

    if hint:
        click.echo(hint)
    return click.prompt(question, value_proc=checked)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@project_options("Print the verdict on every file as JSON.")
def validate(paths: tuple[Path, ...], as_json: bool, root: Path | None) -> None:
    """Check contribution files PATHS (default: all of data/raw/contributions/) as `dvc repro` will; for CI.

    Exit 0 when every file is valid; else one line per problem (file, field, reason) and exit 1. A model
    published after the dataset's as-of date is valid: a note says it stays out of the analysis until a
    release's as-of date reaches it.
    """
    from mlsizes.core import untrusted
    from mlsizes.workflows import add_model

    try:
        reports = add_model.validate(list(paths), root)
    except add_model.UsageProblem as exc:
        usage(str(exc))
    invalid = [report for report in reports if report.errors]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": not invalid,
                    "files": [
                        {
                            "path": untrusted.printable(str(r.path)),
                            "id": r.record_id,
                            "ok": not r.errors,
                            **{
                                key: getattr(r.errors[0], key) if r.errors else None
                                for key in ("field", "code", "message")
                            },
                            "errors": [{"field": e.field, "code": e.code, "message": e.message} for e in r.errors],
                            "notes": r.notes,
                        }
                        for r in reports
                    ],
                },
                indent=2,
            )
        )
    else:
        for report in reports:
            for note in report.notes:
                click.echo(f"{untrusted.printable(shown(report.path))}: note: {note}")
        for report in invalid:
            for error in report.errors:
                click.echo(f"{untrusted.printable(shown(report.path))}: {error.field}: {error.message} ({error.code})")
        click.echo(f"{len(reports) - len(invalid)} of {len(reports)} contribution files valid")
    if invalid:
        fail(f"{len(invalid)} of {len(reports)} contribution files invalid")
