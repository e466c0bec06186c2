"""From per-arm statistics to effects: frequentist and Bayesian per variant and metric,
CUPED when covariates are given, confidence sequences, SRM, corrections, guardrails, value.

Vectorised over variants and metrics (arrays of shape (variants, metrics)); the loops here
run over result rows (variants x metrics), never over data rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from insightloop.models.experiments import (
    Effect,
    bayes,
    campaign_value,
    checks,
    cuped,
    moments,
    normal_effect,
    proportions,
    ratio_difference,
    ratio_moments,
    relative,
    sequential,
    welch,
)
from insightloop.models.experiments.sequential import TUNING
from insightloop.services.experiments.data import ArmStats
from insightloop.services.experiments.types import CurvePoint, EffectRow, ValueRow

Array = NDArray[np.float64]
SRM_THRESHOLD = 0.001  # GrowthBook's default warning level


@dataclass(frozen=True)
class Plan:
    """What to compare: arms, metrics (``guardrails``: lower is better), covariates,
    ratio metrics ``(numerator, denominator)``, and how."""

    control: str
    variants: list[str]
    metrics: list[str]
    guardrails: frozenset[str] = frozenset()
    covariates: list[str] = field(default_factory=list)
    ratios: list[tuple[str, str]] = field(default_factory=list)
    alpha: float = 0.05
    correction: str = "holm"
    sequential: bool = False
    tuning: float = TUNING
    weights: dict[str, float] = field(default_factory=dict)
    prior_sd: float = bayes.PRIOR_SD
    conversion: str | None = None
    revenue: str | None = None
    cost_per_send: float = 0.0
    cost_per_redemption: float = 0.0


def num(x: Any) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    v = float(x)
    return v if math.isfinite(v) else None


@dataclass
class _Block:
    """Effects of one family of metrics, arrays of shape (variants, metrics)."""

    names: list[str]
    kinds: list[str]
    m0: Array
    m1: Array
    eff: Effect
    rel: Effect
    win: Array
    loss: Array
    reduction: list[float | None]


def _metric_block(s: ArmStats, plan: Plan, c: int, v: NDArray[np.intp]) -> _Block:
    mean, var = s.mean.copy(), s.var.copy()
    reduction: list[float | None] = [None] * len(plan.metrics)
    use_cuped = bool(plan.covariates)
    if use_cuped:
        for i in range(len(plan.metrics)):
            adj = cuped.adjust(s.n, s.mean[:, i], s.mean_x, s.var[:, i], s.cov_yx[:, i, :],
                               s.cov_xx)
            mean[:, i], var[:, i], reduction[i] = adj.mean, adj.var, adj.variance_reduction
    n0, n1 = s.n[c], s.n[v][:, None]
    m0, v0, m1, v1 = mean[c], var[c], mean[v], var[v]
    binary = s.binary & (not use_cuped)
    tw = welch(n0, m0, v0, n1, m1, v1, plan.alpha)
    with np.errstate(invalid="ignore"):  # computed for every metric, used for 0/1 ones
        zp = proportions(n0, m0 * n0, n1, m1 * n1, plan.alpha)
    eff = Effect(*(np.where(binary, getattr(zp, f), getattr(tw, f))
                   for f in ("effect", "se", "ci_low", "ci_high", "p_value", "df")))
    rel = relative(n0, m0, v0, n1, m1, v1, plan.alpha)
    post_m, post_s = bayes.normal_posterior(rel.effect, rel.se, plan.prior_sd)
    win_n, loss_n = bayes.normal_decision(post_m, post_s)
    x0 = np.where(binary, np.round(m0 * n0), 0.0)  # successes (binary metrics only)
    x1 = np.where(binary, np.round(m1 * n1), 0.0)
    win_b, loss_b = bayes.beta_binomial(n0, x0, n1 * np.ones_like(x1), x1)
    scale = np.abs(m0)
    win = np.where(binary, win_b, win_n)
    loss = np.where(binary, loss_b, loss_n * scale)
    shift = np.where(binary, (x1 + 1) / (n1 + 2) - (x0 + 1) / (n0 + 2), post_m * scale)
    lower = np.array([name in plan.guardrails for name in plan.metrics])
    win = np.where(lower, 1 - win, win)
    loss = np.where(lower, loss + shift, loss)
    kinds = ["proportion" if b else "mean" for b in s.binary]
    return _Block(list(plan.metrics), kinds, m0 * np.ones_like(m1), m1, eff, rel, win,
                  loss, reduction)


def _ratio_block(s: ArmStats, plan: Plan, c: int, v: NDArray[np.intp]) -> _Block:
    q = s.ratio
    r, vr = ratio_moments(s.n[:, None], q[..., 0], q[..., 1], q[..., 2], q[..., 3], q[..., 4])
    r0, v0, r1, v1 = r[c], vr[c], r[v], vr[v]
    eff = ratio_difference(r0, v0, r1, v1, plan.alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_e = np.where(r0 != 0, r1 / r0 - 1, np.nan)
        rel_se = np.sqrt(v1 / r0 ** 2 + r1 ** 2 * v0 / r0 ** 4)
    rel = normal_effect(rel_e, rel_se, plan.alpha)
    post_m, post_s = bayes.normal_posterior(rel.effect, rel.se, plan.prior_sd)
    win, loss = bayes.normal_decision(post_m, post_s)
    names = [f"{a}/{b}" for a, b in plan.ratios]
    return _Block(names, ["ratio"] * len(names), r0 * np.ones_like(r1), r1, eff, rel, win,
                  loss * np.abs(r0), [None] * len(names))


def analyse(s: ArmStats, plan: Plan) -> tuple[list[EffectRow], list[ValueRow],
                                              list[CurvePoint], tuple[float, float]]:
    """Effect rows (variants x metrics, then ratio metrics), campaign value rows, the
    monitoring curve (when the statistics are daily) and the SRM ``(chi2, p)``."""
    at = {a: i for i, a in enumerate(s.arms)}
    c = at[plan.control]
    v = np.array([at[x] for x in plan.variants], dtype=np.intp)
    blocks = [_metric_block(s, plan, c, v)] if plan.metrics else []
    if plan.ratios:
        blocks.append(_ratio_block(s, plan, c, v))
    n_tot = s.n[c] + s.n[v][:, None]
    rows: list[EffectRow] = []
    for b in blocks:
        hw = sequential.halfwidth(b.eff.se ** 2, n_tot, plan.alpha, plan.tuning)
        sp = sequential.p_value(b.eff.effect, b.eff.se ** 2, n_tot, plan.alpha, plan.tuning)
        for vi, name in enumerate(plan.variants):
            for mi, metric in enumerate(b.names):
                e = b.eff
                guard = metric in plan.guardrails
                rows.append({
                    "variant": name, "metric": metric, "kind": b.kinds[mi],  # type: ignore[typeddict-item]
                    "guardrail": guard, "control_n": int(s.n[c]), "variant_n": int(s.n[v[vi]]),
                    "control_mean": num(b.m0[vi, mi]), "variant_mean": num(b.m1[vi, mi]),
                    "effect": num(e.effect[vi, mi]), "ci_low": num(e.ci_low[vi, mi]),
                    "ci_high": num(e.ci_high[vi, mi]), "p_value": num(e.p_value[vi, mi]),
                    "p_adjusted": None, "significant": False,
                    "relative_effect": num(b.rel.effect[vi, mi]),
                    "relative_ci_low": num(b.rel.ci_low[vi, mi]),
                    "relative_ci_high": num(b.rel.ci_high[vi, mi]),
                    "chance_to_win": num(b.win[vi, mi]), "expected_loss": num(b.loss[vi, mi]),
                    "cuped": b.reduction[mi] is not None,
                    "variance_reduction": b.reduction[mi],
                    "sequential_ci_low": num(e.effect[vi, mi] - hw[vi, mi])
                    if plan.sequential else None,
                    "sequential_ci_high": num(e.effect[vi, mi] + hw[vi, mi])
                    if plan.sequential else None,
                    "sequential_p_value": num(sp[vi, mi]) if plan.sequential else None,
                    "flagged": bool(guard and e.ci_low[vi, mi] > 0),
                })
    _correct(rows, plan)
    counts = [s.n[c], *s.n[v]]
    weights = [plan.weights.get(a, 1.0) for a in [plan.control, *plan.variants]]
    srm = checks.srm(counts, weights)
    return rows, _value(rows, plan), _curve(s, plan, c, v), srm


def _correct(rows: list[EffectRow], plan: Plan) -> None:
    goals = [r for r in rows if not r["guardrail"]]
    p = np.array([np.nan if r["p_value"] is None else r["p_value"] for r in goals])
    adjusted = checks.CORRECTIONS[plan.correction](p)
    for r, q in zip(goals, adjusted, strict=True):
        r["p_adjusted"] = num(q)
        r["significant"] = bool(r["p_adjusted"] is not None and r["p_adjusted"] < plan.alpha)
    for r in rows:
        if r["guardrail"]:
            r["p_adjusted"] = r["p_value"]
            r["significant"] = bool(r["p_value"] is not None and r["p_value"] < plan.alpha)


def _value(rows: list[EffectRow], plan: Plan) -> list[ValueRow]:
    if not plan.conversion or not plan.revenue:
        return []
    by = {(r["variant"], r["metric"]): r for r in rows}
    out: list[ValueRow] = []
    for name in plan.variants:
        conv, rev = by[(name, plan.conversion)], by[(name, plan.revenue)]
        n1 = conv["variant_n"]
        val = campaign_value(
            n1, (conv["variant_mean"] or 0.0) * n1,
            tuple(np.nan if x is None else x for x in (conv["effect"], conv["ci_low"],
                                                      conv["ci_high"])),  # type: ignore[arg-type]
            tuple(np.nan if x is None else x for x in (rev["effect"], rev["ci_low"],
                                                      rev["ci_high"])),  # type: ignore[arg-type]
            plan.cost_per_send, plan.cost_per_redemption)
        out.append({
            "variant": name, "sends": val["sends"],
            "incremental_conversions": num(val["incremental_conversions"]),
            "incremental_conversions_ci": [num(x) for x in val["incremental_conversions_ci"]],
            "incremental_revenue": num(val["incremental_revenue"]),
            "incremental_revenue_ci": [num(x) for x in val["incremental_revenue_ci"]],
            "cost": float(val["cost"]),
            "roi": None if val["roi"] is None else num(val["roi"]),
            "roi_ci": None if val["roi_ci"] is None else [num(x) for x in val["roi_ci"]]})
    return out


def _curve(s: ArmStats, plan: Plan, c: int, v: NDArray[np.intp]) -> list[CurvePoint]:
    """Cumulative effect per day with its fixed-horizon interval and confidence sequence
    (unadjusted: CUPED needs the covariates' daily moments too)."""
    if not s.days or not plan.metrics:
        return []
    d = s.daily  # (days, arms, metrics, 3)
    mean, var = moments(d[..., 0], d[..., 1], d[..., 2])
    count = d[..., 0]
    n0, n1 = count[:, c][:, None, :], count[:, v]
    m0, v0, m1, v1 = mean[:, c][:, None, :], var[:, c][:, None, :], mean[:, v], var[:, v]
    with np.errstate(divide="ignore", invalid="ignore"):
        tw = welch(n0, m0, v0, n1, m1, v1, plan.alpha)
        zp = proportions(n0, m0 * n0, n1, m1 * n1, plan.alpha)
    eff = np.where(s.binary, zp.effect, tw.effect)
    se = np.where(s.binary, zp.se, tw.se)
    lo, hi = np.where(s.binary, zp.ci_low, tw.ci_low), np.where(s.binary, zp.ci_high, tw.ci_high)
    n = n0 + n1
    hw = sequential.halfwidth(se ** 2, n, plan.alpha, plan.tuning)
    sp = sequential.p_value(eff, se ** 2, n, plan.alpha, plan.tuning)
    sp = np.fmin.accumulate(np.where(np.isnan(sp), 1.0, sp), axis=0)
    out: list[CurvePoint] = []
    for di, day in enumerate(s.days):
        for vi, name in enumerate(plan.variants):
            for mi, metric in enumerate(plan.metrics):
                out.append({"day": day, "variant": name, "metric": metric,
                            "n": int(n[di, vi, mi]), "effect": num(eff[di, vi, mi]),
                            "ci_low": num(lo[di, vi, mi]), "ci_high": num(hi[di, vi, mi]),
                            "sequence_low": num(eff[di, vi, mi] - hw[di, vi, mi]),
                            "sequence_high": num(eff[di, vi, mi] + hw[di, vi, mi]),
                            "sequential_p_value": num(sp[di, vi, mi])})
    return out
