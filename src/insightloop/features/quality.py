"""Data-quality measures over the warehouse, in SQL: flags and counts, never deletions.

Every function takes an open DuckDB connection and returns plain dataclasses.
Nothing here changes a table: exact duplicates and outliers are *flagged* (counted,
with their thresholds) so that an analyst can decide; the rows stay as loaded.

Rules, all over canonical tables (see ``docs/data-model.md``):

* **missing values**: per column, ``count(*) - count(column)`` and its share;
* **exact duplicates**: rows equal in every column except the derived key
  (``orders.line_no``, the content-hash ids), i.e. the same line exported twice;
  ``duplicate_rows`` counts the extra copies (a group of 3 equal rows adds 2);
* **outliers** (orders): Tukey fences on purchase lines (``quantity > 0``):
  ``[Q1 - k·IQR, Q3 + k·IQR]`` with ``k = 3`` ("far out"), quartiles interpolated
  (``quantile_cont``); values outside are counted low/high;
* **cancellations/returns**: lines with ``quantity < 0`` or status
  ``cancelled``/``returned``; netting checks each such line with a customer
  against purchase lines (``quantity > 0``) of the same customer and product at
  or before its time: ``unmatched`` lines have none; ``over_cancelled_pairs`` are
  customer+product pairs whose cancelled quantity exceeds the purchased quantity;
* **sanity**: zero-price lines, guest lines (``customer_id`` NULL), currencies
  (mixed when more than one non-NULL value), extreme quantities
  (``abs(quantity) >= extreme_quantity``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from insightloop.storage.schema import TABLES, TableSpec
from insightloop.storage.sql import ident

IQR_K = 3.0
EXTREME_QUANTITY = 10_000
TOP_REASONS = 10
# Reasons differ only by the offending value; fold values so that equal rules group.
REASON_KEY_SQL = (
    "regexp_replace(regexp_replace(split_part(reason, '; ', 1), '''[^'']*''', '''…''', 'g'), "
    "'-?[0-9][0-9.:-]*', 'N', 'g')"
)


@dataclass(frozen=True)
class ColumnMissing:
    """Missing values of one column."""

    column: str
    missing: int
    pct: float


@dataclass(frozen=True)
class TableQuality:
    """Row count, missing values and exact duplicates of one canonical table."""

    table: str
    rows: int
    missing: list[ColumnMissing]
    duplicate_rows: int
    duplicate_groups: int


@dataclass(frozen=True)
class OutlierStats:
    """Tukey-fence outlier flags of one numeric column (never deleted)."""

    column: str
    method: str
    n: int
    q1: float | None
    median: float | None
    q3: float | None
    lower: float | None
    upper: float | None
    low: int
    high: int

    @property
    def count(self) -> int:
        return self.low + self.high


@dataclass(frozen=True)
class CancellationStats:
    """Cancellation/return lines, their value and how well they net against purchases."""

    lines: int
    orders: int
    quantity: int
    value: float
    guest_lines: int
    unmatched_lines: int
    over_cancelled_pairs: int


@dataclass(frozen=True)
class OrderSanity:
    """Sanity counts over ``orders``."""

    lines: int
    zero_price_lines: int
    guest_lines: int
    guest_pct: float
    currencies: dict[str, int]
    mixed_currencies: bool
    extreme_quantity_threshold: int
    extreme_quantity_lines: int
    max_abs_quantity: int | None


@dataclass(frozen=True)
class QuarantineSummary:
    """Quarantined rows by table and the most frequent reasons."""

    total: int
    by_table: dict[str, int]
    top_reasons: list[dict[str, Any]]


@dataclass
class QualityReport:
    """Everything ``insightloop quality`` shows; ``as_dict`` is its JSON form."""

    tables: list[TableQuality]
    outliers: list[OutlierStats] = field(default_factory=list)
    cancellations: CancellationStats | None = None
    sanity: OrderSanity | None = None
    quarantine: QuarantineSummary = field(
        default_factory=lambda: QuarantineSummary(0, {}, []))
    ingest_log: list[dict[str, Any]] = field(default_factory=list)

    def table(self, name: str) -> TableQuality | None:
        return next((t for t in self.tables if t.table == name), None)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["outliers"] = [asdict(o) | {"count": o.count} for o in self.outliers]
        return out


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
         ) -> tuple[Any, ...]:
    row = con.execute(sql, params or []).fetchone()
    assert row is not None  # aggregate queries always return a row
    return tuple(row)


def table_quality(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> TableQuality:
    """Row count, missing values per column and exact duplicate rows of one table."""
    counts = ", ".join(f"count({ident(c)})" for c in spec.names)
    row = _one(con, f"SELECT count(*), {counts} FROM {ident(spec.name)}")
    n = int(row[0])
    missing = [
        ColumnMissing(c, n - int(k), round(100.0 * (n - int(k)) / n, 2) if n else 0.0)
        for c, k in zip(spec.names, row[1:], strict=True)
    ]
    content = ", ".join(ident(c) for c in spec.names if c not in spec.derived_key)
    dup = _one(con, f"SELECT coalesce(sum(k - 1), 0), count(*) FROM (SELECT count(*) AS k "
                    f"FROM {ident(spec.name)} GROUP BY {content} HAVING count(*) > 1)")
    return TableQuality(spec.name, n, missing, int(dup[0]), int(dup[1]))


def outlier_stats(con: duckdb.DuckDBPyConnection, column: str, k: float = IQR_K
                  ) -> OutlierStats:
    """Tukey fences of ``orders.<column>`` over purchase lines (``quantity > 0``)."""
    col = ident(column)
    row = _one(con, f"""
        WITH v AS (SELECT CAST({col} AS DOUBLE) AS x FROM orders
                   WHERE quantity > 0 AND {col} IS NOT NULL),
        s AS (SELECT count(*) AS n, quantile_cont(x, 0.25) AS q1, median(x) AS med,
                     quantile_cont(x, 0.75) AS q3 FROM v),
        k AS (SELECT CAST(? AS DOUBLE) AS k),
        f AS (SELECT s.*, q1 - k * (q3 - q1) AS lo, q3 + k * (q3 - q1) AS hi FROM s, k)
        SELECT n, q1, med, q3, lo, hi,
               (SELECT count(*) FROM v WHERE x < lo), (SELECT count(*) FROM v WHERE x > hi)
        FROM f
    """, [float(k)])
    n, q1, med, q3, lo, hi, low, high = row
    return OutlierStats(column, f"Tukey fences, k={k:g} x IQR, purchase lines", int(n),
                        q1, med, q3, lo, hi, int(low), int(high))


def cancellation_stats(con: duckdb.DuckDBPyConnection) -> CancellationStats:
    """Cancellation/return lines, value, and netting against earlier purchases."""
    row = _one(con, """
        WITH c AS (SELECT * FROM orders
                   WHERE quantity < 0 OR status IN ('cancelled', 'returned')),
        p AS (SELECT customer_id, product_id, order_time, quantity FROM orders
              WHERE quantity > 0 AND customer_id IS NOT NULL),
        unmatched AS (
            SELECT count(*) AS n FROM c ANTI JOIN p
              ON c.customer_id = p.customer_id AND c.product_id = p.product_id
             AND p.order_time <= c.order_time
            WHERE c.customer_id IS NOT NULL
        ),
        pairs AS (
            SELECT c.customer_id, c.product_id, sum(abs(c.quantity)) AS cancelled
            FROM c WHERE c.customer_id IS NOT NULL GROUP BY ALL
        ),
        bought AS (SELECT customer_id, product_id, sum(quantity) AS bought FROM p GROUP BY ALL),
        over AS (
            SELECT count(*) AS n FROM pairs LEFT JOIN bought USING (customer_id, product_id)
            WHERE pairs.cancelled > coalesce(bought.bought, 0)
        )
        SELECT count(*), count(DISTINCT order_id), coalesce(sum(abs(quantity)), 0),
               coalesce(sum(abs(quantity * unit_price)), 0),
               count(*) FILTER (WHERE customer_id IS NULL),
               (SELECT n FROM unmatched), (SELECT n FROM over)
        FROM c
    """)
    return CancellationStats(int(row[0]), int(row[1]), int(row[2]), float(row[3]),
                             int(row[4]), int(row[5]), int(row[6]))


def order_sanity(con: duckdb.DuckDBPyConnection, extreme_quantity: int = EXTREME_QUANTITY
                 ) -> OrderSanity:
    """Zero prices, guest lines, currencies and extreme quantities over ``orders``."""
    n, zero, guests, extreme, max_abs = _one(con, """
        SELECT count(*), count(*) FILTER (WHERE unit_price = 0),
               count(*) FILTER (WHERE customer_id IS NULL),
               count(*) FILTER (WHERE abs(quantity) >= ?), max(abs(quantity))
        FROM orders
    """, [extreme_quantity])
    currencies = {str(c): int(k) for c, k in con.execute(
        "SELECT coalesce(currency, '(none)'), count(*) FROM orders GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()}
    named = [c for c in currencies if c != "(none)"]
    return OrderSanity(
        lines=int(n), zero_price_lines=int(zero), guest_lines=int(guests),
        guest_pct=round(100.0 * guests / n, 2) if n else 0.0,
        currencies=currencies, mixed_currencies=len(named) > 1,
        extreme_quantity_threshold=extreme_quantity, extreme_quantity_lines=int(extreme),
        max_abs_quantity=None if max_abs is None else int(max_abs),
    )


def quarantine_summary(con: duckdb.DuckDBPyConnection, top: int = TOP_REASONS
                       ) -> QuarantineSummary:
    """Quarantined rows per table and the ``top`` reasons (values folded to ``N``/``'…'``)."""
    by_table = {str(t): int(n) for t, n in con.execute(
        "SELECT table_name, count(*) FROM quarantine GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()}
    reasons = con.execute(f"""
        SELECT table_name, coalesce(column_name, '') AS column_name,
               {REASON_KEY_SQL} AS reason, count(*) AS n, min(reason) AS example
        FROM quarantine GROUP BY ALL ORDER BY n DESC, table_name, reason LIMIT ?
    """, [top]).fetchall()
    return QuarantineSummary(
        total=sum(by_table.values()), by_table=by_table,
        top_reasons=[{"table": t, "column": c, "reason": r, "rows": int(k), "example": e}
                     for t, c, r, k, e in reasons],
    )


def ingest_history(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict[str, Any]]:
    """The ``limit`` most recent ingests, newest first."""
    cur = con.execute("SELECT * FROM ingest_log ORDER BY finished_at DESC, ingest_id LIMIT ?",
                      [limit])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def compute_quality(con: duckdb.DuckDBPyConnection, *, iqr_k: float = IQR_K,
                    extreme_quantity: int = EXTREME_QUANTITY) -> QualityReport:
    """The whole report over an open connection (canonical tables with rows only)."""
    tables = [table_quality(con, spec) for spec in TABLES.values()]
    report = QualityReport(tables=[t for t in tables if t.rows > 0],
                           quarantine=quarantine_summary(con), ingest_log=ingest_history(con))
    orders = report.table("orders")
    if orders is not None:
        report.outliers = [outlier_stats(con, c, iqr_k) for c in ("quantity", "unit_price")]
        report.cancellations = cancellation_stats(con)
        report.sanity = order_sanity(con, extreme_quantity)
    return report
