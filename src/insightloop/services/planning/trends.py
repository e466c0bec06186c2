"""``build_trends``: rising and declining items with tested growth, seasonality profiles,
anomaly alerts and new-product ramp curves, written to the warehouse in one transaction.

Tables (all ``customer=None``):

* ``trends``: item, level, name, method, weeks, recent, prior, growth, ci_low, ci_high,
  p, q, direction. ``method`` is ``yoy`` (the last ``window`` weeks against the same weeks a
  year before: seasonality cancels) when the history is long enough, else ``trend`` (a
  quasi-Poisson log-linear trend over the window, which a seasonal swing inflates: read it
  with the seasonality table). ``q`` is the Benjamini-Hochberg q-value across the items of
  a level; ``direction`` is rising/declining where ``q < alpha``, else flat; with
  ``trend`` (one year only), while the level's typical item has a significant trend, an
  item significant in the same direction is ``seasonal`` ("seasonal, one year only":
  ``_one_year_seasonal``).
* ``seasonality``: item, level, period (weekday | month), position, label, index,
  strength (NaN while each place is seen fewer than twice).
* ``anomalies``: item, level, ds, actual, expected, z, kind (spike | drop).
* ``ramps`` and ``ramp_curve``: see :mod:`.launches`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from insightloop.errors import ConfigError, WarehouseError
from insightloop.models.planning.service_codes import read_service_codes
from insightloop.models.planning.trends import (
    benjamini_hochberg,
    loglinear_trend,
    robust_anomalies,
    seasonal_profile,
    yoy_growth,
)
from insightloop.services.context import Context
from insightloop.services.planning.launches import ramp_tables
from insightloop.services.planning.series import (
    Panel,
    item_names,
    load_panel,
    service_products,
)
from insightloop.services.results.planning import TrendsBuilt
from insightloop.storage.warehouse import write_frame

TREND_LEVELS = ("product", "category", "country", "all")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
TREND_COLUMNS = ("item", "level", "name", "method", "weeks", "recent", "prior", "growth",
                 "ci_low", "ci_high", "p", "q", "direction")
ANOMALY_COLUMNS = ("item", "level", "ds", "actual", "expected", "z", "kind")
SEASON_COLUMNS = ("item", "level", "period", "position", "label", "index", "strength")
MIN_ANOMALY_MEDIAN = 5.0  # median weekly sales an item needs before its weeks are judged
MAX_ANOMALIES = 5000
EDGE_WEEKS = 3  # half the running-median window


def trend_frame(panel: Panel, window: int, method: str, alpha: float, min_sales: float
                ) -> pd.DataFrame:
    """One row per item with enough sales: growth, interval, p, q and direction."""
    y = panel.values
    weeks = y.shape[1]
    if weeks < window + 1:
        raise ConfigError(f"{weeks} complete weeks of sales at level {panel.level}: the "
                          f"window needs {window + 1}; use a shorter --window")
    use_yoy = method == "yoy" or (method == "auto" and weeks >= window + 52)
    if use_yoy and weeks < window + 52:
        raise ConfigError(f"year-over-year needs {window + 52} weeks; the data has {weeks}")
    recent = y[:, -window:]
    prior = y[:, -window - 52:-52] if use_yoy else None
    if prior is not None:
        tested = (recent.sum(axis=1) > 0) & (prior.sum(axis=1) > 0) & (
            recent.sum(axis=1) + prior.sum(axis=1) >= min_sales)
        stats = yoy_growth(recent[tested], prior[tested])
    else:
        # sold in at least half the weeks: a launch or a delisting inside the window is
        # not a trend (launches are in the ramp tables)
        tested = (recent.sum(axis=1) >= min_sales) & ((recent > 0).sum(axis=1) * 2 >= window)
        stats = loglinear_trend(recent[tested])
    q = benjamini_hochberg(stats["p"])
    growth = stats["growth"]
    direction = np.where(q < alpha, np.where(growth > 0, "rising", "declining"), "flat")
    if prior is None:
        direction = _one_year_seasonal(recent, tested, direction, alpha)
    return pd.DataFrame({
        "item": panel.items[tested].astype(str), "level": panel.level,
        "name": None, "method": "yoy" if use_yoy else "trend", "weeks": window,
        "recent": recent[tested].sum(axis=1),
        "prior": prior[tested].sum(axis=1) if prior is not None else np.nan,
        "growth": growth, "ci_low": stats["ci_low"], "ci_high": stats["ci_high"],
        "p": stats["p"], "q": q, "direction": direction})


def _one_year_seasonal(recent: np.ndarray, tested: np.ndarray, direction: np.ndarray,
                       alpha: float) -> np.ndarray:
    """Without a year before to compare with, an item moving the way its whole level moves
    is ``seasonal`` ("seasonal, one year only"), not rising or declining.

    The level's typical movement is the median, week by week, of the tested items' sales
    divided by their own mean (robust to a few stars), on the scale of an average item.
    When its quasi-Poisson trend over the window is significant (p < ``alpha``) the shop
    is in a seasonal swing (Christmas) or a general growth that one year of data cannot
    tell apart, and neither can it tell an item's own trend from its own, possibly
    stronger, season: every item significant in the same direction is ``seasonal``. Items
    moving against the level keep their direction."""
    rows = recent[tested]
    if rows.shape[0] == 0:
        return direction
    with np.errstate(invalid="ignore", divide="ignore"):
        shape = np.median(rows / rows.mean(axis=1, keepdims=True), axis=0)
    typical = np.nan_to_num(shape) * rows.sum(axis=1).mean() / rows.shape[1]
    ref = loglinear_trend(typical[None, :])
    if not np.isfinite(ref["p"][0]) or ref["p"][0] >= alpha:
        return direction
    along = "rising" if ref["slope"][0] > 0 else "declining"
    return np.where(direction == along, "seasonal", direction)


def anomaly_frame(panel: Panel, k: float) -> pd.DataFrame:
    """Weeks beyond ``k`` robust standard deviations of a running median, for items whose
    median weekly sales reach :data:`MIN_ANOMALY_MEDIAN`; weeks in which the whole level
    sold nothing (a closure) and the first :data:`EDGE_WEEKS` weeks are not judged."""
    y = panel.values
    busy = np.median(y, axis=1) >= MIN_ANOMALY_MEDIAN
    if not busy.any() or y.shape[1] < 7:
        return pd.DataFrame(columns=list(ANOMALY_COLUMNS))
    out = robust_anomalies(y[busy], k=k)
    # not judged: weeks the whole level sold nothing (the shop was closed: every item
    # "drops"), and the first weeks, whose running median leans on too few weeks
    judged = (y.sum(axis=0) > 0) & (np.arange(y.shape[1]) >= EDGE_WEEKS)
    rows, cols = np.nonzero(out["flag"] & judged[None, :])
    z = out["z"][rows, cols].astype(float)
    frame = pd.DataFrame({
        "item": panel.items[busy][rows].astype(str), "level": panel.level,
        "ds": panel.periods[cols].date, "actual": y[busy][rows, cols],
        "expected": out["expected"][rows, cols].astype(float), "z": z,
        "kind": np.where(z > 0, "spike", "drop")})
    return frame.sort_values("ds", ascending=False).head(MAX_ANOMALIES)


def season_frame(daily: Panel) -> pd.DataFrame:
    """Weekday profile (every complete week) and month profile (complete months) per item."""
    days = daily.periods
    idx_w, str_w = seasonal_profile(daily.values, days.dayofweek.to_numpy(), 7)
    month_key = days.year.to_numpy() * 12 + days.month.to_numpy() - 1
    keys, col = np.unique(month_key, return_inverse=True)
    per_month = np.zeros((daily.values.shape[0], len(keys)))
    np.add.at(per_month.T, col, daily.values.T)
    full = np.bincount(col) == pd.to_datetime(
        {"year": keys // 12, "month": keys % 12 + 1, "day": 1}).dt.days_in_month.to_numpy()
    parts = [_season_rows(daily, "weekday", idx_w, str_w, WEEKDAYS)]
    if full.sum() >= 2:
        idx_m, str_m = seasonal_profile(per_month[:, full], keys[full] % 12, 12)
        parts.append(_season_rows(daily, "month", idx_m, str_m, MONTHS))
    return pd.concat(parts, ignore_index=True)


def _season_rows(panel: Panel, period: str, index: np.ndarray, strength: np.ndarray,
                 labels: tuple[str, ...]) -> pd.DataFrame:
    n, p = index.shape
    return pd.DataFrame({
        "item": np.repeat(panel.items.astype(str), p), "level": panel.level,
        "period": period, "position": np.tile(np.arange(1, p + 1), n),
        "label": np.tile(np.asarray(labels), n), "index": index.ravel(),
        "strength": np.repeat(strength, p)}).dropna(subset=["index"])


def build_trends(ctx: Context, window: int = 13, levels: tuple[str, ...] = TREND_LEVELS,
                 measure: str = "units", method: str = "auto", alpha: float = 0.05,
                 min_sales: float = 20.0, anomaly_k: float = 4.0,
                 service_codes: str | None = None) -> TrendsBuilt:
    """Write tables ``trends``, ``seasonality``, ``anomalies``, ``ramps`` and
    ``ramp_curve`` for every level that has data; service codes (postage, fees;
    ``service_codes``: a file of overrides) are left out at every level."""
    if window < 4:
        raise ConfigError(f"--window {window}: a trend needs at least 4 weeks")
    if method not in ("auto", "yoy", "trend"):
        raise ConfigError(f"--method {method!r}: use auto, yoy or trend")
    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha {alpha!r} must be between 0 and 1")
    unknown = [lv for lv in levels if lv not in TREND_LEVELS]
    if unknown:
        raise ConfigError(f"level {unknown[0]!r}: use {', '.join(TREND_LEVELS)}")
    trends, seasons, anomalies = [], [], []
    used: dict[str, str] = {}
    weeks = 0
    skip = service_products(ctx, read_service_codes(service_codes) if service_codes else None)
    for level in levels:  # a few levels; each one vectorised over its items
        panel = load_panel(ctx, level, measure, "W", exclude=skip)
        if not len(panel.items):
            continue
        weeks = max(weeks, panel.values.shape[1])
        t = trend_frame(panel, window, method, alpha, min_sales)
        t["name"] = item_names(ctx, level, t["item"].to_numpy(dtype=object))
        trends.append(t)
        used[level] = str(t["method"].iloc[0]) if len(t) else "untested"
        anomalies.append(anomaly_frame(panel, anomaly_k))
        if level != "product":  # products: too many and too sparse for stable profiles
            seasons.append(season_frame(load_panel(ctx, level, measure, "D", exclude=skip)))
    if not trends:
        raise WarehouseError("no sales to analyse at the levels asked for")
    ramps, curve = ramp_tables(ctx, measure, skip)
    tables: dict[str, pd.DataFrame] = {
        "trends": _concat(trends, TREND_COLUMNS),
        "seasonality": _concat(seasons, SEASON_COLUMNS),
        "anomalies": _concat(anomalies, ANOMALY_COLUMNS),
        "ramps": ramps, "ramp_curve": curve}
    with ctx.warehouse.transaction() as con:
        for name, frame in tables.items():
            write_frame(con, name, frame)
    tr = tables["trends"]
    return {"tables": list(tables), "levels": used, "window_weeks": window,
            "rising": int((tr["direction"] == "rising").sum()),
            "declining": int((tr["direction"] == "declining").sum()),
            "tested": len(tr), "anomalies": len(tables["anomalies"]),
            "new_products": len(ramps), "weeks": weeks,
            "service_codes_excluded": len(skip),
            "seasonal_one_year": int((tr["direction"] == "seasonal").sum())}


def _concat(frames: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    kept = [f for f in frames if len(f)]
    if not kept:
        return _empty(columns)
    return pd.concat(kept, ignore_index=True).loc[:, list(columns)]


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    types: dict[str, Any] = {"position": "int64", "weeks": "int64", "ds": "datetime64[ns]"}
    return pd.DataFrame({c: pd.Series(dtype=types.get(c, "float64" if c not in (
        "item", "level", "name", "method", "direction", "period", "label", "kind")
        else "object")) for c in columns})
