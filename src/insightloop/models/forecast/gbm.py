"""A global LightGBM model over all series: lags, rolling statistics and calendar features.

One model is trained on every series at once (each series divided by its own scale, the
mean of its last 26 periods, so that big and small sellers share the same trees) to
predict the next period; forecasts are recursive (each predicted period feeds the lags of
the next), computed for all series together, one horizon step at a time. Known inputs
(``Panel.inputs``: campaign days, holidays per period, history and future) are features
too, and so are the per-series covariates (``Panel.covariates``: price and its ratio to
the series' usual price, promotion flags, predicted uplift; ``covariates.py``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from insightloop.models.forecast.covariates import lookup
from insightloop.models.forecast.methods import window_average
from insightloop.models.forecast.panel import Panel

__all__ = ["GBM_PARAMS", "calendar_index", "gbm"]

GBM_PARAMS: dict[str, Any] = {
    "n_estimators": 150, "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 40,
    "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0,
    "n_jobs": 1, "random_state": 0, "verbose": -1, "deterministic": True,
    "force_col_wise": True,
}
_LAGS = 8
_MAX_TRAIN_COLS = 104


def calendar_index(dates: np.ndarray, pfreq: str) -> np.ndarray:
    """Period of the year (week 1-53, month 1-12) or day of the week, same shape as dates."""
    idx = pd.DatetimeIndex(np.asarray(dates).ravel())
    if pfreq.startswith("W"):
        out = idx.isocalendar().week.to_numpy(dtype=np.int64)
    elif pfreq == "M":
        out = idx.month.to_numpy(dtype=np.int64)
    else:
        out = idx.dayofweek.to_numpy(dtype=np.int64)
    return out.reshape(np.shape(dates))


def _known(panel: Panel, dates: np.ndarray, history: int) -> list[np.ndarray]:
    """Each known input at every (series, period) of ``dates``: the shared ones (0 where
    not given) and the per-series covariates (``covariates.lookup``)."""
    out: list[np.ndarray] = []
    if panel.inputs is not None and not panel.inputs.empty:
        flat = pd.DatetimeIndex(dates.ravel())
        out += [panel.inputs[c].reindex(flat).fillna(0.0).to_numpy(dtype=np.float64)
                .reshape(dates.shape) for c in panel.inputs.columns]
    if panel.covariates is not None and not panel.covariates.empty:
        out += lookup(panel.covariates, panel.ids, dates, history)
    return out


def _features(z: np.ndarray, col: int, season: int, cal: np.ndarray,
              exog: list[np.ndarray]) -> np.ndarray:
    """Features for predicting column ``col`` of the scaled panel ``z``: (n, F)."""
    n = z.shape[0]
    lags = np.full((n, _LAGS), np.nan)
    for j in range(1, _LAGS + 1):
        if col - j >= 0:
            lags[:, j - 1] = z[:, col - j]
    win4 = z[:, max(0, col - 4):col]
    win13 = z[:, max(0, col - 13):col]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN features
        mean4 = np.nanmean(win4, axis=1) if win4.shape[1] else np.full(n, np.nan)
        mean13 = np.nanmean(win13, axis=1) if win13.shape[1] else np.full(n, np.nan)
        std13 = np.nanstd(win13, axis=1) if win13.shape[1] else np.full(n, np.nan)
        zero13 = (np.where(np.isnan(win13), np.nan, win13 == 0).astype(float)
                  if win13.shape[1] else np.full((n, 1), np.nan))
        zero13 = np.nanmean(zero13, axis=1)
    lag_season = z[:, col - season] if season > 1 and col - season >= 0 else np.full(n, np.nan)
    known = [x[:, col] for x in exog]
    return np.column_stack([lags, mean4, mean13, std13, zero13, lag_season,
                            cal[:, col].astype(np.float64), *known])


def gbm(panel: Panel, h: int, m: int = 1, params: dict[str, Any] | None = None
        ) -> np.ndarray:
    """Recursive h-step forecasts of a global LightGBM model; (n, h)."""
    # lazy: LightGBM (~0.3 s import) loads only when the global model is fitted
    from lightgbm import LGBMRegressor

    y = panel.y[:, -_MAX_TRAIN_COLS:]
    n, t = y.shape
    scale = np.nanmean(np.abs(y[:, -26:]), axis=1)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    z = np.concatenate([y / scale[:, None], np.full((n, h), np.nan)], axis=1)
    dates = panel.dates(np.arange(-(t - 1), h + 1))
    cal = calendar_index(dates, panel.pfreq)
    exog = _known(panel, dates, t)
    feats, target = [], []
    for col in range(1, t):  # training rows: one column (all series) at a time
        ok = ~np.isnan(z[:, col]) & ~np.isnan(z[:, col - 1])
        if ok.any():
            feats.append(_features(z, col, m, cal, exog)[ok])
            target.append(z[ok, col])
    if not feats or sum(len(f) for f in target) < 50:
        return window_average(panel.y, h)
    model = LGBMRegressor(**{**GBM_PARAMS, **(params or {})})
    model.fit(np.concatenate(feats), np.concatenate(target))
    nonneg = bool(np.nanmin(y) >= 0)
    for step in range(h):
        col = t + step
        pred = model.predict(_features(z, col, m, cal, exog))
        z[:, col] = np.maximum(pred, 0.0) if nonneg else pred
    return z[:, t:] * scale[:, None]
