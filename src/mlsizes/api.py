"""The Python API: the curated table in a notebook in one line, any release of it, and the study's analysis on
any table.

    import mlsizes
    df = mlsizes.load()                                        # the newest release, shipped with the package
    old = mlsizes.load(version="2022.06.30", repo="path/or/git/url")   # a release, read from git history
    mlsizes.versions(repo=".")                                 # the releases, one row each
    mlsizes.gap_test(df, domain="language")                    # the parameter-gap test, params.yaml's defaults
    mlsizes.fit_trend(df, start="2018-01-01")                  # a log-linear size trend
    mlsizes.fit_trend(df, measure="training_compute_flop", start="2010-01-01")   # any measure, same engine

`load` types every column from the contract (schemas/curated.yaml): dates as datetime64, sizes as floats,
columns with a closed vocabulary as categoricals, `domains` as lists; text cells get back the exact value
curate escaped for spreadsheets. The analysis functions run the study code (analysis/study.py) with the defaults of
the params.yaml shipped with the package, each overridable by keyword.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import subprocess
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from mlsizes.core import untrusted
from mlsizes.core.errors import reason
from mlsizes.core.paths import BUNDLED_DIR, VERSIONED_TABLE, ProjectNotFound, find_root
from mlsizes.core.settings import AnalysisParams, Settings, iso_date
from mlsizes.records import contracts, curation
from mlsizes.releases.revisions import Release, VersionError, complete_records, read_at, releases

# A column of lists: its cells are these separated entries of the vocabulary (schemas/domains.yaml).
LIST_COLUMNS = {"domains": ","}


# --------------------------------------------------------------------------------------------------
# loading


def load(version: str | None = None, repo: str | Path | None = None) -> pd.DataFrame:
    """The curated table, typed from the contract (see the module docstring).

    With neither argument: the newest release, shipped inside the package (no clone, no network). With `repo`
    (a clone's folder or any URL git can clone): that repository's release `version` (as `mlsizes versions`
    lists them; default its newest), read from git history, so a clone without tags works. A `version` alone
    reads the project around the working directory. `df.attrs` holds the version and its as-of date, which
    gap_test and fit_trend use as their default cut-off.
    """
    if version is None and repo is None:
        meta = untrusted.load_text(untrusted.read_file(BUNDLED_DIR / "dataset.yaml", follow_links=True))
        text = (BUNDLED_DIR / "models.csv").read_text(encoding="utf-8")
        return typed(text, version=str(meta["version"]), as_of=str(meta["date"]))
    with repository(repo) as root:
        known = releases(root)
        if not known:
            raise ValueError(f"{repo or root}: no releases (no commit sets a version in dataset.yaml)")
        wanted = known[-1] if version is None else _release(known, version, repo or root)
        where = f"{repo or root}: release {wanted.version}: {VERSIONED_TABLE}"
        try:
            text, cut = complete_records(_table_at(root, wanted.commit), where)
        except VersionError as exc:  # not text
            raise VersionError(f"{repo or root}: release {wanted.version}: {exc}") from None
        if cut:
            warnings.warn(cut, stacklevel=2)
        try:
            return typed(text, version=wanted.version, as_of=wanted.date)
        except (ValueError, TypeError) as exc:  # pandas' parse and type errors: the file is no curated table
            raise ValueError(f"{where}: not a curated table ({reason(exc)})") from None


def versions(repo: str | Path | None = None) -> pd.DataFrame:
    """The releases of a repository (default: the project around the working directory), oldest first: version,
    commit, date, upstream snapshot, notes and the headline figures `mlsizes versions` prints."""
    from mlsizes.releases import release_list

    with repository(repo) as root:
        rows = [
            {key: value for key, value in item.items() if key != "headline"} | item["headline"]
            for item in release_list.run(root)
        ]
    frame = pd.DataFrame(rows, columns=None if rows else ["version", "commit", "date", "snapshot", "notes"])
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    return frame


@contextlib.contextmanager
def repository(repo: str | Path | None):
    """A git work tree to read history from: the folder given, a temporary partial clone of a URL (no file
    content fetched until read), or the project around the working directory."""
    if repo is None:
        try:
            root = find_root()
        except ProjectNotFound as exc:  # a reader's first call: say how to name a repository
            raise ProjectNotFound(
                f"no project to read releases from ({exc}): pass repo= (a clone's folder or any URL git can clone)"
            ) from None
        yield root
        return
    folder = Path(repo).expanduser()
    if folder.is_dir():
        yield folder.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="mlsizes-clone-") as scratch:
        # A partial clone: commits and trees now, a file's content only when it is read (dataset.yaml at each
        # commit that changed it, then the one release's table), not every version of every file. A server
        # that does not allow filters gives a full clone instead (git says so on stderr; it still works).
        proc = subprocess.run(
            ["git", "clone", "--quiet", "--no-checkout", "--filter=blob:none", "--", str(repo), scratch],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines()
            raise ValueError(f"{repo}: not a folder, and git cannot clone it ({lines[-1] if lines else 'no reason'})")
        yield Path(scratch)


def _release(known: list[Release], version: str, where) -> Release:
    if not isinstance(version, str):  # load(version=20220630) had ended in an AttributeError
        raise TypeError(f"version must be text such as '2022.06.30', not {type(version).__name__} {version!r}")
    for release in known:
        if release.version == version.removeprefix("v"):
            return release
    names = ", ".join(r.version for r in known)
    raise ValueError(f"{where}: no release {version!r} (releases: {names})")


def _table_at(root: Path, commit: str) -> str:
    """models.csv as git holds it at a commit; from the DVC remote when git holds only its .dvc pointer."""
    text = read_at(root, commit, VERSIONED_TABLE)
    if text is not None:
        return text
    try:
        import dvc.api
    except ModuleNotFoundError:  # a reader's install has no DVC (issue 24)
        raise VersionError(
            f"{commit[:10]}: {VERSIONED_TABLE} is on a DVC remote, which needs the pipeline extra: "
            'pip install "mlsizes[pipeline]"'
        ) from None
    try:
        return dvc.api.read(VERSIONED_TABLE, repo=str(root), rev=commit, encoding="utf-8")
    except Exception as exc:  # DVC's errors (no remote, no credentials) vary by backend; say which file failed
        raise VersionError(f"{commit[:10]}: {VERSIONED_TABLE} is neither in git nor readable with DVC ({exc})") from exc


def typed(text: str, version: str | None = None, as_of: str | None = None) -> pd.DataFrame:
    """A curated CSV's text as a typed table (see the module docstring); attrs carry version and as-of date."""
    frame = contracts.read_curated(io.StringIO(text))
    for name, spec in contracts.curated_columns().items():
        if name not in frame:
            continue
        if spec["dtype"] == "str":
            frame[name] = curation.original_text(frame[name])
        if name in LIST_COLUMNS:
            frame[name] = frame[name].str.split(LIST_COLUMNS[name])
        elif contracts.is_date(spec):
            frame[name] = pd.to_datetime(frame[name], format="%Y-%m-%d")
        elif "isin" in spec:
            frame[name] = pd.Categorical(frame[name], categories=spec["isin"])
    frame.attrs.update(version=version, as_of=as_of)
    return frame


# --------------------------------------------------------------------------------------------------
# analysis


def analysis_params(frame: pd.DataFrame | None = None, params: str | Path | None = None, **overrides) -> AnalysisParams:
    """The `analysis:` settings of params.yaml (the shipped copy, or the file given) with keyword overrides
    (any AnalysisParams field; dates as ISO strings or dates). Without an as-of date, the table's own (from
    load) or else its newest publication date."""
    settings = Settings.load(Path(params) if params else BUNDLED_DIR / "params.yaml").analysis
    fields = {field.name: field.type for field in dataclasses.fields(AnalysisParams)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise TypeError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(fields)}")
    dates = {name for name, kind in fields.items() if "date" in str(kind)}
    changes = {name: iso_date(v) if name in dates and v is not None else v for name, v in overrides.items()}
    params = dataclasses.replace(settings, **changes)
    if params.as_of is None and frame is not None:
        stated = frame.attrs.get("as_of")
        newest = pd.to_datetime(frame["publication_date"]).max()
        params = dataclasses.replace(params, as_of=iso_date(stated) if stated else newest.date())
    return params


def stage_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A table from load() (or read as curate writes it) in the form the analysis stage reads: ISO date text,
    comma-separated domains, plain text for categoricals."""
    table = frame.copy()
    if pd.api.types.is_datetime64_any_dtype(table["publication_date"]):
        table["publication_date"] = table["publication_date"].dt.strftime("%Y-%m-%d")
    for name, separator in LIST_COLUMNS.items():
        if name in table and table[name].map(lambda cell: isinstance(cell, list)).any():
            table[name] = table[name].map(separator.join)
    for name in table.columns:
        if isinstance(table[name].dtype, pd.CategoricalDtype):
            table[name] = table[name].astype("str").where(table[name].notna())
    return table


def _systems(frame: pd.DataFrame, params: AnalysisParams, domain: str, measure: str = "parameters") -> pd.DataFrame:
    from mlsizes.analysis import study

    systems = study.select_systems(stage_table(frame), params, measure)
    groups = study.domain_group_names(params) + ["non_language"]
    if domain not in groups:
        raise ValueError(f"unknown domain group {domain!r}; known: {', '.join(groups)}")
    return systems[study.domain_mask(systems, domain, params)]


def gap_test(
    frame: pd.DataFrame, domain: str = "language", *, extended: bool = False, params=None, **overrides
) -> dict:
    """The parameter-gap test on any curated table, as the analyze stage runs it for gap.json's `tests`.

    `domain`: all, language, non_language or any group of params.yaml. `extended` adds the scan-corrected,
    posterior-predictive and out-of-sample P (seconds, not milliseconds). Settings: params.yaml's `analysis:`
    (the shipped copy or `params=`), each overridable, e.g. `gap_lower=1e10, bounds="inclusive"`.
    """
    from mlsizes.analysis import study

    settings = analysis_params(frame, params, **overrides)
    systems = _systems(frame, settings, domain)
    test = study.gap_test(
        systems, settings.fit_start, settings.test_window_start, settings.as_of, settings, extended=extended
    )
    return {"domain": domain, "as_of": settings.as_of.isoformat(), "bounds": settings.bounds} | study.stored(test)


def fit_trend(
    frame: pd.DataFrame,
    domain: str = "all",
    *,
    measure: str = "parameters",
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    params=None,
    **overrides,
) -> dict:
    """The log-linear trend of a measure against publication date (OLS on log10, bootstrap interval) for the
    systems of a domain group published in [start, end] (default: all of them up to the as-of date), in the
    units of trends.json: OOMs per year, x/year, doubling time, R². `measure`: parameters (default),
    training_compute_flop, training_dataset_size or training_cost_usd (study.MEASURES), fitted by the same code."""
    from mlsizes.analysis import study

    settings = analysis_params(frame, params, **overrides)
    end_date = iso_date(end) if end is not None else settings.as_of
    start_date = iso_date(start) if start is not None else None
    study.check_measure(measure)
    systems = _systems(frame, dataclasses.replace(settings, as_of=max(end_date, settings.as_of)), domain, measure)
    period = systems[study.between(systems, start_date, end_date)]
    return {"measure": measure} | study.trend_summary(period, start_date, end_date, settings, measure)
