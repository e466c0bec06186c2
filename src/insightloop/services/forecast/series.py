"""Demand series from the warehouse's ``orders``, at any level and frequency (DuckDB).

Rules (``docs/forecasting.md``):

* **returns and cancellations** (negative quantity lines) are netted against the sales of
  the same series and period; a period whose net is negative is **floored at zero** (a
  return booked in a later week is not negative demand) and counted (``negative_floored``).
* **calendar gaps** between a series' first sale and the last period of the data are zero
  (no sale that period): every series runs to the data's last period.
* **an incomplete last period** (the data ends before the period does, e.g. a Friday for
  weekly data) is dropped, so a half week is not read as a collapse in demand; the note
  says so.
* ``exclude``: product ids whose lines are left out at every level (the planning
  services pass the service codes: postage, fees; ``models.planning.service_codes``).
* ``level``: ``product`` (``product_id``), ``category`` (``products.category``, ``(none)``
  when a product has none), ``country`` (``orders.country``, ``(unknown)`` when empty) or
  ``total``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypedDict

import duckdb
import pandas as pd

from insightloop.errors import ConfigError, WarehouseError
from insightloop.services.context import Context
from insightloop.storage.warehouse import has_table

__all__ = ["FREQ_TRUNC", "LEVELS", "MEASURES", "DemandSeries", "demand_series"]

Level = Literal["product", "category", "country", "total"]
LEVELS: tuple[str, ...] = ("product", "category", "country", "total")
MEASURES: tuple[str, ...] = ("quantity", "revenue")
FREQ_TRUNC = {"D": "day", "W": "week", "M": "month"}
_PERIOD_DAYS = {"D": "1 day", "W": "7 days", "M": "1 month"}
_KEY = {
    "product": "CAST(o.product_id AS VARCHAR)",
    "category": "coalesce(nullif(trim(p.category), ''), '(none)')",
    "country": "coalesce(nullif(trim(o.country), ''), '(unknown)')",
    "total": "'total'",
}
_VALUE = {"quantity": "o.quantity", "revenue": "o.quantity * o.unit_price"}


class DemandSeries(TypedDict):
    """Long frame ``unique_id, ds, y`` and what was done to build it."""

    frame: pd.DataFrame
    level: str
    freq: str
    measure: str
    series: int
    periods: int
    negative_floored: int
    dropped_last_period: str | None
    notes: list[str]


def _check(level: str, freq: str, measure: str) -> None:
    if level not in LEVELS:
        raise ConfigError(f"level {level!r} is not supported: use one of {', '.join(LEVELS)}")
    if freq not in FREQ_TRUNC:
        raise ConfigError(f"freq {freq!r} is not supported: use one of D, W, M")
    if measure not in MEASURES:
        raise ConfigError(f"measure {measure!r} is not supported: use quantity or revenue")


def _query(con: duckdb.DuckDBPyConnection, level: str, freq: str, measure: str,
           exclude: bool = False) -> str:
    join = ("LEFT JOIN products p ON p.product_id = o.product_id"
            if level == "category" and has_table(con, "products") else "")
    key = _KEY[level] if join or level != "category" else "'(none)'"
    unit = FREQ_TRUNC[freq]
    excluded = ("AND NOT list_contains(?::VARCHAR[], CAST(o.product_id AS VARCHAR))"
                if exclude else "")
    return f"""
        WITH bounds AS (
            SELECT max(order_time) AS last_time,
                   date_trunc('{unit}', max(order_time)) AS last_period
            FROM orders
        ), cut AS (
            SELECT CASE WHEN '{freq}' <> 'D' AND CAST(last_time AS DATE)
                            < CAST(last_period + INTERVAL {_PERIOD_DAYS[freq]}
                                   - INTERVAL 1 day AS DATE)
                        THEN last_period ELSE NULL END AS dropped,
                   last_period
            FROM bounds
        )
        SELECT {key} AS unique_id, date_trunc('{unit}', o.order_time) AS ds,
               sum({_VALUE[measure]})::DOUBLE AS y
        FROM orders o {join}, cut
        WHERE o.order_time IS NOT NULL {excluded}
          AND (cut.dropped IS NULL OR date_trunc('{unit}', o.order_time) < cut.dropped)
        GROUP BY ALL
        ORDER BY unique_id, ds
    """


def demand_series(ctx: Context, level: str = "product", freq: str = "W",
                  measure: str = "quantity", exclude: Sequence[str] = ()) -> DemandSeries:
    """Demand per series and period from ``orders`` (see the module's rules), without the
    lines of the products in ``exclude``."""
    _check(level, freq, measure)
    with ctx.read() as con:
        if not has_table(con, "orders"):
            raise WarehouseError("table `orders` is missing: ingest orders first "
                                 "(`insightloop ingest orders FILE`)")
        skip = [str(x) for x in exclude]
        frame = con.execute(_query(con, level, freq, measure, bool(skip)),
                            [skip] if skip else []).df()
        unit = FREQ_TRUNC[freq]
        row = con.execute(
            f"SELECT date_trunc('{unit}', max(order_time)) AS p, max(order_time) AS t "
            "FROM orders").fetchone()
    if frame.empty:
        raise WarehouseError("table `orders` has no dated lines: nothing to forecast; "
                             "ingest orders first (`insightloop ingest orders FILE`)")
    dropped = None
    notes: list[str] = []
    last_period, data_end = (pd.Timestamp(row[0]), pd.Timestamp(row[1])) if row else (None, None)
    if last_period is not None and pd.Timestamp(frame["ds"].max()) < last_period:
        dropped = str(last_period.date())
        notes.append(f"the last {unit} ({dropped}) is incomplete (data end "
                     f"{pd.Timestamp(data_end).date()}) and was left out")
    negative = int((frame["y"] < 0).sum())
    if negative:
        notes.append(f"{negative} series-periods had more returns than sales; floored at 0")
    frame["y"] = frame["y"].clip(lower=0.0)
    frame["ds"] = pd.to_datetime(frame["ds"])
    if level == "category" and frame["unique_id"].eq("(none)").all():
        notes.append("no product has a category: one series '(none)'")
    return DemandSeries(frame=frame, level=level, freq=freq, measure=measure,
                        series=int(frame["unique_id"].nunique()),
                        periods=int(frame["ds"].nunique()), negative_floored=negative,
                        dropped_last_period=dropped, notes=notes)
