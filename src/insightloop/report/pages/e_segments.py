"""Report page: behavioural segment profiles (standardised feature means) and strategies."""

from __future__ import annotations

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html


def build(ctx: ReportContext) -> list[Section]:
    """Radar of segment feature z-scores and the description/strategy table; [] if not built."""
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    # lazy: the segmentation model loads scikit-learn, only when this page is built
    from insightloop.models.segmentation import DEFAULT_FEATURES, prepare_features

    wh = ctx.warehouse
    try:
        if not all(wh.has_table(t) for t in ("segments", "segment_members", "profiles")):
            return []
        segments = wh.query("SELECT * FROM segments ORDER BY segment_id")
        frame = wh.query("SELECT p.*, m.segment_id FROM profiles p "
                         "JOIN segment_members m USING (customer_id)")
    except InsightloopError:
        return []
    if segments.empty or frame.empty:
        return []
    features = list(DEFAULT_FEATURES)
    x = prepare_features(frame, features)
    z = (x - x.mean()) / x.std(ddof=0).replace(0.0, 1.0)
    means = z.groupby(frame["segment_id"].to_numpy()).mean()
    names = segments.set_index("segment_id")["name"]
    radar = go.Figure()
    for seg_id, row in means.iterrows():
        radar.add_trace(go.Scatterpolar(
            r=[*row.to_numpy(), row.iloc[0]], theta=[*features, features[0]], fill="toself",
            name=f"{seg_id}: {names.get(seg_id, seg_id)}", opacity=0.6))
    radar.update_layout(title="Segment profiles: mean standardised feature (0 = population)",
                        height=520, polar={"radialaxis": {"visible": True}},
                        margin={"t": 60, "b": 40})
    rows = [{"id": int(r["segment_id"]), "name": r["name"], "customers": int(r["size"]),
             "share": f"{r['share']:.1%}", "value share": f"{r['value_share']:.1%}",
             "strategy": r["strategy"], "description": r["description"]}
            for _, r in segments.iterrows()]
    first = segments.iloc[0]
    metric = "BIC" if first["method"] == "gmm" else "silhouette"
    intro = (f"{int(segments['size'].sum()):,} customers in {int(first['k'])} segments by "
             f"{first['method']} ({metric} {float(first['selection_score']):.3f}). Features are "
             "log-transformed where skewed and standardised; strategies follow the rules in "
             "docs/segmentation.md.")
    return [Section(title="Behavioural segments", page="segments", intro=intro,
                    figures=[radar], tables_html=[table_html(rows)])]
