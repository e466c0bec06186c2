"""Demand forecasting use cases: series from the warehouse, table ``forecasts``."""

from insightloop.services.forecast.build import build_forecasts, show_forecasts
from insightloop.services.forecast.evaluate import evaluate_forecast_file
from insightloop.services.forecast.series import DemandSeries, demand_series

__all__ = ["DemandSeries", "build_forecasts", "demand_series", "evaluate_forecast_file",
           "show_forecasts"]
