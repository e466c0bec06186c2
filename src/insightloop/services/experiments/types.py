"""Typed results of the experiments services (what ``--json``, the API and the report get).

Numbers that cannot be computed (a variance of one unit, a relative effect over a zero
control mean) are None, never NaN, so every result is valid JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from typing_extensions import TypedDict


class EffectRow(TypedDict):
    """One variant against the control on one metric."""

    variant: str
    metric: str
    kind: Literal["proportion", "mean", "ratio"]
    guardrail: bool
    control_n: int
    variant_n: int
    control_mean: float | None
    variant_mean: float | None
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None
    significant: bool
    relative_effect: float | None
    relative_ci_low: float | None
    relative_ci_high: float | None
    chance_to_win: float | None
    expected_loss: float | None
    cuped: bool
    variance_reduction: float | None
    sequential_ci_low: float | None
    sequential_ci_high: float | None
    sequential_p_value: float | None
    flagged: bool


class ArmSummary(TypedDict):
    arm: str
    n: int
    share: float
    expected_share: float


class ValueRow(TypedDict):
    """A treated arm's increments over its holdout and its return on cost."""

    variant: str
    sends: int
    incremental_conversions: float | None
    incremental_conversions_ci: list[float | None]
    incremental_revenue: float | None
    incremental_revenue_ci: list[float | None]
    cost: float
    roi: float | None
    roi_ci: list[float | None] | None


class CurvePoint(TypedDict):
    """The monitoring curve: cumulative effect and confidence sequence after each day."""

    day: date
    variant: str
    metric: str
    n: int
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    sequence_low: float | None
    sequence_high: float | None
    sequential_p_value: float | None


class ExperimentAnalysis(TypedDict):
    """``insightloop experiment analyze``: every effect, the SRM check, guardrails, value."""

    experiment_id: str
    source: str
    variant_column: str
    control: str
    rows: int
    arms: list[ArmSummary]
    metrics: list[str]
    covariates: list[str]
    alpha: float
    correction: str
    sequential: bool
    results: list[EffectRow]
    srm_chi2: float
    srm_p_value: float
    srm_warning: bool
    guardrails_flagged: list[str]
    value: list[ValueRow]
    curve: list[CurvePoint]
    stored: str | None
    warnings: list[str]


class PowerPlan(TypedDict):
    """``insightloop experiment power``: sizes for a target power, or the power of sizes."""

    metric: Literal["proportion", "mean"]
    alpha: float
    power: float
    control_n: int
    variant_n: int
    total_n: int
    effect: float
    minimum_detectable_effect: float
