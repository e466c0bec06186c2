"""Uplift: ``evaluate uplift`` on any file; ``uplift build`` and ``uplift plan`` on the
warehouse's campaign sends."""

from __future__ import annotations

import warnings
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

uplift_app = typer.Typer(help="Uplift models on campaign sends and the targeting plan.",
                         no_args_is_help=True)
app.add_typer(uplift_app, name="uplift")

LEARNER_HELP = ("auto (chosen by Qini AUC in a 3-fold cross-validation of the training rows) | "
                "two_model | class_transformation | x | r | dr | linear.")


@evaluate_app.command("uplift")
def evaluate_uplift(
    data: Annotated[Path, typer.Option("--data", help="CSV (delimiter sniffed), Parquet, JSONL: "
                                                      "one row per customer.")],
    treatment: Annotated[str, typer.Option("--treatment", help="Column holding the arm.")],
    treated: Annotated[list[str], typer.Option(
        "--treated", help="Value of a treated arm (repeatable: one model per arm).")],
    control: Annotated[str, typer.Option("--control", help="Value of the control arm.")],
    outcome: Annotated[str, typer.Option(
        "--outcome", help="Outcome column: 0/1 (conversion) or a number (revenue, CLV).")],
    test_size: Annotated[float, typer.Option("--test-size", min=0.05, max=0.95,
                                             help="Share of rows held out for the metrics.")
                         ] = 0.5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split and the models.")] = 42,
    model: Annotated[str, typer.Option("--model", help=LEARNER_HELP)] = "auto",
    top: Annotated[float, typer.Option("--top", min=0.01, max=0.99,
                                       help="Share of customers targeted, for uplift@k.")
                   ] = 0.3,
    drop: Annotated[list[str] | None, typer.Option(
        "--drop", help="Column that is not a feature (repeatable): other outcomes, ids.")
                    ] = None,
    positive: Annotated[str | None, typer.Option(
        "--positive", help="Outcome value meaning success, for a yes/no text column.")] = None,
    drop_other: Annotated[bool, typer.Option(
        "--drop-other", help="Leave out rows whose arm is neither --treated nor --control.")
                          ] = False,
    bootstrap: Annotated[int, typer.Option(
        "--bootstrap", min=0, max=100_000,
        help="Draws of the 95% bootstrap intervals over the test rows (0: none).")] = 1000,
    json_out: JsonOpt = False,
    warehouse: UnusedWarehouseOpt = None,
) -> None:
    """Fit an uplift learner on part of a file and report uplift@k, Qini and AUUC on the rest."""
    # lazy: the uplift service loads LightGBM and scikit-learn; the CLI starts without them
    from insightloop.services.uplift import evaluate_uplift_file

    with warnings.catch_warnings():
        if json_out:
            warnings.simplefilter("ignore")
        with console.status("fitting uplift models", spinner="dots") if not json_out \
                else nullcontext():
            result: Any = evaluate_uplift_file(
                context_for(warehouse), data, treatment, treated, control, outcome,
                test_size=test_size, seed=seed, model=model, k=top, drop=drop or [],
                positive=positive, drop_other=drop_other, bootstrap=bootstrap)
    if json_out:
        print_json(result)
        return
    key = next(iter(result))
    console.print(f"[bold]{result['model']}[/] on {result['train_rows']:,} training rows, "
                  f"scored on {result['test_rows']:,}")
    for arm in result["arms"]:
        console.print(f"{arm['treated']} vs {control}: {key} {arm['uplift_at_k']:.4f}"
                      f"{_ci(arm['uplift_at_k_ci'])}  Qini AUC {arm['qini_auc']:.4f}"
                      f"{_ci(arm['qini_auc_ci'])}  AUUC {arm['auuc']:.4f}  "
                      f"ATE {arm['ate']:.4f}")
    if bootstrap:
        console.print(f"[dim]95% intervals: {bootstrap:,} bootstrap draws of the test rows[/]")
    bal = result["balance"]
    console.print(f"balance: max |SMD| {bal['max_abs_smd']:.3f}, propensity AUC "
                  f"{bal['propensity_auc']:.3f} (about 0.5 when randomised)")



def _ci(interval: list[float | None] | None) -> str:
    if not interval or interval[0] is None or interval[1] is None:
        return ""
    return f" [{interval[0]:.4f}, {interval[1]:.4f}]"


@uplift_app.command("build")
def uplift_build(
    campaign: Annotated[str | None, typer.Option(
        "--campaign", help="Campaign id whose sends are used (default: every send).")] = None,
    outcome: Annotated[str, typer.Option(
        "--outcome", help="conversion (any order after the send) | revenue | clv (predicted "
                          "lifetime value at the window's end; needs `insightloop clv build`)."
    )] = "conversion",
    window_days: Annotated[int, typer.Option("--window-days", min=1, max=3650,
                                             help="Days after the send that count.")] = 30,
    horizon_months: Annotated[int, typer.Option(
        "--horizon-months", min=1, max=120, help="CLV horizon of --outcome clv.")] = 12,
    model: Annotated[str, typer.Option(
        "--model", help="two_model | class_transformation | x | r | dr | linear.")] = "two_model",
    control: Annotated[str, typer.Option("--control",
                                         help="Variant of the control arm.")] = "control",
    warehouse: WarehouseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fit an uplift model on the sends (features before, outcome after each send), register
    it and score every customer into table uplift_scores."""
    # lazy: the uplift service loads LightGBM and scikit-learn; the CLI starts without them
    from insightloop.services.uplift import build_uplift

    with console.status("fitting the uplift model", spinner="dots") if not json_out \
            else nullcontext():
        result: Any = build_uplift(context_for(warehouse), campaign_id=campaign,
                                   outcome=outcome, window_days=window_days,
                                   horizon_months=horizon_months, model=model,
                                   control=control)
    if json_out:
        print_json(result)
        return
    console.print(f"registered [bold]{result['name']}:v{result['version']}[/] ({result['model']})"
                  f" on {result['sends']:,} sends; scored {result['customers_scored']:,} "
                  "customers into table uplift_scores")
    for arm in result["evaluation"]:
        console.print(f"{arm['treated']}: uplift@30 {arm['uplift_at_k']:.4f}  Qini AUC "
                      f"{arm['qini_auc']:.4f}  ATE {arm['ate']:.4f} (held-out half)")


@uplift_app.command("plan")
def uplift_plan(
    budget: Annotated[float | None, typer.Option("--budget", min=0,
                                                 help="Total contact cost allowed.")] = None,
    value: Annotated[float, typer.Option("--value", min=0.0,
                                         help="Value of one conversion (> 0).")] = 1.0,
    cost: Annotated[float, typer.Option("--cost", min=0,
                                        help="Cost of one contact (every arm).")] = 0.0,
    arm_cost: Annotated[list[str] | None, typer.Option(
        "--arm-cost", help="ARM=COST: the contact cost of one arm (repeatable).")] = None,
    top: Annotated[float, typer.Option("--top", min=0.01, max=0.99,
                                       help="Share in the top-uplift audience.")] = 0.3,
    warehouse: WarehouseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The targeting plan under a budget: tables uplift_plan and uplift_audiences."""
    # lazy: the uplift service loads LightGBM and scikit-learn; the CLI starts without them
    from insightloop.services.uplift import plan_uplift

    costs: dict[str, float] = {}
    for item in arm_cost or []:
        arm, sep, number = item.rpartition("=")
        try:
            costs[arm] = float(number)
        except ValueError:
            sep = ""
        if not sep or not arm or costs.get(arm, 0.0) < 0:
            raise typer.BadParameter(f"{item!r}: write ARM=COST with COST >= 0",
                                     param_hint="--arm-cost")
    result: Any = plan_uplift(context_for(warehouse), budget=budget, value=value, cost=cost,
                              costs=costs or None, top=top)
    if json_out:
        print_json(result)
        return
    console.print(f"selected {result['selected']:,} of {result['customers']:,} customers, "
                  f"cost {result['spent']:,.2f}, expected incremental profit "
                  f"{result['expected_incremental_profit']:,.2f}; not contacted: "
                  + ", ".join(f"{k} {v:,}" for k, v in result["by_reason"].items()
                              if k != "selected"))
    console.print("audiences in table uplift_audiences: "
                  + ", ".join(f"{k} ({v:,})" for k, v in result["audiences"].items()))


@uplift_app.command("audience")
def uplift_audience(
    name: Annotated[str, typer.Argument(help="Audience: uplift_plan, top_30pct_uplift, ...")],
    out: Annotated[Path, typer.Option("--out", help="File to write: .csv or .parquet.")],
    warehouse: WarehouseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Export an audience of table uplift_audiences (customer_id, arm, rank) to a file."""
    # lazy: the uplift service loads LightGBM and scikit-learn; the CLI starts without them
    from insightloop.services.uplift import export_audience

    result: Any = export_audience(context_for(warehouse), name, out)
    if json_out:
        print_json(result)
        return
    console.print(f"wrote {result['customers']:,} customers of audience {name!r} to {out}")
