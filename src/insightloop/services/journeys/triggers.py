"""Who enters a journey, and who has converted: queries over the warehouse, relative to the
journey's start and the tick's ``now`` (naive UTC), whole columns at a time.

- ``first_purchase``: the customer's first order falls in (start, now];
- ``cart_abandoned``: a ``cart``/``add_to_cart`` event in (start, now - within_hours] with no
  order or purchase in the ``within_hours`` after it;
- ``event``: an event of ``event_type`` in (start, now];
- ``churn_risk`` / ``clv_tier``: ``customer_360.churn_score >= threshold`` / ``value_tier =
  to``. These are states, not events: at a journey's first tick the customers already in
  the state are its baseline (they do not enter); later ticks enter those who crossed into
  it since. Entering is once per customer and journey.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from insightloop.services.audiences import audience_ids
from insightloop.services.context import Context
from insightloop.services.journeys.spec import Trigger
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import has_table

STATE_TRIGGERS = frozenset({"churn_risk", "clv_tier"})
CART_TYPES = ("cart", "add_to_cart")
PURCHASE_TYPES = ("purchase", "order", "checkout")


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def triggered(ctx: Context, trigger: Trigger, start: datetime, now: datetime) -> list[str]:
    """The customers the trigger selects now (for state triggers: everyone in the state)."""
    if trigger.kind == "churn_risk":
        return audience_ids(ctx, f"churn_score >= {float(trigger.threshold)!r}")
    if trigger.kind == "clv_tier":
        return audience_ids(ctx, "value_tier = '" + trigger.to.replace("'", "''") + "'")
    with ctx.read() as con:
        return _event_trigger(con, trigger, start, now)


def _event_trigger(con: Any, trigger: Trigger, start: datetime, now: datetime) -> list[str]:
    if trigger.kind == "first_purchase":
        if not has_table(con, "orders"):
            return []
        sql = """SELECT customer_id FROM orders
                 WHERE customer_id IS NOT NULL AND quantity > 0 GROUP BY customer_id
                 HAVING min(order_time) > ? AND min(order_time) <= ?"""
        params: list[Any] = [start, now]
    elif not has_table(con, "events"):
        return []
    elif trigger.kind == "event":
        sql = """SELECT DISTINCT customer_id FROM events WHERE lower(event_type) = lower(?)
                 AND event_time > ? AND event_time <= ?"""
        params = [trigger.event_type, start, now]
    else:  # cart_abandoned
        within = timedelta(hours=trigger.within_hours)
        order_check = ("""OR EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = e.customer_id
                          AND o.order_time >= e.event_time
                          AND o.order_time <= e.event_time + to_microseconds(?))"""
                       if has_table(con, "orders") else "")
        sql = f"""SELECT DISTINCT customer_id FROM events e
                 WHERE lower(event_type) IN ({_quoted(CART_TYPES)})
                   AND event_time > ? AND event_time <= ?
                   AND NOT (EXISTS (SELECT 1 FROM events p WHERE p.customer_id = e.customer_id
                           AND lower(p.event_type) IN ({_quoted(PURCHASE_TYPES)})
                           AND p.event_time >= e.event_time
                           AND p.event_time <= e.event_time + to_microseconds(?))
                        {order_check})"""
        micros = int(within.total_seconds() * 1_000_000)
        params = [start, now - within, micros] + ([micros] if order_check else [])
    return [str(r[0]) for r in con.execute(sql, params).fetchall()]


def converted(ctx: Context, entered: pd.DataFrame, now: datetime) -> set[str]:
    """Of ``entered`` (customer_id, entered_at), those with an order after entering."""
    if entered.empty:
        return set()
    name = f"_entered_{uuid.uuid4().hex}"
    with ctx.read() as con:
        if not has_table(con, "orders"):
            return set()
        con.register(name, entered[["customer_id", "entered_at"]])
        try:
            rows = con.execute(f"""
                SELECT DISTINCT s.customer_id FROM {ident(name)} s JOIN orders o
                  ON o.customer_id = s.customer_id
                WHERE o.quantity > 0 AND o.order_time > s.entered_at
                  AND o.order_time <= ?""", [now]).fetchall()
        finally:
            con.unregister(name)
    return {str(r[0]) for r in rows}
