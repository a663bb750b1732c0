"""A local S3-compatible object store for tests: moto's server on 127.0.0.1 (a free port), and an AWS environment
that can reach nothing else (fixed test credentials, no profile or config files, no instance metadata)."""

from __future__ import annotations

import contextlib
import logging
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass(frozen=True)
class ObjectStore:
    """The running endpoint (http://127.0.0.1:PORT)."""

    endpoint: str

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> dict[str, int]:
        """Every key in a bucket and its size in bytes."""
        found = {}
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
            found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
        return found


def isolate_aws(monkeypatch, folder: Path) -> None:
    """Leave the test credentials as the only AWS settings: no AWS_* variable of the machine, empty config and
    credentials files (no ~/.aws), no EC2 metadata lookups, and no proxy between us and 127.0.0.1."""
    folder.mkdir(parents=True, exist_ok=True)
    for key in [key for key in os.environ if key.upper().startswith("AWS_")]:
        monkeypatch.delenv(key)
    for name, variable in (("aws-config", "AWS_CONFIG_FILE"), ("aws-credentials", "AWS_SHARED_CREDENTIALS_FILE")):
        (folder / name).write_text("")
        monkeypatch.setenv(variable, str(folder / name))
    for key, value in {**CREDENTIALS, "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    for key in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(key, "127.0.0.1,localhost")


@contextlib.contextmanager
def object_store() -> Iterator[ObjectStore]:
    """moto's S3 server in a thread of this process, on a port the OS picks; stopped on exit."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield ObjectStore(f"http://{host}:{port}")
    finally:
        # moto keeps the buckets in this process, not in the server: drop them (the 1M-row snapshot is 175 MB)
        with contextlib.suppress(OSError):
            urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST"))
        server.stop()
