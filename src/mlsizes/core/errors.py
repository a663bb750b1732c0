"""Errors as one line: every refusal the CLI prints names the record or file, the field and the reason."""

from __future__ import annotations


class UnreadableFile(ValueError):
    """A file or folder the tools read cannot be used safely (a hostile YAML, a FIFO, a link): the message names it
    and says why, in one line. The command line reports it as an error wherever it surfaces."""


def reason(exc: BaseException) -> str:
    """The first line of an exception's message (parsers add context lines a one-line error has no room for),
    or its type's name when it says nothing."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def last_line(output: str, fallback: str) -> str:
    """The last line of a tool's output (git and DVC end with the line that says what failed), or the fallback."""
    text = output.strip()
    return text.splitlines()[-1] if text else fallback
