"""Metadata stage: `datapackage.json` (Frictionless Data Package) and `codebook.csv` for the curated table.

Both are generated from `schemas/curated.yaml` (titles, descriptions, units, sources, checks, and how text
cells are written spreadsheet-safe), so the documentation cannot drift from the contract the data is validated
against or from what curate writes.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from mlsizes import __version__, contracts
from mlsizes.files import atomic_write_text
from mlsizes.paths import Paths
from mlsizes.snapshots import CITATION, LICENSE

FRICTIONLESS_TYPES = {"str": "string", "float64": "number", "int64": "integer"}
_CHARACTER_NAMES = {"\t": "a tab", "\r": "a carriage return"}


def field_descriptor(name: str, spec: dict) -> dict:
    """A Frictionless field for one curated column: type, description, unit and constraints from its checks."""
    constraints = {"required": not spec.get("nullable", True)}
    if spec.get("unique"):
        constraints["unique"] = True
    if "str_matches" in spec:
        constraints["pattern"] = spec["str_matches"]
    if "isin" in spec:
        constraints["enum"] = spec["isin"]
    if "in_range" in spec:
        constraints["minimum"] = spec["in_range"]["min_value"]
        constraints["maximum"] = spec["in_range"]["max_value"]
    field = {
        "name": name,
        "type": FRICTIONLESS_TYPES[spec["dtype"]],
        "title": spec["title"],
        "description": " ".join(spec["description"].split()),
        "constraints": constraints,
    }
    if spec.get("unit"):
        field["unit"] = spec["unit"]
    return field


def spreadsheet_note() -> str:
    """How text cells are written (`spreadsheet_safe_text` in schemas/curated.yaml), in words."""
    rule = contracts.curated_spec()["spreadsheet_safe_text"]
    names = [_CHARACTER_NAMES.get(char, f'"{char}"') for char in rule["formula_start"]]
    characters = f"{', '.join(names[:-1])} or {names[-1]}"
    return " ".join(rule["description"].split()).format(characters=characters, escape=f'"{rule["escape"]}"')


def datapackage() -> dict:
    """The Data Package descriptor of models.csv and rejected.csv: licence, sources and the field schema."""
    fields = [field_descriptor(name, spec) for name, spec in contracts.curated_columns().items()]
    return {
        "profile": "tabular-data-package",
        "name": "mlsizes-notable-ml-systems",
        "title": "Notable machine-learning systems and their sizes (curated by mlsizes)",
        "version": __version__,
        "licenses": [LICENSE],
        "sources": [{"title": "Epoch AI, Data on AI Models", "path": "https://epoch.ai/data/ai-models"}],
        "description": "Curated from Epoch AI's public dataset of notable AI models. Attribution: " + CITATION,
        "resources": [
            {
                "name": "models",
                "path": "models.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "encoding": "utf-8",
                "description": spreadsheet_note(),
                "schema": {"fields": fields, "primaryKey": ["id"]},
            },
            {
                "name": "rejected",
                "path": "rejected.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "encoding": "utf-8",
                "description": "Raw rows that did not become records, each with a reason code and a message. "
                + spreadsheet_note(),
            },
        ],
    }


def codebook() -> str:
    """The codebook CSV: each curated column's description, unit and source, and how text cells are written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["column", "description", "unit", "source"])
    for name, spec in contracts.curated_columns().items():
        writer.writerow([name, " ".join(spec["description"].split()), spec.get("unit", ""), spec.get("source", "")])
    writer.writerow(["(every text column)", spreadsheet_note(), "", "mlsizes curate"])
    return buffer.getvalue()


def run(paths: Paths) -> list[Path]:
    """Write datapackage.json and codebook.csv beside the curated table."""
    atomic_write_text(paths.datapackage, json.dumps(datapackage(), indent=2) + "\n")
    atomic_write_text(paths.codebook, codebook())
    return [paths.datapackage, paths.codebook]
