"""Long frames ``[unique_id, ds, y]`` to a dense, right-aligned panel and back.

Every model works on one 2-D array ``Y`` of shape ``(series, T)``: row ``i`` holds series
``i``'s periods, its last period in the last column, ``NaN`` before its first period. Rules
(documented in ``docs/forecasting.md``):

* ``ds`` is mapped to a period of ``freq`` (``"D"``, ``"W"``, ``"M"``); several rows in one
  period of one series are **summed** (transactions become period totals); the count of
  such periods is reported (``duplicate_periods``).
* periods missing between a series' first and last period are **zeros** (no sale that
  period); the count is reported (``gap_periods``). With ``common_end`` every series runs
  to the frame's last period (trailing zeros).
* weeks are anchored on the data: when every date falls on the same weekday, a week starts
  on that weekday (the labels come back unchanged); otherwise weeks run Monday-Sunday.
  An output ``ds`` is the start of its period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from insightloop.errors import ConfigError, SchemaError

__all__ = ["FREQS", "Panel", "period_freq", "to_panel"]

FREQS = ("D", "W", "M")
SEASON = {"D": 7, "W": 52, "M": 12}
_WEEK_END = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # week starting Mon..Sun


def period_freq(ds: pd.Series, freq: str) -> str:
    """The pandas period frequency for ``freq``, weeks anchored on the data's weekday."""
    if freq not in FREQS:
        raise ConfigError(f"freq {freq!r} is not supported: use one of {', '.join(FREQS)}")
    if freq != "W":
        return freq
    days = pd.DatetimeIndex(ds).dayofweek.unique()
    start = int(days[0]) if len(days) == 1 else 0  # Monday=0
    return f"W-{_WEEK_END[start]}"  # W-SUN: weeks ending Sunday, i.e. starting Monday


@dataclass
class Panel:
    """A dense right-aligned panel of series."""

    ids: np.ndarray          # (n,) the unique_id of each row
    y: np.ndarray            # (n, T) float, NaN before each series' first period
    last: np.ndarray         # (n,) int64 period ordinal of each series' last period
    pfreq: str               # pandas period frequency
    duplicate_periods: int = 0
    gap_periods: int = 0
    #: known inputs per period (index: period start timestamps, history and future), the
    #: same for every series: campaign days, holidays (used by the global model)
    inputs: pd.DataFrame | None = None
    #: known inputs per series and period (``covariates.align``: index unique_id, ds; price,
    #: promotion, uplift), history and future (used by the global model)
    covariates: pd.DataFrame | None = None

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def lengths(self) -> np.ndarray:
        return (~np.isnan(self.y)).sum(axis=1)

    def dates(self, steps: np.ndarray) -> np.ndarray:
        """Start timestamps of ``last + steps`` for every series: shape (n, len(steps))."""
        ords = self.last[:, None] + np.asarray(steps, dtype=np.int64)[None, :]
        idx = pd.PeriodIndex.from_ordinals(ords.ravel(), freq=self.pfreq)
        return np.asarray(idx.to_timestamp(how="start")).reshape(ords.shape)

    def history_dates(self) -> np.ndarray:
        """(n, T) start timestamps of every column of ``y`` (also the padded ones)."""
        t = self.y.shape[1]
        return self.dates(np.arange(-(t - 1), 1))

    def head(self, cut: int) -> Panel:
        """The panel without its last ``cut`` periods (a rolling origin)."""
        if cut == 0:
            return self
        return Panel(self.ids, self.y[:, :-cut], self.last - cut, self.pfreq,
                     inputs=self.inputs, covariates=self.covariates)

    def subset(self, rows: np.ndarray) -> Panel:
        """The panel of the given rows (indices or a boolean mask), trimmed on the left."""
        y = self.y[rows]
        keep = ~np.isnan(y).all(axis=0) if y.size else np.zeros(y.shape[1], dtype=bool)
        first = int(np.argmax(keep)) if keep.any() else y.shape[1]
        return Panel(self.ids[rows], y[:, first:], self.last[rows], self.pfreq,
                     inputs=self.inputs, covariates=self.covariates)

    def frame(self, values: dict[str, np.ndarray], h: int) -> pd.DataFrame:
        """A long frame ``unique_id, ds, <values>`` for an ``h``-step forecast."""
        out = pd.DataFrame({
            "unique_id": np.repeat(self.ids, h),
            "ds": self.dates(np.arange(1, h + 1)).ravel(),
        })
        for name, arr in values.items():
            out[name] = np.asarray(arr).reshape(self.n * h)
        return out


def to_panel(df: pd.DataFrame, freq: str, *, id_col: str = "unique_id", ds_col: str = "ds",
             y_col: str = "y", common_end: bool = False) -> Panel:
    """Build a :class:`Panel` from a long frame (summing duplicates, zero-filling gaps).

    With ``common_end`` every series runs to the latest period of the frame (zeros after
    its own last row: a product not sold in the last weeks sold nothing then).
    """
    missing = [c for c in (id_col, ds_col, y_col) if c not in df.columns]
    if missing:
        raise SchemaError(f"the series frame lacks column(s) {missing}; it has {list(df.columns)}")
    if df.empty:
        raise SchemaError("the series frame is empty: nothing to forecast")
    ds = pd.to_datetime(df[ds_col])
    y = pd.to_numeric(df[y_col]).to_numpy(dtype=np.float64)
    if np.isnan(y).any():
        row = int(np.flatnonzero(np.isnan(y))[0])
        raise SchemaError(f"column {y_col!r} is missing at row {row}: fill it (0 for no sale) "
                          "or drop the row")
    pfreq = period_freq(ds, freq)
    ords = pd.PeriodIndex(ds, freq=pfreq).asi8
    codes, ids = pd.factorize(df[id_col], sort=True)
    n = len(ids)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.maximum.at(last, codes, ords)
    np.minimum.at(first, codes, ords)
    if common_end:
        last[:] = last.max()
    length = last - first + 1
    t = int(length.max())
    col = t - 1 - (last[codes] - ords)
    flat = codes.astype(np.int64) * t + col
    sums = np.bincount(flat, weights=y, minlength=n * t).reshape(n, t)
    counts = np.bincount(flat, minlength=n * t).reshape(n, t)
    started = np.arange(t)[None, :] >= (t - length)[:, None]
    panel_y = np.where(started, sums, np.nan)
    return Panel(np.asarray(ids), panel_y, last, pfreq,
                 duplicate_periods=int((counts > 1).sum()),
                 gap_periods=int((started & (counts == 0)).sum()))
