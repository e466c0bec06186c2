"""Demand forecasting models behind one forecaster contract (fit, forecast with intervals)."""
