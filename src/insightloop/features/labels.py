"""Prediction labels without leakage, as engine-neutral Ibis expressions.

Every label looks only at the window ``[as_of, as_of + horizon)``; features
come from profiles built strictly before ``as_of``
(:func:`insightloop.features.profiles.profile_expr`), so a training example
never sees its own future. A *purchase* is an order line of a known customer
with positive quantity whose status is not ``cancelled`` (the rule profiles
use; a missing status counts as completed).

``churn``
    population: customers with at least one purchase before ``as_of``;
    label 1 when they make **no** purchase in the window.
``purchase`` (propensity)
    population: customers with any order line before ``as_of``;
    label 1 when they make a purchase in the window.
``response``
    population: customers sent a campaign in the window (table ``sends``);
    label 1 when any of those sends converted.

Each function returns ``customer_id, as_of, label`` (label int64 0/1).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

LABEL_KINDS = ("churn", "purchase", "response")


def purchases(orders: ir.Table) -> ir.Table:
    """Order lines that are purchases of known customers."""
    return orders.filter(
        orders.customer_id.notnull(),
        orders.quantity > 0,
        orders.status.fill_null("completed") != "cancelled",
    )


def _window(as_of: datetime, horizon_days: int) -> tuple[ir.Value, ir.Value]:
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}")
    start = ibis.literal(as_of, type="timestamp")
    end = ibis.literal(as_of + timedelta(days=horizon_days), type="timestamp")
    return start, end


def _label(population: ir.Table, positives: ir.Table, as_of: ir.Value, invert: bool
           ) -> ir.Table:
    hit = positives.select("customer_id").distinct().mutate(__hit=ibis.literal(1))
    joined = population.left_join(hit, "customer_id").select(population.customer_id, hit.__hit)
    flag = joined.__hit.isnull() if invert else joined.__hit.notnull()
    return joined.select("customer_id", as_of=as_of,
                         label=flag.cast("int64")).order_by("customer_id")


def churn_labels(orders: ir.Table, as_of: datetime, horizon_days: int) -> ir.Table:
    """Churn: active before ``as_of`` and no purchase in ``[as_of, as_of + horizon)``."""
    start, end = _window(as_of, horizon_days)
    buys = purchases(orders)
    population = buys.filter(buys.order_time < start).select("customer_id").distinct()
    future = buys.filter(buys.order_time >= start, buys.order_time < end)
    return _label(population, future, start, invert=True)


def purchase_labels(orders: ir.Table, as_of: datetime, horizon_days: int) -> ir.Table:
    """Purchase propensity: any order line before ``as_of``; purchase in the window."""
    start, end = _window(as_of, horizon_days)
    known = orders.filter(orders.customer_id.notnull(), orders.order_time < start)
    population = known.select("customer_id").distinct()
    buys = purchases(orders)
    future = buys.filter(buys.order_time >= start, buys.order_time < end)
    return _label(population, future, start, invert=False)


def response_labels(sends: ir.Table, as_of: datetime, horizon_days: int) -> ir.Table:
    """Campaign response: sent in the window; any of those sends converted."""
    start, end = _window(as_of, horizon_days)
    window = sends.filter(sends.send_time >= start, sends.send_time < end)
    population = window.select("customer_id").distinct()
    converted = window.filter(window.converted.fill_null(False))
    return _label(population, converted, start, invert=False)
