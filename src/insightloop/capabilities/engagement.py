"""Engagement: who may be contacted (consent per channel and purpose, suppression, quiet hours,
frequency caps: decided in one place), content templates, send-time optimisation and event-
triggered journeys."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability

CAPABILITY = Capability(
    name="engagement",
    summary="Eligibility, content, send time and journeys.",
)
