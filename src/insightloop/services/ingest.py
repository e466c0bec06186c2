"""Ingest a user's file into a canonical table of the context's warehouse.

Thin over :mod:`insightloop.storage.ingest` (mapping, validation, quarantine, upsert by
natural key, all in one transaction): the warehouse is the context's, so its memory
limit and read-only flag hold. A load that loads nothing from a file with rows, or
quarantines more than ``max_quarantine_share`` of them, is refused and rolled back
(:class:`~insightloop.errors.IngestRefusedError`).
"""

from __future__ import annotations

from pathlib import Path

from insightloop.capabilities.ingest import MAX_QUARANTINE_SHARE
from insightloop.services.context import Context
from insightloop.services.results import IngestSummary
from insightloop.storage.crypto import seal_ingested
from insightloop.storage.ingest import (
    IngestResult,
    ProgressFn,
    committed_result,
    ingest_file,
)
from insightloop.storage.lake import is_lake
from insightloop.storage.mapping import load_mapping_file

__all__ = ["MAX_QUARANTINE_SHARE", "IngestResult", "committed", "ingest", "ingest_result",
           "load_mapping_file", "summary"]


def ingest_result(ctx: Context, table: str, path: Path | str, *,
                  mapping: dict[str, str] | None = None, preset: str | None = None,
                  delimiter: str | None = None, timestamp_formats: tuple[str, ...] = (),
                  on_progress: ProgressFn | None = None, ingest_id: str | None = None,
                  max_quarantine_share: float | None = MAX_QUARANTINE_SHARE
                  ) -> IngestResult:
    """Load ``path`` into ``table``; the full accounting (per-file notes, top quarantine
    reasons) for a caller that shows it (the CLI). ``timestamp_formats``: the
    ``--date-format`` values (see :func:`~insightloop.storage.ingest.ingest_file`).

    With engine ``spark`` and a lake warehouse the file is merged into the lake by the
    cluster (:mod:`insightloop.services.spark.ingest`): same rules, same accounting."""
    if ctx.engine.is_spark and is_lake(ctx.settings.warehouse):
        # lazy: pyspark (the optional [spark] extra) only for engine 'spark' over a lake
        from insightloop.services.spark.ingest import ingest_lake

        return ingest_lake(ctx, table, path, mapping=mapping, preset=preset,
                           delimiter=delimiter, timestamp_formats=timestamp_formats,
                           on_progress=on_progress, ingest_id=ingest_id,
                           max_quarantine_share=max_quarantine_share)
    res = ingest_file(ctx.warehouse, table, path, mapping=mapping, preset=preset,
                      delimiter=delimiter, timestamp_formats=timestamp_formats,
                      on_progress=on_progress, ingest_id=ingest_id,
                      max_quarantine_share=max_quarantine_share)
    seal_ingested(ctx.warehouse, ctx.settings, res.table)  # personal columns, with a key
    return res


def ingest(ctx: Context, table: str, path: Path | str, *, preset: str | None = None,
           mapping: dict[str, str] | None = None, delimiter: str | None = None,
           date_format: str | None = None,
           max_quarantine_share: float = MAX_QUARANTINE_SHARE) -> IngestSummary:
    """Load ``path`` into ``table``: rows in, loaded, quarantined, duplicate, and notes.

    ``date_format``: ``iso``, ``day-first``, ``month-first`` or a strptime format, for a
    file whose dates the data cannot decide (default: decided from the data).
    """
    res = ingest_result(ctx, table, path, mapping=mapping, preset=preset,
                        delimiter=delimiter,
                        timestamp_formats=(date_format,) if date_format else (),
                        max_quarantine_share=max_quarantine_share)
    return summary(res)


def committed(ctx: Context, ingest_id: str) -> IngestResult | None:
    """The result of ingest ``ingest_id`` if it committed (for a caller interrupted while
    it ran: Ctrl-C may land after the COMMIT), else None."""
    return committed_result(ctx.warehouse, ingest_id)


def summary(result: IngestResult) -> IngestSummary:
    """What ``--json`` prints and a job stores for one ingest."""
    return IngestSummary(table=result.table, rows_in=result.rows_in,
                         rows_loaded=result.rows_loaded,
                         rows_quarantined=result.rows_quarantined,
                         rows_duplicate=result.rows_duplicate, notes=list(result.notes))
