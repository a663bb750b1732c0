"""Validate stage: check a curated table against both contracts and write the reports a person can open.

- `schemas/curated.yaml` (pandera, lazy): every record; failures go to `pandera_failures.csv`, keyed by id.
- `schemas/dataset.expectations.json` (Great Expectations 1.x): dataset-level rules; the results go to
  `gx_results.json` and the Data Docs HTML site under `data_docs/`.

Great Expectations takes seconds to import, so it is imported here only, never on a fast path.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlsizes import contracts
from mlsizes.files import atomic_write_text
from mlsizes.paths import SCHEMA_DIR, Paths

# Great Expectations stamps its Data Docs with the wall clock and random element ids. The run gets a fixed time
# and the pages are normalised afterwards, so the same data gives the same bytes (and DVC sees no change).
DOCS_RUN_TIME = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_CLOCK_STAMP = re.compile(r"\d{8}T\d{6}\.\d{6}Z")
_CACHE_BUSTER = re.compile(r"\?d=\d{8}T\d{6}\.\d{6}Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class CheckResult:
    """The verdict of both contracts on a table: per-record pandera failures and the GX suite's results."""

    success: bool
    pandera_failures: pd.DataFrame
    gx_results: dict

    def summary(self) -> str:
        """One line: how many records fail pandera, how many expectations pass."""
        stats = self.gx_results["statistics"]
        failed = [e["type"] for e in self.gx_results["expectations"] if not e["success"]]
        return (
            f"pandera: {self.pandera_failures['id'].nunique()} records fail schemas/curated.yaml; "
            f"great expectations: {stats['successful_expectations']}/{stats['evaluated_expectations']} passed"
            + (f" (failed: {', '.join(failed)})" if failed else "")
        )


def pandera_report(models: pd.DataFrame) -> pd.DataFrame:
    """Every failed record check as id, column, check and value."""
    failures = contracts.record_failures(models, contracts.curated_schema())
    report = failures.assign(id=models["id"].reindex(failures["index"]).to_numpy())
    return report[["id", "column", "check", "failure_case"]].rename(columns={"failure_case": "value"})


def load_suite() -> dict:
    """The expectation suite as the JSON file in schemas/ declares it."""
    with open(SCHEMA_DIR / "dataset.expectations.json", encoding="utf-8") as handle:
        return json.load(handle)


def run_expectations(models: pd.DataFrame, docs_dir: Path | None) -> dict:
    """Run the expectation suite on the table; build Data Docs into docs_dir when given."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    spec = load_suite()
    suite = gx.ExpectationSuite(name=spec["name"])
    for entry in spec["expectations"]:
        expectation_class = getattr(gxe, "".join(part.title() for part in entry["type"].split("_")))
        suite.add_expectation(expectation_class(**entry["kwargs"]))
    suite = context.suites.add(suite)
    batch = context.data_sources.add_pandas("mlsizes").add_dataframe_asset("curated_models")
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name="curated_dataset", data=batch.add_batch_definition_whole_dataframe("whole table"), suite=suite
        )
    )
    actions = []
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name="mlsizes",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(Path(docs_dir).resolve()),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        actions.append(gx.checkpoint.UpdateDataDocsAction(name="data_docs"))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name="curated_dataset", validation_definitions=[definition], actions=actions)
    )
    result = checkpoint.run(
        batch_parameters={"dataframe": models},
        run_id=RunIdentifier(run_name=spec["name"], run_time=DOCS_RUN_TIME),
    )
    if docs_dir is not None:
        normalise_data_docs(Path(docs_dir))
    (validation,) = result.describe_dict()["validation_results"]
    return {
        "suite": spec["name"],
        "success": bool(validation["success"]),
        "statistics": validation["statistics"],
        "expectations": [
            {
                "type": item["expectation_type"],
                "kwargs": {k: v for k, v in item["kwargs"].items() if k != "batch_id"},
                "success": bool(item["success"]),
                "result": {
                    k: v
                    for k, v in item["result"].items()
                    if k
                    in (
                        "observed_value",
                        "element_count",
                        "unexpected_count",
                        "unexpected_percent",
                        "partial_unexpected_list",
                        "missing_count",
                    )
                },
            }
            for item in validation["expectations"]
        ],
    }


def normalise_data_docs(docs_dir: Path) -> None:
    """Remove wall-clock stamps and random ids from the Data Docs pages (ids become page-local counters)."""
    fixed = DOCS_RUN_TIME.strftime("%Y%m%dT%H%M%S.%fZ")
    for page in sorted(docs_dir.rglob("*.html")):
        text = _CLOCK_STAMP.sub(fixed, _CACHE_BUSTER.sub("", page.read_text(encoding="utf-8")))
        ids: dict[str, str] = {}
        text = _UUID.sub(lambda match, ids=ids: ids.setdefault(match.group(), f"block-{len(ids) + 1}"), text)
        atomic_write_text(page, text)


def process(models: pd.DataFrame, docs_dir: Path | None = None) -> CheckResult:
    """Both contracts on the table; the Data Docs go to docs_dir when given."""
    failures = pandera_report(models)
    gx_results = run_expectations(models, docs_dir)
    return CheckResult(
        success=failures.empty and gx_results["success"], pandera_failures=failures, gx_results=gx_results
    )


def save(result: CheckResult, paths: Paths) -> None:
    """The pandera failures and the GX results in the validation folder (the Data Docs are written by GX)."""
    atomic_write_text(paths.validation_dir / "pandera_failures.csv", result.pandera_failures.to_csv(index=False))
    atomic_write_text(
        paths.validation_dir / "gx_results.json", json.dumps(result.gx_results, indent=2, default=str) + "\n"
    )


def run(paths: Paths) -> CheckResult:
    """Validate the curated table and write the pandera report, the GX results and the Data Docs."""
    result = process(contracts.read_curated(paths.models), docs_dir=paths.data_docs)
    save(result, paths)
    return result
