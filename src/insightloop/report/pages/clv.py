"""Report page: customer lifetime value distribution and the most valuable customers."""

from __future__ import annotations

from typing import Any

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html


def build(ctx: ReportContext) -> list[Section]:
    """CLV histogram and top-20 table from table ``clv``; [] when the table is absent."""
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    try:
        if not ctx.warehouse.has_table("clv"):
            return []
        frame = ctx.warehouse.table("clv")
    except InsightloopError:
        return []
    if frame.empty:
        return []
    exp_cols = [c for c in frame.columns if c.startswith("expected_purchases_")]
    model = str(frame["model"].iloc[0]) if "model" in frame else "?"
    fig = go.Figure(go.Histogram(x=frame["clv"], nbinsx=60, marker_color="#4a6fa5"))
    fig.update_layout(title="Distribution of customer lifetime value", xaxis_title="CLV",
                      yaxis_title="customers", height=380, margin={"t": 50, "b": 40})
    top = frame.sort_values("clv", ascending=False).head(20)
    cols = ["customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
            *exp_cols, "expected_avg_value", "clv"]
    rows = [{c: (round(float(r[c]), 2) if c != "customer_id" else r[c]) for c in cols
             if c in top.columns} for _, r in top.iterrows()]
    total = float(frame["clv"].sum())
    share = float(top["clv"].sum()) / total * 100 if total > 0 else 0.0
    intro = (f"{len(frame):,} customers, model {model}; total CLV {total:,.0f}, median "
             f"{float(frame['clv'].median()):,.2f}; mean P(alive) "
             f"{float(frame['p_alive'].mean()):.3f}. The top 20 customers hold {share:.1f}% "
             "of the total.")
    tables = [table_html(rows, max_rows=20)]
    fit = _fit_metadata(ctx, model)
    if fit is not None:
        intro += (f" Purchase model chosen with dropout prior {fit.get('dropout_prior', 0):g}: "
                  f"{fit.get('selection', '')}.")
        for warning in fit.get("warnings") or []:
            intro += f" Warning: {warning}."
        tables.append(table_html(_param_rows(fit), max_rows=20))
    return [Section(title="Customer lifetime value", page="clv", intro=intro, figures=[fig],
                    tables_html=tables)]


def _fit_metadata(ctx: ReportContext, model: str) -> dict[str, Any] | None:
    """The registered fit of the table's model (``clv build`` saves it), if it matches."""
    try:
        meta = ctx.models.metadata("clv")
    except (InsightloopError, OSError, ValueError):
        return None
    return meta if meta.get("model") == model else None


def _param_rows(fit: dict[str, Any]) -> list[dict[str, Any]]:
    """Parameters with standard errors and 95% bounds, as lifetimes' ``summary`` shows them."""
    rows = []
    for part in ("purchase_summary", "spend_summary"):
        for name, cells in (fit.get(part) or {}).items():
            rows.append({"model": part.split("_")[0], "parameter": name,
                         **{k: (float(v) if v is not None else "n/a")
                            for k, v in cells.items()}})
    return rows
