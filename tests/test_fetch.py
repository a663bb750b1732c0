"""`mlsizes fetch` against a real HTTP server on 127.0.0.1, serving cuts of a real upstream snapshot, plain,
compressed, and as hostile servers do (decompression bombs, bodies dripping a byte at a time).

Every failure must end with one `error: <url>: <reason>` line, exit code 1 and data/raw/ exactly as before
(no file changed, none left half-written, no staging folder left). The project is a temporary copy
(MLSIZES_ROOT), never /work/main/data.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import BIN, RAW, ROOT
from mlsizes.cli import main
from mlsizes.core import files
from mlsizes.core.paths import Paths, find_root
from mlsizes.records import ingest, snapshots
from mlsizes.workflows import fetch

REAL_SNAPSHOT = RAW / "epoch_notable_ai_models_2026-03-10.csv"
EXISTING = "epoch_notable_ai_models_2026-03-10"
FAST = ["--backoff", "0.01", "--timeout", "2"]
# The scripted server dates its answers like a static file server: Last-Modified, the export's own date.
EXPORT_DATE = "2026-07-19"
LAST_MODIFIED = "Sun, 19 Jul 2026 06:30:00 GMT"


@functools.cache
def upstream_csv(records: int, drop_column: str | None = None) -> bytes:
    """The header and first RECORDS records of the real 2026-03-10 download, in its format."""
    with open(REAL_SNAPSHOT, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[: records + 1]
    if drop_column is not None:
        index = rows[0].index(drop_column)
        rows = [row[:index] + row[index + 1 :] for row in rows]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


# --- a scripted upstream server -------------------------------------------------------------------------

COMPRESS = {"gzip": functools.partial(gzip.compress, mtime=0), "deflate": zlib.compress}  # deflate: zlib format


def respond(body: bytes, encoding: str | None = None, announce: bool = True, last_modified: str | None = LAST_MODIFIED):
    """Answer 200 with BODY as given, labelled with Content-Encoding ENCODING, with or without Content-Length,
    with a Last-Modified header unless it is None."""

    def answer(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/csv")
        if last_modified is not None:
            handler.send_header("Last-Modified", last_modified)
        if encoding is not None:
            handler.send_header("Content-Encoding", encoding)
        if announce:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def ok(body: bytes, *codings: str, last_modified: str | None = LAST_MODIFIED):
    """BODY with each of CODINGS applied in turn, labelled accordingly."""
    for coding in codings:
        body = COMPRESS[coding](body)
    return respond(body, ", ".join(codings) or None, last_modified=last_modified)


def status(code: int):
    def answer(handler):
        body = f"{code}\n".encode()
        handler.send_response(code)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def cut_off(body: bytes, missing: int):
    """Announce MISSING more bytes than are sent, then close the connection."""

    def answer(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body) + missing))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def unannounced(body: bytes, encoding: str | None = None):
    """No Content-Length: the body ends when the connection closes (HTTP/1.0)."""
    return respond(body, encoding, announce=False)


def endless(encoding: str, pieces, redirect_to: str | None = None):
    """A body with no end: what PIECES() yields, labelled ENCODING, until the client hangs up or the test ends;
    in a 302 to REDIRECT_TO if given."""

    def answer(handler):
        handler.send_response(200 if redirect_to is None else 302)
        if redirect_to is not None:
            handler.send_header("Location", redirect_to)
        handler.send_header("Content-Encoding", encoding)
        handler.end_headers()
        for piece in pieces():
            if handler.server.release.is_set():
                return
            handler.wfile.write(piece)

    return answer


def gzip_zeros():
    """A real CSV header, then zeros for ever: about 1 KiB of gzip per MiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    yield compressor.compress(upstream_csv(0))
    while True:
        yield compressor.compress(bytes(fetch.MB)) + compressor.flush(zlib.Z_SYNC_FLUSH)


def empty_gzip_members():
    """Valid gzip that decodes to nothing, for ever: 20 bytes per empty member."""
    while True:
        yield gzip.compress(b"", mtime=0) * 1000


def drip_body(handler):
    """Headers, then one byte of the body every 50 ms: each read gets data well within --timeout."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(fetch.MB))
    handler.end_headers()
    while not handler.server.release.wait(0.05):
        handler.wfile.write(b"x")


def drip_headers(handler):
    """The status line, then one byte of a header every 50 ms."""
    handler.wfile.write(b"HTTP/1.0 200 OK\r\nX-Drip: ")
    while not handler.server.release.wait(0.05):
        handler.wfile.write(b"x")


def stall_before_headers(handler):
    handler.server.release.wait(5)


def stall_mid_body(handler):
    body = upstream_csv(50)
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body[:100])
    handler.wfile.flush()
    handler.server.release.wait(5)


class _ScriptedHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        with server.lock:
            server.hits += 1
            answer = server.script.pop(0) if len(server.script) > 1 else server.script[0]
        try:
            answer(self)
        except OSError:
            pass  # the client gave up (timeout test): nothing to answer

    def log_message(self, format, *args):
        pass


class Upstream(ThreadingHTTPServer):
    """Answers each request with the next scripted answer; the last one repeats."""

    daemon_threads = True
    block_on_close = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)
        self.script, self.hits, self.lock, self.release = [], 0, threading.Lock(), threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/data/notable_ai_models.csv"

    def serve(self, *answers) -> str:
        self.script = list(answers)
        return self.url


@contextlib.contextmanager
def serving():
    """A local Upstream server answering on 127.0.0.1 in a background thread, shut down afterwards."""
    server = Upstream()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def upstream():
    with serving() as server:
        yield server


# --- a temporary project ----------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project root with one stored snapshot (40 real records) and its provenance record."""
    root = tmp_path / "project"
    raw = root / "data" / "raw" / "epoch"
    raw.mkdir(parents=True)
    (root / "dvc.yaml").write_text("stages: {}\n")
    existing = raw / f"{EXISTING}.csv"
    existing.write_bytes(upstream_csv(40))
    snapshots.write_provenance(existing, {"snapshot": EXISTING, "sha256": snapshots.sha256_of(existing)})
    existing.chmod(0o444)
    monkeypatch.setenv("MLSIZES_ROOT", str(root))
    return root


def raw_dir(root: Path) -> Path:
    return root / "data" / "raw" / "epoch"


def raw_state(root: Path) -> dict[str, str]:
    """Every file under data/raw/ (hidden ones included) with its sha256, and every folder."""
    raw = root / "data" / "raw"
    return {
        str(path.relative_to(raw)): snapshots.sha256_of(path) if path.is_file() else "folder"
        for path in sorted(raw.rglob("*"))
    }


def fetch_cli(url: str, *options: str):
    return CliRunner().invoke(main, ["fetch", "--url", url, *FAST, *options])


def assert_failed(result, url: str, project: Path, before: dict, reason: str) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {url}: "), result.stderr
    assert reason in last
    assert sum(line.startswith("error:") for line in result.stderr.splitlines()) == 1
    assert raw_state(project) == before
    return last


# --- failures ---------------------------------------------------------------------------------------------


def test_connection_refused_is_retried_then_fails(project):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/notable_ai_models.csv"
    before = raw_state(project)
    result = fetch_cli(url, "--retries", "2")
    error = assert_failed(result, url, project, before, "connection failed: Connection refused")
    assert error.endswith("(after 3 attempts)")
    assert result.stderr.count("retrying in") == 2


def test_404_fails_without_retrying(project, upstream):
    url = upstream.serve(status(404))
    before = raw_state(project)
    assert_failed(fetch_cli(url, "--retries", "3"), url, project, before, "HTTP 404 Not Found")
    assert upstream.hits == 1


def test_persistent_500_is_retried_with_exponential_backoff(project, upstream):
    url = upstream.serve(status(500))
    before = raw_state(project)
    started = time.monotonic()
    result = CliRunner().invoke(main, ["fetch", "--url", url, "--retries", "2", "--backoff", "0.1"])
    elapsed = time.monotonic() - started
    assert_failed(result, url, project, before, "HTTP 500 Internal Server Error (after 3 attempts)")
    assert upstream.hits == 3
    assert "retrying in 0.1 s" in result.stderr and "retrying in 0.2 s" in result.stderr
    assert elapsed >= 0.3


@pytest.mark.parametrize(
    "first", [status(500), status(503), cut_off(upstream_csv(50)[:500], 1000)], ids=["500", "503", "cut-off"]
)
def test_transient_failure_then_success_is_stored(project, upstream, first):
    url = upstream.serve(first, ok(upstream_csv(50)))
    result = fetch_cli(url, "--retries", "3")
    assert result.exit_code == 0, result.output
    assert upstream.hits == 2
    assert "retrying in 0.01 s" in result.stderr
    assert "stored data/raw/epoch/epoch_notable_ai_models_" in result.stdout


def test_server_slower_than_timeout(project, upstream):
    url = upstream.serve(stall_before_headers)
    before = raw_state(project)
    result = fetch_cli(url, "--timeout", "0.3", "--retries", "0")
    assert_failed(result, url, project, before, "timed out")


def test_body_stalling_longer_than_timeout(project, upstream):
    url = upstream.serve(stall_mid_body)
    before = raw_state(project)
    result = fetch_cli(url, "--timeout", "0.3", "--retries", "0")
    assert_failed(result, url, project, before, "timed out")


def test_body_cut_off_before_content_length(project, upstream):
    body = upstream_csv(50)
    url = upstream.serve(cut_off(body[: len(body) // 2], 1000))
    before = raw_state(project)
    error = assert_failed(fetch_cli(url, "--retries", "0"), url, project, before, "body cut off")
    assert f"of {len(body) // 2 + 1000} announced (Content-Length)" in error


def test_html_page_instead_of_csv(project, upstream):
    url = upstream.serve(ok(b"<!DOCTYPE html>\n<html><body>Notable AI Models</body></html>\n"))
    before = raw_state(project)
    assert_failed(fetch_cli(url), url, project, before, f"{url}: not a CSV (an HTML/XML page)")


def test_csv_missing_required_column(project, upstream):
    url = upstream.serve(ok(upstream_csv(50, drop_column="Parameters")))
    before = raw_state(project)
    assert_failed(fetch_cli(url), url, project, before, f"{url}: missing required column parameters")


@pytest.mark.parametrize("answer", [ok, unannounced], ids=["announced", "unannounced"])
def test_body_over_size_cap(project, upstream, answer):
    url = upstream.serve(answer(upstream_csv(50)))
    before = raw_state(project)
    assert_failed(fetch_cli(url, "--max-mb", "0.001"), url, project, before, "is over the size cap of 1048 bytes")


# --- compressed bodies and decompression bombs ------------------------------------------------------------

CODINGS = [("gzip",), ("deflate",), ("gzip", "gzip")]
CODING_IDS = ["gzip", "deflate", "gzip-gzip"]


@functools.cache
def bomb() -> bytes:
    """A real record repeated to 4 MiB: a CSV that passes every check, yet gzip packs it 200 to 1 (a real
    snapshot, 3 to 1)."""
    header = upstream_csv(0)
    record = upstream_csv(1)[len(header) :]
    return header + record * (4 * fetch.MB // len(record))


@pytest.mark.parametrize("codings", CODINGS, ids=CODING_IDS)
def test_bomb_over_the_cap_is_refused(project, upstream, codings):
    url = upstream.serve(ok(bomb(), *codings))
    before = raw_state(project)
    reason = f"body decoded from {', '.join(codings)} is over the size cap of 1048576 bytes"
    assert_failed(fetch_cli(url, "--max-mb", "1"), url, project, before, reason)


def test_endless_bomb_is_refused_without_decoding_the_rest(project, upstream):
    url = upstream.serve(endless("gzip", gzip_zeros))
    before = raw_state(project)
    error = assert_failed(
        fetch_cli(url, "--max-mb", "1", "--deadline", "60"),
        url,
        project,
        before,
        "body decoded from gzip is over the size cap of 1048576 bytes",
    )
    # Refused within the first reads from the wire (64 KiB each, which decode to 64 MiB each), not after them.
    assert int(re.search(r"\((\d+) bytes on the wire\)", error).group(1)) < 2 * fetch.CHUNK_BYTES


def test_bomb_under_the_cap_is_refused_by_its_ratio(project, upstream):
    url = upstream.serve(ok(bomb(), "gzip"))  # 4 MiB decoded: well under the default cap of 200 MiB
    before = raw_state(project)
    assert_failed(fetch_cli(url), url, project, before, f"body decodes to more than {fetch.MAX_RATIO} times its")


def test_compressed_stream_decoding_to_nothing_hits_the_cap_on_the_wire(project, upstream):
    url = upstream.serve(endless("gzip", empty_gzip_members))
    before = raw_state(project)
    assert_failed(
        fetch_cli(url, "--max-mb", "0.1", "--deadline", "60"),
        url,
        project,
        before,
        "gzip body on the wire is over the size cap of 104857 bytes",
    )


def test_redirect_body_is_never_read(project, upstream):
    """requests would read a redirect's whole body, decoded, before following it: an endless bomb here."""
    url = upstream.serve(endless("gzip", gzip_zeros, redirect_to="/moved/notable_ai_models.csv"), ok(upstream_csv(50)))
    result = fetch_cli(url, "--max-mb", "1", "--deadline", "60")
    assert result.exit_code == 0, result.output
    stored = next(raw_dir(project).glob(f"epoch_notable_ai_models_{EXPORT_DATE}*.csv"))
    assert stored.read_bytes() == upstream_csv(50)
    moved = url.replace("/data/notable_ai_models.csv", "/moved/notable_ai_models.csv")
    assert snapshots.read_provenance(stored)["retrieved_from"] == {"kind": "http", "url": moved}


def test_redirect_loop(project, upstream):
    url = upstream.serve(endless("gzip", gzip_zeros, redirect_to="/data/notable_ai_models.csv"))
    before = raw_state(project)
    assert_failed(fetch_cli(url, "--deadline", "60"), url, project, before, "more than 30 redirects")
    assert upstream.hits == 31


@pytest.mark.parametrize("codings", CODINGS, ids=CODING_IDS)
def test_compressed_body_at_the_cap_is_stored_decoded(project, upstream, codings):
    body = upstream_csv(200)
    url = upstream.serve(ok(body, *codings))
    result = fetch_cli(url, "--max-mb", repr(len(body) / fetch.MB))  # exactly len(body) bytes
    assert result.exit_code == 0, result.output
    stored = next(raw_dir(project).glob(f"epoch_notable_ai_models_{EXPORT_DATE}*.csv"))
    assert stored.read_bytes() == body
    record = snapshots.read_provenance(stored)
    assert (record["size_bytes"], record["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())


def test_compressed_body_one_byte_over_the_cap_is_refused(project, upstream):
    body = upstream_csv(200)
    url = upstream.serve(ok(body, "gzip"))
    before = raw_state(project)
    assert_failed(
        fetch_cli(url, "--max-mb", repr((len(body) - 1) / fetch.MB)),
        url,
        project,
        before,
        f"body decoded from gzip is over the size cap of {len(body) - 1} bytes",
    )


@pytest.mark.parametrize(
    "answer, reason",
    [
        (respond(upstream_csv(50), "gzip"), "body is not valid gzip data"),
        (respond(upstream_csv(50), "br"), "unsupported Content-Encoding 'br' (offered: gzip, deflate)"),
        (unannounced(gzip.compress(upstream_csv(50))[:2000], "gzip"), "body cut off: its gzip data ends early"),
    ],
    ids=["not-gzip", "unsupported", "truncated"],
)
def test_broken_compressed_body(project, upstream, answer, reason):
    url = upstream.serve(answer)
    before = raw_state(project)
    assert_failed(fetch_cli(url, "--retries", "1"), url, project, before, reason)


# --- the deadline -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, options, last",
    [
        (drip_body, [], ""),
        (drip_headers, [], ""),
        (
            status(503),
            ["--retries", "1000", "--backoff", "0.1"],
            "failed attempts, the last: HTTP 503 Service Unavailable",
        ),
    ],
    ids=["body-drip", "header-drip", "503-retried"],
)
def test_deadline_covers_the_whole_download(project, upstream, answer, options, last):
    url = upstream.serve(answer)
    before = raw_state(project)
    handler = signal.getsignal(signal.SIGALRM)
    error = assert_failed(
        fetch_cli(url, "--deadline", "1", *options), url, project, before, "not downloaded within the deadline of 1 s"
    )
    assert last in error
    assert signal.getsignal(signal.SIGALRM) is handler and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_deadline_default_is_shown_in_help():
    result = CliRunner().invoke(main, ["fetch", "--help"])
    assert result.exit_code == 0
    assert re.search(r"--deadline .*\[default:\s+600", " ".join(result.output.split()))


# --- staging never disturbs git or DVC --------------------------------------------------------------------


def dvc(project: Path, *commands: list[str]) -> subprocess.CompletedProcess:
    """Run DVC commands in order in one process (DVC takes about a second to start), exit code 1 at the first
    that fails: the `dvc` beside this interpreter, called as its executable calls it."""
    script = "import json, sys\nfrom dvc.cli import main\nsys.exit(any(main(argv) for argv in json.loads(sys.argv[1])))"
    return subprocess.run(
        [sys.executable, "-c", script, json.dumps(commands)], cwd=project, capture_output=True, text=True
    )


def test_leftover_staging_leaves_git_and_dvc_clean(project, upstream):
    """A real `mlsizes fetch` killed mid-download leaves its staging file outside data/raw/epoch/, and git, DVC
    and a real stage depending on data/raw/epoch do not see it (nor the data/raw/epoch/.fetch-* left by earlier
    versions)."""
    assert subprocess.run(["git", "init", "-q"], cwd=project).returncode == 0
    assert dvc(project, ["init", "-q"]).returncode == 0
    for name in (".gitignore", ".dvcignore"):
        shutil.copy(ROOT / name, project / name)
    (project / "dvc.yaml").write_text(
        "stages:\n  listing:\n    cmd: ls data/raw/epoch > listing.txt\n"
        "    deps: [data/raw/epoch]\n    outs: [listing.txt]\n"
    )
    assert dvc(project, ["repro", "-q"]).returncode == 0
    before = raw_state(project)

    old_leftover = raw_dir(project) / ".fetch-abc123.csv"
    old_leftover.write_bytes(upstream_csv(5))
    fetching = subprocess.Popen(
        [BIN / "mlsizes", "fetch", "--url", upstream.serve(drip_body)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until = time.monotonic() + 60  # a bound on a hung test, not a speed requirement
        while not (staged := list((project / "data" / "raw").glob(".fetch-*/download.csv"))):
            assert fetching.poll() is None, "mlsizes fetch ended before it staged anything"
            assert time.monotonic() < wait_until, "mlsizes fetch staged nothing within 60 s"
            time.sleep(0.05)
    finally:
        fetching.kill()
        fetching.wait()
    raw = project / "data" / "raw"
    new = {str(path.relative_to(raw)) for path in (staged[0].parent, staged[0], old_leftover)}
    assert set(raw_state(project)) - set(before) == new  # nothing new in data/raw/epoch/ but the old leftover
    leftovers = [str(path.relative_to(project)) for path in (staged[0], old_leftover)]

    checked = dvc(project, ["status"], ["check-ignore", *leftovers])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.splitlines() == ["Data and pipelines are up to date.", *leftovers]
    git = subprocess.run(["git", "check-ignore", *leftovers], cwd=project, capture_output=True, text=True)
    assert git.stdout.split() == leftovers


def test_interrupt_mid_download_leaves_nothing(project, upstream):
    url = upstream.serve(ok(upstream_csv(50)))
    before = raw_state(project)

    def interrupt(done, total):
        raise KeyboardInterrupt

    options = fetch.FetchOptions(timeout=2, max_bytes=fetch.MB, retries=0, backoff=0, deadline=30)
    with pytest.raises(KeyboardInterrupt):
        fetch.run(Paths.at(project), url, options, on_progress=interrupt)
    assert raw_state(project) == before


# --- success ----------------------------------------------------------------------------------------------


def test_new_content_is_stored_with_provenance(project, upstream):
    body = upstream_csv(50)
    url = upstream.serve(ok(body))
    before = raw_state(project)
    result = fetch_cli(url)
    assert result.exit_code == 0, result.output

    stem = f"epoch_notable_ai_models_{EXPORT_DATE}"
    stored = raw_dir(project) / f"{stem}.csv"
    assert stored.read_bytes() == body
    assert not stored.stat().st_mode & 0o222, "a snapshot is stored read-only"
    assert set(raw_state(project)) == set(before) | {f"epoch/{stem}.csv", f"epoch/{stem}.provenance.yaml"}
    assert {name: sha for name, sha in raw_state(project).items() if name in before} == before

    record = snapshots.read_provenance(stored)
    real_record = snapshots.read_provenance(REAL_SNAPSHOT)
    assert [key for key in record if key != "upstream_date_from"] == list(real_record)
    assert record["snapshot"] == stem
    assert record["sha256"] == snapshots.sha256_of(stored) == hashlib.sha256(body).hexdigest()
    assert record["size_bytes"] == len(body)
    assert record["rows"] == 50
    assert record["source_url"] == url
    assert record["retrieved_from"] == {"kind": "http", "url": url}
    assert record["upstream_date"] == EXPORT_DATE  # the export's date; the retrieval time is kept apart
    assert record["upstream_date_from"] == f"Last-Modified: {LAST_MODIFIED}"
    assert dt.datetime.fromisoformat(record["retrieved"]).tzinfo is not None
    assert record["license"] == snapshots.LICENSE and record["citation"] == snapshots.CITATION
    assert ingest.load(stored, require_provenance=True).provenance == record

    assert f"set `snapshot: {stem}` in params.yaml, then run `dvc repro`" in result.stdout
    assert f"dated {EXPORT_DATE} (the server's Last-Modified header: {LAST_MODIFIED})" in result.stdout


def test_same_content_as_existing_snapshot_writes_nothing(project, upstream):
    url = upstream.serve(ok(upstream_csv(40)))
    before = raw_state(project)
    result = fetch_cli(url)
    assert result.exit_code == 0, result.output
    assert f"unchanged: {url} is identical to data/raw/epoch/{EXISTING}.csv; nothing written" in result.stdout
    assert raw_state(project) == before


def test_same_date_different_content_gets_a_suffix(project, upstream):
    stem = f"epoch_notable_ai_models_{EXPORT_DATE}"
    first = upstream.serve(ok(upstream_csv(50)))
    assert fetch_cli(first).exit_code == 0
    state = raw_state(project)

    second = upstream.serve(ok(upstream_csv(60)))
    result = fetch_cli(second)
    assert result.exit_code == 0, result.output
    suffixed = raw_dir(project) / f"{stem}-2.csv"
    assert suffixed.read_bytes() == upstream_csv(60)
    assert snapshots.read_provenance(suffixed)["snapshot"] == f"{stem}-2"
    assert {name: sha for name, sha in raw_state(project).items() if name in state} == state


def test_project_root_is_found_above_the_working_directory(project, monkeypatch):
    monkeypatch.delenv("MLSIZES_ROOT")
    monkeypatch.chdir(raw_dir(project))
    assert find_root() == project.resolve()


@pytest.mark.parametrize(
    "option, value",
    [
        ("--deadline", "nan"),
        ("--deadline", "inf"),
        ("--deadline", "1e20"),
        ("--timeout", "inf"),
        ("--timeout", "1e20"),
        ("--backoff", "1e300"),
        ("--max-mb", "nan"),
        ("--retries", "1001"),
    ],
)
@pytest.mark.parametrize("command", ["fetch", "update"])
def test_a_number_no_clock_or_sleep_can_hold_is_refused_before_anything_runs(command, option, value):
    """Measured on main: `fetch --deadline inf|1e20|nan`, `--timeout inf|1e20` and `--backoff 1e300` ended in an
    OverflowError or ValueError traceback; NaN passes every range check. Refused as usage errors (exit 2), before
    the project is looked for or anything is downloaded."""
    result = CliRunner().invoke(main, [command, "--url", "http://127.0.0.1:9/x.csv", option, value])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output and "Traceback" not in result.output


def test_credentials_in_the_url_are_never_written_or_shown(project, upstream):
    """Measured on main: `fetch --url http://user:secret@host/...` wrote the password into the git-tracked
    provenance record. The download still uses them (requests sends them); nothing keeps them."""
    url = upstream.serve(ok(upstream_csv(50)), status(404))
    with_credentials = url.replace("http://", "http://reader:s3cr3t-token@")
    result = fetch_cli(with_credentials)
    assert result.exit_code == 0, result.output
    records = list(raw_dir(project).glob("*.provenance.yaml"))
    texts = [path.read_text(encoding="utf-8") for path in records]
    assert any(f"source_url: {url}" in text for text in texts), texts
    assert not any("s3cr3t" in text or "reader@" in text for text in texts)
    assert "s3cr3t" not in result.output and url in result.stderr
    failed = fetch_cli(with_credentials, "--retries", "0")  # the server now answers 404
    assert failed.exit_code == 1 and f"error: {url}: HTTP 404" in failed.stderr and "s3cr3t" not in failed.output


@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://u:p@127.0.0.1:8000/x.csv?a=1", "http://127.0.0.1:8000/x.csv?a=1"),
        ("https://token@[::1]/x.csv", "https://[::1]/x.csv"),
        ("https://a@b:c@host/x", "https://host/x"),
        ("https://epoch.ai/data/notable_ai_models.csv", "https://epoch.ai/data/notable_ai_models.csv"),
    ],
)
def test_without_credentials(url, shown):
    assert fetch.without_credentials(url) == shown


def test_the_next_fetch_removes_the_staging_a_killed_fetch_left(project, upstream):
    """Measured on main: a killed fetch's `.fetch-*` staging folder stayed for good. The next fetch removes one
    untouched for STALE_SECONDS (a fresher one may be a fetch still running, and stays)."""
    raw = project / "data" / "raw"
    killed, running = raw / ".fetch-killed", raw / ".fetch-running"
    for folder in (killed, running):
        folder.mkdir()
        (folder / "download.csv").write_bytes(upstream_csv(5))
    long_ago = time.time() - files.STALE_SECONDS - 5
    os.utime(killed, (long_ago, long_ago))
    result = fetch_cli(upstream.serve(ok(upstream_csv(50))))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in raw.glob(".fetch-*")) == [".fetch-running"]


def test_a_header_without_data_rows_is_not_stored(project, upstream):
    """Measured on main: `fetch` stored a 0-row snapshot (a header alone), which `update` would have built."""
    url = upstream.serve(ok(upstream_csv(0)))
    before = raw_state(project)
    assert_failed(fetch_cli(url), url, project, before, "the file has a header but no data rows; nothing stored")


# --- the date of a snapshot: the export's own, never the day it was fetched --------------------------------------


def dated_url(upstream, name: str) -> str:
    """The scripted server's URL with another file name (it answers every path alike)."""
    return upstream.url.replace("notable_ai_models.csv", name)


@pytest.mark.parametrize(
    "name, options, last_modified, date, said",
    [
        ("notable_ai_models_2026-05-02.csv", [], LAST_MODIFIED, "2026-05-02", "the date in the file name"),
        ("notable_ai_models.csv", [], "Tue, 02 Jun 2026 23:59:59 GMT", "2026-06-02", "the server's Last-Modified"),
        ("notable_ai_models.csv", [], "Wed, 03 Jun 2026 01:30:00 +0200", "2026-06-02", "Last-Modified"),  # UTC
        ("notable_ai_models_2026-05-02.csv", ["--date", "2026-04-01"], None, "2026-04-01", "given with --date"),
        # A name dated after the retrieval is a mistake, not a date: Last-Modified is believed instead.
        ("notable_ai_models_2999-01-01.csv", [], LAST_MODIFIED, EXPORT_DATE, "Last-Modified"),
    ],
    ids=["file-name", "last-modified", "last-modified-utc", "date-option", "future-name"],
)
def test_a_snapshot_is_named_and_dated_by_the_export(project, upstream, name, options, last_modified, date, said):
    """Measured on main: an export of 2026-07-19 fetched on 2026-12-06 was named and dated 2026-12-06."""
    url = dated_url(upstream, name)
    upstream.serve(ok(upstream_csv(50), last_modified=last_modified))
    result = fetch_cli(url, *options)
    assert result.exit_code == 0, result.output
    stored = raw_dir(project) / f"epoch_notable_ai_models_{date}.csv"
    record = snapshots.read_provenance(stored)
    assert record["upstream_date"] == date and record["snapshot"] == stored.stem
    assert record["retrieved"] != date and dt.datetime.fromisoformat(record["retrieved"]).tzinfo is not None
    assert ingest.load(stored).as_of == dt.date.fromisoformat(date)
    dated = next(line for line in result.stdout.splitlines() if line.startswith("dated "))
    assert dated.startswith(f"dated {date} (") and said in dated


@pytest.mark.parametrize(
    "last_modified",
    [None, "not a date", "Fri, 01 Jan 2999 00:00:00 GMT"],
    ids=["no-header", "unreadable-header", "future-header"],
)
def test_an_export_without_a_date_is_refused_and_nothing_is_stored(project, upstream, last_modified):
    """No --date, no date in the file name, no believable Last-Modified: the command asks for --date."""
    url = upstream.serve(ok(upstream_csv(50), last_modified=last_modified))
    before = raw_state(project)
    last = assert_failed(fetch_cli(url), url, project, before, "no date for this export")
    assert "give --date YYYY-MM-DD" in last


def test_a_date_after_today_is_a_usage_error(project, upstream):
    url = upstream.serve(ok(upstream_csv(50)))
    before = raw_state(project)
    result = fetch_cli(url, "--date", "2999-01-01")
    assert result.exit_code == 2 and "error: --date 2999-01-01: after today" in result.stderr
    assert upstream.hits == 0 and raw_state(project) == before
