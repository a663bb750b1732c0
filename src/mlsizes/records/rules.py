"""The checks a contribution must pass beyond its own values, against the records that exist: a correction must
target a record and must not give it another record's name or a value the curated contract refuses; a new model
must not take an id or look like an existing record. `mlsizes validate` and `add-model` refuse such a file, and
curate rejects it as a whole (a row in rejected.csv naming the file), so the two cannot disagree and a bad file
never changes or removes a record.

A contribution published after the dataset's as-of date is no problem: it is curated and marked (ahead_note), and
the analysis, which takes systems up to the as-of date, leaves it out until a release's as-of date reaches it.
validate and add-model say so with the same words curate writes into the record's curation notes."""

from __future__ import annotations

import datetime as dt
import difflib
import re

import numpy as np
import pandas as pd

from mlsizes.core import untrusted
from mlsizes.core.paths import LAYOUT
from mlsizes.core.untrusted import FieldError, Problems
from mlsizes.records import contribution_files

_PARENTHESISED = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# Likely duplicates: names this similar (with the same numbers), or one organization, dates and sizes this close.
NAME_SIMILARITY = 0.9
SAME_RELEASE_DAYS = 31
SAME_SIZE = 0.05
MIN_ORGANIZATION = 4  # shorter skeletons (`ai`, `fb`) are inside too many other names to mean the same organization
# The columns that tell one model from another (what lookalikes compares).
IDENTITY_COLUMNS = ("name", "organization", "publication_date", "parameters")
# The columns of the existing records that model_problems and correction_problems read (describe names the source).
COMPARED_COLUMNS = ("id", "source", *IDENTITY_COLUMNS)
# The field a curated column comes from, where the names differ.
SCHEMA_FIELDS = {
    "primary_domain": "domains",
    "date_precision": "publication_date",
    "parameters_missing_reason": "parameters",
}


def name_keys(name: str) -> tuple[str, str]:
    """A name as duplicate detection compares it: its skeleton (untrusted.skeleton: case, punctuation, accents
    and Cyrillic or Greek look-alikes ignored), and the same without bracketed parts."""
    full = untrusted.skeleton(name)
    return full, untrusted.skeleton(_PARENTHESISED.sub(" ", name)) or full


# The columns with_name_keys adds: each name's keys (name_keys) and the digits of its full key.
NAME_KEY_COLUMNS = ["_name_key", "_bare_name_key", "_name_digits"]
_KEY_CHUNK = 20_000
_BRACKETED_IN_JOINED = re.compile(rb"\([^)\x00]*\)|\[[^\]\x00]*\]")  # _PARENTHESISED within one name of a join
_LETTERS = bytes(range(ord("a"), ord("z") + 1))
_NOT_IN_KEY = bytes(set(range(256)) - set(b"abcdefghijklmnopqrstuvwxyz0123456789\x00"))


def name_key_table(names: pd.Series) -> pd.DataFrame:
    """name_keys of every name (missing: ""), and the digits of each full key, in the NAME_KEY_COLUMNS.

    curate compares every contributed model with every record, a million of them in a large snapshot: the keys
    are made once, and an ASCII name's skeleton is its letters and digits in lower case, so those are cut from
    the names joined a chunk at a time (bytes.translate); names with other characters go through name_keys one by
    one."""
    texts = [name if isinstance(name, str) else "" for name in names.tolist()]
    keys = {column: [] for column in NAME_KEY_COLUMNS}
    for start in range(0, len(texts), _KEY_CHUNK):
        chunk = texts[start : start + _KEY_CHUNK]
        joined = "\x00".join(chunk)
        if joined.count("\x00") != len(chunk) - 1:  # a NUL inside a name: one by one
            full, bare = (list(keys) for keys in zip(*map(name_keys, chunk)))
        else:
            full, bare = (keys.decode().split("\x00") for keys in _joined_keys(joined))
            for position in [] if joined.isascii() else [i for i, name in enumerate(chunk) if not name.isascii()]:
                full[position], bare[position] = name_keys(chunk[position])
            bare = [b or f for b, f in zip(bare, full)]
        keys["_name_key"] += full
        keys["_bare_name_key"] += bare
        keys["_name_digits"] += _key_digits("\x00".join(full)).split("\x00")
    return pd.DataFrame(keys, index=names.index, dtype=object)


def _joined_keys(joined: str) -> tuple[bytes, bytes]:
    """The full and the bare keys of ASCII names joined by NUL, joined by NUL (a name with other characters, or
    with a NUL in it, gets something else: see name_keys)."""
    lowered = joined.encode().lower()
    return lowered.translate(None, _NOT_IN_KEY), _BRACKETED_IN_JOINED.sub(b" ", lowered).translate(None, _NOT_IN_KEY)


def _may_share_keys(chunk: list[str], keys: set[str], digits: set[str]) -> bool:
    """Whether a name of the chunk may have one of these name keys (full or bare) or key digits: never False for
    one that has. ASCII names are looked for in their keys joined (a search in C, no key made per name), the
    others keyed one by one."""
    joined = "\x00".join(chunk)
    if joined.count("\x00") != len(chunk) - 1:  # a NUL inside a name
        return True
    full, bare = (b"\x00" + joined_keys + b"\x00" for joined_keys in _joined_keys(joined))
    numbers = full.translate(None, _LETTERS)
    if any(f"\x00{key}\x00".encode() in full or f"\x00{key}\x00".encode() in bare for key in keys) or any(
        f"\x00{number}\x00".encode() in numbers for number in digits
    ):
        return True
    others = [] if joined.isascii() else [name_keys(name) for name in chunk if not name.isascii()]
    return any({key, bare_key} & keys or _key_digits(key) in digits for key, bare_key in others)


def _key_digits(key: str) -> str:
    """What name_key_table keeps of a key as its digits: the key less its letters a to z."""
    return key.encode().translate(None, _LETTERS).decode()


def with_name_keys(records: pd.DataFrame) -> pd.DataFrame:
    """Records with their name keys attached (name_key_table): lookalikes then compares with them as they are."""
    return pd.concat([records, name_key_table(records["name"])], axis=1)


def _attached_keys(records: pd.DataFrame) -> pd.DataFrame | None:
    """The name keys with_name_keys attached to the records, if it did."""
    return records[NAME_KEY_COLUMNS] if NAME_KEY_COLUMNS[0] in records else None


def similar_names(name: str, names: pd.Series, keys: pd.DataFrame | None = None) -> pd.Series:
    """Which names are likely the same model's: equal keys (`gpt3 175b davinci`, `GРТ-3 175B` and `GPT-3 175B
    (davinci)` all match), or the same numbers in the same order and a 90% similar spelling (a typo).

    `keys`: name_key_table of the names, when already made."""
    full, bare = name_keys(name)
    if not full:
        return pd.Series(False, index=names.index)
    keys = name_key_table(names) if keys is None else keys
    others, other_bare, digits = (keys[column].to_numpy() for column in NAME_KEY_COLUMNS)
    same = (others != "") & ((others == full) | (other_bare == bare))
    # A spelling 90% similar needs the same numbers (so the same digits), and lengths close enough that the
    # ratio can reach 90% (SequenceMatcher's real_quick_ratio, its upper bound): only those few are compared.
    numbers = re.findall(r"\d+", full)
    for i in np.flatnonzero((digits == "".join(numbers)) & ~same & (others != "")):
        other = others[i]
        same[i] = (
            2.0 * min(len(other), len(full)) / (len(other) + len(full)) >= NAME_SIMILARITY
            and re.findall(r"\d+", other) == numbers
            and difflib.SequenceMatcher(None, full, other).ratio() >= NAME_SIMILARITY
        )
    return pd.Series(same, index=names.index)


def _organizations(text: object) -> set[str]:
    return {untrusted.skeleton(part) for part in text.split(",")} - {""} if isinstance(text, str) else set()


def same_organization(ours: set[str], theirs: set[str]) -> bool:
    """Whether two organization lists share one, a reworded name included: one contains the other
    (`OpenAI LP` and `OpenAI`, `Google DeepMind` and `DeepMind`), for names of at least MIN_ORGANIZATION letters."""
    return any(a == b or (min(len(a), len(b)) >= MIN_ORGANIZATION and (a in b or b in a)) for a in ours for b in theirs)


def lookalikes(row: dict, existing: pd.DataFrame) -> pd.DataFrame:
    """Existing records that are likely the model of `row` (whichever of its fields parsed): a similar name, or a
    shared organization, a date within a month and a parameter count within 5%. Records that carry their name
    keys (with_name_keys) are compared with those."""
    likely = np.zeros(len(existing), dtype=bool)
    if "name" in row:
        likely |= similar_names(row["name"], existing["name"], _attached_keys(existing)).to_numpy()
    if {"organization", "publication_date", "parameters"} <= row.keys():
        # Sizes first, then dates, then organizations, each on the records left: few have all three close.
        sizes = existing["parameters"].astype(float).to_numpy()
        close = np.flatnonzero(np.abs(sizes - row["parameters"]) <= SAME_SIZE * np.maximum(sizes, row["parameters"]))
        dates = pd.to_datetime(existing["publication_date"].iloc[close], errors="coerce")
        days = (dates - pd.Timestamp(row["publication_date"])).dt.days.abs().to_numpy()
        close = close[days <= SAME_RELEASE_DAYS]
        organizations = _organizations(row["organization"])
        theirs = existing["organization"].iloc[close].tolist()
        likely[close] |= np.array([same_organization(organizations, _organizations(t)) for t in theirs], dtype=bool)
    return existing[likely]


def near(rows: list[dict], existing: pd.DataFrame) -> pd.DataFrame:
    """The existing records that may have the id of one of the rows or look like it (lookalikes), with their name
    keys (with_name_keys): those sharing its id, a name key or the digits of its name, or with a size within
    SAME_SIZE. Each record is judged alone, so comparing a row with these few finds what comparing it with
    all would.

    The keys of a million names take a second to make: they are made only for the chunks of names where
    _may_share_keys finds a row's key or digits."""
    keys = [name_keys(row["name"]) for row in rows if "name" in row]
    keys = [(full, bare) for full, bare in keys if full]
    fulls, bares = {full for full, _ in keys}, {bare for _, bare in keys}
    digits = {"".join(re.findall(r"\d+", full)) for full, _ in keys}
    close = existing["id"].isin([row["id"] for row in rows if "id" in row]).to_numpy(copy=True)
    names = [name if isinstance(name, str) else "" for name in existing["name"].tolist()]
    for start in range(0, len(names), _KEY_CHUNK):
        chunk = names[start : start + _KEY_CHUNK]
        if _may_share_keys(chunk, fulls | bares, digits):
            table = name_key_table(pd.Series(chunk))
            shared = table["_name_key"].isin(fulls) | table["_bare_name_key"].isin(bares)
            close[start : start + len(chunk)] |= (shared | table["_name_digits"].isin(digits)).to_numpy()
    sizes = existing["parameters"].astype(float).to_numpy()
    for row in rows:
        if {"organization", "publication_date", "parameters"} <= row.keys():
            close |= np.abs(sizes - row["parameters"]) <= SAME_SIZE * np.maximum(sizes, row["parameters"])
    return with_name_keys(existing[close])


def describe(row) -> str:
    """A record as messages name it: id, name, organization, date, size and source."""
    organization = row["organization"] if isinstance(row["organization"], str) else "no organization"
    size = f"{row['parameters']:.4g} parameters, " if pd.notna(row["parameters"]) else ""
    return f"{row['id']} ({row['name']}, {organization}, {row['publication_date']}, {size}{row['source']})"


def model_problems(
    row: dict, existing: pd.DataFrame, id_field: str, distinct: tuple[str, ...] = ()
) -> tuple[list[FieldError], pd.DataFrame]:
    """What refuses a new model beyond its own values (its id taken), and the existing records it likely
    duplicates, less those it declares distinct (add-model refuses those unless --force-new)."""
    errors = []
    taken = existing[existing["id"] == row.get("id")]
    if len(taken):
        errors.append(
            FieldError(
                id_field,
                "duplicate_id",
                f"id {row['id']!r} is taken by {describe(taken.iloc[0])}; "
                f"to change that record use --correct {row['id']}, to add a different model give it "
                "a more specific name",
                row["id"],
            )
        )
    # Each record is judged alone, so the records with the id are left out of the lookalikes found among all.
    similar = lookalikes(row, existing)
    similar = similar[~similar.index.isin(taken.index)]
    return errors, similar[~similar["id"].isin(distinct)]


def likely_duplicate(similar: pd.DataFrame) -> FieldError:
    """The refusal of a model that looks like existing records: the first of them, and how to correct it or add
    the model anyway (--force-new)."""
    first = similar.iloc[0]
    more = f" (and {len(similar) - 1} more: {', '.join(similar['id'].iloc[1:4])})" if len(similar) > 1 else ""
    return FieldError(
        "name",
        "likely_duplicate",
        f"looks like existing record {describe(first)}{more}; to change it use --correct "
        f"{first['id']}; if yours is a different model, pass --force-new (in a file: "
        f"`{contribution_files.DISTINCT_FROM}: [{first['id']}]`)",
    )


def correction_problems(correction: contribution_files.Correction, existing: pd.DataFrame) -> list[FieldError]:
    """What refuses a correction beyond its own values: no record to correct, a new name that is another
    record's (a record cannot take another's name), or new values that make the record look like another one
    it did not look like before (a record cannot duplicate another)."""
    if correction.target is None:
        return []
    problems = Problems()
    target = existing[existing["id"] == correction.target]
    if target.empty:
        return [missing_target(correction.target)]
    others = existing[existing["id"] != correction.target]
    if "name" in correction.values:
        name = correction.values["name"]["name"]
        same = others[similar_names(name, others["name"], _attached_keys(others))]
        if len(same):
            problems.errors.append(
                FieldError(
                    "name",
                    "name_taken",
                    f"{name!r} is the name of record {describe(same.iloc[0])}: a record cannot take another's name",
                    name,
                )
            )
    identity = {
        column: value
        for field, columns in correction.values.items()
        for column, value in columns.items()
        if column in IDENTITY_COLUMNS
    }
    if identity and not problems.errors:
        record = target.iloc[0].to_dict()
        before = set(lookalikes(record, others)["id"])
        after = lookalikes(record | identity, others)
        after = after[~after["id"].isin(before)]
        if len(after):
            problems.errors.append(
                FieldError(
                    next(field for field, columns in correction.values.items() if identity.keys() & columns.keys()),
                    "likely_duplicate",
                    f"the corrected record would look like existing record {describe(after.iloc[0])}: "
                    "a record cannot become a copy of another",
                )
            )
    return problems.errors


def missing_target(target: str) -> FieldError:
    """The refusal of a correction whose target no record has."""
    return FieldError(
        "correct",
        "correction_target_missing",
        f"no record has id {target!r} (see the id column of {LAYOUT['models']}, or "
        f"{LAYOUT['contributions_dir']}/<id>.yaml)",
        target,
    )


def schema_errors(failures: pd.DataFrame) -> list[FieldError]:
    """The curated contract's record failures (contracts.record_failures) as refusals, one per column, named by
    the field a contributor writes."""
    return [
        FieldError(
            SCHEMA_FIELDS.get(case.column, case.column),
            f"invalid_{case.column}",
            f"{case.failure_case!r} fails {case.check} (schemas/curated.yaml)",
            case.failure_case,
        )
        for case in failures.drop_duplicates("column").itertuples()
    ]


def ahead_note(as_of: dt.date) -> str:
    """The curation note of a contributed record published after the as-of date: curated, not yet analysed."""
    return (
        f"published after the as-of date {as_of.isoformat()}: left out of the analysis until a release's "
        "as-of date reaches it"
    )
