"""Contribution files: models people add that upstream lacks, and corrections to existing records.

Layout (one file per record, named by its id, so two contributions never touch the same file):

    data/raw/contributions/<id>.yaml              a model: id, name, organization, domains, date, parameters,
                                                  link (and optionally training compute and notes)
    data/raw/contributions/corrections/<id>.yaml  new values for some fields of record <id>, each with its
                                                  reason and link

The curate stage loads them into the typed-table shape of `ingest.process` (same parsers, same reject columns),
so contributed values meet the same curated schema as upstream ones and a file that cannot be used becomes a
reject row with a reason code instead of stopping the pipeline. `mlsizes add-model` writes these files and
`mlsizes validate` checks them, both through this module.

Anyone can write these files, so nothing in them is trusted: an alias bomb, a symlink to a secret, a 50 MB
field, a duplicate key, a name with a right-to-left override or Cyrillic look-alikes. Files are opened without
following links and size-capped; YAML is composed into text, lists and mappings only (no tags, anchors, aliases,
duplicate or non-text keys, nesting beyond MAX_DEPTH, and none of YAML 1.1's guesses such as `yes` -> True,
`1:30` -> 90 or 2023-02-30 -> a crash): every scalar stays the text it was. Each value's type, length and
characters are checked before a parser decides what it means, and every problem of a file is a FieldError with
a reason code, reported together, never another exception.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, CollectionStartEvent, NodeEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from mlsizes import contracts, ingest
from mlsizes.parse import parse_date, parse_number

CORRECTIONS = "corrections"
# The folder's own files, and a writer's interrupted temporary files (`.*.tmp`, git-ignored): not contributions.
FOLDER_FILES = ("README.md", ".gitignore")
REQUIRED_FIELDS = ("name", "organization", "domains", "publication_date", "parameters", "link")
OPTIONAL_FIELDS = ("training_compute_flop", "parameters_notes")
# Ids of existing records a contributed model resembles but is not (written by `add-model --force-new`).
DISTINCT_FROM = "distinct_from"
MODEL_KEYS = ("id", *REQUIRED_FIELDS, *OPTIONAL_FIELDS, DISTINCT_FROM)
# A correction may change any described value of a record; its link is where the record was published, and
# the evidence for a corrected value goes with the correction instead.
CORRECTABLE_FIELDS = ("name", "organization", "domains", "publication_date", "parameters",
                      "training_compute_flop", "parameters_notes")
CORRECTION_KEYS = ("value", "reason", "link")
MAX_LINK = 1000
# Hosts reserved for documentation (RFC 2606, RFC 6761): a link there is a placeholder, never a source.
_PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = ("example", "invalid", "localhost", "local", "test")
_HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_PLACEHOLDER_REASONS = {"todo", "tbd", "fixme", "xxx", "reason", "the reason", "why", "because", "na", "n a",
                        "none", "placeholder", "see link", "see source", "see above", "fix", "fixed", "update",
                        "updated", "correction", "corrected", "wrong", "typo"}
MAX_FILE_BYTES = 64 * 1024
# A correction is the deepest file: mapping -> fields -> field -> value, reason, link.
MAX_DEPTH = 4
MAX_TEXT = 500
MAX_DIGITS = 30
# YAML 1.2 core's null; every other plain scalar is text.
_NULLS = {"", "~", "null", "Null", "NULL"}
# Latin look-alikes in Cyrillic and Greek (Unicode's confusables, the letters that matter in model names), per case.
_LOOK_ALIKES = str.maketrans(
    "АаВвЕеЅѕІіЈјКкМмНнОоРрСсТтХхУуҮүԀԁԚԛԜԝҺһӀӏ" "ΑαΒβΕεΖζΗηΙιΚκΜμΝνΟοΡρΤτΥυΧχ",
    "AaBbEeSsIiJjKkMmHhOoPpCcTtXxYyYyDdQqWwHhIl" "AaBbEeZzHnIiKkMmNvOoPpTtYuXx",
)


class Invalid(ValueError):
    """Every problem found in one contribution, each a FieldError, so a contributor sees them all at once.

    `partial` is what did parse (a typed row, or a Correction), so later checks can still run on it.
    """

    def __init__(self, errors: list[FieldError], partial: object = None):
        super().__init__("; ".join(str(error) for error in errors))
        self.errors, self.partial = errors, partial


class FieldError(Invalid):
    """A value that cannot enter the dataset: the field it is in, a reason code, and a message for people."""

    def __init__(self, field: str, code: str, message: str, value: object = None):
        self.field, self.code, self.message = field, code, message
        plain = isinstance(value, str) and value.isprintable() and len(value) <= 200
        self.value = None if value is None else value if plain else shown(value, 200)
        super().__init__([self])

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class Problems:
    """Collects the FieldErrors of several independent checks, to raise them together."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    @contextlib.contextmanager
    def check(self):
        try:
            yield
        except Invalid as problem:
            self.errors += problem.errors

    def raise_any(self, partial: object = None) -> None:
        if self.errors:
            raise Invalid(self.errors, partial)


def shown(value: object, limit: int = 80) -> str:
    """A value quoted for a one-line message: control characters escaped, long values cut."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def printable(text: str) -> str:
    """Text fit for one line of output or a CSV cell: as it is, or quoted with its control characters escaped."""
    return text if text.isprintable() else repr(text)


def describe_char(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}"


@dataclass(frozen=True)
class Correction:
    """A parsed correction file: the record it targets and the typed columns each corrected field sets."""

    source: str
    target: str | None
    values: dict[str, dict[str, object]]


@dataclass
class Contributions:
    """Contribution files in typed form: records (and unusable files) as typed rows, corrections to apply."""

    typed: pd.DataFrame
    corrections: list[Correction]


def id_pattern() -> re.Pattern:
    """The record id regex of schemas/curated.yaml: lower-case slugs, so an id never names a path elsewhere."""
    return re.compile(contracts.curated_columns()["id"]["str_matches"])


def check_id(field_name: str, value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or not id_pattern().fullmatch(value):
        why = non_latin(value) if isinstance(value, str) and len(value) <= MAX_TEXT else None
        raise FieldError(field_name, "invalid_id", f"{shown(value)} is not a record id (lower-case letters, digits "
                         "and single hyphens, as in data/curated/models.csv)" + (f"; it has {why}" if why else ""),
                         value)
    return value


def record_path(directory: Path, record_id: str) -> Path:
    return Path(directory) / f"{check_id('id', record_id)}.yaml"


def correction_path(directory: Path, record_id: str) -> Path:
    """Where the corrections of a record live; refused when corrections/ is a link, which could lead anywhere."""
    folder = Path(directory) / CORRECTIONS
    if folder.is_symlink():
        raise FieldError("correct", "symlink", f"{folder} is a symbolic link: make it a real folder first")
    return folder / f"{check_id('correct', record_id)}.yaml"


def shown_name(path: Path) -> str:
    return printable(path.name)


def source_of(path: Path) -> str:
    """The curated `source` of a contribution file: `contribution:` and its path in the folder's layout."""
    prefix = f"{CORRECTIONS}/" if is_correction_file(path) else ""
    return f"contribution:{prefix}{shown_name(path)}"


def is_correction_file(path: Path) -> bool:
    return path.parent.name == CORRECTIONS


def files(directory: Path) -> list[Path]:
    """Every entry of the folder and of its corrections/ folder but the folder's own files and interrupted writes.

    Anything else is listed too, so `read` refuses it with its reason instead of skipping it without a word: a
    misnamed file (`model.yml`), a hidden file, a subfolder, a symbolic link (a linked corrections/ included).
    """
    directory = Path(directory)
    folders = [folder for folder in (directory, directory / CORRECTIONS) if folder.is_dir() and not folder.is_symlink()]
    found = []
    for folder in folders:
        with os.scandir(folder) as entries:
            names = sorted(entry.name for entry in entries)
        found += [folder / name for name in names if folder / name not in folders and name not in FOLDER_FILES
                  and not (name.startswith(".") and name.endswith(".tmp"))]
    return found


def read(path: Path) -> dict:
    """The mapping in a contribution file, read as untrusted text; FieldError if there is none."""
    path = Path(path)
    if path.name.startswith("."):
        raise FieldError("file", "hidden_file", "is hidden: a contribution is a visible <id>.yaml file")
    if is_correction_file(path) and path.parent.is_symlink():
        raise FieldError("file", "symlink", f"is in {CORRECTIONS}/, a symbolic link: contributions are read only "
                         "from real files inside the contributions folder")
    return load_text(_file_text(path))


def _file_text(path: Path) -> str:
    """The text of a regular file, never following a symbolic link and never reading more than MAX_FILE_BYTES."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            raise FieldError("file", "symlink", "is a symbolic link: contributions are read only from real files "
                             "inside the contributions folder")
        if stat.S_ISDIR(mode):
            raise FieldError("file", "nested_folder", "is a folder: contribution files go directly in the "
                             "contributions folder (models) or in corrections/")
        if not stat.S_ISREG(mode):
            raise FieldError("file", "not_a_file", "is not a regular file")
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(MAX_FILE_BYTES + 1) if size <= MAX_FILE_BYTES else b""
    except OSError as exc:
        raise FieldError("file", "unreadable_file", f"cannot be read ({exc.strerror})") from None
    if size > MAX_FILE_BYTES or len(data) > MAX_FILE_BYTES:
        raise FieldError("file", "file_too_large", f"is {max(size, len(data))} bytes; a contribution file is at "
                         f"most {MAX_FILE_BYTES // 1024} KB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FieldError("file", "unreadable_file", f"is not UTF-8 text (byte {exc.start})") from None


class _Composer(Reader, Scanner, Parser, Composer, BaseResolver):
    """PyYAML's parser and composer with no constructor: nodes only, refused as soon as one is not plain data."""

    def __init__(self, text: str):
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)
        self.depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        line = f"line {event.start_mark.line + 1}: "
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor is not None):
            raise FieldError("file", "yaml_alias", line + "anchors and aliases (&, *) are not allowed")
        if getattr(event, "tag", None) is not None:
            raise FieldError("file", "yaml_tag", line + f"tags ({shown(event.tag, 40)}) are not allowed")
        if isinstance(event, CollectionStartEvent) and self.depth >= MAX_DEPTH - 1:
            raise FieldError("file", "too_deep", line + f"nested deeper than {MAX_DEPTH} levels")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _plain(node) -> object:
    """A node as text (None for YAML 1.2's null), a list or a mapping with text keys each given once."""
    if isinstance(node, ScalarNode):
        return None if node.style is None and node.value in _NULLS else node.value
    if isinstance(node, SequenceNode):
        return [_plain(item) for item in node.value]
    mapping = {}
    for key_node, value_node in node.value:
        line = f"line {key_node.start_mark.line + 1}: "
        if not isinstance(key_node, ScalarNode):
            raise FieldError("file", "non_text_key", line + "a key must be text, not a list or mapping")
        if key_node.value in mapping:
            raise FieldError("file", "duplicate_key", line + f"key {shown(key_node.value, 40)} appears twice")
        mapping[key_node.value] = _plain(value_node)
    return mapping


def load_text(text: str) -> dict:
    """The mapping a contribution file holds, as text, lists and mappings; FieldError for anything else."""
    try:
        node = _Composer(text).get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        where = f"line {mark.line + 1}: " if mark else ""
        raise FieldError("file", "unreadable_file", f"not valid YAML ({where}"
                         f"{problem.encode('ascii', 'backslashreplace').decode()})") from None
    if not isinstance(node, MappingNode):
        raise FieldError("file", "unreadable_file", "expected a mapping of field: value")
    return _plain(node)


def _kind(value: object) -> str:
    return {list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def checked_text(field: str, value: object, *, limit: int = MAX_TEXT, free: bool = False) -> str:
    """Checked one-line text (runs of spaces collapsed): type and length first, then no control, format or
    bidirectional character (an invisible one would make two names look alike). `free` text (notes, reasons)
    may break lines and use tabs, which become spaces."""
    if value is None:
        raise FieldError(field, f"missing_{field}", "has no value")
    if not isinstance(value, str):
        raise FieldError(field, f"invalid_{field}", f"expected text, got {_kind(value)}", value)
    if len(value) > limit:
        raise FieldError(field, "too_long", f"is {len(value)} characters long; at most {limit}", value)
    for position, char in enumerate(value, 1):
        category = unicodedata.category(char)
        if (category[0] == "C" or category in ("Zl", "Zp")) and not (free and char.isspace()):
            raise FieldError(field, "control_character", f"has {describe_char(char)} at position {position}: "
                             "control, bidirectional, invisible and line-breaking characters are not allowed",
                             value)
    collapsed = " ".join(value.split())
    if not collapsed:
        raise FieldError(field, f"missing_{field}", "is empty", value)
    return collapsed


def checked_ascii(field: str, value: object, code: str, limit: int = 40) -> str:
    """Checked text for a number or a date: ASCII only, so no Unicode digit is read as one."""
    checked = checked_text(field, value, limit=limit)
    for char in checked:
        if not char.isascii():
            raise FieldError(field, code, f"has {describe_char(char)}: write it with the digits 0-9", value)
    return checked


@functools.lru_cache(maxsize=8192)
def skeleton(name: str) -> str:
    """What a name looks like, for comparing names and ids: NFKC, Cyrillic and Greek look-alikes as Latin,
    accents, case, spaces and punctuation dropped. `GРТ-3 175B` (Cyrillic) and `gpt3 175b` give `gpt3175b`."""
    latin = unicodedata.normalize("NFKC", name).translate(_LOOK_ALIKES)
    return "".join(char for char in unicodedata.normalize("NFKD", latin).casefold()
                   if char.isascii() and char.isalnum())


def non_latin(text: str) -> str | None:
    """The first letter or digit of the text with no Latin form (a slug would drop it), described; else None."""
    for char in text:
        if char.isalnum() and not unicodedata.normalize("NFKD", char)[0].isascii():
            look_alike = char.translate(_LOOK_ALIKES)
            return describe_char(char) + (f", which looks like Latin {look_alike!r}" if look_alike != char
                                          else ", which has no Latin form")
    return None


def _expect_file_name(path: Path, field_name: str, record_id: str) -> None:
    if path.name != f"{record_id}.yaml":
        raise FieldError(field_name, "file_name_mismatch",
                         f"the file of record {record_id!r} must be named {record_id}.yaml, not {shown_name(path)}",
                         path.name)


def _identity_text(field_name: str, value: object) -> str:
    """A name or organization: checked text in NFKC form, so full-width or styled letters become plain ones."""
    return " ".join(unicodedata.normalize("NFKC", checked_text(field_name, value)).split())


def _name(value: object) -> str:
    name = _identity_text("name", value)
    why = non_latin(name)
    if why:
        raise FieldError("name", "non_latin_name", f"has {why}: the record id is made of the name's Latin letters "
                         "and digits, so write the name in Latin script", value)
    return name


def _domains(value: object) -> dict:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = ",".join(value)
    label = checked_text("domains", value)
    try:
        domains, primary, _ = ingest.parse_domains(label)
    except ValueError as exc:
        raise FieldError("domains", "unknown_domain", str(exc), value) from None
    return {"domains": domains, "primary_domain": primary}


def _date(value: object, as_of: dt.date | None) -> dict:
    try:
        parsed = parse_date(checked_ascii("publication_date", value, "unparseable_date"))
    except ValueError as exc:
        raise FieldError("publication_date", "unparseable_date", str(exc), value) from None
    if as_of is not None and parsed.date > as_of:
        raise FieldError("publication_date", "date_after_as_of",
                         f"{parsed.isoformat()} is after the dataset's as-of date {as_of.isoformat()}", value)
    return {"publication_date": parsed.isoformat(), "date_precision": parsed.precision}


def _count(field_name: str, value: object) -> float:
    text = checked_ascii(field_name, value, f"unparseable_{field_name}")
    digits = sum(char.isdigit() for char in text)
    if digits > MAX_DIGITS:
        raise FieldError(field_name, "too_long", f"has {digits} digits; at most {MAX_DIGITS}", value)
    try:
        number = parse_number(text)
    except ValueError as exc:
        raise FieldError(field_name, f"unparseable_{field_name}", str(exc), value) from None
    if number is None:
        raise FieldError(field_name, f"missing_{field_name}", "has no value", value)
    return number


def check_link(value: object) -> str:
    """An http(s) URL whose host is a real domain name (not a placeholder such as `https://...`, `http://x` or
    example.org), with no credentials in it: where a reader can check the values."""
    text = checked_text("link", value, limit=MAX_LINK)

    def refuse(why: str) -> FieldError:
        return FieldError("link", "invalid_link", f"{shown(text)} {why}", value)

    try:
        parts = urlsplit(text)
        host, _ = parts.hostname or "", parts.port
    except ValueError:  # e.g. a malformed [IPv6] host or port
        raise refuse("is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host or " " in text:
        raise refuse("is not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise refuse("has a user name or password in it")
    if not host.isascii():
        raise refuse(f"has a host with non-ASCII letters ({host!r}), where a look-alike can hide: write it in its "
                     "ASCII (xn--) form")
    labels = host.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.fullmatch(label) for label in labels) or not _TLD.fullmatch(
            labels[-1]):
        raise refuse(f"has no domain name as its host ({host!r}): give the full address of the page that states "
                     "the values")
    if labels[-1] in _RESERVED_TLDS or ".".join(labels[-2:]) in _PLACEHOLDER_DOMAINS:
        raise refuse("is a placeholder: that domain is reserved for examples; give the real address")
    return text


def check_reason(value: object) -> str:
    """Why a corrected value is right, in words: not empty, and not a placeholder (`...`, `TODO`, `reason`)."""
    text = checked_text("reason", value, free=True)
    words = re.sub(r"[\W_]+", " ", text.casefold()).split()
    letters = sum(char.isalpha() for char in text)
    if letters < 3 or " ".join(words) in _PLACEHOLDER_REASONS or words[0] in ("todo", "tbd", "fixme", "xxx"):
        raise FieldError("reason", "placeholder_reason", f"{shown(text)} is a placeholder: say why the new value "
                         "is right (e.g. which page or table of the source states it)", value)
    return text


def parse_field(field_name: str, value: object, as_of: dt.date | None = None) -> dict[str, object]:
    """One contributed value -> the typed columns it sets, with the parsers upstream values go through."""
    if field_name == "name":
        return {"name": _name(value)}
    if field_name == "organization":
        return {"organization": _identity_text("organization", value)}
    if field_name == "parameters_notes":
        return {"parameters_notes": checked_text("parameters_notes", value, free=True)}
    if field_name == "domains":
        return _domains(value)
    if field_name == "publication_date":
        return _date(value, as_of)
    if field_name == "parameters":
        return {"parameters": _count("parameters", value), "parameters_missing_reason": None}
    if field_name == "training_compute_flop":
        return {"training_compute_flop": _count("training_compute_flop", value)}
    if field_name == "link":
        return {"link": check_link(value)}
    raise FieldError(field_name, "unknown_field", "is not a field of a contribution")


def file_value(field_name: str, columns: dict[str, object]) -> object:
    """What a file stores for a parsed field: the canonical text, a date only as precise as stated, and counts
    as integers when floats hold them exactly (70B -> 70000000000; 6.3e23 stays 6.3e+23), so the file reads
    back to the same typed values."""
    if field_name == "publication_date":
        return columns["publication_date"][:{"day": 10, "month": 7, "year": 4}[columns["date_precision"]]]
    value = columns[field_name]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _key(key: str) -> str:
    return key if key.isprintable() and len(key) <= 40 else shown(key, 40)


def _unknown_keys(data: dict, allowed: tuple[str, ...], what: str) -> None:
    unknown = [FieldError(_key(key), "unknown_field", f"is not a field of {what} (allowed: {', '.join(allowed)})")
               for key in data if key not in allowed]
    if unknown:
        raise Invalid(unknown)


def distinct_from(data: dict) -> tuple[str, ...]:
    """The ids a contributed model declares it only resembles (`distinct_from`: one id or a list)."""
    value = data.get(DISTINCT_FROM)
    ids = [] if value is None else value if isinstance(value, list) else [value]
    return tuple(check_id(DISTINCT_FROM, record_id) for record_id in ids)


def parse_record(data: dict, path: Path, source: str, as_of: dt.date | None) -> dict[str, object]:
    """A contributed model file -> one typed row (the columns of ingest.process plus its preset id).

    Its id must be the slug of its name (as `add-model` makes it), so an id never hides what the name says.
    """
    from mlsizes.curate import slugify  # curate imports this module

    problems = Problems()
    row = {"source": source, "source_row": 1}
    with problems.check():
        _unknown_keys(data, MODEL_KEYS, "a contributed model")
    with problems.check():
        row["id"] = check_id("id", data.get("id"))
        _expect_file_name(path, "id", row["id"])
    for name in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS):
        if name in REQUIRED_FIELDS or name in data:
            with problems.check():
                row.update(parse_field(name, data.get(name), as_of))
    with problems.check():
        distinct_from(data)
    if "id" in row and "name" in row and row["id"] != slugify(row["name"]):
        problems.errors.append(FieldError("id", "id_not_from_name", f"{row['id']!r} is not the id of the name "
                                          f"{row['name']!r}, which is {slugify(row['name'])!r}", row["id"]))
    problems.raise_any(partial=row)
    return row


def _evidence_problems(evidence: list[tuple[str, object, list[str]]]) -> Problems:
    """Each distinct reason and link of a correction checked once, naming the corrected fields that use it."""
    problems = Problems()
    for key, value, names in evidence:
        try:
            (check_reason if key == "reason" else check_link)(value)
        except FieldError as error:
            problems.errors.append(FieldError(error.field, error.code, f"{error.message} (the correction of "
                                              f"{', '.join(names)})", value))
    return problems


def parse_correction(data: dict, path: Path, source: str, as_of: dt.date | None) -> Correction:
    """A correction file -> the record it targets and, per corrected field, the typed columns it sets."""
    problems = Problems()
    target = None
    with problems.check():
        _unknown_keys(data, ("correct", "fields"), "a correction")
    with problems.check():
        target = check_id("correct", data.get("correct"))
        _expect_file_name(path, "correct", target)
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        problems.errors.append(FieldError("fields", "missing_fields",
                                          "a correction needs at least one field to change"))
        fields = {}
    values, evidence = {}, []
    for name, entry in fields.items():
        if name not in CORRECTABLE_FIELDS:
            problems.errors.append(FieldError(_key(name), "unknown_field",
                                              f"cannot be corrected (correctable: {', '.join(CORRECTABLE_FIELDS)})"))
            continue
        if not isinstance(entry, dict):
            problems.errors.append(FieldError(name, "invalid_correction", "expected value, reason and link"))
            continue
        with problems.check():
            _unknown_keys(entry, CORRECTION_KEYS, f"the correction of {name}")
        for key in ("reason", "link"):
            group = next((item for item in evidence if item[:2] == (key, entry.get(key))), None)
            if group:
                group[2].append(name)
            else:
                evidence.append((key, entry.get(key), [name]))
        with problems.check():
            values[name] = parse_field(name, entry.get("value"), as_of)
    problems.errors += _evidence_problems(evidence).errors
    correction = Correction(source=source, target=target, values=values)
    problems.raise_any(partial=correction)
    return correction


def reject_row(source: str, problem: Invalid) -> dict[str, object]:
    """A typed row for a file that cannot be used: it keeps its place in the accounting as a reject, with its
    first problem's code and field, and every problem in the message."""
    first = problem.errors[0]
    message = first.message if len(problem.errors) == 1 else "; ".join(map(str, problem.errors))
    name = problem.partial.get("name") if isinstance(problem.partial, dict) else None
    return {"source": source, "source_row": 1, "name": name, "reject_code": first.code,
            "reject_field": first.field, "reject_value": first.value, "reject_message": message}


def load(directory: Path, as_of: dt.date | None) -> Contributions:
    """Every contribution file under the folder, parsed; bad files become reject rows, never errors."""
    rows, corrections = [], []
    for path in files(directory):
        source = source_of(path)
        try:
            data = read(path)
            if is_correction_file(path):
                corrections.append(parse_correction(data, path, source, as_of))
                continue
            row = parse_record(data, path, source, as_of)
        except Invalid as problem:
            row = reject_row(source, problem)
        rows.append({column: None for column in ingest.REJECT_COLUMNS} | row)
    typed = pd.DataFrame(rows)
    if not typed.empty:
        typed["source_row"] = typed["source_row"].astype("int64")
    return Contributions(typed=typed, corrections=corrections)


def apply_corrections(candidates: pd.DataFrame, corrections: list[Correction]) -> tuple[pd.DataFrame, list[dict]]:
    """Set the corrected values on the records they target, noting each field's source in `field_sources`.

    Returns the records and one reject row per correction whose target is not among them (its record left
    upstream or was rejected), so a correction is either applied or accounted for, never dropped.
    """
    candidates = candidates.copy()
    # Columns that get values are made generic first: a column missing everywhere may be typed float.
    touched = {"field_sources"} | {column for correction in corrections
                                   for columns in correction.values.values() for column in columns}
    for column in touched:
        candidates[column] = candidates[column].astype(object) if column in candidates else None
    labels = pd.Series(candidates.index, index=candidates["id"])
    rejects = []
    for correction in corrections:
        if correction.target not in labels.index:
            missing = FieldError("correct", "correction_target_missing",
                                 f"no curated record has id {correction.target!r} (removed upstream or rejected)",
                                 correction.target)
            rejects.append(reject_row(correction.source, missing))
            continue
        label = labels[correction.target]
        for columns in correction.values.values():
            for column, value in columns.items():
                candidates.at[label, column] = value
        candidates.at[label, "field_sources"] = ";".join(f"{name}={correction.source}"
                                                         for name in correction.values)
    return candidates, rejects
