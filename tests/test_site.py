"""`mlsizes site` in a real browser: headless Chromium (Debian's chromium-headless-shell, driven by playwright)
loads the site built from a clone of the project, with its real records and releases, from a local HTTP server
on 127.0.0.1. It types into the search box, sorts by clicking headings, and checks that every image loads, that
no page logs an error and that no request goes anywhere but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mimetypes
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import ROOT, mlsizes, sh
from mlsizes.records import contracts
from mlsizes.stages import site
from test_fetch import serving

CHROMIUM = "/usr/bin/chromium-headless-shell"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A clone of the project: its committed outputs and its release history."""
    folder = tmp_path_factory.mktemp("site") / "project"
    sh("git", "clone", "-q", "--shared", str(ROOT), str(folder), cwd=ROOT)
    return folder


@pytest.fixture(scope="module")
def release_listing(clone) -> list[dict]:
    """Every release as `mlsizes versions --json` lists it (version, commit, ...), oldest first."""
    return json.loads(mlsizes("versions", "--json", cwd=clone).stdout)


@pytest.fixture(scope="module")
def release_tables(clone, release_listing) -> dict:
    """Every release's curated table as git holds it, by version, oldest first."""
    import io

    import pandas as pd

    return {
        item["version"]: pd.read_csv(
            io.StringIO(sh("git", "show", f"{item['commit']}:data/curated/models.csv", cwd=clone).stdout),
            dtype={"id": str},
        )
        for item in release_listing
    }


@pytest.fixture(scope="module")
def built(clone) -> Path:
    """The site of the clone, built once for the module."""
    out = clone.parent / "site"
    proc = mlsizes("site", "--out", str(out), cwd=clone)
    assert "index.html" in proc.stdout
    return out


def static(folder: Path):
    """An answer for test_fetch's local server: the file of the folder at the request's path, or 404."""

    def answer(handler):
        path = folder / unquote(urlsplit(handler.path).path).lstrip("/")
        if not path.is_file():
            handler.send_response(404)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        body = path.read_bytes()
        handler.send_response(200)
        handler.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


@pytest.fixture(scope="module")
def base_url(built) -> str:
    with serving() as server:
        server.serve(static(built))
        yield f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextlib.contextmanager
def opened(browser, url: str):
    """A page loaded from the URL, with every request it made and every error it logged."""
    page = browser.new_page()
    seen = {"requests": [], "errors": []}
    page.on("request", lambda request: seen["requests"].append(request.url))
    page.on("console", lambda message: message.type == "error" and seen["errors"].append(message.text))
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, url
    try:
        yield page, seen
    finally:
        page.close()


def newest_first(models) -> list[str]:
    """The ids in the records table's own order: newest first, one day's records in the file's order."""
    return models.sort_values("publication_date", ascending=False, kind="stable")["id"].tolist()


def shown_ids(page) -> list[str]:
    return page.eval_on_selector_all("#records tbody tr:not([hidden])", "rows => rows.map(r => r.dataset.id)")


def matching(models, query: str) -> list[str]:
    """The ids of the records whose name, organization or domains contain every word of the query, newest first."""
    text = (
        models["name"].fillna("") + " " + models["organization"].fillna("") + " " + models["domains"].fillna("")
    ).str.lower()
    hits = text.apply(lambda line: all(word in line for word in query.lower().split()))
    return [record_id for record_id in newest_first(models) if record_id in set(models.loc[hits, "id"])]


def test_every_record_is_a_row_and_the_search_filters_them_as_you_type(clone, base_url, browser):
    models = contracts.read_curated(clone / "data" / "curated" / "models.csv")
    with opened(browser, f"{base_url}/index.html") as (page, seen):
        assert page.locator("#records tbody tr").count() == len(models)
        assert shown_ids(page) == newest_first(models)
        search = page.locator("#search")
        search.press_sequentially("gpt")  # typed key by key: the table follows each keystroke
        assert shown_ids(page) == matching(models, "gpt")
        for query in ("gpt-3", "deepmind", "robotics", "google lang", "zzz"):
            search.fill(query)  # one input event: the same filter, without a re-filter per character
            expected = matching(models, query)
            assert shown_ids(page) == expected, query
            assert page.locator("#count").inner_text() == f"{len(expected)} of {len(models)} records"
        assert all(matching(models, query) for query in ("gpt-3", "deepmind", "robotics", "google lang"))
        names = page.eval_on_selector_all(
            "#records tbody tr:not([hidden]) td:first-child", "cells => cells.map(c => c.textContent)"
        )
        assert names == []
        search.fill("gpt-3 175b")
        names = page.eval_on_selector_all(
            "#records tbody tr:not([hidden]) td:first-child", "cells => cells.map(c => c.textContent)"
        )
        assert names == models.set_index("id").loc[matching(models, "gpt-3 175b"), "name"].tolist()
        assert "GPT-3 175B (davinci)" in names
        search.fill("")
        search.dispatch_event("input")
        assert len(shown_ids(page)) == len(models)
        assert seen["errors"] == []


def test_a_click_on_a_heading_sorts_by_that_column_again_reverses_it(clone, base_url, browser):
    models = contracts.read_curated(clone / "data" / "curated" / "models.csv")
    models = models.set_index("id", drop=False).loc[newest_first(models)].reset_index(drop=True)  # the table's order
    order = list(range(len(models)))
    sized = [i for i in order if models["parameters"].notna().iloc[i]]
    unsized = sorted(set(order) - set(sized))
    ids = models["id"].tolist()

    def expected(column: str, descending: bool) -> list[str]:
        values = models[column]
        # stable sorts: ties keep the file's order in both directions; records without a value go last
        ranked = sorted(sized, key=lambda i: -values.iloc[i] if descending else values.iloc[i])
        return [ids[i] for i in ranked + unsized]

    with opened(browser, f"{base_url}/index.html") as (page, seen):
        heading = page.locator("#records thead th", has_text="Parameters")
        heading.locator("button").click()
        assert heading.get_attribute("aria-sort") == "ascending"
        assert shown_ids(page) == expected("parameters", descending=False)
        heading.locator("button").click()
        assert heading.get_attribute("aria-sort") == "descending"
        assert shown_ids(page) == expected("parameters", descending=True)
        largest = page.locator("#records tbody tr").first.locator("td").nth(4).inner_text()
        assert largest.endswith("T")  # sizes as people write them: 1.6T
        page.locator("#records thead th", has_text="Published").locator("button").click()
        dates = models["publication_date"].tolist()
        assert shown_ids(page) == [ids[i] for i in sorted(order, key=lambda i: dates[i])]
        page.locator("#search").fill("language")  # the filter keeps the sort order
        by_date = [ids[i] for i in sorted(order, key=lambda i: dates[i])]
        language = set(matching(models, "language"))
        assert shown_ids(page) == [i for i in by_date if i in language]
        assert seen["errors"] == []


def site_pages(built: Path) -> list[str]:
    return sorted(str(path.relative_to(built)) for path in built.rglob("*.html"))


def test_every_page_loads_every_image_logs_no_error_and_asks_only_127_0_0_1(
    clone, built, base_url, browser, release_tables
):
    """Every page but the record pages, which are one template: four of them (one corrected, one contributed,
    one that left); a page for every record of the current table and of every release."""
    records = sorted(name for name in site_pages(built) if name.startswith("records/"))
    current = set(contracts.read_curated(clone / "data" / "curated" / "models.csv")["id"])
    every = current.union(*(set(table["id"]) for table in release_tables.values()))
    assert records == sorted(f"records/{record_id}.html" for record_id in every)
    sample = {records[0], "records/roberta-large.html", "records/mistral-7b.html", "records/gopher.html"}
    pages = [name for name in site_pages(built) if not name.startswith("records/")] + sorted(sample)
    assert {"index.html", "validation.html"} <= set(pages)
    figures = sorted(path.name for path in (clone / "reports" / "figures").glob("*.png"))
    for name in pages:
        with opened(browser, f"{base_url}/{name}") as (page, seen):
            if page.locator("#chart").count():  # the load event saw every image; the chart draws after it
                page.wait_for_selector("#chart[data-ready]")
            images = page.eval_on_selector_all("img", "images => images.map(i => [i.src, i.complete, i.naturalWidth])")
            assert all(complete and width > 0 for _, complete, width in images), (name, images)
            if name == "index.html":
                assert sorted(Path(urlsplit(src).path).name for src, _, _ in images) == figures
                assert len(figures) >= 6
            hosts = {urlsplit(url).hostname for url in seen["requests"]}
            assert hosts == {"127.0.0.1"}, (name, hosts)
            assert seen["errors"] == [], (name, seen["errors"])


def test_index_shows_validation_status_gap_answer_card_and_releases(clone, built, base_url, browser):
    gap = json.loads((clone / "metrics" / "gap.json").read_text())
    language = gap["tests"]["language"]
    with opened(browser, f"{base_url}/index.html") as (page, _):
        assert "Validation passed" in page.locator("#validation-status").inner_text()
        answer = page.locator("#gap").locator("xpath=following-sibling::*[position() <= 4]").all_inner_texts()
        text = "\n".join(answer)
        assert f"{language['observed_in_gap']}\t{language['expected_in_gap']:.1f}" in text
        assert gap["windows"]["answer"]["language"]["verdict"] in text
        card = clone / "data" / "curated" / "README.md"
        if card.exists():
            assert page.locator("details.card").count() == 1
        else:
            assert "No dataset card yet" in page.inner_text("main")
        versions = [item["version"] for item in json.loads(mlsizes("versions", "--json", cwd=clone).stdout)]
        links = page.eval_on_selector_all('a[href^="releases/"]', "links => links.map(a => a.getAttribute('href'))")
        assert links == [f"releases/{version}.html" for version in reversed(versions)]
        page.click("text=Validation")
        assert page.url.endswith("/validation.html")
        assert page.locator("#expectations tbody tr").count() == len(
            json.loads((clone / "reports" / "validation" / "gx_results.json").read_text())["expectations"]
        )


def test_each_release_page_links_the_previous_one_and_counts_what_mlsizes_diff_counts(clone, base_url, browser):
    versions = [item["version"] for item in json.loads(mlsizes("versions", "--json", cwd=clone).stdout)]
    assert len(versions) >= 5
    with opened(browser, f"{base_url}/releases/{versions[0]}.html") as (page, _):
        assert page.locator('a[rel="prev"]').count() == 0
        assert "First release" in page.locator("#changes").inner_text()
    for previous, version in zip(versions, versions[1:]):
        change = json.loads(mlsizes("diff", "--stored", previous, version, "--json", cwd=clone).stdout)
        with opened(browser, f"{base_url}/releases/{version}.html") as (page, seen):
            assert page.locator("h1").inner_text() == f"Release {version}"
            assert page.locator('a[rel="prev"]').get_attribute("href") == f"{previous}.html"
            assert page.locator("#added").inner_text() == str(len(change["added"]))
            assert page.locator("#removed").inner_text() == str(len(change["removed"]))
            assert page.locator("#changed").inner_text() == str(len({c["id"] for c in change["changed"]}))
            for line in change["gap_verdict"]:
                assert line in page.inner_text("main")
            page.click('a[rel="prev"]')
            assert page.locator("h1").inner_text() == f"Release {previous}"
            assert seen["errors"] == []


def test_two_builds_are_byte_identical(clone, built, tmp_path):
    again = tmp_path / "again"
    mlsizes("site", "--out", str(again), cwd=clone)
    files = site_pages(built)
    assert site_pages(again) == files
    for path in sorted(p for p in built.rglob("*") if p.is_file()):
        assert (again / path.relative_to(built)).read_bytes() == path.read_bytes(), path


def test_record_names_and_the_card_cannot_inject_markup(browser, tmp_path):
    """Names, organizations and card text are strangers' text: shown as written, never run."""
    hostile = '<img src=x onerror="document.title=1">'
    models = contracts.read_curated(ROOT / "data" / "curated" / "models.csv").head(3).copy()
    models.loc[0, "name"] = hostile
    models.loc[1, "organization"] = '"><script>document.title=2</script>'
    models.loc[2, "link"] = "javascript:alert(3)"
    card = f"---\ntitle: x\n---\n# Card\n\n{hostile}\n\n[click](javascript:alert(4))\n"
    html = site.page("t", site.records_section(models) + site.markdown(site.card_body(card)))
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_content(html)
    assert page.locator("img").count() == 0 and page.locator("main script").count() == 0
    assert page.title() == "t"
    row = page.locator(f'#records tbody tr[data-id="{models.loc[0, "id"]}"]')
    assert row.locator("td").first.inner_text() == hostile
    assert hostile in page.inner_text("main") and "title: x" not in page.inner_text("main")
    assert not page.eval_on_selector_all("a", "links => links.filter(a => a.href.startsWith('javascript:')).length")
    page.close()
    assert errors == []


@pytest.mark.parametrize(
    "broken, message",
    [
        ("metrics/gap.json", "metrics/gap.json: no such file (written by mlsizes analyze)"),
        ("reports/validation/gx_results.json", "gx_results.json: cannot be read"),
        ("data/raw/contributions/corrections/roberta-large.yaml", "corrections/roberta-large.yaml: cannot be read"),
    ],
)
def test_a_missing_or_broken_input_is_one_line_and_writes_nothing(tmp_path, broken, message):
    root = tmp_path / "project"
    for name in (
        "dvc.yaml",
        "params.yaml",
        "dataset.yaml",
        "data/curated/models.csv",
        "metrics/gap.json",
        "metrics/trends.json",
        "reports/validation",
        "data/raw/contributions",
    ):
        source, target = ROOT / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    shutil.copytree(ROOT / "reports" / "figures", root / "reports" / "figures")
    if broken.endswith("gap.json"):
        (root / broken).unlink()
    else:
        (root / broken).write_text("{not json" if broken.endswith(".json") else "a: &x [*x]\n")
    proc = mlsizes("site", "--out", str(tmp_path / "out"), cwd=root, check=False)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


# --- the explorer -------------------------------------------------------------------------------------------------


def chart_marks(page) -> int:
    """The points the chart drew, once its newest drawing is done (one SVG path per record)."""
    page.wait_for_selector("#chart[data-ready]")
    return page.locator("#chart svg g.points_marks path").count()


def drawable(models, x: str, y: str):
    """The records the chart can place: both measures known (a date always is)."""
    keep = models["publication_date"].notna()
    for column in {x, y} - {"publication_date"}:
        keep &= models[column] > 0
    return models[keep]


def test_the_chart_draws_one_mark_per_record_with_both_measures_and_follows_the_axes(clone, base_url, browser):
    models = contracts.read_curated(clone / "data" / "curated" / "models.csv")
    with opened(browser, f"{base_url}/index.html") as (page, seen):
        assert chart_marks(page) == len(drawable(models, "publication_date", "parameters"))
        page.select_option("#y", "training_compute_flop")
        assert chart_marks(page) == len(drawable(models, "publication_date", "training_compute_flop"))
        page.select_option("#y", "training_dataset_size")  # the measures curated since (issue 25)
        assert chart_marks(page) == len(drawable(models, "publication_date", "training_dataset_size")) > 0
        page.select_option("#y", "training_compute_flop")
        page.select_option("#x", "parameters")
        both = drawable(models, "parameters", "training_compute_flop")
        assert chart_marks(page) == len(both) < len(drawable(models, "publication_date", "parameters"))
        assert "x=parameters" in page.url and "y=training_compute_flop" in page.url
        assert page.locator("#chart svg g.mark-rect path").count() == 1  # the gap band, now on the x axis
        page.select_option("#x", "publication_date")
        page.select_option("#y", "parameters")
        chart_marks(page)
        readout = page.locator("#readout").inner_text()
        trends = json.loads((clone / "metrics" / "trends.json").read_text())["domains"]["all"]
        assert f"doubling every {trends['post_2018']['doubling_time_months']:.1f} months" in readout
        interval = trends["post_2018"]["doubling_time_months_ci"]
        assert f"95% interval {interval['p2_5']:.1f} to {interval['p97_5']:.1f}" in readout
        assert page.locator("#chart svg g.mark-line path").count() == len(trends)  # one line per era fit
        assert seen["errors"] == []


def test_filters_choose_the_records_pandas_chooses_and_the_url_restores_them(clone, base_url, browser):
    models = contracts.read_curated(clone / "data" / "curated" / "models.csv")
    order = newest_first(models)
    domains = models["domains"].str.split(",")
    with opened(browser, f"{base_url}/index.html") as (page, seen):
        page.select_option("#domain", "Language")
        language = models[domains.apply(lambda names: "Language" in names)]
        assert shown_ids(page) == [i for i in order if i in set(language["id"])]
        assert chart_marks(page) == len(drawable(language, "publication_date", "parameters"))
        assert "(language)" not in page.locator("#readout").inner_text()  # the language group's own fits
        page.fill("#org", "google")
        page.fill("#from", "2020-01-01")
        page.select_option("#confidence", "Confident")
        chosen = language[
            language["organization"].fillna("").str.lower().str.contains("google", regex=False)
            & (language["publication_date"] >= "2020-01-01")
            & (language["confidence"] == "Confident")
        ]
        assert 0 < len(chosen) < len(language)
        assert shown_ids(page) == [i for i in order if i in set(chosen["id"])]
        url = page.url
        assert "domain=Language" in url and "org=google" in url and "confidence=Confident" in url
        marks = chart_marks(page)
        page.reload()
        assert page.input_value("#domain") == "Language" and page.input_value("#org") == "google"
        assert page.input_value("#from") == "2020-01-01" and page.input_value("#confidence") == "Confident"
        assert shown_ids(page) == [i for i in order if i in set(chosen["id"])]
        assert chart_marks(page) == marks == len(drawable(chosen, "publication_date", "parameters"))
        assert seen["errors"] == []
    with opened(browser, url) as (page, _):  # the link alone gives the same view
        assert shown_ids(page) == [i for i in order if i in set(chosen["id"])]


@pytest.mark.parametrize("width", [1000, 390])
def test_no_page_scrolls_sideways_on_a_laptop_or_a_phone(release_tables, base_url, browser, width):
    """The page never; at 1000 pixels the records and a record's corrections fit without a scroll bar of their
    own either (a long name or file path wraps)."""
    old, newest = list(release_tables)[-2:]
    page = browser.new_page(viewport={"width": width, "height": 844})
    for name in (
        "index.html",
        f"index.html?release={old}",
        "records/roberta-large.html",
        "records/gopher.html",
        f"releases/{newest}.html",
        "downloads.html",
    ):
        page.goto(f"{base_url}/{name}")
        if page.locator("#chart").count():
            page.wait_for_selector("#chart[data-ready]")
        sizes = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert sizes == [width, width], (name, sizes)
        if width == 1000:
            for table in page.locator("#records, #record-corrections").all():
                box = table.locator("xpath=..")  # the .scroll box the table would scroll in
                assert box.evaluate("box => box.scrollWidth <= box.clientWidth"), (name, table.get_attribute("id"))
    page.close()


def test_a_phone_reaches_the_records_from_the_top(base_url, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{base_url}/index.html")
    page.click("text=Jump to the records")
    assert page.locator("#records tbody tr").first.is_visible()
    page.close()


def test_a_point_opens_its_record_whose_page_shows_its_fields_corrections_and_releases(clone, base_url, browser):
    with opened(browser, f"{base_url}/index.html?q=roberta+large") as (page, seen):
        chart_marks(page)
        point = page.locator("#chart svg g.points_marks path").first
        assert "RoBERTa Large" in (point.get_attribute("aria-label") or "")
        point.dispatch_event("click")  # the point's own record, whatever lies on top of it
        page.wait_for_url("**/records/roberta-large.html")
        assert page.locator("h1").inner_text() == "RoBERTa Large"
        correction = page.locator("#record-corrections tbody tr")
        assert correction.count() == 1
        cells = correction.locator("td").all_inner_texts()
        assert cells[0] == "publication_date" and cells[1] == "2019-07-26"
        assert cells[2].startswith("arXiv 1907.11692") and cells[3] == "https://arxiv.org/abs/1907.11692"
        assert "corrections/roberta-large.yaml" in cells[4]
        assert "row " in page.locator("#provenance").inner_text()
        assert page.locator('#fields dd[data-field="parameters"]').inner_text() == "355,000,000 (355M)"
        assert "FLOP" in page.locator("#fields").inner_text()  # units from the contract
        versions = [item["version"] for item in json.loads(mlsizes("versions", "--json", cwd=clone).stdout)]
        assert page.locator("#history tbody tr").all_inner_texts()[0].startswith(versions[0])
        assert page.locator("#history tbody tr").count() == len(versions)
        assert seen["errors"] == []
    with opened(browser, f"{base_url}/records/mistral-7b.html") as (page, _):
        assert "data/raw/contributions/mistral-7b.yaml" in page.locator("#provenance").inner_text()
        assert page.locator("#no-corrections").count() == 1


def test_every_download_link_resolves_and_its_sha256_matches(clone, built, base_url, browser, release_tables):
    import hashlib
    import urllib.request

    with opened(browser, f"{base_url}/downloads.html") as (page, seen):
        rows = page.eval_on_selector_all(
            "main tbody tr", "rows => rows.map(r => [r.querySelector('a').href, r.cells[3].textContent])"
        )
        assert seen["errors"] == []
    older = {urlsplit(url).path for url, _ in rows if urlsplit(url).path.count("/") == 3}  # /downloads/<v>/<file>
    assert {path.split("/")[2] for path in older} == set(list(release_tables)[:-1])  # every other release's files
    old = list(release_tables)[0]
    assert f"/downloads/{old}/models.csv" in older
    names = {Path(urlsplit(url).path).name for url, _ in rows}
    assert {"models.csv", "rejected.csv", "datapackage.json", "codebook.csv", "README.md", "fig1_sizes.png"} <= names
    for url, digest in rows:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = response.read()
        assert hashlib.sha256(body).hexdigest() == digest, url
    assert (built / "downloads" / "models.csv").read_bytes() == (clone / "data" / "curated" / "models.csv").read_bytes()
    commit = json.loads(mlsizes("versions", "--json", cwd=clone).stdout)[0]["commit"]
    first = sh("git", "show", f"{commit}:data/curated/models.csv", cwd=clone).stdout  # the release as git holds it
    assert (built / "downloads" / old / "models.csv").read_text() == first
    sums = dict(line.split("  ")[::-1] for line in (built / "SHA256SUMS").read_text().splitlines())
    assert sums == {urlsplit(url).path.lstrip("/"): digest for url, digest in rows}
    with opened(browser, f"{base_url}/records/roberta-large.html") as (page, _):  # linked from every page
        page.click("header >> text=Downloads")
        assert page.url.endswith("/downloads.html")


def test_a_hostile_name_stays_text_in_the_explorer_and_on_its_record_page(browser):
    """Names come from strangers: `</script>` inside the chart's JSON or a tag in a record page stays text."""
    hostile = '</script><img src=x onerror="document.title=1"><script>document.title=2</script>'
    models = contracts.read_curated(ROOT / "data" / "curated" / "models.csv").head(3).copy()
    models.loc[0, "name"] = hostile
    models.loc[1, "organization"] = hostile
    data = {"records": models[["id", "name", "organization"]].to_dict(orient="records")}
    html = site.page("t", site.script_json(data, "explorer-data"))
    assert "</script><img" not in html.split("explorer-data", 1)[1].split("</script>")[0]
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_content(html)
    assert page.title() == "t" and page.locator("img").count() == 0
    assert page.evaluate("JSON.parse(document.getElementById('explorer-data').textContent)") == data
    record = models.astype(object).where(models.notna(), None).to_dict(orient="records")[0]
    html = site.record_page(record, site.field_headings(contracts.curated_columns()), {}, {}, {})
    page.set_content(html)
    assert page.title().startswith(hostile) and page.locator("h1").inner_text() == hostile
    assert page.locator("img").count() == 0
    assert page.locator('main script:not([type="application/json"])').count() == 0  # data only, never run
    page.close()
    assert errors == []


def test_a_release_page_charts_both_releases_links_changed_records_and_switches_release(
    clone, built, base_url, browser
):
    import io

    import pandas as pd

    listing = json.loads(mlsizes("versions", "--json", cwd=clone).stdout)
    old, new = listing[-2], listing[-1]

    def table_at(commit: str):
        text = sh("git", "show", f"{commit}:data/curated/models.csv", cwd=clone).stdout
        return pd.read_csv(io.StringIO(text), dtype={"id": str})

    after = table_at(new["commit"])
    # the records alone: --stored, as recomputing both releases' metrics would change no record
    diffed = mlsizes("diff", "--stored", old["version"], new["version"], "--json", cwd=clone)
    removed = json.loads(diffed.stdout)["removed"]
    # the newer release's records and, at their old places, the removed ones (renamed ones are changed, not removed)
    expected = int((after["parameters"] > 0).sum()) + sum(1 for r in removed if float(r["parameters"] or 0) > 0)
    with opened(browser, f"{base_url}/releases/{new['version']}.html") as (page, seen):
        assert chart_marks(page) == expected
        links = page.eval_on_selector_all(
            "main table a[href^='../records/']", "links => links.map(a => a.getAttribute('href'))"
        )
        ids = {link.removeprefix("../records/").removesuffix(".html") for link in links}
        assert ids >= {record["id"] for record in removed}  # a record that left has its page too
        assert all((built / "records" / f"{record_id}.html").is_file() for record_id in ids)
        page.select_option("#release", old["version"])
        page.wait_for_url(f"**/releases/{old['version']}.html?release={old['version']}")
        assert page.locator("h1").inner_text() == f"Release {old['version']}"
        assert seen["errors"] == []


def test_the_explorer_works_from_disk_and_keeps_its_state_in_the_file_url(built, browser):
    page = browser.new_page()
    errors, schemes = [], set()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("request", lambda request: schemes.add(urlsplit(request.url).scheme))
    page.goto((built / "index.html").as_uri() + "?domain=Games")
    assert chart_marks(page) > 0 and page.input_value("#domain") == "Games"
    page.select_option("#domain", "Vision")
    chart_marks(page)
    assert page.url.endswith("index.html?domain=Vision")
    page.reload()
    assert page.input_value("#domain") == "Vision"
    old = json.loads((built / "data" / "releases.js").read_text().split("=", 1)[1].rstrip(";\n"))["versions"][-1]
    page.goto((built / "index.html").as_uri() + f"?release={old}")  # a release's data loads from disk too
    assert chart_marks(page) > 0 and page.input_value("#release") == old
    page.close()
    assert errors == [] and schemes == {"file"}


def test_a_hostile_name_in_the_chart_data_shows_as_text_in_the_tooltip(built, base_url, browser):
    """The chart's tooltip (vega-tooltip) is fed names from strangers: it must show a tag, not make one."""
    html = (built / "index.html").read_text(encoding="utf-8")
    record = json.loads(html.split('id="explorer-data">', 1)[1].split("</script>", 1)[0])["records"][0]
    hostile = "<img src=x onerror=\"document.title='pwned'\">"
    name = json.dumps(record["name"], ensure_ascii=False)
    html = html.replace(f'"name":{name}', '"name":' + json.dumps(hostile).replace("<", "\\u003c"), 1)
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.route(f"{base_url}/hostile.html?*", lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(f"{base_url}/hostile.html?q={record['id']}")
    images = page.locator("img").count()
    assert errors == []
    chart_marks(page)
    page.locator("#chart svg g.points_marks path").first.hover(force=True)
    page.wait_for_selector("#vg-tooltip-element.visible")
    assert hostile in page.locator("#vg-tooltip-element").inner_text()
    assert page.locator("img").count() == images and not page.title().startswith("pwned")
    page.close()


def _folder_as_index(out: Path) -> Path:
    (out / "index.html").mkdir(parents=True)
    return out


def _file_as(name: str):
    def make(out: Path) -> Path:
        out.mkdir()
        (out / name).write_text("a file\n")
        return out

    return make


@pytest.mark.parametrize(
    "make, message",
    [
        (_folder_as_index, "index.html: cannot write a file there: it is a folder"),
        (_file_as("figures"), "figures: cannot write into it: it is not a folder"),
        (_file_as("releases"), "releases: cannot write into it: it is not a folder"),
        (lambda out: Path("/dev/null"), "/dev/null: cannot write into it: it is not a folder"),
    ],
    ids=["index-is-a-folder", "figures-is-a-file", "releases-is-a-file", "dev-null"],
)
def test_an_out_folder_that_cannot_hold_the_site_is_one_line_and_writes_nothing(tmp_path, make, message):
    """Measured on main (issue 22, case 14): each of these gave a traceback, after writing some of the pages."""
    out = make(tmp_path / "out")
    before = sorted(tmp_path.rglob("*"))
    proc = mlsizes("site", "--out", str(out), cwd=ROOT, check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and lines[0].endswith(message), proc.stderr
    assert sorted(tmp_path.rglob("*")) == before


# --- every release across the site --------------------------------------------------------------------------------


def test_the_release_menu_switches_the_chart_the_table_and_the_record_pages_and_a_reload_keeps_it(
    clone, base_url, browser, release_tables
):
    versions = list(release_tables)
    old = versions[-3]
    then = release_tables[old]
    current = contracts.read_curated(clone / "data" / "curated" / "models.csv")
    assert len(then) != len(current)
    with opened(browser, f"{base_url}/index.html?domain=Language") as (page, seen):
        assert chart_marks(page) == len(drawable(in_domain(current, "Language"), *AXES))
        page.select_option("#release", old)
        page.wait_for_url(f"**/index.html?domain=Language&release={old}")
        language = in_domain(then, "Language")
        assert chart_marks(page) == len(drawable(language, *AXES)) > 0  # the filter kept, on the old records
        assert sorted(shown_ids(page)) == sorted(language["id"])
        assert page.locator("#records tbody tr").count() == len(then)
        assert page.locator("main > h1").inner_text() == f"mlsizes dataset {old}"
        assert f"its {len(then)} records" in page.locator("#release-note").inner_text()
        assert page.locator("#summary").inner_text().startswith(f"{len(then)} notable machine-learning systems in")
        files = page.locator("#downloads-line a").get_attribute("href")
        assert files == f"downloads.html?release={old}#files-{old}"
        page.select_option("#domain", "")
        assert chart_marks(page) == len(drawable(then, *AXES))
        page.reload()
        assert page.input_value("#release") == old and chart_marks(page) == len(drawable(then, *AXES))
        assert page.locator("header a", has_text="Downloads").get_attribute("href") == f"downloads.html?release={old}"
        assert "gpt-3-175b" in set(then["id"]) - set(current["id"])  # a record that left since: its page too
        page.click('#records a[href^="records/gpt-3-175b.html"]')
        page.wait_for_url(f"**/records/gpt-3-175b.html?release={old}")
        assert old in page.locator("#release-note").inner_text()
        assert page.locator("#history tr[aria-current]").inner_text().startswith(old)
        assert seen["errors"] == []


def test_an_older_release_shows_its_own_gap_answer_validation_card_and_figures(
    clone, built, base_url, browser, release_listing
):
    """Each as git holds it at the release: the gap answer from its metrics/gap.json, the figures byte for byte
    its committed PNGs (offered for download with their sha256 too)."""
    old, commit = release_listing[-2]["version"], release_listing[-2]["commit"]
    gap = json.loads(sh("git", "show", f"{commit}:metrics/gap.json", cwd=clone).stdout)
    now = json.loads((clone / "metrics" / "gap.json").read_text())
    assert gap["as_of"] != now["as_of"]
    with opened(browser, f"{base_url}/index.html") as (page, seen):
        page.select_option("#release", old)
        page.wait_for_url(f"**/index.html?release={old}")
        chart_marks(page)
        answer = page.locator("#gap-answer").inner_text()
        assert f"published up to {gap['as_of']}" in answer and now["as_of"] not in answer
        for domain, info in gap["windows"]["answer"].items():
            assert f"{domain}: {info['verdict']}" in answer
        for domain, tests in gap["tests"].items():
            for bounds, test in tests.items():
                counts = "insufficient data" if test["insufficient_data"] else test["observed_in_gap"]
                assert f"{domain}\t{bounds}\t{test.get('n_systems', '')}\t{counts}" in answer
        assert "As git holds it at the release" in page.locator("#validation-status").inner_text()
        # no release has committed its card yet (the card came later): the box says so, not the current card
        assert sh("git", "cat-file", "-e", f"{commit}:data/curated/README.md", cwd=clone, check=False).returncode
        assert page.locator("#card-box").inner_text() == ("This release kept no dataset card (data/curated/README.md).")
        page.wait_for_function(
            "Array.from(document.querySelectorAll('#figures-box img')).every(i => i.complete && i.naturalWidth > 0)"
        )
        shown = page.eval_on_selector_all("#figures-box img", "images => images.map(i => i.getAttribute('src'))")
        assert seen["errors"] == []
    names = sh("git", "ls-tree", "--name-only", f"{commit}:reports/figures", cwd=clone).stdout.split()
    assert shown == [f"figures/{old}/{name}" for name in names if name.endswith(".png")] and shown
    sums = dict(line.split("  ")[::-1] for line in (built / "SHA256SUMS").read_text().splitlines())
    downloads = (built / "downloads.html").read_text()
    for path in shown:
        blob = subprocess.run(
            ["git", "cat-file", "blob", f"{commit}:reports/figures/{Path(path).name}"],
            cwd=clone,
            capture_output=True,
            check=True,
        ).stdout
        digest = hashlib.sha256(blob).hexdigest()
        assert hashlib.sha256((built / path).read_bytes()).hexdigest() == digest == sums[path]
        assert f'<a href="{path}">' in downloads and digest in downloads


AXES = ("publication_date", "parameters")


def in_domain(models, domain: str):
    return models[models["domains"].str.split(",").apply(lambda names: domain in names)]


def test_a_record_that_left_has_a_page_saying_when_and_why(clone, base_url, browser, release_tables):
    versions = list(release_tables)
    with opened(browser, f"{base_url}/records/gopher.html") as (page, seen):
        assert page.locator("h1").inner_text() == "Gopher"
        left_in = next(v for v in versions[1:] if "gopher" not in set(release_tables[v]["id"]))
        text = page.locator("#departure").inner_text()
        assert f"It left in release {left_in}: renamed upstream" in text
        assert "It continues as gopher-280b." in text
        last = versions[versions.index(left_in) - 1]
        assert f"as release {last}, the last to hold it" in text
        gopher = release_tables[last].set_index("id").loc["gopher"]
        assert page.locator('#fields dd[data-field="publication_date"]').inner_text() == gopher["publication_date"]
        history = page.locator("#history tbody tr").all_inner_texts()
        assert any(line.startswith(f"{left_in}\tleft: renamed upstream") for line in history), history
        page.click("#departure >> text=gopher-280b")
        page.wait_for_url("**/records/gopher-280b.html")
        assert page.locator("#earlier").inner_text() == "Earlier releases held it as gopher."  # and back
        assert seen["errors"] == []
    newest, previous = versions[-1], versions[-2]
    removed = json.loads(mlsizes("diff", "--stored", previous, newest, "--json", cwd=clone).stdout)["removed"]
    with opened(browser, f"{base_url}/releases/{newest}.html") as (page, _):
        rows = page.locator("#removed-records tbody tr")
        assert rows.count() == len(removed)
        first = rows.first.locator("td").all_inner_texts()
        assert first[0] == removed[0]["id"] and first[-1]
        rows.first.locator("a").click()
        page.wait_for_url(f"**/records/{removed[0]['id']}.html")
        assert f"It left in release {newest}: {first[-1]}" in page.locator("#departure").inner_text()


def test_why_a_record_left_renamed_merged_rejected_or_removed_upstream_and_one_that_came_back():
    """Synthetic releases a -> b -> c with one record leaving b for each reason, one coming back in c."""
    import pandas as pd

    from mlsizes.records import contribution_files
    from mlsizes.releases import diff

    columns = ["id", "name", "publication_date", "link", "source"]

    def side(rows) -> diff.Side:
        return diff.Side("", "", pd.DataFrame(rows, columns=columns).set_index("id", drop=False), {})

    def release(version, previous, rows, rejected=()):
        old = previous.change.new if previous and previous.change else side(first) if previous else None
        change = diff.DatasetDiff(old, side(rows), pd.DataFrame(), pd.DataFrame(), [], []) if previous else None
        refused = pd.DataFrame(rejected, columns=["name", "reject_code", "reject_message"])
        return site.ReleasePage(version, "", "", f"snap-{version}", "", {}, previous, change, refused)

    contributed = f"{contribution_files.SOURCE_PREFIX}mine.yaml"
    first = [
        ["kept", "Kept", "2020-01-01", "https://k", "epoch:a"],
        ["old-id", "Old name", "2020-01-02", "https://same", "epoch:a"],
        ["gopher", "Gopher", "2021-12-08", "https://g1", "epoch:a"],
        ["twin", "Twin Model", "2020-01-03", "", "epoch:a"],
        ["copy", "Copy", "2020-01-04", "", "epoch:a"],
        ["bad", "Bad", "2020-01-05", "", "epoch:a"],
        ["mine", "Mine", "2020-01-06", "", contributed],
        ["gone", "Gone", "2020-01-07", "", "epoch:a"],
    ]
    second = [
        ["kept", "Kept", "2020-01-01", "https://k", "epoch:b"],
        ["new-id", "New name", "2020-01-02", "https://same", "epoch:b"],
        ["gopher-280b", "Gopher (280B)", "2021-12-08", "https://g2", "epoch:b"],
        ["twin-2", "twin model", "2020-01-03", "", "epoch:b"],
    ]
    a = release("a", None, first)
    b = release(
        "b", a, second, [["COPY", "likely_duplicate", "looks like kept"], ["Bad", "missing_domain", "no domain"]]
    )
    c = release("c", b, [*second, ["gone", "Gone", "2020-01-07", "", "epoch:c"]])
    reasons = {item.version: site.why_they_left(item) for item in (b, c)}
    assert reasons["b"] == {
        "old-id": ("renamed upstream: the same link, now under another id", "new-id"),
        "gopher": ("renamed upstream: a new record of the same day extends its name", "gopher-280b"),
        "twin": ("merged: a record of the same name took its place", "twin-2"),
        "copy": ("merged: its row was rejected (likely_duplicate: looks like kept)", ""),
        "bad": ("rejected: its row was rejected (missing_domain: no domain)", ""),
        "mine": ("removed: its contribution file is gone", ""),
        "gone": ("removed upstream: Epoch's snapshot snap-b has no row of its name", ""),
    }
    assert reasons["c"] == {}
    gone = site.departures([a, b, c], reasons, set(c.change.new.models["id"]))
    assert sorted(gone) == ["bad", "copy", "gopher", "mine", "old-id", "twin"]  # "gone" came back in c
    assert gone["gopher"] == site.Departure("a", "b", reasons["b"]["gopher"][0], "gopher-280b")
    assert gone["bad"].successor is None


def test_a_falling_fit_is_read_as_halving_not_as_a_negative_doubling_time():
    """Release 2022.09.01's fit above the gap falls (-31.1 months): "doubling -31.1 months" read as nonsense."""
    falling = {"n": 9, "slope_oom_per_year": -0.097, "doubling_time_months": -31.1, "doubling_time_months_ci": None}
    assert site.trend_readout(falling, "above") == "above: -0.10 OOM/yr, halving every 31.1 months (no interval), n = 9"
    assert site.doubling_words(6.0) == "doubling every 6.0 months"
