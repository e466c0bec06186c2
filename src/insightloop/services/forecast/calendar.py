"""Known future inputs per period: campaign days (table ``campaigns``) and public holidays.

The holidays are a small built-in table, computed for any year (nothing is downloaded):
New Year's Day, Good Friday, Easter Monday, Christmas Day and Boxing Day for every country
in the data, plus the United Kingdom's three Monday bank holidays (early May, spring, summer)
when a series' country is the United Kingdom or the data has no country. It is a calendar
of common European retail holidays, not a complete one: a country's other holidays are
not in it (``docs/forecasting.md``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insightloop.services.context import Context
from insightloop.storage.warehouse import has_table

__all__ = ["easter", "holidays", "known_inputs"]

_UK = "United Kingdom"


def easter(years: np.ndarray) -> pd.DatetimeIndex:
    """Easter Sunday of each Gregorian year (the anonymous Gregorian algorithm)."""
    y = np.asarray(years, dtype=np.int64)
    a, b, c = y % 19, y // 100, y % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * ell) // 433
    month = (h + ell - 7 * m + 90) // 25
    day = (h + ell - 7 * m + 33 * month + 19) % 32
    return pd.DatetimeIndex(pd.to_datetime(pd.DataFrame({"year": y, "month": month,
                                                         "day": day})))


def _monday(years: np.ndarray, month: int, last: bool) -> pd.DatetimeIndex:
    first = pd.to_datetime(pd.DataFrame({"year": years, "month": month, "day": 1}))
    if last:
        end = first + pd.offsets.MonthEnd(0)
        return pd.DatetimeIndex(end - pd.to_timedelta(end.dt.dayofweek, unit="D"))
    return pd.DatetimeIndex(first + pd.to_timedelta((7 - first.dt.dayofweek) % 7, unit="D"))


def holidays(years: np.ndarray, uk: bool = True) -> pd.DatetimeIndex:
    """The built-in holidays of ``years`` (the UK bank holidays when ``uk``)."""
    years = np.asarray(years, dtype=np.int64)
    sunday = easter(years)
    parts = [pd.to_datetime(pd.DataFrame({"year": years, "month": mo, "day": dy}))
             for mo, dy in ((1, 1), (12, 25), (12, 26))]
    parts += [pd.Series(sunday - pd.Timedelta(days=2)),
              pd.Series(sunday + pd.Timedelta(days=1))]
    if uk:
        parts += [pd.Series(_monday(years, 5, last=False)), pd.Series(_monday(years, 5, True)),
                  pd.Series(_monday(years, 8, True))]
    return pd.DatetimeIndex(pd.concat(parts, ignore_index=True)).sort_values().unique()


def known_inputs(ctx: Context, periods: pd.DatetimeIndex, freq: str) -> pd.DataFrame:
    """``holidays`` and ``campaign_days`` for each period starting at ``periods``.

    A period's value counts its days: holiday days, and days on which at least one
    campaign of table ``campaigns`` ran (0 when the table is missing or empty).
    """
    starts = pd.DatetimeIndex(periods).sort_values()
    step = {"D": pd.Timedelta(days=1), "W": pd.Timedelta(days=7)}.get(freq)
    ends = starts + step if step is not None else starts + pd.offsets.MonthBegin(1)
    days = pd.date_range(starts.min(), ends.max() - pd.Timedelta(days=1), freq="D")
    with ctx.read() as con:
        uk = True
        if has_table(con, "orders"):
            row = con.execute("SELECT count(*) FILTER (WHERE country = ?), count(country) "
                              "FROM orders", [_UK]).fetchone()
            uk = bool(row is None or row[1] == 0 or row[0] > 0)
        spans = (con.execute("SELECT start_time, coalesce(end_time, start_time) FROM campaigns "
                             "WHERE start_time IS NOT NULL").df()
                 if has_table(con, "campaigns") else pd.DataFrame(columns=["s", "e"]))
    hol = np.isin(days.values, holidays(np.unique(days.year), uk=uk).values)
    active = np.zeros(len(days), dtype=bool)
    if len(spans):
        s = pd.to_datetime(spans.iloc[:, 0]).dt.normalize().to_numpy()
        e = pd.to_datetime(spans.iloc[:, 1]).dt.normalize().to_numpy()
        # days covered by any campaign: +1 at its first day, -1 after its last (vectorised)
        delta = np.zeros(len(days) + 1)
        lo = np.clip(np.searchsorted(days.values, s), 0, len(days))
        hi = np.clip(np.searchsorted(days.values, e, side="right"), 0, len(days))
        np.add.at(delta, lo, 1)
        np.add.at(delta, hi, -1)
        active = np.cumsum(delta)[:-1] > 0
    which = np.searchsorted(starts.values, days.values, side="right") - 1
    out = pd.DataFrame({"holidays": np.bincount(which, weights=hol, minlength=len(starts)),
                        "campaign_days": np.bincount(which, weights=active,
                                                     minlength=len(starts))},
                       index=starts)
    return out
