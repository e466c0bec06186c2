"""``insightloop inventory plan | whatif | show`` and ``insightloop trends build | show``.

Bad input (a service level outside (0, 1), a stock file without ``product_id``/``on_hand``
or with a negative stock, an unknown level) is one ``Error:`` line and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from insightloop.cli.app import app
from insightloop.cli.common import JsonOpt, WarehouseOpt, choice, console, context_for, print_json

inventory_app = typer.Typer(help="Inventory: safety stock, reorder points and order "
                                 "quantities from the demand distribution.",
                            no_args_is_help=True)
trends_app = typer.Typer(help="Market trends: rising and declining items, seasonality, "
                              "anomalies, new-product ramps.", no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")
app.add_typer(trends_app, name="trends")

LEVELS = ("product", "category", "country", "all")
SERVICE_CODES_HELP = ("Service codes left out (postage, fees): one code a line, CODE or +CODE "
                      "adds one, -CODE keeps it as a product (docs/planning.md).")
ServiceLevelOpt = Annotated[float, typer.Option(
    "--service-level", help="Target: cycle service level (chance of no stock-out in a "
    "replenishment cycle) or, with --fill-rate, the share of demand served from stock.")]
LeadTimeOpt = Annotated[float, typer.Option("--lead-time", help="Lead time in weeks.")]
LeadSdOpt = Annotated[float, typer.Option(
    "--lead-time-sd", help="Standard deviation of the lead time in weeks (0: fixed).")]
FillOpt = Annotated[bool, typer.Option(
    "--fill-rate", help="Read --service-level as a fill-rate target.")]
HoldingOpt = Annotated[float, typer.Option(
    "--holding-cost-rate", help="Holding cost a year as a share of the unit price.")]
OrderCostOpt = Annotated[float, typer.Option("--order-cost", help="Cost of placing one order.")]
SourceOpt = Annotated[str, typer.Option(
    "--source", parser=choice(("auto", "history"), "--source"),
    help="auto: stored forecasts, else the forecast models fitted now, else blocks of "
    "history | history: stored forecasts, else blocks of history (fast).")]
ItemOpt = Annotated[list[str] | None, typer.Option(
    "--item", help="Plan only this product (repeatable).")]


@inventory_app.command("plan")
def plan(
    service_level: ServiceLevelOpt = 0.95,
    lead_time: LeadTimeOpt = 2.0,
    lead_time_sd: LeadSdOpt = 0.0,
    fill_rate: FillOpt = False,
    holding_cost_rate: HoldingOpt = 0.25,
    order_cost: OrderCostOpt = 50.0,
    stock: Annotated[Path | None, typer.Option(
        "--stock", help="CSV/Parquet/JSONL with product_id,on_hand: adds order_now.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Also write the plan to this CSV (or .parquet) file.")] = None,
    item: ItemOpt = None,
    source: SourceOpt = "auto",
    perishable: Annotated[bool, typer.Option(
        "--perishable", help="Order the newsvendor quantity for one selling period (the "
        "lead time) instead of the EOQ.")] = False,
    cost_rate: Annotated[float, typer.Option(
        "--cost-rate", help="--perishable: unit cost as a share of the price.")] = 0.6,
    salvage_rate: Annotated[float, typer.Option(
        "--salvage-rate", help="--perishable: value of an unsold unit as a share of its "
        "cost.")] = 0.0,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows shown.")] = 15,
    service_codes: Annotated[Path | None, typer.Option(
        "--service-codes", help=SERVICE_CODES_HELP)] = None,
    warehouse: WarehouseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Write table inventory_plan: safety stock, reorder point and EOQ per product."""
    # lazy: the planning services load scipy and the model code; the CLI starts without it
    from insightloop.services.planning import inventory_plan, read_plan

    ctx = context_for(warehouse)
    out = inventory_plan(ctx, service_level=service_level,
                         service_type="fill" if fill_rate else "cycle",
                         lead_time_weeks=lead_time, lead_time_sd=lead_time_sd,
                         holding_cost_rate=holding_cost_rate, order_cost=order_cost,
                         items=item or None, stock=str(stock) if stock else None,
                         output=str(output) if output else None, source=source,
                         perishable=(cost_rate, salvage_rate) if perishable else None,
                         service_codes=str(service_codes) if service_codes else None)
    if json_:
        print_json(out)
        return
    _show_plan(read_plan(ctx, top=top))
    console.print(f"{out['products']:,} products ({out['from_forecast']:,} from stored "
                  f"forecasts, {out['from_model']:,} from the forecast models, "
                  f"{out['from_history']:,} from blocks of their last year); safety stock worth "
                  f"{out['safety_stock_value']:,.2f} → table `inventory_plan`; "
                  f"{out['service_codes_excluded']:,} service codes (postage, fees) left out")
    if out["stock_matched"] is not None:
        console.print(f"stock given for {out['stock_matched']:,} products; "
                      f"{out['order_now']:,} at or below their reorder point: order now")


@inventory_app.command("show")
def show_plan(
    item: Annotated[str | None, typer.Option("--item", help="One product.")] = None,
    order_now: Annotated[bool, typer.Option("--order-now", help="Only those to order.")
                         ] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows shown.")] = 15,
    warehouse: WarehouseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show table inventory_plan, largest safety-stock value first."""
    # lazy: the planning services load scipy and the model code
    from insightloop.services.planning import read_plan

    rows = read_plan(context_for(warehouse), top=top, product=item, order_now=order_now)
    if json_:
        print_json({"rows": rows})
        return
    _show_plan(rows)


def _show_plan(rows: list[Any]) -> None:
    grid = Table(title="Inventory plan (units; value at unit price)")
    for col in ("product", "method", "demand/wk", "lead-time demand", "safety stock",
                "reorder point", "order qty", "ROP normal", "SS value", "order now"):
        grid.add_column(col, justify="left" if col in ("product", "method") else "right")
    for r in rows:
        grid.add_row(r["product_id"], r["method"], f"{r['demand_per_week']:.1f}",
                     f"{r['lead_time_demand']:.1f}", f"{r['safety_stock']:.1f}",
                     f"{r['reorder_point']:.0f}", _num(r["order_quantity"], "{:.0f}"),
                     _num(r["reorder_point_normal"], "{:.0f}"),
                     _num(r["safety_stock_value"], "{:,.2f}"),
                     "" if r["order_now"] is None else ("yes" if r["order_now"] else "no"))
    console.print(grid)


def _num(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else fmt.format(value)


def _floats(values: str, name: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in values.split(",") if v.strip())
    except ValueError:
        raise typer.BadParameter(f"{values!r}: give numbers separated by commas",
                                 param_hint=f"'{name}'") from None


@inventory_app.command("whatif")
def whatif(
    service_levels: Annotated[str, typer.Option(
        "--service-levels", help="Comma-separated targets.")] = "0.9,0.95,0.98,0.99",
    lead_times: Annotated[str, typer.Option(
        "--lead-times", help="Comma-separated lead times in weeks.")] = "1,2,4",
    lead_time_sd: LeadSdOpt = 0.0,
    fill_rate: FillOpt = False,
    holding_cost_rate: HoldingOpt = 0.25,
    order_cost: OrderCostOpt = 50.0,
    item: ItemOpt = None,
    source: SourceOpt = "history",
    warehouse: WarehouseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Safety stock (units, value, holding cost a year) over service levels x lead times."""
    # lazy: the planning services load scipy and the model code
    from insightloop.services.planning import inventory_whatif

    rows = inventory_whatif(
        context_for(warehouse), _floats(service_levels, "--service-levels"),
        _floats(lead_times, "--lead-times"), lead_time_sd,
        "fill" if fill_rate else "cycle", holding_cost_rate, order_cost, item or None,
        source=source)
    if json_:
        print_json({"rows": rows})
        return
    grid = Table(title="What if: safety stock over service levels and lead times")
    for col in ("lead time (wk)", "service level", "products", "safety stock (units)",
                "value", "holding cost / yr", "normal formula (units)"):
        grid.add_column(col, justify="right")
    for r in rows:
        grid.add_row(f"{r['lead_time_weeks']:g}", f"{r['service_level']:.1%}",
                     f"{r['products']:,}", f"{r['safety_stock_units']:,.0f}",
                     f"{r['safety_stock_value']:,.2f}", f"{r['holding_cost_per_year']:,.2f}",
                     f"{r['safety_stock_units_normal']:,.0f}")
    console.print(grid)


@trends_app.command("build")
def build(
    window: Annotated[int, typer.Option("--window", min=4, help="Weeks compared (year over "
                                        "year) or regressed on time.")] = 13,
    method: Annotated[str, typer.Option(
        "--method", parser=choice(("auto", "yoy", "trend"), "--method"),
        help="auto (year over year when the history allows) | yoy | trend.")] = "auto",
    measure: Annotated[str, typer.Option(
        "--measure", parser=choice(("units", "revenue"), "--measure"))] = "units",
    alpha: Annotated[float, typer.Option("--alpha", help="False discovery rate.")] = 0.05,
    service_codes: Annotated[Path | None, typer.Option(
        "--service-codes", help=SERVICE_CODES_HELP)] = None,
    warehouse: WarehouseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Write tables trends, seasonality, anomalies, ramps and ramp_curve."""
    # lazy: the planning services load scipy and the model code
    from insightloop.services.planning import build_trends

    out = build_trends(context_for(warehouse), window=window, measure=measure, method=method,
                       alpha=alpha, service_codes=str(service_codes) if service_codes else None)
    if json_:
        print_json(out)
        return
    methods = ", ".join(f"{lv}: {m}" for lv, m in out["levels"].items())
    console.print(f"{out['tested']:,} items tested over {out['window_weeks']} weeks "
                  f"({methods}): {out['rising']:,} rising, {out['declining']:,} declining "
                  f"(q < {alpha}); {out['seasonal_one_year']:,} seasonal, one year only; "
                  f"{out['anomalies']:,} anomalous weeks; "
                  f"{out['new_products']:,} new products → tables {', '.join(out['tables'])}")
    console.print(f"{out['service_codes_excluded']:,} service codes (postage, fees) left out")


@trends_app.command("show")
def show(
    level: Annotated[str, typer.Option("--level", parser=choice(LEVELS, "--level"))
                     ] = "product",
    direction: Annotated[str | None, typer.Option(
        "--direction", parser=choice(("rising", "declining", "flat", "seasonal"),
                                     "--direction"))
                         ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows per direction.")] = 10,
    warehouse: WarehouseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The strongest rising and declining items at a level, and the latest anomalies."""
    # lazy: the planning services load scipy and the model code
    from insightloop.services.planning import read_anomalies, read_trends

    ctx = context_for(warehouse)
    rows = read_trends(ctx, level=level, direction=direction, top=top)
    alerts = read_anomalies(ctx, level=level, top=top)
    if json_:
        print_json({"level": level, "trends": rows, "anomalies": alerts})
        return
    grid = Table(title=f"Trends by {level}")
    for col in ("direction", "item", "name", "method", "recent", "growth [95% CI]", "q"):
        grid.add_column(col, justify="left" if col in ("direction", "item", "name",
                                                       "method") else "right")
    for r in rows:
        grid.add_row(r["direction"], r["item"], r["name"] or "", r["method"],
                     f"{r['recent']:,.0f}", f"{_pct(r['growth'])} [{_pct(r['ci_low'])}, "
                     f"{_pct(r['ci_high'])}]", f"{r['q']:.2g}")
    console.print(grid)
    if any(r["method"] == "trend" for r in rows):
        console.print("[yellow]note[/]: less than a year before the window: growth is a trend "
                      "over the window, not seasonally adjusted; while the typical item "
                      "moves too (a season), items moving its way are 'seasonal' (one year "
                      "only: trend and season cannot be told apart)")
    for a in alerts:
        console.print(f"[yellow]{a['kind']}[/] {a['item']} week of {a['ds'][:10]}: "
                      f"{a['actual']:,.0f} against {a['expected']:,.0f} expected "
                      f"(z = {a['z']:+.1f})")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.0%}"
