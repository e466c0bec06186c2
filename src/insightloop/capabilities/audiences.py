"""Audiences: saved, versioned filters over customer_360 (a validated filter language compiled
to parameterised SQL), counted live and exported.

The audiences live in the operational store (table ``audiences``, not the warehouse), so the
capability declares no warehouse table; its page lists them with live counts.
"""

from __future__ import annotations

from insightloop.capabilities.spec import Capability, Page, Stage

CAPABILITY = Capability(
    name="audiences",
    summary="Saved audiences over customer_360, counted live and exported.",
    pages=(Page("/audiences", "Audiences", "Saved audiences",
                reports=("audiences",),
                missing="No audience saved yet: run `insightloop audiences create NAME "
                        "--where \"recency_days > 90 and segment = 'at risk'\"`.",
                order=56),),
    demo=(Stage("saving audiences (at-risk lapsed, champions, ...)",
                run="insightloop.services.audiences:demo_audiences", key="audiences"),),
)
