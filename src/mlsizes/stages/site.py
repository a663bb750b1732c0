"""`mlsizes site`: the dataset as a static HTML site that works offline: no page asks for anything outside it.

Load: the curated table, the dataset card, the validation results, gap.json and trends.json, the study's params,
the report's figures, the files offered for download, the corrections the records name, and every release with its
diff from the previous one (git history, through revisions.py and diff.py).
Process: every page as text (pure: the same inputs give byte-identical pages, no timestamps): the index with the
explorer (a Vega-Lite chart and filters kept in the URL, drawn by assets/site.js from JSON in the page), a page per
record, per release (both releases on one chart) and the downloads with their sha256.
Save: DIR/index.html, records/, releases/<version>.html, downloads.html, downloads/, SHA256SUMS, validation.html,
figures/*.png and assets/ (a hand-written stylesheet and script, and the charting library vendored from npm, all
shipped with the package).

Everything from the data is escaped; JSON for the script has `<`, `>` and `&` escaped; Markdown (the card, the
report's gap tables, the diff's summaries) is rendered with raw HTML off. Links are relative, so the folder works
from a web server and from file:// alike.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape, unescape
from pathlib import Path

import pandas as pd
import yaml

from mlsizes.core import untrusted
from mlsizes.core.files import refuse_unwritable, write_tree
from mlsizes.core.paths import LAYOUT, PACKAGE_DIR, Paths
from mlsizes.core.settings import AnalysisParams, Settings, in_gap, size_text, size_words
from mlsizes.records import contracts, contribution_files, curation
from mlsizes.records.validation import CheckResult
from mlsizes.releases import diff, release_list, revisions
from mlsizes.rendering import text

ASSETS = PACKAGE_DIR / "site_assets"
FIGURES_DIR = f"{LAYOUT['reports_dir']}/figures"  # Paths.figures_dir, as git names it at a release
ASSET_FILES = (
    "site.css",
    "site.js",
    # the charting library, vendored from the npm registry (vendor/README.md: versions, licences, checksums)
    "vendor/vega.min.js",
    "vendor/vega-lite.min.js",
    "vendor/vega-embed.min.js",
    "vendor/LICENSE.vega",
    "vendor/LICENSE.vega-lite",
    "vendor/LICENSE.vega-embed",
    "vendor/README.md",
)
# Every page's scripts: the list of releases (written with the site, for the release menu) and site.js; a page
# with a chart loads the charting library too.
RELEASES_SCRIPT = "data/releases.js"
SCRIPTS = (
    "assets/vendor/vega.min.js",
    "assets/vendor/vega-lite.min.js",
    "assets/vendor/vega-embed.min.js",
    "assets/site.js",
)
# The chart's measures: (column, label); the first is the x axis by default, the second the y axis.
MEASURES = (
    ("publication_date", "Publication date"),
    ("parameters", "Parameters"),
    ("training_compute_flop", "Training compute (FLOP)"),
    ("training_dataset_size", "Training dataset size (datapoints)"),
    ("training_cost_usd", "Training compute cost (US dollars)"),
    ("training_time_hours", "Training time (hours)"),
    ("hardware_quantity", "Hardware quantity (chips)"),
)
NUMERIC_MEASURES = tuple(column for column, _ in MEASURES[1:])
# Files offered for download, by their name in the site's downloads/ folder and the Paths field they come from.
DOWNLOADS = (
    ("models.csv", "models", "the curated records"),
    ("rejected.csv", "rejected", "every raw row left out, with its reason"),
    ("datapackage.json", "datapackage", "Frictionless Data Package descriptor"),
    ("codebook.csv", "codebook", "every column: description, unit, source"),
    ("README.md", "dataset_card", "the dataset card"),
)
# The records table: (heading, column, sorted as numbers). Every record's name, organization and domains are
# what the search box matches.
RECORD_COLUMNS = (
    ("Name", "name", False),
    ("Organization", "organization", False),
    ("Domains", "domains", False),
    ("Published", "publication_date", False),
    ("Parameters", "parameters", True),
    ("Compute (FLOP)", "training_compute_flop", True),
)
SEARCHED = ("name", "organization", "domains")
DATE_LENGTH = {"year": 4, "month": 7, "day": 10}  # how much of an ISO date its precision states
SAFE_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]*")
BRIEF_COLUMNS = ("id", "name", "primary_domain", "publication_date", "parameters")
# A record's changes between releases shown with their values (notes are long: only their names).
SHOWN_CHANGES = ("name", "organization", "domains", "publication_date", "parameters", "training_compute_flop")
# Where the site's files go: its pages, and a file in each of its folders (names that are never written).
LAYOUT_NAMES = (
    "index.html",
    "validation.html",
    "releases/.x",
    "figures/.x",
    "assets/.x",
    "records/.x",
    "downloads/.x",
    "data/.x",
)


class SiteError(Exception):
    """An input the site cannot be built from; the message names the file and why."""


@dataclass
class ReleasePage:
    """One release with its headline figures and, except for the first, its diff from the previous release."""

    version: str
    commit: str
    date: str
    snapshot: str
    notes: str
    headline: dict
    previous: ReleasePage | None
    change: diff.DatasetDiff | None
    rejected: pd.DataFrame | None = None  # the raw rows this release left out, with their reasons
    files: dict[str, bytes] | None = None  # its downloads as git holds them, by their name in DOWNLOADS
    figures: dict[str, bytes] | None = None  # its report's figures as git holds them, by file name
    validation: CheckResult | None = None  # its validation results as git holds them (None: it kept none)


@dataclass
class Inputs:
    """Everything the pages show."""

    dataset: dict
    models: pd.DataFrame
    card: str | None
    validation: CheckResult
    gap: dict
    figures: dict[str, bytes]
    releases: list[ReleasePage]
    assets: dict[str, bytes]
    trends: dict
    params: AnalysisParams
    downloads: dict[str, bytes]
    corrections: dict[str, dict[str, dict]]


def load_corrections(models: pd.DataFrame, folder: Path) -> dict[str, dict[str, dict]]:
    """The reason and link of every correction a record names in field_sources, by its source and field
    (read as untrusted text, like every contribution file)."""
    sources = {
        source
        for cell in models["field_sources"].dropna()
        for pair in str(cell).split(";")
        if (source := pair.partition("=")[2].strip()).startswith(contribution_files.SOURCE_PREFIX)
    }
    found = {}
    for source in sorted(sources):
        path = folder / source.removeprefix(contribution_files.SOURCE_PREFIX)
        try:
            fields = contribution_files.read(path).get("fields") or {}
        except (OSError, ValueError) as exc:
            raise SiteError(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from None
        found[source] = {
            str(name): {key: str(entry.get(key, "")) for key in ("value", "reason", "link")}
            for name, entry in fields.items()
            if isinstance(entry, dict)
        }
    return found


def _read(path: Path, parse, hint: str):
    """A required input, parsed; SiteError naming the file when it is missing or unreadable."""
    if not path.is_file():
        raise SiteError(f"{path}: no such file (written by {hint})")
    try:
        return parse(path)
    except (ValueError, yaml.YAMLError) as exc:
        raise SiteError(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from None


def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def load_releases(root: Path, dataset: dict, on_progress: Callable[[str], None]) -> list[ReleasePage]:
    """Every release, oldest first, each with its diff from the one before (what `mlsizes diff` shows).

    A version in the workspace's dataset.yaml that git does not hold yet is the release being made: `mlsizes
    release` builds the site before its commit, so the release commit carries its own page. A page does not
    show its commit, so it reads the same once the commit exists."""
    listing = release_list.run(root)
    version = str(dataset.get("version", ""))
    if version and version not in {item["version"] for item in listing}:
        pending = {key: str(dataset.get(key, "")).strip() for key in ("date", "snapshot", "notes")}
        headline = release_list.headline(root, revisions.WORKSPACE)
        listing.append({"version": version, "commit": revisions.WORKSPACE, **pending, "headline": headline})
    pages: list[ReleasePage] = []
    for item in listing:
        if not SAFE_NAME.fullmatch(item["version"]):  # it names a file: no path, no markup
            raise SiteError(
                f"{revisions.DATASET_FILE} at {item['commit'][:10]}: version {item['version']!r} cannot name a page"
            )
        previous = pages[-1] if pages else None
        change = None
        if previous is not None:
            on_progress(f"site: release {item['version']} against {previous.version}")
            # Each release is read from git once: the previous one is the new side of its own diff.
            old = previous.change.new if previous.change else diff.side_at(root, previous.commit)
            change = diff.compare(old, diff.side_at(root, item["commit"]))
        fields = {key: item[key] for key in ("version", "commit", "date", "snapshot", "notes", "headline")}
        rejected = read_rejected(root, item["commit"])
        files = {
            name: text.encode("utf-8")
            for name, field, _ in DOWNLOADS
            if (text := revisions.read_at(root, item["commit"], LAYOUT[field])) is not None
        }
        figures = {
            Path(path).name: revisions.read_bytes_at(root, item["commit"], path)
            for path in revisions.files_at(root, item["commit"], FIGURES_DIR)
            if path.endswith(".png")
        }
        pages.append(
            ReleasePage(
                **fields,
                previous=previous,
                change=change,
                rejected=rejected,
                files=files,
                figures=figures,
                validation=read_validation(root, item["commit"]),
            )
        )
    return pages


def read_validation(root: Path, commit: str) -> CheckResult | None:
    """A release's validation results as git holds them; None for a release that kept none (VersionError naming
    a file that is not JSON, like every file read from a release)."""
    folder = LAYOUT["validation_dir"]
    failures = revisions.read_at(root, commit, f"{folder}/pandera_failures.csv")
    results = revisions.read_json_at(root, commit, f"{folder}/gx_results.json")
    if not failures or results is None:
        return None
    frame = pd.read_csv(io.StringIO(failures), dtype=str, keep_default_na=False)
    return CheckResult(success=frame.empty and bool(results.get("success")), pandera_failures=frame, gx_results=results)


def read_rejected(root: Path, commit: str) -> pd.DataFrame:
    """A release's rejects (what says why a record left); empty for a release that kept none."""
    text = revisions.read_at(root, commit, LAYOUT["rejected"])
    if not text:
        return pd.DataFrame(columns=["name", "reject_code", "reject_message"])
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def load(paths: Paths, on_progress: Callable[[str], None]) -> Inputs:
    """The workspace's dataset, card, validation results, gap test and figures, and the releases git holds."""
    validation_dir = paths.validation_dir
    failures = _read(
        validation_dir / "pandera_failures.csv",
        lambda path: pd.read_csv(path, dtype=str, keep_default_na=False),
        "mlsizes check",
    )
    gx_results = _read(validation_dir / "gx_results.json", _json, "mlsizes check")
    figures = sorted(paths.figures_dir.glob("*.png"))
    if not figures:
        raise SiteError(f"{paths.figures_dir}: no figures (written by mlsizes report)")
    dataset = _read(
        paths.dataset_file, lambda path: untrusted.load_text(path.read_text(encoding="utf-8")), "mlsizes release"
    )
    models = _read(paths.models, contracts.read_curated, "mlsizes curate")
    params = _read(paths.params, lambda path: Settings.load(path).analysis, "the project: the study's settings")
    downloads = {
        name: getattr(paths, field).read_bytes() for name, field, _ in DOWNLOADS if getattr(paths, field).is_file()
    }
    return Inputs(
        dataset=dataset,
        models=models,
        card=paths.dataset_card.read_text(encoding="utf-8") if paths.dataset_card.is_file() else None,
        validation=CheckResult(
            success=failures.empty and bool(gx_results["success"]), pandera_failures=failures, gx_results=gx_results
        ),
        gap=_read(paths.gap, _json, "mlsizes analyze"),
        figures={path.name: path.read_bytes() for path in figures},
        releases=load_releases(paths.root, dataset, on_progress),
        assets={name: (ASSETS / name).read_bytes() for name in ASSET_FILES},
        trends=_read(paths.trends, _json, "mlsizes analyze"),
        params=params,
        downloads=downloads,
        corrections=load_corrections(models, paths.contributions_dir),
    )


# --- rendering --------------------------------------------------------------------------------------------


def markdown(text: str) -> str:
    """Markdown as HTML, raw HTML in it shown as text (a card or a record name cannot inject markup); tables
    scroll sideways on a narrow screen."""
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    return rendered.replace("<table>", '<div class="scroll"><table>').replace("</table>", "</table></div>")


def card_body(card: str) -> str:
    """A dataset card without its YAML front matter (the metadata block hubs read), as Markdown."""
    if card.startswith("---\n"):
        end = card.find("\n---", 4)
        if end != -1:
            return card[end + 4 :].lstrip("\n")
    return card


def page(title: str, body: str, depth: int = 0, chart: bool = False) -> str:
    """A whole page: the stylesheet, the navigation and the scripts (the charting library only for a page with
    a chart), all linked relative to the page; the body says how far up the site's root is, so the script
    links records from any page."""
    up = "../" * depth
    links = [
        ("index.html", "mlsizes"),
        ("index.html#explore", "Explore"),
        ("index.html#all-records", "Records"),
        ("index.html#gap", "The gap"),
        ("index.html#figures", "Figures"),
        ("downloads.html", "Downloads"),
        ("validation.html", "Validation"),
        ("index.html#releases", "Releases"),
    ]
    nav = "".join(f'<a href="{up}{href}">{label}</a>' for href, label in links)
    scripts = "".join(
        f'<script src="{up}{name}"></script>\n'
        for name in (RELEASES_SCRIPT, *SCRIPTS)
        if chart or "vendor/" not in name
    )
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        '<link rel="icon" href="data:,">\n'
        f'<link rel="stylesheet" href="{up}assets/site.css">\n'
        f'</head>\n<body data-root="{up}">\n<a class="skip" href="#main">Skip to content</a>\n'
        f'<header><nav aria-label="Site">{nav}</nav></header>\n<main id="main">\n{body}\n</main>\n'
        f"{scripts}</body>\n</html>\n"
    )


def script_json(value, element_id: str) -> str:
    """Data for the page's script, as JSON in a non-executed <script>: every `<`, `>` and `&` escaped, so text
    from the data (a name holding `</script>`) cannot end the element or open a tag."""
    return f'<script type="application/json" id="{escape(element_id)}">{json_text(value)}</script>'


def json_text(value) -> str:
    """JSON with every `<`, `>` and `&` (and the two line separators JavaScript once refused) escaped: safe in
    a page and in a script file."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def table(headers: list[str], rows: list[list[str]], numeric: tuple[int, ...] = (), **attributes: str) -> str:
    """An HTML table of already-escaped cells; the columns in `numeric` right-aligned."""

    def cells(tag: str, row: list[str]) -> str:
        return "".join(
            f'<{tag} class="number">{cell}</{tag}>' if i in numeric else f"<{tag}>{cell}</{tag}>"
            for i, cell in enumerate(row)
        )

    attrs = "".join(f' {name}="{escape(value)}"' for name, value in attributes.items())
    body = "\n".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return (
        f'<div class="scroll"><table{attrs}>\n<thead><tr>{cells("th", headers)}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table></div>"
    )


def _missing(value) -> bool:
    return value is None or value == ""


def compute_text(value: float) -> str:
    """Training compute as the paper writes it, 3.14e23 (below a million as the number itself)."""
    if value < 1e6:
        return f"{value:g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def record_cell(column: str, record: dict) -> str:
    """One cell of the records table: its shown text and, where the text does not sort, the value it sorts by."""
    value = record[column]
    if _missing(value):
        return '<td data-sort=""></td>'
    if column == "parameters":
        return f'<td class="number" data-sort="{value!r}">{escape(diff.cell(column, value))}</td>'
    if column == "training_compute_flop":
        return f'<td class="number" data-sort="{value!r}">{escape(compute_text(value))}</td>'
    if column == "publication_date":
        return f'<td data-sort="{escape(value)}">{escape(shown_date(record))}</td>'
    text = escape(str(value).replace(",", ", ") if column in ("domains", "organization") else str(value))
    if column == "name":
        text = f'<a href="{escape(record_href(record["id"]))}">{text}</a>'
    return f'<td class="wrap">{text}</td>' if column == "organization" else f"<td>{text}</td>"


def search_text(record: dict) -> str:
    """What the search box matches a record against: its name, organization and domains, lower case."""
    return " ".join(str(record[column]) for column in SEARCHED if not _missing(record[column])).lower()


def records_section(models: pd.DataFrame, search_box: bool = True) -> str:
    """Every record, newest first, one row each linking its page, with sortable headings site.js drives; the
    explorer's filters hide rows (a page without them gets its own search box)."""
    headings = "".join(
        f'<th{" class=number" if numeric else ""} data-type="{"number" if numeric else "text"}">'
        f'<button type="button">{escape(heading)}</button></th>'
        for heading, _, numeric in RECORD_COLUMNS
    )
    rows = "\n".join(
        f'<tr data-id="{escape(record["id"])}" data-search="{escape(search_text(record))}">'
        + "".join(record_cell(column, record) for _, column, _ in RECORD_COLUMNS)
        + "</tr>"
        for record in _records(newest_first(models))
    )
    search = (
        '<div class="search"><label for="search">Search name, organization or domain</label>\n'
        '<input type="search" id="search" placeholder="e.g. language google" autocomplete="off"></div>\n'
        if search_box
        else ""
    )
    return (
        '<h2 id="all-records">Records</h2>\n'
        f"{search}"
        f'<p><span id="count" class="meta" aria-live="polite">{len(models)} records</span>, newest first; the '
        "filters above choose them too. Click a heading to sort by it, again to reverse; a name opens the "
        "record. Sizes as 175B (billions of parameters).</p>\n"
        f'<div class="scroll"><table id="records" class="records">\n<thead><tr>{headings}</tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody>\n</table></div>"
    )


def row_dicts(frame: pd.DataFrame) -> list[dict]:
    """A table's rows as dicts, as to_dict(orient="records") gives them, read a column at a time: to_dict boxes
    every cell on its own, the slowest part of building a site of thousands of rows."""
    columns = list(frame.columns)
    return [dict(zip(columns, values)) for values in zip(*(frame[column].to_numpy(dtype=object) for column in columns))]


def _records(models: pd.DataFrame) -> list[dict]:
    """The table's rows as dicts, missing values as None."""
    return row_dicts(models.astype(object).where(models.notna(), None))


def newest_first(models: pd.DataFrame) -> pd.DataFrame:
    """The records newest first; records published the same day keep the table's order."""
    return models.sort_values("publication_date", ascending=False, kind="stable")


def record_href(record_id: str, up: str = "") -> str:
    """A record's page, relative to a page `up` from the site's root."""
    if not SAFE_NAME.fullmatch(str(record_id)):  # it names a file: no path, no markup
        raise SiteError(f"record id {record_id!r} cannot name a page")
    return f"{up}records/{record_id}.html"


def shown_date(record: dict) -> str:
    """A publication date with only the part its source stated (2019, 2019-07, 2019-07-26)."""
    value = record["publication_date"]
    return value[: DATE_LENGTH.get(record["date_precision"], len(value))]


def large_scale(parameters, params: AnalysisParams) -> bool:
    """Above the gap: the study's large-scale systems (the `above_gap` fit), by the gap's bounds convention."""
    if parameters is None:
        return False
    inside = in_gap(parameters, params.gap_lower, params.gap_upper, params.inclusive)
    return bool(parameters >= params.gap_upper and not inside)  # as analysis.study selects its "above" era


def chart_record(record: dict, params: AnalysisParams) -> dict:
    """What the chart and the filters know of one record (sizes also as text for the tooltip)."""
    parameters, compute = record["parameters"], record["training_compute_flop"]
    return {
        "id": record["id"],
        "name": record["name"],
        "organization": record["organization"] or "",
        "domains": str(record["domains"]).split(","),
        "domain": record["primary_domain"],
        "publication_date": record["publication_date"],
        "date_text": shown_date(record),
        **{column: record.get(column) for column in NUMERIC_MEASURES},
        "parameters_text": "" if parameters is None else size_text(parameters),
        "compute_text": "" if compute is None else compute_text(compute),
        "confidence": record["confidence"] or "",
        "scale": "large-scale" if large_scale(parameters, params) else "other",
        "search": search_text(record),
    }


def doubling_words(months: float) -> str:
    """A fit's doubling time in words; a falling fit (older releases' small groups) halves rather than doubles."""
    return f"doubling every {months:.1f} months" if months >= 0 else f"halving every {-months:.1f} months"


def trend_readout(fit: dict, label: str) -> str:
    """One era's fit in words, from trends.json: the growth, the doubling time and its bootstrap interval."""
    if fit.get("insufficient_data"):
        return f"{label}: insufficient data (n = {fit['n']})"
    interval = fit.get("doubling_time_months_ci")
    spread = (
        f"95% interval {interval['p2_5']:.1f} to {interval['p97_5']:.1f}"
        if interval
        else (fit.get("doubling_time_note") or "no interval")
    )
    return (
        f"{label}: {fit['slope_oom_per_year']:.2f} OOM/yr, {doubling_words(fit['doubling_time_months'])} "
        f"({spread}), n = {fit['n']}"
    )


def chart_trends(trends: dict, params: AnalysisParams) -> dict:
    """Every domain group's era fits as chart lines (start and end of each fitted period) with their readout."""
    groups = {}
    for group, eras in trends["domains"].items():
        lines, readout = [], []
        for era, fit in eras.items():
            label = params.era_labels.get(era, era)
            readout.append(trend_readout(fit, label))
            if fit.get("insufficient_data"):
                continue
            text = f"{label}: {doubling_words(fit['doubling_time_months'])}"
            lines += [
                {
                    "trend": text,
                    "publication_date": fit["period_start"],
                    "parameters": fit["fitted_parameters_at_start"],
                },
                {"trend": text, "publication_date": fit["period_end"], "parameters": fit["fitted_parameters_at_end"]},
            ]
        groups[group] = {"lines": lines, "readout": readout}
    return groups


def explorer_data(records: list[dict], trends: dict, params: AnalysisParams) -> dict:
    """Everything the explorer's script draws and filters, from a curated table's records (newest first) and
    its trends.json (the trends are never refitted in the browser; a release without them has none)."""
    present = {record["primary_domain"] for record in records}
    return {
        "records": [chart_record(record, params) for record in records],
        "measures": {column: label for column, label in MEASURES},
        "domains": [name for name in contracts.vocabulary().names if name in present],
        "groups": {domain: group for group, domain in params.domain_groups.items()},
        "trends": chart_trends(trends, params) if trends.get("domains") else {},
        "gap": [params.gap_lower, params.gap_upper],
        "gap_label": f"gap {size_words(params.gap_lower)}-{size_words(params.gap_upper)} parameters "
        f"({params.bounds} bounds)",
        "large_label": f"large-scale (above {size_words(params.gap_upper)})",
    }


def _options(values, all_label: str) -> str:
    first = f'<option value="">{escape(all_label)}</option>'
    return first + "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)


def explorer_section(inputs: Inputs, data: dict) -> str:
    """The chart with its axis pickers and the filters the chart and the records table share (site.js keeps
    them in the URL, so a link reproduces the view)."""
    measures = [(column, label) for column, label in MEASURES]
    x_options = "".join(f'<option value="{c}">{escape(label)}</option>' for c, label in measures)
    y_options = "".join(f'<option value="{c}">{escape(label)}</option>' for c, label in measures[1:])
    confidences = sorted(set(inputs.models["confidence"].dropna()))
    organizations = sorted(set(inputs.models["organization"].dropna()), key=str.lower)
    datalist = "".join(f'<option value="{escape(o)}"></option>' for o in organizations)
    return (
        '<h2 id="explore">Explore</h2>\n'
        '<form id="filters" class="filters" role="search" aria-label="Filter the chart and the records">\n'
        f'<label>Horizontal axis <select id="x" name="x">{x_options}</select></label>\n'
        f'<label>Vertical axis <select id="y" name="y">{y_options}</select></label>\n'
        f'<label>Domain <select id="domain" name="domain">{_options(data["domains"], "every domain")}</select>'
        "</label>\n"
        '<label>Organization <input id="org" name="org" type="search" list="organizations" autocomplete="off" '
        f'placeholder="e.g. Google"></label><datalist id="organizations">{datalist}</datalist>\n'
        '<label>Published from <input id="from" name="from" type="date"></label>\n'
        '<label>to <input id="to" name="to" type="date"></label>\n'
        f'<label>Confidence <select id="confidence" name="confidence">{_options(confidences, "any")}</select></label>\n'
        '<label class="wide">Search name, organization or domain <input type="search" id="search" name="q" '
        'placeholder="e.g. language google" autocomplete="off"></label>\n'
        '<a id="reset" href="index.html">Reset</a> <a id="permalink" href="index.html">Link to this view</a>\n'
        "</form>\n"
        '<p id="chart-count" class="meta" aria-live="polite"></p>\n'
        '<div id="chart" class="chart" role="figure" aria-label="Chart of the records that match the filters">'
        "</div>\n"
        '<p class="meta">Hover over a point for the record, click it to open its page. Colour: the primary '
        f"domain; diamonds: {escape(data['large_label'])}; the gold band: the {escape(data['gap_label'])}. "
        "Trend lines (parameters against date) are the fits of <code>metrics/trends.json</code>.</p>\n"
        '<ul id="readout" class="readout"></ul>\n' + script_json(data, "explorer-data")
    )


def status_section(
    validation: CheckResult | None, report: str = '<a href="validation.html">The validation report</a>'
) -> str:
    """The validation verdict in one line, then `report` (the full report's link, or where an older release's
    verdict comes from)."""
    if validation is None:
        return f'<p class="status" id="validation-status">No validation results. {report}.</p>'
    verdict = '<span class="pass">passed</span>' if validation.success else '<span class="fail">failed</span>'
    return (
        f'<p class="status{"" if validation.success else " failed"}" id="validation-status">Validation {verdict}: '
        f"{escape(validation.summary())}. {report}.</p>"
    )


def gap_section(gap: dict) -> str:
    """The headline answer: the gap tests and the closing verdicts, as report.md words them."""
    lower, upper = gap["gap"]
    return (
        '<h2 id="gap">Has the parameter gap closed?</h2>\n'
        f"<p>The gap: {size_words(lower)} to {size_words(upper)} parameters ({escape(gap['bounds'])} bounds), "
        f"tested on the systems published up to {escape(gap['as_of'])}. Observed is the number of systems in "
        "the gap, expected the number the size trend predicts; a small P says so few is unlikely by chance.</p>\n"
        + markdown("\n".join(text.gap_table(gap)))
        + "<p>Between the first and the newest sliding window:</p>\n"
        + markdown("\n".join(text.closing_lines(gap["windows"]["answer"])))
    )


def stored_gap_section(gap: dict | None) -> str:
    """A release's gap answer from its stored gap.json. The analysis before bounds conventions were named wrote
    fewer fields (a test per convention, verdicts without their interval), so such a file shows what it holds:
    the systems tested, observed and expected in the gap, P, and each domain's verdict between the windows."""
    if gap is None:
        return '<h2 id="gap">Has the parameter gap closed?</h2>\n<p class="note">No gap test in this release.</p>'
    if "bounds" in gap:
        return gap_section(gap)
    lower, upper = gap["gap"]
    rows = []
    for domain, tests in gap["tests"].items():
        for bounds, test in tests.items():
            counts = (
                ["insufficient data", "", ""]
                if test.get("insufficient_data")
                else [
                    str(test["observed_in_gap"]),
                    f"{test['expected_in_gap']:.1f}",
                    f"{test['p_le_observed_exact']:.2g}",
                ]
            )
            rows.append([escape(domain), escape(bounds), str(test.get("n_systems", "")), *counts])
    verdicts = []
    for domain, info in gap["windows"]["answer"].items():
        line = f"<li><strong>{escape(domain)}: {escape(info['verdict'])}</strong>"
        if "p_newest" in info:
            line += (
                f" (observed/expected {info['observed_over_expected_first']:.2f} in {escape(info['first_window'])}, "
                f"{info['observed_over_expected_newest']:.2f} in {escape(info['newest_window'])}; P "
                f"{info['p_first']:.2g} and {info['p_newest']:.2g})"
            )
        verdicts.append(line + "</li>")
    return (
        '<h2 id="gap">Has the parameter gap closed?</h2>\n'
        f"<p>The gap: {size_words(lower)} to {size_words(upper)} parameters, tested on the systems published up "
        f"to {escape(gap['as_of'])} (as this release's analysis stored it).</p>\n"
        + table(["domains", "bounds", "tested", "observed", "expected", "P(K<=obs) exact"], rows, numeric=(2, 3, 4, 5))
        + "<p>Between the first and the newest sliding window:</p>\n<ul>"
        + "".join(verdicts)
        + "</ul>"
    )


def card_section(card: str | None, missing: str = "No dataset card yet") -> str:
    """The dataset card, folded; `missing` says why there is none."""
    if card is None:
        return f'<p class="note" id="no-card">{missing} (<code>data/curated/README.md</code>).</p>'
    return (
        f'<details class="card"><summary>Dataset card (<code>data/curated/README.md</code>)</summary>\n'
        f"{markdown(card_body(card))}</details>"
    )


def figures_section(paths: list[str]) -> str:
    """Every figure of the report (by its path in the site), scaled to the page's width."""
    items = "\n".join(
        f'<figure><img src="{escape(path)}" alt="{escape(Path(path).stem.replace("_", " "))}">'
        f'<figcaption><a href="{escape(path)}">{escape(Path(path).name)}</a></figcaption></figure>'
        for path in paths
    )
    return f'<h2 id="figures">Figures</h2>\n{items}'


def swapped_sections(validation: str, gap: str, card: str, figures: str) -> dict[str, str]:
    """The parts of the index that follow the release it shows, by the id of the element holding each (site.js
    puts another release's in their place)."""
    return {"validation-box": validation, "gap-answer": gap, "card-box": card, "figures-box": figures}


def release_sections(item: ReleasePage, gap: dict | None) -> dict[str, str]:
    """An older release's validation verdict, gap answer, card and figures as git holds them at the release."""
    card = (item.files or {}).get("README.md")
    return swapped_sections(
        status_section(item.validation, "As git holds it at the release"),
        stored_gap_section(gap),
        card_section(card.decode("utf-8") if card is not None else None, "This release kept no dataset card"),
        figures_section([f"figures/{item.version}/{name}" for name in item.figures or {}]),
    )


def headline_label(key: str) -> str:
    """A headline figure's key (`language_in_gap_strict`) as words."""
    for prefix, words in (("language_in_gap_", "language systems in the gap"), ("language_p_", "language P(K<=obs)")):
        if key.startswith(prefix):
            return f"{words} ({key.removeprefix(prefix)} bounds)"
    return key.replace("_", " ")


def headline_value(value) -> str:
    """A headline figure of `mlsizes versions` as text."""
    if value is None:
        return "-"
    return f"{value:.2g}" if isinstance(value, float) else str(value)


def releases_section(releases: list[ReleasePage]) -> str:
    """Every release, newest first, linking its page."""
    if not releases:
        return '<h2 id="releases">Releases</h2>\n<p class="note">No release yet.</p>'
    rows = [
        [
            f'<a href="releases/{escape(r.version)}.html">{escape(r.version)}</a>',
            escape(r.date),
            escape(r.snapshot),
            headline_value(r.headline.get("records")),
            headline_value(r.headline.get("with_parameters")),
            escape(r.notes),
        ]
        for r in reversed(releases)
    ]
    return '<h2 id="releases">Releases</h2>\n' + table(
        ["version", "date", "upstream snapshot", "records", "with parameters", "notes"], rows, numeric=(3, 4)
    )


def downloads_line(downloads: dict[str, bytes], up: str = "") -> str:
    """The release's files in one line, linking the downloads page with their checksums."""
    links = ", ".join(f'<a href="{up}downloads/{escape(name)}">{escape(name)}</a>' for name in downloads)
    return (
        f'<p class="downloads" id="downloads-line">Download: {links}, '
        f'<a href="{up}downloads.html">figures and sha256 sums</a>.</p>'
    )


def index_page(inputs: Inputs) -> str:
    """The front page: the explorer and the records first, then the validation status, the gap answer, the
    card, the figures and the releases."""
    version = escape(str(inputs.dataset.get("version", "unreleased")))
    sections = swapped_sections(
        status_section(inputs.validation),
        gap_section(inputs.gap),
        card_section(inputs.card),
        figures_section([f"figures/{name}" for name in inputs.figures]),
    )
    boxes = {key: f'<div id="{key}">\n{html}\n</div>' for key, html in sections.items()}
    with_size = int(inputs.models["parameters"].notna().sum())
    body = "\n".join(
        [
            f"<h1>mlsizes dataset {version}</h1>",
            f'<p class="meta" id="summary">{len(inputs.models)} notable machine-learning systems, {with_size} '
            f"with a parameter count; built from {escape(str(inputs.dataset.get('snapshot', '')))}, as of "
            f"{escape(str(inputs.gap.get('as_of', '')))}. "
            '<a href="#all-records">Jump to the records</a>.</p>',
            downloads_line(inputs.downloads),
            boxes["validation-box"],
            '<p id="release-note" class="status" hidden></p>',
            explorer_section(
                inputs, explorer_data(_records(newest_first(inputs.models)), inputs.trends, inputs.params)
            ),
            records_section(inputs.models, search_box=False),
            boxes["gap-answer"],
            boxes["card-box"],
            boxes["figures-box"],
            releases_section(inputs.releases),
        ]
    )
    return page(f"mlsizes dataset {inputs.dataset.get('version', '')}", body, chart=True)


def observed_text(result: dict) -> str:
    """What an expectation saw: its observed value, or how many values it did not expect."""
    if "observed_value" in result:
        return escape(str(result["observed_value"]))
    if "unexpected_count" in result:
        return (
            f"{result['unexpected_count']} of {result['element_count']} values unexpected "
            f"({result['unexpected_percent']:.1f}%)"
        )
    return "-"


def validation_page(validation: CheckResult) -> str:
    """The validation report, readable offline: every failed record check, every dataset expectation."""
    failures = validation.pandera_failures
    records = (
        '<p class="pass">Every record passes.</p>'
        if failures.empty
        else table(
            ["id", "column", "check", "value"],
            [[escape(str(row[c])) for c in ("id", "column", "check", "value")] for _, row in failures.iterrows()],
            id="record-failures",
        )
    )
    expectations = [
        [
            escape(item["type"]),
            escape(", ".join(f"{key} = {value}" for key, value in item["kwargs"].items())),
            observed_text(item.get("result") or {}),
            '<span class="pass">pass</span>' if item["success"] else '<span class="fail">fail</span>',
        ]
        for item in validation.gx_results["expectations"]
    ]
    body = "\n".join(
        [
            "<h1>Validation report</h1>",
            status_section(validation).replace(' <a href="validation.html">The validation report</a>.', ""),
            '<p class="note">This page is the readable validation report, built from '
            "<code>reports/validation/pandera_failures.csv</code> and <code>gx_results.json</code>. Great "
            "Expectations' own Data Docs (<code>reports/validation/data_docs/</code>, written by "
            "<code>mlsizes check --data-docs</code>) load their scripts and styles from the internet.</p>",
            "<h2>Records</h2>",
            "<p>Every record checked against <code>schemas/curated.yaml</code> (pandera): types, ranges, the domain "
            f"vocabulary, ids. {failures['id'].nunique()} records fail, {len(failures)} checks in all.</p>",
            records,
            "<h2>The dataset as a whole</h2>",
            "<p>The expectations of <code>schemas/dataset.expectations.json</code> (Great Expectations), with what "
            "each observed.</p>",
            table(["expectation", "settings", "observed", "verdict"], expectations, id="expectations"),
        ]
    )
    return page("mlsizes validation report", body)


def id_cell(record_id: str, pages: set[str]) -> str:
    """A record id on a release page, linking its record page (every record of the current table, every record
    that left)."""
    if record_id in pages:
        return f'<a href="{escape(record_href(record_id, "../"))}">{escape(record_id)}</a>'
    return escape(record_id)


def brief_rows(frame: pd.DataFrame, pages: set[str]) -> list[list[str]]:
    """Added or removed records as table rows, sizes as 175B, ids linking their pages."""
    return [
        [id_cell(record["id"], pages), *(escape(diff.cell(column, record[column])) for column in BRIEF_COLUMNS[1:])]
        for record in row_dicts(frame)
    ]


def _typed(record: dict) -> dict:
    """A row of a release's text table with the types the chart needs (sizes as numbers, nothing as None)."""
    typed = {key: (None if value == "" else value) for key, value in record.items()}
    for column in NUMERIC_MEASURES:
        typed[column] = None if typed.get(column) is None else float(typed[column])
    return typed


LAYOUT_TRENDS = LAYOUT["trends"]
CHANGE_COLOURS = {"unchanged": "#c8ccd1", "changed": "#e36209", "added": "#1a7f37", "removed": "#cf222e"}


def release_chart_data(change: diff.DatasetDiff, previous: str, pages: set[str], params: AnalysisParams) -> dict:
    """Both releases' records on one chart, coloured by what happened to each (drawn unchanged first, so the
    changes lie on top), with the newer release's trends and gap."""
    changed = {c["id"] for c in change.changed}
    added, removed = set(change.added["id"]), set(change.removed["id"])
    old, new = row_dicts(change.old.models), row_dicts(change.new.models)
    records = []
    for status in CHANGE_COLOURS:
        for record in old if status == "removed" else new:
            record_id = record["id"]
            if status == "removed":
                keep = record_id in removed
            elif status == "added":
                keep = record_id in added
            elif status == "changed":
                keep = record_id in changed
            else:
                keep = record_id not in added and record_id not in changed
            if keep:
                point = chart_record(_typed(record), params)
                records.append({**point, "status": status, "page": record_id in pages})
    trends = change.new.metrics.get(LAYOUT_TRENDS) or {}
    gap = trends.get("gap") or [params.gap_lower, params.gap_upper]
    return {
        "records": records,
        "measures": {column: label for column, label in MEASURES},
        "domains": list(contracts.vocabulary().names),
        "groups": {},
        "trends": chart_trends(trends, params) if trends.get("domains") else {},
        "gap": gap,
        "gap_label": f"gap {size_words(gap[0])}-{size_words(gap[1])} parameters",
        "large_label": f"large-scale (above {size_words(gap[1])})",
        "colour": "status",
        "colour_title": f"Since {previous}",
        "colour_scale": {"domain": list(CHANGE_COLOURS), "range": list(CHANGE_COLOURS.values())},
    }


def release_downloads_line(item: ReleasePage, current: str) -> str:
    """A release page's link to its files on the downloads page (the current release's are at its top)."""
    where = "" if item.version == current else f"#files-{escape(item.version)}"
    names = ", ".join(escape(name) for name in item.files or {})
    return (
        f'<p class="downloads">Files of this release: <a href="../downloads.html{where}">{names} with sha256</a>.</p>'
    )


def release_page(
    item: ReleasePage,
    following: ReleasePage | None,
    inputs: Inputs,
    reasons: dict[str, tuple[str, str]],
    pages: set[str],
) -> str:
    """A release: notes, record counts, the diff from the previous release with a link to its page, both
    releases on one chart, and a menu of every release."""
    previous, change = item.previous, item.change
    pager = [
        f'<a rel="prev" href="{escape(previous.version)}.html">&larr; previous release {escape(previous.version)}</a>'
        if previous
        else "<span>first release</span>",
        '<a href="../index.html#releases">all releases</a>',
    ]
    if following is not None:
        name = escape(following.version)
        pager.append(f'<a rel="next" href="{name}.html">next release {name} &rarr;</a>')
    keys = list(dict.fromkeys([*(previous.headline if previous else {}), *item.headline]))
    figures = table(
        ["", escape(previous.version) if previous else "", escape(item.version)],
        [
            [
                escape(headline_label(key)),
                headline_value(previous.headline.get(key)) if previous else "",
                headline_value(item.headline.get(key)),
            ]
            for key in keys
        ],
        numeric=(1, 2),
        id="counts",
    )
    parts = [
        f"<h1>Release {escape(item.version)}</h1>",
        f'<p class="meta">{escape(item.date)} &middot; upstream snapshot {escape(item.snapshot)}</p>',
        f"<p>{escape(item.notes)}</p>",
        f'<nav class="pager">{"".join(pager)}</nav>',
        release_downloads_line(item, str(inputs.dataset.get("version", ""))),
        "<h2>Records and the gap test</h2>",
        figures,
    ]
    if change is None:
        parts.append(f'<p id="changes">First release: all {item.headline.get("records")} records are new.</p>')
        return page(f"mlsizes release {item.version}", "\n".join(parts), depth=1)
    changed_ids = len({c["id"] for c in change.changed})
    parts += [
        f"<h2>Changes since {escape(previous.version)}</h2>",
        '<p id="chart-count" class="meta" aria-live="polite"></p>',
        f'<div id="chart" class="chart" role="figure" aria-label="Records of {escape(previous.version)} and '
        f'{escape(item.version)}, coloured by change"></div>',
        '<p class="meta">Every record of both releases: grey unchanged, orange changed, green added, red removed '
        "(at its old place); hover for the record, click to open its page. Trends and the gap band are this "
        "release's.</p>",
        '<ul id="readout" class="readout"></ul>',
        script_json(release_chart_data(change, previous.version, pages, inputs.params), "explorer-data"),
        f'<p id="changes"><span id="added">{len(change.added)}</span> records added, '
        f'<span id="removed">{len(change.removed)}</span> removed, <span id="changed">{changed_ids}</span> '
        f"changed ({len(change.changed)} field changes). The same as <code>mlsizes diff {escape(previous.version)} "
        f"{escape(item.version)}</code>.</p>",
        "<h3>Gap results, before and after</h3>",
        markdown("\n".join(f"- {line}" for line in change.headlines) or "No gap result changed."),
        "<h3>Summary</h3>",
        markdown("\n".join(diff.summary_lines(change, markdown=True))),
    ]
    headers = ["id", "name", "domain", "date", "parameters"]
    if len(change.added):
        parts += [
            f"<h3>Added ({len(change.added)})</h3>",
            table(headers, brief_rows(change.added, pages), numeric=(4,)),
        ]
    if len(change.removed):
        rows = [
            [*row, escape(reasons[record_id][0])]
            for record_id, row in zip(change.removed["id"], brief_rows(change.removed, pages))
        ]
        parts += [
            f"<h3>Removed ({len(change.removed)})</h3>",
            table([*headers, "why it left"], rows, numeric=(4,), id="removed-records"),
        ]
    if change.changed:
        rows = [
            [id_cell(c["id"], pages), escape(c["field"]), *map(escape, diff.change_text(c))] for c in change.changed
        ]
        parts += [f"<h3>Changed ({changed_ids} records)</h3>", table(["id", "field", "old", "new"], rows)]
    return page(f"mlsizes release {item.version}", "\n".join(parts), depth=1, chart=True).replace(
        "<body ", f'<body data-release="{escape(item.version)}" ', 1
    )


# --- a page per record -----------------------------------------------------------------------------------


def release_sides(releases: list[ReleasePage]) -> dict[str, diff.Side]:
    """Every release's curated table (as text, by id) and metrics, from the diffs already read: the first
    release is the old side of the second release's diff."""
    sides = {}
    for item in releases:
        if item.change is not None:
            sides.setdefault(item.previous.version, item.change.old)
            sides[item.version] = item.change.new
    return sides


def field_text(column: str, record: dict) -> str:
    """A field's value as HTML for a record page, escaped; nothing stated as a muted dash."""
    value = record[column]
    if _missing(value):
        return '<span class="meta">not stated</span>'
    if column == "parameters":
        whole = f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"
        return f"{escape(whole)} ({escape(size_text(value))})"
    if column == "training_compute_flop":
        return escape(compute_text(value))
    if column == "link" and str(value).startswith(("https://", "http://")):
        return f'<a href="{escape(str(value))}">{escape(str(value))}</a>'
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return escape(str(value))


def source_text(source: str, row) -> str:
    """Where a record or a correction came from, as the files in the repository that hold it."""
    if source.startswith("epoch:"):
        snapshot = source.removeprefix("epoch:")
        place = f"row {int(row)} of " if not _missing(row) else ""
        return f"{place}Epoch AI's snapshot <code>data/raw/epoch/{escape(snapshot)}.csv</code>"
    if source.startswith(contribution_files.SOURCE_PREFIX):
        return f"the contribution file <code>data/raw/contributions/{escape(source.split(':', 1)[1])}</code>"
    return escape(source)


def corrections_section(record: dict, corrections: dict[str, dict[str, dict]]) -> str:
    """Each corrected field with its value, the reason and the link its contribution file gives."""
    pairs = [pair.partition("=") for pair in str(record["field_sources"] or "").split(";") if "=" in pair]
    if not pairs:
        return (
            '<h2 id="corrections">Corrections</h2>\n<p id="no-corrections">No field of this record was corrected.</p>'
        )
    rows = []
    for field, _, source in pairs:
        field, source = field.strip(), source.strip()
        entry = corrections.get(source, {}).get(field, {})
        link = entry.get("link", "")
        rows.append(
            [
                escape(field),
                field_text(field, record) if field in record else "",
                escape(entry.get("reason", "")) or '<span class="meta">no reason found</span>',
                f'<a href="{escape(link)}">{escape(link)}</a>'
                if link.startswith(("https://", "http://"))
                else escape(link),
                source_text(source, None),
            ]
        )
    return '<h2 id="corrections">Corrections</h2>\n' + table(
        ["field", "value now", "reason", "evidence", "from"], rows, id="record-corrections"
    )


def history_section(
    record_id: str, tables: dict[str, dict[str, dict]], changes: dict[str, dict], departure: Departure | None = None
) -> str:
    """The record in every release (`tables`: each release's records by id, as text): absent, entered, unchanged
    or what changed, with its size and date; the release a record that left left in says why."""
    if not tables:
        return '<h2 id="releases">In every release</h2>\n<p class="note">No release to compare yet.</p>'
    rows, seen = [], False
    for version, records in tables.items():
        link = f'<a href="../releases/{escape(version)}.html">{escape(version)}</a>'
        if record_id not in records:
            left = departure is not None and version == departure.left
            rows.append([link, escape(f"left: {departure.why}") if left else "not in this release", "", "", ""])
            continue
        row = records[record_id]
        changed = changes.get(version, {}).get(record_id, [])
        if not seen:
            status = "entered"
        elif changed:
            status = "changed " + "; ".join(
                f"{c['field']}: {' -> '.join(diff.change_text(c))}" if c["field"] in SHOWN_CHANGES else c["field"]
                for c in changed
            )
        else:
            status = "unchanged"
        seen = True
        rows.append(
            [
                link,
                escape(status),
                escape(size_text(float(row["parameters"]))) if row["parameters"] else "",
                escape(compute_text(float(row["training_compute_flop"]))) if row["training_compute_flop"] else "",
                escape(row["publication_date"]),
            ]
        )
    return (
        '<h2 id="releases">In every release</h2>\n'
        "<p>The record's values in each release (changes against the release before, as "
        "<code>mlsizes diff</code> shows them).</p>\n"
        + table(["release", "status", "parameters", "compute (FLOP)", "published"], rows, numeric=(2, 3), id="history")
    )


def field_headings(units: dict[str, dict]) -> dict[str, str]:
    """Each field's heading on a record page, its title and unit, up to its value (the same on every page)."""
    return {
        column: f"<dt>{escape(spec.get('title') or column)}"
        + (f'<br><span class="meta unit">{escape(spec["unit"])}</span>' if spec.get("unit") else "")
        + f'</dt><dd data-field="{escape(column)}">'
        for column, spec in units.items()
    }


def record_page(
    record: dict,
    headings: dict[str, str],
    corrections: dict[str, dict[str, dict]],
    tables: dict[str, dict[str, dict]],
    changes: dict[str, dict],
    departure: Departure | None = None,
    values: dict[str, dict | None] | None = None,
    earlier: tuple[str, ...] = (),
) -> str:
    """One record: every field with its unit (`headings`: field_headings), where it came from, its corrections
    and its releases; a record that left says when and why, one that continues records that left (`earlier`)
    links them; `values` (what each release had, site.js shows it when the site is switched to that release) go
    in the page as JSON."""
    fields = "\n".join(
        f"{heading}{field_text(column, record)}</dd>" for column, heading in headings.items() if column in record
    )
    name = str(record["name"])
    body = "\n".join(
        [
            f"<h1>{escape(name)}</h1>",
            f'<p class="meta">{escape(str(record["organization"] or ""))} &middot; {escape(shown_date(record))} '
            f"&middot; {escape(str(record['primary_domain']))}</p>",
            departure_note(departure) if departure else "",
            earlier_note(earlier),
            '<p id="release-note" class="status" hidden></p>',
            '<nav class="pager"><a href="../index.html#explore">&larr; the explorer</a>'
            '<a href="../index.html#all-records">all records</a></nav>',
            "<h2>Where it came from</h2>",
            f'<p id="provenance">From {source_text(str(record["source"]), record["source_row"])}. Every field is '
            "as the source gives it, except the corrections below and the recodings in the curation notes.</p>",
            corrections_section(record, corrections),
            "<h2>Fields</h2>",
            '<p class="meta">Units and descriptions: <code>schemas/curated.yaml</code> (the codebook).</p>',
            f'<dl class="fields" id="fields">\n{fields}\n</dl>',
            history_section(str(record["id"]), tables, changes, departure),
            script_json(values or {}, "record-releases"),
        ]
    )
    return page(f"{name} - mlsizes", body, depth=1)


def departure_note(departure: Departure) -> str:
    """What a record that left says first: the release it left in, why, and the record it continues as."""
    successor = departure.successor
    continues = (
        f' It continues as <a href="{escape(record_href(successor, "../"))}">{escape(successor)}</a>.'
        if successor
        else ""
    )
    return (
        f'<p class="status failed" id="departure">Not in the current release. It left in release '
        f'<a href="../releases/{escape(departure.left)}.html">{escape(departure.left)}</a>: '
        f"{escape(departure.why)}.{continues} The fields below are as release {escape(departure.last)}, the last "
        "to hold it, had them.</p>"
    )


def earlier_note(earlier: tuple[str, ...]) -> str:
    """The records that left and that this record continues (renamed or merged), linked."""
    if not earlier:
        return ""
    links = ", ".join(f'<a href="{escape(record_href(other, "../"))}">{escape(other)}</a>' for other in earlier)
    return f'<p id="earlier">Earlier releases held it as {links}.</p>'


def plain_text(column: str, record: dict) -> str:
    """A field's value as a record page shows it, without markup (site.js sets it as text)."""
    return unescape(re.sub(r"<[^>]*>", "", field_text(column, record)))


def release_values(frame: pd.DataFrame, now: pd.DataFrame, shown: set[str]) -> dict[str, dict[str, str] | None]:
    """A release's fields that differ from what each record's page shows (the current table, or the last
    release that had a record that left), by record id, as text; None for a record the release lacks."""
    values: dict[str, dict[str, str] | None] = {record_id: None for record_id in now.index.difference(frame.index)}
    for record_id in now.index.intersection(frame.index):
        values[record_id] = {}
    for change in diff.record_changes(frame, now, {}):
        if change["field"] in shown:
            then = _typed({change["field"]: change["old"]})
            values[change["id"]][change["field"]] = plain_text(change["field"], then)
    return values


def record_pages(inputs: Inputs, gone: dict[str, Departure]) -> dict[str, str]:
    """Every record's page, by its path in the site: the current table's and those of the records that left."""
    units = contracts.curated_columns()
    frames = {version: side.models for version, side in release_sides(inputs.releases).items()}
    tables = {version: {row["id"]: row for row in row_dicts(frame)} for version, frame in frames.items()}
    changes: dict[str, dict] = {}
    for item in inputs.releases:
        if item.change is not None:
            by_id = changes.setdefault(item.version, {})
            for change in item.change.changed:
                by_id.setdefault(change["id"], []).append(change)
    left = [tables[departure.last][record_id] for record_id, departure in gone.items()]
    shown = _records(inputs.models) + [_typed(record) for record in left]
    now = pd.concat([as_text(inputs.models), pd.DataFrame(left)]).set_index("id", drop=False)
    by_release = {version: release_values(frame, now, set(units)) for version, frame in frames.items()}
    earlier: dict[str | None, list[str]] = {}  # the records that left, by the record each continues as
    for other, departure in gone.items():
        earlier.setdefault(departure.successor, []).append(other)
    headings = field_headings(units)
    return {
        record_href(record["id"]): record_page(
            record,
            headings,
            inputs.corrections,
            tables,
            changes,
            gone.get(record["id"]),
            {version: values[record["id"]] for version, values in by_release.items()},
            tuple(earlier.get(record["id"], ())),
        )
        for record in shown
    }


def as_text(models: pd.DataFrame) -> pd.DataFrame:
    """The curated table as a release's table reads: every value as text, nothing as an empty string."""
    return models.astype(object).where(models.notna(), "").astype(str).set_index("id", drop=False)


# --- records that left -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Departure:
    """A record of an older release that the newest table no longer holds: the last release that had it, the
    release it left in, why (in words), and the record it continues as when it was renamed or merged."""

    last: str
    left: str
    why: str
    successor: str | None = None


def why_they_left(item: ReleasePage) -> dict[str, tuple[str, str]]:
    """Why each record of the previous release is not in this one, and the id it continues as (or "").

    Upstream renamed it (the same link under a new id, as `mlsizes diff` pairs them); curation merged it into a
    record of the same name; upstream renamed it (one new record of the same day extends its name: Gopher
    became Gopher (280B)); the release rejected its row (a likely duplicate is merged, anything else rejected, with the
    rejects' reason); or else the new snapshot has no row of its name (every raw row is curated or rejected)."""
    old, new, rejected = item.change.old.models, item.change.new.models, item.rejected
    renamed = diff.renamed_pairs(old, new)
    by_name = {untrusted.skeleton(str(name)): record_id for record_id, name in new["name"].items()}
    same_day: dict[str, list[tuple[str, str]]] = {}  # the records new in this release, by their day
    for record in row_dicts(new.loc[new.index.difference(old.index)]):
        same_day.setdefault(record["publication_date"], []).append(
            (untrusted.skeleton(str(record["name"])), record["id"])
        )
    refused = {untrusted.skeleton(str(row["name"])): row for row in reversed(row_dicts(rejected))}
    reasons = {}
    for record in row_dicts(old.loc[old.index.difference(new.index)]):
        record_id, name, source = record["id"], untrusted.skeleton(str(record["name"])), str(record["source"])
        day = same_day.get(record["publication_date"], [])
        longer = [other for text, other in day if text.startswith(name)]
        if record_id in renamed:
            reasons[record_id] = ("renamed upstream: the same link, now under another id", renamed[record_id])
        elif name in by_name:
            reasons[record_id] = ("merged: a record of the same name took its place", by_name[name])
        elif len(longer) == 1:
            reasons[record_id] = ("renamed upstream: a new record of the same day extends its name", longer[0])
        elif name in refused:
            row = refused[name]
            kind = "merged" if row["reject_code"] in curation.SUPERSEDED_CODES else "rejected"
            reasons[record_id] = (f"{kind}: its row was rejected ({row['reject_code']}: {row['reject_message']})", "")
        elif source.startswith(contribution_files.SOURCE_PREFIX):
            reasons[record_id] = ("removed: its contribution file is gone", "")
        else:
            reasons[record_id] = (f"removed upstream: Epoch's snapshot {item.snapshot} has no row of its name", "")
    return reasons


def departures(
    releases: list[ReleasePage], reasons: dict[str, dict[str, tuple[str, str]]], current: set[str]
) -> dict[str, Departure]:
    """Every record some release held that the current table does not, by id, with when and why it left (the
    last time it left: a record can leave and come back); `reasons` are why_they_left's, by release."""
    gone: dict[str, Departure] = {}
    for item in releases:
        if item.change is None:
            continue
        for record_id in item.change.new.models.index:
            gone.pop(record_id, None)
        for record_id, (why, successor) in reasons[item.version].items():
            gone[record_id] = Departure(item.previous.version, item.version, why, successor or None)
    return {record_id: gone[record_id] for record_id in sorted(gone) if record_id not in current}


# --- the whole site in any release ----------------------------------------------------------------------


def release_files(inputs: Inputs) -> dict[str, str]:
    """What the release menu on every page needs (site.js): the releases, newest first, with the one the site
    shows by default, and for every other release its explorer data as a script (a script, not JSON fetched,
    so the folder also works from file://): the index draws and lists that release's records from it."""
    current = str(inputs.dataset.get("version", ""))
    listing = {
        "versions": [item.version for item in reversed(inputs.releases)],
        "dates": {item.version: item.date for item in inputs.releases},
        "current": current,
    }
    files = {RELEASES_SCRIPT: f"window.mlsizesSite = {json_text(listing)};\n"}
    by_version = {item.version: item for item in inputs.releases}
    for version, side in release_sides(inputs.releases).items():
        if version != current:
            records = [_typed(record) for record in row_dicts(newest_first(side.models))]
            trends = side.metrics.get(LAYOUT_TRENDS) or {}
            sections = release_sections(by_version[version], side.metrics.get(LAYOUT["gap"]))
            data = explorer_data(records, trends, inputs.params) | {"version": version, "sections": sections}
            files[f"data/{version}.js"] = f"window.mlsizesRelease({json_text(data)});\n"
    return files


# --- downloads --------------------------------------------------------------------------------------------


def files_table(files: dict[str, bytes], checksums: dict[str, str], **attributes: str) -> str:
    """Files of a release with what each is, its size and its sha256."""
    words = {name: what for name, _, what in DOWNLOADS}
    rows = [
        [
            f'<a href="{escape(path)}">{escape(path)}</a>',
            escape(words.get(Path(path).name, "figure")),
            f"{len(data):,}",
            f'<span class="hash">{checksums[path]}</span>',
        ]
        for path, data in files.items()
    ]
    return table(["file", "what", "bytes", "sha256"], rows, numeric=(2,), **attributes)


def older_downloads(inputs: Inputs) -> dict[str, dict[str, bytes]]:
    """Every other release's files and figures as git holds them, by release, newest first, by their path in
    the site."""
    current = str(inputs.dataset.get("version", ""))
    return {
        item.version: {f"downloads/{item.version}/{name}": data for name, data in item.files.items()}
        | {f"figures/{item.version}/{name}": data for name, data in (item.figures or {}).items()}
        for item in reversed(inputs.releases)
        if item.version != current and (item.files or item.figures)
    }


def downloads_page(inputs: Inputs, checksums: dict[str, str]) -> str:
    """The release's files with their sizes and sha256 sums (and a SHA256SUMS file for `sha256sum -c`), then
    every other release's."""
    files = {f"downloads/{name}": data for name, data in inputs.downloads.items()}
    files.update({f"figures/{name}": data for name, data in inputs.figures.items()})
    version = escape(str(inputs.dataset.get("version", "unreleased")))
    parts = [
        f"<h1>Downloads of release {version}</h1>",
        '<p id="release-note" class="status" hidden></p>',
        "<p>The files of this release. Check one with <code>sha256sum FILE</code>, or all of them with "
        '<code>sha256sum -c SHA256SUMS</code> in the site\'s folder (<a href="SHA256SUMS">SHA256SUMS</a>).</p>',
        files_table(files, checksums, id="downloads"),
    ]
    for other, older in older_downloads(inputs).items():
        name = escape(other)
        parts += [
            f'<h2 id="files-{name}">Release {name}</h2>',
            f'<p>As git holds them at the release (<a href="releases/{name}.html">its page</a>).</p>',
            files_table(older, checksums, **{"class": "release-downloads"}),
        ]
    return page(f"mlsizes downloads {inputs.dataset.get('version', '')}", "\n".join(parts))


def download_files(inputs: Inputs) -> dict[str, bytes]:
    """The downloads (every release's), the downloads page and SHA256SUMS, by their paths in the site."""
    files = {f"downloads/{name}": data for name, data in inputs.downloads.items()}
    sums = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    sums.update({f"figures/{name}": hashlib.sha256(data).hexdigest() for name, data in inputs.figures.items()})
    for older in older_downloads(inputs).values():
        files.update(older)
        sums.update({path: hashlib.sha256(data).hexdigest() for path, data in older.items()})
    files["downloads.html"] = downloads_page(inputs, sums).encode("utf-8")
    files["SHA256SUMS"] = "".join(f"{digest}  {path}\n" for path, digest in sums.items()).encode("utf-8")
    return files


def process(inputs: Inputs) -> dict[str, bytes]:
    """Every file of the site by its path in the site folder (pure: same inputs, same bytes)."""
    reasons = {item.version: why_they_left(item) for item in inputs.releases if item.change is not None}
    gone = departures(inputs.releases, reasons, set(inputs.models["id"]))
    pages = set(inputs.models["id"]) | set(gone)
    files = {
        "index.html": index_page(inputs),
        "validation.html": validation_page(inputs.validation),
        **{
            f"releases/{item.version}.html": release_page(item, following, inputs, reasons.get(item.version, {}), pages)
            for item, following in zip(inputs.releases, [*inputs.releases[1:], None])
        },
    }
    files.update(record_pages(inputs, gone))
    files.update(release_files(inputs))
    out = {name: text.encode("utf-8") for name, text in files.items()}
    out.update(download_files(inputs))
    out.update({f"figures/{name}": data for name, data in inputs.figures.items()})
    out.update({f"assets/{name}": data for name, data in inputs.assets.items()})
    return out


def save(files: dict[str, bytes], folder: Path) -> list[Path]:
    """Write the site's files under the folder, each atomically (none when one of them cannot be written), and
    remove the pages of records that are gone."""
    written = write_tree(folder, files)
    for stale in sorted(set((folder / "records").glob("*.html")) - set(written)):
        stale.unlink()
    return written


@dataclass(frozen=True)
class SiteSettings:
    """Where the progress of a build goes (reading every release from git takes seconds): nowhere by default."""

    on_progress: Callable[[str], None] = lambda message: None


def run(paths: Paths, settings: SiteSettings = SiteSettings()) -> list[Path]:
    """Build the site into paths.site_dir from the workspace's outputs and the releases git holds (an --out that
    cannot hold the site is refused before the seconds of reading git history)."""
    refuse_unwritable(paths.site_dir / name for name in LAYOUT_NAMES)
    inputs = load(paths, settings.on_progress)
    settings.on_progress("site: rendering and writing the pages...")
    return save(process(inputs), paths.site_dir)
