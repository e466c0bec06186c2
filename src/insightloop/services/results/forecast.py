"""Typed results of the forecasting services (``services.forecast``) and ``evaluate forecast``."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict


class ForecastsBuilt(TypedDict):
    """Table ``forecasts`` refreshed for one level, frequency and measure."""

    level: str
    freq: str
    measure: str
    horizon: int
    series: int
    rows: int
    models: dict[str, int]
    validation_mase: dict[str, float]
    reconcile: str
    stored: bool
    fit_seconds: float
    notes: list[str]


class ForecastsShown(TypedDict):
    """Rows of table ``forecasts`` (filtered) and what it holds."""

    levels: list[dict[str, Any]]
    rows: list[dict[str, Any]]


class ForecastEvaluation(TypedDict):
    """``insightloop evaluate forecast``: holdout metrics (see ``docs/forecasting.md``)."""

    series: int
    horizon: int
    mase: float
    wape: float
    smape: float
    rmse: float
    coverage_80: float
    model: str
    seasonal_naive_mase: float
    fit_seconds: float
    season_length: int
    mase_lag: int
    series_skipped: int
    series_unscaled: int
    duplicate_periods: int
    gap_periods: int
    negative_floored: int
    dropped_last_period: str | None
    rows: int
    output: str | None
