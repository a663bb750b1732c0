"""`mlsizes fetch` and `mlsizes update`: a new upstream snapshot, and the dataset rebuilt from it."""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path

import click

from mlsizes.cli.common import (
    fail,
    print_json,
    project,
    project_options,
    repository,
    step,
    usage,
)


class _DownloadProgress:
    """Download progress on stderr: one self-updating line on a terminal, a line every 10 MB in a log."""

    LOG_STEP = 10 << 20

    def __init__(self) -> None:
        self.on_tty = sys.stderr.isatty()
        self.next_log = self.LOG_STEP
        self.line_open = False

    def update(self, done: int, total: int | None) -> None:
        of = f" of {total / 2**20:.1f}" if total else ""
        text = f"downloaded {done / 2**20:.1f}{of} MB"
        if self.on_tty:
            click.echo(f"\r{text}", err=True, nl=False)
            self.line_open = True
        elif done >= self.next_log:
            click.echo(text, err=True)
            self.next_log = done + self.LOG_STEP

    def retry(self, reason: str, delay: float) -> None:
        self.end_line()
        self.next_log = self.LOG_STEP
        click.echo(f"{reason}; retrying in {delay:g} s", err=True)

    def end_line(self) -> None:
        if self.line_open:
            click.echo(err=True)
            self.line_open = False


DAY = 24 * 3600


class Bounded(click.FloatRange):
    """A number in a range, never NaN (which every comparison, and so click's range check, lets through): a time
    or size past the range (1e20 s, inf) would overflow the clock or the sleep, with a traceback. With at most a
    day of backoff and 1,000 retries, the longest wait computed (a day times 2**999) is still a float."""

    def convert(self, value, param, ctx):
        """click's range check, then NaN refused."""
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number.", param, ctx)
        return number


FETCH_OPTIONS = (
    click.option(
        "--url",
        default="https://epoch.ai/data/notable_ai_models.csv",
        show_default=True,
        help="Where to download the CSV from.",
    ),
    click.option(
        "--timeout",
        type=Bounded(min=0, min_open=True, max=DAY),
        default=30.0,
        show_default=True,
        help="Seconds to wait for the connection, and for each read of the body.",
    ),
    click.option(
        "--max-mb",
        type=Bounded(min=0, min_open=True, max=1 << 20),
        default=200.0,
        show_default=True,
        help="Refuse a body larger than this many MiB, counted both as received (compressed) and as decoded.",
    ),
    click.option(
        "--retries",
        type=click.IntRange(min=0, max=1000),
        default=3,
        show_default=True,
        help="Attempts after a connection error, timeout, cut-off body or HTTP 5xx (never after a 4xx).",
    ),
    click.option(
        "--backoff",
        type=Bounded(min=0, max=DAY),
        default=1.0,
        show_default=True,
        help="Seconds before the first retry, doubled before each next one.",
    ),
    click.option(
        "--deadline",
        type=Bounded(min=0, min_open=True, max=DAY),
        default=600.0,
        show_default=True,
        help="Give up when the whole download (every attempt and the waits between them) takes longer "
        "than this many seconds.",
    ),
)


DATE_OPTION = click.option(
    "--date",
    "export_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The date of the export (YYYY-MM-DD), when neither its file name nor the server's Last-Modified header "
    "states it; it names the snapshot and is its as-of date. Never the day it was fetched.",
)


def _fetch_options(json_help: str):
    """The download options of `fetch`, shared by `update`, which fetches the same way, with --json and --root."""

    def decorate(command):
        for option in reversed((*FETCH_OPTIONS, DATE_OPTION, project_options(json_help))):
            command = option(command)
        return command

    return decorate


def _fetch_settings(timeout: float, max_mb: float, retries: int, backoff: float, deadline: float):
    """The fetch options as fetch.FetchOptions."""
    from mlsizes.workflows.fetch import MB, FetchOptions

    return FetchOptions(
        timeout=timeout, max_bytes=int(max_mb * MB), retries=retries, backoff=backoff, deadline=deadline
    )


def _export_day(export_date) -> dt.date | None:
    """--date as a date; a usage error (exit 2) when it is after today, which no export can be dated."""
    if export_date is None:
        return None
    if export_date.date() > dt.datetime.now(dt.UTC).date():
        usage(f"--date {export_date.date()}: after today; give the day the export was made")
    return export_date.date()


@click.command()
@_fetch_options("Print the snapshot stored (or the identical one found), its provenance and dating as JSON.")
def fetch(
    url: str,
    timeout: float,
    max_mb: float,
    retries: int,
    backoff: float,
    deadline: float,
    export_date,
    as_json: bool,
    root: Path | None,
) -> None:
    """Download Epoch's current CSV and store it as a new dated snapshot in data/raw/epoch/.

    The snapshot is dated by the export itself: --date, else a date in the file name, else the server's
    Last-Modified header (the retrieval time goes to the provenance record); with none of them nothing is
    stored and the command asks for --date (exit 1).

    The file must pass the same checks as every snapshot (a CSV with the required columns); its provenance
    record (URL, retrieval time, sha256, size, rows, licence) is written beside it. A body decoding to more than
    100 times its compressed size is refused as a decompression bomb. A snapshot is never
    overwritten: a date already taken gets a suffix (-2, -3...), and content identical to an existing snapshot
    is reported with nothing written. params.yaml is left alone: the command prints how to build from the new
    snapshot. The project root is the nearest folder with dvc.yaml, or $MLSIZES_ROOT.
    """
    from mlsizes.workflows import fetch as stage

    day = _export_day(export_date)
    paths = project(root)
    options = _fetch_settings(timeout, max_mb, retries, backoff, deadline)
    progress = _DownloadProgress()
    step(f"fetching {stage.without_credentials(url)}")
    try:
        result = stage.run(paths, url, options, on_progress=progress.update, on_retry=progress.retry, date=day)
    except stage.FetchError as exc:
        progress.end_line()
        fail(str(exc))
    progress.end_line()
    if as_json:
        print_json(stage.to_json(result, paths.root))
        return
    shown = result.snapshot.relative_to(paths.root)
    if not result.stored:
        click.echo(f"unchanged: {stage.without_credentials(url)} is identical to {shown}; nothing written")
        return
    record = result.provenance
    click.echo(
        f"stored {shown} ({record['rows']} rows, {record['size_bytes']} bytes, sha256 {record['sha256']}) "
        f"and its provenance record {shown.with_suffix('').name}.provenance.yaml"
    )
    click.echo(f"dated {result.dating}")
    click.echo(
        f"to build the dataset from it: set `snapshot: {record['snapshot']}` in params.yaml, then run `dvc repro`"
    )


@click.command()
@_fetch_options("Print what the update did and the diff against the last release as JSON.")
def update(
    url: str,
    timeout: float,
    max_mb: float,
    retries: int,
    backoff: float,
    deadline: float,
    export_date,
    as_json: bool,
    root: Path | None,
) -> None:
    """Fetch upstream's current CSV, rebuild the dataset from it and show what changed since the last release.

    \b
    Steps: `mlsizes fetch` (same checks and options), point `snapshot:` in params.yaml at the new
    snapshot (that line only), `dvc repro`, then a summary against the last release: records added,
    removed and changed, the new models, every record entering or leaving the gap, every new reject
    with its reason, the gap verdict, every contribution upstream now supersedes (release refuses
    until it is gone), and the commands that commit and release it.
    Nothing is committed, so the change can be reviewed first. Refused when git has uncommitted changes.
    When upstream is unchanged nothing is written (exit 0). When the rebuild fails, params.yaml, the
    new snapshot and every rebuilt file are put back as they were (exit 1).
    The snapshot is dated as `mlsizes fetch` dates it (--date, the file name, Last-Modified); with no
    date the update asks for --date and changes nothing (exit 1).
    """
    from mlsizes.releases.revisions import VersionError
    from mlsizes.workflows import update as stage
    from mlsizes.workflows.fetch import FetchError, without_credentials

    day = _export_day(export_date)
    paths = repository(root)
    progress = _DownloadProgress()

    def on_step(message: str) -> None:
        progress.end_line()
        step(message)

    step(f"fetching {without_credentials(url)}")
    try:
        result = stage.run(
            paths,
            url,
            _fetch_settings(timeout, max_mb, retries, backoff, deadline),
            on_progress=progress.update,
            on_retry=progress.retry,
            on_step=on_step,
            date=day,
        )
    except (FetchError, VersionError, stage.UpdateError) as exc:
        progress.end_line()
        fail(str(exc))
    progress.end_line()
    if as_json:
        print_json(stage.to_json(result, paths.root))
        return
    click.echo(stage.summary(result, paths.root, without_credentials(url)), nl=False)
