"""The DVC remote, as the README sets it up, on a real S3-compatible store: moto's S3 server on 127.0.0.1.

The README's "Storing data on a DVC remote" blocks run as written, with only their placeholders replaced (the
bucket, the endpoint, the git URL): a maintainer moves the raw snapshots and the figures to the remote and
pushes; a collaborator's fresh clone gets them back with `dvc pull` alone, byte for byte, with every stage up to
date. One line is checked instead of run: `pip install -e ".[s3]"` would reinstall the environment the other
tests use, so a stand-in `pip` checks that the extra exists and that this environment satisfies it. A
1,000,000-row snapshot round-trips through the same store, and a damaged object in the bucket fails `dvc pull`
(the README's `verify`).
"""

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import BIN, HEADER_2026, ROOT
from s3server import isolate_aws, object_store

SECTION = "## Storing data on a DVC remote"
BUCKET_URL, ENDPOINT, GIT_URL = "s3://my-bucket/mlsizes", "https://s3.example.org", "https://github.com/you/mlsizes.git"
RAW = "data/raw/epoch"
FIGURES = "reports/figures"

# `pip install -e ".[s3]"` without installing: the project's extra s3 must be satisfied by this environment.
PIP_STAND_IN = """\
import sys, tomllib
from importlib.metadata import PackageNotFoundError, version
from packaging.requirements import Requirement

if sys.argv[1:] != ["install", "-e", ".[s3]"]:
    sys.exit(f"pip stand-in: unexpected arguments {sys.argv[1:]}")
with open("pyproject.toml", "rb") as handle:
    extra = tomllib.load(handle)["project"]["optional-dependencies"]["s3"]
for spec in extra:
    requirement = Requirement(spec)
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        sys.exit(f"pip stand-in: {requirement.name} is not installed")
    if not requirement.specifier.contains(installed, prereleases=True):
        sys.exit(f"pip stand-in: {requirement.name} {installed} does not satisfy {spec}")
"""


def run(*args: str, cwd: Path, path: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """A command with this environment's tools first on PATH (and `path` before them); fails with its output."""
    front = [str(path)] if path else []
    env = {**os.environ, "PATH": os.pathsep.join([*front, str(BIN), os.environ["PATH"]])}
    env.pop("MLSIZES_ROOT", None)
    proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)[:200]} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def readme_blocks(replacements: dict[str, str]) -> list[str]:
    """The shell blocks of the README's remote section, in order, with their placeholders replaced."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n{SECTION}\n", 1)[1].split("\n## ", 1)[0]
    blocks = [block.split("```", 1)[0] for block in section.split("```sh\n")[1:]]
    for placeholder, value in replacements.items():
        assert placeholder in "".join(blocks), f"the README's remote section has no {placeholder}"
        blocks = [block.replace(placeholder, value) for block in blocks]
    return blocks


def project_files(repo: Path) -> dict[str, bytes]:
    """Every raw snapshot and every output dvc.yaml declares, by path (a folder's files one by one)."""
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    paths = {RAW} | {
        next(iter(entry)) if isinstance(entry, dict) else entry
        for stage in stages.values()
        for key in ("outs", "metrics", "plots")
        for entry in stage.get(key) or []
    }
    files = {}
    for path in sorted(paths):
        target = repo / path
        for file in sorted(target.rglob("*")) if target.is_dir() else [target]:
            if file.is_file():
                files[file.relative_to(repo).as_posix()] = file.read_bytes()
    return files


def remote_key(prefix: str, md5: str) -> str:
    """Where DVC 3 stores content with this md5 in a remote."""
    return f"{prefix}/files/md5/{md5[:2]}/{md5[2:]}"


def sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def dvc_status(repo: Path) -> dict:
    return yaml.safe_load(run(str(BIN / "dvc"), "status", "--json", cwd=repo).stdout)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The object store, and an environment whose AWS tools can reach only it."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("aws")
        isolate_aws(patch, folder)
        patch.setenv("DVC_SITE_CACHE_DIR", str(folder / "dvc-site-cache"))
        patch.setenv("DVC_NO_ANALYTICS", "1")
        with object_store() as running:
            yield running


@dataclass(frozen=True)
class Published:
    origin: Path  # the project's git server (a bare repository)
    maintainer: Path
    collaborator: Path
    collaborator_output: str
    originals: dict[str, bytes]
    bucket: str
    prefix: str  # the remote's folder in the bucket
    objects: dict[str, int]  # the bucket's keys and sizes after the maintainer's push


@pytest.fixture(scope="module")
def published(store, tmp_path_factory) -> Published:
    """The README's two blocks: the maintainer's migration and push, then a collaborator's clone and pull."""
    base = tmp_path_factory.mktemp("remote")
    origin, maintainer, home = base / "mlsizes.git", base / "maintainer", base / "collaborator"
    run("git", "clone", "-q", "--shared", "--bare", str(ROOT), str(origin), cwd=base)
    run("git", "clone", "-q", str(origin), str(maintainer), cwd=base)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):
        run("git", "config", key, value, cwd=maintainer)
    originals = project_files(maintainer)

    bucket = store.create_bucket("mlsizes-readme")
    replacements = {BUCKET_URL: f"s3://{bucket}/mlsizes", ENDPOINT: store.endpoint, GIT_URL: str(origin)}
    maintainer_block, collaborator_block = readme_blocks(replacements)
    stand_ins = base / "bin"
    stand_ins.mkdir()
    pip = stand_ins / "pip"
    pip.write_text(f"#!{sys.executable}\n{PIP_STAND_IN}")
    pip.chmod(0o755)
    run("bash", "-euo", "pipefail", "-c", maintainer_block, cwd=maintainer, path=stand_ins)
    objects = store.objects(bucket)
    home.mkdir()
    output = run("bash", "-euo", "pipefail", "-c", collaborator_block, cwd=home).stdout
    return Published(origin, maintainer, home / "mlsizes", output, originals, bucket, "mlsizes", objects)


def test_the_push_puts_every_raw_snapshot_and_figure_in_the_bucket(published):
    snapshots = {path: data for path, data in published.originals.items() if path.startswith(f"{RAW}/")}
    figures = {path: data for path, data in published.originals.items() if path.startswith(f"{FIGURES}/")}
    assert len(snapshots) >= 10 and len(figures) >= 6  # five snapshots with their provenance, six figures
    for path, data in {**snapshots, **figures}.items():
        key = remote_key(published.prefix, hashlib.md5(data).hexdigest())
        assert published.objects.get(key) == len(data), f"{path} is not in the bucket"
    cache = published.maintainer / ".dvc" / "cache"
    cached = {file.relative_to(cache).as_posix(): file.stat().st_size for file in cache.rglob("*") if file.is_file()}
    assert published.objects == {f"{published.prefix}/{path}": size for path, size in cached.items()}


def test_git_no_longer_holds_them_so_a_clone_without_dvc_pull_lacks_them(published, tmp_path):
    clone = tmp_path / "clone"
    run("git", "clone", "-q", str(published.origin), str(clone), cwd=tmp_path)
    assert not list((clone / RAW).glob("*.csv")) and not list((clone / FIGURES).glob("*.png"))
    assert {"curate", "history", "report"} <= set(dvc_status(clone))


def test_a_fresh_clone_with_dvc_pull_is_byte_identical_and_up_to_date(published):
    assert published.collaborator_output.endswith("Data and pipelines are up to date.\n")  # the block's dvc status
    pulled = project_files(published.collaborator)
    assert sorted(pulled) == sorted(published.originals)
    assert [path for path in pulled if pulled[path] != published.originals[path]] == []


def test_the_remote_round_trips_a_million_row_snapshot(published, store, tmp_path, monkeypatch):
    """A clone of the project adds a 1,000,000-row snapshot and pushes it to the README's remote; with the file and
    the cache gone, `dvc pull` brings it back. The snapshot is the bench's (real rows resampled) with the columns
    the pipeline reads: 175 MB (all 47 columns would make 2 GB; see bench/synthetic.py)."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import synthetic

    narrow = tmp_path / "source.csv"
    synthetic._source_rows().loc[:, HEADER_2026].to_csv(narrow, index=False)
    monkeypatch.setattr(synthetic, "SOURCE", narrow)
    clone = tmp_path / "clone"
    run("git", "clone", "-q", str(published.origin), str(clone), cwd=tmp_path)
    snapshot = synthetic.synthetic_snapshot(1_000_000, clone / "data" / "raw" / "synthetic_1m.csv")
    assert len(pd.read_csv(snapshot, usecols=["Model"], dtype=str)) == 1_000_000
    digest = sha256(snapshot)

    dvc, tracked = str(BIN / "dvc"), "data/raw/synthetic_1m.csv.dvc"
    run(dvc, "add", "-q", "data/raw/synthetic_1m.csv", cwd=clone)
    run(dvc, "push", "-q", tracked, cwd=clone)
    md5 = yaml.safe_load((clone / tracked).read_text())["outs"][0]["md5"]
    key = remote_key(published.prefix, md5)
    assert key not in published.objects and store.objects(published.bucket)[key] == snapshot.stat().st_size

    snapshot.unlink()
    shutil.rmtree(clone / ".dvc" / "cache")
    run(dvc, "pull", "-q", tracked, cwd=clone)
    assert sha256(snapshot) == digest


def damaged_copy(store, published: Published, name: str, damage: dict[str, Callable[[bytes], bytes]]) -> str:
    """A copy of the README's bucket in which the objects of some files (by path) are damaged."""
    client, bucket = store.client(), store.create_bucket(name)
    keys = {remote_key(published.prefix, hashlib.md5(published.originals[path]).hexdigest()): path for path in damage}
    assert set(keys) <= set(published.objects)
    for key in published.objects:
        body = client.get_object(Bucket=published.bucket, Key=key)["Body"].read()
        client.put_object(Bucket=bucket, Key=key, Body=damage[keys[key]](body) if key in keys else body)
    return bucket


def flip_one_byte(data: bytes) -> bytes:
    return data[:100] + bytes([data[100] ^ 1]) + data[101:]


def test_a_damaged_object_in_the_bucket_fails_dvc_pull_naming_its_file(published, store, tmp_path):
    """Measured on main (issue 22, case 6): one byte changed in a stored snapshot and a figure cut in half went
    unnoticed; in a fresh clone `dvc pull` exited 0 and `dvc status` said up to date. The README turns on the
    remote's `verify`: the pull hashes what it downloads, drops the damaged objects, exits 1 naming the figure and
    the snapshots' folder, and writes no damaged byte into the workspace."""
    snapshot = next(path for path in published.originals if path.startswith(f"{RAW}/") and path.endswith(".csv"))
    figure = f"{FIGURES}/fig1_sizes.png"
    bucket = damaged_copy(
        store, published, "mlsizes-damaged", {snapshot: flip_one_byte, figure: lambda data: data[: len(data) // 2]}
    )
    clone = tmp_path / "clone"
    run("git", "clone", "-q", str(published.origin), str(clone), cwd=tmp_path)
    assert "verify = true" in (clone / ".dvc" / "config").read_text()  # committed: every clone verifies
    dvc = str(BIN / "dvc")
    run(dvc, "remote", "modify", "--local", "storage", "url", f"s3://{bucket}/mlsizes", cwd=clone)

    proc = run(dvc, "pull", cwd=clone, check=False)
    assert proc.returncode != 0
    failed = proc.stderr.split("Checkout failed for following targets:\n", 1)[1].split("\nIs your cache")[0]
    assert sorted(failed.splitlines()) == sorted([RAW, figure]), proc.stderr
    pulled = project_files(clone)
    assert figure not in pulled and [path for path in pulled if pulled[path] != published.originals[path]] == []
    assert {"curate", "report", f"{RAW}.dvc"} <= set(dvc_status(clone))  # and status says so
