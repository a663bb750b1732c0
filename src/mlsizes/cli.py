"""The `mlsizes` command line: a thin layer over the stage modules, which it imports only when a command runs.

DVC stages call these same commands, so a stage run by `dvc repro` and one run by hand share one code path.
Heavy libraries (pandas, pandera, Great Expectations, DVC, matplotlib) are imported inside the commands,
keeping `mlsizes --help` fast.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import click

from mlsizes.core.paths import LAYOUT, Paths, ProjectNotFound
from mlsizes.tables import allocator

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


def _fail(message: str) -> None:
    """One line on stderr and exit code 1: the record/file, the field and the reason are in the message."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mlsizes")
def main() -> None:
    """Curate, validate and version Epoch's dataset of notable ML systems and their sizes.

    The pipeline (run it all with `dvc repro`, or `make reproduce` on a fresh clone); each stage is
    one of these commands:

    \b
      data/raw/epoch/<snapshot>.csv + data/raw/contributions/
          --curate-->           data/curated/models.csv, rejected.csv, metrics/curation.json
      schemas/   --metadata-->  data/curated/datapackage.json, codebook.csv
      models.csv --check-->     reports/validation/ (pandera + the expectation suite)
      models.csv --analyze-->   metrics/trends.json, metrics/gap.json, metrics/plots/
      paper-era snapshot --reproduce-paper-->  metrics/paper_reproduction.json
      every snapshot --history-->  metrics/history.json (the gap across upstream releases)
      metrics    --report-->    reports/report.md, reports/figures/*.png
      all of it + releases --site-->  reports/site/ (an offline HTML site: records, figures, releases)

    \b
    Contributing: add-model, validate.   Versions: versions, diff, release.   Upstream: fetch, update.

    Every command works on any file, not only the pipeline's: e.g.
    `mlsizes curate SNAPSHOT.csv --out DIR` curates a snapshot the pipeline has never seen.
    """
    allocator.keep_freed_memory()


@main.command()
@click.argument("snapshot", type=EXISTING_FILE)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for models.csv (valid records) and rejected.csv (every other row, with its reason).",
)
@click.option(
    "--metrics",
    "metrics_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the counts (raw, curated, rejected by reason) to this JSON file.",
)
@click.option(
    "--require-provenance",
    is_flag=True,
    help="Refuse a snapshot without a provenance record beside it (the pipeline sets this).",
)
@click.option(
    "--contributions",
    "contributions_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Also curate the contribution files in this folder (models and corrections/, see add-model).",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Reject contributions published after this date (default: the snapshot's date).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON instead of a summary.")
@click.option(
    "--force",
    is_flag=True,
    help="Curate even a snapshot that looks misread: no data rows, or more than half of its rows "
    "rejected for the same reason (otherwise refused, nothing written).",
)
def curate(
    snapshot: Path,
    out_dir: Path,
    metrics_path: Path | None,
    require_provenance: bool,
    contributions_dir: Path | None,
    as_of,
    as_json: bool,
    force: bool,
) -> None:
    """Ingest an upstream SNAPSHOT (any Epoch vintage) and split it into curated records and rejects.

    The snapshot's sha256 is checked against its provenance record (SNAPSHOT.provenance.yaml) when
    there is one. Every raw row ends up in models.csv or in rejected.csv with a reason code; the
    identity raw = curated + rejected is checked before anything is written. A file whose rows do not
    line up with its header is refused; text cells are written spreadsheet-safe (see codebook.csv).
    """
    from mlsizes.records import curation
    from mlsizes.records.snapshots import SnapshotError
    from mlsizes.stages import curate as stage

    paths = dataclasses.replace(Paths.here().with_curated_dir(out_dir), curation_metrics=metrics_path)
    try:
        result = stage.run(
            paths.replace(contributions_dir=contributions_dir),
            snapshot,
            as_of=as_of.date() if as_of else None,
            with_contributions=contributions_dir is not None,
            require_provenance=require_provenance,
            force=force,
        )
    except (SnapshotError, curation.IdentityError) as exc:
        _fail(str(exc))
    counts = result.metrics
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    reasons = ", ".join(f"{code} {n}" for code, n in counts["rejected_by_reason"].items()) or "none"
    contributed = (
        (f" ({counts['contribution_rows']} contribution files, {counts['corrections_applied']} corrections applied)")
        if counts["contribution_rows"]
        else ""
    )
    click.echo(
        f"{snapshot.name}: {counts['input_rows']} rows{contributed} -> {counts['curated']} curated "
        f"({counts['with_parameters']} with parameters), {counts['rejected']} rejected ({reasons})"
    )
    click.echo(f"wrote {paths.models} and {paths.rejected}")


@main.command()
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
def check(curated: Path, reports_dir: Path | None, data_docs: bool) -> None:
    """Validate a CURATED table against schemas/curated.yaml (pandera) and the expectation suite.

    The suite (schemas/dataset.expectations.json, a Great Expectations suite) is evaluated in pandas with
    GX's semantics; the results are written in GX's format. Exits 1 when any record or dataset-level
    expectation fails; the reports are written either way.
    """
    from mlsizes.core.errors import reason
    from mlsizes.records import validation
    from mlsizes.stages import check as stage

    paths = Paths.here().replace(models=curated, validation_dir=reports_dir)
    try:
        result = stage.run(paths, data_docs=data_docs)
    except validation.SuiteError as exc:
        _fail(str(exc))
    except ValueError as exc:  # not a curated table: unreadable, or a column missing or of the wrong type
        _fail(f"{curated}: {reason(exc)}")
    click.echo(result.summary())
    docs = f" (Data Docs: {paths.data_docs / 'index.html'})" if data_docs else ""
    click.echo(f"reports in {paths.validation_dir}/{docs}")
    if not result.success:
        sys.exit(1)


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=NEW_DIR,
    show_default=str(Path(LAYOUT["models"]).parent),
    help="Folder of models.csv and rejected.csv; datapackage.json, codebook.csv and README.md are written here.",
)
def metadata(out_dir: Path | None) -> None:
    """Write datapackage.json (Frictionless), codebook.csv and the dataset card README.md for the curated table.

    From schemas/curated.yaml, the version in dataset.yaml and the metrics of curate and analyze.
    """
    from mlsizes.stages import metadata as stage

    paths = Paths.here()
    try:
        written = stage.run(paths.with_curated_dir(out_dir) if out_dir else paths)
    except (stage.MetadataError, ValueError) as exc:
        _fail(str(exc))
    for path in written:
        click.echo(f"wrote {path}")


def _usage(message: str) -> None:
    """One line on stderr and exit code 2: the command was called wrongly (an option missing or in conflict)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


class _OneLineUsage(click.Command):
    """Report click's own usage errors (unknown option, option without a value) as one line with exit 2 too."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _usage(exc.format_message())


def _shown(path: Path) -> str:
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


@main.command("add-model", cls=_OneLineUsage)
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
@click.option("--json", "as_json", is_flag=True, help="Print the result, or the error, as JSON.")
@ROOT_OPTION
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
    missing or in conflict. Nothing is written unless the command succeeds. Guide: docs/contributing.md.
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
        _usage(str(exc))
    except stage.Invalid as problem:
        errors = [
            {"field": error.field, "code": error.code, "message": f"{stage.described(error.field)}: {error.message}"}
            for error in problem.errors
        ]
        if as_json:
            click.echo(json.dumps({"ok": False, **errors[0], "errors": errors}))
        for error in errors[:-1]:
            click.echo(f"error: {error['message']}", err=True)
        _fail(errors[-1]["message"])
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
        click.echo(f"would write {_shown(draft.path)} (dry run, nothing written):\n\n{draft.text()}", nl=False)
    else:
        verb = "added" if draft.kind == "model" else "corrected"
        click.echo(f"{verb} {draft.record_id}: {_shown(draft.path)}")
        click.echo("run `dvc repro` to put it in data/curated/models.csv")


def _ask(question: str, hint: str | None, check) -> str:
    """Ask for a missing add-model field on the terminal until check(answer) accepts it."""
    from mlsizes.records.untrusted import Invalid

    def checked(text: str) -> str:
        try:
            return check(text)
        except Invalid as problem:
            raise click.UsageError(str(problem)) from None

    if hint:
        click.echo(hint)
    return click.prompt(question, value_proc=checked)


@main.command(cls=_OneLineUsage)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the verdict on every file as JSON.")
@ROOT_OPTION
def validate(paths: tuple[Path, ...], as_json: bool, root: Path | None) -> None:
    """Check contribution files PATHS (default: all of data/raw/contributions/) as `dvc repro` will; for CI.

    Exit 0 when every file is valid; else one line per problem (file, field, reason) and exit 1.
    """
    from mlsizes.records import untrusted
    from mlsizes.workflows import add_model

    try:
        reports = add_model.validate(list(paths), root)
    except add_model.UsageProblem as exc:
        _usage(str(exc))
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
                        }
                        for r in reports
                    ],
                },
                indent=2,
            )
        )
    else:
        for report in invalid:
            for error in report.errors:
                click.echo(f"{untrusted.printable(_shown(report.path))}: {error.field}: {error.message} ({error.code})")
        click.echo(f"{len(reports) - len(invalid)} of {len(reports)} contribution files valid")
    if invalid:
        sys.exit(1)


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


FETCH_OPTIONS = (
    click.option(
        "--url",
        default="https://epoch.ai/data/notable_ai_models.csv",
        show_default=True,
        help="Where to download the CSV from.",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=30.0,
        show_default=True,
        help="Seconds to wait for the connection, and for each read of the body.",
    ),
    click.option(
        "--max-mb",
        type=click.FloatRange(min=0, min_open=True),
        default=200.0,
        show_default=True,
        help="Refuse a body larger than this many MiB, counted both as received (compressed) and as decoded.",
    ),
    click.option(
        "--retries",
        type=click.IntRange(min=0),
        default=3,
        show_default=True,
        help="Attempts after a connection error, timeout, cut-off body or HTTP 5xx (never after a 4xx).",
    ),
    click.option(
        "--backoff",
        type=click.FloatRange(min=0),
        default=1.0,
        show_default=True,
        help="Seconds before the first retry, doubled before each next one.",
    ),
    click.option(
        "--deadline",
        type=click.FloatRange(min=0, min_open=True),
        default=600.0,
        show_default=True,
        help="Give up when the whole download (every attempt and the waits between them) takes longer "
        "than this many seconds.",
    ),
)


def _fetch_options(command):
    """The download options of `fetch`, shared by `update`, which fetches the same way."""
    for option in reversed(FETCH_OPTIONS):
        command = option(command)
    return command


def _fetch_settings(timeout: float, max_mb: float, retries: int, backoff: float, deadline: float):
    """The fetch options as fetch.FetchOptions."""
    from mlsizes.workflows.fetch import MB, FetchOptions

    return FetchOptions(
        timeout=timeout, max_bytes=int(max_mb * MB), retries=retries, backoff=backoff, deadline=deadline
    )


@main.command()
@_fetch_options
def fetch(url: str, timeout: float, max_mb: float, retries: int, backoff: float, deadline: float) -> None:
    """Download Epoch's current CSV and store it as a new dated snapshot in data/raw/epoch/.

    The file must pass the same checks as every snapshot (a CSV with the required columns); its provenance
    record (URL, retrieval time, sha256, size, rows, licence) is written beside it. A body decoding to more than
    100 times its compressed size is refused as a decompression bomb. A snapshot is never
    overwritten: a date already taken gets a suffix (-2, -3...), and content identical to an existing snapshot
    is reported with nothing written. params.yaml is left alone: the command prints how to build from the new
    snapshot. The project root is the nearest folder with dvc.yaml, or $MLSIZES_ROOT.
    """
    from mlsizes.workflows import fetch as stage

    paths = _project()
    options = _fetch_settings(timeout, max_mb, retries, backoff, deadline)
    progress = _DownloadProgress()
    click.echo(f"fetching {url}", err=True)
    try:
        result = stage.run(paths, url, options, on_progress=progress.update, on_retry=progress.retry)
    except stage.FetchError as exc:
        progress.end_line()
        _fail(str(exc))
    progress.end_line()
    shown = result.snapshot.relative_to(paths.root)
    if not result.stored:
        click.echo(f"unchanged: {url} is identical to {shown}; nothing written")
        return
    record = result.provenance
    click.echo(
        f"stored {shown} ({record['rows']} rows, {record['size_bytes']} bytes, sha256 {record['sha256']}) "
        f"and its provenance record {shown.with_suffix('').name}.provenance.yaml"
    )
    click.echo(
        f"to build the dataset from it: set `snapshot: {record['snapshot']}` in params.yaml, then run `dvc repro`"
    )


@main.command()
@_fetch_options
def update(url: str, timeout: float, max_mb: float, retries: int, backoff: float, deadline: float) -> None:
    """Fetch upstream's current CSV, rebuild the dataset from it and show what changed since the last release.

    \b
    Steps: `mlsizes fetch` (same checks and options), point `snapshot:` in params.yaml at the new
    snapshot (that line only), `dvc repro`, then a summary against the last release: records added,
    removed and changed, the new models, the gap verdict, and the commands that commit and release it.
    Nothing is committed, so the change can be reviewed first. Refused when git has uncommitted changes.
    When upstream is unchanged nothing is written (exit 0). When the rebuild fails, params.yaml, the
    new snapshot and every rebuilt file are put back as they were (exit 1).
    """
    from mlsizes.versions.revisions import VersionError
    from mlsizes.workflows import update as stage
    from mlsizes.workflows.fetch import FetchError

    paths = _project()
    progress = _DownloadProgress()

    def step(message: str) -> None:
        progress.end_line()
        click.echo(message, err=True)

    click.echo(f"fetching {url}", err=True)
    try:
        result = stage.run(
            paths,
            url,
            _fetch_settings(timeout, max_mb, retries, backoff, deadline),
            on_progress=progress.update,
            on_retry=progress.retry,
            on_step=step,
        )
    except (FetchError, VersionError, stage.UpdateError) as exc:
        progress.end_line()
        _fail(str(exc))
    progress.end_line()
    click.echo(stage.summary(result, paths.root, url), nl=False)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (oldest first) instead of a table.")
def versions(as_json: bool) -> None:
    """List the dataset releases: commits that changed the version in dataset.yaml, oldest first.

    Each line shows the version, its commit, date, upstream snapshot, and headline figures read from the
    metrics git holds at that commit. Use a version name with `mlsizes diff`.
    """
    from mlsizes.versions import release_list as stage
    from mlsizes.versions.revisions import VersionError

    try:
        listing = stage.run(_project().root)
    except VersionError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(listing, indent=2))
    elif not listing:
        click.echo("no releases yet (a release is a commit that changes the version in dataset.yaml)")
    else:
        click.echo(stage.render(listing))


@main.command()
@click.argument("old", default="HEAD")
@click.argument("new", default="workspace")
@click.option("--md", "as_md", is_flag=True, help="Markdown for a pull-request comment: at most 60,000 characters.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON (every change, nothing cut).")
@click.option("--full", is_flag=True, help="Cut no list (the Markdown may then exceed a comment's limit).")
@click.option("--plot", "plot_path", type=NEW_FILE, help="Also draw both versions' Figure 1 overlaid into this PNG.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Rebuild each revision's dataset and metrics from its raw data with `dvc repro --force` of "
    "the stages that write them (curate, analyze), in a temporary git worktree, instead of "
    "reading what git holds (slower; for revisions without committed metrics).",
)
def diff(old: str, new: str, as_md: bool, as_json: bool, full: bool, plot_path: Path | None, rebuild: bool) -> None:
    """Show how records and metrics changed between two dataset versions OLD and NEW.

    OLD and NEW are git revisions (commit, tag, branch), release versions from `mlsizes versions`, or
    `workspace` (the files on disk). Default: HEAD against the workspace. A summary comes first: changes
    by domain, records entering or leaving the gap, the largest size changes, corrections, and every gap
    or trend result that moved; then the details, cut with "and N more" unless --full. Reads what git
    holds, so it needs no DVC remote. A long terminal view opens in a pager, like git.
    """
    from mlsizes.versions import diff as stage

    if as_md and as_json:
        _usage("--md and --json: choose one output format")
    if rebuild:
        click.echo("rebuilding both revisions with dvc repro in temporary worktrees...", err=True)
    try:
        change = stage.process(_project().root, old, new, rebuild)
    except stage.VersionError as exc:
        _fail(str(exc))
    if plot_path is not None:
        from mlsizes.versions import chart_diff

        counts = chart_diff.draw(change.old, change.new, plot_path)
        click.echo(f"wrote {plot_path} ({', '.join(f'{n} {what}' for what, n in counts.items())})", err=True)
    if as_json:
        click.echo(json.dumps(stage.to_json(change), indent=2, default=str))
        return
    text = stage.render(change, markdown=as_md, full=full)
    if not as_md and sys.stdout.isatty() and text.count("\n") > shutil.get_terminal_size().lines:
        click.echo_via_pager(text)
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("version")
@click.option("--notes", help="One or two sentences on what this release is (required).")
@click.option(
    "--date",
    "release_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Release date (default: the as-of date of the build, from params.yaml).",
)
def release(version: str, notes: str | None, release_date) -> None:
    """Release the built, committed dataset as VERSION (YYYY.MM.DD or YYYY.MM.DD.N, newer than every release).

    \b
    Steps: `dvc repro`, commit the result, then `mlsizes release VERSION --notes "..."`. It writes
    dataset.yaml and a CHANGELOG.md entry (the diff from the last release), commits them and tags that
    commit VERSION (an annotated git tag). Refused, with nothing written: missing notes, a malformed,
    reused or older version, uncommitted changes, a stage `dvc status` lists as stale, or no change in
    records or metrics since the last release. Push the tag with `git push origin VERSION`.
    """
    from mlsizes.workflows import release as stage

    try:
        commit, paths = stage.prepare(_project(), version, notes, release_date.date() if release_date else None)
    except stage.VersionError as exc:
        _fail(str(exc))
    click.echo(f"released {version}: commit {commit[:10]} ({', '.join(path.name for path in paths)}), tag {version}")


def _project() -> Paths:
    """The paths of the project found from the working directory (or $MLSIZES_ROOT); exit 1 when there is none."""
    try:
        return Paths.find()
    except ProjectNotFound as exc:
        _fail(str(exc))


def _p(value: float | None) -> str:
    """A P value for a summary line, or n/a."""
    return "n/a" if value is None else f"{value:.2g}"


def _settings(paths: Paths, command: str):
    """The study's settings from the params file of these paths. Outside a project, `analyze` uses the study's
    defaults shipped with the package; the pipeline commands, which read a project's raw data or metrics, stop
    with one line."""
    from mlsizes.core.paths import BUNDLED_DIR
    from mlsizes.core.settings import Settings

    params_path = paths.params
    if not params_path.is_file():
        if command != "analyze":
            _fail(
                f"`mlsizes {command}` is a pipeline command and {params_path} does not exist: run it inside a "
                "clone of the dataset's repository (or set MLSIZES_ROOT, or give --params)"
            )
        params_path = BUNDLED_DIR / "params.yaml"
        click.echo(f"{paths.params} not found: using the study's default params shipped with mlsizes", err=True)
    try:
        return Settings.load(params_path)
    except ValueError as exc:
        _fail(str(exc))


@main.command()
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
    try:
        analysis = stage.run(paths, _settings(paths, "analyze").analysis)
    except ValueError as exc:
        _fail(str(exc))
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


@main.command("reproduce-paper")
@click.option(
    "--raw", "raw_dir", type=EXISTING_DIR, show_default=LAYOUT["raw_dir"], help="Folder of the raw snapshots."
)
@PARAMS_OPTION
@click.option("--out", "out_path", type=NEW_FILE, show_default=LAYOUT["paper_reproduction"])
def reproduce_paper(raw_dir: Path | None, params_path: Path | None, out_path: Path | None) -> None:
    """Re-run the paper's table on the paper-era snapshot and write ours beside the paper's numbers.

    Reads the `paper_reproduction:` section (the snapshot and its cut-off) and the `analysis:` one.
    """
    from mlsizes.stages import reproduce as stage

    paths = Paths.here().replace(raw_dir=raw_dir, params=params_path, paper_reproduction=out_path)
    params = _settings(paths, "reproduce-paper").paper_reproduction
    if params is None:
        _fail(f"{paths.params}: no paper_reproduction section (snapshot, as_of)")
    result = stage.run(paths, params)
    for era in params.analysis.era_keys.values():
        paper, ours = result[era]["paper"], result[era]["ours"]
        click.echo(
            f"{era:>10}: n {ours['n']} (paper {paper['n']}), slope {ours['slope_oom_per_year']:.2f} "
            f"(paper {paper['slope_oom_per_year']}) OOM/yr, R^2 {ours['r2']:.2f} (paper {paper['r2']})"
        )
    gap = result["gap_probability"]
    click.echo(f"gap probability {gap['ours']:.2g} (paper {gap['paper']:g}); wrote {paths.paper_reproduction}")


@main.command()
@click.option(
    "--raw", "raw_dir", type=EXISTING_DIR, show_default=LAYOUT["raw_dir"], help="Folder of the raw snapshots."
)
@PARAMS_OPTION
@click.option("--out", "out_path", type=NEW_FILE, show_default=LAYOUT["history"])
@click.option("--figure", "figure_path", type=NEW_FILE, show_default=LAYOUT["history_figure"])
def history(raw_dir: Path | None, params_path: Path | None, out_path: Path | None, figure_path: Path | None) -> None:
    """Run the gap test and trend fits on every snapshot in RAW, each as of its own date.

    Reads the `analysis:` section and the paper's cut-off (`paper_reproduction.as_of`).
    """
    from mlsizes.records.snapshots import SnapshotError
    from mlsizes.stages import history as stage

    paths = Paths.here().replace(raw_dir=raw_dir, params=params_path, history=out_path, history_figure=figure_path)
    settings = _settings(paths, "history")
    if settings.paper_reproduction is None:
        _fail(f"{paths.params}: no paper_reproduction section (its as_of is the paper's cut-off)")
    try:
        result = stage.run(paths, settings.analysis, settings.paper_reproduction.as_of)
    except SnapshotError as exc:
        _fail(str(exc))
    for domain, info in result["answer"].items():
        click.echo(
            f"{domain}: in the paper's window {info['observed_first']} -> {info['observed_newest']} in the "
            f"gap, P {info['p_first']:.2g} -> {info['p_newest']:.2g} ({info['first']} -> {info['newest']})"
        )
    click.echo(f"wrote {paths.history} and {paths.history_figure}")


@main.command()
@click.option(
    "--metrics",
    "metrics_dir",
    type=EXISTING_DIR,
    show_default=str(Path(LAYOUT["trends"]).parent),
    help="Folder of the metrics of analyze, reproduce-paper and history.",
)
@PARAMS_OPTION
@click.option(
    "--out", "reports_dir", type=NEW_DIR, show_default=LAYOUT["reports_dir"], help="Folder for report.md and figures/."
)
def report(metrics_dir: Path | None, params_path: Path | None, reports_dir: Path | None) -> None:
    """Draw the four figures and write report.md from the metrics of the analyze, reproduce and history stages.

    Reads the `snapshot` and the `analysis:` section (for the footer and every label naming a setting).
    """
    from mlsizes.stages import report as stage

    paths = Paths.here().replace(params=params_path, reports_dir=reports_dir)
    paths = paths.with_metrics_dir(metrics_dir) if metrics_dir else paths
    settings = _settings(paths, "report")
    for path in stage.run(paths, settings.analysis, settings.snapshot):
        click.echo(f"wrote {path}")


@main.command()
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
    from mlsizes.stages import site as stage
    from mlsizes.versions.revisions import VersionError

    paths = _project().replace(site_dir=out_dir)
    try:
        written = stage.run(paths, on_progress=lambda message: click.echo(message, err=True))
    except (stage.SiteError, VersionError) as exc:
        _fail(str(exc))
    click.echo(f"wrote {len(written)} files; open {_shown(paths.site_dir / 'index.html')}")
