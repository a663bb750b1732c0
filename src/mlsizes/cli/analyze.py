"""`mlsizes analyze`: trend fits and the parameter-gap test on a curated table."""

from __future__ import annotations

from pathlib import Path

import click

from mlsizes.cli.common import (
    EXISTING_FILE,
    NEW_DIR,
    PARAMS_OPTION,
    fail,
    here,
    print_json,
    project_options,
    refuse_overlaps,
    study_settings,
)
from mlsizes.core.paths import LAYOUT
from mlsizes.rendering.text import plain_table


def _p(value: float | None) -> str:
    """A P value for a summary line, or n/a."""
    return "n/a" if value is None else f"{value:.2g}"


@click.command()
@click.argument("curated", type=EXISTING_FILE)
@click.option(
    "--out",
    "out_dir",
    type=NEW_DIR,
    required=True,
    help="Folder for trends.json, gap.json and the plot data (plots/*.csv).",
)
@PARAMS_OPTION
@click.option(
    "--curation",
    "curation_path",
    type=EXISTING_FILE,
    help=f"curate's metrics of the table, for the count of systems left out as not notable (default: "
    f"{LAYOUT['curation_metrics']} for the project's own table, none for any other).",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Analyse as of this date (default: the params' analysis.as_of, else the as_of curate wrote beside the "
    "table in <table>.snapshot.json).",
)
@project_options("Print the gap-test results as JSON instead of a summary.")
def analyze(
    curated: Path,
    out_dir: Path,
    params_path: Path | None,
    curation_path: Path | None,
    as_of,
    as_json: bool,
    root: Path | None,
) -> None:
    """Fit the size trends and run the parameter-gap test on a CURATED table (any curated file).

    Reads the `analysis:` section of the params (gap bounds and their convention, counts, seed). Systems
    published after the as-of date are left out: --as-of, else the params' as_of, else the date `mlsizes
    curate --out` wrote beside the table (CURATED's stem + .snapshot.json: its snapshot and as-of date);
    with none of them the command stops in one line (exit 1). Progress goes to stderr; the same seed and
    params give byte-identical outputs.
    """
    import dataclasses

    from mlsizes.records.snapshots import SnapshotError
    from mlsizes.stages import analyze as stage

    found = here(root)
    if curation_path is None and curated.resolve() != found.models.resolve():
        found = dataclasses.replace(found, curation_metrics=None)  # the project's metrics describe its own table
    paths = found.replace(models=curated, params=params_path, curation_metrics=curation_path)
    paths = paths.with_metrics_dir(out_dir)
    refuse_overlaps(
        {"the curated table": curated, "--curation": curation_path},
        {"trends.json in --out": paths.trends, "gap.json in --out": paths.gap},
    )
    settings = study_settings(paths, "analyze").analysis
    if as_of is not None:
        settings = dataclasses.replace(settings, as_of=as_of.date())
    try:
        analysis = stage.run(paths, settings)
    except (ValueError, SnapshotError) as exc:
        fail(str(exc))
    except KeyError as exc:  # a table that is not a curated one lacks a column the analysis reads
        fail(f"{curated}: no column {exc.args[0]!r}: not a curated table (make one with `mlsizes curate`)")
    if as_json:
        print_json(analysis.gap["tests"], metrics=True)
        return
    click.echo(f"bounds: {analysis.gap['bounds']}; as of {analysis.gap['as_of']}; P = P(K<=observed)")
    rows, short = [], []
    for group, test in analysis.gap["tests"].items():
        if test["insufficient_data"]:
            rows.append([group, "-", "-", "-", "-", "-", "-", "-"])
            short.append(f"{group}: insufficient data ({test['reason']})")
            continue
        rows.append(
            [group, test["observed_in_gap"], f"{test['expected_in_gap']:.1f}", _p(test["p_le_observed_exact"])]
            + [_p(test[key]) for key in ("mc_estimate", "p_scan_corrected", "p_posterior_predictive")]
            + [_p(test["p_out_of_sample"])]
        )
    header = ["group", "in gap", "expected", "P", "Monte Carlo", "scan-corrected", "predictive", "out of sample"]
    click.echo(plain_table(header, rows))
    for line in short:
        click.echo(line)
    click.echo(f"wrote {paths.trends}, {paths.gap} and {paths.plots_dir}/")
