"""Report page: recommendations — most recommended products, catalogue coverage, sources,
the model chosen, and a similar-products table for the best sellers."""

from __future__ import annotations

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html


def build(ctx: ReportContext) -> list[Section]:
    """Bar chart of the most recommended products, summary and similar items; [] if none."""
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    wh = ctx.warehouse
    try:
        if not wh.has_table("recommendations"):
            return []
        top = wh.query(
            "SELECT r.product_id, count(*) AS customers, avg(r.rank) AS mean_rank "
            "FROM recommendations r GROUP BY r.product_id ORDER BY customers DESC, "
            "r.product_id LIMIT 15")
        summary = wh.query(
            "SELECT count(DISTINCT customer_id) AS customers, count(DISTINCT product_id) AS "
            "products, max(rank) AS n, mode(model) AS model, "
            "avg(CASE WHEN reason LIKE 'because you bought%' THEN 1 ELSE 0 END) AS explained "
            "FROM recommendations")
        by_model = wh.query("SELECT model, count(DISTINCT customer_id) AS customers "
                            "FROM recommendations GROUP BY model ORDER BY customers DESC")
    except InsightloopError:
        return []
    if top.empty:
        return []
    # lazy: the recommend service loads scipy and scikit-learn, only when recommendations exist
    from insightloop.services.recommend import load_catalogue, load_recommender

    desc = load_catalogue(ctx).set_index("product_id")["description"]
    top["description"] = top["product_id"].map(desc).fillna("")
    labels = (top["product_id"] + " " + top["description"].str.slice(0, 30)).tolist()
    bar = go.Figure(go.Bar(x=top["customers"].tolist()[::-1], y=labels[::-1],
                           orientation="h", marker_color="#4a6fa5"))
    bar.update_layout(title="Most recommended products (customers receiving each)",
                      height=480, margin={"l": 260, "t": 60, "b": 40})
    s = summary.iloc[0]
    catalogue = max(len(desc), 1)
    intro = (f"{int(s['customers']):,} customers × {int(s['n'])} products; "
             f"{int(s['products']):,} distinct products recommended "
             f"({int(s['products']) / catalogue:.1%} catalogue coverage); "
             f"{float(s['explained']):.0%} of recommendations carry a 'because you bought' "
             "reason. Models: " + ", ".join(f"{r.model} ({r.customers:,} customers)"
                                          for r in by_model.itertuples()) +
             ". Method and measured quality: docs/recommendations.md.")
    tables = [table_html([{"product": r.product_id, "description": r.description,
                           "customers": int(r.customers), "mean rank": float(r.mean_rank)}
                          for r in top.itertuples()])]
    try:
        server = load_recommender(ctx)
        rows = []
        for pid in top["product_id"].head(5):
            for it in server.similar_items(str(pid), 3)["items"]:
                rows.append({"product": pid, "description": desc.get(pid, ""),
                             "similar product": it["product_id"],
                             "similar description": it["description"],
                             "similarity": it["score"]})
        tables.append(table_html(rows))
    except InsightloopError:
        pass
    return [Section(title="Recommendations", page="recommendations", intro=intro,
                    figures=[bar], tables_html=tables)]
