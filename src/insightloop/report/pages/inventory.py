"""Report page: the inventory plan (table ``inventory_plan``): safety stock, reorder point
and order quantity per product, money at the data's currency."""

from __future__ import annotations

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html
from insightloop.report.format import formatter_for
from insightloop.services.planning import read_plan

TOP = 40


def build(ctx: ReportContext) -> list[Section]:
    """The plan's largest safety stocks by value; [] before ``insightloop inventory plan``."""
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    try:
        rows = read_plan(ctx, top=TOP)
    except InsightloopError:
        return []
    if not rows:
        return []
    fmt = formatter_for(ctx)
    first = rows[0]
    target = "fill rate" if first["service_type"] == "fill" else "cycle service level"
    intro = (f"Target {target} {fmt.share(first['service_level'])}, lead time "
             f"{first['lead_time_weeks']:g} weeks (sd {first['lead_time_sd']:g}). "
             "Reorder point: the quantile of the simulated demand over the lead time "
             "(from the forecasts where they exist, else from blocks of the product's last "
             "year); the normal formula's reorder point beside it. Order quantity: EOQ. "
             "What-if over service levels and lead times: `insightloop inventory whatif`.")
    shown = [{"product": r["product_id"], "source": r["method"],
              "demand / week": round(r["demand_per_week"], 1),
              "lead-time demand": round(r["lead_time_demand"], 1),
              "safety stock": round(r["safety_stock"], 1),
              "reorder point": r["reorder_point"], "order quantity": r["order_quantity"],
              "ROP (normal)": r["reorder_point_normal"],
              "unit cost": fmt.money(r["unit_cost"]),
              "safety stock value": fmt.money(r["safety_stock_value"]),
              "on hand": r["on_hand"],
              "order now": "" if r["order_now"] is None else ("yes" if r["order_now"]
                                                              else "no")}
             for r in rows]
    top = rows[:15]
    fig = go.Figure(go.Bar(x=[r["safety_stock_value"] or 0.0 for r in top],
                           y=[r["product_id"] for r in top], orientation="h"))
    fig.update_layout(title=f"Safety stock value ({fmt.currency}), largest products",
                      yaxis={"autorange": "reversed"}, height=420, margin={"t": 50})
    return [Section(title="Inventory plan", page="inventory", intro=intro, figures=[fig],
                    tables_html=[table_html(shown, max_rows=TOP)])]
