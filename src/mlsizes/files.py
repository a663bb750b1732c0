"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

# Tests set this to a number of seconds: a write then pauses halfway through its temporary file, so a test can
# kill the writer (SIGKILL) exactly mid-write and check the target never appears half-written.
PAUSE_ENV = "MLSIZES_TEST_PAUSE_MID_WRITE"


def _default_mode() -> int:
    """The mode an ordinary new file gets (0o666 less the umask); mkstemp's own 0o600 would hide data files."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _default_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data[: len(data) // 2])
            if os.environ.get(PAUSE_ENV):
                handle.flush()
                time.sleep(float(os.environ[PAUSE_ENV]))
            handle.write(data[len(data) // 2:])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
