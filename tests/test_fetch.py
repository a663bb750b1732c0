"""`mlsizes fetch` against a real HTTP server on 127.0.0.1, serving cuts of a real upstream snapshot.

Every failure must end with one `error: <url>: <reason>` line, exit code 1 and data/raw/ exactly as before
(no file changed, none left half-written). The project is a temporary copy (MLSIZES_ROOT), never /work/main/data.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import RAW
from mlsizes import fetch, ingest, snapshots
from mlsizes.cli import main
from mlsizes.project import project_root

REAL_SNAPSHOT = RAW / "epoch_notable_ai_models_2026-03-10.csv"
EXISTING = "epoch_notable_ai_models_2026-03-10"
FAST = ["--backoff", "0.01", "--timeout", "2"]


@functools.cache
def upstream_csv(records: int, drop_column: str | None = None) -> bytes:
    """The header and first RECORDS records of the real 2026-03-10 download, in its format."""
    with open(REAL_SNAPSHOT, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[: records + 1]
    if drop_column is not None:
        index = rows[0].index(drop_column)
        rows = [row[:index] + row[index + 1:] for row in rows]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


# --- a scripted upstream server -------------------------------------------------------------------------

def ok(body: bytes):
    def answer(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/csv")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return answer


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


def unannounced(body: bytes):
    """No Content-Length: the body ends when the connection closes (HTTP/1.0)."""
    def answer(handler):
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(body)
    return answer


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


@pytest.fixture
def upstream():
    server = Upstream()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


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
    """Every file under data/raw/ (hidden ones included) with its sha256."""
    raw = root / "data" / "raw"
    return {str(path.relative_to(raw)): snapshots.sha256_of(path) for path in sorted(raw.rglob("*")) if path.is_file()}


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


@pytest.mark.parametrize("first", [status(500), status(503), cut_off(upstream_csv(50)[:500], 1000)],
                         ids=["500", "503", "cut-off"])
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
    assert_failed(fetch_cli(url, "--max-mb", "0.001"), url, project, before, "over the size cap of 1048 bytes")


def test_interrupt_mid_download_leaves_nothing(project, upstream):
    url = upstream.serve(ok(upstream_csv(50)))
    before = raw_state(project)

    def interrupt(done, total):
        raise KeyboardInterrupt

    options = fetch.FetchOptions(timeout=2, max_bytes=fetch.MB, retries=0, backoff=0, deadline=30)
    with pytest.raises(KeyboardInterrupt):
        fetch.run(url, raw_dir(project), options, on_progress=interrupt)
    assert raw_state(project) == before


# --- success ----------------------------------------------------------------------------------------------

def test_new_content_is_stored_with_provenance(project, upstream):
    body = upstream_csv(50)
    url = upstream.serve(ok(body))
    before = raw_state(project)
    result = fetch_cli(url)
    assert result.exit_code == 0, result.output

    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    stem = f"epoch_notable_ai_models_{today}"
    stored = raw_dir(project) / f"{stem}.csv"
    assert stored.read_bytes() == body
    assert not stored.stat().st_mode & 0o222, "a snapshot is stored read-only"
    assert set(raw_state(project)) == set(before) | {f"epoch/{stem}.csv", f"epoch/{stem}.provenance.yaml"}
    assert {name: sha for name, sha in raw_state(project).items() if name in before} == before

    record = snapshots.read_provenance(stored)
    real_record = snapshots.read_provenance(REAL_SNAPSHOT)
    assert list(record) == list(real_record)
    assert record["snapshot"] == stem
    assert record["sha256"] == snapshots.sha256_of(stored) == hashlib.sha256(body).hexdigest()
    assert record["size_bytes"] == len(body)
    assert record["rows"] == 50
    assert record["source_url"] == url
    assert record["retrieved_from"] == {"kind": "http", "url": url}
    assert record["upstream_date"] == today
    assert dt.datetime.fromisoformat(record["retrieved"]).tzinfo is not None
    assert record["license"] == snapshots.LICENSE and record["citation"] == snapshots.CITATION
    assert ingest.load(stored, require_provenance=True).provenance == record

    assert f"set `snapshot: {stem}` in params.yaml, then run `dvc repro`" in result.stdout


def test_same_content_as_existing_snapshot_writes_nothing(project, upstream):
    url = upstream.serve(ok(upstream_csv(40)))
    before = raw_state(project)
    result = fetch_cli(url)
    assert result.exit_code == 0, result.output
    assert f"unchanged: {url} is identical to data/raw/epoch/{EXISTING}.csv; nothing written" in result.stdout
    assert raw_state(project) == before


def test_same_date_different_content_gets_a_suffix(project, upstream):
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    stem = f"epoch_notable_ai_models_{today}"
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
    assert project_root() == project.resolve()
