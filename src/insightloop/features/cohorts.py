"""Monthly acquisition cohorts as one Ibis expression (orders table in, cohort grid out).

Definitions (the same order rules as :mod:`insightloop.features.profiles`):

* a **purchase** is an order line of a known customer with ``quantity > 0``
  whose status is not ``cancelled``;
* a customer's **cohort** is the calendar month of their first purchase
  (``cohort_month``, the first day of that month);
* **period** ``p`` is the number of calendar months since the cohort month
  (0 = the acquisition month);
* **active** counts the cohort's customers with a purchase in period ``p``;
  ``retention = active / customers`` (1.0 in period 0 by definition);
* **revenue** is the cohort's *net* revenue in period ``p``: every line
  (purchases minus returns and cancellations, rounded to cents per line, as
  profile ``monetary``), counting lines from the acquisition month on;
* ``cumulative_revenue_per_customer`` is the running sum of revenue over
  periods ``0..p`` divided by the cohort size.

The grid is complete: every cohort has a row for each period from 0 to the
last month with any order line (before ``as_of``), with zeros where nobody
bought. Only rows strictly before ``as_of`` count (point-in-time).
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

COHORT_COLUMNS = (
    "cohort_month", "period", "customers", "active", "retention", "revenue",
    "cumulative_revenue_per_customer",
)


def _month_index(ts: ir.TimestampValue) -> ir.IntegerValue:
    return ts.year().cast("int64") * 12 + ts.month().cast("int64") - 1


def cohort_expr(orders: ir.Table, as_of: datetime | None = None) -> ir.Table:
    """Cohort grid: one row per (cohort month, period since acquisition).

    Parameters
    ----------
    orders : ibis.Table
        Canonical ``orders`` (``customer_id``, ``order_id``, ``quantity``,
        ``unit_price``, ``order_time``, ``status``).
    as_of : datetime, optional
        Cut-off; only lines strictly before it count. Default: all lines.

    Returns
    -------
    ibis.Table
        Columns :data:`COHORT_COLUMNS`, ordered by cohort month and period.
    """
    o = orders.filter(orders.customer_id.notnull())
    if as_of is not None:
        o = o.filter(o.order_time < ibis.literal(as_of, type="timestamp"))
    o = o.mutate(
        month_idx=_month_index(o.order_time),
        cents=(o.quantity * o.unit_price * 100).round().cast("int64"),
    )
    buys = o.filter(o.quantity > 0, o.status.isnull() | (o.status != "cancelled"))

    first = buys.group_by("customer_id").aggregate(first_time=buys.order_time.min())
    first = first.mutate(cohort_idx=_month_index(first.first_time),
                         cohort_month=first.first_time.truncate("M").date())
    sizes = first.group_by(["cohort_idx", "cohort_month"]).aggregate(customers=first.count())
    last_idx = o.month_idx.max().as_scalar()
    grid = sizes.mutate(period=ibis.range(0, last_idx - sizes.cohort_idx + 1).unnest())

    b = buys.join(first, "customer_id").select(
        "customer_id", "cohort_idx", period=buys.month_idx - first.cohort_idx)
    active = b.group_by(["cohort_idx", "period"]).aggregate(active=b.customer_id.nunique())

    lines = o.join(first, "customer_id").select(
        "cents", "cohort_idx", period=o.month_idx - first.cohort_idx)
    lines = lines.filter(lines.period >= 0)
    revenue = lines.group_by(["cohort_idx", "period"]).aggregate(rev_cents=lines.cents.sum())

    g = grid.left_join(active, ["cohort_idx", "period"]).select(
        grid, active=active.active)
    g = g.left_join(revenue, ["cohort_idx", "period"]).select(g, rev_cents=revenue.rev_cents)
    g = g.mutate(active=g.active.fill_null(0).cast("int64"),
                 rev_cents=g.rev_cents.fill_null(0).cast("int64"))
    win = ibis.cumulative_window(group_by="cohort_idx", order_by="period")
    g = g.mutate(cum_cents=g.rev_cents.sum().over(win))
    result = g.select(
        cohort_month=g.cohort_month,
        period=g.period.cast("int64"),
        customers=g.customers.cast("int64"),
        active=g.active,
        retention=(g.active.cast("float64") / g.customers).round(6),
        revenue=g.rev_cents.cast("float64") / 100.0,
        cumulative_revenue_per_customer=(g.cum_cents.cast("float64") / 100.0
                                         / g.customers).round(6),
    )
    return result.order_by(["cohort_month", "period"])
