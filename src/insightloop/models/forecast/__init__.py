"""Demand forecasting models behind one forecaster contract (fit, forecast with intervals).

Pure numpy/pandas (LightGBM for the global model, loaded lazily); no warehouse. See
``docs/forecasting.md``.
"""

from insightloop.models.forecast.forecaster import (
    AUTO_CANDIDATES,
    DEFAULT_HORIZON,
    MODELS,
    Forecaster,
    PanelForecaster,
    forecast,
)
from insightloop.models.forecast.intermittent import demand_pattern
from insightloop.models.forecast.panel import FREQS, SEASON, Panel, to_panel

__all__ = ["AUTO_CANDIDATES", "DEFAULT_HORIZON", "FREQS", "MODELS", "SEASON", "Forecaster",
           "Panel", "PanelForecaster", "demand_pattern", "forecast", "to_panel"]
