"""Fetch stage: download Epoch's current CSV and store it as a new dated, immutable snapshot with provenance.

Download: stream the body into a hidden staging file in the snapshot folder (so publishing it is an atomic
rename), retrying connection errors, timeouts, cut-off bodies and HTTP 5xx with exponential backoff, never
HTTP 4xx; refuse a body over the size cap or shorter than its Content-Length.
Check: the staged file goes through `ingest.load`, the same checks as every snapshot.
Save: unless its bytes equal an existing snapshot's, rename it to `epoch_notable_ai_models_<date>.csv` (a
suffix -2, -3... when that name is taken; never over a file) with its provenance record beside it.
Whatever fails, Ctrl-C included, the staging files are removed and no existing file is touched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import requests
import urllib3

from mlsizes import ingest, snapshots
from mlsizes.snapshots import SnapshotError

MB = 1 << 20
CHUNK_BYTES = 1 << 16
SNAPSHOT_PREFIX = "epoch_notable_ai_models"
TITLE = "Notable AI Models"
PRODUCER = "Epoch AI"
DATASET_PAGE = "https://epoch.ai/data/ai-models"
READ_ONLY = 0o444

ProgressCallback = Callable[[int, int | None], None]
RetryCallback = Callable[[str, float], None]


class FetchError(Exception):
    """The download cannot become a snapshot; the message is `<url>: <reason>`."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")


class _Transient(Exception):
    """A failure that may pass on another attempt (network, timeout, cut-off body, HTTP 5xx)."""


@dataclass(frozen=True)
class FetchOptions:
    """How long to wait, how much to accept and how often to try again."""

    timeout: float  # seconds to connect, and for each read of the body
    max_bytes: int
    retries: int  # attempts after the first one
    backoff: float  # seconds before the first retry, doubled before each next one


@dataclass(frozen=True)
class Download:
    final_url: str  # after redirects
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class FetchResult:
    """The new snapshot and its provenance record, or the existing identical snapshot and no record."""

    snapshot: Path
    provenance: dict | None

    @property
    def stored(self) -> bool:
        return self.provenance is not None


def run(url: str, raw_dir: Path, options: FetchOptions, on_progress: ProgressCallback | None = None,
        on_retry: RetryCallback | None = None) -> FetchResult:
    """Download URL into RAW_DIR as a new snapshot, unless an identical one is there already."""
    staged = None
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".fetch-", suffix=".csv", dir=raw_dir)
        os.close(fd)
        staged = Path(name)
        download = fetch_body(url, staged, options, on_progress, on_retry)
        retrieved = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        identical = find_identical(raw_dir, download.sha256)
        if identical is not None:
            return FetchResult(identical, None)
        snapshot = check(url, staged)
        return save(url, staged, download, snapshot, raw_dir, retrieved)
    except OSError as exc:
        raise FetchError(url, f"{exc.filename or raw_dir}: {exc.strerror or exc}") from None
    finally:
        if staged is not None:
            staged.unlink(missing_ok=True)
            snapshots.provenance_path(staged).unlink(missing_ok=True)


def fetch_body(url: str, dest: Path, options: FetchOptions, on_progress: ProgressCallback | None = None,
               on_retry: RetryCallback | None = None) -> Download:
    """Download URL into DEST, trying again with exponential backoff after a transient failure."""
    attempt = 1
    while True:
        try:
            return _download_once(url, dest, options, on_progress)
        except _Transient as exc:
            if attempt > options.retries:
                tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                raise FetchError(url, f"{exc}{tries}") from None
            delay = options.backoff * 2 ** (attempt - 1)
            if on_retry is not None:
                on_retry(str(exc), delay)
            time.sleep(delay)
            attempt += 1


def _download_once(url: str, dest: Path, options: FetchOptions, on_progress: ProgressCallback | None) -> Download:
    try:
        with requests.get(url, stream=True, timeout=options.timeout) as response:
            _check_status(url, response)
            expected = _content_length(response)
            if expected is not None and expected > options.max_bytes:
                raise FetchError(url, f"body of {expected} bytes is over the size cap of {options.max_bytes} bytes")
            digest, received = hashlib.sha256(), 0
            with open(dest, "wb") as handle:
                try:
                    for chunk in response.iter_content(CHUNK_BYTES):
                        received += len(chunk)
                        if received > options.max_bytes:
                            raise FetchError(url, f"body is over the size cap of {options.max_bytes} bytes")
                        handle.write(chunk)
                        digest.update(chunk)
                        if on_progress is not None:
                            on_progress(response.raw.tell(), expected)
                except requests.exceptions.ChunkedEncodingError:
                    raise _Transient(_cut_off(response.raw.tell(), expected)) from None
            # requests does not always raise on a short body: count the bytes on the wire ourselves.
            if expected is not None and response.raw.tell() < expected:
                raise _Transient(_cut_off(response.raw.tell(), expected))
            return Download(final_url=response.url, sha256=digest.hexdigest(), size_bytes=received)
    except requests.exceptions.Timeout:
        raise _Transient(f"timed out: no answer within {options.timeout:g} s") from None
    except requests.exceptions.ConnectionError as exc:
        if any(isinstance(cause, (TimeoutError, urllib3.exceptions.ReadTimeoutError)) for cause in _causes(exc)):
            raise _Transient(f"timed out: no data within {options.timeout:g} s") from None
        raise _Transient(f"connection failed: {_innermost_reason(exc)}") from None
    except requests.exceptions.RequestException as exc:
        raise FetchError(url, _innermost_reason(exc)) from None


def _check_status(url: str, response: requests.Response) -> None:
    if response.status_code == 200:
        return
    reason = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
    if response.status_code >= 500:
        raise _Transient(reason)
    raise FetchError(url, reason)


def _content_length(response: requests.Response) -> int | None:
    """The announced body size on the wire, or None when the server did not (or may not) announce one."""
    if "chunked" in response.headers.get("Transfer-Encoding", "").lower():
        return None
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _cut_off(received: int, expected: int | None) -> str:
    of = f" of {expected} announced (Content-Length)" if expected is not None else ""
    return f"body cut off: connection closed after {received}{of} bytes"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and the ones it wraps, outermost first (requests wraps urllib3, which wraps the socket)."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        wrapped = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = current.__cause__ or wrapped or current.__context__


def _innermost_reason(exc: BaseException) -> str:
    """The root cause in plain words (e.g. 'Connection refused'), not requests' pool-and-retry wrapping."""
    innermost = list(_causes(exc))[-1]
    if isinstance(innermost, OSError) and innermost.strerror:
        return innermost.strerror
    return str(innermost).strip().splitlines()[0] if str(innermost).strip() else type(innermost).__name__


def find_identical(raw_dir: Path, sha256: str) -> Path | None:
    """An existing snapshot in RAW_DIR with exactly these bytes, if any (staging files are not snapshots)."""
    for path in sorted(raw_dir.glob("*.csv")):
        if not path.name.startswith(".") and snapshots.sha256_of(path) == sha256:
            return path
    return None


def check(url: str, staged: Path) -> ingest.Snapshot:
    """Run the staged file through the same checks as every snapshot (a CSV, with the required columns)."""
    try:
        return ingest.load(staged)
    except SnapshotError as exc:
        raise FetchError(url, str(exc).removeprefix(f"{staged}: ")) from None


def save(url: str, staged: Path, download: Download, snapshot: ingest.Snapshot, raw_dir: Path,
         retrieved: dt.datetime) -> FetchResult:
    """Publish the staged file under a free dated name, its provenance record first, each by an atomic rename."""
    target = free_snapshot_path(raw_dir, retrieved.date())
    record = {
        "snapshot": snapshots.snapshot_id(target),
        "title": TITLE,
        "description": f"Epoch's public download {PurePosixPath(urlparse(url).path).name or url}.",
        "producer": PRODUCER,
        "dataset_page": DATASET_PAGE,
        "source_url": url,
        "retrieved_from": {"kind": "http", "url": download.final_url},
        "upstream_date": retrieved.date().isoformat(),
        "retrieved": retrieved.isoformat().replace("+00:00", "Z"),
        "sha256": download.sha256,
        "size_bytes": download.size_bytes,
        "rows": len(snapshot.table),
        "license": dict(snapshots.LICENSE),
        "citation": snapshots.CITATION,
    }
    snapshots.write_provenance(staged, record)
    staged.chmod(READ_ONLY)
    os.replace(snapshots.provenance_path(staged), snapshots.provenance_path(target))
    try:
        os.replace(staged, target)
    except BaseException:
        snapshots.provenance_path(target).unlink(missing_ok=True)
        raise
    return FetchResult(target, record)


def free_snapshot_path(raw_dir: Path, date: dt.date) -> Path:
    """`<prefix>_<date>.csv`, or the first of `<prefix>_<date>-2.csv`, -3... whose csv and record are both free."""
    base = f"{SNAPSHOT_PREFIX}_{date.isoformat()}"
    names = itertools.chain([f"{base}.csv"], (f"{base}-{number}.csv" for number in itertools.count(2)))
    return next(path for path in (raw_dir / name for name in names)
                if not path.exists() and not snapshots.provenance_path(path).exists())
