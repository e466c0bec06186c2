"""Report page: monthly acquisition cohorts (retention heatmap and revenue curves)."""

from __future__ import annotations

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section


def build(ctx: ReportContext) -> list[Section]:
    """Retention % heatmap and cumulative revenue per customer; [] without table `cohorts`."""
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    try:
        if not ctx.warehouse.has_table("cohorts"):
            return []
        frame = ctx.warehouse.query("SELECT * FROM cohorts ORDER BY cohort_month, period")
    except InsightloopError:
        return []
    if frame.empty:
        return []
    frame["cohort"] = frame["cohort_month"].astype(str).str[:7]
    retention = frame.pivot(index="cohort", columns="period", values="retention") * 100
    sizes = frame[frame["period"] == 0].set_index("cohort")["customers"]
    heat = go.Figure(go.Heatmap(
        z=retention.to_numpy(), x=[int(c) for c in retention.columns],
        y=[f"{c} (n={int(sizes[c]):,})" for c in retention.index], colorscale="Blues",
        texttemplate="%{z:.0f}", hovertemplate="%{y}, month %{x}: %{z:.1f}%<extra></extra>",
        colorbar={"title": "%"}))
    heat.update_layout(title="Retention: % of each cohort buying N months after acquisition",
                       xaxis_title="months since first purchase", yaxis={"autorange": "reversed"},
                       height=max(360, 26 * len(retention) + 120), margin={"t": 50, "b": 40})
    curves = go.Figure()
    for cohort, part in frame.groupby("cohort"):
        curves.add_trace(go.Scatter(x=part["period"], y=part["cumulative_revenue_per_customer"],
                                    mode="lines", name=str(cohort)))
    curves.update_layout(title="Cumulative net revenue per acquired customer",
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
