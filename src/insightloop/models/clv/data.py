"""Customer-level RFM summaries from transaction logs (pure pandas/numpy, no I/O)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from insightloop.errors import SchemaError

_FREQ_DAYS = {"D": 1.0, "W": 7.0, "h": 1.0 / 24.0, "H": 1.0 / 24.0}


def _as_timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} {value!r} is not a date: {exc}") from None
    if ts is pd.NaT:
        raise ValueError(f"{name} is missing (NaT)")
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def summary_from_transactions(
    df: pd.DataFrame,
    customer_col: str,
    time_col: str,
    amount_col: str | None,
    calibration_end: Any,
    holdout_end: Any = None,
    freq: str = "D",
    time_unit_days: float | None = None,
) -> pd.DataFrame:
    """Per-customer ``frequency, recency, T, monetary_value`` (lifetimes convention).

    Transactions are floored to periods of ``freq`` ("D" day, "W" week, "h"
    hour) and transactions of a customer in the same period merge into one
    (amounts summed). Only customers whose first purchase is on or before
    ``calibration_end`` are summarised; the first purchase is the trial and is
    not counted.

    * ``frequency``: number of distinct repeat purchase periods up to ``calibration_end``.
    * ``recency``: time from first to last purchase period (0 if no repeat).
    * ``T``: time from first purchase period to ``calibration_end``.
    * ``monetary_value``: mean amount of the *repeat* purchase periods (0 if none).
    * with ``holdout_end``: ``frequency_holdout`` (purchase periods in
      ``(calibration_end, holdout_end]``), ``monetary_value_holdout`` (their mean,
      0 if none) and ``duration_holdout``.

    Times are in units of ``time_unit_days`` days (default: the length of
    ``freq``; pass 7 with ``freq="D"`` for weekly units on daily data as in the
    CDNOW papers). Transactions after ``holdout_end`` (or after
    ``calibration_end`` without a holdout) are ignored: they lie in the future of
    the analysis. Rows with a missing customer or time raise; a missing amount
    counts as 0.

    Returns a frame indexed by customer id, sorted by id.
    """
    for col in (customer_col, time_col) + ((amount_col,) if amount_col else ()):
        if col not in df.columns:
            raise SchemaError(f"column {col!r} not found; columns are: "
                              f"{', '.join(map(str, df.columns))}")
    if freq not in _FREQ_DAYS:
        raise ValueError(f"freq must be one of {', '.join(_FREQ_DAYS)}, got {freq!r}")
    unit = float(time_unit_days) if time_unit_days is not None else _FREQ_DAYS[freq]
    if not unit > 0:
        raise ValueError(f"time_unit_days must be > 0, got {time_unit_days!r}")
    if df.empty:
        raise ValueError("no transactions: the frame is empty")

    times = pd.to_datetime(df[time_col], errors="coerce")
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_localize(None)
    bad = times.isna().to_numpy() | df[customer_col].isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{int(bad.sum())} transactions have a missing/unparseable "
                         f"{customer_col!r} or {time_col!r}; first at row {first}")
    cal = _as_timestamp(calibration_end, "calibration_end")
    hold = _as_timestamp(holdout_end, "holdout_end") if holdout_end is not None else None
    t_min, t_max = times.min(), times.max()
    if cal < t_min.floor("D"):
        raise ValueError(f"calibration_end {cal.date()} is before the first transaction "
                         f"({t_min.date()}); choose a date in {t_min.date()}..{t_max.date()}")
    if hold is not None and hold <= cal:
        raise ValueError(f"holdout_end {hold.date()} must be after calibration_end {cal.date()}")
    if hold is None and cal > t_max:
        pass  # allowed: T grows with the calendar (scoring "as of" a later date)

    amounts = (pd.to_numeric(df[amount_col], errors="coerce").fillna(0.0).to_numpy(np.float64)
               if amount_col else np.zeros(len(df)))
    period = times.dt.floor(freq if freq != "W" else "D")
    if freq == "W":  # weeks starting on the customer-independent Monday
        period = period - pd.to_timedelta(period.dt.dayofweek, unit="D")
    end = hold if hold is not None else cal
    frame = pd.DataFrame({"c": df[customer_col].to_numpy(), "p": period.to_numpy(),
                          "amt": amounts})
    frame = frame[frame["p"] <= end]
    per = frame.groupby(["c", "p"], sort=True, observed=True)["amt"].sum().reset_index()
    cal_period = _floor(cal, freq)

    in_cal = per["p"] <= cal_period
    calp = per[in_cal]
    g = calp.groupby("c", sort=True)
    first = g["p"].min()
    last = g["p"].max()
    n_periods = g["p"].size()
    total_amt = g["amt"].sum()
    first_amt = calp.drop_duplicates("c", keep="first").set_index("c")["amt"]
    day = pd.Timedelta(days=1)
    out = pd.DataFrame(index=first.index)
    out.index.name = customer_col
    out["frequency"] = (n_periods - 1).astype(np.int64)
    out["recency"] = ((last - first) / day).to_numpy() / unit
    out["T"] = ((cal_period - first) / day).to_numpy() / unit
    repeat_sum = (total_amt - first_amt.reindex(out.index)).to_numpy()
    freq_arr = out["frequency"].to_numpy()
    out["monetary_value"] = np.where(freq_arr > 0, repeat_sum / np.maximum(freq_arr, 1), 0.0)
    if hold is not None:
        hp = per[~in_cal & per["c"].isin(out.index)]
        hg = hp.groupby("c", sort=True)
        fh = hg["p"].size().reindex(out.index, fill_value=0)
        mh = hg["amt"].mean().reindex(out.index, fill_value=0.0)
        out["frequency_holdout"] = fh.astype(np.int64).to_numpy()
        out["monetary_value_holdout"] = mh.to_numpy()
        out["duration_holdout"] = ((_floor(hold, freq) - cal_period) / day) / unit
    return out


def _floor(ts: pd.Timestamp, freq: str) -> pd.Timestamp:
    if freq == "W":
        d = ts.floor("D")
        return d - pd.Timedelta(days=d.dayofweek)
    return ts.floor(freq)
