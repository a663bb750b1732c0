"""The `growth` stage: the recent-growth readout of every measure of the curated table (x/year since a start
date, notable and frontier systems, 95% intervals) -> metrics/growth.json, and one trend figure per measure
(reports/figures/growth_<measure>.png)."""

from __future__ import annotations

from pathlib import Path

from mlsizes.analysis import growth
from mlsizes.core.files import atomic_write_text, to_json
from mlsizes.core.paths import Paths
from mlsizes.core.settings import GrowthParams
from mlsizes.records import contracts


def process(models, settings: GrowthParams) -> dict:
    """The readout of every measure params.yaml names, and its sentences."""
    unknown = [column for column in settings.measures if column not in models]
    if unknown:
        raise ValueError(f"growth.measures: {unknown[0]!r} is not a column of the curated table")
    readouts = growth.growth(
        models, settings.measures, settings.since, settings.frontier_top, settings.n_bootstrap, settings.seed
    )
    return {
        "since": settings.since.isoformat(),
        "frontier": f"running top {settings.frontier_top} by training compute at release",
        "measures": readouts,
        "sentences": [
            growth.sentence(reading["measure"], group, reading[group])
            for reading in readouts.values()
            for group in ("notable", "frontier")
        ],
    }


def figure_paths(folder: Path, settings: GrowthParams) -> dict[str, Path]:
    """Each measure's figure in the folder."""
    return {column: folder / f"growth_{column}.png" for column in settings.measures}


def run(paths: Paths, settings: GrowthParams) -> dict:
    """Read models.csv, compute the readout, write growth.json and the figures (in the report's figures folder)."""
    from mlsizes.rendering import growth_figure

    models = contracts.read_curated(paths.models)
    try:
        result = process(models, settings)
    except ValueError as exc:  # a measure the table lacks: name the table
        raise ValueError(f"{paths.models}: {exc}") from None
    atomic_write_text(paths.growth, to_json(result))
    footer = f"the curated table; bootstrap {settings.n_bootstrap}, seed {settings.seed}; mlsizes growth"
    for column, path in figure_paths(paths.figures_dir, settings).items():
        reading = result["measures"][column]
        growth_figure.measure_figure(models, column, reading, result["since"], settings.frontier_top, path, footer)
    return result
