"""Known inputs per series and period for the forecasts: a user's covariates file, and
each product's price from the order lines.

**The covariates file** (``evaluate forecast --covariates``, ``forecast build
--covariates``; ``docs/forecasting.md``): the series id column(s) and the time column (the
same names as the data; for ``forecast build`` ``product_id`` and ``ds``), and one or more
numeric input columns (``price``, ``promo``, ``uplift``, ...), one row per series and
period, history and the periods to forecast. An empty or non-numeric input, an unreadable
time or a missing id is an error naming the line and column (exit 2); several rows in one
period are averaged.

**Prices from the warehouse** (``forecast build --price``, products only): a product's
price in a period is its average unit price over that period's sales lines (revenue over
units, lines with a positive quantity and price); a period without sales carries the last
price forward; the periods to forecast take the planned price from the covariates file
where it gives one, else the last price (carried forward); a product never sold at a price
gets a constant price of 1 (no price effect). Other file inputs are 0 where the file has no
row (no promotion planned).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from insightloop.errors import ConfigError, InputFileError
from insightloop.services.context import Context
from insightloop.storage.user_table import read_user_table

__all__ = ["SEP", "bad_line", "read_covariates", "series_key", "with_prices"]

SEP = "\x1f"  # joins several id columns into one series key


def bad_line(path: Path, mask: np.ndarray, column: str, values: pd.Series, what: str) -> None:
    """Raise an :class:`InputFileError` naming the first flagged line (header = line 1)."""
    if mask.any():
        i = int(np.flatnonzero(mask)[0])
        raise InputFileError(f"{path}: line {i + 2}, column {column!r}: {what} "
                             f"({values.iloc[i]!r}); {int(mask.sum())} such row(s); fix or "
                             "drop them")


def series_key(frame: pd.DataFrame, ids: Sequence[str]) -> np.ndarray:
    """One key per row: the id column, or several joined by :data:`SEP`."""
    key = frame[list(ids)].astype(str).agg(SEP.join, axis=1) if len(ids) > 1 \
        else frame[ids[0]].astype(str)
    return key.to_numpy()


def read_covariates(path: Path | str, ids: Sequence[str], time: str) -> pd.DataFrame:
    """The file as ``unique_id, ds, <inputs>`` (see the module's rules)."""
    p = Path(path)
    frame = read_user_table(p, text_columns=[*ids, time])
    missing = [c for c in (*ids, time) if c not in frame.columns]
    if missing:
        raise InputFileError(f"{p}: no column(s) {missing}; the covariates file needs the "
                             f"series id and time columns {[*ids, time]} and numeric inputs; "
                             f"it has {list(frame.columns)}")
    inputs = [c for c in frame.columns if c not in (*ids, time)]
    if not inputs:
        raise InputFileError(f"{p}: no input column besides {[*ids, time]}; add one or more "
                             "numeric columns such as price, promo or uplift")
    if frame.empty:
        raise InputFileError(f"{p}: no rows")
    ds = pd.to_datetime(frame[time], errors="coerce", format="mixed")
    bad_line(p, ds.isna().to_numpy(), time, frame[time], "not a date or time")
    for col in ids:
        bad_line(p, frame[col].isna().to_numpy(), col, frame[col], "missing id")
    out = pd.DataFrame({"unique_id": series_key(frame, ids),
                        "ds": ds.dt.tz_localize(None) if ds.dt.tz is not None else ds})
    for col in inputs:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad_line(p, (values.isna() | ~np.isfinite(values.astype(float))).to_numpy(), col,
                 frame[col], "missing or not a number")
        out[col] = values.astype(np.float64).to_numpy()
    return out


def _order_prices(ctx: Context, unit: str) -> pd.DataFrame:
    with ctx.read() as con:
        return con.execute(
            f"SELECT CAST(product_id AS VARCHAR) AS unique_id, "
            f"date_trunc('{unit}', order_time) AS ds, "
            "(sum(quantity * unit_price) / sum(quantity))::DOUBLE AS price FROM orders "
            "WHERE quantity > 0 AND unit_price > 0 AND order_time IS NOT NULL "
            "GROUP BY ALL").df()


def with_prices(ctx: Context, unit: str, future: pd.DatetimeIndex, series: np.ndarray,
                planned: pd.DataFrame | None) -> pd.DataFrame:
    """``unique_id, ds, price[, file inputs]`` for ``series`` over history and ``future``
    periods: order-line prices, the planned ones (``planned``: a covariates frame) over
    the future, else the last price carried forward."""
    hist = _order_prices(ctx, unit)
    hist = hist[hist["unique_id"].isin(series)]
    if hist.empty:
        raise ConfigError("no order line has a positive quantity and unit price: there is "
                          "no price to use as a known input")
    hist["ds"] = pd.to_datetime(hist["ds"])
    last = hist.sort_values("ds").groupby("unique_id")["price"].last()
    # a product never sold at a price gets a constant one: no price effect, not an error
    last = last.reindex(pd.Index(np.unique(series), name="unique_id"), fill_value=1.0)
    fut = pd.DataFrame({"unique_id": np.repeat(last.index.to_numpy(), len(future)),
                        "ds": np.tile(np.asarray(future), len(last)),
                        "price": np.repeat(last.to_numpy(), len(future))})
    out = pd.concat([hist, fut], ignore_index=True)
    if planned is None:
        return out
    keys = ["unique_id", "ds"]
    out = out.merge(planned, on=keys, how="outer", suffixes=("", "_planned"))
    if "price_planned" in out.columns:
        out["price"] = out["price_planned"].where(out["price_planned"].notna(), out["price"])
        out = out.drop(columns="price_planned")
    extra = [c for c in out.columns if c not in (*keys, "price")]
    out[extra] = out[extra].fillna(0.0)
    return out[out["unique_id"].isin(series)].reset_index(drop=True)
