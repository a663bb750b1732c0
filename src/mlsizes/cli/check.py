"""`mlsizes check`: a curated table against both contracts, with the reports a person can open."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlsizes.cli.common import (
    EXISTING_FILE,
    NEW_DIR,
    fail,
    here,
    print_json,
    project_options,
    shown,
    step,
)
from mlsizes.core.paths import LAYOUT


@click.command()
@click.argument("curated", type=EXISTING_FILE)
@click.option(
    "--reports",
    "reports_dir",
    type=NEW_DIR,
    show_default=LAYOUT["validation_dir"],
    help="Folder for pandera_failures.csv and gx_results.json (and data_docs/ with --data-docs).",
)
@click.option(
    "--data-docs",
    is_flag=True,
    help="Also run the suite with Great Expectations (a few seconds of imports) and build its Data Docs site "
    "in REPORTS/data_docs/ (it loads scripts and styles from CDNs).",
)
@project_options("Print the verdict as JSON: success, every pandera failure, the suite's statistics.")
def check(curated: Path, reports_dir: Path | None, data_docs: bool, as_json: bool, root: Path | None) -> None:
    """Validate a CURATED table against schemas/curated.yaml (pandera) and the expectation suite.

    The suite (schemas/dataset.expectations.json, a Great Expectations suite) is evaluated in pandas with
    GX's semantics; the results are written in GX's format. Exits 1 when any record or dataset-level
    expectation fails; the reports are written either way.
    """
    from mlsizes.core.errors import UnreadableFile, reason
    from mlsizes.records import validation
    from mlsizes.stages import check as stage

    paths = here(root).replace(models=curated, validation_dir=reports_dir)
    try:
        result = stage.run(paths, stage.CheckSettings(data_docs=data_docs))
    except (validation.SuiteError, UnreadableFile) as exc:
        fail(str(exc))
    except ValueError as exc:  # not a curated table: unreadable, or a column missing or of the wrong type
        fail(f"{curated}: {reason(exc)}")
    if as_json:
        print_json(
            {
                "success": result.success,
                "pandera_failures": json.loads(result.pandera_failures.to_json(orient="records")),
                "expectations": result.gx_results["statistics"],
                "failed_expectations": [e["type"] for e in result.gx_results["expectations"] if not e["success"]],
                "reports": paths.validation_dir,
            }
        )
    else:
        click.echo(result.summary())
    docs = f" (Data Docs: {paths.data_docs / 'index.html'})" if data_docs else ""
    step(f"reports in {paths.validation_dir}/{docs}")
    if not result.success:
        fail(f"{shown(curated)} does not pass the contracts: {result.summary()}")
