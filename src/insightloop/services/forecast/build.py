"""Build table ``forecasts`` from the warehouse's demand series, and read it back.

``build_forecasts`` fits :class:`~insightloop.models.forecast.PanelForecaster` on the
series of one level (``series.demand_series``) and replaces that level's rows (for the same
frequency and measure) in table ``forecasts``. With ``reconcile="bottom_up"`` or
``"mint"`` (level other than total) the total is forecast too and both levels are made
coherent (the total equals the sum of its series); the 80% intervals are re-estimated as
quantiles of reconciled sample paths (200 per series, made to move together as the series
did in their history by a Schaake shuffle). Known inputs (campaign days, holidays:
``calendar.known_inputs``) go to the models that use them (the global LightGBM model).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from insightloop.errors import ConfigError, InputFileError, SchemaError, WarehouseError
from insightloop.models.forecast import PanelForecaster
from insightloop.models.forecast.reconcile import (
    bottom_up,
    history_template,
    min_trace,
    path_intervals,
    reconcile_paths,
    schaake,
)
from insightloop.services.context import Context
from insightloop.services.forecast.calendar import known_inputs
from insightloop.services.forecast.covariates import read_covariates, with_prices
from insightloop.services.forecast.series import FREQ_TRUNC, demand_series
from insightloop.services.results.forecast import ForecastsBuilt, ForecastsShown
from insightloop.storage.warehouse import has_table, write_frame

__all__ = ["build_forecasts", "show_forecasts"]

RECONCILE = ("none", "bottom_up", "mint")
PATHS = 200  # sample paths per series for the reconciled intervals
COLUMNS = ("unique_id", "level", "freq", "measure", "ds", "mean", "lo-80", "hi-80", "model",
           "built_at")


def _fit(ctx: Context, level: str, freq: str, measure: str, horizon: int, model: str,
         covariates: pd.DataFrame | None = None, price: bool = False
         ) -> tuple[PanelForecaster, pd.DataFrame, list[str]]:
    series = demand_series(ctx, level, freq, measure)
    first, last = series["frame"]["ds"].min(), series["frame"]["ds"].max()
    step = {"D": "D", "W": "7D", "M": "MS"}[freq]
    future = pd.date_range(last, periods=horizon + 1, freq=step)[1:]
    periods = pd.date_range(first, last, freq=step).append(future)
    inputs = known_inputs(ctx, periods, freq)
    if price:
        covariates = with_prices(ctx, FREQ_TRUNC[freq], future,
                                 series["frame"]["unique_id"].astype(str).unique(), covariates)
    # squared-error choice: the table's means are summed (levels, planning); the absolute-
    # error choice picks medians for sparse items, whose sum is far below the total
    fc = PanelForecaster(model, horizon=horizon, loss="mse").fit(
        series["frame"], freq, common_end=True, inputs=inputs, covariates=covariates)
    return fc, fc.forecast(horizon, (80,)), series["notes"]


def _reconcile(how: str, top: PanelForecaster, top_out: pd.DataFrame,
               bottom: PanelForecaster, bottom_out: pd.DataFrame, h: int) -> None:
    """Make the total equal the sum of the bottom series, in place: the means by the
    projection, the 80% intervals re-estimated as quantiles of the reconciled sample paths
    (``reconcile.reconcile_paths``), not shifted with the mean."""
    nb = bottom.ids.size
    agg = sp.csr_matrix(np.ones((1, nb)))
    base = np.vstack([top_out["mean"].to_numpy().reshape(1, h),
                      bottom_out["mean"].to_numpy().reshape(nb, h)])
    nonneg = bool(np.nanmin(base) >= 0)
    resid = np.vstack([top.residuals, bottom.residuals])
    if how == "bottom_up":
        rec = bottom_up(base[1:], agg)
    else:
        rec = min_trace(base, agg, resid)
        if nonneg:  # keep non-negative demand coherent: clip, re-sum
            rec = bottom_up(np.maximum(rec[1:], 0.0), agg)
    paths = np.concatenate([top.sample_paths(h, PATHS, seed=1),
                            bottom.sample_paths(h, PATHS, seed=2)])
    width = min(top.history.shape[1], bottom.history.shape[1])  # both end in the last period
    history = np.vstack([top.history[:, -width:], bottom.history[:, -width:]])
    if width >= h:  # the series move together as in their history (Schaake shuffle)
        paths = schaake(paths, history_template(history, PATHS, h, seed=3))
    bands = path_intervals(reconcile_paths(paths, agg, how, resid, nonneg=nonneg), (80,))
    for frame, rows in ((top_out, slice(0, 1)), (bottom_out, slice(1, None))):
        mean = rec[rows].ravel()
        frame["mean"] = mean
        frame["lo-80"] = np.minimum(bands["lo-80"][rows].ravel(), mean)
        frame["hi-80"] = np.maximum(bands["hi-80"][rows].ravel(), mean)
        frame["model"] = frame["model"] + f"+{how}"


def build_forecasts(ctx: Context, level: str = "product", freq: str = "W", horizon: int = 8,
                    model: str = "auto", measure: str = "quantity",
                    reconcile: str = "none", covariates: Path | str | None = None,
                    price: bool = False) -> ForecastsBuilt:
    """Forecast every series of ``level`` ``horizon`` periods ahead; write ``forecasts``.

    ``covariates``: a file of known inputs per series and period (``product_id`` or the
    level's id, ``ds``, numeric inputs; ``covariates.py``) covering the forecast periods;
    ``price`` (products only): each product's order-line price as a known input, the
    file's planned prices (or the last price) over the forecast periods."""
    if reconcile not in RECONCILE:
        raise ConfigError(f"reconcile {reconcile!r} is not supported: use one of "
                          f"{', '.join(RECONCILE)}")
    if horizon < 1:
        raise ConfigError(f"horizon must be at least 1 period, got {horizon}")
    if price and level != "product":
        raise ConfigError(f"--price is a known input per product; level {level!r} has none "
                          "(give a covariates file instead)")
    cov = read_covariates(covariates, ["product_id" if level == "product" else level], "ds") \
        if covariates is not None else None
    started = time.perf_counter()
    try:
        fc, out, notes = _fit(ctx, level, freq, measure, horizon, model, cov, price)
    except SchemaError as exc:
        if cov is None and not price:
            raise
        raise InputFileError(f"{covariates or 'the order-line prices'}: {exc}") from None
    out.insert(1, "level", level)
    frames = [out]
    if reconcile != "none" and level != "total":
        top, top_out, _ = _fit(ctx, "total", freq, measure, horizon, model)
        top_out.insert(1, "level", "total")
        _reconcile(reconcile, top, top_out, fc, out, horizon)
        frames.append(top_out)
    fit_seconds = time.perf_counter() - started
    table = pd.concat(frames, ignore_index=True)
    table["freq"] = freq
    table["measure"] = measure
    table["built_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    table = table.loc[:, list(COLUMNS)]
    levels = sorted(table["level"].unique())
    stored = not ctx.warehouse.read_only
    if stored:
        with ctx.warehouse.transaction() as con:
            if has_table(con, "forecasts"):
                marks = ", ".join("?" for _ in levels)
                con.execute(f"DELETE FROM forecasts WHERE freq = ? AND measure = ? "
                            f"AND level IN ({marks})", [freq, measure, *levels])
            write_frame(con, "forecasts", table, replace=False)
    counts = fc.chosen.value_counts()
    return ForecastsBuilt(
        level=level, freq=freq, measure=measure, horizon=horizon, series=int(fc.ids.size),
        rows=len(table), models={str(k): int(v) for k, v in counts.items()},
        validation_mase={k: round(v, 4) for k, v in fc.validation_mase.items()},
        reconcile=reconcile, stored=stored, fit_seconds=round(fit_seconds, 3), notes=notes)


def show_forecasts(ctx: Context, level: str | None = None, unique_id: str | None = None,
                   limit: int = 50) -> ForecastsShown:
    """What table ``forecasts`` holds (per level) and its rows, filtered."""
    with ctx.read() as con:
        if not has_table(con, "forecasts"):
            raise WarehouseError("no forecasts yet: run `insightloop forecast build "
                                 "--level product --freq W --horizon 8`")
        levels = con.execute(
            "SELECT level, freq, measure, count(DISTINCT unique_id) AS series, min(ds) AS first,"
            " max(ds) AS last, max(built_at) AS built_at FROM forecasts GROUP BY ALL "
            "ORDER BY level, freq, measure").df()
        where, params = [], []
        if level is not None:
            where.append("level = ?")
            params.append(level)
        if unique_id is not None:
            where.append("unique_id = ?")
            params.append(unique_id)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        rows = con.execute(f"SELECT * FROM forecasts {clause} ORDER BY level, unique_id, ds "
                           "LIMIT ?", [*params, int(limit)]).df()
    if unique_id is not None and rows.empty:
        raise WarehouseError(f"no forecast for {unique_id!r}"
                             + (f" at level {level!r}" if level else "")
                             + ": run `insightloop forecast show` to see the levels built")
    return ForecastsShown(levels=_records(levels), rows=_records(rows))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()}
            for r in frame.to_dict(orient="records")]
