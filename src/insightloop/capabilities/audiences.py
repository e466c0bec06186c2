"""Audiences: saved, versioned filters over customer_360 (a validated filter language compiled
to parameterised SQL), counted live and exported."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability

CAPABILITY = Capability(
    name="audiences",
    summary="Saved audiences over customer_360, counted live and exported.",
)
