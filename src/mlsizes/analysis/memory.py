"""RQ3 with data: does a system's model fit on one accelerator of those it was trained on? The weights (bytes per
parameter, 2 for 16-bit) and, separately, the training state (weights, gradients and Adam's moments in mixed
precision, about 16 bytes per parameter) against the memory of one accelerator (schemas/chips.csv), for the systems
below, in and above the parameter gap, by publication year.

A system whose Training hardware names several accelerators is judged on the one with the most memory (the most
favourable reading); a name the chip table does not know leaves the system out and is counted in the coverage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlsizes.core.settings import AnalysisParams, in_gap

POSITIONS = ("below", "in", "above")


def join_chips(models: pd.DataFrame, chips: pd.DataFrame) -> pd.DataFrame:
    """Each system with its largest known accelerator memory (GB; NaN when none of its names is in the table) and
    the names the table does not know."""
    memory = dict(zip(chips["hardware"], chips["memory_gb"]))
    names = models["training_hardware"].fillna("").str.split(",")
    names = names.map(lambda parts: [part.strip() for part in parts if part.strip()])
    known = names.map(lambda parts: [memory[part] for part in parts if part in memory])
    joined = models.copy()
    joined["accelerator_memory_gb"] = known.map(lambda values: max(values) if values else np.nan)
    joined["unknown_hardware"] = names.map(lambda parts: [part for part in parts if part not in memory])
    return joined


def position(parameters: pd.Series, params: AnalysisParams) -> pd.Series:
    """below, in or above the gap under the study's bound convention (settings.in_gap)."""
    inside = in_gap(parameters, params.gap_lower, params.gap_upper, params.inclusive)
    return pd.Series(
        np.where(inside, "in", np.where(parameters >= params.gap_upper, "above", "below")), parameters.index
    )


def fit_shares(models: pd.DataFrame, chips: pd.DataFrame, params: AnalysisParams, bytes_per_parameter: dict) -> dict:
    """Coverage first (how many systems the answer rests on, and the hardware names not in the chip table), then
    per position and per publication year and position: n, and for each kind of state (bytes_per_parameter's
    keys) how many fit on one accelerator and their share; and how many of those with a hardware quantity have
    the training state fit in the memory of all their accelerators together."""
    joined = join_chips(models, chips)
    has_parameters = joined["parameters"].notna() & (joined["parameters"] > 0)
    has_hardware = joined["training_hardware"].notna()
    usable = joined[has_parameters & joined["accelerator_memory_gb"].notna()].copy()
    unknown = pd.Series([name for names in joined.loc[has_hardware, "unknown_hardware"] for name in names])
    coverage = {
        "systems": len(joined),
        "with_parameters": int(has_parameters.sum()),
        "with_training_hardware": int(has_hardware.sum()),
        "with_parameters_and_hardware": int((has_parameters & has_hardware).sum()),
        "with_parameters_and_known_chip": len(usable),
        "with_hardware_quantity_too": int(usable["hardware_quantity"].notna().sum()),
        "unknown_hardware": {str(k): int(v) for k, v in unknown.value_counts().sort_index().items()},
    }
    usable["position"] = position(usable["parameters"], params)
    usable["year"] = usable["publication_date"].str[:4].astype(int)
    memory_bytes = usable["accelerator_memory_gb"] * 1e9
    for kind, per_parameter in bytes_per_parameter.items():
        usable[f"{kind}_fits"] = usable["parameters"] * per_parameter <= memory_bytes
    largest = max(bytes_per_parameter.values())
    usable["cluster_fits"] = usable["parameters"] * largest <= memory_bytes * usable["hardware_quantity"]

    def cell(group: pd.DataFrame) -> dict:
        result = {"n": len(group)}
        for kind in bytes_per_parameter:
            fits = int(group[f"{kind}_fits"].sum())
            result[kind] = {"fit": fits, "share": fits / len(group) if len(group) else None}
        quantity = group["hardware_quantity"].notna()
        result["with_hardware_quantity"] = int(quantity.sum())
        result["training_state_fits_all_accelerators"] = int(group.loc[quantity, "cluster_fits"].sum())
        return result

    by_position = {where: cell(usable[usable["position"] == where]) for where in POSITIONS}
    by_year = {
        str(year): {where: cell(group[group["position"] == where]) for where in POSITIONS}
        for year, group in usable.groupby("year", sort=True)
    }
    return {"coverage": coverage, "by_position": by_position, "by_year": by_year}
