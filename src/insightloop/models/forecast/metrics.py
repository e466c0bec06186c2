"""Forecast accuracy on (n, h) arrays: MASE, WAPE, sMAPE, RMSE, interval coverage.

MASE divides each series' mean absolute error over the horizon by the in-sample mean
absolute error of the seasonal naive forecast (lag ``m``; lag 1 when the training history
is shorter than ``m + 1`` periods) on that series' training periods; the reported MASE is
the mean over series. A series whose training history is constant (scale 0) has no MASE
and is left out of the mean (counted as ``unscaled``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["coverage", "mase", "mase_scale", "rmse", "smape", "wape"]


def mase_scale(train: np.ndarray, m: int) -> np.ndarray:
    """In-sample mean absolute seasonal-naive error per series (NaN when not defined)."""
    lag = m if m >= 1 and train.shape[1] > m else 1
    diff = np.abs(train[:, lag:] - train[:, :-lag])
    with np.errstate(invalid="ignore"):
        cnt = (~np.isnan(diff)).sum(axis=1)
        scale = np.where(cnt > 0, np.nansum(diff, axis=1) / np.maximum(cnt, 1), np.nan)
    return np.where(scale > 0, scale, np.nan)


def mase(actual: np.ndarray, pred: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Per-series MASE (NaN where the scale is not defined)."""
    return np.mean(np.abs(actual - pred), axis=1) / scale


def wape(actual: np.ndarray, pred: np.ndarray) -> float:
    """Sum of absolute errors over the sum of absolute actuals."""
    den = float(np.abs(actual).sum())
    return float(np.abs(actual - pred).sum() / den) if den > 0 else float("nan")


def smape(actual: np.ndarray, pred: np.ndarray) -> float:
    """Symmetric MAPE in percent (0-200); a point where both are 0 counts as 0."""
    den = np.abs(actual) + np.abs(pred)
    terms = np.where(den > 0, 2 * np.abs(actual - pred) / np.where(den > 0, den, 1.0), 0.0)
    return float(100 * terms.mean())


def rmse(actual: np.ndarray, pred: np.ndarray) -> float:
    """Root mean squared error over every point."""
    return float(np.sqrt(np.mean((actual - pred) ** 2)))


def coverage(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of points inside ``[lo, hi]``."""
    return float(np.mean((actual >= lo) & (actual <= hi)))
