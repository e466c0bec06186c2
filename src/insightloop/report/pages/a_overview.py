"""Report page: business overview from ``orders`` (revenue, countries, order values)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section
from insightloop.report.format import formatter_for
from insightloop.report.periods import add_line, notes, partial_periods

if TYPE_CHECKING:
    import pandas as pd

TOP_COUNTRIES = 15
_COLOR = "#4a6fa5"


def _frames(ctx: ReportContext) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None:
    monthly = ctx.warehouse.query("""
        SELECT date_trunc('month', order_time) AS month,
               sum(quantity * unit_price) AS net_revenue,
               sum(quantity * unit_price) FILTER (WHERE quantity > 0) AS gross_revenue,
               count(DISTINCT order_id) AS orders,
               min(order_time) AS first_time, max(order_time) AS last_time
        FROM orders GROUP BY 1 ORDER BY 1
    """, table="orders")
    if monthly.empty:
        return None
    countries = ctx.warehouse.query("""
        SELECT coalesce(country, '(unknown)') AS country,
               count(DISTINCT customer_id) AS customers
        FROM orders WHERE customer_id IS NOT NULL
        GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?
    """, [TOP_COUNTRIES])
    values = ctx.warehouse.query("""
        SELECT order_id, sum(quantity * unit_price) AS value FROM orders
        WHERE quantity > 0 GROUP BY 1 HAVING sum(quantity * unit_price) > 0
    """)
    return monthly, countries, values


def build(ctx: ReportContext) -> list[Section]:
    """Monthly net revenue, customers by country and order values; [] without orders."""
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    try:
        if not ctx.warehouse.has_table("orders"):
            return []
        frames = _frames(ctx)
    except InsightloopError:
        return []
    if frames is None:
        return []
    monthly, countries, values = frames
    fmt = formatter_for(ctx)
    partial = partial_periods(monthly["first_time"].min(), monthly["last_time"].max())
    revenue = go.Figure()
    add_line(revenue, monthly["month"], monthly["net_revenue"], partial, name="net revenue",
             color=_COLOR, hover=f"{fmt.symbol}%{{y:,.2f}}")
    revenue.update_layout(title="Net revenue by month (purchases minus cancellations/returns)",
                          xaxis_title="month", yaxis_title=f"net revenue ({fmt.currency})",
                          height=380, showlegend=bool(partial))
    by_country = go.Figure(go.Bar(x=countries["country"], y=countries["customers"],
                                  marker_color=_COLOR))
    by_country.update_layout(title=f"Customers by country (top {TOP_COUNTRIES})",
                             yaxis_title="customers", height=380)
    cap = float(values["value"].quantile(0.99)) if len(values) else 0.0
    shown = values[values["value"] <= cap]
    dist = go.Figure(go.Histogram(x=shown["value"], nbinsx=60, marker_color=_COLOR))
    dist.update_layout(title="Order value distribution (orders up to the 99th percentile)",
                       xaxis_title=f"order value ({fmt.currency})", yaxis_title="orders",
                       height=380)
    total = float(monthly["net_revenue"].sum())
    median = float(values["value"].median()) if len(values) else 0.0
    intro = (f"{fmt.number(int(monthly['orders'].sum()))} orders over {len(monthly)} months; "
             f"net revenue {fmt.money(total)}; median order value {fmt.money(median)}; "
             f"{fmt.number(len(values) - len(shown))} orders above {fmt.money(cap)} are left "
             "out of the histogram." + (f" {notes(partial, upper=True)}: drawn dashed, not a "
                                        "drop in sales." if partial else ""))
    return [Section(title="Overview", page="overview", intro=intro,
                    figures=[revenue, by_country, dist])]
