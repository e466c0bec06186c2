"""Helpers the Spark stages share: the context's lake and Spark session, small counts."""

from __future__ import annotations

from typing import Any

from insightloop.errors import ConfigError
from insightloop.services.context import Context
from insightloop.storage.lake import Lake, is_lake
from insightloop.storage.spark import spark_session


def on_lake(ctx: Context) -> bool:
    """Whether ``ctx`` runs its stages on Spark over a lake warehouse."""
    return ctx.engine.is_spark and is_lake(ctx.settings.warehouse)


def lake_of(ctx: Context) -> Lake:
    """The context's lake (ConfigError when its warehouse is a DuckDB file)."""
    if not is_lake(ctx.settings.warehouse):
        raise ConfigError(f"warehouse {ctx.settings.warehouse} is a DuckDB file, not a lake "
                          "folder; the Spark stages write a lake: set INSIGHTLOOP_WAREHOUSE "
                          "to a folder (docs/scale-out.md)")
    return Lake(ctx.settings.warehouse)


def session_of(ctx: Context) -> Any:
    """The process's Spark session, started on the context's master when none runs."""
    return spark_session(ctx.engine.spark_master)


def counts_by(df: Any, column: str) -> dict[str, int]:
    """``{value: rows}`` of ``df`` grouped by ``column`` (one small row per value)."""
    return {str(r[0]): int(r[1]) for r in df.groupBy(column).count().collect()}
