"""`mlsizes site`: the dataset as an offline HTML site."""

from __future__ import annotations

from pathlib import Path

import click

from mlsizes.cli.common import (
    NEW_DIR,
    fail,
    print_json,
    project,
    project_options,
    shown,
    step,
)
from mlsizes.core.paths import LAYOUT


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=NEW_DIR,
    show_default=LAYOUT["site_dir"],
    help="Folder for index.html, records/, releases/, downloads/, validation.html, figures/ and assets/.",
)
@project_options("Print the files written as a JSON list.")
def site(out_dir: Path | None, as_json: bool, root: Path | None) -> None:
    """Write the dataset as a static HTML site that works offline (open OUT/index.html, no server needed).

    \b
    index.html       the explorer: a chart of any measure against date or another (log axes, the
                     eras' trends and doubling times from metrics/trends.json, the gap band), filters
                     by domain, organization, dates, confidence and text kept in the URL, every
                     record newest first; then the gap answer, the card, the figures, the releases
    records/         one page per record: every field with its unit, where it came from, its
                     corrections with their reasons, its values in every release
    releases/        one page per release: notes, counts, both releases on one chart, the diff
    downloads.html   the curated CSV, rejects, datapackage, codebook, card and figures with their
                     sha256 (downloads/, SHA256SUMS)
    validation.html  the validation report (pandera failures, each dataset expectation's observed value)

    Reads the project's built outputs and, for the releases, its git history.
    """
    from mlsizes.releases.revisions import VersionError
    from mlsizes.stages import site as stage

    paths = project(root).replace(site_dir=out_dir)
    try:
        written = stage.run(paths, stage.SiteSettings(on_progress=step))
    except (stage.SiteError, VersionError) as exc:
        fail(str(exc))
    if as_json:
        print_json([str(path) for path in written])
        return
    click.echo(f"wrote {len(written)} files; open {shown(paths.site_dir / 'index.html')}")
