"""Planning services: inventory plans (safety stock, reorder points, order quantities from
the forecast distribution) and market trends (tested growth, seasonality, anomalies,
launch ramps). Every public name is importable from the package."""

from __future__ import annotations

from insightloop.services.planning.inventory import inventory_plan, inventory_whatif
from insightloop.services.planning.reading import (
    item_forecast,
    read_anomalies,
    read_plan,
    read_trends,
)
from insightloop.services.planning.trends import build_trends

__all__ = ["build_trends", "inventory_plan", "inventory_whatif", "item_forecast",
           "read_anomalies", "read_plan", "read_trends"]
