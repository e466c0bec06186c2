"""The driver's half of an ingest into a lake, without Spark: the file validated into a
scratch DuckDB file, its personal columns sealed, its tables written as Parquet for the
cluster.

The file is read, typed and validated by the one implementation of the rules
(:func:`insightloop.storage.ingest.ingest_file`) into a scratch DuckDB file whose target
table starts empty (the lake's referenced tables copied in, so foreign keys are checked as
on a DuckDB warehouse). With an encryption key set, the clear ``email`` and ``name`` of a
``customers`` file are sealed there (:func:`insightloop.storage.crypto.seal_ingested`, as
a DuckDB ingest seals them) before anything is written to the lake's staging folder: no
clear address reaches the lake's files. The scratch file lives in a local temporary folder
that is removed when the ingest ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from insightloop.services.context import Context
from insightloop.storage.crypto import seal_ingested
from insightloop.storage.ingest import IngestResult, ProgressFn, ingest_file
from insightloop.storage.lake import Lake
from insightloop.storage.schema import TableSpec, table_spec
from insightloop.storage.sql import ident, literal
from insightloop.storage.warehouse import Warehouse

LOG_TABLES = ("quarantine", "ingest_log")


@dataclass(frozen=True)
class ScratchLoad:
    """What the driver hands the cluster: the file's accounting against an empty table, the
    columns it provides, its SHA-256 and the folder holding ``<table>.parquet``,
    ``quarantine.parquet`` and ``ingest_log.parquet``."""

    result: IngestResult
    provided: list[str]
    sha: str
    stage: Path


def load_scratch(ctx: Context, lake: Lake, table: str, path: Path, stage: Path, tmp: Path,
                 *, on_progress: ProgressFn, **ingest: Any) -> ScratchLoad:
    """Validate ``path`` into a scratch file under ``tmp``, seal it (with a key) and write its
    tables as Parquet into ``stage``; ``ingest``: :func:`ingest_file`'s options."""
    spec = table_spec(table)
    scratch = Warehouse.scratch(tmp, ctx.settings.memory_limit)
    _copy_references(scratch, lake, spec)
    local = ingest_file(scratch, table, path, on_progress=on_progress, **ingest)
    # with a key: before any byte leaves; the scratch file goes with its folder, unrewritten
    seal_ingested(scratch, ctx.settings, table, rewrite=False)
    with scratch.connect() as con:
        for name in (table, *LOG_TABLES):
            con.execute(f"COPY (SELECT * FROM {ident(name)}) TO "
                        f"{literal(str(stage / (name + '.parquet')))} (FORMAT parquet)")
        provided = _provided(con, spec)
        row = con.execute("SELECT file_sha256 FROM ingest_log WHERE ingest_id = ?",
                          [local.ingest_id]).fetchone()
    return ScratchLoad(local, provided, str(row[0]) if row else "", stage)


def _copy_references(scratch: Warehouse, lake: Lake, spec: TableSpec) -> None:
    """Copy the lake's tables ``spec`` references (customers, products...) into the
    scratch file, so foreign keys are checked as on a DuckDB warehouse."""
    refs = {c.references[0] for c in spec.columns
            if c.references and c.references[0] != spec.name and lake.exists(c.references[0])}
    if not refs:
        return
    with scratch.transaction() as con:
        for name in sorted(refs):
            con.execute(f"INSERT INTO {ident(name)} BY NAME SELECT * FROM {lake.scan_sql(name)}")


def _provided(con: Any, spec: TableSpec) -> list[str]:
    """The columns the file gives a value in (a column NULL on every loaded row is one the
    file does not carry: an update keeps the lake's value there)."""
    counts = con.execute("SELECT " + ", ".join(f"count({ident(c)})" for c in spec.names)
                         + f" FROM {ident(spec.name)}").fetchone()
    return [c for c, n in zip(spec.names, counts or (), strict=True)
            if n or c in spec.key]
