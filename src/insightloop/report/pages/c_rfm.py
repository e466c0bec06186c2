"""Report page: RFM grid (R vs F counts and average monetary) and RFM segment sizes."""

from __future__ import annotations

from insightloop.errors import InsightloopError
from insightloop.models.rfm import SEGMENTS
from insightloop.report.base import ReportContext, Section, table_html


def build(ctx: ReportContext) -> list[Section]:
    """Heatmaps of customers and mean monetary per (R, F) cell, segment bar; [] without `rfm`."""
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    try:
        if not (ctx.warehouse.has_table("rfm") and ctx.warehouse.has_table("profiles")):
            return []
        frame = ctx.warehouse.query(
            "SELECT r.*, p.monetary FROM rfm r JOIN profiles p USING (customer_id)")
    except InsightloopError:
        return []
    if frame.empty:
        return []
    scores = list(range(1, 6))
    counts = frame.pivot_table(index="r_score", columns="f_score", values="customer_id",
                               aggfunc="count").reindex(index=scores, columns=scores)
    money = frame.pivot_table(index="r_score", columns="f_score", values="monetary",
                              aggfunc="mean").reindex(index=scores, columns=scores)
    grid = make_subplots(rows=1, cols=2, subplot_titles=("customers", "mean net monetary"),
                         horizontal_spacing=0.12)
    for col, table, scale in ((1, counts, "Blues"), (2, money, "Greens")):
        grid.add_trace(go.Heatmap(
            z=table.to_numpy(), x=[f"F{s}" for s in scores], y=[f"R{s}" for s in scores],
            colorscale=scale, showscale=False, texttemplate="%{z:,.0f}",
            hovertemplate="%{y} %{x}: %{z:,.1f}<extra></extra>"), row=1, col=col)
    grid.update_layout(title="RFM grid: recency score (rows) vs frequency score (columns)",
                       height=420, margin={"t": 70, "b": 40})
    sizes = frame.groupby("rfm_segment").agg(customers=("customer_id", "count"),
                                             monetary=("monetary", "sum"))
    sizes = sizes.reindex([s for s in SEGMENTS if s in sizes.index])
    bar = go.Figure(go.Bar(x=sizes.index, y=sizes["customers"], marker_color="#4a6fa5",
                           text=sizes["customers"], textposition="outside"))
    bar.update_layout(title="Customers per RFM segment", yaxis_title="customers", height=380,
                      margin={"t": 50, "b": 80})
    total = float(sizes["monetary"].clip(lower=0).sum()) or 1.0
    rows = [{"segment": name, "customers": int(r["customers"]),
             "share of customers": f"{r['customers'] / len(frame):.1%}",
             "share of net revenue": f"{max(float(r['monetary']), 0.0) / total:.1%}"}
            for name, r in sizes.iterrows()]
    tiers = frame["value_tier"].value_counts().reindex(["high", "medium", "low"]).fillna(0)
    intro = (f"{len(frame):,} customers scored 1-5 on recency, frequency and monetary by "
             "rank-based quintiles and named by the R vs FM grid (docs/segmentation.md). "
             f"Value tiers: {int(tiers['high'])} high, {int(tiers['medium'])} medium, "
             f"{int(tiers['low'])} low.")
    return [Section(title="RFM segments", page="rfm", intro=intro, figures=[grid, bar],
                    tables_html=[table_html(rows)])]
