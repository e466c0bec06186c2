"""Experiment analysis: a file or a campaign's sends in, effects with intervals out (and
back into the warehouse); power planning; Thompson-sampling bandits (:mod:`.bandit`).

Every statistic is computed from sufficient statistics aggregated inside DuckDB
(:mod:`.data`); the maths is in :mod:`insightloop.models.experiments`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from insightloop.errors import ConfigError
from insightloop.models.experiments import checks, power
from insightloop.models.experiments.sequential import TUNING
from insightloop.services.context import Context
from insightloop.services.experiments.analysis import SRM_THRESHOLD, Plan, analyse
from insightloop.services.experiments.data import ArmStats, Layout, arm_stats
from insightloop.services.experiments.sources import (
    SELECT_ALL,
    campaign_source,
    file_source,
)
from insightloop.services.experiments.store import TABLES, ensure_tables, write_results
from insightloop.services.experiments.types import (
    ExperimentAnalysis,
    PowerPlan,
)

__all__ = ["TABLES", "ExperimentAnalysis", "PowerPlan", "analyze_campaign",
           "analyze_campaigns", "analyze_file", "plan_power"]
CAMPAIGN_METRICS = ("converted", "revenue", "clicked", "opened")


def _options(alpha: float, correction: str, weights: Mapping[str, float] | None) -> None:
    if not 0 < alpha < 0.5:
        raise ConfigError(f"--alpha must be between 0 and 0.5, got {alpha}")
    if correction not in checks.CORRECTIONS:
        raise ConfigError(f"--correction must be one of {', '.join(checks.CORRECTIONS)}, got "
                          f"{correction!r}")
    for arm, w in (weights or {}).items():
        if not w > 0:
            raise ConfigError(f"--weight {arm}={w}: a planned share must be positive")


def _finish(experiment_id: str, source: str, variant: str, stats: ArmStats, plan: Plan,
            rows: int) -> ExperimentAnalysis:
    results, value, curve, (chi2, srm_p) = analyse(stats, plan)
    arms = [plan.control, *plan.variants]
    at = {a: i for i, a in enumerate(stats.arms)}
    w = [plan.weights.get(a, 1.0) for a in arms]
    total = sum(float(stats.n[at[a]]) for a in arms)
    warnings = []
    if srm_p < SRM_THRESHOLD:
        warnings.append(f"sample ratio mismatch (p = {srm_p:.2g} < {SRM_THRESHOLD}): the arms' "
                        "sizes do not match the planned split; check assignment and logging "
                        "before trusting any effect")
    flagged = sorted({f"{r['variant']}:{r['metric']}" for r in results if r["flagged"]})
    return {
        "experiment_id": experiment_id, "source": source, "variant_column": variant,
        "control": plan.control, "rows": rows,
        "arms": [{"arm": a, "n": int(stats.n[at[a]]), "share": float(stats.n[at[a]]) / total,
                  "expected_share": w[i] / sum(w)} for i, a in enumerate(arms)],
        "metrics": [*plan.metrics, *(f"{a}/{b}" for a, b in plan.ratios)],
        "covariates": list(plan.covariates), "alpha": plan.alpha,
        "correction": plan.correction, "sequential": plan.sequential, "results": results,
        "srm_chi2": chi2, "srm_p_value": srm_p, "srm_warning": srm_p < SRM_THRESHOLD,
        "guardrails_flagged": flagged, "value": value, "curve": curve, "stored": None,
        "warnings": warnings}


def analyze_file(ctx: Context, path: Path | str, variant: str, control: str,
                 metrics: Sequence[str], *, treatments: Sequence[str] = (),
                 drop_others: bool = False, covariates: Sequence[str] = (),
                 ratios: Sequence[tuple[str, str]] = (), guardrails: Sequence[str] = (),
                 time: str | None = None, sequential: bool = False, alpha: float = 0.05,
                 correction: str = "holm", tuning: float = TUNING,
                 weights: Mapping[str, float] | None = None, conversion: str | None = None,
                 revenue: str | None = None, cost_per_send: float = 0.0,
                 cost_per_redemption: float = 0.0, save: str | None = None
                 ) -> ExperimentAnalysis:
    """Analyse the experiment in a file: one row per unit, its arm in ``variant``.

    ``metrics`` (higher is better) and ``guardrails`` (lower is better: unsubscribes,
    complaints) are numeric or 0/1 columns; ``covariates`` (pre-period) switch on CUPED;
    ``ratios`` are ``(numerator, denominator)`` column pairs; ``time`` gives the daily
    monitoring curve. ``save`` names the experiment in the warehouse's tables.
    """
    _options(alpha, correction, weights)
    names = list(dict.fromkeys([*metrics, *guardrails, *(c for c in (conversion, revenue) if c)]))
    if not names and not ratios:
        raise ConfigError("give at least one --metric (or --ratio)")
    con, chosen, rows = file_source(path, variant, control, names, covariates, ratios,
                                    treatments, drop_others, time)
    try:
        stats = arm_stats(con, SELECT_ALL, [], Layout(len(names), len(covariates),
                                                      len(ratios), daily=time is not None))
    finally:
        con.close()
    plan = Plan(control, chosen, names, frozenset(guardrails), list(covariates), list(ratios),
                alpha, correction, sequential, tuning, dict(weights or {}),
                conversion=conversion, revenue=revenue, cost_per_send=cost_per_send,
                cost_per_redemption=cost_per_redemption)
    out = _finish(save or Path(path).name, str(path), variant, stats, plan, rows)
    if save:
        out["stored"] = write_results(ctx, out)
    return out


def analyze_campaign(ctx: Context, campaign: str, *, control: str = "control",
                     metrics: Sequence[str] | None = None,
                     guardrails: Sequence[str] = ("unsubscribed",),
                     treatments: Sequence[str] = (), drop_others: bool = False,
                     covariates: Sequence[str] = (), sequential: bool = True,
                     alpha: float = 0.05, correction: str = "holm",
                     tuning: float = TUNING,
                     weights: Mapping[str, float] | None = None, window_days: int = 7,
                     cost_per_send: float = 0.0, cost_per_redemption: float = 0.0,
                     store: bool = True) -> ExperimentAnalysis:
    """Analyse one campaign from table ``sends`` against its holdout arm ``control``; CUPAC
    covariates are columns of ``customer_360``; results replace the campaign's rows in the
    experiment tables (unless ``store`` is False or the warehouse is read-only). Without
    ``metrics``: those of converted, revenue, clicked, opened that are not all 0."""
    _options(alpha, correction, weights)
    with ctx.read() as con:
        if metrics is None:
            metrics = _recorded(con, campaign)
        names = list(dict.fromkeys([*metrics, *guardrails]))
        sql, params, chosen, rows = campaign_source(con, campaign, control, names, covariates,
                                                    treatments, drop_others, window_days)
        stats = arm_stats(con, sql, params, Layout(len(names), len(covariates), 0, daily=True))
    for i, m in enumerate(names):
        if not stats.nonzero[i] and m not in guardrails:
            raise ConfigError(f"campaign {campaign!r}, column {m!r} of table sends: every value "
                              "is 0 or empty in every arm; leave it out with --metric")
    conv = "converted" if "converted" in names else None
    rev = "revenue" if "revenue" in names else None
    plan = Plan(control, chosen, names, frozenset(guardrails), list(covariates), [], alpha,
                correction, sequential, tuning, dict(weights or {}), conversion=conv,
                revenue=rev, cost_per_send=cost_per_send,
                cost_per_redemption=cost_per_redemption)
    out = _finish(campaign, "sends", "variant", stats, plan, rows)
    if store:
        out["stored"] = write_results(ctx, out)
    return out


def analyze_campaigns(ctx: Context) -> dict[str, Any]:
    """Analyse every campaign in ``sends`` that has a ``control`` arm (the job and the
    demo stage); the experiment tables exist afterwards even when there is none."""
    ensure_tables(ctx)
    with ctx.read() as con:
        found = [] if not _has_sends(con) else [str(r[0]) for r in con.execute(
            "SELECT campaign_id FROM sends GROUP BY campaign_id HAVING "
            "count(DISTINCT variant) > 1 AND bool_or(variant = 'control') ORDER BY 1"
        ).fetchall()]
    done, skipped = [], {}
    for campaign in found:
        try:
            analyze_campaign(ctx, campaign)
            done.append(campaign)
        except ConfigError as exc:  # an unusable campaign is reported, the others analysed
            skipped[campaign] = str(exc)
    return {"campaigns": len(done), "analysed": done, "skipped": skipped,
            "tables": list(TABLES)}


def _recorded(con: Any, campaign: str) -> list[str]:
    """The default metrics the campaign's sends record (not all 0 or empty)."""
    if not _has_sends(con):
        return list(CAMPAIGN_METRICS)
    row = con.execute("SELECT " + ", ".join(f"coalesce(bool_or(CAST({m} AS DOUBLE) <> 0), "
                                            "false)" for m in CAMPAIGN_METRICS)
                      + " FROM sends WHERE campaign_id = ?", [campaign]).fetchone()
    found = [m for m, ok in zip(CAMPAIGN_METRICS, row or (), strict=False) if ok]
    return found or list(CAMPAIGN_METRICS)


def _has_sends(con: Any) -> bool:
    row = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = "
                      "'sends'").fetchone()
    return bool(row and row[0])


def plan_power(ctx: Context, *, metric: str, control_rate: float | None = None,
               sd: float | None = None, effect: float, alpha: float = 0.05,
               power_target: float = 0.8, ratio: float = 1.0,
               control_n: int | None = None, variant_n: int | None = None) -> PowerPlan:
    """Sample sizes to detect ``effect`` (absolute: a rate difference for ``proportion``,
    a difference in means for ``mean``), or, with sizes given, their power and minimum
    detectable effect. Touches no warehouse (``ctx`` for uniformity)."""
    del ctx
    if metric == "proportion":
        if control_rate is None:
            raise ConfigError("a proportion needs --control-rate (e.g. 0.1 for 10%)")
        p0, p1 = control_rate, control_rate + effect
        if control_n is None:
            control_n, variant_n = power.n_proportions(p0, p1, alpha, power_target, ratio)
        n1 = variant_n if variant_n is not None else round(control_n * ratio)
        achieved = power.power_proportions(p0, p1, control_n, n1, alpha)
        mde = power.mde_proportions(p0, control_n, n1, alpha, power_target)
    elif metric == "mean":
        if sd is None:
            raise ConfigError("a mean needs --sd, the outcome's standard deviation")
        if control_n is None:
            control_n, variant_n = power.n_means(sd, effect, alpha, power_target, ratio)
        n1 = variant_n if variant_n is not None else round(control_n * ratio)
        achieved = power.power_means(sd, effect, control_n, n1, alpha)
        mde = power.mde_means(sd, control_n, n1, alpha, power_target)
    else:
        raise ConfigError(f"--metric must be proportion or mean, got {metric!r}")
    return {"metric": metric, "alpha": alpha, "power": achieved,  # type: ignore[typeddict-item]
            "control_n": int(control_n), "variant_n": int(n1),
            "total_n": int(control_n + n1), "effect": effect,
            "minimum_detectable_effect": mde}

