"""Both contracts evaluated on a curated table: the record schema (pandera) and the dataset suite (GX's rules).

The check stage writes the results; the site reads them back as a CheckResult.

- `schemas/curated.yaml` (pandera, lazy): every record; failures go to `pandera_failures.csv`, keyed by id.
- `schemas/dataset.expectations.json` (a Great Expectations 1.x suite, the single source of the dataset-level
  rules): evaluated here in pandas, with GX's semantics for each expectation type the suite uses (`EVALUATORS`:
  bounds inclusive unless `strict_min`/`strict_max`, `mostly` as the share of non-null rows over all rows, an
  empty table vacuously non-null). The results go to `gx_results.json`, which keeps its name because its format
  is GX's: the part of a GX validation result a reader needs (statistics; each expectation's type, kwargs,
  success and result). A suite rule of a type or with a kwarg this module cannot evaluate is refused in one
  line, so a new rule never passes unevaluated.

Great Expectations itself takes longer to import (about 6 s) than pandas and pandera together, so the stage
does not import it. `mlsizes check --data-docs` does: it runs the suite with GX as well, builds GX's Data Docs
site (HTML that loads its scripts and styles from CDNs) and refuses to write if GX and this module disagree.
`tests/test_check.py` holds the evaluators to GX's own results on the real table and on tables that break each
rule or sit on its boundary.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlsizes.core.files import atomic_write_text
from mlsizes.core.paths import SCHEMA_DIR
from mlsizes.records import contracts

SUITE = SCHEMA_DIR / "dataset.expectations.json"
# GX's default result format (BASIC) lists at most this many unexpected values.
PARTIAL_UNEXPECTED_COUNT = 20
# The result fields the report keeps from GX's validation result (GX adds more, e.g. for other result formats).
RESULT_FIELDS = (
    "observed_value",
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "partial_unexpected_list",
    "missing_count",
)

# Great Expectations stamps its Data Docs with the wall clock and random element ids. The run gets a fixed time
# and the pages are normalised afterwards, so the same data gives the same bytes.
DOCS_RUN_TIME = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_CLOCK_STAMP = re.compile(r"\d{8}T\d{6}\.\d{6}Z")
_CACHE_BUSTER = re.compile(r"\?d=\d{8}T\d{6}\.\d{6}Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class SuiteError(ValueError):
    """The expectation suite holds a rule this module cannot evaluate, or GX disagrees with it."""


@dataclass
class CheckResult:
    """The verdict of both contracts on a table: per-record pandera failures and the suite's results."""

    success: bool
    pandera_failures: pd.DataFrame
    gx_results: dict

    def summary(self) -> str:
        """One line: how many records fail pandera, how many expectations pass."""
        stats = self.gx_results["statistics"]
        failed = [e["type"] for e in self.gx_results["expectations"] if not e["success"]]
        return (
            f"pandera: {self.pandera_failures['id'].nunique()} records fail schemas/curated.yaml; "
            f"expectations: {stats['successful_expectations']}/{stats['evaluated_expectations']} passed"
            + (f" (failed: {', '.join(failed)})" if failed else "")
        )


def pandera_report(models: pd.DataFrame) -> pd.DataFrame:
    """Every failed record check as id, column, check and value."""
    failures = contracts.record_failures(models, contracts.curated_schema())
    report = failures.assign(id=models["id"].reindex(failures["index"]).to_numpy())
    return report[["id", "column", "check", "failure_case"]].rename(columns={"failure_case": "value"})


def load_suite() -> dict:
    """The expectation suite as the JSON file in schemas/ declares it."""
    with open(SUITE, encoding="utf-8") as handle:
        return json.load(handle)


def _between(observed: int, kwargs: dict) -> bool:
    """GX's bounds: each side inclusive unless strict, a missing bound is no bound."""
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    above = low is None or (observed > low if kwargs.get("strict_min") else observed >= low)
    below = high is None or (observed < high if kwargs.get("strict_max") else observed <= high)
    return above and below


def _row_count(models: pd.DataFrame, kwargs: dict) -> tuple[bool, dict]:
    observed = len(models)
    return _between(observed, kwargs), {"observed_value": observed}


def _unique_value_count(models: pd.DataFrame, kwargs: dict) -> tuple[bool, dict]:
    observed = int(models[kwargs["column"]].nunique())  # nulls are not a value
    return _between(observed, kwargs), {"observed_value": observed}


def _not_null(models: pd.DataFrame, kwargs: dict) -> tuple[bool, dict]:
    total = len(models)
    unexpected = int(models[kwargs["column"]].isna().sum())
    success = total == 0 or (total - unexpected) / total >= kwargs.get("mostly", 1.0)
    return success, {
        "element_count": total,
        "unexpected_count": unexpected,
        "unexpected_percent": unexpected / total * 100 if total else None,
        "partial_unexpected_list": [None] * min(unexpected, PARTIAL_UNEXPECTED_COUNT),
    }


_BOUNDS = {"min_value", "max_value", "strict_min", "strict_max"}
# Expectation type -> (its evaluator, the kwargs the evaluator honours).
EVALUATORS: dict[str, tuple[Callable[[pd.DataFrame, dict], tuple[bool, dict]], set[str]]] = {
    "expect_table_row_count_to_be_between": (_row_count, _BOUNDS),
    "expect_column_unique_value_count_to_be_between": (_unique_value_count, {"column"} | _BOUNDS),
    "expect_column_values_to_not_be_null": (_not_null, {"column", "mostly"}),
}


def _evaluator(entry: dict) -> Callable[[pd.DataFrame, dict], tuple[bool, dict]]:
    """The evaluator of one suite entry, or a one-line SuiteError naming what it cannot evaluate."""
    kind = entry["type"]
    if kind not in EVALUATORS:
        raise SuiteError(f"{SUITE.name}: expectation type {kind} has no evaluator in check.py (EVALUATORS)")
    evaluate, honoured = EVALUATORS[kind]
    unknown = sorted(set(entry["kwargs"]) - honoured)
    if unknown:
        raise SuiteError(f"{SUITE.name}: {kind} kwarg {unknown[0]} is not evaluated by check.py")
    return evaluate


def results(suite: dict, expectations: list[dict]) -> dict:
    """GX's validation-result shape around per-expectation results: the suite's name, success, statistics."""
    passed = sum(e["success"] for e in expectations)
    return {
        "suite": suite["name"],
        "success": passed == len(expectations),
        "statistics": {
            "evaluated_expectations": len(expectations),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(expectations) - passed,
            "success_percent": passed / len(expectations) * 100 if expectations else None,
        },
        "expectations": expectations,
    }


def run_expectations(models: pd.DataFrame, suite: dict) -> dict:
    """The suite on the table, evaluated in pandas; every rule is checked as evaluable before any runs."""
    evaluators = [_evaluator(entry) for entry in suite["expectations"]]
    expectations = []
    for entry, evaluate in zip(suite["expectations"], evaluators, strict=True):
        column = entry["kwargs"].get("column")
        if column is not None and column not in models.columns:
            raise SuiteError(f"{SUITE.name}: {entry['type']} names column {column}, which the table does not have")
        success, result = evaluate(models, entry["kwargs"])
        expectations.append({"type": entry["type"], "kwargs": entry["kwargs"], "success": success, "result": result})
    return results(suite, expectations)


def gx_expectations(models: pd.DataFrame, suite: dict, docs_dir: Path | None = None) -> dict:
    """The suite run by Great Expectations itself (seconds of imports), in the same shape; with docs_dir, GX's
    Data Docs site is built there."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    gx_suite = gx.ExpectationSuite(name=suite["name"])
    for entry in suite["expectations"]:
        expectation_class = getattr(gxe, "".join(part.title() for part in entry["type"].split("_")))
        gx_suite.add_expectation(expectation_class(**entry["kwargs"]))
    gx_suite = context.suites.add(gx_suite)
    batch = context.data_sources.add_pandas("mlsizes").add_dataframe_asset("curated_models")
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name="curated_dataset", data=batch.add_batch_definition_whole_dataframe("whole table"), suite=gx_suite
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
    outcome = checkpoint.run(
        batch_parameters={"dataframe": models},
        run_id=RunIdentifier(run_name=suite["name"], run_time=DOCS_RUN_TIME),
    )
    if docs_dir is not None:
        normalise_data_docs(Path(docs_dir))
    (validation,) = outcome.describe_dict()["validation_results"]
    return results(
        suite,
        [
            {
                "type": item["expectation_type"],
                "kwargs": {k: v for k, v in item["kwargs"].items() if k != "batch_id"},
                "success": bool(item["success"]),
                "result": {k: v for k, v in item["result"].items() if k in RESULT_FIELDS},
            }
            for item in validation["expectations"]
        ],
    )


def normalise_data_docs(docs_dir: Path) -> None:
    """Remove wall-clock stamps and random ids from the Data Docs pages (ids become page-local counters)."""
    fixed = DOCS_RUN_TIME.strftime("%Y%m%dT%H%M%S.%fZ")
    for page in sorted(docs_dir.rglob("*.html")):
        text = _CLOCK_STAMP.sub(fixed, _CACHE_BUSTER.sub("", page.read_text(encoding="utf-8")))
        ids: dict[str, str] = {}
        text = _UUID.sub(lambda match, ids=ids: ids.setdefault(match.group(), f"block-{len(ids) + 1}"), text)
        atomic_write_text(page, text)


def canonical(results: dict) -> dict:
    """Results as stored (JSON: numbers and nulls as written), expectations in a fixed order (GX lists them by
    column, the suite in its own order), so that two results can be compared."""
    stored = json.loads(json.dumps(results, default=str))
    stored["expectations"].sort(key=lambda entry: json.dumps(entry, sort_keys=True))
    return stored
