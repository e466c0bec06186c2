"""``insightloop evaluate clv`` (backtest on any file) and ``insightloop clv build``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from insightloop.cli.app import app, evaluate_app
from insightloop.cli.common import (
    JsonOpt,
    UnusedWarehouseOpt,
    WarehouseOpt,
    console,
    context_for,
    print_json,
)

clv_app = typer.Typer(help="Customer lifetime value (BG/NBD + Gamma-Gamma).",
                      no_args_is_help=True)
app.add_typer(clv_app, name="clv")


@evaluate_app.command("clv")
def evaluate_clv(
    data: Annotated[Path, typer.Option(
        "--data", help="Transaction file (CSV, whitespace, Parquet).")],
    customer: Annotated[str, typer.Option("--customer", help="Customer id column.")],
    time: Annotated[str, typer.Option("--time", help="Transaction date/time column.")],
    calibration_end: Annotated[str, typer.Option("--calibration-end",
                                                 help="Last day of the calibration period.")],
    amount: Annotated[str | None, typer.Option("--amount", help="Amount column.")] = None,
    holdout_end: Annotated[str | None, typer.Option(
        "--holdout-end", help="Last day of the holdout (default: last date in the file).")] = None,
    model: Annotated[str, typer.Option("--model", help="auto | bgnbd | paretonbd.")] = "auto",
    sep: Annotated[str | None, typer.Option(
        "--sep", help="Delimiter; 'whitespace' for CDNOW-style files (default: sniffed).")] = None,
    date_format: Annotated[str | None, typer.Option(
        "--date-format", help="strptime format of --time, e.g. %Y%m%d.")] = None,
    json_out: JsonOpt = False,
    warehouse: UnusedWarehouseOpt = None,
) -> None:
    """Backtest repeat-purchase forecasts: fit before --calibration-end, score the holdout."""
    # lazy: the CLV models load scipy; the CLI starts without them
    from insightloop.services.clv import evaluate_clv_file

    result = evaluate_clv_file(data, customer, time, amount, calibration_end, holdout_end,
                               model, sep=sep, date_format=date_format)
    if json_out:
        print_json(result)
        return
    console.print(
        f"[bold]{result['model']}[/] on {result['customers']:,} customers, holdout "
        f"{result['calibration_end']}..{result['holdout_end']} "
        f"({result['holdout_weeks']:.1f} weeks)"
    )
    pct = result["predicted_vs_actual_pct"]
    console.print(f"predicted {result['predicted_total']:,.0f} vs actual "
                  f"{result['actual_total']:,.0f}" + (f" ({pct:+.1f}%)" if pct is not None else ""))
    console.print(f"MAE {result['mae']:.3f}  RMSE {result['rmse']:.3f}  corr {result['corr']:.3f}"
                  f"  naive MAE {result['naive_mae']:.3f}")


@clv_app.command("build")
def build(
    warehouse: WarehouseOpt = None,
    horizon_months: Annotated[int, typer.Option("--horizon-months", min=1, max=120,
                                                help="CLV horizon in months.")] = 12,
    discount_rate: Annotated[float, typer.Option("--discount-rate",
                                                 help="Monthly discount rate.")] = 0.01,
    as_of: Annotated[str | None, typer.Option("--as-of",
                                              help="End of the calibration period.")] = None,
    model: Annotated[str, typer.Option("--model", help="bgnbd | paretonbd | auto.")] = "bgnbd",
    json_out: JsonOpt = False,
) -> None:
    """Fit the purchase and spend models on orders and write the ``clv`` table."""
    # lazy: the CLV models load scipy; the CLI starts without them
    from insightloop.services.clv import build_clv

    result = build_clv(context_for(warehouse), as_of=as_of, horizon_months=horizon_months,
                       discount_rate=discount_rate, model=model)
    if json_out:
        print_json(result)
        return
    console.print(f"wrote table clv: {result['customers']:,} customers "
                  f"({result['repeat_buyers']:,} repeat buyers), model {result['model']}, "
                  f"total {horizon_months}-month CLV {result['total_clv']:,.0f}")
