"""Parsers for the values real upstream files and contributors write: sizes and publication dates.

Both the ingest stage (Epoch's CSV snapshots) and `mlsizes add-model` (values typed by a person) use these,
so a value means the same thing wherever it enters the dataset. Parsers raise `ValueError` with a message
that says what was expected; callers turn it into a reject reason or a one-line CLI error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass

# Epoch's convention for dates known only in part: an unknown day is the 15th, an unknown month and day 1 July.
UNKNOWN_DAY = 15
UNKNOWN_MONTH_DAY = (7, 1)

_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "q": 1e15}
# Digits are [0-9], never \d: \d also matches Unicode digits (Arabic-Indic, full-width...), which int() and
# float() would silently convert, so a look-alike value would pass as a number or a date.
_NUMBER = re.compile(
    r"^\s*(?P<num>[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"\s*(?P<suffix>[kKmMbBgGtTqQ])?\s*$"
)


def parse_number(text: str | float | int | None) -> float | None:
    """Parse a count written as `1.75E+11`, `175000000000.0`, `175,000,000,000`, `70B`, `1.2T` or `340M`.

    Empty text (and the spreadsheet's `N/A`) is a missing value (None); anything else that is not a number in
    ASCII digits raises ValueError. Sign and magnitude are not judged here: the schema decides what is plausible.
    """
    if text is None:
        return None
    if isinstance(text, (int, float)):  # a number given as one: NaN is missing; one no float holds is refused
        try:
            value = float(text)
        except OverflowError:
            raise ValueError("number too large: over 1.8e308") from None
        if math.isinf(value):
            raise ValueError(f"number too large: {text!r}")
        return None if math.isnan(value) else value
    stripped = text.strip()
    if stripped == "" or stripped.upper() in {"N/A", "NA", "NAN"}:
        return None
    match = _NUMBER.match(stripped)
    if not match:
        raise ValueError(f"not a number: {text!r} (expected e.g. 1.75e11, 175,000,000,000 or 70B)")
    value = float(match["num"].replace(",", ""))
    if match["suffix"]:
        value *= _SUFFIXES[match["suffix"].lower()]
    if math.isinf(value):  # 1e400: a float cannot hold it, and "inf" would read as a size
        raise ValueError(f"number too large: {text!r}")
    return value


@dataclass(frozen=True)
class PartialDate:
    """A publication date with how much of it the source actually stated."""

    date: dt.date
    precision: str  # "day", "month" or "year"

    def isoformat(self) -> str:
        """The date as YYYY-MM-DD, its unstated parts filled in by Epoch's convention."""
        return self.date.isoformat()


_DMY = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")
_MY = re.compile(r"^([0-9]{1,2})/([0-9]{4})$")
_ISO = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$")
_ISO_MONTH = re.compile(r"^([0-9]{4})-([0-9]{1,2})$")
_YEAR = re.compile(r"^([0-9]{4})$")


def parse_date(text: str) -> PartialDate:
    """Parse `DD/MM/YYYY` (uneven padding), `MM/YYYY`, `YYYY`, `YYYY-MM-DD` or `YYYY-MM`, keeping the precision.

    Missing parts follow Epoch's convention (day -> 15th, month and day -> 1 July). `Forthcoming`, empty
    text, Unicode digits and impossible calendar dates raise ValueError.
    """
    stripped = (text or "").strip()
    if not stripped:
        raise ValueError("no publication date")
    for pattern, order, precision in (
        (_ISO, "ymd", "day"),
        (_DMY, "dmy", "day"),
        (_ISO_MONTH, "ym", "month"),
        (_MY, "my", "month"),
        (_YEAR, "y", "year"),
    ):
        match = pattern.match(stripped)
        if not match:
            continue
        parts = dict(zip(order, (int(g) for g in match.groups())))
        if precision == "year":
            month, day = UNKNOWN_MONTH_DAY
        else:
            month, day = parts["m"], parts.get("d", UNKNOWN_DAY)
        try:
            return PartialDate(dt.date(parts["y"], month, day), precision)
        except ValueError as exc:
            raise ValueError(f"impossible date {text!r}: {exc}") from None
    raise ValueError(f"unrecognised date {text!r} (expected YYYY-MM-DD, DD/MM/YYYY, MM/YYYY, YYYY-MM or YYYY)")


_NON_SLUG = re.compile(r"[^a-z0-9]+")
# Byte -> itself for the bytes a slug keeps (and line breaks, between names), "-" for every other byte.
_SLUG_BYTES = bytes(b if chr(b) in "abcdefghijklmnopqrstuvwxyz0123456789\n" else ord("-") for b in range(256))


def slugify(name: str) -> str:
    """A record id from a name: its lower-case ASCII slug; a name with no ASCII letters or digits gets a
    hash-based slug."""
    ascii_name = name if name.isascii() else _ascii(name)
    slug = _NON_SLUG.sub("-", ascii_name.lower()).strip("-")
    return slug or "model-" + hashlib.sha1(name.encode()).hexdigest()[:8]


def slugify_all(names: list[str]) -> list[str]:
    """[slugify(name) for name in names], computed on all the names at once, joined by line breaks, as bytes
    (a million names: a second instead of a regex call per name). Names holding a line break are slugified one
    by one."""
    joined = "\n".join(names)
    if not joined.isascii():  # only the names that are not ASCII go through NFKD
        joined = "\n".join([name if name.isascii() else _ascii(name) for name in names])
    data = joined.encode()
    if data.count(b"\n") != max(len(names) - 1, 0):
        return [slugify(name) for name in names]
    data = data.lower().translate(_SLUG_BYTES)
    while b"--" in data:
        data = data.replace(b"--", b"-")
    data = data.replace(b"\n-", b"\n").replace(b"-\n", b"\n").removeprefix(b"-").removesuffix(b"-")
    slugs = data.decode().split("\n") if names else []
    return [slug or slugify(name) for slug, name in zip(slugs, names)]


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
