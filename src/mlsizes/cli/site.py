"""`mlsizes site`: the dataset as an offline HTML site."""

from __future__ import annotations

from pathlib import Path

import click

from mlsizes.cli.common import (
    NEW_DIR,
    fail,
    project,
    shown,
)
from mlsizes.core.paths import LAYOUT


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=NEW_DIR,
    show_default=LAYOUT["site_dir"],
    help="Folder for index.html, validation.html, releases/, figures/ and assets/.",
)
def site(out_dir: Path | None) -> None:
    """Write the dataset as a static HTML site that works offline (open OUT/index.html, no server needed).

    \b
    index.html       the dataset card, validation status, the gap answer, every figure, every record
                     (search and sort in the page)
    validation.html  the validation report (pandera failures, each dataset expectation's observed value)
    releases/        one page per release: notes, record counts, the diff from the previous release

    Reads the project's built outputs and, for the releases, its git history.
    """
    from mlsizes.releases.revisions import VersionError
    from mlsizes.stages import site as stage

    paths = project().replace(site_dir=out_dir)
    try:
        written = stage.run(paths, stage.SiteSettings(on_progress=lambda message: click.echo(message, err=True)))
    except (stage.SiteError, VersionError) as exc:
        fail(str(exc))
    click.echo(f"wrote {len(written)} files; open {shown(paths.site_dir / 'index.html')}")
