"""Demand forecasting: series from the warehouse at any level, models behind one forecaster
contract, per-series choice by rolling-origin validation, calibrated intervals."""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictInt, field_validator

from insightloop.capabilities.spec import Capability, Job, Params, Stage, Table, member

#: series levels, frequencies, measures, models and reconciliation methods of ``forecast``
FORECAST_LEVELS = ("product", "category", "country", "total")
FORECAST_FREQS = ("D", "W", "M")
FORECAST_MEASURES = ("quantity", "revenue")
FORECAST_MODELS = ("auto", "ensemble", "naive", "seasonal_naive", "window_average",
                   "window_median", "ets", "theta", "croston", "sba", "tsb", "adida", "gbm")
RECONCILE = ("none", "bottom_up", "mint")
_BUILD = "insightloop.services.forecast:build_forecasts"


class ForecastParams(Params):
    level: str = Field("product", description=f"one of {', '.join(FORECAST_LEVELS)}")
    freq: str = Field("W", description=f"one of {', '.join(FORECAST_FREQS)}")
    horizon: StrictInt = Field(8, ge=1, le=366, description="periods ahead")
    model: str = Field("auto", description=f"one of {', '.join(FORECAST_MODELS)}")
    measure: str = Field("quantity", description=f"one of {', '.join(FORECAST_MEASURES)}")
    reconcile: str = Field("none", description=f"one of {', '.join(RECONCILE)}")
    price: StrictBool = Field(False, description="products: each period's average order-line "
                                                 "price as a known input (the last price "
                                                 "carried over the forecast periods)")

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        return member(value, FORECAST_LEVELS)

    @field_validator("freq")
    @classmethod
    def _freq(cls, value: str) -> str:
        return member(value, FORECAST_FREQS)

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        return member(value, FORECAST_MODELS)

    @field_validator("measure")
    @classmethod
    def _measure(cls, value: str) -> str:
        return member(value, FORECAST_MEASURES)

    @field_validator("reconcile")
    @classmethod
    def _reconcile(cls, value: str) -> str:
        return member(value, RECONCILE)


CAPABILITY = Capability(
    name="forecast",
    summary="Demand forecasts with calibrated intervals.",
    tables=(
        Table("forecasts", "product",
              doc="demand forecasts per series (product, category, country or total) and "
                  "period: mean, lo-80, hi-80, model"),
    ),
    jobs=(
        Job("forecast", run=_BUILD, params=ForecastParams,
            keep=("level", "freq", "measure", "horizon", "series", "rows", "models",
                  "reconcile", "stored", "notes"),
            summary="Forecast demand per series and write table forecasts"),
    ),
    demo=(
        Stage("forecasting weekly demand per product (auto model, 80% intervals)", run=_BUILD,
              args=(("level", "product"), ("freq", "W"), ("horizon", 8)), key="forecast",
              keep=("series", "rows", "models", "fit_seconds", "notes")),
    ),
)
