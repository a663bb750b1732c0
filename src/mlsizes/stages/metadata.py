"""Metadata stage: `datapackage.json` (Frictionless Data Package v1), `codebook.csv` and the dataset card
`README.md` for the curated table.

All three are generated: the fields from `schemas/curated.yaml` (titles, descriptions, units, sources, checks,
and how text cells are written spreadsheet-safe) and from the columns and dtypes curate writes, the version from
`dataset.yaml`, and the card's counts and results from the newest metrics. So the documentation cannot drift
from the contract the data is validated against, from what curate writes, or from the release it describes.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from mlsizes.core import untrusted
from mlsizes.core.files import atomic_write_text, refuse_unwritable
from mlsizes.core.paths import LAYOUT, Paths
from mlsizes.core.settings import size_words
from mlsizes.records import contracts, curation
from mlsizes.records.snapshots import CITATION, LICENSE
from mlsizes.rendering import text

FRICTIONLESS_TYPES = {"str": "string", "float64": "number", "int64": "integer", "Int64": "integer"}
# Keys of a curated column spec that carry no check, and the checks with a Frictionless constraint.
_DESCRIPTIVE_KEYS = {"title", "description", "unit", "source", "dtype", "nullable"}
_CHECKS = {"unique", "str_matches", "isin", "in_range", "greater_than_or_equal_to"}
# Left out on purpose: the escape curate adds to a cell that looks like a formula makes it one character longer.
_NOT_CARRIED = {"str_length"}
_CHARACTER_NAMES = {"\t": "a tab", "\r": "a carriage return"}
# The columns curate adds to rejected.csv besides the record's own source, source_row and name.
REJECT_FIELDS = {
    "reject_code": (
        "Reason code",
        "Why the row is not a record (invalid_<column> when it broke that column's rule in schemas/curated.yaml).",
    ),
    "reject_field": ("Field", "The field the reason is about."),
    "reject_value": ("Refused value", "The value refused, as the source wrote it (empty when the field was empty)."),
    "reject_message": ("Message", "The reason in words."),
}
# The upper bounds of Hugging Face's size buckets: 10 ** (3 + position).
_SIZE_LABELS = [f"{n}{unit}" for unit in "KMB" for n in (1, 10, 100)] + ["1T"]
PAPER = (
    "Villalobos, Sevilla, Besiroglu, Heim, Ho, Hobbhahn, *Machine Learning Model Sizes and the Parameter Gap*, "
    "arXiv:2207.02852 (2022)"
)


class MetadataError(Exception):
    """An input of the metadata stage is missing or unreadable; the message names the file and the reason."""


@dataclass
class Inputs:
    """What the documentation is built from besides the contracts: the release and the newest metrics."""

    version: str
    curation: dict
    gap: dict
    reject_examples: dict[str, str]  # reason code -> the message of its first rejected row


@dataclass
class Metadata:
    """The three generated files."""

    datapackage: dict
    codebook: str
    card: str


def _read(path: Path, parse):
    try:
        untrusted.regular_file(path, follow_links=True)  # a FIFO is never opened
        return parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetadataError(f"{path}: no such file") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise MetadataError(f"{path}: not readable ({' '.join(str(exc).split())[:120]})") from None


def dataset_version(path: Path) -> str:
    """The dataset version `dataset.yaml` names (written by `mlsizes release`)."""
    meta = _read(path, untrusted.load_text)
    version = meta.get("version") if isinstance(meta, dict) else None
    if not version:
        raise MetadataError(f"{path}: no version")
    return str(version)


def load(paths: Paths) -> Inputs:
    """The release version, the curation and gap metrics, and an example message of each reject reason."""
    try:
        rejected = pd.read_csv(paths.rejected, usecols=["reject_code", "reject_message"], dtype=str)
    except FileNotFoundError:
        raise MetadataError(f"{paths.rejected}: no such file") from None
    except ValueError as exc:
        raise MetadataError(f"{paths.rejected}: not a rejected table ({exc})") from None
    examples = rejected.dropna().drop_duplicates("reject_code")
    return Inputs(
        version=dataset_version(paths.dataset_file),
        curation=_read(paths.curation_metrics, json.loads),
        gap=_read(paths.gap, json.loads),
        reject_examples=dict(zip(examples["reject_code"], examples["reject_message"], strict=True)),
    )


def field_type(name: str, spec: dict) -> str:
    """The Frictionless type of a column as curate writes it."""
    if contracts.is_date(spec):
        return "date"
    return FRICTIONLESS_TYPES[curation.WRITTEN_DTYPES.get(name, spec["dtype"])]


def field_descriptor(name: str, spec: dict) -> dict:
    """A Frictionless field for one curated column: type, description, unit and constraints from its checks.

    ValueError for a check with no Frictionless form, so a new rule in the contract cannot go undocumented.
    """
    unknown = set(spec) - _DESCRIPTIVE_KEYS - _CHECKS - _NOT_CARRIED
    if unknown:
        raise ValueError(f"schemas/curated.yaml: column {name}: no Frictionless constraint for {sorted(unknown)}")
    kind = field_type(name, spec)
    bound = int if kind == "integer" else (lambda value: value)
    constraints = {"required": not spec.get("nullable", True)}
    if spec.get("unique"):
        constraints["unique"] = True
    if "str_matches" in spec and kind == "string":  # a date's form is its type
        constraints["pattern"] = spec["str_matches"]
    if "isin" in spec:
        constraints["enum"] = spec["isin"]
    if "in_range" in spec:
        constraints["minimum"] = bound(spec["in_range"]["min_value"])
        constraints["maximum"] = bound(spec["in_range"]["max_value"])
    if "greater_than_or_equal_to" in spec:
        constraints["minimum"] = bound(spec["greater_than_or_equal_to"])
    field = {
        "name": name,
        "type": kind,
        "title": spec["title"],
        "description": " ".join(spec["description"].split()),
        "constraints": constraints,
    }
    if spec.get("unit"):
        field["unit"] = spec["unit"]
    return field


def rejected_fields() -> list[dict]:
    """The fields of rejected.csv, in curate's column order: a record's own columns keep their type and
    description but none of their rules (a rejected row broke one), the reject columns are text."""
    columns = contracts.curated_columns()
    fields = []
    for name in curation.REJECTED_COLUMNS:
        if name in columns:
            field = field_descriptor(name, columns[name])
            field["constraints"] = {"required": name != "name"}  # a row may be rejected for having no name
            field.pop("unit", None)
        else:
            title, description = REJECT_FIELDS[name]
            field = {"name": name, "type": "string", "title": title, "description": description}
            field["constraints"] = {"required": name in ("reject_code", "reject_message")}
        fields.append(field)
    return fields


def spreadsheet_note() -> str:
    """How text cells are written (`spreadsheet_safe_text` in schemas/curated.yaml), in words."""
    rule = contracts.curated_spec()["spreadsheet_safe_text"]
    names = [_CHARACTER_NAMES.get(char, f'"{char}"') for char in rule["formula_start"]]
    characters = f"{', '.join(names[:-1])} or {names[-1]}"
    return " ".join(rule["description"].split()).format(characters=characters, escape=f'"{rule["escape"]}"')


def _resource(name: str, description: str, schema: dict) -> dict:
    return {
        "name": name,
        "path": Path(LAYOUT[name]).name,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "description": description,
        # Empty cells are missing values; nothing else is (pandas' "NA" or "null" would be names here).
        "schema": {**schema, "missingValues": [""]},
    }


def datapackage(version: str) -> dict:
    """The Data Package descriptor of models.csv and rejected.csv for a dataset version: licence, sources, the
    field schemas."""
    fields = [field_descriptor(name, spec) for name, spec in contracts.curated_columns().items()]
    return {
        "profile": "tabular-data-package",
        "name": "mlsizes-notable-ml-systems",
        "title": "Notable machine-learning systems and their sizes (curated by mlsizes)",
        "version": version,
        "licenses": [LICENSE],
        "sources": [{"title": "Epoch AI, Data on AI Models", "path": "https://epoch.ai/data/ai-models"}],
        "description": "Curated from Epoch AI's public dataset of notable AI models. Attribution: " + CITATION,
        "keywords": ["machine learning", "model size", "parameters", "training compute", "Epoch AI"],
        "resources": [
            _resource("models", spreadsheet_note(), {"fields": fields, "primaryKey": ["id"]}),
            _resource(
                "rejected",
                "Raw rows that did not become records, each with a reason code and a message. " + spreadsheet_note(),
                {"fields": rejected_fields()},
            ),
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


def size_category(count: int) -> str:
    """The Hugging Face `size_categories` bucket of a row count: n<1K, 1K<n<10K, ..., n>1T."""
    for position, label in enumerate(_SIZE_LABELS):
        if count < 10 ** (3 + position):
            return f"{_SIZE_LABELS[position - 1]}<n<{label}" if position else f"n<{label}"
    return "n>1T"


def _md(text) -> str:
    """Text from the data or the contract as one Markdown table cell or sentence: no HTML, links or breaks."""
    escaped = html.escape(" ".join(str(text).split()), quote=False)
    return re.sub(r"([\\`*_\[\]|])", r"\\\1", escaped)


def front_matter(curation: dict) -> dict:
    """The YAML header a dataset hub (Hugging Face) reads: licence, name, size, the two tables as configs."""
    return {
        "license": "cc-by-4.0",
        "pretty_name": contracts.curated_spec()["title"],
        "language": ["en"],
        "size_categories": [size_category(curation["curated"])],
        "tags": ["machine-learning", "model-size", "parameters", "training-compute", "epoch-ai", "tabular"],
        "configs": [
            {
                "config_name": name,
                "data_files": [{"split": "train", "path": Path(LAYOUT[name]).name}],
                **({"default": True} if name == "models" else {}),
            }
            for name in ("models", "rejected")
        ],
    }


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _column_rows(fields: list[dict]) -> list[str]:
    rows = ["| column | title | type | unit | description |", "|---|---|---|---|---|"]
    for field in fields:
        cells = [
            f"`{field['name']}`",
            field.get("title", ""),
            field["type"],
            field.get("unit", ""),
            field["description"],
        ]
        rows.append("| " + " | ".join([cells[0], *map(_md, cells[1:])]) + " |")
    return rows


def _selection(curation: dict, examples: dict[str, str]) -> list[str]:
    marking = contracts.raw_columns()["notability_criteria"].get("empty_means_not_notable", [])
    reasons = curation["rejected_by_reason"]
    lines = [
        "Records are the systems Epoch AI counts as notable; `notability_criteria` says by which criterion. In "
        f"snapshots whose notability column is spelled {', '.join(marking)}, an empty criterion means Epoch does "
        "not count the system as notable, and curate rejects the row as `not_notable`. Systems contributed here "
        "(`mlsizes add-model`) join them, and contributed corrections change fields of existing records.",
        "",
        f"From snapshot `{curation['snapshot']}` ({curation['snapshot_date']}): "
        f"{_count(curation['raw_rows'], 'upstream row')} and "
        f"{_count(curation['contribution_rows'], 'contribution file')} "
        f"({_count(curation['corrections_applied'], 'correction')} applied) gave "
        f"{_count(curation['curated'], 'record')}; {_count(curation['rejected'], 'row')} rejected. Every input "
        "row is in exactly one of models.csv and rejected.csv (checked before anything is written).",
    ]
    if reasons:
        lines += ["", "| reason | rows | example |", "|---|---|---|"]
        lines += [f"| `{code}` | {count} | {_md(examples.get(code, ''))} |" for code, count in reasons.items()]
    return lines


def _limits(curation: dict) -> list[str]:
    columns = contracts.curated_columns()
    share = curation["share_with_parameters"]
    return [
        f"- **Sizes are often unknown.** {curation['with_parameters']} of {curation['curated']} records "
        f"({share:.0%}) have a parameter count; `parameters_missing_reason` says why the others are empty: "
        f"{_md(columns['parameters_missing_reason']['description'])}",
        f"- **Dates are not all exact.** {_md(columns['publication_date']['description'])} `date_precision` "
        f"({', '.join(columns['date_precision']['isin'])}): {_md(columns['date_precision']['description'])}",
        f"- **Estimates carry Epoch's confidence.** `confidence` ({', '.join(columns['confidence']['isin'])}): "
        f"{_md(columns['confidence']['description'])} An empty cell means upstream gave none.",
        f"- **Curation changed some values.** {_count(curation['recoded_records'], 'record')} recoded "
        f"(`curation_notes` says how) and {_count(curation['corrections_applied'], 'correction')} contributed here "
        "applied "
        "(`field_sources` names them); everything else is as Epoch published it, errors included.",
        f"- **Text cells are spreadsheet-safe.** {_md(spreadsheet_note())}",
    ]


def _gap_lines(gap: dict) -> list[str]:
    lower, upper = gap["gap"]
    first = next(iter(gap["tests"].values()))
    return [
        f"The study of the 2022 paper on this version (as of {gap['as_of']}): how many systems published from "
        f"{first['test_start']} have {size_words(lower)}-{size_words(upper)} parameters ({gap['bounds']} bounds), "
        f"against a log-normal trend fitted from {first['fit_start']}. P(K<=obs) is the chance of so few under "
        "the trend; the full method, every check and the sensitivity to the bounds are in `reports/report.md`.",
        "",
        *text.gap_table(gap),
        "",
        "Has the gap been closing?",
        "",
        *text.closing_lines(gap["windows"]["answer"]),
    ]


def card(version: str, curation: dict, gap: dict, reject_examples: dict[str, str]) -> str:
    """The dataset card: YAML front matter for a dataset hub, then what a record is, how records are selected,
    every column, known limits, the gap result, how to cite and how to load."""
    spec = contracts.curated_spec()
    header = yaml.safe_dump(front_matter(curation), sort_keys=False, allow_unicode=True)
    lines = [
        "---",
        header.rstrip(),
        "---",
        "",
        f"# {spec['title']}",
        "",
        f"Dataset version **{version}**, built from Epoch AI's snapshot `{curation['snapshot']}` "
        f"({curation['snapshot_date']}) by mlsizes. Generated by `mlsizes metadata` "
        "from the contract (`schemas/curated.yaml`) and the pipeline's metrics; do not edit by hand.",
        "",
        "## What a record is",
        "",
        f"One row of `models.csv` is one notable machine-learning system: {_count(curation['curated'], 'record')}, "
        "keyed by a stable `id` (see the columns below). Each has its domains from a controlled vocabulary, "
        "organization, publication date, parameter count and training compute where known, and where the record "
        "and each corrected field came from. `rejected.csv` holds every raw row that is not a record, with why.",
        "",
        "## Selection",
        "",
        *_selection(curation, reject_examples),
        "",
        "## Columns of models.csv",
        "",
        *_column_rows([field_descriptor(name, column) for name, column in spec["columns"].items()]),
        "",
        "## Columns of rejected.csv",
        "",
        *_column_rows(rejected_fields()),
        "",
        "`datapackage.json` (Frictionless Data Package) and `codebook.csv` describe the same columns for tools.",
        "",
        "## Known limits",
        "",
        *_limits(curation),
        "",
        "## The parameter gap in this version",
        "",
        *_gap_lines(gap),
        "",
        "## How to cite",
        "",
        f"The data is Epoch AI's, under [{LICENSE['title']}]({LICENSE['path']}); credit it as:",
        "",
        f"> {CITATION}",
        "",
        f"and the study as {PAPER}. To cite mlsizes and this curated version, see `CITATION.cff`.",
        "",
        "## How to load",
        "",
        "```python",
        "import mlsizes",
        "df = mlsizes.load()                                       # the newest release, typed from the contract",
        'old = mlsizes.load(version="2022.06.30", repo=".")        # any release, from a clone\'s git history',
        "",
        "import pandas as pd",
        'df = pd.read_csv("models.csv", keep_default_na=False, na_values=[""])   # the file as it is',
        "```",
        "",
        "`mlsizes.load` also undoes the spreadsheet escape of text cells; `pandas.read_csv` keeps it.",
        "",
    ]
    return "\n".join(lines)


def process(inputs: Inputs) -> Metadata:
    """The three files for these inputs; the same inputs give the same bytes (no date of today)."""
    return Metadata(
        datapackage=datapackage(inputs.version),
        codebook=codebook(),
        card=card(inputs.version, inputs.curation, inputs.gap, inputs.reject_examples),
    )


def save(metadata: Metadata, paths: Paths) -> list[Path]:
    """Write datapackage.json, codebook.csv and README.md beside the curated table, each whole or not at all."""
    refuse_unwritable([paths.datapackage, paths.codebook, paths.dataset_card])
    atomic_write_text(paths.datapackage, json.dumps(metadata.datapackage, indent=2) + "\n")
    atomic_write_text(paths.codebook, metadata.codebook)
    atomic_write_text(paths.dataset_card, metadata.card)
    return [paths.datapackage, paths.codebook, paths.dataset_card]


@dataclass(frozen=True)
class MetadataSettings:
    """The version the files name: dataset.yaml's, unless a release being made names its own."""

    version: str | None = None


def run(paths: Paths, settings: MetadataSettings = MetadataSettings()) -> list[Path]:
    """Read the inputs, build the three files and write them; a missing input writes nothing."""
    inputs = load(paths)
    if settings.version is not None:
        inputs = dataclasses.replace(inputs, version=settings.version)
    return save(process(inputs), paths)
