"""Weekly and daily sales matrices (items x periods) for the planning services, from the
forecast service's demand series (the same series the forecasts are fitted on: returns
netted against sales and floored at 0, an incomplete last week dropped, weeks from
Monday). Items are products, categories (``products.category``), countries or ``all``.
Service codes (postage, fees, manual lines: ``models.planning.service_codes``) are left
out at every level by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from insightloop.errors import ConfigError
from insightloop.models.planning.service_codes import ServiceCodes, service_mask
from insightloop.services.context import Context
from insightloop.services.forecast import demand_series
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
    #: product ids left out as service codes (postage, fees; ``service_products``)
    excluded: tuple[str, ...] = ()

    @property
    def periods(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, periods=self.values.shape[1],
                             freq=f"{self.step_days}D")


#: this module's level and measure names -> the forecast service's
_LEVEL = {"product": "product", "category": "category", "country": "country", "all": "total"}
_MEASURE = {"units": "quantity", "revenue": "revenue"}


def service_products(ctx: Context, overrides: ServiceCodes | None = None) -> tuple[str, ...]:
    """The product ids of ``orders`` that are service codes (postage, fees, manual
    lines: ``models.planning.service_codes``), sorted."""
    with ctx.read() as con:
        if not has_table(con, "orders"):
            return ()
        ids = con.execute("SELECT DISTINCT CAST(product_id AS VARCHAR) FROM orders "
                          "WHERE product_id IS NOT NULL").df().iloc[:, 0].to_numpy()
    return tuple(sorted(str(x) for x in ids[service_mask(ids, overrides)]))


def load_panel(ctx: Context, level: str = "product", measure: str = "units",
               freq: Literal["W", "D"] = "W", items: list[str] | None = None,
               exclude: tuple[str, ...] | None = None) -> Panel:
    """The sales matrix of every item at ``level`` over the data's whole calendar (the
    forecast service's :func:`~insightloop.services.forecast.demand_series`: returns
    netted and floored at 0, an incomplete last week dropped), only ``items`` when given.
    A category level where no product has a category is empty. The lines of the products
    in ``exclude`` (default: :func:`service_products`) are left out at every level; a
    product named in ``items`` is never left out."""
    if level not in LEVELS:
        raise ConfigError(f"level {level!r}: use one of {', '.join(LEVELS)}")
    if measure not in MEASURES:
        raise ConfigError(f"measure {measure!r}: use units or revenue")
    skip = service_products(ctx) if exclude is None else exclude
    if items and level == "product":
        skip = tuple(x for x in skip if x not in {str(i) for i in items})
    frame = demand_series(ctx, _LEVEL[level], freq, _MEASURE[measure], skip)["frame"]
    ds = pd.to_datetime(frame["ds"])
    start, end = ds.min(), ds.max()
    step = 7 if freq == "W" else 1
    keep = np.ones(len(frame), dtype=bool)
    if level == "category" and frame["unique_id"].eq("(none)").all():
        keep[:] = False  # no product has a category: no category level
    if items:
        keep &= frame["unique_id"].astype(str).isin([str(i) for i in items]).to_numpy()
    frame, ds = frame[keep], ds[keep]
    n_periods = (end - start).days // step + 1
    names, row = np.unique(frame["unique_id"].astype(str).to_numpy(), return_inverse=True)
    col = ((ds - start).dt.days // step).to_numpy()
    values = np.zeros((len(names), n_periods))
    np.add.at(values, (row, col), frame["y"].to_numpy(dtype=float))
    return Panel(level=level, items=names.astype(object), start=start, step_days=step,
                 values=values, excluded=tuple(skip))


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
