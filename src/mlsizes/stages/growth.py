"""The `growth` stage: the recent-growth readout of every measure of the curated table (x/year since a start
date, notable and frontier systems, 95% intervals) -> metrics/growth.json."""

from __future__ import annotations

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


def run(paths: Paths, settings: GrowthParams) -> dict:
    """Read models.csv, compute the readout, write growth.json."""
    result = process(contracts.read_curated(paths.models), settings)
    atomic_write_text(paths.growth, to_json(result))
    return result
