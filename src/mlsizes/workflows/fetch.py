"""`mlsizes fetch`: download Epoch's current CSV and store it as a new dated, immutable snapshot with provenance.

Download: stream the body into a private hidden staging folder beside the snapshot folder (`data/raw/.fetch-*/`:
the same filesystem, so publishing is an atomic rename, yet outside `data/raw/epoch/`, which DVC stages depend
on), retrying connection errors, timeouts, cut-off bodies and HTTP 5xx with exponential backoff, never HTTP 4xx.
Hostile servers are bounded: the body is refused once it passes the size cap either as received on the wire or
as decoded (gzip/deflate are undone here, a piece at a time, so a decompression bomb is never decoded past the
cap), or once it decodes to more than MAX_RATIO times its compressed size; redirects are followed without
reading their bodies; and the whole download, retries and waits included, has a deadline.
Check: the staged file goes through `ingest.load`, the same checks as every snapshot.
Date: a snapshot is dated by the export it is, never by the day it was fetched: `--date` when given, else a
date in the file's name (as requested, then after redirects), else the server's Last-Modified header; a date
after the retrieval is not believed. With none of them the download is refused (give `--date`). The retrieval
time is kept separately in the provenance record (`retrieved`).
Save: unless its bytes equal an existing snapshot's, rename it to `epoch_notable_ai_models_<date>.csv` (a
suffix -2, -3... when that name is taken; never over a file) with its provenance record beside it.
Whatever fails, Ctrl-C included, the staging folder is removed and no existing file is touched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import hashlib
import itertools
import os
import shutil
import signal
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin, urlparse, urlsplit, urlunsplit

import requests
import urllib3

from mlsizes.core import untrusted
from mlsizes.core.errors import reason
from mlsizes.core.files import remove_stale
from mlsizes.core.paths import Paths
from mlsizes.records import ingest, snapshots
from mlsizes.records.snapshots import SnapshotError

MB = 1 << 20
CHUNK_BYTES = 1 << 16
# Real snapshots gzip about 3:1; a body decoding to over 100 times its size on the wire is a decompression bomb.
# The first MiB is exempt: a small, very regular CSV may legitimately compress better than that.
MAX_RATIO = 100
RATIO_GRACE_BYTES = MB
# The encodings undone here (requests would also offer br/zstd when their packages are installed).
ACCEPT_ENCODING = "gzip, deflate"
WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
STAGING_PREFIX = ".fetch-"
SNAPSHOT_PREFIX = "epoch_notable_ai_models"
TITLE = "Notable AI Models"
PRODUCER = "Epoch AI"
DATASET_PAGE = "https://epoch.ai/data/ai-models"
READ_ONLY = 0o444

ProgressCallback = Callable[[int, int | None], None]
RetryCallback = Callable[[str, float], None]


def without_credentials(url: str) -> str:
    """The URL as it may be shown or written down: without the user name and password a URL can carry
    (`http://user:secret@host/x.csv` -> `http://host/x.csv`), which would end up in a git-tracked record or a log."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class FetchError(Exception):
    """The download cannot become a snapshot; the message is `<url>: <reason>` (the URL without credentials)."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{without_credentials(url)}: {reason}")


class _Transient(Exception):
    """A failure that may pass on another attempt (network, timeout, cut-off body, HTTP 5xx)."""


class _DeadlinePassed(BaseException):
    """Raised by the deadline's alarm wherever the download is. A BaseException, like KeyboardInterrupt, so that
    no library's `except Exception` swallows it."""


@dataclass(frozen=True)
class FetchOptions:
    """How long to wait, how much to accept and how often to try again."""

    timeout: float  # seconds to connect, and for each read of the body
    max_bytes: int  # the body as received on the wire, and as decoded
    retries: int  # attempts after the first one
    backoff: float  # seconds before the first retry, doubled before each next one
    deadline: float  # seconds for the whole download: every attempt and the waits between them


@dataclass(frozen=True)
class Download:
    """A finished download: the URL it came from after redirects, and the sha256 and size of the decoded body."""

    final_url: str  # after redirects
    sha256: str
    size_bytes: int
    last_modified: str | None = None  # the Last-Modified header, as sent


@dataclass(frozen=True)
class Dating:
    """The date of an export and why: `--date`, the date in its file name, or the server's Last-Modified."""

    date: dt.date
    source: str  # "--date", "file name", "Last-Modified"
    evidence: str  # what it was read from: the file name or the header as sent

    def __str__(self) -> str:
        if self.source == "--date":
            return f"{self.date} (given with --date)"
        if self.source == "file name":
            return f"{self.date} (the date in the file name {self.evidence})"
        return f"{self.date} (the server's Last-Modified header: {self.evidence})"


@dataclass(frozen=True)
class FetchResult:
    """The new snapshot, its provenance record and how it was dated, or the existing identical snapshot alone."""

    snapshot: Path
    provenance: dict | None
    dating: Dating | None = None

    @property
    def stored(self) -> bool:
        """Whether a new snapshot was stored (False when an identical one was there already)."""
        return self.provenance is not None


def to_json(result: FetchResult, root: Path) -> dict:
    """`mlsizes fetch --json`: the snapshot (relative to the project), whether it is new, its provenance record and
    how it was dated."""
    return {
        "stored": result.stored,
        "snapshot": str(result.snapshot.relative_to(root)),
        "provenance": result.provenance,
        "dating": None if result.dating is None else asdict(result.dating),
    }


def run(
    paths: Paths,
    url: str,
    options: FetchOptions,
    on_progress: ProgressCallback | None = None,
    on_retry: RetryCallback | None = None,
    date: dt.date | None = None,
) -> FetchResult:
    """Download URL into the raw snapshot folder as a new snapshot, unless an identical one is there already;
    DATE (`--date`) dates it, else its file name or Last-Modified (export_date), else it is refused.

    Call it from the main thread: the deadline is a SIGALRM timer, the one thing that interrupts a read which a
    server keeps alive one byte at a time.
    """
    staging, raw_dir = None, paths.raw_dir
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
        remove_stale(raw_dir.parent, f"{STAGING_PREFIX}*")  # what a killed fetch left
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=raw_dir.parent))
        staged = staging / "download.csv"
        download = fetch_body(url, staged, options, on_progress, on_retry)
        retrieved = dt.datetime.now(dt.UTC).replace(microsecond=0)
        identical = find_identical(raw_dir, download.sha256)
        if identical is not None:
            return FetchResult(identical, None)
        dating = export_date(url, download, retrieved, date)
        snapshot = check_snapshot(url, staged)
        return save(url, staged, download, snapshot, raw_dir, retrieved, dating)
    except OSError as exc:
        raise FetchError(url, f"{exc.filename or raw_dir}: {exc.strerror or exc}") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def fetch_body(
    url: str,
    dest: Path,
    options: FetchOptions,
    on_progress: ProgressCallback | None = None,
    on_retry: RetryCallback | None = None,
) -> Download:
    """Download URL into DEST, trying again with exponential backoff after a transient failure, all within the
    deadline."""
    failed, failure = 0, ""
    try:
        with _alarm(options.deadline):
            while True:
                try:
                    return _download_once(url, dest, options, on_progress)
                except _Transient as exc:
                    failed, failure = failed + 1, str(exc)
                    if failed > options.retries:
                        tries = f" (after {failed} attempts)" if failed > 1 else ""
                        raise FetchError(url, f"{failure}{tries}") from None
                    delay = options.backoff * 2 ** (failed - 1)
                    if on_retry is not None:
                        on_retry(failure, delay)
                    time.sleep(delay)
    except _DeadlinePassed:
        last = f" (after {failed} failed attempts, the last: {failure})" if failed else ""
        raise FetchError(url, f"not downloaded within the deadline of {options.deadline:g} s{last}") from None


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise _DeadlinePassed in this (the main) thread after SECONDS, whatever it is blocked on."""

    def expire(signum, frame):
        raise _DeadlinePassed

    previous = signal.signal(signal.SIGALRM, expire)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def _download_once(url: str, dest: Path, options: FetchOptions, on_progress: ProgressCallback | None) -> Download:
    try:
        with _get(url, options) as response:
            _check_status(url, response)
            body = _Body(url, response, options.max_bytes, on_progress)
            digest = hashlib.sha256()
            with open(dest, "wb") as handle:
                for piece in body.decoded():
                    handle.write(piece)
                    digest.update(piece)
            return Download(
                final_url=response.url,
                sha256=digest.hexdigest(),
                size_bytes=body.decoded_bytes,
                last_modified=response.headers.get("Last-Modified"),
            )
    except requests.exceptions.Timeout:
        raise _Transient(f"timed out: no answer within {options.timeout:g} s") from None
    except urllib3.exceptions.ReadTimeoutError:
        raise _Transient(f"timed out: no data within {options.timeout:g} s") from None
    except requests.exceptions.ConnectionError as exc:
        raise _Transient(f"connection failed: {_innermost_reason(exc)}") from None
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise FetchError(url, _innermost_reason(exc)) from None


class _Session(requests.Session):
    """A session that leaves redirects to _get: requests reads a redirect's whole body into memory, decoded, before
    following it (or not, with allow_redirects=False), so a bomb in a 302 would pass every cap."""

    def get_redirect_target(self, response: requests.Response) -> None:
        return None


def _get(url: str, options: FetchOptions) -> requests.Response:
    """The response to GET URL after redirects, its body unread (that of every redirect never read)."""
    target = url
    with _Session() as session:
        for _ in range(requests.models.DEFAULT_REDIRECT_LIMIT + 1):
            response = session.get(
                target, stream=True, timeout=options.timeout, headers={"Accept-Encoding": ACCEPT_ENCODING}
            )
            if not response.is_redirect:
                return response
            response.close()
            target = urljoin(target, response.headers["Location"])
    raise FetchError(url, f"more than {requests.models.DEFAULT_REDIRECT_LIMIT} redirects")


class _Body:
    """A response's body, streamed: counted as received on the wire and as decoded, each against the size cap.

    gzip and deflate (in any chain, e.g. `gzip, gzip`) are undone here rather than by urllib3, a piece of at most
    CHUNK_BYTES at a time: urllib3 keeps reading until it has a piece of decoded data, so a compressed stream
    that decodes to nothing would never come back to have its wire bytes counted.
    """

    def __init__(self, url: str, response: requests.Response, max_bytes: int, on_progress: ProgressCallback | None):
        self.url, self.response, self.max_bytes, self.on_progress = url, response, max_bytes, on_progress
        self.announced = _content_length(response)
        self.codings = _content_codings(url, response)
        self.received_bytes = self.decoded_bytes = 0
        if self.announced is not None and self.announced > max_bytes:
            self._refuse(f"body of {self.announced} bytes (Content-Length)")

    def decoded(self) -> Iterator[bytes]:
        """The body's bytes as the server meant them (with no Content-Encoding, the received bytes themselves)."""
        pieces: Iterable[bytes] = self._received()
        for coding in reversed(self.codings):  # listed in the order they were applied
            pieces = self._inflate(pieces, coding)
        for piece in pieces:
            self.decoded_bytes += len(piece)
            if self.decoded_bytes > self.max_bytes:
                self._refuse(f"body decoded from {self._coding_names}", f" ({self.received_bytes} bytes on the wire)")
            if self.decoded_bytes > max(RATIO_GRACE_BYTES, MAX_RATIO * self.received_bytes):
                raise FetchError(
                    self.url,
                    f"body decodes to more than {MAX_RATIO} times its size on the wire "
                    f"({self.decoded_bytes} bytes from {self.received_bytes} bytes of "
                    f"{self._coding_names}): a decompression bomb",
                )
            yield piece

    def _received(self) -> Iterator[bytes]:
        try:
            for chunk in self.response.raw.stream(CHUNK_BYTES, decode_content=False):
                self.received_bytes += len(chunk)
                if self.received_bytes > self.max_bytes:
                    self._refuse(f"{self._coding_names} body on the wire" if self.codings else "body")
                if self.on_progress is not None:
                    self.on_progress(self.received_bytes, self.announced)
                yield chunk
        except urllib3.exceptions.ProtocolError:
            raise _Transient(self._cut_off()) from None
        # urllib3 1.x does not raise on a body shorter than its Content-Length: count the bytes ourselves.
        if self.announced is not None and self.received_bytes < self.announced:
            raise _Transient(self._cut_off())

    def _inflate(self, pieces: Iterable[bytes], coding: str) -> Iterator[bytes]:
        """Undo one coding, yielding at most CHUNK_BYTES per piece; a gzip body may hold several members."""
        inflater = zlib.decompressobj(WBITS[coding])
        try:
            for piece in pieces:
                data = piece
                while data:
                    out = inflater.decompress(data, CHUNK_BYTES)
                    if out:
                        yield out
                    if inflater.eof and inflater.unused_data:
                        data, inflater = inflater.unused_data, zlib.decompressobj(WBITS[coding])
                    else:
                        data = inflater.unconsumed_tail
            tail = inflater.flush()
        except zlib.error as exc:
            raise FetchError(self.url, f"body is not valid {coding} data ({exc})") from None
        if tail:
            yield tail
        if not inflater.eof:
            raise _Transient(f"body cut off: its {coding} data ends early, after {self.received_bytes} bytes")

    @property
    def _coding_names(self) -> str:
        return ", ".join(self.codings)

    def _refuse(self, what: str, note: str = "") -> None:
        raise FetchError(self.url, f"{what} is over the size cap of {self.max_bytes} bytes{note}")

    def _cut_off(self) -> str:
        of = f" of {self.announced} announced (Content-Length)" if self.announced is not None else ""
        return f"body cut off: connection closed after {self.received_bytes}{of} bytes"


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


def _content_codings(url: str, response: requests.Response) -> list[str]:
    """The Content-Encoding chain, in the order the server applied it; a coding not offered is refused."""
    codings = [coding.strip().lower() for coding in response.headers.get("Content-Encoding", "").split(",")]
    codings = [coding for coding in codings if coding not in ("", "identity")]
    for coding in codings:
        if coding not in WBITS:
            raise FetchError(url, f"unsupported Content-Encoding {coding!r} (offered: {ACCEPT_ENCODING})")
    return codings


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
    return reason(innermost)


def find_identical(raw_dir: Path, sha256: str) -> Path | None:
    """An existing snapshot in RAW_DIR with exactly these bytes, if any (staging files are not snapshots); the
    folder is checked first (UnreadableFile for a link, FIFO or device in it: hashing a FIFO would block)."""
    untrusted.check_folder(raw_dir)
    for path in sorted(raw_dir.glob("*.csv")):
        if not path.name.startswith(".") and snapshots.sha256_of(path) == sha256:
            return path
    return None


def export_date(url: str, download: Download, retrieved: dt.datetime, given: dt.date | None = None) -> Dating:
    """The date the export describes: GIVEN (`--date`), else the date in the file name (the URL as requested,
    then after redirects), else the Last-Modified header; FetchError when there is none, so a snapshot is never
    dated by the day it was fetched. A name or header dated after the retrieval is not believed (a server's
    clock, a mistyped name)."""
    if given is not None:
        return Dating(given, "--date", given.isoformat())
    for address in (url, download.final_url):
        name = PurePosixPath(urlparse(address).path).name
        date = snapshots.date_in_name(name)
        if date is not None and date <= retrieved.date():
            return Dating(date, "file name", name)
    if download.last_modified:
        try:
            stamp = email.utils.parsedate_to_datetime(download.last_modified)
        except (TypeError, ValueError):
            stamp = None
        if stamp is not None:
            day = (stamp if stamp.tzinfo is None else stamp.astimezone(dt.UTC)).date()
            if day <= retrieved.date():
                return Dating(day, "Last-Modified", download.last_modified)
    raise FetchError(
        url,
        "no date for this export: its file name states none and the server sent no usable Last-Modified header; "
        "give --date YYYY-MM-DD (the day the export was made); nothing stored",
    )


def check_snapshot(url: str, staged: Path) -> ingest.Snapshot:
    """Run the staged file through the same checks as every snapshot (a CSV, with the required columns, and at
    least one data row: upstream serving its header alone is an outage, not a release of an empty dataset)."""
    try:
        snapshot = ingest.load(staged)
    except SnapshotError as exc:
        raise FetchError(url, str(exc).removeprefix(f"{staged}: ")) from None
    if snapshot.table.empty:
        raise FetchError(url, "the file has a header but no data rows; nothing stored")
    return snapshot


def save(
    url: str,
    staged: Path,
    download: Download,
    snapshot: ingest.Snapshot,
    raw_dir: Path,
    retrieved: dt.datetime,
    dating: Dating,
) -> FetchResult:
    """Publish the staged file under a free name dated by the export, its provenance record first, each by an
    atomic rename."""
    target = free_snapshot_path(raw_dir, dating.date)
    url = without_credentials(url)
    record = {
        "snapshot": snapshots.snapshot_id(target),
        "title": TITLE,
        "description": f"Epoch's public download {PurePosixPath(urlparse(url).path).name or url}.",
        "producer": PRODUCER,
        "dataset_page": DATASET_PAGE,
        "source_url": url,
        "retrieved_from": {"kind": "http", "url": without_credentials(download.final_url)},
        "upstream_date": dating.date.isoformat(),
        "upstream_date_from": f"{dating.source}: {dating.evidence}",
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
    return FetchResult(target, record, dating)


def free_snapshot_path(raw_dir: Path, date: dt.date) -> Path:
    """`<prefix>_<date>.csv`, or the first of `<prefix>_<date>-2.csv`, -3... whose csv and record are both free."""
    base = f"{SNAPSHOT_PREFIX}_{date.isoformat()}"
    names = itertools.chain([f"{base}.csv"], (f"{base}-{number}.csv" for number in itertools.count(2)))
    return next(
        path
        for path in (raw_dir / name for name in names)
        if not path.exists() and not snapshots.provenance_path(path).exists()
    )
