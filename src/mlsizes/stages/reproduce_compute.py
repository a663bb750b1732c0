"""The `reproduce-compute` stage: the tables of "Compute Trends Across Three Eras of Machine Learning" (Sevilla et
al. 2022) beside ours, on the 2022 snapshot closest to the paper's data, and its three-eras figure.

The rules are params (`compute_reproduction:` in params.yaml); the paper's numbers are facts of the paper, kept
here with the table each comes from. Rows the paper itself contradicts are reported with the reason, not judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mlsizes.analysis import compute_trends as ct
from mlsizes.core.files import atomic_write_text, to_json
from mlsizes.core.paths import Paths
from mlsizes.core.settings import ComputeTrendParams
from mlsizes.records import curation, ingest
from mlsizes.rendering import compute_figure

PAPER_REFERENCE = "Sevilla et al., Compute Trends Across Three Eras of Machine Learning, arXiv:2202.05924 (v2)"
TABLE2_DEVIATION = (
    "known inconsistency of the paper: Table 2's large-scale row (n = 16, 9.9 months) differs from Tables 4 and 9 "
    "of the same paper (n = 19-20, 10.3-10.7 months), most likely an earlier data vintage; reported, not judged"
)
VINTAGE = (
    "the snapshot is not the paper's data (the sheet of February 2022): systems were added, re-dated and re-estimated "
    "upstream in between, which moves n, the z-scores and so which systems are large-scale"
)
# Which rows can test the method: stated before any row is read, the same for every row.
REPRODUCIBLE_RULE = (
    "a row is judged only where the systems it fits can be the paper's: our n within the n tolerance of the "
    "paper's. Otherwise the row is not reproducible from the public data: the paper's sheet of February 2022 is "
    "not public, and the nearest snapshot's systems differ (added, re-dated, re-estimated, re-classified by domain "
    "or by z-score), so its slope and R^2 would measure the data's drift, not the method; it is reported with the "
    "difference, not judged"
)
TABLE2_DL_NOTE = (
    "Table 2's deep-learning row mixes the n of one fit with the scale of another (a known inconsistency of the "
    "paper): it is not reproduced; Table 3's deep-learning rows are"
)


def _paper(n, slope=None, doubling=None, interval=None, r2=None) -> dict:
    return {
        "n": n,
        "slope_oom_per_year": slope,
        "doubling_time_months": doubling,
        "doubling_interval": interval,
        "r2": r2,
    }


@dataclass(frozen=True)
class Row:
    """One row of the paper's tables: which systems it fits and what the paper found."""

    table: str
    period: str
    systems: str  # all, regular-scale, large-scale, a domain, record-setters
    select: object  # (labelled systems, params) -> mask of the systems fitted
    paper: dict
    deviation: str | None = None
    table3: bool = False  # Table 3's own cut-off applies


def _era(after_key, until_key=None, scale="all"):
    def select(systems: pd.DataFrame, params: ComputeTrendParams) -> pd.Series:
        after = getattr(params, after_key) if after_key else None
        until = getattr(params, until_key) if until_key else None
        mask = ct.in_period(systems, after, until)
        if scale == "regular":
            mask &= ~systems["large_scale"]
        elif scale == "large":
            mask &= systems["large_scale"]
        return mask

    return select


def _domain(name):
    def select(systems: pd.DataFrame, params: ComputeTrendParams) -> pd.Series:
        era = ct.in_period(systems, params.pre_deep_learning_end, None)
        return era & (ct.other_domains(systems[era], params.other_domain_below).reindex(systems.index) == name)

    return select


# Table 6's groups, by the name params.yaml uses (record_setters).
RECORD_GROUPS = {
    "pre_deep_learning": ("pre-deep-learning", _era(None, "pre_deep_learning_end")),
    "large_scale_2016": ("large-scale 2016-2022", _era("table4_after", scale="large")),
}


def _records(group):
    def select(systems: pd.DataFrame, params: ComputeTrendParams) -> pd.Series:
        members = RECORD_GROUPS[group][1](systems, params)
        chosen = systems[members]
        mask = pd.Series(False, index=systems.index)
        mask[chosen.index] = ct.record_setters(chosen["x"], chosen["y"])
        return mask

    return select


ROWS = {
    "pre_deep_learning": Row(
        "2, 3", "1952-2009", "all", _era(None, "pre_deep_learning_end"), _paper(19, 0.2, 21.3, [16.2, 21.3, 31.3], 0.77)
    ),
    "pre_alexnet": Row(
        "3", "1952-2011", "all", _era(None, "alexnet"), _paper(26, 0.2, 19.6, [15.6, 19.4, 25.0], 0.83), table3=True
    ),
    "deep_learning_all": Row(
        "3",
        "2010-2022",
        "all",
        _era("pre_deep_learning_end"),
        _paper(98, 0.7, 5.6, [5.0, 5.6, 6.2], 0.70),
        table3=True,
    ),
    "deep_learning_regular": Row(
        "3",
        "2010-2022",
        "regular-scale",
        _era("pre_deep_learning_end", scale="regular"),
        _paper(77, 0.7, 5.6, [5.1, 5.6, 6.2], 0.78),
        table3=True,
    ),
    "alexnet_regular": Row(
        "3",
        "2012-2022",
        "regular-scale",
        _era("alexnet", scale="regular"),
        _paper(72, 0.6, 5.7, [4.9, 5.7, 6.7], 0.69),
        table3=True,
    ),
    "since_2016_all": Row("4", "2016-2022", "all", _era("table4_after"), _paper(79, 0.5, 6.7, [4.9, 6.6, 10.0], 0.33)),
    "since_2016_large": Row(
        "4",
        "2016-2022",
        "large-scale",
        _era("table4_after", scale="large"),
        _paper(19, 0.3, 10.7, [7.9, 10.6, 25.6], 0.66),
    ),
    "large_scale_era_regular": Row(
        "9",
        "Sep 2015-2022",
        "regular-scale",
        _era("large_scale_start", scale="regular"),
        _paper(63, 0.6, 6.0, [4.6, 6.0, 8.5], 0.46),
    ),
    "large_scale_era_large": Row(
        "9",
        "Sep 2015-2022",
        "large-scale",
        _era("large_scale_start", scale="large"),
        _paper(20, 0.4, 10.3, [7.6, 10.4, 21.9], 0.63),
    ),
    "headline_large_scale": Row(
        "2",
        "Sep 2015-2022",
        "large-scale (headline)",
        _era("large_scale_start", scale="large"),
        _paper(16, 0.4, 9.9, [7.7, 10.1, 17.1]),
        deviation=TABLE2_DEVIATION,
    ),
    **{
        f"domain_{name.lower()}": Row("7", "2010-2022", name, _domain(name), _paper(n, doubling=doubling))
        for name, n, doubling in (("Vision", 25, 6.0), ("Language", 36, 4.8), ("Games", 13, 4.5), ("Other", 19, 6.8))
    },
    "records_pre_deep_learning": Row(
        "6", "1952-2009", "record-setters", _records("pre_deep_learning"), _paper(10, doubling=19.9, r2=0.83)
    ),
    "records_large_scale_2016": Row(
        "6", "2016-2022", "large-scale record-setters", _records("large_scale_2016"), _paper(7, doubling=8.5, r2=0.66)
    ),
}


def process(
    models: pd.DataFrame, snapshot_id: str, params: ComputeTrendParams, uncurated: pd.DataFrame | None = None
) -> dict:
    """Every row of the paper's tables beside ours with its verdict, the systems by scale and Table 9's other
    thresholds. `uncurated`: the snapshot's rejected rows that have a training compute (name, publication_date,
    reject_code), which the paper's sheet counted: a row off its tolerance names those in its period."""
    unknown = set(params.record_setter_groups) - set(RECORD_GROUPS)
    if unknown:
        raise ValueError(f"compute_reproduction.record_setters: unknown group {sorted(unknown)[0]!r}")
    labelled = {cutoff: ct.label_systems(models, params, cutoff) for cutoff in {params.cutoff, params.table3_cutoff}}
    rows = {}
    for key, row in ROWS.items():
        if row.table == "6" and key.removeprefix("records_") not in params.record_setter_groups:
            continue
        systems = labelled[params.table3_cutoff if row.table3 else params.cutoff]
        fitted = systems[~systems["low_outlier"] & row.select(systems, params)]
        ours = ct.trend(fitted, params)
        within = ct.within_tolerance(row.paper, ours, params.tolerances)
        population = None if within.get("n", True) else _population_differs(row.paper["n"], ours["n"], params)
        rows[key] = {
            "table": row.table,
            "period": row.period,
            "systems": row.systems,
            "cutoff": (params.table3_cutoff if row.table3 else params.cutoff).isoformat(),
            "paper": row.paper,
            "ours": ours,
            "within_tolerance": within,
            "judged": row.deviation is None and population is None,
            "note": row.deviation,
            "not_reproducible": population if row.deviation is None else None,
        }
        if not all(within.values()):
            rows[key]["why_not"] = _why_not(row, systems, params, uncurated)
    systems = labelled[params.cutoff]
    judged = [row for row in rows.values() if row["judged"]]
    return {
        "paper": PAPER_REFERENCE,
        "snapshot": snapshot_id,
        "cutoff": params.cutoff.isoformat(),
        "tolerances": params.tolerances,
        "summary": {
            "rows": len(rows),
            "judged": len(judged),
            "judged_within_tolerance": sum(all(row["within_tolerance"].values()) for row in judged),
            "rule": REPRODUCIBLE_RULE,
            "not_reproducible": [key for key, row in rows.items() if row["not_reproducible"]],
            # how many of those agree on every figure but n: the drift moves counts more than rates
            "not_reproducible_otherwise_within": sum(
                all(ok for field, ok in row["within_tolerance"].items() if field != "n")
                for row in rows.values()
                if row["not_reproducible"]
            ),
            "not_reproduced": [TABLE2_DL_NOTE],
        },
        "rows": rows,
        "n_systems_with_compute": len(systems),
        "uncurated_with_compute": []
        if uncurated is None
        else [
            {"name": name, "publication_date": date, "reject_code": code}
            for name, date, code in zip(uncurated["name"], uncurated["publication_date"], uncurated["reject_code"])
        ],
        "low_outliers": ct.system_list(systems[systems["low_outlier"]]),
        "large_scale": ct.system_list(systems[systems["large_scale"] & ~systems["low_outlier"]]),
        "table9_thresholds": _thresholds(systems, params),
    }


def _population_differs(paper_n: int, our_n: int, params: ComputeTrendParams) -> str:
    """Why a row whose n is off its tolerance is not judged (REPRODUCIBLE_RULE), with the difference."""
    return (
        f"n {our_n} against the paper's {paper_n} ({our_n - paper_n:+d}, beyond "
        f"{params.tolerances['n_relative']:.0%}): not the paper's systems, so not reproducible from the public data"
    )


def _why_not(row: Row, systems: pd.DataFrame, params: ComputeTrendParams, uncurated) -> list[str]:
    """What is known to differ between the paper's data and ours for a row off its tolerance."""
    reasons = [VINTAGE]
    if uncurated is not None and len(uncurated):
        dates = systems["publication_date"]
        first, last = dates[row.select(systems, params)].min(), dates[row.select(systems, params)].max()
        inside = uncurated[(uncurated["publication_date"] >= first) & (uncurated["publication_date"] <= last)]
        if len(inside):
            reasons.append(
                f"{len(inside)} of the systems with a training compute that curate rejects (uncurated_with_compute: "
                "the paper's fits need no domain) fall in this period"
            )
    return reasons


def _thresholds(systems: pd.DataFrame, params: ComputeTrendParams) -> dict:
    """Table 9's other large-scale thresholds: both scales of the large-scale era under each (the reference gives
    no paper numbers for them)."""
    era = ct.in_period(systems, params.large_scale_start, None) & ~systems["low_outlier"]
    result = {}
    for threshold in params.large_scale_alternatives:
        large = ct.large_scale(systems, params, threshold)
        result[f"z_{threshold:g}"] = {
            "regular_scale": ct.trend(systems[era & ~large], params),
            "large_scale": ct.trend(systems[era & large], params),
        }
    return result


def run(paths: Paths, settings: ComputeTrendParams) -> dict:
    """Curate the snapshot in memory, reproduce the tables, write compute_reproduction.json and the figure."""
    curated, snapshot = curation.curate_snapshot(paths.snapshot(settings.snapshot))
    typed = ingest.process(snapshot)
    uncurated = typed[typed["reject_code"].notna() & typed["training_compute_flop"].notna()]
    result = process(curated.models, snapshot.snapshot_id, settings, uncurated)
    atomic_write_text(paths.compute_reproduction, to_json(result))
    systems = ct.label_systems(curated.models, settings, settings.cutoff)
    compute_figure.three_eras(systems, result, settings, paths.compute_eras_figure)
    return result
