"""Send-time optimisation from engagement history, with a population fallback."""

from __future__ import annotations

from insightloop.models.sendtime.profile import (
    HOURS,
    WEEKDAYS,
    SendTimeFit,
    circular_distance,
    counts_matrix,
    fit,
    per_customer_mean,
    prior_strength,
    smooth,
)

__all__ = ["HOURS", "WEEKDAYS", "SendTimeFit", "circular_distance", "counts_matrix", "fit",
           "per_customer_mean", "prior_strength", "smooth"]
