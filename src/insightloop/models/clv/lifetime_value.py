"""Discounted customer lifetime value from a purchase model and a spend model."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from insightloop.models.clv._base import FloatArray, as_float_array, validate_rft

DAYS_PER_MONTH = 365.25 / 12.0
#: the time unit the services fit the purchase models in: weeks (``time_unit_days``)
WEEK_DAYS = 7.0


def customer_lifetime_value(
    purchase_model: Any,
    spend_model: Any,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary: ArrayLike,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    time_unit_days: float = 7.0,
) -> FloatArray:
    """Expected discounted value of each customer's purchases over the next months.

    ``CLV = sum_{m=1..H} E[mean spend] * (E[Y(m)] - E[Y(m-1)]) / (1 + d)^m`` where
    ``E[Y(m)]`` are the purchase model's conditional expected purchases up to
    month ``m`` (``purchase_model.expected_purchases``), ``E[mean spend]`` is the
    Gamma-Gamma ``conditional_expected_average_profit`` and ``d`` is the monthly
    discount rate. A month is 365.25/12 days; ``time_unit_days`` is the length
    of the model's time unit in days (7 for weekly ``T``). Vectorised over
    customers and months.
    """
    if int(horizon_months) != horizon_months or horizon_months < 1:
        raise ValueError(f"horizon_months must be a positive integer, got {horizon_months!r}")
    if not np.isfinite(discount_rate) or discount_rate <= -1:
        raise ValueError(f"discount_rate must be > -1 (monthly), got {discount_rate!r}")
    if not time_unit_days > 0:
        raise ValueError(f"time_unit_days must be > 0, got {time_unit_days!r}")
    x, t_x, t_big = validate_rft(frequency, recency, T)
    m = as_float_array(monetary, "monetary")
    if m.size != x.size:
        raise ValueError(f"monetary has length {m.size}, expected {x.size}")
    value = np.asarray(spend_model.conditional_expected_average_profit(x, m), dtype=np.float64)
    months = np.arange(1, int(horizon_months) + 1, dtype=np.float64)
    horizons = months * DAYS_PER_MONTH / time_unit_days
    n, h = x.size, months.size
    cum = np.asarray(purchase_model.expected_purchases(
        np.tile(horizons, n), np.repeat(x, h), np.repeat(t_x, h), np.repeat(t_big, h)
    ), dtype=np.float64).reshape(n, h)
    per_month = np.diff(cum, axis=1, prepend=0.0)
    discount = (1.0 + discount_rate) ** -months
    return value * (per_month @ discount)
