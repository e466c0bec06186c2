"""Report page: uplift. Qini curves and uplift by decile of the registered uplift model (held-
out half of the sends), and the targeting plan (table ``uplift_plan``)."""

from __future__ import annotations

from typing import Any

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html


def _model_sections(meta: dict[str, Any]) -> list[Section]:
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    evaluation = meta.get("evaluation") or []
    if not evaluation:
        return []
    qini = go.Figure()
    deciles = go.Figure()
    for arm in evaluation:
        curve = arm["qini_curve"]
        qini.add_trace(go.Scatter(x=curve["customers"], y=curve["incremental"], mode="lines",
                                  name=f"{arm['treated']} (model)"))
        end_x, end_y = curve["customers"][-1], curve["incremental"][-1]
        qini.add_trace(go.Scatter(x=[0, end_x], y=[0, end_y], mode="lines",
                                  line={"dash": "dot"}, name=f"{arm['treated']} (random)"))
        deciles.add_trace(go.Bar(x=[d["bin"] for d in arm["deciles"]],
                                 y=[d["uplift"] for d in arm["deciles"]],
                                 error_y={"type": "data", "array": [
                                     1.96 * (d["std_error"] or 0.0) for d in arm["deciles"]]},
                                 name=arm["treated"]))
    qini.update_layout(title="Qini curve: incremental outcomes of treating the top customers",
                       xaxis_title="customers targeted (ranked by predicted uplift)",
                       yaxis_title="incremental outcomes", height=380, margin={"t": 50})
    deciles.update_layout(title="Measured uplift by decile of predicted uplift (95% CI)",
                          xaxis_title="decile (1 = highest predicted uplift)",
                          yaxis_title="treated - control", height=380, margin={"t": 50})
    rows = [{"arm": a["treated"], "uplift@30%": round(a["uplift_at_k"], 4),
             "Qini AUC": round(a["qini_auc"], 4), "AUUC": round(a["auuc"], 4),
             "ATE": round(a["ate"], 4), "test rows": a["test_rows"]} for a in evaluation]
    intro = (f"Model {meta.get('model')} (v{meta.get('version')}), outcome "
             f"{meta.get('outcome')} within {meta.get('window_days')} days of the send, fitted "
             f"on half of {meta.get('sends', 0):,} sends and measured on the other half.")
    return [Section(title="Uplift model", page="uplift", intro=intro, figures=[qini, deciles],
                    tables_html=[table_html(rows)])]


def _plan_section(ctx: ReportContext) -> list[Section]:
    if not ctx.warehouse.has_table("uplift_plan"):
        return []
    summary = ctx.warehouse.query(
        "SELECT reason, arm, count(*) AS customers, sum(cost) AS cost, "
        "sum(expected_profit) AS expected_profit FROM uplift_plan GROUP BY ALL "
        "ORDER BY reason, arm")
    top = ctx.warehouse.query(
        "SELECT customer_id, arm, uplift, expected_profit, cost, rank FROM uplift_plan "
        "WHERE selected ORDER BY rank LIMIT 20")
    if summary.empty:
        return []
    chosen = summary[summary["reason"] == "selected"]
    intro = (f"{int(chosen['customers'].sum()):,} customers selected for "
             f"{float(chosen['cost'].sum()):,.2f} of contact cost, expected incremental profit "
             f"{float(chosen['expected_profit'].sum()):,.2f}. Sleeping dogs (contact lowers "
             "their outcome, measured on held-out sends) are never contacted. Audiences for "
             "campaigns are in table uplift_audiences.")
    return [Section(title="Targeting plan", page="uplift", intro=intro,
                    tables_html=[table_html(summary.to_dict("records")),
                                 table_html(top.to_dict("records"), max_rows=20)])]


def build(ctx: ReportContext) -> list[Section]:
    """The uplift model's held-out curves and the targeting plan; [] when neither exists."""
    sections: list[Section] = []
    try:
        names = {str(m["name"]) for m in ctx.models.list()}
        if "uplift" in names:
            sections += _model_sections(ctx.models.metadata("uplift"))
        sections += _plan_section(ctx)
    except InsightloopError:
        return sections
    return sections
