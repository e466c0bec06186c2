"""``inventory_plan``: safety stock, reorder point and order quantity per product.

The demand over the lead time is simulated (``models.planning.inventory``) from weekly
sample paths of each product's demand:

* ``forecast``: from table ``forecasts`` (written by the forecast service: ``unique_id``,
  ``level``, ``ds``, ``mean``, ``lo-80``, ``hi-80``) when it has the product's weekly
  forecast: each week a normal with that mean and the spread of its 80% interval, cut at 0;
* ``model`` otherwise: sample paths of the forecast models (``models.forecast``: the model
  chosen per product by rolling-origin validation, its conformal errors resampled) fitted
  now on the product's last 52 weeks;
* ``bootstrap`` when the models cannot fit (too short a history) or with
  ``source="history"`` (the what-if's default: fast): blocks of consecutive weeks of the
  product's own last 52 weeks of sales, drawn at random (the empirical lead-time demand;
  keeps the week-to-week correlation but assumes the next weeks look like the last year).

Service codes (postage, fees, manual lines: ``models.planning.service_codes``) are not
products: they are left out of the plan and counted (``service_codes_excluded``).

The reorder point is the lead-time demand quantile at the target (cycle service level, or a
fill rate); the textbook normal formula is written beside it for comparison. The order
quantity is the EOQ with the holding cost ``holding_cost_rate x unit price`` a year.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, cast

import duckdb
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from insightloop.errors import ConfigError, InputFileError, InsightloopError
from insightloop.models.forecast import PanelForecaster
from insightloop.models.planning.inventory import (
    critical_ratio,
    eoq,
    lead_time_demand,
    normal_policy,
    quantile_policy,
)
from insightloop.models.planning.service_codes import read_service_codes
from insightloop.services.context import Context
from insightloop.services.planning.series import load_panel, service_products, unit_prices
from insightloop.services.results.planning import InventoryPlanBuilt, WhatIfRow
from insightloop.storage.ids import id_sql
from insightloop.storage.user_table import read_user_table
from insightloop.storage.warehouse import has_table, write_frame

ServiceType = Literal["cycle", "fill"]
HISTORY_WEEKS = 52
CHUNK = 500  # products simulated at once: bounds memory at CHUNK x draws x horizon floats
Z80 = 1.2815515655446004
SOURCES = ("auto", "history")
PLAN_COLUMNS = ("product_id", "method", "demand_per_week", "lead_time_demand",
                "safety_stock", "reorder_point", "order_quantity", "safety_stock_normal",
                "reorder_point_normal", "unit_cost", "safety_stock_value", "on_hand",
                "order_now", "service_level", "service_type", "lead_time_weeks",
                "lead_time_sd")


def _check(service_level: float, lead_time_weeks: float, lead_time_sd: float,
           holding_cost_rate: float, order_cost: float) -> None:
    if not 0 < service_level < 1:
        raise ConfigError(f"--service-level {service_level!r}: give a share between 0 and 1 "
                          "(e.g. 0.95)")
    if not 0 < lead_time_weeks <= 52 or lead_time_sd < 0 or lead_time_sd > lead_time_weeks:
        raise ConfigError(f"--lead-time {lead_time_weeks!r} must be in (0, 52] weeks and "
                          f"--lead-time-sd {lead_time_sd!r} between 0 and the lead time")
    if holding_cost_rate <= 0 or order_cost < 0:
        raise ConfigError("--holding-cost-rate must be > 0 and --order-cost >= 0")


def _forecast_paths(ctx: Context, products: NDArray[np.object_], horizon: int, draws: int,
                    seed: int) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Normal paths from table ``forecasts`` for the products it covers over ``horizon``
    weeks; the mask says which products had one."""
    paths = np.zeros((len(products), draws, horizon))
    have = np.zeros(len(products), dtype=bool)
    with ctx.read() as con:
        if not has_table(con, "forecasts"):
            return paths, have
        cols = {r[0] for r in con.execute("DESCRIBE forecasts").fetchall()}
        weekly = ("AND freq = 'W' " if "freq" in cols else "") + (
            "AND measure = 'quantity' " if "measure" in cols else "")
        frame = con.execute(
            'SELECT CAST(unique_id AS VARCHAR) AS item, "mean" AS m, '
            '"hi-80" - "lo-80" AS width FROM forecasts WHERE level = \'product\' '
            f"{weekly}AND CAST(unique_id AS VARCHAR) IN (SELECT unnest(?)) "
            "QUALIFY row_number() OVER (PARTITION BY unique_id ORDER BY ds) <= ? "
            "AND count(*) OVER (PARTITION BY unique_id) >= ? ORDER BY item, ds",
            [products.astype(str).tolist(), horizon, horizon]).df()
    if frame.empty:
        return paths, have
    mean = frame["m"].to_numpy(dtype=float).reshape(-1, horizon)
    sd = np.maximum(frame["width"].to_numpy(dtype=float), 0).reshape(-1, horizon) / (2 * Z80)
    rows = pd.Index(products.astype(str)).get_indexer(frame["item"].iloc[::horizon])
    noise = np.random.default_rng(seed).standard_normal((len(rows), draws, horizon))
    paths[rows] = np.maximum(mean[:, None, :] + sd[:, None, :] * noise, 0.0)
    have[rows] = True
    return paths, have


def model_paths(items: NDArray[np.object_], history: NDArray[np.float64], horizon: int,
                 draws: int, seed: int) -> NDArray[np.float64] | None:
    """Sample paths of the forecast models (``models.forecast.PanelForecaster``, auto choice
    per product by rolling origin, conformal errors) fitted on ``history`` (weekly, ending
    at the same week); None when the history is too short for the models."""
    n, weeks = history.shape
    frame = pd.DataFrame({"unique_id": np.repeat(items.astype(str), weeks),
                          "ds": np.tile(pd.date_range("2000-01-03", periods=weeks,
                                                      freq="W-MON"), n),
                          "y": history.ravel()})
    try:
        fc = PanelForecaster("auto", horizon=horizon).fit(frame, "W", common_end=True)
    except InsightloopError:
        return None
    paths = fc.sample_paths(horizon, draws, seed)
    order = pd.Index(fc.ids.astype(str)).get_indexer(items.astype(str))
    return np.asarray(paths[order], dtype=float)


def bootstrap_paths(history: NDArray[np.float64], horizon: int, draws: int,
                     seed: int) -> NDArray[np.float64]:
    """Blocks of ``horizon`` consecutive weeks from each row's history, random starts."""
    weeks = history.shape[1]
    if weeks < horizon:
        raise ConfigError(f"{weeks} complete weeks of sales: the lead time needs {horizon}; "
                          "shorten --lead-time or load more history")
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, weeks - horizon + 1, (history.shape[0], draws))
    idx = starts[..., None] + np.arange(horizon)
    return np.take_along_axis(history[:, None, :], idx, axis=2)


def _read_stock(path: Path) -> pd.DataFrame:
    """``product_id, on_hand`` of a stock file, ids normalised as ingestion does."""
    frame = read_user_table(path, columns=["product_id", "on_hand"],
                            text_columns=["product_id"])
    on_hand = pd.to_numeric(frame["on_hand"], errors="coerce")
    bad = (on_hand.isna() | (on_hand < 0)).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputFileError(f"{path}: row {row + 2}, column 'on_hand': "
                             f"'{frame['on_hand'].iloc[row]}' is not a stock level >= 0")
    raw = pd.DataFrame({"pid": frame["product_id"].astype(str)})
    with duckdb.connect() as con:
        con.register("__stock", raw)
        ids = con.execute(f"SELECT {id_sql('pid')} AS p FROM __stock").df()["p"]
    dup = ids.duplicated().to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise InputFileError(f"{path}: row {row + 2}, column 'product_id': "
                             f"{ids.iloc[row]!r} appears twice; give one stock line a product")
    return pd.DataFrame({"product_id": ids.to_numpy(), "on_hand": on_hand.to_numpy()})


def demand_history(ctx: Context, items: list[str] | None = None,
                   exclude: tuple[str, ...] | None = None
                   ) -> tuple[NDArray[np.object_], NDArray[np.float64], NDArray[np.float64]]:
    """Products sold in the last year (service codes left out: ``exclude``, by default
    ``series.service_products``), their weekly sales over it and their unit prices."""
    panel = load_panel(ctx, "product", "units", "W", items, exclude)
    history = panel.values[:, -HISTORY_WEEKS:]
    sold = history.sum(axis=1) > 0
    if items and not sold.any():
        raise ConfigError(f"none of the products {items[:5]} sold in the last "
                          f"{HISTORY_WEEKS} weeks")
    return panel.items[sold], history[sold], unit_prices(ctx, panel.items[sold])


def plan_frame(ctx: Context, service_level: float = 0.95, service_type: ServiceType = "cycle",
               lead_time_weeks: float = 2.0, lead_time_sd: float = 0.0,
               holding_cost_rate: float = 0.25, order_cost: float = 50.0,
               items: list[str] | None = None, draws: int = 1000, seed: int = 0,
               history: tuple[NDArray[np.object_], NDArray[np.float64],
                              NDArray[np.float64]] | None = None,
               source: str = "auto", perishable: tuple[float, float] | None = None,
               exclude: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The plan (without stock) as a frame, one row per product sold in the last year
    (``history``: :func:`demand_history`'s result, read once for several scenarios;
    ``source="history"``: blocks of history for products without a stored forecast, no
    model fit). ``perishable=(cost_rate, salvage_rate)``: the order quantity is the
    newsvendor's, the demand over the lead time (the selling period) at the critical ratio
    of a unit cost ``cost_rate x price`` and a salvage value ``salvage_rate x cost``."""
    ratio = None
    if perishable is not None:
        cost_rate, salvage_rate = perishable
        if not 0 < cost_rate < 1 or not 0 <= salvage_rate < 1:
            raise ConfigError(f"--cost-rate {cost_rate!r} must be in (0, 1) and "
                              f"--salvage-rate {salvage_rate!r} in [0, 1)")
        ratio = float(critical_ratio(1.0, cost_rate, salvage_rate * cost_rate))
    _check(service_level, lead_time_weeks, lead_time_sd, holding_cost_rate, order_cost)
    if source not in SOURCES:
        raise ConfigError(f"--source {source!r}: use {' or '.join(SOURCES)}")
    products, weekly, price = history if history is not None else demand_history(ctx, items,
                                                                                 exclude)
    horizon = int(np.ceil(lead_time_weeks + 4 * lead_time_sd))
    price = unit_prices(ctx, products)
    mean_d, sd_d = weekly.mean(axis=1), weekly.std(axis=1, ddof=1)
    parts = []
    for lo in range(0, len(products), CHUNK):  # chunks of products, each vectorised
        sl = slice(lo, lo + CHUNK)
        paths, have = _forecast_paths(ctx, products[sl], horizon, draws, seed + lo)
        method = np.where(have, "forecast", "bootstrap").astype(object)
        rest = np.flatnonzero(~have)
        model = (model_paths(products[sl][rest], weekly[sl][rest], horizon, draws, seed + lo)
                 if len(rest) and source == "auto" else None)
        if model is not None:
            paths[rest], method[rest] = model, "model"
        elif len(rest):
            paths[rest] = bootstrap_paths(weekly[sl][rest], horizon, draws, seed + lo)
        ltd = lead_time_demand(paths, lead_time_weeks, lead_time_sd, seed + lo)
        demand_week = np.where(method == "bootstrap", mean_d[sl], paths.mean(axis=(1, 2)))
        holding = holding_cost_rate * np.where(np.isfinite(price[sl]) & (price[sl] > 0),
                                               price[sl], np.nan)
        q = eoq(demand_week * 52, order_cost, np.nan_to_num(holding, nan=1.0))
        q = np.where(np.isfinite(holding), np.maximum(np.ceil(q), 1.0), np.nan)
        if ratio is not None:  # perishable: one selling period, the newsvendor quantity
            q = np.ceil(np.quantile(ltd, ratio, axis=1))
        pol = quantile_policy(ltd, service_level, service_type,
                              order_qty=np.nan_to_num(q, nan=1.0))
        ref = normal_policy(mean_d[sl], sd_d[sl], lead_time_weeks, lead_time_sd,
                            service_level)
        parts.append(pd.DataFrame({
            "product_id": products[sl].astype(str),
            "method": method,
            "demand_per_week": demand_week, "lead_time_demand": pol["mu_L"],
            "safety_stock": pol["safety_stock"], "reorder_point": np.ceil(pol["reorder_point"]),
            "order_quantity": q, "safety_stock_normal": ref["safety_stock"],
            "reorder_point_normal": np.ceil(ref["reorder_point"]), "unit_cost": price[sl]}))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=list(PLAN_COLUMNS[:10]))
    frame["safety_stock_value"] = frame["safety_stock"].clip(lower=0) * frame["unit_cost"]
    return frame


def inventory_plan(ctx: Context, service_level: float = 0.95,
                   service_type: ServiceType = "cycle", lead_time_weeks: float = 2.0,
                   lead_time_sd: float = 0.0, holding_cost_rate: float = 0.25,
                   order_cost: float = 50.0, items: list[str] | None = None,
                   stock: str | None = None, output: str | None = None, draws: int = 1000,
                   seed: int = 0, source: str = "auto",
                   perishable: tuple[float, float] | None = None,
                   service_codes: str | None = None) -> InventoryPlanBuilt:
    """Write table ``inventory_plan`` (and ``output`` CSV/Parquet when given); service
    codes (postage, fees; ``service_codes``: a file of overrides) are left out."""
    stock_frame = _read_stock(Path(stock)) if stock else None
    skip = service_products(ctx, read_service_codes(service_codes) if service_codes else None)
    frame = plan_frame(ctx, service_level, service_type, lead_time_weeks, lead_time_sd,
                       holding_cost_rate, order_cost, items, draws, seed, source=source,
                       perishable=perishable, exclude=skip)
    if stock_frame is not None:
        frame = frame.merge(stock_frame, on="product_id", how="left")
    else:
        frame["on_hand"] = np.nan
    known = frame["on_hand"].notna().to_numpy()
    frame["order_now"] = pd.arrays.BooleanArray(
        (frame["on_hand"] <= frame["reorder_point"]).to_numpy(), ~known)
    frame["service_level"] = service_level
    frame["service_type"] = service_type
    frame["lead_time_weeks"] = float(lead_time_weeks)
    frame["lead_time_sd"] = float(lead_time_sd)
    frame = frame.loc[:, list(PLAN_COLUMNS)]
    with ctx.warehouse.transaction() as con:
        write_frame(con, "inventory_plan", frame)
    if output:
        _write_output(frame, Path(output))
    methods = frame["method"].value_counts()
    return {"table": "inventory_plan", "products": len(frame),
            "from_forecast": int(methods.get("forecast", 0)),
            "from_model": int(methods.get("model", 0)),
            "from_history": int(methods.get("bootstrap", 0)),
            "service_level": service_level, "service_type": service_type,
            "lead_time_weeks": float(lead_time_weeks), "lead_time_sd": float(lead_time_sd),
            "safety_stock_value": float(frame["safety_stock_value"].sum(skipna=True)),
            "order_now": int(frame["order_now"].fillna(False).sum()),
            "stock_matched": (None if stock_frame is None
                              else int(frame["on_hand"].notna().sum())),
            "output": output, "order_rule": "eoq" if perishable is None else "newsvendor",
            "service_codes_excluded": len(skip), "service_codes": list(skip[:20])}


def _write_output(frame: pd.DataFrame, path: Path) -> None:
    try:
        if path.suffix.lower() == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot write the plan ({exc.strerror})") from exc


def inventory_whatif(ctx: Context, service_levels: tuple[float, ...] = (0.9, 0.95, 0.98, 0.99),
                     lead_times: tuple[float, ...] = (1.0, 2.0, 4.0), lead_time_sd: float = 0.0,
                     service_type: ServiceType = "cycle", holding_cost_rate: float = 0.25,
                     order_cost: float = 50.0, items: list[str] | None = None,
                     draws: int = 500, seed: int = 0, source: str = "history"
                     ) -> list[WhatIfRow]:
    """Totals of the plan over a grid of service levels and lead times: safety stock
    units and value, and the yearly holding cost of that safety stock."""
    if not service_levels or not lead_times:
        raise ConfigError("give at least one service level and one lead time")
    rows: list[WhatIfRow] = []
    history = demand_history(ctx, items)
    for lead in lead_times:  # a handful of scenarios; each one vectorised over products
        for level in service_levels:
            f = plan_frame(ctx, level, service_type, lead, lead_time_sd, holding_cost_rate,
                           order_cost, items, draws, seed, history, source)
            value = float(f["safety_stock_value"].sum(skipna=True))
            rows.append(cast(WhatIfRow, {
                "service_level": float(level), "lead_time_weeks": float(lead),
                "products": len(f),
                "safety_stock_units": float(f["safety_stock"].clip(lower=0).sum()),
                "safety_stock_value": value,
                "holding_cost_per_year": value * holding_cost_rate,
                "safety_stock_units_normal": float(f["safety_stock_normal"].clip(lower=0).sum())}))
    return rows
