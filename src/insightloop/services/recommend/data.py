"""Reads for the recommender: an interaction file, the warehouse's interactions, the catalogue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from insightloop.errors import WarehouseError
from insightloop.features.interactions import warehouse_interactions_sql
from insightloop.models.recommend.selection import DEFAULT_GRID, HYBRID_WEIGHTS
from insightloop.services.context import Context
from insightloop.services.evaluation import read_table_file
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import has_table

Progress = Callable[[str], None]
#: ``on_step(message, done, total)``: progress counted in steps, so a bar can show an ETA.
StepProgress = Callable[[str, int, int], None]
STOCK_COLUMNS = ("in_stock", "stock", "stock_quantity", "inventory", "available")


class Steps:
    """Every progress message is one step of ``total`` (reading, each model tried on the
    validation split, the fit, ...): ``on_step`` gets the count, ``on_progress`` the message
    only."""

    def __init__(self, on_progress: Progress | None, on_step: StepProgress | None,
                 total: int) -> None:
        self.on_progress, self.on_step, self.total, self.done = on_progress, on_step, total, 0

    def __call__(self, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(message)
        if self.on_step is not None:
            self.on_step(message, self.done, max(self.total, self.done + 1))
        self.done += 1


def auto_trials(model: str, with_vectors: bool) -> int:
    """Validation trials ``select_model`` runs at most for ``model`` (0 unless "auto")."""
    if model != "auto":
        return 0
    return len(DEFAULT_GRID) + 1 + (len(HYBRID_WEIGHTS) if with_vectors else 0)


def read_interactions_file(path: Path | str) -> pd.DataFrame:
    """An interaction file as a frame, through the one reader of user files
    (:func:`~insightloop.services.evaluation.read_table_file`); errors name the file."""
    return read_table_file(path)


def _nonempty_tables(con: Any, names: tuple[str, ...]) -> set[str]:
    out = set()
    for name in names:
        if has_table(con, name):
            row = con.execute(f"SELECT count(*) FROM {ident(name)}").fetchone()
            if row and row[0]:
                out.add(name)
    return out


def load_interactions(ctx: Context, weights: dict[str, float] | None = None,
                      half_life_days: float | None = None) -> pd.DataFrame:
    """Weighted (user, item, weight, time) pairs from orders, events and reviews."""
    wh = ctx.warehouse
    with wh.connect(read_only=wh.exists) as con:
        tables = _nonempty_tables(con, ("orders", "events", "reviews"))
        sql, params = warehouse_interactions_sql(tables, weights, half_life_days,
                                                 with_purchased=True)
        frame = con.execute(sql, params).df()
    if frame.empty:
        raise WarehouseError("no purchases, events or ratings with a customer and a product in "
                             f"{ctx.settings.warehouse}; ingest orders or events first")
    return frame.rename(columns={"customer_id": "user", "product_id": "item",
                                 "last_time": "time"})


def load_catalogue(ctx: Context) -> pd.DataFrame:
    """product_id, description, category, in_stock (bool or NULL) of every known product."""
    wh = ctx.warehouse
    with wh.connect(read_only=wh.exists) as con:
        parts = []
        if has_table(con, "orders"):
            parts.append("SELECT product_id, arg_max(description, n) AS description FROM "
                         "(SELECT product_id, description, count(*) AS n FROM orders WHERE "
                         "description IS NOT NULL GROUP BY ALL) GROUP BY product_id")
        described = parts[0] if parts else (
            "SELECT NULL::VARCHAR AS product_id, NULL::VARCHAR AS description WHERE false")
        stock = "NULL::BOOLEAN"
        if has_table(con, "products"):
            cols = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = "
                "'products'").fetchall()}
            found = [c for c in STOCK_COLUMNS if c in cols]
            if found:
                stock = f"(TRY_CAST(p.{ident(found[0])} AS DOUBLE) > 0)"
            prods = f"SELECT product_id, name, category, {stock} AS in_stock FROM products p"
        else:
            prods = ("SELECT NULL::VARCHAR AS product_id, NULL::VARCHAR AS name, "
                     "NULL::VARCHAR AS category, NULL::BOOLEAN AS in_stock WHERE false")
        sql = (f"WITH d AS ({described}), p AS ({prods}) "
               "SELECT coalesce(p.product_id, d.product_id) AS product_id, "
               "coalesce(nullif(trim(p.name), ''), trim(d.description)) AS description, "
               "p.category, p.in_stock FROM p FULL OUTER JOIN d USING (product_id) "
               "ORDER BY product_id")
        return con.execute(sql).df()
