"""Retention: rows older than N months rolled up into a monthly aggregate (no customer id,
no free text), then dropped from the tables that keep raw personal activity (``privacy
retain``), then the warehouse file rewritten so they are gone from it.

The policy per table is :data:`RETENTION`: its time column, its aggregate table and the
columns the aggregate is grouped by. The aggregate counts rows (and, for events, distinct
customers per group: a number, never an id), so totals survive the drop: for every month
and group, the aggregate plus the rows that remain equals what was there before. A month cut
in two by the cutoff is added to on the next run (the aggregate is summed per group).
``as_of`` (default today) fixes "now", so a historical data set can be trimmed relative to its
own end. Without ``apply`` nothing changes: the result says how many rows would go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from insightloop.errors import ConfigError
from insightloop.services.context import Context
from insightloop.services.privacy.warehouse import rewrite_warehouse, text_columns
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import atomic, has_table


@dataclass(frozen=True)
class Policy:
    """How one table is retained: age column, aggregate table, its group columns."""

    time: str
    aggregate: str
    by: tuple[str, ...]
    customers: bool  # also count distinct customers per group


#: Tables with a retention policy.
RETENTION = {
    "events": Policy("event_time", "events_monthly", ("event_type", "product_id"), True),
    "quarantine": Policy("quarantined_at", "quarantine_monthly", ("table_name", "reason"),
                         False),
}
#: The aggregate tables (declared in ``capabilities/privacy.py``).
AGGREGATES = tuple(p.aggregate for p in RETENTION.values())


def retain(ctx: Context, months: int, tables: tuple[str, ...] = ("events",),
           as_of: date | None = None, apply: bool = False) -> dict[str, Any]:
    """Rows of ``tables`` older than ``months`` months before ``as_of``: counted, and with
    ``apply`` rolled up into the monthly aggregate and deleted (one transaction), then the
    file rewritten."""
    if months < 1:
        raise ConfigError(f"--months must be at least 1, got {months}")
    unknown = [t for t in tables if t not in RETENTION]
    if unknown:
        raise ConfigError(f"no retention policy for {', '.join(unknown)}; tables with one: "
                          f"{', '.join(RETENTION)}")
    cutoff = f"DATE '{(as_of or date.today()).isoformat()}' - INTERVAL {int(months)} MONTH"
    with ctx.warehouse.connect(read_only=not apply) as con:
        present = text_columns(con)
        chosen = {t: p for t, p in RETENTION.items() if t in tables and t in present}
        aggregated: dict[str, int] = {}
        if apply:
            with atomic(con):
                for table, policy in chosen.items():
                    aggregated[policy.aggregate] = _roll_up(con, table, policy, cutoff)
                counts = {t: _rows(con, "DELETE", t, p.time, cutoff) for t, p in chosen.items()}
        else:
            counts = {t: _rows(con, "SELECT count(*)", t, p.time, cutoff)
                      for t, p in chosen.items()}
        bound = con.execute(f"SELECT CAST({cutoff} AS DATE)").fetchone()
    size = rewrite_warehouse(ctx) if apply and any(counts.values()) else 0
    return {"cutoff": str(bound[0]) if bound else None, "months": months, "rows": counts,
            "aggregated": aggregated, "applied": apply, "rewritten_bytes": size}


def prepare_aggregates(ctx: Context) -> dict[str, int]:
    """Create the (empty) aggregate tables a retention fills, so every warehouse has them
    (a demo stage); returns the rows each already holds."""
    with ctx.warehouse.connect() as con, atomic(con):
        for policy in RETENTION.values():
            _create(con, policy)
        return {p.aggregate: _rows(con, "SELECT sum(row_count)", p.aggregate, "month",
                                   "DATE '9999-12-31'") for p in RETENTION.values()}


def _create(con: duckdb.DuckDBPyConnection, policy: Policy) -> None:
    nulls = ", ".join(f"CAST(NULL AS VARCHAR) AS {ident(c)}" for c in policy.by)
    con.execute(f"CREATE TABLE IF NOT EXISTS {ident(policy.aggregate)} AS SELECT "
                f"CAST(NULL AS DATE) AS month, {nulls}, 0::BIGINT AS row_count"
                f"{', 0::BIGINT AS customers' if policy.customers else ''} WHERE false")


def _roll_up(con: duckdb.DuckDBPyConnection, table: str, policy: Policy, cutoff: str) -> int:
    """Add the rows about to go to ``policy.aggregate`` (summed per month and group);
    returns how many groups the rolled-up rows made."""
    by = [ident(c) for c in policy.by]
    keys = ", ".join(["month", *by])
    distinct = ", count(DISTINCT customer_id) AS customers" if policy.customers else ""
    agg = ident(policy.aggregate)
    _create(con, policy)
    fresh = con.execute(
        f"INSERT INTO {agg} SELECT CAST(date_trunc('month', {ident(policy.time)}) AS DATE) "
        f"AS month, {', '.join(f'CAST({c} AS VARCHAR)' for c in by)}, count(*) AS row_count"
        f"{distinct} FROM {ident(table)} WHERE {ident(policy.time)} < {cutoff} "
        f"GROUP BY ALL").fetchone()
    # Fold a month cut in two by an earlier run into one row per group. Distinct customers
    # of the two parts add up to an upper bound (a customer may be in both): said in docs.
    more = ", sum(customers)::BIGINT AS customers" if policy.customers else ""
    con.execute(f"CREATE OR REPLACE TABLE {agg} AS SELECT {keys}, "
                f"sum(row_count)::BIGINT AS row_count{more} FROM {agg} GROUP BY ALL ORDER BY ALL")
    return int(fresh[0]) if fresh else 0


def aggregate_totals(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    """Rows per month of ``table`` and its aggregate together (what survives a retention)."""
    policy = RETENTION[table]
    parts = [f"SELECT CAST(date_trunc('month', {ident(policy.time)}) AS DATE) AS month, "
             f"count(*) AS n FROM {ident(table)} GROUP BY ALL"]
    if has_table(con, policy.aggregate):
        parts.append(f"SELECT month, sum(row_count) AS n FROM {ident(policy.aggregate)} "
                     "GROUP BY ALL")
    rows = con.execute(f"SELECT month, sum(n)::BIGINT FROM ({' UNION ALL '.join(parts)}) "
                       "GROUP BY ALL ORDER BY ALL").fetchall()
    return {str(m): int(n) for m, n in rows}


def _rows(con: duckdb.DuckDBPyConnection, verb: str, table: str, col: str, cutoff: str) -> int:
    row = con.execute(f"{verb} FROM {ident(table)} WHERE {ident(col)} < {cutoff}").fetchone()
    return int(row[0]) if row and row[0] is not None else 0
