"""The chart diff: two versions' Figure 1 overlaid. Counts on a tiny synthetic pair with known answers, and on
the real pair (the paper-era release against the workspace) the same counts `mlsizes diff` reports; the PNG is
a PNG and the same bytes on every run."""

import pandas as pd
import pytest

from conftest import ROOT
from mlsizes.core.paths import LAYOUT
from mlsizes.releases import chart_diff, diff, revisions

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COLUMNS = ["id", "name", "primary_domain", "publication_date", "parameters", "link", "source", "source_row"]
TRENDS = LAYOUT["trends"]


def _fit(start: str, end: str, at_start: float, at_end: float, n: int) -> dict:
    return {
        "n": n,
        "insufficient_data": False,
        "slope_oom_per_year": 0.5,
        "period_start": start,
        "period_end": end,
        "fitted_parameters_at_start": at_start,
        "fitted_parameters_at_end": at_end,
    }


def _trends(*eras: str) -> dict:
    """trends.json with any era keys (the chart draws whatever keys it finds)."""
    fits = [_fit("2000-01-01", "2010-01-01", 1e6, 1e8, 5), _fit("2010-01-01", "2020-01-01", 1e8, 1e11, 7)]
    return {"gap": [1e9, 3e9], "domains": {"all": dict(zip(eras, fits))}}


def _side(name: str, rows: list[list[str]], trends: dict | None = None) -> diff.Side:
    models = pd.DataFrame(rows, columns=COLUMNS).set_index("id", drop=False)
    return diff.Side(name=name, revision="0123456789abcdef" * 2 + "01234567", models=models, metrics={TRENDS: trends})


def _row(record_id: str, date: str, parameters: str, link: str = "") -> list[str]:
    return [record_id, record_id.upper(), "Language", date, parameters, link or f"https://x.org/{record_id}", "s", "1"]


def _captured(monkeypatch) -> list[str]:
    """Every text of the figure when it is saved (titles, legends, footer), then saved as usual."""
    texts: list[str] = []
    save = chart_diff.figures.save_figure

    def capture(fig, path, footer):
        texts.extend(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))
        texts.append(footer)
        save(fig, path, footer)

    monkeypatch.setattr(chart_diff.figures, "save_figure", capture)
    return texts


def test_synthetic_pair_one_added_one_removed_one_moved(tmp_path, monkeypatch):
    old = _side("old", [_row("kept", "2015-03-01", "1e8"), _row("gone", "2012-01-01", "5e6")], _trends("a", "b"))
    new = _side("new", [_row("kept", "2015-03-01", "4e9"), _row("came", "2019-06-01", "2e10")], _trends("a", "b"))
    texts = _captured(monkeypatch)
    counts = chart_diff.draw(old, new, tmp_path / "diff.png")
    assert counts == {"added": 1, "removed": 1, "moved": 1, "skipped": 0}
    assert (tmp_path / "diff.png").read_bytes().startswith(PNG_MAGIC)
    words = "\n".join(texts)
    assert "1 added, 1 removed, 1 moved" in words
    assert "old (0123456789, 2 records) -> new (0123456789, 2 records)" in words
    assert "old trends (dashed)" in words and "new trends (solid)" in words
    assert "Not drawn (no parameter count): 0 records" in words


def test_a_renamed_record_is_moved_or_unchanged_not_added_and_removed(tmp_path):
    old = _side("old", [_row("gpt", "2018-06-11", "1.17e8", "https://x.org/p"), _row("same", "2016-01-01", "1e7")])
    new = _side(
        "new",
        [_row("gpt-1", "2018-06-12", "117000000.0", "https://x.org/p"), _row("same-2", "2016-01-01", "1e7", "")],
    )
    new.models.loc["same-2", "link"] = "https://x.org/same"  # renamed with its link: paired, nothing changed
    assert diff.renamed_pairs(old.models, new.models) == {"gpt": "gpt-1", "same": "same-2"}
    counts = chart_diff.draw(old, new, tmp_path / "diff.png")
    assert counts == {"added": 0, "removed": 0, "moved": 1, "skipped": 0}  # gpt's date moved; 1.17e8 is its size


def test_records_without_a_size_are_skipped_and_sides_without_trends_have_no_lines(tmp_path, monkeypatch):
    old = _side("old", [_row("a", "2015-01-01", ""), _row("b", "2016-01-01", ""), _row("c", "2017-01-01", "3e6")])
    new = _side(
        "new",
        [_row("a", "2015-01-01", "2e6"), _row("c", "2017-01-01", ""), _row("d", "2020-01-01", "")],
        _trends("x"),
    )
    texts = _captured(monkeypatch)
    counts = chart_diff.draw(old, new, tmp_path / "diff.png")
    # a gained a size (drawn at its new place), c lost it (drawn at its old place), b removed and d added unsized
    assert counts == {"added": 1, "removed": 1, "moved": 2, "skipped": 2}
    words = "\n".join(texts)
    assert "Not drawn (no parameter count): 2 records (1 added, 1 removed, 0 moved, 0 unchanged)" in words
    assert f"No {TRENDS} at old: no trend lines for it." in words
    assert "1 moved that gained a size" in words and "1 moved that lost their size" in words
    assert "old trends (dashed)" not in words and "new trends (solid)" in words


@pytest.fixture(scope="module")
def real_pair(tmp_path_factory):
    """The paper-era release and the workspace, drawn once: (old, new, counts, PNG bytes)."""
    old, new = diff.load_side(ROOT, "2022.06.30"), diff.load_side(ROOT, revisions.WORKSPACE)
    assert old.revision == revisions.resolve(ROOT, "2022.06.30")
    png = tmp_path_factory.mktemp("chart-diff") / "diff.png"
    counts = chart_diff.draw(old, new, png)
    return old, new, counts, png.read_bytes()


def test_real_pair_counts_are_what_diff_reports(real_pair):
    old, new, counts, _ = real_pair
    reported = diff.process(ROOT, "2022.06.30", revisions.WORKSPACE)
    moved = {c["id"] for c in reported.changed if c["field"] in ("parameters", "publication_date")}
    assert counts["added"] == len(reported.added)
    assert counts["removed"] == len(reported.removed)
    assert counts["moved"] == len(moved)
    no_size = (new.models["parameters"] == "").sum() + (reported.removed["parameters"] == "").sum()
    assert 0 < counts["skipped"] <= no_size


def test_real_pair_png_is_deterministic(real_pair, tmp_path):
    old, new, counts, png = real_pair
    assert png.startswith(PNG_MAGIC)
    assert chart_diff.draw(old, new, tmp_path / "again.png") == counts
    assert (tmp_path / "again.png").read_bytes() == png


def test_real_pair_with_the_old_trends_missing(real_pair, tmp_path):
    old, new, counts, png = real_pair
    bare = diff.Side(old.name, old.revision, old.models, {**old.metrics, TRENDS: None})
    assert chart_diff.draw(bare, new, tmp_path / "bare.png") == counts
    assert (tmp_path / "bare.png").read_bytes().startswith(PNG_MAGIC)
    assert (tmp_path / "bare.png").read_bytes() != png
