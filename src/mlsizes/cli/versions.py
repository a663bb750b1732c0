"""`mlsizes versions`, `diff` and `release`: the dataset's releases and what changed between versions."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from mlsizes.cli.common import (
    NEW_FILE,
    fail,
    print_json,
    project_options,
    repository,
    step,
    usage,
)


@click.command()
@project_options("Print a JSON list (oldest first, with commits and notes) instead of a table.")
def versions(as_json: bool, root: Path | None) -> None:
    """List the dataset releases: commits that changed the version in dataset.yaml, oldest first.

    A table: each release's version, upstream snapshot, record counts (all, and with a parameter count) and
    the language gap test as the release stored it (systems in the gap, P) under each bounds convention.
    Use a version name with `mlsizes diff`.
    """
    from mlsizes.releases import release_list as stage
    from mlsizes.releases.revisions import VersionError

    root = repository(root).root
    try:
        listing = stage.run(root)
    except VersionError as exc:
        fail(str(exc))
    untagged = stage.untagged(root, listing)
    if untagged:
        click.echo(
            f"note: {len(untagged)} of {len(listing)} releases have no git tag in this clone "
            f"({', '.join(untagged)}); they are found from dataset.yaml's history. Get the tags with "
            "`git fetch --tags`; release with `git push --follow-tags` so they reach every clone",
            err=True,
        )
    if as_json:
        print_json(listing)
    elif not listing:
        click.echo("no releases yet (a release is a commit that changes the version in dataset.yaml)")
    else:
        click.echo(stage.render(listing))


@click.command()
@click.argument("old", default="HEAD")
@click.argument("new", default="workspace")
@click.option("--md", "as_md", is_flag=True, help="Markdown for a pull-request comment: at most 60,000 characters.")
@project_options("Machine-readable JSON (every change, nothing cut).")
@click.option("--full", is_flag=True, help="Cut no list (the Markdown may then exceed a comment's limit).")
@click.option(
    "--stored",
    is_flag=True,
    help="Compare the metrics each version stored, even when made by another method (code or params), instead "
    "of recomputing both with the current ones.",
)
@click.option("--plot", "plot_path", type=NEW_FILE, help="Also draw both versions' Figure 1 overlaid into this PNG.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Rebuild each revision's dataset and metrics from its raw data with `dvc repro --force` of "
    "the stages that write them (curate, analyze), in a temporary git worktree, instead of "
    "reading what git holds (slower; for revisions without committed metrics).",
)
def diff(
    old: str,
    new: str,
    as_md: bool,
    as_json: bool,
    full: bool,
    stored: bool,
    plot_path: Path | None,
    rebuild: bool,
    root: Path | None,
) -> None:
    """Show how records and metrics changed between two dataset versions OLD and NEW.

    OLD and NEW are git revisions (commit, tag, branch), release versions from `mlsizes versions`, or
    `workspace` (the files on disk). Default: HEAD against the workspace. Both versions' gap and trend
    metrics are recomputed from their records with the current code and params (cached, so only the first
    diff of a version takes long); a version whose stored metrics were made by another method is reported
    apart ("method changed: ..."), and "no data change" when only the method changed. A summary comes
    first: changes by domain, records entering or leaving the gap, the largest size changes, corrections
    ranked by effect, and every gap or trend result that moved; then the details, cut with "and N more"
    unless --full. Reads what git holds, so it needs no DVC remote. A long terminal view opens in a pager.
    """
    from mlsizes.releases import diff as stage

    if as_md and as_json:
        usage("--md and --json: choose one output format")
    paths = repository(root)
    if rebuild:
        step("rebuilding both revisions with dvc repro in temporary worktrees...")
    try:
        if stored:
            change = stage.process(paths.root, old, new, rebuild)
        else:
            from mlsizes.workflows import compare

            change = compare.process(paths, old, new, rebuild)
    except stage.VersionError as exc:
        fail(str(exc))
    for warning in change.old.warnings + change.new.warnings:
        click.echo(f"warning: {warning}", err=True)
    if plot_path is not None:
        from mlsizes.releases import chart_diff

        counts = chart_diff.draw(change.old, change.new, plot_path)
        step(f"wrote {plot_path} ({', '.join(f'{n} {what}' for what, n in counts.items())})")
    if as_json:
        print_json(stage.to_json(change))
        return
    text = stage.render(change, markdown=as_md, full=full)
    if not as_md and sys.stdout.isatty() and text.count("\n") > shutil.get_terminal_size().lines:
        click.echo_via_pager(text)
    else:
        click.echo(text, nl=False)


@click.command()
@click.argument("version")
@click.option("--notes", required=True, help="One or two sentences on what this release is.")
@click.option(
    "--date",
    "release_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Release date (default: the as-of date of the build, from params.yaml).",
)
@project_options("Print the release (version, commit, tag, files written) as JSON.")
def release(version: str, notes: str, release_date, as_json: bool, root: Path | None) -> None:
    """Release the built, committed dataset as VERSION (YYYY.MM.DD or YYYY.MM.DD.N, newer than every release).

    \b
    Steps: `dvc repro`, commit the result, then `mlsizes release VERSION --notes "..."`. It writes
    dataset.yaml and a CHANGELOG.md entry (the diff from the last release), commits them and tags that
    commit VERSION (an annotated git tag). Refused, with nothing written: missing notes, a malformed,
    reused or older version, uncommitted changes, a stage `dvc status` lists as stale, a contribution
    file upstream now supersedes or `mlsizes validate` fails, or no change in records or metrics since
    the last release. Push it with its tag: `git push --follow-tags`.
    """
    from mlsizes.workflows import release as stage

    project_paths = repository(root)
    try:
        commit, paths = stage.prepare(project_paths, version, notes, release_date.date() if release_date else None)
    except stage.VersionError as exc:
        fail(str(exc))
    step("push it with its tag, so every clone knows the release: git push --follow-tags")
    if as_json:
        print_json({"version": version, "commit": commit, "tag": version, "wrote": paths})
        return
    named = [path.name for path in paths if not path.is_relative_to(project_paths.site_dir)]
    pages = len(paths) - len(named)
    folder = project_paths.site_dir.relative_to(project_paths.root)
    site = f" and {pages:,} files of the site in {folder}/" if pages else ""
    click.echo(f"released {version}: commit {commit[:10]} ({', '.join(named)}{site}), tag {version}")
