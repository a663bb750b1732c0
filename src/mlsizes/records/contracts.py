"""Load the declarative contracts in `schemas/` and apply them.

The files in `schemas/` are the single source of truth for what a valid record is: this module only reads
them (pandera's YAML format plus the keys pandera ignores: `aliases`, `unit`, `source`) and turns pandera's
failure cases into per-record rejections. No rule is restated here.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mlsizes.core import untrusted
from mlsizes.core.errors import UnreadableFile
from mlsizes.core.paths import SCHEMA_DIR
from mlsizes.tables.columns import repetitive


@functools.cache
def _read_yaml(name: str) -> dict:
    """A contract, read as untrusted: a pull request can change it (schemas/ ships through a link, followed).
    Its outline is checked before any code indexes it, so a contract of the wrong shape is one line naming it."""
    path = SCHEMA_DIR / name
    spec = untrusted.load_file(path)
    key, kind = _OUTLINE[name]
    entries = spec.get(key)
    if not isinstance(entries, kind) or not all(
        isinstance(entry, dict) for entry in (entries.values() if isinstance(entries, dict) else entries)
    ):
        raise UnreadableFile(f"{path}: `{key}` must be a {'mapping' if kind is dict else 'list'} of mappings")
    if name == "domains.yaml" and not (
        all(isinstance(entry.get("name"), str) for entry in entries)
        and isinstance(spec.get("aliases") or {}, dict)
        and all(isinstance(value, str) for value in (spec.get("aliases") or {}).values())
    ):
        raise UnreadableFile(f"{path}: every vocabulary entry needs a text `name`, and `aliases` maps text to text")
    return spec


# What every contract holds at its top, checked as it is read: the key and the kind of its entries.
_OUTLINE = {
    "domains.yaml": ("vocabulary", list),
    "raw.yaml": ("columns", dict),
    "curated.yaml": ("columns", dict),
    "chips.yaml": ("columns", dict),
}


@dataclass(frozen=True)
class Vocabulary:
    """The controlled domain vocabulary, in priority order, and the upstream spellings that mean its entries."""

    names: tuple[str, ...]
    aliases: dict[str, str]

    def canonical(self, label: str) -> str | None:
        """The vocabulary entry a label means (case-insensitive, aliases applied), or None if it is unknown."""
        key = label.strip().casefold()
        for alias, target in self.aliases.items():
            if alias.casefold() == key:
                return target
        for name in self.names:
            if name.casefold() == key:
                return name
        return None

    def suggest(self, label: str) -> str | None:
        """The entry an unknown label was most likely meant to be (a typo), or None if none is close."""
        by_key = {name.casefold(): name for name in self.names}
        close = difflib.get_close_matches(label.strip().casefold(), list(by_key), n=1, cutoff=0.6)
        return by_key[close[0]] if close else None

    def order(self, names) -> list[str]:
        """Distinct entries sorted by vocabulary priority (the first is the primary domain)."""
        return sorted(set(names), key=self.names.index)

    def domains_pattern(self) -> str:
        """Regex for a comma-separated list of vocabulary entries."""
        one = "|".join(re.escape(name) for name in self.names)
        return rf"^({one})(,({one}))*$"


@functools.cache
def vocabulary() -> Vocabulary:
    """The domain vocabulary and its aliases, from `schemas/domains.yaml`."""
    spec = _read_yaml("domains.yaml")
    names = tuple(entry["name"] for entry in spec["vocabulary"])
    return Vocabulary(names=names, aliases=dict(spec.get("aliases") or {}))


def raw_columns() -> dict[str, dict]:
    """Canonical raw column name -> its spec (aliases, required) from `schemas/raw.yaml`."""
    return _read_yaml("raw.yaml")["columns"]


def curated_spec() -> dict:
    """`schemas/curated.yaml` with the domain vocabulary of `schemas/domains.yaml` attached as checks."""
    spec = copy.deepcopy(_read_yaml("curated.yaml"))
    vocab = vocabulary()
    spec["columns"]["primary_domain"]["isin"] = list(vocab.names)
    spec["columns"]["domains"]["str_matches"] = vocab.domains_pattern()
    return spec


def curated_columns() -> dict[str, dict]:
    """Curated column name -> its spec (title, description, unit, source, dtype, checks), in table order."""
    return curated_spec()["columns"]


@functools.cache
def raw_schema():
    """The raw pandera schema of `schemas/raw.yaml`."""
    import pandera.pandas as pa

    # From the checked reader's mapping: pandera given the path would parse the file with its own YAML loader.
    return pa.DataFrameSchema.from_yaml(yaml.safe_dump(_read_yaml("raw.yaml"), sort_keys=False))


def validate_raw(table: pd.DataFrame) -> None:
    """Check a snapshot's renamed text table against `schemas/raw.yaml` (pandera's SchemaError if it fails).

    A schema that states only columns and their types (no value checks, every column nullable, none unique)
    gives the same verdict on the table's header as on all its rows, so a million-row file is checked on its
    header; a value rule added to raw.yaml makes every row checked again.
    """
    schema = raw_schema()
    rows_matter = (
        schema.checks
        or schema.unique
        or schema.coerce
        or any(
            column.checks or not column.nullable or column.unique or column.coerce for column in schema.columns.values()
        )
    )
    schema.validate(table if rows_matter else table.iloc[:0])


@functools.cache
def curated_schema():
    """The curated pandera schema, vocabulary included (see curated_spec)."""
    import pandera.pandas as pa

    return pa.DataFrameSchema.from_yaml(yaml.safe_dump(curated_spec(), sort_keys=False))


def is_date(spec: dict) -> bool:
    """Whether a curated column holds dates: text whose range bounds are ISO dates (written YYYY-MM-DD)."""
    bounds = spec.get("in_range", {})
    if spec["dtype"] != "str" or not bounds:
        return False
    try:
        return all(dt.date.fromisoformat(str(bounds[key])) for key in ("min_value", "max_value"))
    except ValueError:
        return False


def curated_dtypes() -> dict[str, str]:
    """Curated column -> pandas dtype, as the schema declares them."""
    return {name: spec["dtype"] for name, spec in curated_columns().items()}


def check_table_file(path: Path) -> None:
    """UnreadableFile naming a table path that is no regular file (a FIFO would block its reader); a missing one
    is left to its reader to report."""
    try:
        untrusted.regular_file(Path(path), follow_links=True)
    except FileNotFoundError:
        return
    except untrusted.FieldError as exc:
        raise UnreadableFile(f"{path}: {exc.message}") from None


def read_curated(path: Path) -> pd.DataFrame:
    """Read a curated CSV with the dtypes its schema declares (so an empty cell stays missing, not ''); a path that
    is no regular file is an UnreadableFile naming it (check_table_file)."""
    if isinstance(path, (str, Path)):
        check_table_file(path)
    dtypes = curated_dtypes()
    return pd.read_csv(
        path,
        dtype={c: ("str" if t == "str" else t) for c, t in dtypes.items()},
        keep_default_na=False,
        na_values={c: [""] for c in dtypes},
    )


# Checks whose verdict on a cell depends on that cell alone, so they may run once per distinct value.
_CELL_CHECKS = frozenset(
    {
        "equal_to",
        "greater_than",
        "greater_than_or_equal_to",
        "in_range",
        "isin",
        "less_than",
        "less_than_or_equal_to",
        "not_equal_to",
        "notin",
        "str_contains",
        "str_endswith",
        "str_length",
        "str_matches",
        "str_startswith",
    }
)
FAILURE_COLUMNS = ["index", "column", "check", "failure_case"]


def record_failures(frame: pd.DataFrame, schema) -> pd.DataFrame:
    """Validate lazily and return one row per failed check: index (row label), column, check, value.

    Failures that concern the whole table (a missing column, a wrong dtype) have no row label; they mean the
    code that built the frame is wrong, so they raise instead of being reported as bad records.

    The schema is applied in full, but no cell is checked twice: the table's shape and dtypes are checked on
    its header, and a text column whose rules are all per cell (no `unique`, only checks in _CELL_CHECKS) and
    whose values repeat is checked once per distinct value, each failure then reported for every row holding
    that value. Upstream columns repeat a lot, and pandera's text checks run a Python call per cell: most of its
    time on a million rows.
    """
    if schema.checks or schema.unique or schema.coerce or any(c.regex or c.coerce for c in schema.columns.values()):
        return _sorted_failures(_failure_cases(frame, schema, schema.name))
    import pandera.pandas as pa

    def per_value(name: str, column) -> bool:  # text checks on a column that repeats (numbers are vectorised)
        checks = {check.name for check in column.checks}
        numeric = name in frame and pd.api.types.is_numeric_dtype(frame[name].dtype)
        if not checks or not checks <= _CELL_CHECKS or column.unique or numeric or name not in frame:
            return False
        return repetitive(frame[name])  # names are mostly unique: finding distinct values would not pay

    whole = {name: column for name, column in schema.columns.items() if not per_value(name, column)}
    if len(whole) == len(schema.columns):  # no column checked per value (a few rows): one pass checks it all
        return _sorted_failures(_failure_cases(frame, schema, schema.name))
    found = [
        _failure_cases(frame.iloc[:0], schema, schema.name),
        _failure_cases(frame[list(whole)], pa.DataFrameSchema(whole, name=schema.name), schema.name),
    ]
    for name, column in schema.columns.items():
        if name in whole:
            continue
        values = frame[name]
        codes, distinct = pd.factorize(values, use_na_sentinel=False)
        firsts = np.full(len(distinct), len(codes))  # each distinct value's first row
        np.minimum.at(firsts, codes, np.arange(len(codes)))
        one = pa.DataFrameSchema({name: column}, name=schema.name)
        cases = _failure_cases(values.iloc[firsts].reset_index(drop=True).to_frame(), one, schema.name)
        if len(cases):  # each distinct value's failures, for every row that holds it
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(firsts) + 1))
            rows = [order[bounds[code] : bounds[code + 1]] for code in cases["index"].astype("int64")]
            cases = cases.iloc[np.repeat(np.arange(len(cases)), [len(r) for r in rows])]
            cases["index"] = frame.index.to_numpy()[np.concatenate(rows)]
        found.append(cases)
    return _sorted_failures(pd.concat(found, ignore_index=True))


def _failure_cases(frame: pd.DataFrame, schema, name: str) -> pd.DataFrame:
    """pandera's failure cases of a lazy validation (none: an empty table); a table-level failure raises."""
    import pandera.errors

    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    table_level = cases[cases["index"].isna()]
    if len(table_level):
        first = table_level.iloc[0]
        raise ValueError(f"table does not match schema {name}: {first['check']} ({first['failure_case']})")
    return cases[FAILURE_COLUMNS].copy()


def _sorted_failures(cases: pd.DataFrame) -> pd.DataFrame:
    cases["index"] = cases["index"].astype("int64")
    return cases.sort_values(["index", "column"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# the chip table (schemas/chips.csv, its contract schemas/chips.yaml)

CHIPS_TABLE = SCHEMA_DIR / "chips.csv"


def read_chips(path: Path = CHIPS_TABLE) -> pd.DataFrame:
    """The chip table, typed and checked against schemas/chips.yaml; a table that breaks it is one ValueError
    naming the file, the line and accelerator, the column and the check (the first failure)."""
    import pandera.pandas as pa

    check_table_file(path)
    spec = _read_yaml("chips.yaml")
    columns = spec["columns"]
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values={name: [""] for name in columns})
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path}: not a CSV table ({str(exc).splitlines()[0]})") from None
    if list(frame.columns) != list(columns):
        raise ValueError(f"{path}: columns {', '.join(frame.columns)}; the contract's are {', '.join(columns)}")
    for name, column in columns.items():  # numbers from their text; a cell that is none is named here
        if column["dtype"] == "str":
            continue
        numbers = pd.to_numeric(frame[name], errors="coerce")
        whole = column["dtype"].startswith("int")
        bad = numbers.isna() | (numbers % 1 != 0 if whole else False)
        if bad.any():
            row = int(bad.to_numpy().argmax())
            value = frame.at[row, name]
            reason = "empty" if pd.isna(value) else f"{value!r} is not {'a whole number' if whole else 'a number'}"
            raise ValueError(f"{_chip_row(path, frame, row)}: {name}: {reason}")
        frame[name] = numbers.astype(column["dtype"])
    failures = record_failures(frame, pa.DataFrameSchema.from_yaml(yaml.safe_dump(spec, sort_keys=False)))
    if len(failures):
        first = failures.iloc[0]
        raise ValueError(
            _chip_row(path, frame, int(first["index"])) + f": {first['column']}: fails {first['check']} "
            f"({first['failure_case']!r})"
        )
    return frame


def _chip_row(path: Path, frame: pd.DataFrame, row: int) -> str:
    """A row of the chip table as its line in the file and its accelerator."""
    return f"{path}: line {row + 2} ({frame.at[row, 'hardware']})"
