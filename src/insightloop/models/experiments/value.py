"""What a campaign earned against its holdout: incremental conversions, incremental
revenue and return on its cost (a cost per send and a cost per redeemed offer)."""

from __future__ import annotations

from typing import TypedDict


class CampaignValue(TypedDict):
    """Per treated arm: increments over what the holdout rates predict, with intervals."""

    sends: int
    incremental_conversions: float
    incremental_conversions_ci: tuple[float, float]
    incremental_revenue: float
    incremental_revenue_ci: tuple[float, float]
    cost: float
    roi: float | None
    roi_ci: tuple[float, float] | None


def campaign_value(sends: int, conversions: float, rate_effect: tuple[float, float, float],
                   revenue_effect: tuple[float, float, float], cost_per_send: float = 0.0,
                   cost_per_redemption: float = 0.0) -> CampaignValue:
    """Increments of one treated arm of ``sends`` units with ``conversions`` (redeemed
    offers); effects are ``(estimate, ci_low, ci_high)`` per unit against the holdout.

    ROI is ``(incremental revenue - cost) / cost`` (None without a cost); its interval
    carries the revenue interval (the cost is known).
    """
    inc_c = tuple(sends * v for v in rate_effect)
    inc_r = tuple(sends * v for v in revenue_effect)
    cost = sends * cost_per_send + conversions * cost_per_redemption
    roi = roi_ci = None
    if cost > 0:
        roi = (inc_r[0] - cost) / cost
        roi_ci = ((inc_r[1] - cost) / cost, (inc_r[2] - cost) / cost)
    return {"sends": int(sends), "incremental_conversions": inc_c[0],
            "incremental_conversions_ci": (inc_c[1], inc_c[2]),
            "incremental_revenue": inc_r[0], "incremental_revenue_ci": (inc_r[1], inc_r[2]),
            "cost": cost, "roi": roi, "roi_ci": roi_ci}
