"""`mlsizes analyze`: trend fits and the parameter-gap test on a curated table."""

from __future__ import annotations

from pathlib import Path

import click

from mlsizes.cli.common import (
    EXISTING_FILE,
    NEW_DIR,
    PARAMS_OPTION,
    fail,
    refuse_overlaps,
    study_settings,
)
from mlsizes.core.paths import LAYOUT, Paths


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
    show_default=LAYOUT["curation_metrics"],
    help="curate's metrics of the table; their snapshot_date is the as-of date unless the params set one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the gap-test results as JSON instead of a summary.")
def analyze(curated: Path, out_dir: Path, params_path: Path | None, curation_path: Path | None, as_json: bool) -> None:
    """Fit the size trends and run the parameter-gap test on a CURATED table (any curated file).

    Reads the `analysis:` section of the params (gap bounds and their convention, counts, seed). Systems
    published after the as-of date are left out: the snapshot's date recorded by curate, unless the params
    set `as_of`. Progress goes to stderr; the same seed and params give byte-identical outputs.
    """
    from mlsizes.core.files import to_json
    from mlsizes.stages import analyze as stage

    paths = Paths.here().replace(models=curated, params=params_path, curation_metrics=curation_path)
    paths = paths.with_metrics_dir(out_dir)
    refuse_overlaps(
        {"the curated table": curated, "--curation": curation_path},
        {"trends.json in --out": paths.trends, "gap.json in --out": paths.gap},
    )
    try:
        analysis = stage.run(paths, study_settings(paths, "analyze").analysis)
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        click.echo(to_json(analysis.gap["tests"]), nl=False)
        return
    click.echo(f"bounds: {analysis.gap['bounds']}; as of {analysis.gap['as_of']}")
    for group, test in analysis.gap["tests"].items():
        if test["insufficient_data"]:
            click.echo(f"{group:>12}: insufficient data ({test['reason']})")
            continue
        click.echo(
            f"{group:>12}: {test['observed_in_gap']} in the gap, {test['expected_in_gap']:.1f} expected, "
            f"P(K<=obs) = {test['p_le_observed_exact']:.2g} (Monte Carlo {test['mc_estimate']:.2g}; "
            f"scan-corrected {_p(test['p_scan_corrected'])}, posterior predictive {_p(test['p_posterior_predictive'])},"
            f" out of sample {_p(test['p_out_of_sample'])})"
        )
    click.echo(f"wrote {paths.trends}, {paths.gap} and {paths.plots_dir}/")
