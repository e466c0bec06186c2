"""Build table ``forecasts`` from the warehouse's demand series, and read it back.

``build_forecasts`` fits :class:`~insightloop.models.forecast.PanelForecaster` on the
series of one level (``series.demand_series``) and replaces that level's rows (for the same
frequency and measure) in table ``forecasts``. With ``reconcile="bottom_up"`` or
``"mint"`` (level other than total) the total is forecast too and both levels are made
coherent (the total equals the sum of its series); an interval moves with its reconciled
mean (its width is the base model's). Known inputs (campaign days, holidays:
``calendar.known_inputs``) go to the models that use them (the global LightGBM model).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from insightloop.errors import ConfigError, WarehouseError
from insightloop.models.forecast import PanelForecaster
from insightloop.models.forecast.reconcile import bottom_up, min_trace
from insightloop.services.context import Context
from insightloop.services.forecast.calendar import known_inputs
from insightloop.services.forecast.series import demand_series
from insightloop.services.results.forecast import ForecastsBuilt, ForecastsShown
from insightloop.storage.warehouse import has_table, write_frame

__all__ = ["build_forecasts", "show_forecasts"]

RECONCILE = ("none", "bottom_up", "mint")
COLUMNS = ("unique_id", "level", "freq", "measure", "ds", "mean", "lo-80", "hi-80", "model",
           "built_at")


def _fit(ctx: Context, level: str, freq: str, measure: str, horizon: int, model: str
         ) -> tuple[PanelForecaster, pd.DataFrame, list[str]]:
    series = demand_series(ctx, level, freq, measure)
    first, last = series["frame"]["ds"].min(), series["frame"]["ds"].max()
    step = {"D": "D", "W": "7D", "M": "MS"}[freq]
    periods = pd.date_range(first, last, freq=step).append(
        pd.date_range(last, periods=horizon + 1, freq=step)[1:])
    inputs = known_inputs(ctx, periods, freq)
    # squared-error choice: the table's means are summed (levels, planning); the absolute-
    # error choice picks medians for sparse items, whose sum is far below the total
    fc = PanelForecaster(model, horizon=horizon, loss="mse").fit(
        series["frame"], freq, common_end=True, inputs=inputs)
    return fc, fc.forecast(horizon, (80,)), series["notes"]


def _reconcile(how: str, top: PanelForecaster, top_out: pd.DataFrame,
               bottom: PanelForecaster, bottom_out: pd.DataFrame, h: int) -> None:
    """Make the total equal the sum of the bottom series, in place (means and intervals)."""
    nb = bottom.ids.size
    agg = sp.csr_matrix(np.ones((1, nb)))
    base = np.vstack([top_out["mean"].to_numpy().reshape(1, h),
                      bottom_out["mean"].to_numpy().reshape(nb, h)])
    if how == "bottom_up":
        rec = bottom_up(base[1:], agg)
    else:
        resid = np.vstack([top.residuals, bottom.residuals])
        rec = min_trace(base, agg, resid)
        if bool(np.nanmin(base) >= 0):  # keep non-negative demand coherent: clip, re-sum
            rec = bottom_up(np.maximum(rec[1:], 0.0), agg)
    for frame, new, old in ((top_out, rec[:1], base[:1]), (bottom_out, rec[1:], base[1:])):
        shift = (new - old).ravel()
        frame["mean"] = new.ravel()
        for col in ("lo-80", "hi-80"):
            frame[col] = np.maximum(frame[col].to_numpy() + shift, 0.0)
        frame["lo-80"] = np.minimum(frame["lo-80"], frame["mean"])
        frame["hi-80"] = np.maximum(frame["hi-80"], frame["mean"])
        frame["model"] = frame["model"] + f"+{how}"


def build_forecasts(ctx: Context, level: str = "product", freq: str = "W", horizon: int = 8,
                    model: str = "auto", measure: str = "quantity",
                    reconcile: str = "none") -> ForecastsBuilt:
    """Forecast every series of ``level`` ``horizon`` periods ahead; write ``forecasts``."""
    if reconcile not in RECONCILE:
        raise ConfigError(f"reconcile {reconcile!r} is not supported: use one of "
                          f"{', '.join(RECONCILE)}")
    if horizon < 1:
        raise ConfigError(f"horizon must be at least 1 period, got {horizon}")
    started = time.perf_counter()
    fc, out, notes = _fit(ctx, level, freq, measure, horizon, model)
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
