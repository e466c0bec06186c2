"""Customer 360 profile pipeline, written once as Ibis expressions.

The same expression runs on DuckDB (default) and on Spark (``engine = "spark"``);
``tests/features/test_profiles_engines.py`` runs both on one input and asserts
identical output. Engine-neutral rules followed here: every ranking has a
deterministic tie-breaker, money is rounded to cents, ratios to 6 decimals,
time differences are computed from epoch seconds.

Point-in-time: only rows with a timestamp strictly before ``as_of`` are used,
so models trained on profiles ``as_of`` a date never see later data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis import _

TOP_N = 3
#: Tables the profiles use when the warehouse has rows in them (orders always).
OPTIONAL_INPUTS = ("products", "customers", "events")
WINDOWS_DAYS = (30, 90)  # recent-activity windows ending at as_of
SECONDS_PER_DAY = 86_400.0

PROFILE_COLUMNS = (
    "customer_id", "as_of", "first_order_time", "last_order_time", "recency_days",
    "tenure_days", "frequency", "monetary", "gross_revenue", "avg_order_value", "n_orders",
    "n_items", "n_lines", "n_returns", "return_rate", "inter_purchase_days",
    *(f"orders_{d}d" for d in WINDOWS_DAYS), *(f"revenue_{d}d" for d in WINDOWS_DAYS),
    *(f"fav_product_{i}" for i in range(1, TOP_N + 1)),
    *(f"fav_category_{i}" for i in range(1, TOP_N + 1)),
    "country", "channel", "preferred_weekday", "preferred_hour", "last_activity_time", "n_events",
)


def _days_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    secs = later.epoch_seconds() - earlier.epoch_seconds()
    return secs.cast("float64") / SECONDS_PER_DAY


def _mode(table: ir.Table, value: str, name: str, weight: str | None = None) -> ir.Table:
    """Most frequent ``value`` per customer; ties go to the smallest value."""
    counts = table.filter(table[value].notnull()).group_by(["customer_id", value]).aggregate(
        __n=_.count() if weight is None else table[weight].sum()
    )
    win = ibis.window(group_by="customer_id", order_by=[ibis.desc("__n"), value])
    ranked = counts.mutate(__rn=ibis.row_number().over(win))
    return ranked.filter(ranked.__rn == 0).select("customer_id", **{name: ranked[value]})


def _top_n(table: ir.Table, value: str, prefix: str) -> ir.Table:
    """Top-N values per customer by total quantity, as columns ``prefix_1..N``."""
    totals = table.filter(table[value].notnull()).group_by(["customer_id", value]).aggregate(
        __q=_.quantity.sum()
    )
    win = ibis.window(group_by="customer_id", order_by=[ibis.desc("__q"), value])
    ranked = totals.mutate(__rn=ibis.row_number().over(win))
    top = ranked.filter(ranked.__rn < TOP_N)
    return top.group_by("customer_id").aggregate(
        **{f"{prefix}_{i + 1}": top[value].max(where=top.__rn == i) for i in range(TOP_N)}
    )


def profile_expr(
    orders: ir.Table,
    as_of: datetime,
    *,
    products: ir.Table | None = None,
    customers: ir.Table | None = None,
    events: ir.Table | None = None,
) -> ir.Table:
    """Build the customer 360 expression: one row per customer with an order before ``as_of``.

    Parameters
    ----------
    orders, products, customers, events : ibis.Table
        Canonical tables (see ``docs/data-model.md``); all but ``orders`` optional.
    as_of : datetime
        Cut-off; only rows strictly before it count.
    """
    cutoff = ibis.literal(as_of, type="timestamp")
    o = orders.filter(orders.customer_id.notnull(), orders.order_time < cutoff)
    o = o.mutate(cents=(o.quantity * o.unit_price * 100).round().cast("int64"))
    buys = o.filter(o.quantity > 0, o.status != "cancelled")

    lines = o.group_by("customer_id").aggregate(
        monetary_cents=o.cents.sum(),
        n_lines=_.count(),
        n_returns=(o.quantity < 0).cast("int64").sum(),
        returned_items=(-o.quantity).sum(where=o.quantity < 0),
        last_line_time=o.order_time.max(),
    )
    recent = {d: buys.order_time >= cutoff - ibis.interval(days=d) for d in WINDOWS_DAYS}
    purchases = buys.group_by("customer_id").aggregate(
        first_order_time=buys.order_time.min(),
        last_order_time=buys.order_time.max(),
        frequency=buys.order_id.nunique(),
        gross_cents=buys.cents.sum(),
        n_items=buys.quantity.sum(),
        **{f"orders_{d}d": buys.order_id.nunique(where=w) for d, w in recent.items()},
        **{f"revenue_{d}d_cents": buys.cents.sum(where=w) for d, w in recent.items()},
    )
    order_level = buys.group_by(["customer_id", "order_id"]).aggregate(t=buys.order_time.min())
    order_level = order_level.mutate(
        weekday=order_level.t.day_of_week.index(), hour=order_level.t.hour()
    )
    base = lines.left_join(purchases, "customer_id").select(
        lines, *[purchases[c] for c in purchases.columns if c != "customer_id"]
    )
    joined = base
    parts: list[ir.Table] = [
        _mode(order_level, "weekday", "preferred_weekday"),
        _mode(order_level, "hour", "preferred_hour"),
        _mode(o, "channel", "channel"),
        _mode(o, "country", "order_country"),
        _top_n(buys, "product_id", "fav_product"),
    ]
    if products is not None:
        cats = buys.join(products.select("product_id", "category"), "product_id")
        parts.append(_top_n(cats, "category", "fav_category"))
    if customers is not None:
        parts.append(customers.select("customer_id", customer_country=customers.country))
    if events is not None:
        ev = events.filter(events.event_time < cutoff)
        parts.append(ev.group_by("customer_id").aggregate(
            n_events=_.count(), last_event_time=ev.event_time.max()))
    for part in parts:
        joined = joined.left_join(part, "customer_id").select(
            joined, *[part[c] for c in part.columns if c != "customer_id"]
        )

    def col(name: str, typ: str) -> ir.Value:
        return joined[name] if name in joined.columns else ibis.null().cast(typ)

    freq = joined.frequency.fill_null(0)
    last_activity = ibis.greatest(joined.last_line_time,
                                  col("last_event_time", "timestamp").fill_null(
                                      joined.last_line_time))
    country = col("customer_country", "string").fill_null(joined.order_country)
    result = joined.select(
        customer_id=joined.customer_id,
        as_of=cutoff,
        first_order_time=joined.first_order_time,
        last_order_time=joined.last_order_time,
        recency_days=_days_between(cutoff, joined.last_order_time),
        tenure_days=_days_between(cutoff, joined.first_order_time),
        frequency=freq,
        monetary=joined.monetary_cents / 100.0,
        gross_revenue=joined.gross_cents.fill_null(0) / 100.0,
        avg_order_value=ibis.ifelse(freq > 0, joined.gross_cents / freq / 100.0, None),
        n_orders=freq,
        n_items=joined.n_items.fill_null(0),
        n_lines=joined.n_lines,
        n_returns=joined.n_returns,
        return_rate=ibis.ifelse(
            joined.n_items.fill_null(0) > 0,
            joined.returned_items.fill_null(0) / joined.n_items, None),
        **{f"orders_{d}d": joined[f"orders_{d}d"].fill_null(0) for d in WINDOWS_DAYS},
        **{f"revenue_{d}d": joined[f"revenue_{d}d_cents"].fill_null(0) / 100.0
           for d in WINDOWS_DAYS},
        inter_purchase_days=ibis.ifelse(
            freq > 1,
            _days_between(joined.last_order_time, joined.first_order_time) / (freq - 1),
            None),
        **{f"fav_product_{i}": joined[f"fav_product_{i}"] for i in range(1, TOP_N + 1)},
        **{f"fav_category_{i}": col(f"fav_category_{i}", "string") for i in range(1, TOP_N + 1)},
        country=country,
        channel=joined.channel,
        preferred_weekday=joined.preferred_weekday,
        preferred_hour=joined.preferred_hour,
        last_activity_time=last_activity,
        n_events=col("n_events", "int64").fill_null(0),
    )
    return result.order_by("customer_id")


def profile_expr_of(backend: Any, names: list[str], as_of: datetime) -> ir.Table:
    """:func:`profile_expr` over the tables ``names`` (orders and the optional inputs
    present) of an Ibis ``backend`` (DuckDB, or Spark with those tables registered)."""
    tables = {n: backend.table(n) for n in names}
    return profile_expr(tables["orders"], as_of, products=tables.get("products"),
                        customers=tables.get("customers"), events=tables.get("events"))
