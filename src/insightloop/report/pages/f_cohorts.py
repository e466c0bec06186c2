"""Report page: monthly acquisition cohorts (retention heatmap and revenue curves)."""

from __future__ import annotations

import pandas as pd

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section
from insightloop.report.periods import notes, partial_periods


def build(ctx: ReportContext) -> list[Section]:
    """Retention % heatmap and cumulative revenue per customer; [] without table `cohorts`."""
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    try:
        if not ctx.warehouse.has_table("cohorts"):
            return []
        frame = ctx.warehouse.query("SELECT * FROM cohorts ORDER BY cohort_month, period")
        span = ctx.warehouse.query("SELECT min(order_time) AS lo, max(order_time) AS hi "
                                   "FROM orders WHERE customer_id IS NOT NULL")
    except InsightloopError:
        return []
    if frame.empty:
        return []
    frame["cohort"] = frame["cohort_month"].astype(str).str[:7]
    # A cohort's month N is calendar month cohort + N: the one the data covers in part is
    # marked (a '*' in the heatmap, an open marker on the curves), not read as a drop.
    partial = partial_periods(span["lo"].iloc[0], span["hi"].iloc[0])
    calendar = (pd.to_datetime(frame["cohort_month"]).dt.to_period("M")
                + frame["period"].astype(int)).dt.to_timestamp()
    frame["partial"] = calendar.isin([p.start for p in partial])
    retention = frame.pivot(index="cohort", columns="period", values="retention") * 100
    starred = frame.pivot(index="cohort", columns="period", values="partial").reindex_like(
        retention).eq(True)
    text = retention.round(0).astype("Int64").astype(str).where(retention.notna(), "")
    text = text.where(~starred, text + "*")
    sizes = frame[frame["period"] == 0].set_index("cohort")["customers"]
    heat = go.Figure(go.Heatmap(
        z=retention.to_numpy(), x=[int(c) for c in retention.columns],
        y=[f"{c} (n={int(sizes[c]):,})" for c in retention.index], colorscale="Blues",
        text=text.to_numpy(), texttemplate="%{text}",
        hovertemplate="%{y}, month %{x}: %{z:.1f}%<extra></extra>", colorbar={"title": "%"}))
    star = f"; * {notes(partial)}" if partial else ""
    heat.update_layout(title="Retention: % of each cohort buying N months after acquisition"
                       + star, xaxis_title="months since first purchase",
                       yaxis={"autorange": "reversed"},
                       height=max(360, 26 * len(retention) + 120), margin={"t": 50, "b": 40})
    curves = go.Figure()
    for cohort, part in frame.groupby("cohort"):
        curves.add_trace(go.Scatter(
            x=part["period"], y=part["cumulative_revenue_per_customer"], mode="lines+markers",
            name=str(cohort), marker={"symbol": ["circle-open" if p else "circle"
                                                 for p in part["partial"]],
                                      "size": [9 if p else 4 for p in part["partial"]]}))
    curves.update_layout(title="Cumulative net revenue per acquired customer" + (
                             f" (open markers: {notes(partial)})" if partial else ""),
                         xaxis_title="months since first purchase",
                         yaxis_title="revenue per customer", height=420,
                         margin={"t": 50, "b": 40})
    later = frame[frame["period"] == 1]
    m1 = float((later["active"].sum() / later["customers"].sum()) * 100) if len(later) else 0.0
    intro = (f"{len(sizes)} monthly cohorts, {int(sizes.sum()):,} customers by month of first "
             f"purchase. On average {m1:.1f}% of a cohort buys again in the month after "
             "acquisition.")
    return [Section(title="Acquisition cohorts", page="cohorts", intro=intro,
                    figures=[heat, curves])]
