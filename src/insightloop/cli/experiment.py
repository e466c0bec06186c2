"""``insightloop experiment analyze | power``: A/B tests and campaign holdouts.

Bad input (an unknown or empty arm, a metric that is not numeric or all 0, a column with
more arms than asked for) is a ConfigError/InputFileError naming the column and value:
one ``Error:`` line and exit 2 (``cli/main.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from insightloop.cli.app import app
from insightloop.cli.common import (
    JsonOpt,
    WarehouseOpt,
    console,
    context_for,
    print_json,
)
from insightloop.errors import ConfigError

experiment_app = typer.Typer(help="Experiments: effects with intervals, SRM, CUPED, "
                                  "sequential monitoring, power.", no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")


def _pairs(values: list[str] | None, sep: str, option: str) -> list[tuple[str, str]]:
    out = []
    for v in values or []:
        a, found, b = v.rpartition(sep)
        if not found or not a or not b:
            raise ConfigError(f"{option} {v!r}: write it as A{sep}B")
        out.append((a, b))
    return out


def _weights(values: list[str] | None) -> dict[str, float]:
    out = {}
    for arm, w in _pairs(values, "=", "--weight"):
        try:
            out[arm] = float(w)
        except ValueError:
            raise ConfigError(f"--weight {arm}={w}: the share is not a number") from None
    return out


@experiment_app.command("analyze")
def analyze(
    data: Annotated[Path | None, typer.Option("--data", help="CSV/TSV, JSONL or Parquet file, "
                                              "one row per unit.")] = None,
    campaign: Annotated[str | None, typer.Option(
        "--campaign", help="Analyse this campaign's sends from the warehouse instead.")] = None,
    variant: Annotated[str | None, typer.Option("--variant", help="Column of the arm.")] = None,
    control: Annotated[str | None, typer.Option(
        "--control", help="Value of the control (holdout) arm; campaigns: 'control'.")] = None,
    metric: Annotated[list[str] | None, typer.Option(
        "--metric", help="Outcome column, higher is better (repeatable; 0/1 = a rate).")] = None,
    treatment: Annotated[list[str] | None, typer.Option(
        "--treatment", help="Arm compared with the control (repeatable; default: all).")] = None,
    drop_others: Annotated[bool, typer.Option(
        "--drop-others", help="With --treatment: leave out rows of other arms.")] = False,
    covariate: Annotated[list[str] | None, typer.Option(
        "--covariate", help="Pre-period column for CUPED (repeatable; campaigns: a "
        "customer_360 column such as clv or churn_score).")] = None,
    ratio: Annotated[list[str] | None, typer.Option(
        "--ratio", help="Ratio metric NUM/DEN, e.g. spend/visit (delta method).")] = None,
    guardrail: Annotated[list[str] | None, typer.Option(
        "--guardrail", help="Column where lower is better (unsubscribes, complaints): "
        "flagged when significantly worse.")] = None,
    time: Annotated[str | None, typer.Option(
        "--time", help="Exposure time column: the daily monitoring curve.")] = None,
    sequential: Annotated[bool, typer.Option(
        "--sequential", help="Add always-valid confidence sequences (safe to peek).")] = False,
    alpha: Annotated[float, typer.Option("--alpha", help="Test level.")] = 0.05,
    correction: Annotated[str, typer.Option(
        "--correction", help="holm | bh | none, across arms x metrics.")] = "holm",
    weight: Annotated[list[str] | None, typer.Option(
        "--weight", help="Planned share ARM=W for the SRM check (default: equal).")] = None,
    conversion: Annotated[str | None, typer.Option(
        "--conversion", help="0/1 column of redeemed offers, for the campaign value.")] = None,
    revenue: Annotated[str | None, typer.Option(
        "--revenue", help="Revenue column, for the campaign value.")] = None,
    cost_per_send: Annotated[float, typer.Option("--cost-per-send", min=0)] = 0.0,
    cost_per_redemption: Annotated[float, typer.Option("--cost-per-redemption", min=0)] = 0.0,
    save: Annotated[str | None, typer.Option(
        "--save", help="With --data: store the results in the warehouse under this id.")
    ] = None,
    warehouse: WarehouseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Effects per arm and metric with CIs, p-values (corrected), chance to win, SRM."""
    # lazy: the analysis loads scipy and pandas; the CLI starts without them
    from insightloop.services.experiments import analyze_campaign, analyze_file

    def run() -> Any:
        if (data is None) == (campaign is None):
            raise ConfigError("give either --data FILE (with --variant, --control, --metric) "
                              "or --campaign ID")
        ratios = _pairs(ratio, "/", "--ratio")
        weights = _weights(weight)
        if campaign is not None:
            return analyze_campaign(
                context_for(warehouse), campaign, control=control or "control",
                metrics=metric or None, treatments=treatment or (), drop_others=drop_others,
                covariates=covariate or (), sequential=True, alpha=alpha,
                correction=correction, weights=weights, cost_per_send=cost_per_send,
                cost_per_redemption=cost_per_redemption,
                guardrails=guardrail if guardrail is not None else ("unsubscribed",))
        if variant is None or control is None or not (metric or ratios):
            raise ConfigError("--data needs --variant COLUMN, --control VALUE and at least one "
                              "--metric COLUMN (or --ratio NUM/DEN)")
        assert data is not None
        return analyze_file(
            context_for(warehouse), data, variant, control, metric or [],
            treatments=treatment or (), drop_others=drop_others, covariates=covariate or (),
            ratios=ratios, guardrails=guardrail or (), time=time, sequential=sequential,
            alpha=alpha, correction=correction, weights=weights, conversion=conversion,
            revenue=revenue, cost_per_send=cost_per_send,
            cost_per_redemption=cost_per_redemption, save=save)

    out = run()
    if json_:
        print_json(out)
        return
    _show(out)


def _fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "n/a"
    return f"{100 * v:+.2f} pp" if pct else f"{v:+.4g}"


def _show(out: dict[str, Any]) -> None:
    grid = Table(title=f"{out['source']}: {out['rows']:,} units, control {out['control']!r}, "
                       f"{out['correction']} correction")
    for col in ("variant", "metric", "control", "variant mean", "effect [CI]", "p adj.",
                "chance to win"):
        grid.add_column(col, justify="left" if col in ("variant", "metric") else "right")
    for r in out["results"]:
        pct = r["kind"] == "proportion"
        effect = (f"{_fmt(r['effect'], pct)} [{_fmt(r['ci_low'], pct)}, "
                  f"{_fmt(r['ci_high'], pct)}]")
        grid.add_row(r["variant"], r["metric"] + (" (guardrail)" if r["guardrail"] else ""),
                     f"{r['control_mean']:.4g}", f"{r['variant_mean']:.4g}", effect,
                     "n/a" if r["p_adjusted"] is None else f"{r['p_adjusted']:.3g}",
                     "n/a" if r["chance_to_win"] is None else f"{r['chance_to_win']:.1%}")
    console.print(grid)
    console.print(f"SRM check: chi2 {out['srm_chi2']:.2f}, p = {out['srm_p_value']:.3g}")
    for w in out["warnings"]:
        console.print(f"[yellow]warning[/]: {w}")
    if out["guardrails_flagged"]:
        console.print(f"[red]guardrails worse[/]: {', '.join(out['guardrails_flagged'])}")
    if out["stored"]:
        console.print(f"→ table `{out['stored']}` (experiment {out['experiment_id']!r})")


@experiment_app.command("power")
def power_cmd(
    metric: Annotated[str, typer.Option("--metric", help="proportion | mean.")] = "proportion",
    effect: Annotated[float, typer.Option(
        "--effect", help="Absolute effect to detect (rate difference or difference in "
        "means).")] = 0.01,
    control_rate: Annotated[float | None, typer.Option(
        "--control-rate", help="proportion: the control's rate.")] = None,
    sd: Annotated[float | None, typer.Option("--sd", help="mean: outcome standard deviation.")
                  ] = None,
    alpha: Annotated[float, typer.Option("--alpha")] = 0.05,
    power: Annotated[float, typer.Option("--power", help="Target power.")] = 0.8,
    ratio: Annotated[float, typer.Option("--ratio", min=0.01, max=100,
                                         help="Variant size / control size.")] = 1.0,
    control_n: Annotated[int | None, typer.Option(
        "--control-n", min=2, help="Given sizes: report their power and MDE.")] = None,
    variant_n: Annotated[int | None, typer.Option("--variant-n", min=2)] = None,
    warehouse: WarehouseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Sample size for a target power, or the power and MDE of given sizes."""
    # lazy: the power maths loads scipy
    from insightloop.services.experiments import plan_power

    out = plan_power(context_for(warehouse), metric=metric, control_rate=control_rate, sd=sd,
                     effect=effect, alpha=alpha, power_target=power, ratio=ratio,
                     control_n=control_n, variant_n=variant_n)
    if json_:
        print_json(out)
        return
    console.print(f"{out['control_n']:,} control + {out['variant_n']:,} variant units: power "
                  f"{out['power']:.1%} for an effect of {out['effect']:+g}; minimum detectable "
                  f"effect at {power:.0%} power: {out['minimum_detectable_effect']:.4g}")


bandit_app = typer.Typer(help="Thompson-sampling bandits (state in the operational store; "
                              "assign and reward through the API).", no_args_is_help=True)
experiment_app.add_typer(bandit_app, name="bandit")


@bandit_app.command("create")
def bandit_create(
    bandit_id: Annotated[str, typer.Argument(help="Bandit (experiment) id.")],
    arm: Annotated[list[str], typer.Option("--arm", help="Arm name (repeatable, 2 to 20).")],
    holdout: Annotated[float, typer.Option("--holdout", help="Share held out at random.")
                       ] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random stream.")] = 0,
    warehouse: WarehouseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create a bandit (the same definition again leaves it as it is)."""
    # lazy: the bandit service loads numpy and the operational store (SQLAlchemy)
    from insightloop.services.experiments.bandit import create_bandit

    _show_bandit(create_bandit(context_for(warehouse), bandit_id, arm, holdout, seed), json_)


@bandit_app.command("show")
def bandit_show(
    bandit_id: Annotated[str, typer.Argument(help="Bandit (experiment) id.")],
    warehouse: WarehouseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Pulls, rewards and each arm's chance of being best."""
    # lazy: the bandit service loads numpy and the operational store (SQLAlchemy)
    from insightloop.services.experiments.bandit import bandit_state

    _show_bandit(bandit_state(context_for(warehouse), bandit_id), json_)


def _show_bandit(info: Any, json_: bool) -> None:
    if json_:
        print_json(info)
        return
    grid = Table(title=f"bandit {info['id']}: {info['draws']:,} assignments, holdout "
                       f"{info['holdout']:.0%}, seed {info['seed']}")
    for col in ("arm", "pulls", "successes", "failures", "rate", "chance best"):
        grid.add_column(col, justify="left" if col == "arm" else "right")
    for a in info["arms"]:
        grid.add_row(a["arm"], f"{a['pulls']:,}", f"{a['successes']:g}", f"{a['failures']:g}",
                     f"{a['mean']:.3f}", "" if a["chance_best"] is None
                     else f"{a['chance_best']:.1%}")
    console.print(grid)
