"""The Python API (mlsizes.api): load, versions, gap_test, fit_trend; and the wheel, installed outside the repo."""

import csv
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import mlsizes
from conftest import ROOT, written_text
from mlsizes.records import contracts
from mlsizes.records.curation import original_text

DATASET = yaml.safe_load((ROOT / "dataset.yaml").read_text())
CURATION = json.loads((ROOT / "metrics" / "curation.json").read_text())
GAP = json.loads((ROOT / "metrics" / "gap.json").read_text())
TRENDS = json.loads((ROOT / "metrics" / "trends.json").read_text())


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A clone of the project's history with every tag deleted: releases are found from dataset.yaml alone."""
    folder = tmp_path_factory.mktemp("api") / "clone"
    git("clone", "--quiet", "--shared", "--no-checkout", str(ROOT), str(folder), cwd=ROOT)
    tags = git("tag", cwd=folder).split()
    if tags:
        git("tag", "-d", *tags, cwd=folder)
    return folder


# ---- load


def test_load_gives_every_record_of_the_bundled_release_typed_from_the_contract():
    df = mlsizes.load()
    assert len(df) == CURATION["curated"]
    assert df.attrs == {"version": str(DATASET["version"]), "as_of": str(DATASET["date"])}
    assert list(df.columns) == list(contracts.curated_columns())
    assert pd.api.types.is_datetime64_any_dtype(df["publication_date"])
    assert df["parameters"].dtype == "float64" and df["training_compute_flop"].dtype == "float64"
    assert df["parameters"].notna().sum() == CURATION["with_parameters"]
    assert list(df["primary_domain"].cat.categories) == list(contracts.vocabulary().names)
    assert list(df["confidence"].cat.categories) == contracts.curated_columns()["confidence"]["isin"]
    assert df["domains"].map(lambda cell: isinstance(cell, list) and len(cell) >= 1).all()
    assert (df["domains"].str[0] == df["primary_domain"].astype(str)).all()
    assert df["source_row"].dtype == "int64"


def test_load_reads_the_table_the_pipeline_wrote():
    df = mlsizes.load()
    written = contracts.read_curated(ROOT / "data" / "curated" / "models.csv")
    assert df["id"].tolist() == written["id"].tolist()
    assert df["publication_date"].dt.strftime("%Y-%m-%d").tolist() == written["publication_date"].tolist()


@given(st.lists(st.text(alphabet="'=+-@\t\rab, ", max_size=6), min_size=1, max_size=20))
def test_original_text_undoes_the_spreadsheet_escape_exactly(cells):
    cells = [cell.replace("\r", "\r\n") for cell in cells]  # a lone CR never reaches the writer
    written = written_text(pd.DataFrame({"name": pd.Series(cells, dtype="str")}))["name"]
    assert original_text(written).tolist() == cells


def test_original_text_keeps_a_leading_escape_that_curate_did_not_add():
    values = pd.Series(["'quoted", "''=x", "'=x", "plain", None], dtype="str")
    assert original_text(values).tolist()[:4] == ["'quoted", "'=x", "=x", "plain"]


def test_load_a_release_from_git_history_in_a_clone_without_tags(clone):
    df = mlsizes.load(version="2022.06.30", repo=clone)
    assert len(df) == 331
    assert df.attrs == {"version": "2022.06.30", "as_of": "2022-06-30"}
    assert df["publication_date"].max() <= pd.Timestamp("2022-06-30")
    assert mlsizes.load(version="v2022.06.30", repo=clone)["id"].tolist() == df["id"].tolist()


def test_load_from_a_git_url_and_the_newest_release_by_default(clone):
    newest = mlsizes.load(repo=f"file://{clone}")
    assert newest.attrs["version"] == str(DATASET["version"])
    assert len(newest) == CURATION["curated"]


def test_load_from_a_url_fetches_only_the_files_it_reads(clone):
    """A URL is cloned partially (--filter=blob:none, where the server allows it): history and trees first, then
    only dataset.yaml at each commit that changed it and the one release's table, not every version of every
    file (issue 24)."""
    from mlsizes.api import _table_at, releases, repository

    git("config", "uploadpack.allowFilter", "true", cwd=clone)

    def blobs(folder):
        listing = git("cat-file", "--batch-all-objects", "--batch-check=%(objecttype)", cwd=folder)
        return listing.split().count("blob")

    with repository(f"file://{clone}") as root:
        assert git("config", "remote.origin.partialclonefilter", cwd=root).strip() == "blob:none"
        assert blobs(root) == 0
        known = releases(root)
        table = _table_at(root, known[1].commit)
        changes = len(git("log", "--format=%H", "--", "dataset.yaml", cwd=root).split())
        assert blobs(root) <= changes + 1 < blobs(clone) / 20
    assert table.count("\n") == 332  # 2022.06.30: its header and 331 records


def test_load_refuses_an_unknown_version_or_a_repository_that_is_not_one(clone, tmp_path):
    with pytest.raises(ValueError, match=r"no release '1999.01.01' \(releases: 2022.06.02, 2022.06.30"):
        mlsizes.load(version="1999.01.01", repo=clone)
    with pytest.raises(ValueError, match="no releases"):
        mlsizes.load(repo=tmp_path)
    with pytest.raises(ValueError, match="not a folder, and git cannot clone it"):
        mlsizes.load(repo=tmp_path / "missing")


def test_versions_lists_the_releases_with_their_headline_figures(clone):
    listing = mlsizes.versions(repo=clone)
    assert listing["version"].tolist() == ["2022.06.02", "2022.06.30", "2022.09.01", "2024.07.16", "2026.03.10"]
    assert pd.api.types.is_datetime64_any_dtype(listing["date"])
    assert listing.loc[1, "records"] == 331
    assert listing.iloc[-1]["records"] == CURATION["curated"]


# ---- analysis


@pytest.mark.parametrize("domain", ["all", "language", "non_language"])
def test_gap_test_on_the_loaded_table_gives_the_pipelines_answer(domain):
    """The same stage code and params: the exact P of gap.json, to the digits it is stored with."""
    test = mlsizes.gap_test(mlsizes.load(), domain)
    stored = GAP["tests"][domain]
    assert test["as_of"] == GAP["as_of"] and test["bounds"] == GAP["bounds"]
    assert test["observed_in_gap"] == stored["observed_in_gap"]
    assert test["expected_in_gap"] == pytest.approx(stored["expected_in_gap"], rel=1e-5)
    assert test["p_le_observed_exact"] == pytest.approx(stored["p_le_observed_exact"], rel=1e-5)
    assert test["systems_in_gap"] == stored["systems_in_gap"]


def test_gap_test_settings_can_be_overridden_and_are_checked():
    df = mlsizes.load()
    wider = mlsizes.gap_test(df, gap_lower=1e10, gap_upper=1e11, bounds="inclusive")
    assert wider["bounds"] == "inclusive"
    assert wider["observed_in_gap"] != GAP["tests"]["language"]["observed_in_gap"]
    early = mlsizes.gap_test(df, as_of="2022-06-30")
    assert early["as_of"] == "2022-06-30" and early["n_systems"] < GAP["tests"]["language"]["n_systems"]
    with pytest.raises(TypeError, match="unknown setting.*gap_low"):
        mlsizes.gap_test(df, gap_low=1e10)
    with pytest.raises(ValueError, match="unknown domain group 'speech'"):
        mlsizes.gap_test(df, "speech")


def test_fit_trend_on_the_loaded_table_gives_the_pipelines_era_fit():
    df = mlsizes.load()
    era = TRENDS["domains"]["all"]["post_2018"]
    fit = mlsizes.fit_trend(df, start=TRENDS["era_break"])
    assert fit["n"] == era["n"]
    assert fit["slope_oom_per_year"] == pytest.approx(era["slope_oom_per_year"], rel=1e-5)


def synthetic_table(slope_oom_per_year: float, sd: float, n: int = 400, seed: int = 7) -> pd.DataFrame:
    """Systems on a known log-linear trend, one every few days from 2010, in load()'s typed form."""
    rng = np.random.default_rng(seed)
    dates = pd.Timestamp("2010-01-01") + pd.to_timedelta(np.arange(n) * 9, unit="D")
    years = (dates - pd.Timestamp("2010-01-01")).days / 365.25
    log10 = 6 + slope_oom_per_year * years + rng.normal(0, sd, n)
    return pd.DataFrame(
        {
            "id": [f"s{i}" for i in range(n)],
            "name": [f"S{i}" for i in range(n)],
            "domains": [["Language"]] * n,
            "primary_domain": "Language",
            "publication_date": dates,
            "parameters": np.round(10.0**log10),
        }
    )


def test_fit_trend_recovers_a_known_slope_from_synthetic_data():
    exact = mlsizes.fit_trend(synthetic_table(0.5, sd=0.0), as_of="2020-01-01")
    assert exact["slope_oom_per_year"] == pytest.approx(0.5, rel=1e-3) and exact["r2"] == pytest.approx(1.0)
    noisy = mlsizes.fit_trend(synthetic_table(0.5, sd=0.3), as_of="2020-01-01")
    low, high = noisy["slope_oom_per_year_ci"]["p2_5"], noisy["slope_oom_per_year_ci"]["p97_5"]
    assert low < 0.5 < high and high - low < 0.1


def test_fit_trend_fits_any_measure_with_the_same_engine():
    table = synthetic_table(0.5, sd=0.0)
    years = (table["publication_date"] - pd.Timestamp("2010-01-01")).dt.days / 365.25
    table["training_compute_flop"] = 10.0 ** (15 + 0.7 * years)  # compute grows faster than parameters
    table.loc[::4, "training_compute_flop"] = np.nan  # a measure known for fewer systems
    compute = mlsizes.fit_trend(table, measure="training_compute_flop", as_of="2020-01-01")
    assert compute["measure"] == "training_compute_flop" and compute["n"] == 300
    assert compute["slope_oom_per_year"] == pytest.approx(0.7, rel=1e-3)
    assert compute["growth_x_per_year"] == pytest.approx(10 ** compute["slope_oom_per_year"])
    assert compute["fitted_training_compute_flop_at_start"] == pytest.approx(1e15, rel=0.05)  # first: day 9
    parameters = mlsizes.fit_trend(table, as_of="2020-01-01")
    assert parameters["measure"] == "parameters" and parameters["slope_oom_per_year"] == pytest.approx(0.5, rel=1e-3)
    with pytest.raises(ValueError, match="unknown measure 'flops'; known: parameters, training_compute_flop"):
        mlsizes.fit_trend(table, measure="flops")


def test_gap_test_finds_a_gap_cut_into_synthetic_data_and_none_where_there_is_none():
    table = synthetic_table(0.5, sd=0.5, n=1500)
    settings = dict(as_of="2046-12-31", fit_start="2030-01-01", test_window_start="2032-01-01")
    # the exact P answers here; the simulated one's 1,000,000 draws (2 s a test) would check nothing more
    settings |= dict(gap_lower=10**16.5, gap_upper=10**17.5, n_simulations=20_000)
    untouched = mlsizes.gap_test(table, **settings)
    assert untouched["p_le_observed_exact"] > 0.05 and untouched["observed_in_gap"] > 10
    inside = (table["parameters"] > 10**16.5) & (table["parameters"] < 10**17.5)
    inside &= table["publication_date"] >= "2032-01-01"
    cut = mlsizes.gap_test(table[~inside], **settings)
    assert cut["observed_in_gap"] == 0 and cut["p_le_observed_exact"] < 1e-6


# ---- the wheel, outside the repository


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The project's wheel installed into a fresh venv whose other packages come from this environment (no
    network); returns (python, mlsizes script)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(".git", ".venv", ".dvc", "*.egg-info"))
    for stale in ("build", "dist"):
        shutil.rmtree(source / stale, ignore_errors=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(work / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (work / "dist").glob("mlsizes-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], check=True)
    return python, venv / "bin" / "mlsizes"


def run_outside(command, tmp_path):
    """Run in an empty folder with nothing of the repository on the path or in the environment."""
    folder = tmp_path / "empty"
    folder.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key not in ("MLSIZES_ROOT", "PYTHONPATH")}
    return subprocess.run([str(part) for part in command], cwd=folder, env=env, capture_output=True, text=True)


def test_the_installed_wheel_loads_every_release_from_an_empty_folder(installed, clone, tmp_path):
    python, _ = installed
    script = "\n".join(
        [
            "import json, mlsizes",
            "df = mlsizes.load()",
            f"old = mlsizes.load(version='2022.06.30', repo={str(clone)!r})",
            "print(json.dumps({'file': mlsizes.__file__, 'n': len(df), 'old': len(old),",
            "    'date': str(df['publication_date'].dtype), 'domain': str(df['primary_domain'].dtype),",
            "    'p': mlsizes.gap_test(df)['p_le_observed_exact']}))",
        ]
    )
    proc = run_outside([python, "-c", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["file"].startswith(str(python.parent.parent)), "imported the repository's copy, not the wheel's"
    assert result["n"] == CURATION["curated"] and result["old"] == 331
    assert result["date"].startswith("datetime64") and result["domain"] == "category"
    assert result["p"] == pytest.approx(GAP["tests"]["language"]["p_le_observed_exact"], rel=1e-5)


def test_the_installed_commands_work_outside_a_project_and_pipeline_ones_say_why_not(installed, tmp_path):
    _, script = installed
    snapshot = sorted((ROOT / "data" / "raw" / "epoch").glob("*.csv"))[-1]
    curated = run_outside([script, "curate", snapshot, "--out", "out", "--metrics", "out/curation.json"], tmp_path)
    assert curated.returncode == 0, curated.stderr
    checked = run_outside([script, "check", "out/models.csv"], tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "0 records fail" in checked.stdout
    # The analysis at the shipped (full) counts on the systems published before 2020: trends, windows, the
    # break date and the split test run; the gap tests find no system in their window (a second, not a quarter
    # of a minute; the full analysis is the pipeline's own, tested in test_analyze.py and test_gap_metrics.py).
    table = tmp_path / "empty" / "out" / "models.csv"
    with open(table, newline="", encoding="utf-8") as handle:
        header, *rows = csv.reader(handle)
    dated = header.index("publication_date")
    with open(table, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *(row for row in rows if row[dated] < "2020")])
    analysed = run_outside(
        [script, "analyze", "out/models.csv", "--curation", "out/curation.json", "--out", "metrics"], tmp_path
    )
    assert analysed.returncode == 0, analysed.stderr
    assert "default params shipped with mlsizes" in analysed.stderr
    gap = json.loads((tmp_path / "empty" / "metrics" / "gap.json").read_text())
    assert gap["bounds"] == GAP["bounds"] and gap["clusters"]["all"]["split_at_gap"]["n_starts"] == 20
    history = run_outside([script, "history"], tmp_path)
    assert history.returncode == 2  # the environment: not in a project
    assert history.stderr.count("\n") == 1 and "`mlsizes history` is a pipeline command" in history.stderr


# A reader's install (issue 24): the pipeline's libraries made unimportable, as in `pip install mlsizes` without
# the extra; the blocker raises what Python raises for a package that is not installed.
WITHOUT_PIPELINE = """
import importlib.abc, sys
from mlsizes.cli import PIPELINE_MODULES

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in PIPELINE_MODULES:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NotInstalled())
"""


def test_the_installed_wheel_needs_no_pipeline_library_to_read_and_analyse(installed, clone, tmp_path):
    """The wheel asks for pandas, numpy, scipy, pyyaml and click only; with every pipeline library missing, the
    four API functions work, `dir(mlsizes)` lists them, a pipeline command says which extra it needs (exit 2) and
    versions() outside a project names repo=. (bench/light_install.py installs the wheel from PyPI for real.)"""
    python, script = installed
    code = WITHOUT_PIPELINE + "\n".join(
        [
            "import json, importlib.metadata, mlsizes",
            "requires = [r for r in importlib.metadata.requires('mlsizes') if 'extra ==' not in r]",
            "df = mlsizes.load()",
            f"old = mlsizes.load(version='2022.06.30', repo={str(clone)!r})",
            f"listed = mlsizes.versions(repo={str(clone)!r})",
            "gap, trend = mlsizes.gap_test(old), mlsizes.fit_trend(df, start='2018-01-01')",
            "try:",
            "    mlsizes.versions()",
            "except Exception as exc:",
            "    error = str(exc)",
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in PIPELINE_MODULES)",
            "print(json.dumps({'requires': requires, 'n': len(df), 'old': len(old), 'versions': len(listed),",
            "    'p': gap['p_le_observed_exact'], 'slope': trend['slope_oom_per_year'], 'error': error,",
            "    'dir': dir(mlsizes), 'loaded': loaded}))",
        ]
    )
    proc = run_outside([python, "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert sorted(r.split(">")[0].split("=")[0] for r in result["requires"]) == [
        "click",
        "numpy",
        "pandas",
        "pyyaml",
        "scipy",
    ]
    assert result["n"] == CURATION["curated"] and result["old"] == 331 and result["versions"] >= 5
    assert 0 < result["p"] < 1 and result["slope"] > 0 and result["loaded"] == []
    assert {"fit_trend", "gap_test", "load", "versions"} <= set(result["dir"])
    assert "pass repo=" in result["error"] and "no dvc.yaml" in result["error"]
    command = WITHOUT_PIPELINE + "from mlsizes.cli import main\nmain()"
    snapshot = sorted((ROOT / "data" / "raw" / "epoch").glob("*.csv"))[-1]
    refused = run_outside([python, "-c", command, "curate", snapshot, "--out", "out"], tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.count("\n") == 1 and 'pip install "mlsizes[pipeline]"' in refused.stderr
    assert not (tmp_path / "empty" / "out").exists()


def test_the_readmes_python_examples_run_as_written(clone):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Using the dataset from Python", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("path/to/clone", str(clone)).replace("https://github.com/OWNER/mlsizes.git", f"file://{clone}")
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert len(namespace["df"]) == CURATION["curated"] and len(namespace["old"]) == 331
    assert len(namespace["language"]) > 100


def test_load_reads_a_release_whose_table_lives_on_a_dvc_remote(tmp_path):
    """When git holds only the table's .dvc pointer (the table moved to a DVC remote), load() reads it with
    dvc.api from the remote, in a fresh clone that has no DVC cache."""
    repo, remote = tmp_path / "repo", tmp_path / "remote"
    (repo / "data" / "curated").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "curated" / "models.csv", repo / "data" / "curated" / "models.csv")
    (repo / "dataset.yaml").write_text("version: 2030.01.01\ndate: '2030-01-01'\nsnapshot: s\nnotes: n\n")
    git("init", "--quiet", cwd=repo)
    git("config", "user.email", "test@example.org", cwd=repo)
    git("config", "user.name", "Test", cwd=repo)
    dvc = [str(Path(sys.executable).parent / "dvc")]
    for command in (
        ["init", "--quiet"],
        ["config", "core.check_update", "false"],
        ["remote", "add", "-d", "storage", str(remote)],
        ["add", "--quiet", "data/curated/models.csv"],
        ["push", "--quiet"],
    ):
        subprocess.run(dvc + command, cwd=repo, check=True, capture_output=True)
    git("add", "-A", cwd=repo)
    git("commit", "--quiet", "-m", "release 2030.01.01", cwd=repo)
    assert subprocess.run(["git", "show", "HEAD:data/curated/models.csv"], cwd=repo, capture_output=True).returncode
    fresh = tmp_path / "fresh"
    git("clone", "--quiet", str(repo), str(fresh), cwd=tmp_path)
    df = mlsizes.load(version="2030.01.01", repo=fresh)
    assert len(df) == CURATION["curated"] and df.attrs["version"] == "2030.01.01"
    shutil.rmtree(remote)
    shutil.rmtree(fresh / ".dvc" / "cache", ignore_errors=True)
    with pytest.raises(mlsizes.api.VersionError, match="neither in git nor readable with DVC"):
        mlsizes.load(version="2030.01.01", repo=fresh)


def test_arguments_that_look_like_options_never_reach_git_as_options(tmp_path, monkeypatch):
    """Measured on main: `load(repo="-uhelp")` reached `git clone` as an option (nothing ran, by luck of the
    argument order), and `load(version=20220630)` ended in an AttributeError."""
    from mlsizes.releases import revisions

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="-uhelp: not a folder, and git cannot clone it"):
        mlsizes.load(repo="-uhelp")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(revisions.VersionError, match="'--output=x' is not a revision or version"):
        revisions.resolve(ROOT, "--output=x")
    with pytest.raises(TypeError, match="version must be text such as '2022.06.30', not int 20220630"):
        mlsizes.load(version=20220630, repo=ROOT)


def test_load_of_a_release_with_a_damaged_table_says_which_release_file_and_what(tmp_path):
    """A release whose models.csv is binary, holds a value of the wrong type or is cut mid-row (issue 22, case 14:
    load had passed pandas' errors through, or read the cut record half empty)."""
    from mlsizes.releases.revisions import VersionError
    from test_versions import DAMAGED_RELEASE, MODELS, release_repo

    table = (ROOT / MODELS).read_bytes().splitlines(keepends=True)[:31]
    header = table[0].decode().rstrip("\n").split(",")
    wrong = table[1].decode().split(",")
    wrong[header.index("parameters")] = "lots"
    cases = {
        "binary": (bytes(range(256)), VersionError, r"not UTF-8 text \(byte 128\)"),
        "type": (b"".join(table[:1]) + ",".join(wrong).encode(), ValueError, r"not a curated table \(.*lots"),
    }
    for name, (data, error, message) in cases.items():
        repo = release_repo(tmp_path / name, {MODELS: data})
        with pytest.raises(error, match=rf"{repo}: release {DAMAGED_RELEASE}: {MODELS}.*{message}"):
            mlsizes.load(version=DAMAGED_RELEASE, repo=repo)

    cut = release_repo(tmp_path / "cut", {MODELS: b"".join(table[:30]) + table[30][:40]})
    with pytest.warns(UserWarning, match=rf"release {DAMAGED_RELEASE}: {MODELS}: ends mid-row .* is left out"):
        frame = mlsizes.load(version=DAMAGED_RELEASE, repo=cut)
    assert len(frame) == 29 and frame["parameters"].dtype == float


def test_dir_lists_the_api_before_first_use():
    """`dir(mlsizes)` in a fresh interpreter lists the four functions, which are imported only on first use."""
    code = "import mlsizes, sys; print(sorted(set(dir(mlsizes)) & set(mlsizes.__all__)), 'mlsizes.api' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "['fit_trend', 'gap_test', 'load', 'versions'] False"
