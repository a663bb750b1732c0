"""Writing files: atomically, so a reader never sees half of one, and in the stored formats every stage shares.

Stored numbers keep 6 significant digits: enough for the science, none of the float noise that spoils diffs.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

import numpy as np

SIGNIFICANT_DIGITS = 6


def _default_mode() -> int:
    """The mode an ordinary new file gets (0o666 less the umask); mkstemp's own 0o600 would hide data files."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class OutputError(ValueError):
    """An output path no file can be written to; the message names it and why, in one line."""


def refuse_unwritable(paths) -> None:
    """OutputError, before anything is written, when a file cannot be written at one of these paths: the path
    is a folder or not a regular file (a device such as /dev/null, a FIFO: a rename would replace it), or a
    file stands where a folder on the way must be. A command that writes several files checks them all first."""
    for path in map(Path, paths):
        if os.path.lexists(path) and (path.is_dir() or not path.is_file()):
            kind = "a folder" if path.is_dir() else "not a regular file"
            raise OutputError(f"{path}: cannot write a file there: it is {kind}")
        for folder in path.parents:
            if folder.is_dir():
                break
            if os.path.lexists(folder):
                raise OutputError(f"{folder}: cannot write into it: it is not a folder")


def atomic_write(path: Path, write, durable: bool = True) -> None:
    """Call write(handle) on a temporary binary file in the same folder, fsync, then rename over the target, so
    a reader sees the old file or the whole new one, and a large file is streamed, never held in memory.
    Without `durable`, no fsync and no sweep of leftovers (write_tree's thousand small pages: it sweeps once)."""
    path = Path(path)
    refuse_unwritable([path])
    path.parent.mkdir(parents=True, exist_ok=True)
    _replace(path, write, _default_mode(), durable)
    if durable:
        remove_stale(path.parent, f".{path.name}.*.tmp")


def _replace(path: Path, write, mode: int, durable: bool) -> None:
    """atomic_write's own work, in a folder that exists: the temporary file, its mode, the rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tree(folder: Path, files: dict[str, bytes]) -> list[Path]:
    """Many small derived files (a site's pages) under a folder, none when one of them cannot be written: each
    replaced atomically (a reader sees the old page or the new one), without an fsync each (a crash can leave a
    page to rebuild, never a torn one in a running site); a file that already holds the same bytes is left as it
    is (a rebuilt site rewrites only the pages that changed); each folder made and swept of leftovers once."""
    written = [Path(folder) / name for name in files]
    refuse_unwritable(written)
    parents = sorted({path.parent for path in written})
    for parent in parents:
        parent.mkdir(parents=True, exist_ok=True)
    mode = _default_mode()
    for path, data in zip(written, files.values()):
        if not _holds(path, data, mode):
            _replace(path, lambda handle, data=data: handle.write(data), mode, durable=False)
    for parent in parents:
        remove_stale(parent, ".*.tmp")
    return written


def _holds(path: Path, data: bytes, mode: int) -> bool:
    """Whether a regular file (not a link) is at the path with these bytes and this mode: what writing it makes."""
    try:
        info = os.lstat(path)
        same = stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == mode and info.st_size == len(data)
        return same and path.read_bytes() == data
    except OSError:
        return False


# A temporary file or folder untouched this long belongs to a writer that was killed: a live one writes on.
STALE_SECONDS = 600


def remove_stale(folder: Path, pattern: str) -> None:
    """Remove what a killed writer left (`pattern` in `folder`, untouched for STALE_SECONDS): a file, or a folder
    with its contents. git ignores such names (.gitignore), so they never reach a commit meanwhile."""
    now = time.time()
    for leftover in Path(folder).glob(pattern):
        try:
            if now - leftover.lstat().st_mtime < STALE_SECONDS:
                continue
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        except OSError:
            continue


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """atomic_write of bytes."""
    atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    """atomic_write_bytes of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def round_significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    """A float as stored: `digits` significant digits; NaN and infinities become None."""
    return float(f"{value:.{digits}g}") if math.isfinite(value) else None


def rounded(value, digits: int = SIGNIFICANT_DIGITS):
    """Round every float in a JSON-like structure to significant digits; NaN/inf become None."""
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item, digits) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return round_significant(float(value), digits)
    return value


def to_json(data: dict) -> str:
    """A metrics file's text: rounded numbers, indented, a final newline (stable for git and DVC diffs)."""
    return json.dumps(rounded(data), indent=2) + "\n"


def frame_to_csv(frame) -> str:
    """A plot-data table's text, numbers at the stored precision."""
    return frame.to_csv(index=False, lineterminator="\n", float_format=f"%.{SIGNIFICANT_DIGITS}g")
