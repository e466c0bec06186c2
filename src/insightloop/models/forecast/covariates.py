"""Known inputs per series and period (price, promotion flags, predicted uplift).

A covariate frame is long: ``unique_id, ds`` and one numeric column per input, a row per
series and period, history **and** the periods to forecast (the planned price of a future
week is known when the forecast is made). Rules (``docs/forecasting.md``):

* ``ds`` is mapped to the start of its period (the panel's periods); several rows of one
  series in one period are **averaged** (a week's lines give its average price);
* a history period without a row carries the series' last value forward (a week without
  sales has no price of its own), the first rows take the first known value;
* every period to forecast must have a value for every series: a missing one is an error
  naming the series, the period and the input (:func:`require_future`), never a silent
  guess;
* rows of series that are not in the panel are ignored.

The global LightGBM model takes each input as a feature, and for an input whose name
contains ``price`` also its ratio to the series' mean over its history periods (a price
cut of 20 % reads the same for a 2 and a 20 currency-unit item).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from insightloop.errors import SchemaError

__all__ = ["align", "lookup", "require_future"]

KEYS = ("unique_id", "ds")


def align(cov: pd.DataFrame, pfreq: str) -> pd.DataFrame:
    """``cov`` with ``ds`` at period starts of ``pfreq``, averaged per series and period."""
    missing = [c for c in KEYS if c not in cov.columns]
    if missing:
        raise SchemaError(f"the covariates lack column(s) {missing}; they have "
                          f"{list(cov.columns)}")
    values = [c for c in cov.columns if c not in KEYS]
    if not values:
        raise SchemaError("the covariates have no input column besides unique_id and ds")
    ds = pd.PeriodIndex(pd.to_datetime(cov["ds"]), freq=pfreq).to_timestamp(how="start")
    frame = pd.DataFrame({"unique_id": cov["unique_id"].to_numpy(), "ds": ds})
    for col in values:
        frame[col] = pd.to_numeric(cov[col], errors="raise").to_numpy(dtype=np.float64)
    return frame.groupby(["unique_id", "ds"], sort=True).mean()


def _raw(cov: pd.DataFrame, ids: np.ndarray, dates: np.ndarray) -> dict[str, np.ndarray]:
    """Each input at every (series, date) of ``dates`` (n, T); NaN where no row."""
    n, t = dates.shape
    index = pd.MultiIndex.from_arrays([np.repeat(ids, t), pd.DatetimeIndex(dates.ravel())])
    got = cov.reindex(index)
    return {str(c): got[c].to_numpy(dtype=np.float64).reshape(n, t) for c in cov.columns}


def lookup(cov: pd.DataFrame, ids: np.ndarray, dates: np.ndarray, history: int
           ) -> list[np.ndarray]:
    """Features ``(n, T)`` for the aligned covariates at ``dates``: each input, gaps
    carried forward (then back), and for ``*price*`` inputs the ratio to the series' mean
    over the first ``history`` columns."""
    out: list[np.ndarray] = []
    for name, raw in _raw(cov, ids, dates).items():
        filled = pd.DataFrame(raw).ffill(axis=1).bfill(axis=1).to_numpy(dtype=np.float64)
        out.append(filled)
        if "price" in name.lower():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # no history value: NaN
                base = np.nanmean(raw[:, :history], axis=1)
            out.append(filled / np.where(base > 0, base, np.nan)[:, None])
    return out


def require_future(cov: pd.DataFrame, ids: np.ndarray, dates: np.ndarray) -> None:
    """Raise a :class:`SchemaError` naming the first series, period and input without a
    value among the forecast periods ``dates`` (n, h)."""
    for name, raw in _raw(cov, ids, dates).items():
        gap = np.isnan(raw)
        if gap.any():
            i, j = np.argwhere(gap)[0]
            raise SchemaError(
                f"known input {name!r} is missing for series {ids[i]!r} in the forecast "
                f"period starting {pd.Timestamp(dates[i, j]).date()} ({int(gap.sum())} "
                "series-period(s) missing): give every series a value for every period to "
                "forecast (e.g. the planned price)")
