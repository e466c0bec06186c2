"""The demo: the whole loop on the bundled Online Retail sample.

It runs the demo stages the registered capabilities declare
(:func:`insightloop.capabilities.stages`), in registry order: ingest the sample, build
profiles, CLV, segments, cohorts, train and score churn, recommendations, review sentiment.
The CLI writes the HTML report afterwards (the report sits above services).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from insightloop import capabilities
from insightloop.capabilities.ingest import TABLES as INGEST_TABLES
from insightloop.capabilities.spec import Stage, resolve, trim
from insightloop.errors import WarehouseError
from insightloop.services.context import Context
from insightloop.services.ingest import ingest
from insightloop.services.results import IngestSummary
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import has_table

SAMPLE_NAME = "online_retail_sample.csv.gz"
StepFn = Callable[[str], None]
NOT_EMPTY = ("the demo job only runs on an empty warehouse and this one holds {:,} rows; "
             "serve a new warehouse path to try the demo")


def sample_path() -> Path:
    """Path of the bundled UCI Online Retail sample (CC BY 4.0; see data/ATTRIBUTION.md)."""
    return Path(str(importlib.resources.files("insightloop.data") / SAMPLE_NAME))


@dataclass
class DemoResult:
    warehouse: Path
    steps: dict[str, Any] = field(default_factory=dict)


def run_demo(ctx: Context, on_step: StepFn | None = None) -> DemoResult:
    """Run every registered capability's demo stages on ``ctx``'s warehouse."""
    return DemoResult(warehouse=ctx.settings.warehouse,
                      steps=run_stages(ctx, capabilities.stages(), on_step))


def run_stages(ctx: Context, stages: Iterable[Stage], on_step: StepFn | None = None
               ) -> dict[str, Any]:
    """Run ``stages`` in order: each result under the stage's name."""
    step = on_step or (lambda _m: None)
    out: dict[str, Any] = {}
    for stage in stages:
        step(stage.label)
        run = resolve(stage.run)
        out[stage.name] = trim(run(ctx, **dict(stage.args)), stage.keep, stage.omit)
    return out


def ingest_sample(ctx: Context) -> IngestSummary:
    """The ingest capability's demo stage: the bundled sample into ``orders``."""
    return ingest(ctx, "orders", sample_path(), preset="online-retail")


def data_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Rows in the tables that ingestion fills (0 for an empty warehouse)."""
    names = [t for t in INGEST_TABLES if has_table(con, t)]
    if not names:
        return 0
    row = con.execute("SELECT " + " + ".join(f"(SELECT count(*) FROM {ident(t)})"
                                             for t in names)).fetchone()
    return int(row[0]) if row else 0


def demo_job(ctx: Context) -> dict[str, Any]:
    """The API's demo job: checks again, under the job's write lock, that the warehouse is
    empty (another job may have loaded data since it was queued), then runs the demo."""
    if ctx.warehouse.exists:
        with ctx.warehouse.connect(read_only=True) as con:
            rows = data_rows(con)
        if rows:
            raise WarehouseError(NOT_EMPTY.format(rows))
    return run_demo(ctx).steps
