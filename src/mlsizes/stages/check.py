"""Check stage: check a curated table against both contracts and write the reports a person can open.

The rules and how they are evaluated (in pandas with GX's semantics, or by GX itself for `--data-docs`) are
records/validation.py's; this stage loads the table, runs both contracts and writes `pandera_failures.csv`
and `gx_results.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlsizes.core.files import atomic_write_text, refuse_unwritable
from mlsizes.core.paths import Paths
from mlsizes.records import contracts
from mlsizes.records.validation import (
    SUITE,
    CheckResult,
    SuiteError,
    canonical,
    gx_expectations,
    load_suite,
    pandera_report,
    run_expectations,
)


def process(models: pd.DataFrame, docs_dir: Path | None = None) -> CheckResult:
    """Both contracts on the table. With docs_dir, GX also runs the suite and builds its Data Docs there; a
    result of GX's that differs from this module's is a SuiteError."""
    suite = load_suite()
    failures = pandera_report(models)
    gx_results = run_expectations(models, suite)
    if docs_dir is not None:
        ours, theirs = canonical(gx_results), canonical(gx_expectations(models, suite, docs_dir))
        if ours != theirs:
            raise SuiteError(f"{SUITE.name}: GX's results differ from check.py's: {theirs} against {ours}")
    return CheckResult(
        success=failures.empty and gx_results["success"], pandera_failures=failures, gx_results=gx_results
    )


def save(result: CheckResult, paths: Paths) -> None:
    """The pandera failures and the suite's results in the validation folder (Data Docs are written by GX)."""
    refuse_unwritable(paths.validation_dir / name for name in ("pandera_failures.csv", "gx_results.json"))
    atomic_write_text(paths.validation_dir / "pandera_failures.csv", result.pandera_failures.to_csv(index=False))
    atomic_write_text(
        paths.validation_dir / "gx_results.json", json.dumps(result.gx_results, indent=2, default=str) + "\n"
    )


@dataclass(frozen=True)
class CheckSettings:
    """What a check run may add: GX's own run of the suite and its Data Docs site (seconds of imports)."""

    data_docs: bool = False


def run(paths: Paths, settings: CheckSettings = CheckSettings()) -> CheckResult:
    """Validate the curated table and write the pandera report and the suite's results (and GX's Data Docs
    when asked)."""
    result = process(contracts.read_curated(paths.models), docs_dir=paths.data_docs if settings.data_docs else None)
    save(result, paths)
    return result
