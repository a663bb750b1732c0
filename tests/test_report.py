"""The report stage draws its PNG figures and a report.md from the committed metrics; every label follows the
params."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from html import unescape

import pytest

from conftest import ROOT
from mlsizes.core.paths import Paths
from mlsizes.core.settings import Settings
from mlsizes.stages import report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_report_writes_every_figure_and_the_markdown(tmp_path):
    metrics = tmp_path / "metrics"
    shutil.copytree(ROOT / "metrics", metrics)
    settings = Settings.load(ROOT / "params.yaml")
    layout = Paths.at(ROOT).with_metrics_dir(metrics).replace(reports_dir=tmp_path / "reports")
    paths = report.run(layout, report.ReportSettings(settings.analysis, settings.snapshot))
    figures = sorted((tmp_path / "reports" / "figures").glob("*.png"))
    assert [p.name for p in figures] == sorted(report.FIGURES)
    assert all(p.read_bytes()[:8] == PNG_MAGIC for p in figures)
    text = (tmp_path / "reports" / "report.md").read_text()
    for heading in (
        "The gap model",
        "Paper reproduction",
        "Break date",
        "Two clusters",
        "sliding windows",
        "across upstream releases",
        "Compute trends across three eras, reproduced",
        "Recent growth of every measure",
        "RQ3: does a model fit on one accelerator?",
    ):
        assert heading in text
    assert "nan" not in text.lower().split()
    first = {p.name: p.read_bytes() for p in paths}
    report.run(layout, report.ReportSettings(settings.analysis, settings.snapshot))
    assert first == {p.name: p.read_bytes() for p in paths}


def test_every_label_follows_the_params_not_the_papers_defaults(tmp_path, monkeypatch):
    """With the gap at 1e10-1e11 and alpha 0.05, no figure text and no report line says 20B-70B or 0.01."""
    import matplotlib.pyplot
    import matplotlib.text

    metrics = tmp_path / "metrics"
    shutil.copytree(ROOT / "metrics", metrics)
    for name in ("trends.json", "gap.json"):
        data = json.loads((metrics / name).read_text())
        data["gap"] = [1e10, 1e11]
        (metrics / name).write_text(json.dumps(data))
    texts = []
    monkeypatch.setattr(
        report,
        "save_figure",
        lambda fig, path, footer: (
            texts.extend(t.get_text() for t in fig.findobj(matplotlib.text.Text)),
            matplotlib.pyplot.close(fig),
        ),
    )
    settings = Settings.load(ROOT / "params.yaml")
    params = dataclasses.replace(settings.analysis, gap_lower=1e10, gap_upper=1e11, alpha=0.05, window_years=4)
    layout = Paths.at(ROOT).with_metrics_dir(metrics).replace(reports_dir=tmp_path / "reports")
    report.run(layout, report.ReportSettings(params, settings.snapshot))
    shown = "\n".join(texts)
    for expected in (
        "systems in 10B-100B (strict bounds)",
        "alpha = 0.05",
        "gap 10B-100B parameters",
        "sliding four-year windows",
    ):
        assert expected in shown
    text = (tmp_path / "reports" / "report.md").read_text()
    assert "alpha = 0.05" in text
    for stale in ("20B-70B", "alpha = 0.01", "three-year"):
        assert stale not in shown and stale not in text, stale
    # (the reproduction's selection rule, quoted from its metrics, was written with the default bounds)


HOSTILE_NAMES = [
    "![pixel](http://127.0.0.1:9/track.png)",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "**bold** _it_ `code` ~~gone~~",
    "a | b | c",
    "# heading",
    "&lt;script&gt;",
    "T5_XXL and gpt-3 (175B)\nsecond line",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_text_from_the_data_renders_as_itself_in_markdown(name):
    """Measured on main: a corrected name holding Markdown became an <img> on the site's release page (Chromium
    requested it), and `diff --md` passed raw HTML and Markdown into pull-request comments."""
    from markdown_it import MarkdownIt

    from mlsizes.releases.diff import _table
    from mlsizes.rendering.text import markdown_text

    renderer = MarkdownIt("commonmark", {"html": True}).enable("table")
    shown = " ".join(name.split())
    for markdown in (f"- {markdown_text(name)}", _table(["id", "name"], [["x", name]], markdown=True)):
        html = renderer.render(markdown)
        assert "<img" not in html and "<a " not in html and "<script" not in html and "<strong" not in html, html
        assert "<h1" not in html and "<em" not in html and "<code" not in html and "<del" not in html, html
        text = re.sub(r"<[^>]+>", "", html)
        assert shown in unescape(text).replace("\n", " "), (shown, html)
