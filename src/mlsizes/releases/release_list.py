"""`mlsizes versions` (and `mlsizes.versions()`): the dataset releases, oldest first, with headline figures from the
metrics git holds."""

from __future__ import annotations

from pathlib import Path

from mlsizes.core.paths import LAYOUT
from mlsizes.releases.diff import flatten
from mlsizes.releases.revisions import VersionError, git, read_json_at, releases
from mlsizes.rendering.text import plain_table


def headline(root: Path, commit: str) -> dict:
    """Headline figures git holds at a commit: record counts and the gap test's in-gap counts and P(K<=obs)."""
    curation = read_json_at(root, commit, LAYOUT["curation_metrics"]) or {}
    gap = flatten(read_json_at(root, commit, LAYOUT["gap"]) or {})
    figures = {"records": curation.get("curated"), "with_parameters": curation.get("with_parameters")}
    if "tests.language.observed_in_gap" in gap:  # one bounds convention (since issue 14)
        bounds = gap.get("bounds", "strict")
        figures[f"language_in_gap_{bounds}"] = gap["tests.language.observed_in_gap"]
        figures[f"language_p_{bounds}"] = gap["tests.language.p_le_observed_exact"]
    for bounds in ("strict", "inclusive"):  # releases that stored both conventions
        test = f"tests.language.{bounds}"
        if f"{test}.observed_in_gap" in gap:
            figures[f"language_in_gap_{bounds}"] = gap[f"{test}.observed_in_gap"]
            figures[f"language_p_{bounds}"] = gap[f"{test}.p_le_observed_exact"]
    return figures


def run(root: Path) -> list[dict]:
    """The releases as JSON-able objects, oldest first, with their headline figures; VersionError naming the
    release whose metrics are damaged."""
    listing = []
    for r in releases(root):
        try:
            figures = headline(root, r.commit)
        except VersionError as exc:
            raise VersionError(f"{r.version}: {exc}") from None
        fields = {"version": r.version, "commit": r.commit, "date": r.date, "snapshot": r.snapshot, "notes": r.notes}
        listing.append(fields | {"headline": figures})
    return listing


def render(listing: list[dict]) -> str:
    """The listing as a table within 100 columns: version, snapshot, record counts, and the language gap test as
    the release stored it (systems in the gap, P) under each bounds convention the releases used (the commits are
    in `--json`)."""
    conventions = [b for b in ("strict", "inclusive") if any(f"language_p_{b}" in item["headline"] for item in listing)]
    rows = []
    for item in listing:
        figures = item["headline"]
        tests = [
            f"{figures[f'language_in_gap_{b}']}, P {figures[f'language_p_{b}']:.2g}"
            if figures.get(f"language_p_{b}") is not None
            else "-"
            for b in conventions
        ]
        rows.append([item["version"], item["snapshot"], figures["records"], figures["with_parameters"], *tests])
    return plain_table(["version", "snapshot", "records", "sized", *(f"{b} bounds" for b in conventions)], rows)


def untagged(root: Path, listing: list[dict]) -> list[str]:
    """The releases with no git tag of their version in this clone (a clone of a repository whose tags were
    never pushed, or fetched without them): `mlsizes versions` says so."""
    tags = set(git(root, "tag", "--list").split())
    return [item["version"] for item in listing if item["version"] not in tags]
