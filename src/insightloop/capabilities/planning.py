"""Inventory and market trends: safety stock, reorder points and order quantities from the
forecast distribution; rising and declining products with tested growth, seasonality and
anomalies."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability

CAPABILITY = Capability(
    name="planning",
    summary="Inventory plans and market trends.",
)
