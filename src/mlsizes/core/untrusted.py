"""Text written by strangers, read and checked before anything else looks at it.

Contribution files come in pull requests, so nothing in them is trusted: an alias bomb, a duplicate key, a 50 MB
field, a name with a right-to-left override or Cyrillic look-alikes, a placeholder link. YAML is composed into
text, lists and mappings only (no tags, anchors, aliases, duplicate or non-text keys, nesting beyond MAX_DEPTH, and
none of YAML 1.1's guesses such as `yes` -> True, `1:30` -> 90 or 2023-02-30 -> a crash): every scalar stays the
text it was. A value's type, length and characters are checked before a parser decides what it means. Every
problem is a FieldError with a reason code; `Problems` gathers several so a person sees them all at once.

Every other YAML file the tools read can arrive in a pull request too, so it goes through the same composer:
dataset.yaml (in the workspace and at any revision) and provenance records stay text (`load_text`); params.yaml,
the contracts in schemas/ and dvc.yaml at a revision need numbers, so `load_data` refuses the same things and then
types the scalars as PyYAML's safe loader would (the outputs built from them stay byte-identical). Files are read
with `read_file`: lstat first, so a FIFO is never opened and a link is followed only where one is expected, and
size-capped. Input folders are checked entry by entry with `check_folder` (no links, FIFOs, sockets or devices).
This is the only module that parses YAML (tests/test_untrusted_reads.py greps for it); docs/security.md says what
is read how.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import re
import stat
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, CollectionStartEvent, NodeEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver, Resolver
from yaml.scanner import Scanner

from mlsizes.core.errors import UnreadableFile, reason

MAX_LINK = 1000
# Hosts reserved for documentation (RFC 2606, RFC 6761): a link there is a placeholder, never a source.
_PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = ("example", "invalid", "localhost", "local", "test", "localdomain", "internal", "lan", "home", "arpa")
# Characters that show nothing yet are not control or format characters (a blank Braille cell, Hangul fillers,
# variation selectors, the combining grapheme joiner): two names differing by one of them look the same.
_INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)
_HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
# A contribution file is at most mapping -> fields -> field -> value, reason, link.
MAX_DEPTH = 4
# Any other YAML the tools read (params.yaml: 3 KB, 4 levels; dvc.yaml: 14 KB, 5 levels): far above, far below harm.
MAX_DOCUMENT = 256 * 1024
MAX_DATA_DEPTH = 10
MAX_TEXT = 500
MAX_DIGITS = 30
# YAML 1.2 core's null; every other plain scalar is text.
_NULLS = {"", "~", "null", "Null", "NULL"}
# Latin look-alikes in Cyrillic and Greek (Unicode's confusables, the letters that matter in model names), per case.
_LOOK_ALIKES = str.maketrans(
    "АаВвЕеЅѕІіЈјКкМмНнОоРрСсТтХхУуҮүԀԁԚԛԜԝҺһӀӏΑαΒβΕεΖζΗηΙιΚκΜμΝνΟοΡρΤτΥυΧχ",
    "AaBbEeSsIiJjKkMmHhOoPpCcTtXxYyYyDdQqWwHhIlAaBbEeZzHnIiKkMmNvOoPpTtYuXx",
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
        """Around one check: its problems are collected instead of raised, so the next check still runs."""
        try:
            yield
        except Invalid as problem:
            self.errors += problem.errors

    def raise_any(self, partial: object = None) -> None:
        """Raise every collected problem as one Invalid (with what did parse), if there is any."""
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
    """A character as a message names it: code point and Unicode name, e.g. `U+0410 CYRILLIC CAPITAL LETTER A`."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}"


class _Composer(Reader, Scanner, Parser, Composer, BaseResolver):
    """PyYAML's parser and composer with no constructor: nodes only, refused as soon as one is not plain data.
    With BaseResolver every plain scalar stays text (`yes`, `1:30` and `2023-02-30` included)."""

    def __init__(self, text: str, max_depth: int = MAX_DEPTH):
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)
        self.depth, self.max_depth = 0, max_depth

    def compose_node(self, parent, index):
        """One node, after refusing an alias or anchor, a tag, or nesting deeper than max_depth."""
        event = self.peek_event()
        line = f"line {event.start_mark.line + 1}: "
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor is not None):
            raise FieldError("file", "yaml_alias", line + "anchors and aliases (&, *) are not allowed")
        if getattr(event, "tag", None) is not None:
            raise FieldError("file", "yaml_tag", line + f"tags ({shown(event.tag, 40)}) are not allowed")
        if isinstance(event, CollectionStartEvent) and self.depth >= self.max_depth - 1:
            raise FieldError("file", "too_deep", line + f"nested deeper than {self.max_depth} levels")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _AtLine(ValueError):
    """A scalar that resolves to no value, with the line it is on."""


class _Constructor(SafeConstructor):
    """PyYAML's safe constructor, naming the line of a scalar that resolves to no value (a date like 2023-02-30)."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except _AtLine:
            raise
        except (ValueError, OverflowError) as exc:
            raise _AtLine(f"line {node.start_mark.line + 1}: {reason(exc)}") from None


class _TypedComposer(_Composer, Resolver):
    """The same composer with YAML 1.1's implicit types resolved (int, float, bool, null, timestamp), as PyYAML's
    safe loader resolves them."""


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


def _mapping_node(text: str, composer: type[_Composer], max_depth: int, limit: int) -> MappingNode:
    """The document's node tree from the checked composer, after its size; FieldError for anything else."""
    if len(text) > limit:
        raise FieldError("file", "file_too_large", f"is {len(text)} characters long; at most {limit}")
    try:
        node = composer(text, max_depth).get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or reason(exc)
        where = f"line {mark.line + 1}: " if mark else ""
        raise FieldError(
            "file", "unreadable_file", f"not valid YAML ({where}{problem.encode('ascii', 'backslashreplace').decode()})"
        ) from None
    if not isinstance(node, MappingNode):
        raise FieldError("file", "unreadable_file", "expected a mapping of field: value")
    return node


def load_text(text: str, limit: int = MAX_DOCUMENT) -> dict:
    """The mapping a contribution file holds, as text, lists and mappings; FieldError for anything else."""
    return _plain(_mapping_node(text, _Composer, MAX_DEPTH, limit))


def load_data(text: str, limit: int = MAX_DOCUMENT) -> dict:
    """The mapping a configuration file holds (params.yaml, a contract, dvc.yaml), typed as PyYAML's safe loader
    types it, composed by the checked composer (no aliases, tags, duplicate keys, deep nesting, huge documents);
    FieldError for anything else, including a scalar that resolves to no value (a date such as 2023-02-30).

    The same text is parsed once per process and each caller gets its own copy: the checked composer is pure
    Python (dvc.yaml takes 0.15 s), and a release, a validation or the API reads the same files again."""
    return copy.deepcopy(_parsed_data(text, limit))


@functools.lru_cache(maxsize=32)
def _parsed_data(text: str, limit: int) -> dict:
    node = _mapping_node(text, _TypedComposer, MAX_DATA_DEPTH, limit)
    _plain(node)  # the duplicate and non-text keys safe_load would have let through
    try:
        return _Constructor().construct_document(node)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise FieldError("file", "unreadable_file", f"not valid YAML ({where}{printable(reason(exc))})") from None


def regular_file(path: Path, follow_links: bool = False) -> None:
    """Refuse anything but a regular file, from lstat (stat when `follow_links`): a FIFO, socket or device is never
    opened (opening a FIFO blocks until a writer comes) and a symbolic link is refused unless `follow_links` (the
    package's own files are links into the project). FileNotFoundError when there is no such file; FieldError
    naming what it is otherwise."""
    mode = (os.stat if follow_links else os.lstat)(path).st_mode
    if stat.S_ISLNK(mode):
        raise FieldError("file", "symlink", "is a symbolic link: input files are read only from real files")
    if stat.S_ISDIR(mode):
        raise FieldError("file", "nested_folder", "is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise FieldError("file", "not_a_file", f"is not a regular file but {kind_of(mode)}")


def read_file(path: Path, limit: int = MAX_DOCUMENT, follow_links: bool = False) -> str:
    """The UTF-8 text of a regular file (see regular_file) of at most `limit` bytes, opened without blocking and,
    unless `follow_links`, without following a link. FileNotFoundError when there is no such file; FieldError for
    everything else."""
    try:
        regular_file(path, follow_links)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW))
        with os.fdopen(fd, "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):  # swapped for something else since the check
                raise FieldError("file", "not_a_file", "is not a regular file")
            size = status.st_size
            data = handle.read(limit + 1) if size <= limit else b""
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FieldError("file", "unreadable_file", f"cannot be read ({exc.strerror})") from None
    if size > limit or len(data) > limit:
        raise FieldError("file", "file_too_large", f"is {max(size, len(data))} bytes; at most {limit // 1024} KB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FieldError("file", "unreadable_file", f"is not UTF-8 text (byte {exc.start})") from None


def load_file(path: Path, follow_links: bool = True) -> dict:
    """A configuration file (params.yaml, a contract) read with read_file and load_data; UnreadableFile naming
    the file and the reason in one line, FileNotFoundError when it is missing."""
    try:
        return load_data(read_file(path, follow_links=follow_links))
    except FieldError as exc:
        raise UnreadableFile(f"{printable(str(path))}: {exc.message}") from None


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words, from its st_mode."""
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def check_folder(folder: Path, entries: bool = True) -> None:
    """Refuse an input folder that is a symbolic link, not a folder, or holds a symbolic link, a FIFO, a socket
    or a device (in it or in any folder under it), with UnreadableFile naming the entry: reading through a link
    reaches files outside the project, and opening a FIFO (as DVC does when it hashes a folder) blocks forever.
    Only lstat is used, so nothing is opened. A folder that does not exist is no problem of this check's. With
    `entries` False only the folder itself is checked (the contributions folder: each file there is refused on its
    own, with its reason, by the reader of contribution files)."""
    folder = Path(folder)
    try:
        mode = os.lstat(folder).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise UnreadableFile(f"{printable(str(folder))} is a symbolic link: make it a real folder inside the project")
    if not stat.S_ISDIR(mode):
        raise UnreadableFile(f"{printable(str(folder))} is {kind_of(mode)}, not a folder")
    if not entries:
        return
    with os.scandir(folder) as entries:
        found = sorted((entry.name, entry.stat(follow_symlinks=False).st_mode) for entry in entries)
    for name, mode in found:
        if stat.S_ISDIR(mode):
            check_folder(folder / name)
        elif not stat.S_ISREG(mode):
            raise UnreadableFile(
                f"{printable(str(folder / name))} is {kind_of(mode)}: an input folder holds only regular files "
                "(remove it, or replace a link with the file itself)"
            )


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
        if (category[0] == "C" or category in ("Zl", "Zp") or _INVISIBLE.match(char)) and not (free and char.isspace()):
            raise FieldError(
                field,
                "control_character",
                f"has {describe_char(char)} at position {position}: "
                "control, bidirectional, invisible and line-breaking characters are not allowed",
                value,
            )
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
    return "".join(
        char for char in unicodedata.normalize("NFKD", latin).casefold() if char.isascii() and char.isalnum()
    )


def non_latin(text: str) -> str | None:
    """The first letter or digit of the text with no Latin form (a slug would drop it), described; else None."""
    for char in text:
        if char.isalnum() and not unicodedata.normalize("NFKD", char)[0].isascii():
            look_alike = char.translate(_LOOK_ALIKES)
            return describe_char(char) + (
                f", which looks like Latin {look_alike!r}" if look_alike != char else ", which has no Latin form"
            )
    return None


def look_alike_letter(text: str) -> str | None:
    """The first Cyrillic or Greek letter that looks like a Latin one in a text that also has Latin letters (as in
    `ОpenAI` with a Cyrillic О), described; else None. Whole words in another script are left alone."""
    if not any(char.isascii() and char.isalpha() for char in text):
        return None
    for char in text:
        if char.translate(_LOOK_ALIKES) != char:
            return describe_char(char) + f", which looks like Latin {char.translate(_LOOK_ALIKES)!r}"
    return None


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
        raise refuse(
            f"has a host with non-ASCII letters ({host!r}), where a look-alike can hide: write it in its "
            "ASCII (xn--) form"
        )
    labels = host.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.fullmatch(label) for label in labels) or not _TLD.fullmatch(labels[-1]):
        raise refuse(
            f"has no domain name as its host ({host!r}): give the full address of the page that states the values"
        )
    if "localhost" in labels:
        raise refuse("is this computer's own address (localhost), which no reader can open; give the public address")
    if labels[-1] in _RESERVED_TLDS or ".".join(labels[-2:]) in _PLACEHOLDER_DOMAINS:
        raise refuse("is a placeholder: that domain is reserved for examples; give the real address")
    return text


def check_input(path: Path) -> None:
    """Refuse an input that is neither a regular file nor a real folder of them (check_folder), from lstat only;
    UnreadableFile naming it. One that does not exist is no problem of this check's."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        check_folder(path)
    elif not stat.S_ISREG(mode):
        raise UnreadableFile(f"{printable(str(path))} is {kind_of(mode)}: an input is a regular file")
