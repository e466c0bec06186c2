"""Demand forecasting: series from the warehouse at any level, models behind one forecaster
contract, per-series choice by rolling-origin validation, calibrated intervals."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability

CAPABILITY = Capability(
    name="forecast",
    summary="Demand forecasts with calibrated intervals.",
)
