"""The site's screenshots in docs/ (site-*.png), taken from reports/site as a reader sees it: served over
127.0.0.1, drawn by Debian's chromium-headless-shell through Playwright, each view once its chart is drawn.

    .venv/bin/python docs/screenshots.py      # after `dvc repro` (the site stage)
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "reports" / "site"
CHROMIUM = "/usr/bin/chromium-headless-shell"
# (file in docs/, page and query, viewport width and height, element to scroll to the top or None)
VIEWS = (
    ("site-index.png", "index.html", 1280, 1500, None),
    ("site-phone.png", "index.html", 390, 1400, None),
    ("site-filtered.png", "index.html?domain=Language&org=google&from=2018-01-01", 1280, 1300, "#explore"),
    ("site-release-switched.png", "index.html?domain=Language&release=2022.09.01", 1280, 1300, None),
    ("site-release-switched-gap.png", "index.html?release=2022.09.01", 1280, 1300, "#gap-answer"),
    ("site-record.png", "records/roberta-large.html", 1000, 1300, None),
    ("site-removed.png", "records/gopher.html", 1000, 1100, None),
    ("site-release.png", "releases/2026.03.10.html", 1280, 1500, None),
)


class Quiet(http.server.SimpleHTTPRequestHandler):
    """The site's files, without a log line per request."""

    def log_message(self, *args) -> None:
        """Nothing: a line per request is no news here."""


def main() -> None:
    """Serve the site, open each view, save its screenshot."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(SITE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for name, view, width, height, anchor in VIEWS:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{base}/{view}")
            if page.locator("#chart").count():
                page.wait_for_selector("#chart[data-ready]")
            if anchor:
                page.locator(anchor).evaluate("element => element.scrollIntoView()")
            page.screenshot(path=ROOT / "docs" / name)
            page.close()
            print(f"docs/{name}: {view} at {width}x{height}")
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
