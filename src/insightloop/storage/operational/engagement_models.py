"""Operational-store tables: suppression lists, frequency-cap windows, journeys and their per-
customer state (engagement and journeys).

Declared on :class:`insightloop.storage.operational.base.Base`; created by migration
0005 (``migrations/versions``).
"""

from __future__ import annotations
