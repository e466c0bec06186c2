"""Typed results of the uplift services (``services.uplift``): evaluation, build and plan."""

from __future__ import annotations

from typing_extensions import TypedDict


class UpliftDecile(TypedDict):
    """One bin of the ranking by predicted uplift (bin 1: highest)."""

    bin: int
    n_treated: int
    n_control: int
    mean_treated: float | None
    mean_control: float | None
    uplift: float | None
    std_error: float | None
    predicted: float


class UpliftBalance(TypedDict):
    """Treatment balance: standardised mean differences per feature, the largest, and the
    out-of-fold AUC of a model predicting the arm (about 0.5 when randomised)."""

    smd: dict[str, float]
    max_abs_smd: float
    propensity_auc: float


class UpliftArmEvaluation(TypedDict):
    """Held-out metrics of one treatment arm against the control."""

    treated: str
    test_rows: int
    uplift_at_k: float | None
    uplift_at_k_by_group: float | None
    qini_auc: float | None
    auuc: float | None
    ate: float
    deciles: list[UpliftDecile]
    qini_curve: dict[str, list[float]]
    #: 95% percentile-bootstrap intervals over the test rows, [low, high] (None: not asked)
    uplift_at_k_ci: list[float | None] | None
    qini_auc_ci: list[float | None] | None


class UpliftEvaluation(TypedDict, total=False):
    """``insightloop evaluate uplift``: the headline keys of the first treated arm
    (``uplift@30`` is named after ``k``), the learner, selection scores, balance, per arm."""

    model: str
    qini_auc: float | None
    qini_auc_ci: list[float | None] | None
    bootstrap_draws: int
    auuc: float | None
    rows: int
    train_rows: int
    test_rows: int
    treatment: str
    control: str
    treated: list[str]
    outcome: str
    outcome_type: str
    k: float
    features: list[str]
    excluded: dict[str, int]
    selection: dict[str, float]
    balance: UpliftBalance
    arms: list[UpliftArmEvaluation]


class UpliftBuilt(TypedDict):
    """``uplift build``: model registered, table ``uplift_scores`` replaced."""

    name: str
    version: int
    model: str
    campaign_id: str | None
    outcome: str
    window_days: int
    sends: int
    treated: list[str]
    control: str
    customers_scored: int
    harm_cutoff: dict[str, float | None]
    balance: UpliftBalance
    evaluation: list[UpliftArmEvaluation]


class UpliftPlanned(TypedDict):
    """``uplift plan``: tables ``uplift_plan`` and ``uplift_audiences`` replaced."""

    customers: int
    selected: int
    budget: float | None
    spent: float
    expected_incremental_profit: float
    by_reason: dict[str, int]
    by_arm: dict[str, int]
    audiences: dict[str, int]


class AudienceExported(TypedDict):
    """``uplift audience``: one audience of ``uplift_audiences`` written to a file."""

    audience: str
    path: str
    customers: int
