"""Reads of the planning tables for the CLI, the API and the report pages (bounded: every
read takes a ``top``)."""

from __future__ import annotations

from typing import cast

import pandas as pd

from insightloop.errors import ConfigError, NotFoundError, WarehouseError
from insightloop.services.context import Context
from insightloop.services.planning.series import LEVELS, load_panel
from insightloop.services.records import records
from insightloop.services.results.planning import (
    AnomalyRow,
    ForecastPoint,
    ItemForecast,
    PlanRow,
    TrendRow,
)
from insightloop.storage.warehouse import has_table

TRENDS_HINT = "run `insightloop trends build` first"
PLAN_HINT = "run `insightloop inventory plan` first"


def _frame(ctx: Context, table: str, hint: str, sql: str, params: list[object]
           ) -> pd.DataFrame:
    with ctx.read() as con:
        if not has_table(con, table):
            raise WarehouseError(f"no table {table} yet; {hint}")
        return con.execute(sql, params).df()


def _level(level: str | None) -> None:
    if level is not None and level not in LEVELS:
        raise ConfigError(f"level {level!r}: use one of {', '.join(LEVELS)}")


def read_trends(ctx: Context, level: str | None = None, direction: str | None = None,
                top: int = 20) -> list[TrendRow]:
    """The surest movers: rising ones by the lower end of their growth interval (largest
    first: "at least +x%"), declining ones by the upper end (steepest first), flat ones by
    q; ``direction`` None gives rising then declining."""
    _level(level)
    if direction not in (None, "rising", "declining", "flat", "seasonal"):
        raise ConfigError(f"direction {direction!r}: use rising, declining, flat or seasonal")
    wanted = [direction] if direction else ["rising", "declining"]
    frame = _frame(
        ctx, "trends", TRENDS_HINT,
        "SELECT * FROM trends WHERE (? IS NULL OR level = ?) AND direction IN (SELECT "
        "unnest(?)) QUALIFY row_number() OVER (PARTITION BY direction ORDER BY CASE "
        "direction WHEN 'rising' THEN -ci_low WHEN 'declining' THEN ci_high ELSE q END, "
        "item) <= ? ORDER BY direction DESC, CASE direction WHEN 'rising' THEN -ci_low "
        "WHEN 'declining' THEN ci_high ELSE q END, item",
        [level, level, wanted, max(int(top), 1)])
    return cast("list[TrendRow]", records(frame))


def read_anomalies(ctx: Context, level: str | None = None, top: int = 50
                   ) -> list[AnomalyRow]:
    """The latest anomalies (newest first, then by |z|)."""
    _level(level)
    frame = _frame(ctx, "anomalies", TRENDS_HINT,
                   "SELECT * FROM anomalies WHERE (? IS NULL OR level = ?) "
                   "ORDER BY ds DESC, abs(z) DESC, item LIMIT ?",
                   [level, level, max(int(top), 1)])
    return cast("list[AnomalyRow]", records(frame))


def read_plan(ctx: Context, top: int = 100, product: str | None = None,
              order_now: bool = False) -> list[PlanRow]:
    """Plan rows by safety-stock value (largest first), one product, or those to order."""
    frame = _frame(ctx, "inventory_plan", PLAN_HINT,
                   "SELECT * FROM inventory_plan WHERE (? IS NULL OR product_id = ?) AND "
                   "(NOT ? OR order_now) ORDER BY safety_stock_value DESC NULLS LAST, "
                   "product_id LIMIT ?", [product, product, order_now, max(int(top), 1)])
    if product is not None and frame.empty:
        raise NotFoundError(f"product {product!r} is not in the inventory plan")
    return cast("list[PlanRow]", records(frame))


def item_forecast(ctx: Context, item: str, level: str = "product",
                  history_weeks: int = 52) -> ItemForecast:
    """The item's last weekly sales and its forecast (table ``forecasts``) with the 80%
    interval; NotFoundError when neither exists."""
    _level(level)
    panel = load_panel(ctx, level, "units", "W", [item])
    history = records(pd.DataFrame({
        "ds": panel.periods[-history_weeks:].strftime("%Y-%m-%d"),
        "y": panel.values[0, -history_weeks:]})) if len(panel.items) else []
    points: list[ForecastPoint] = []
    with ctx.read() as con:
        if has_table(con, "forecasts"):
            frame = con.execute(
                'SELECT CAST(ds AS DATE) AS ds, "mean", "lo-80" AS lo_80, "hi-80" AS hi_80, '
                "model FROM forecasts WHERE CAST(unique_id AS VARCHAR) = ? AND level = ? "
                "ORDER BY ds", [item, level]).df()
            points = cast("list[ForecastPoint]", records(frame))
    if not history and not points:
        raise NotFoundError(f"{level} {item!r} has no sales and no forecast")
    return {"item": item, "level": level, "history": history, "forecast": points}


def read_seasonality(ctx: Context, level: str, period: str = "weekday", top: int = 15
                     ) -> pd.DataFrame:
    """Index per item and place for the ``top`` items of ``level`` with the strongest
    seasonality (NaN strength last)."""
    _level(level)
    return _frame(ctx, "seasonality", TRENDS_HINT,
                  "SELECT * FROM seasonality WHERE level = ? AND period = ? AND item IN ("
                  "SELECT item FROM seasonality WHERE level = ? AND period = ? GROUP BY item "
                  "ORDER BY max(strength) DESC NULLS LAST, item LIMIT ?) ORDER BY item, "
                  "position", [level, period, level, period, max(int(top), 1)])


def read_ramps(ctx: Context, top: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The median launch curve and the ``top`` launches by ramp index."""
    curve = _frame(ctx, "ramp_curve", TRENDS_HINT, "SELECT * FROM ramp_curve ORDER BY week",
                   [])
    ramps = _frame(ctx, "ramps", TRENDS_HINT, "SELECT * FROM ramps ORDER BY index DESC "
                   "NULLS LAST, product_id LIMIT ?", [max(int(top), 1)])
    return curve, ramps


def forecast_items(ctx: Context, top: int = 4) -> list[str]:
    """The products with a forecast, largest forecast demand first ([] without forecasts)."""
    with ctx.read() as con:
        if not has_table(con, "forecasts"):
            return []
        rows = con.execute("SELECT CAST(unique_id AS VARCHAR) FROM forecasts WHERE level = "
                           "'product' GROUP BY 1 ORDER BY sum(\"mean\") DESC, 1 LIMIT ?",
                           [max(int(top), 1)]).fetchall()
    return [str(r[0]) for r in rows]
