"""Journeys: event-triggered sequences of waits, sends, branches and random splits, with
exits on conversion; definitions and per-customer state in the operational store, advanced
by :func:`tick` (see :mod:`.engine`)."""

from __future__ import annotations

from insightloop.services.journeys.engine import (
    Action,
    create_journey,
    journey_log,
    journey_states,
    list_journeys,
    tick,
)
from insightloop.services.journeys.spec import JourneySpec, load_journey, parse_journey

__all__ = ["Action", "JourneySpec", "create_journey", "journey_log", "journey_states",
           "list_journeys", "load_journey", "parse_journey", "tick"]
