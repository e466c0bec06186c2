"""Engagement: who may be contacted (:func:`eligibility`), suppression lists, content
(:func:`render`, :func:`preview`) and send-time optimisation (:func:`best_send_hour`).

Campaigns and journeys (layers above) call these; nothing here imports them.
"""

from __future__ import annotations

from insightloop.services.engagement.content import preview, render
from insightloop.services.engagement.eligibility import REASONS, eligibility
from insightloop.services.engagement.policy import Cap, Policy
from insightloop.services.engagement.sendtime import best_send_hour, build_send_times
from insightloop.services.engagement.suppression import (
    add_suppressions,
    import_suppressions,
    list_suppressions,
    remove_suppression,
)

__all__ = ["REASONS", "Cap", "Policy", "add_suppressions", "best_send_hour",
           "build_send_times", "eligibility",
           "import_suppressions", "list_suppressions", "preview", "remove_suppression", "render"]
