"""Report page: sentiment over time, aspect × sentiment heatmap, topic map, worst products."""

from __future__ import annotations

import pandas as pd

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html
from insightloop.report.periods import add_line, bar_patterns, notes, partial_periods
from insightloop.services.customers import product_names


def build(ctx: ReportContext) -> list[Section]:
    """Sections on scored reviews; [] when `insightloop sentiment score` has not run."""
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    # lazy: the sentiment models load scipy and scikit-learn, only when this page is built
    from insightloop.models.sentiment import satisfaction as sat

    wh = ctx.warehouse
    try:
        if not wh.has_table("review_sentiment"):
            return []
        scored = wh.query("SELECT * FROM review_sentiment")
        aspects = (wh.query("SELECT * FROM review_aspects")
                   if wh.has_table("review_aspects") else pd.DataFrame())
        topics = (wh.query("SELECT * FROM review_topic_summary ORDER BY topic_id")
                  if wh.has_table("review_topic_summary") else pd.DataFrame())
    except InsightloopError:
        return []
    if scored.empty:
        return []
    monthly = sat.monthly_trend(scored)
    forecast = sat.forecast_next(monthly)
    times = pd.to_datetime(scored["review_time"])
    partial = partial_periods(times.min(), times.max())
    trend = go.Figure()
    trend.add_trace(go.Bar(x=monthly["month"], y=monthly["reviews"], name="reviews",
                           yaxis="y2", opacity=0.3,
                           marker={"pattern": {"shape": bar_patterns(monthly["month"],
                                                                     partial)}}))
    add_line(trend, monthly["month"], monthly["net_sentiment"], partial, name="net sentiment",
             color="#1f77b4", hover="%{y:+.2f}")
    if forecast["month"] is not None:
        trend.add_trace(go.Scatter(x=[pd.Period(forecast["month"]).to_timestamp()],
                                   y=[forecast["net_sentiment"]], mode="markers",
                                   marker={"symbol": "diamond-open", "size": 12},
                                   name="forecast"))
    trend.update_layout(title="Net sentiment (positive − negative share) per month"
                        + (f" ({notes(partial)}: hatched)" if partial else ""),
                        yaxis={"range": [-1, 1], "title": "net sentiment"},
                        yaxis2={"overlaying": "y", "side": "right", "title": "reviews"},
                        height=420)
    figures = [trend]
    if not aspects.empty:
        counts = (aspects.groupby(["aspect", "sentiment"]).size().unstack(fill_value=0)
                  .reindex(columns=["negative", "neutral", "positive"], fill_value=0))
        heat = go.Figure(go.Heatmap(z=counts.to_numpy(), x=list(counts.columns),
                                    y=list(counts.index), colorscale="RdYlGn",
                                    text=counts.to_numpy(), texttemplate="%{text}"))
        heat.update_layout(title="Aspect mentions by sentiment", height=420)
        figures.append(heat)
    if not topics.empty:
        topic_fig = go.Figure(go.Scatter(
            x=topics["net_sentiment"].fillna(0.0), y=topics["size"], mode="markers+text",
            text=topics["name"], textposition="top center",
            marker={"size": 10 + 40 * topics["share"] / max(topics["share"].max(), 1e-9)}))
        topic_fig.update_layout(title="Topic map: size vs net sentiment",
                                xaxis={"title": "net sentiment", "range": [-1.1, 1.1]},
                                yaxis={"title": "reviews"}, height=460)
        figures.append(topic_fig)
    products = sat.summarize(scored, "product_id")
    complaints = (sat.top_complaints(aspects, "product_id") if not aspects.empty
                  else pd.DataFrame(columns=["product_id", "aspect", "count"]))
    top = complaints.groupby("product_id")["aspect"].agg(", ".join)
    worst = products.loc[products["reviews"] >= 3].sort_values(
        ["net_sentiment", "reviews"], ascending=[True, False]).head(15)
    names = product_names(ctx, [str(p) for p in worst["product_id"]])
    rows = [{"product": r.product_id, "name": names.get(str(r.product_id), ""),
             "reviews": int(r.reviews),
             "negative": f"{r.negative_share:.0%}", "net sentiment": f"{r.net_sentiment:+.2f}",
             "top complaints": top.get(r.product_id, "")} for r in worst.itertuples()]
    alerts = sat.drop_alerts(scored)
    names |= product_names(ctx, [str(a) for a in alerts["product_id"]]) if len(alerts) else {}
    alert_rows = [{"product": a.product_id, "name": names.get(str(a.product_id), ""),
                   "before": f"{a.negative_share_before:.0%}",
                   "recent": f"{a.negative_share_recent:.0%}", "p": f"{a.p_value:.3g}"}
                  for a in alerts.itertuples()]
    labels = scored["label"].value_counts()
    intro = (f"{len(scored):,} reviews scored by {scored['model'].iloc[0]}: "
             f"{labels.get('positive', 0):,} positive, {labels.get('negative', 0):,} negative, "
             f"{labels.get('neutral', 0):,} neutral (abstained). Forecast for "
             f"{forecast['month']}: net sentiment {forecast['net_sentiment']:+.2f}. Alerts: "
             "one-sided two-proportion z-test of the negative share, last 90 days vs before.")
    tables = [table_html(rows)]
    if alert_rows:
        tables.append(table_html(alert_rows))
    return [Section(title="Voice of the customer: review sentiment", page="sentiment",
                    intro=intro, figures=figures, tables_html=tables)]
