"""Weekly and daily sales matrices (items x periods) from table ``orders`` for the planning
services.

Sales are gross units (or revenue) of lines with a positive quantity: returns and
cancellations (negative lines) are left out, so a refund week is not a demand drop.
Weeks start on Monday; a first or last week the data covers only in part is left out (a
partial last week would read as a collapse). Items are products, categories (from
``products.category``), countries (``orders.country``) or ``all``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from insightloop.errors import ConfigError, WarehouseError
from insightloop.services.context import Context
from insightloop.storage.warehouse import has_table

Level = Literal["product", "category", "country", "all"]
Measure = Literal["units", "revenue"]
LEVELS: tuple[Level, ...] = ("product", "category", "country", "all")
MEASURES: tuple[Measure, ...] = ("units", "revenue")


@dataclass(frozen=True)
class Panel:
    """Sales of ``items`` (rows) over consecutive periods starting at ``start``."""

    level: str
    items: NDArray[np.object_]
    start: pd.Timestamp
    step_days: int
    values: NDArray[np.float64]

    @property
    def periods(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, periods=self.values.shape[1],
                             freq=f"{self.step_days}D")


def _item_expr(con: duckdb.DuckDBPyConnection, level: str) -> tuple[str, str]:
    if level not in LEVELS:
        raise ConfigError(f"level {level!r}: use one of {', '.join(LEVELS)}")
    if level == "product":
        return "CAST(o.product_id AS VARCHAR)", ""
    if level == "country":
        return "o.country", ""
    if level == "all":
        return "'all'", ""
    if not has_table(con, "products"):
        return "NULL", ""
    return "p.category", " LEFT JOIN products p ON p.product_id = o.product_id"


def _value_expr(measure: str) -> str:
    if measure not in MEASURES:
        raise ConfigError(f"measure {measure!r}: use units or revenue")
    return "o.quantity" if measure == "units" else "o.quantity * o.unit_price"


def load_panel(ctx: Context, level: str = "product", measure: str = "units",
               freq: Literal["W", "D"] = "W", items: list[str] | None = None) -> Panel:
    """The sales matrix of every item at ``level`` (empty rows dropped), complete weeks
    (``freq="W"``) or days (``"D"``). WarehouseError when there are no orders."""
    with ctx.read() as con:
        if not has_table(con, "orders"):
            raise WarehouseError("no orders yet; run `insightloop ingest orders FILE` first")
        item, join = _item_expr(con, level)
        value = _value_expr(measure)
        span = con.execute("SELECT min(order_time), max(order_time), min(isodow(order_time)),"
                           " max(isodow(order_time)) FROM orders WHERE quantity > 0"
                           ).fetchone()
        if span is None or span[0] is None:
            raise WarehouseError("table `orders` has no sales (lines with quantity > 0)")
        first, last = pd.Timestamp(span[0]).normalize(), pd.Timestamp(span[1]).normalize()
        if freq == "W":
            # an edge week is complete when it reaches the first (last) weekday the shop
            # ever sells on: no Saturday sales does not make every last week partial
            start = first - pd.Timedelta(days=first.dayofweek)
            if first.dayofweek + 1 > span[2]:
                start += pd.Timedelta(days=7)
            end = last - pd.Timedelta(days=last.dayofweek)  # Monday of the last week
            if last.dayofweek + 1 < span[3]:
                end -= pd.Timedelta(days=7)
            trunc, step = "date_trunc('week', o.order_time)", 7
        else:
            start, end, trunc, step = first, last, "date_trunc('day', o.order_time)", 1
        if end < start:
            raise WarehouseError(f"orders cover {first.date()}..{last.date()}: not one "
                                 "complete week of sales")
        where = f"o.quantity > 0 AND CAST({trunc} AS DATE) BETWEEN ? AND ?"
        params: list[object] = [start.date(), end.date()]
        if items:
            where += f" AND {item} IN (SELECT unnest(?))"
            params.append([str(i) for i in items])
        frame = con.execute(
            f"SELECT {item} AS item, CAST({trunc} AS DATE) AS ds, sum({value}) AS v "
            f"FROM orders o{join} WHERE {where} AND {item} IS NOT NULL GROUP BY ALL",
            params).df()
    n_periods = (end - start).days // step + 1
    names, row = np.unique(frame["item"].astype(str).to_numpy(), return_inverse=True)
    col = ((pd.to_datetime(frame["ds"]) - start).dt.days // step).to_numpy()
    values = np.zeros((len(names), n_periods))
    np.add.at(values, (row, col), frame["v"].to_numpy(dtype=float))
    return Panel(level=level, items=names.astype(object), start=start, step_days=step,
                 values=values)


def unit_prices(ctx: Context, products: NDArray[np.object_]) -> NDArray[np.float64]:
    """Each product's price: ``products.price`` where known, else the median unit price of
    its sales lines (NaN when neither exists)."""
    wanted = pd.DataFrame({"product_id": pd.Series(products, dtype=str)})
    with ctx.read() as con:
        con.register("__wanted", wanted)
        try:
            catalog = ("(SELECT CAST(product_id AS VARCHAR) AS product_id, price FROM products)"
                       if has_table(con, "products") else
                       "(SELECT NULL::VARCHAR AS product_id, NULL::DOUBLE AS price)")
            frame = con.execute(
                "SELECT w.product_id, coalesce(c.price, s.price) AS price FROM __wanted w "
                f"LEFT JOIN {catalog} c USING (product_id) "
                "LEFT JOIN (SELECT CAST(product_id AS VARCHAR) AS product_id, "
                "median(unit_price) AS price FROM orders WHERE quantity > 0 AND "
                "unit_price > 0 GROUP BY 1) s USING (product_id)").df()
        finally:
            con.unregister("__wanted")
    return wanted.merge(frame, on="product_id", how="left")["price"].to_numpy(dtype=float)


def item_names(ctx: Context, level: str, items: NDArray[np.object_]) -> NDArray[np.object_]:
    """Display names: for products ``products.name``, else their most frequent order-line
    description; the item itself for other levels (None when unknown)."""
    if level != "product" or not len(items):
        return np.asarray(items, dtype=object)
    wanted = pd.DataFrame({"item": pd.Series(items, dtype=str)})
    with ctx.read() as con:
        catalog = ("SELECT CAST(product_id AS VARCHAR) AS item, name FROM products"
                   if has_table(con, "products") else
                   "SELECT NULL::VARCHAR AS item, NULL::VARCHAR AS name")
        con.register("__items", wanted)
        try:
            frame = con.execute(
                f"SELECT w.item, coalesce(c.name, d.name) AS name FROM __items w "
                f"LEFT JOIN ({catalog}) c USING (item) LEFT JOIN ("
                "SELECT CAST(product_id AS VARCHAR) AS item, mode(description) AS name "
                "FROM orders WHERE description IS NOT NULL GROUP BY 1) d USING (item)").df()
        finally:
            con.unregister("__items")
    named = wanted.merge(frame, on="item", how="left")["name"]
    return named.astype(object).where(named.notna(), None).to_numpy()
