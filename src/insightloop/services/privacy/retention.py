"""Retention: rows older than N months dropped from the tables that keep raw personal
activity (``privacy retain``), then the warehouse file rewritten so they are gone from it.

The policy per table is its time column in :data:`RETENTION`; ``as_of`` (default today)
fixes "now", so a historical data set can be trimmed relative to its own end. Without
``apply`` nothing changes: the result says how many rows would go.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from insightloop.errors import ConfigError
from insightloop.services.context import Context
from insightloop.services.privacy.warehouse import rewrite_warehouse, text_columns
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import atomic

#: Tables with a retention policy and the column their age is read from.
RETENTION = {"events": "event_time", "quarantine": "quarantined_at"}


def retain(ctx: Context, months: int, tables: tuple[str, ...] = ("events",),
           as_of: date | None = None, apply: bool = False) -> dict[str, Any]:
    """Rows of ``tables`` older than ``months`` months before ``as_of``: counted, and
    deleted with ``apply`` (one transaction, then the file rewritten)."""
    if months < 1:
        raise ConfigError(f"--months must be at least 1, got {months}")
    unknown = [t for t in tables if t not in RETENTION]
    if unknown:
        raise ConfigError(f"no retention policy for {', '.join(unknown)}; tables with one: "
                          f"{', '.join(RETENTION)}")
    cutoff = f"DATE '{(as_of or date.today()).isoformat()}' - INTERVAL {int(months)} MONTH"
    with ctx.warehouse.connect(read_only=not apply) as con:
        present = text_columns(con)
        cols = {t: c for t, c in RETENTION.items() if t in tables and t in present}
        if apply:
            with atomic(con):
                counts = {t: _rows(con, "DELETE", t, c, cutoff) for t, c in cols.items()}
        else:
            counts = {t: _rows(con, "SELECT count(*)", t, c, cutoff) for t, c in cols.items()}
        bound = con.execute(f"SELECT CAST({cutoff} AS DATE)").fetchone()
    size = rewrite_warehouse(ctx) if apply and any(counts.values()) else 0
    return {"cutoff": str(bound[0]) if bound else None, "months": months, "rows": counts,
            "applied": apply, "rewritten_bytes": size}


def _rows(con: duckdb.DuckDBPyConnection, verb: str, table: str, col: str, cutoff: str) -> int:
    row = con.execute(f"{verb} FROM {ident(table)} WHERE {ident(col)} < {cutoff}").fetchone()
    return int(row[0]) if row else 0
