"""Hold out the last ``h`` periods of every series, forecast them, score the forecasts.

Used by ``insightloop evaluate forecast`` and the benchmark. Series with fewer than
``h + 2`` periods cannot be held out and scored; they are left out and counted
(``series_skipped``); when none is left it is an error. The MASE scale uses lag ``m`` when
the training history has at least ``m + 1`` periods, else lag 1 (``mase_lag``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from insightloop.errors import ConfigError
from insightloop.models.forecast.forecaster import PanelForecaster
from insightloop.models.forecast.methods import seasonal_naive
from insightloop.models.forecast.metrics import coverage, mase, mase_scale, rmse, smape, wape
from insightloop.models.forecast.panel import SEASON, Panel, to_panel

__all__ = ["holdout", "long_frame"]


def long_frame(panel: Panel) -> pd.DataFrame:
    """The panel back to a long frame (zero-filled gaps included, leading NaN dropped)."""
    t = panel.y.shape[1]
    ok = ~np.isnan(panel.y)
    return pd.DataFrame({"unique_id": np.repeat(panel.ids, t)[ok.ravel()],
                         "ds": panel.history_dates().ravel()[ok.ravel()],
                         "y": panel.y.ravel()[ok.ravel()]})


def holdout(y: pd.DataFrame, h: int, freq: str, *, model: str = "auto",
            season_length: int | None = None, levels: Sequence[int] = (80,),
            windows: int = 3, common_end: bool = True, loss: str = "mae",
            covariates: pd.DataFrame | None = None
            ) -> tuple[dict[str, Any], pd.DataFrame]:
    """Metrics of an ``h``-period holdout and the forecasts with their actuals.

    ``y`` is a long frame ``unique_id, ds, y`` (summed per period, gaps zero, see
    :func:`~insightloop.models.forecast.panel.to_panel`); with ``common_end`` (the default)
    every series runs to the latest period of the frame, zeros after its last row.
    ``covariates`` (``unique_id, ds, <inputs>``) are known inputs per series and period;
    they must cover the held-out periods (the known future).
    """
    if h < 1:
        raise ConfigError(f"the horizon must be at least 1 period, got {h}")
    full = to_panel(y, freq, common_end=common_end)
    m = int(season_length if season_length is not None else SEASON[freq])
    keep = full.lengths >= h + 2
    if not keep.any():
        raise ConfigError(
            f"horizon {h} is longer than the history: the longest series has "
            f"{int(full.lengths.max())} periods and a holdout of {h} needs at least {h + 2}; "
            "use a shorter --horizon")
    panel = full.subset(np.flatnonzero(keep))
    train = panel.head(h)
    actual = panel.y[:, -h:]
    started = time.perf_counter()
    fc = PanelForecaster(model, horizon=h, windows=windows, loss=loss).fit(
        long_frame(train), freq, m, covariates=covariates)
    out = fc.forecast(h, levels)
    fit_seconds = time.perf_counter() - started
    mean = out["mean"].to_numpy().reshape(panel.n, h)
    lag = m if train.y.shape[1] > m else 1
    scale = mase_scale(train.y, lag)
    per_series = mase(actual, mean, scale)
    naive = mase(actual, seasonal_naive(train.y, h, lag), scale)
    scored = ~np.isnan(per_series)
    top = fc.chosen.value_counts()
    result: dict[str, Any] = {
        "series": int(panel.n),
        "horizon": h,
        "mase": float(np.mean(per_series[scored])) if scored.any() else float("nan"),
        "wape": wape(actual, mean),
        "smape": smape(actual, mean),
        "rmse": rmse(actual, mean),
        "model": model if model != "auto" else "auto: " + ", ".join(
            f"{k} {v}" for k, v in top.items()),
        "seasonal_naive_mase": float(np.mean(naive[scored])) if scored.any() else float("nan"),
        "fit_seconds": round(fit_seconds, 3),
        "season_length": m,
        "mase_lag": lag,
        "series_skipped": int((~keep).sum()),
        "series_unscaled": int((~scored).sum()),
        "duplicate_periods": full.duplicate_periods,
        "gap_periods": full.gap_periods,
    }
    for lv in levels:
        lo = out[f"lo-{lv}"].to_numpy().reshape(panel.n, h)
        hi = out[f"hi-{lv}"].to_numpy().reshape(panel.n, h)
        result[f"coverage_{lv}"] = coverage(actual, lo, hi)
    out["actual"] = actual.ravel()
    return result, out
