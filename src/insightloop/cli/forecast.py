"""Demand forecasting: ``evaluate forecast`` on any file; ``forecast build`` and
``forecast show`` on the warehouse's orders."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

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
from insightloop.errors import ConfigError

forecast_app = typer.Typer(help="Demand forecasts per product, category, country or total.",
                           no_args_is_help=True)
app.add_typer(forecast_app, name="forecast")

MODEL_HELP = ("auto (per series, by rolling-origin validation) | ensemble | seasonal_naive | "
              "naive | window_average | window_median | ets | theta | croston | sba | tsb | "
              "adida | gbm.")


def _ids(value: str) -> list[str]:
    ids = [part.strip() for part in value.split(",") if part.strip()]
    if not ids:
        raise ConfigError("--id needs a column name (or several, comma-separated)")
    return ids


@evaluate_app.command("forecast")
def evaluate_forecast(
    data: Annotated[Path, typer.Option("--data", help="CSV (delimiter sniffed), Parquet, JSONL: "
                                                      "one row per series and time (or per "
                                                      "transaction: rows are summed).")],
    id_cols: Annotated[str, typer.Option("--id", help="Series id column(s), comma-separated.")],
    time: Annotated[str, typer.Option("--time", help="Date or time column.")],
    target: Annotated[str, typer.Option("--target", help="Numeric column to forecast.")],
    horizon: Annotated[int, typer.Option("--horizon", min=1, max=1000,
                                         help="Periods held out at the end of every series.")],
    freq: Annotated[str, typer.Option("--freq", help="D | W | M.")] = "W",
    model: Annotated[str, typer.Option("--model", help=MODEL_HELP)] = "auto",
    season_length: Annotated[int | None, typer.Option(
        "--season-length", min=1, help="Periods in a season (default 7 / 52 / 12).")] = None,
    loss: Annotated[str, typer.Option(
        "--loss", help="mae (default: the choice MASE rewards, medians for sparse items) | "
                       "mse (mean-type forecasts that add up across series).")] = "mae",
    output: Annotated[Path | None, typer.Option(
        "--output", help="Write every forecast (ids, time, mean, lo-80, hi-80, actual) to "
                         "this CSV or .parquet file.")] = None,
    covariates: Annotated[Path | None, typer.Option(
        "--covariates", help="Known inputs per series and period (the --id and --time columns "
                             "plus numeric ones: price, promo, uplift), held-out periods "
                             "included; used by the global model (gbm).")] = None,
    json_out: JsonOpt = False,
    warehouse: UnusedWarehouseOpt = None,
) -> None:
    """Hold out the last --horizon periods of every series; print MASE, WAPE, sMAPE, RMSE and
    the coverage of the 80% intervals."""
    # lazy: the forecasting service loads scipy (and LightGBM for --model gbm)
    from insightloop.services.forecast import evaluate_forecast_file

    with console.status("fitting forecasts", spinner="dots") if not json_out \
            else nullcontext():
        result: Any = evaluate_forecast_file(
            context_for(warehouse), data, _ids(id_cols), time, target, horizon, freq=freq,
            model=model, season_length=season_length, output=output, loss=loss,
            covariates=covariates)
    if json_out:
        print_json(result)
        return
    console.print(f"[bold]{result['series']:,}[/] series, last {horizon} periods held out "
                  f"({result['series_skipped']:,} too short, left out)")
    console.print(f"MASE {result['mase']:.4f} (seasonal naive {result['seasonal_naive_mase']:.4f})"
                  f"  WAPE {result['wape']:.4f}  sMAPE {result['smape']:.2f}  RMSE "
                  f"{result['rmse']:.4g}  80% coverage {result['coverage_80']:.3f}")
    console.print(f"model: {result['model']}; fit {result['fit_seconds']:.1f} s")
    if output:
        console.print(f"forecasts written to {output}")


@forecast_app.command("build")
def forecast_build(
    level: Annotated[str, typer.Option("--level", help="product | category | country | total."
                                       )] = "product",
    freq: Annotated[str, typer.Option("--freq", help="D | W | M.")] = "W",
    horizon: Annotated[int, typer.Option("--horizon", min=1, max=366,
                                         help="Periods ahead.")] = 8,
    model: Annotated[str, typer.Option("--model", help=MODEL_HELP)] = "auto",
    measure: Annotated[str, typer.Option("--measure", help="quantity | revenue.")] = "quantity",
    reconcile: Annotated[str, typer.Option(
        "--reconcile", help="none | bottom_up | mint: also forecast the total and make the "
                            "levels add up.")] = "none",
    covariates: Annotated[Path | None, typer.Option(
        "--covariates", help="Known inputs per series and period: columns product_id (or the "
                             "level's name), ds and numeric ones (price = planned price, "
                             "promo, uplift), forecast periods included.")] = None,
    price: Annotated[bool, typer.Option(
        "--price", help="Products: each week's average order-line price as a known input; "
                        "the forecast weeks take the planned price of --covariates, else "
                        "the last price.")] = False,
    warehouse: WarehouseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Forecast demand from table orders and write table forecasts."""
    # lazy: the forecasting service loads scipy (and LightGBM for --model gbm)
    from insightloop.services.forecast import build_forecasts

    with console.status("forecasting", spinner="dots") if not json_out else nullcontext():
        result: Any = build_forecasts(context_for(warehouse), level=level, freq=freq,
                                      horizon=horizon, model=model, measure=measure,
                                      reconcile=reconcile, covariates=covariates, price=price)
    if json_out:
        print_json(result)
        return
    verb = "wrote" if result["stored"] else "computed (read-only warehouse, not stored)"
    console.print(f"{verb} {result['rows']:,} forecast rows: {result['series']:,} {level} series,"
                  f" {horizon} periods ({freq}, {measure}) in {result['fit_seconds']:.1f} s")
    console.print("models: " + ", ".join(f"{k} {v}" for k, v in result["models"].items()))
    for note in result["notes"]:
        console.print(f"note: {note}")


@forecast_app.command("show")
def forecast_show(
    level: Annotated[str | None, typer.Option("--level", help="Only this level.")] = None,
    series: Annotated[str | None, typer.Option("--id", help="Only this series.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 20,
    warehouse: WarehouseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """What table forecasts holds, and its rows."""
    from insightloop.services.forecast import show_forecasts  # lazy: scipy via the service

    result: Any = show_forecasts(context_for(warehouse), level=level, unique_id=series,
                                 limit=limit)
    if json_out:
        print_json(result)
        return
    for lv in result["levels"]:
        console.print(f"{lv['level']} ({lv['freq']}, {lv['measure']}): {lv['series']:,} series, "
                      f"{lv['first'][:10]} to {lv['last'][:10]}, built {lv['built_at']}")
    for row in result["rows"]:
        console.print(f"{row['unique_id']:>14}  {str(row['ds'])[:10]}  {row['mean']:10.1f}  "
                      f"[{row['lo-80']:.1f}, {row['hi-80']:.1f}]  {row['model']}")
