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
    choice,
    console,
    context_for,
    print_json,
)

clv_app = typer.Typer(help="Customer lifetime value (MBG/NBD, BG/NBD or Pareto/NBD + "
                      "Gamma-Gamma).", no_args_is_help=True)
app.add_typer(clv_app, name="clv")

#: purchase model families (services.clv.MODELS; a test checks they agree)
MODEL_CHOICES = ("auto", "mbgnbd", "bgnbd", "paretonbd")
_MODEL_HELP = ("auto (family and dropout prior chosen on the calibration period) | mbgnbd | "
               "bgnbd | paretonbd.")
_PRIOR_HELP = ("Strength of the prior on the dropout parameters: 'auto' (chosen on the "
               "calibration period) or a number >= 0 (0 = maximum likelihood). Default: auto "
               "with --model auto, else 0.")


def _prior(value: str) -> str:
    """Parse-time check of --dropout-prior: 'auto' or a finite number >= 0 (exit 2 else)."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        out = float(value)
    except ValueError:
        out = -1.0
    if not 0 <= out < float("inf"):
        raise typer.BadParameter(f"{value!r} is not 'auto' or a number >= 0",
                                 param_hint="'--dropout-prior'")
    return value


def _prior_value(value: str | None) -> float | str | None:
    return value if value is None or value == "auto" else float(value)


PriorOpt = Annotated[str | None, typer.Option("--dropout-prior", help=_PRIOR_HELP,
                                              parser=_prior)]


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
    model: Annotated[str, typer.Option("--model", parser=choice(MODEL_CHOICES, "--model"),
                                       help=_MODEL_HELP)] = "auto",
    dropout_prior: PriorOpt = None,
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
                               model, sep=sep, date_format=date_format,
                               dropout_prior=_prior_value(dropout_prior))
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
    aucs = [("1 - P(alive)", result["p_alive_auc"]), ("recency only", result["recency_auc"]),
            ("frequency only", result["frequency_auc"])]
    console.print("AUC for no repeat purchase in the holdout: " + ", ".join(
        f"{label} {value:.3f}" for label, value in aucs if value is not None))
    _print_choice(result["model"], result["dropout_prior"], result["selection"],
                  result["param_summary"], result["warnings"])


def _print_choice(model: str, prior: float, reason: str,
                  summary: dict[str, dict[str, float | None]], warnings: list[str]) -> None:
    console.print(f"model {model}, dropout prior {prior:g}: {reason}")
    console.print("  param        coef          se    lower 95%    upper 95%")
    for name, row in summary.items():
        cells = [f"{row[k]:>12.4g}" if row[k] is not None else f"{'-':>12}"
                 for k in ("coef", "se", "lower_95", "upper_95")]
        console.print(f"  {name:<6}" + " ".join(cells), highlight=False)
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {warning}")


@clv_app.command("build")
def build(
    warehouse: WarehouseOpt = None,
    horizon_months: Annotated[int, typer.Option("--horizon-months", min=1, max=120,
                                                help="CLV horizon in months.")] = 12,
    discount_rate: Annotated[float, typer.Option("--discount-rate",
                                                 help="Monthly discount rate.")] = 0.01,
    as_of: Annotated[str | None, typer.Option("--as-of",
                                              help="End of the calibration period.")] = None,
    model: Annotated[str, typer.Option("--model", parser=choice(MODEL_CHOICES, "--model"),
                                       help=_MODEL_HELP)] = "auto",
    dropout_prior: PriorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fit the purchase and spend models on orders and write the ``clv`` table."""
    # lazy: the CLV models load scipy; the CLI starts without them
    from insightloop.services.clv import build_clv

    result = build_clv(context_for(warehouse), as_of=as_of, horizon_months=horizon_months,
                       discount_rate=discount_rate, model=model,
                       dropout_prior=_prior_value(dropout_prior))
    if json_out:
        print_json(result)
        return
    console.print(f"wrote table clv: {result['customers']:,} customers "
                  f"({result['repeat_buyers']:,} repeat buyers), model {result['model']}, "
                  f"total {horizon_months}-month CLV {result['total_clv']:,.0f}, mean P(alive) "
                  f"{result['p_alive_mean']:.3f}")
    _print_choice(result["model"], result["dropout_prior"], result["selection"],
                  result["purchase_summary"], result["warnings"])
