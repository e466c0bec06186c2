"""Ingest on Spark into a lake: the same validation, accounting and quarantine as DuckDB.

The file is read, typed and validated by the one implementation of the rules
(:func:`insightloop.storage.ingest.ingest_file`, DuckDB on the driver, where the file is),
into a scratch DuckDB file whose target table starts empty: that gives the rows the file
loads, its quarantine (reasons, line numbers, raw records), its in-file duplicates and the
refusal rule, exactly as on a DuckDB warehouse. With an encryption key set, a customers
file's ``email`` and ``name`` are sealed there, before anything is written to the lake
(:mod:`~insightloop.services.spark.ingest_scratch`). The file's valid rows then go to the
lake's staging folder as Parquet, and the cluster merges them with the lake's table by
natural key (a row identical on the columns the file provides is a duplicate, a different
one an update, a new key an insert). The table, the quarantine and the ingest log are
written in one :meth:`~insightloop.storage.lake.Lake.transaction`: committed together or
not at all, a crash during the commit finished by the next open of the lake. Nothing of
the lake's table comes to the driver::

    rows_in = loaded (inserted + updated) + quarantined + duplicate (in the file or in the lake)

With a key set, sealed values never compare equal (each seal has a random nonce): re-running
the same customers file counts each row with an ``email`` or ``name`` as updated (loaded)
and the others as duplicate; nothing is inserted twice, so the table does not grow. A
DuckDB warehouse counts the same re-run the same way (its stored sealed values differ from
the file's clear ones).
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import replace
from datetime import datetime
from functools import reduce
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from insightloop.services.context import Context
from insightloop.services.spark.common import counts_by, lake_of, session_of
from insightloop.services.spark.ingest_scratch import ScratchLoad, load_scratch
from insightloop.storage.ingest import IngestResult, ProgressFn
from insightloop.storage.lake import Lake, LakeTransaction
from insightloop.storage.schema import TableSpec, table_spec


def ingest_lake(ctx: Context, table: str, path: Path | str, *,
                mapping: dict[str, str] | None = None, preset: str | None = None,
                delimiter: str | None = None, timestamp_formats: tuple[str, ...] = (),
                on_progress: ProgressFn | None = None, ingest_id: str | None = None,
                max_quarantine_share: float | None = None) -> IngestResult:
    """Load ``path`` into ``table`` of the context's lake (see the module doc)."""
    lake = lake_of(ctx)
    spec = table_spec(table)
    step = on_progress or (lambda _msg: None)
    ingest_id = ingest_id or uuid.uuid4().hex[:12]
    with (tempfile.TemporaryDirectory(prefix="insightloop-ingest-") as tmp,
          lake.transaction() as tx):
        stage = tx.scratch_dir(f"ingest-{ingest_id}")
        load = load_scratch(ctx, lake, table, Path(path), stage, Path(tmp),
                            on_progress=lambda m: step(m) if m != "done" else None,
                            mapping=mapping, preset=preset, delimiter=delimiter,
                            timestamp_formats=timestamp_formats, ingest_id=ingest_id,
                            max_quarantine_share=max_quarantine_share)
        step("merging into the lake")
        result = _merge(session_of(ctx), lake, tx, spec, load)
        step("committing")
    step("done")
    return result


def _merge(session: Any, lake: Lake, tx: LakeTransaction, spec: TableSpec,
           load: ScratchLoad) -> IngestResult:
    """Stage the merged table, the quarantine and the log in ``tx`` (committed together)."""
    new = session.read.parquet(str(load.stage / f"{spec.name}.parquet"))
    actions: dict[str, int] = {}
    if lake.exists(spec.name):
        old = lake.read_spark(session, spec.name)
        new = new.select(*[F.col(c).cast(old.schema[c].dataType).alias(c) for c in spec.names])
        merged, actions = _upsert(old, new, spec, load.provided)
    else:
        merged, actions = new, {"insert": load.result.rows_loaded}
    tx.write_spark(merged, spec.name)
    quarantine = session.read.parquet(str(load.stage / "quarantine.parquet"))
    if lake.exists("quarantine"):
        # A re-run of the same file replaces its earlier quarantine rows.
        kept = lake.read_spark(session, "quarantine").where(
            ~((F.col("table_name") == spec.name)
              & F.col("file_sha256").eqNullSafe(F.lit(load.sha))))
        quarantine = kept.unionByName(quarantine.select(*kept.columns))
    tx.write_spark(quarantine, "quarantine")
    updated = actions.get("update", 0)
    result = replace(load.result, rows_loaded=actions.get("insert", 0) + updated,
                     rows_updated=updated,
                     rows_duplicate=load.result.rows_duplicate + actions.get("duplicate", 0))
    _append_log(session, lake, tx, load.stage, result)
    return result


def _upsert(old: DataFrame, new: DataFrame, spec: TableSpec,
            provided: list[str]) -> tuple[DataFrame, dict[str, int]]:
    """The lake table with the file's rows merged in by key, and the count of each action."""
    key = list(spec.key)
    n, o = new.alias("n"), old.alias("o")
    on = [F.col(f"n.{k}") == F.col(f"o.{k}") for k in key]
    same = reduce(lambda a, b: a & b,
                  [F.col(f"n.{c}").eqNullSafe(F.col(f"o.{c}")) for c in provided if c not in key],
                  F.lit(True))
    action = (F.when(F.col(f"o.{key[0]}").isNull(), "insert").when(same, "duplicate")
              .otherwise("update"))
    classified = n.join(o, on, "left").select(
        *[F.col(f"n.{c}" if c in provided else f"o.{c}").alias(c) for c in spec.names],
        *[F.col(f"n.{c}").alias(f"__new_{c}") for c in spec.names if c not in provided],
        action.alias("__action")).persist()
    actions = counts_by(classified, "__action")
    inserted = classified.where(F.col("__action") == "insert").select(
        *[F.col(c if c in provided else f"__new_{c}").alias(c) for c in spec.names])
    updated = classified.where(F.col("__action") == "update").select(*spec.names)
    kept = old.join(updated.select(*key), key, "left_anti").select(*spec.names)
    return kept.unionByName(updated).unionByName(inserted), actions


def _append_log(session: Any, lake: Lake, tx: LakeTransaction, stage: Path,
                result: IngestResult) -> None:
    """Add this ingest's row (its final accounting) to the lake's ``ingest_log``."""
    row = session.read.parquet(str(stage / "ingest_log.parquet")).where(
        F.col("ingest_id") == result.ingest_id).select(
        "ingest_id", "table_name", "file", "file_sha256", "rows_in",
        F.lit(result.rows_loaded).cast("long").alias("rows_loaded"),
        F.lit(result.rows_quarantined).cast("long").alias("rows_quarantined"),
        F.lit(result.rows_duplicate).cast("long").alias("rows_duplicate"),
        "started_at", F.lit(pd.Timestamp(datetime.now())).cast("timestamp_ntz")
        .alias("finished_at"))
    if lake.exists("ingest_log"):
        old = lake.read_spark(session, "ingest_log")
        row = old.unionByName(row.select(*[F.col(c).cast(old.schema[c].dataType).alias(c)
                                           for c in old.columns]))
    tx.write_spark(row, "ingest_log")
