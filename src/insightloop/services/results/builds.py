"""Typed results of the services that build warehouse tables and models (jobs, demo, CLI).

Values are what the service computed: timestamps may be ``datetime``/``Timestamp`` objects
(``--json`` and the job history render them as ISO 8601 text) and numbers may be numpy
scalars; the keys and their meaning are fixed here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

from insightloop.services.results.api import Forecast, Segment, Topic
from insightloop.services.results.base import _OPEN, Number


class IngestSummary(TypedDict):
    """One file loaded into a canonical table: rows in = loaded + quarantined + duplicate."""

    table: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    notes: list[str]


class ProfilesBuilt(TypedDict):
    """Table ``profiles`` replaced: its customers, as-of date and engine."""

    customers: int
    as_of: datetime | None
    engine: str
    net_revenue: float
    mean_frequency: float


class ClvBuilt(TypedDict):
    """Table ``clv`` replaced: the fitted purchase and spend models and CLV totals."""

    table: str
    customers: int
    repeat_buyers: int
    as_of: str
    model: str
    purchase_params: dict[str, float]
    purchase_summary: dict[str, dict[str, float | None]]
    dropout_prior: float
    selection: str
    warnings: list[str]
    validation_auc: dict[str, float]
    validation_loglik: dict[str, float]
    p_alive_mean: float
    spend_params: dict[str, float]
    spend_summary: dict[str, dict[str, float | None]]
    model_ref: str
    horizon_months: int
    discount_rate: float
    expected_purchases_column: str
    total_clv: float
    mean_clv: float
    median_clv: float
    fitted_at: str


class SegmentSelection(TypedDict):
    """How the number of segments was chosen: the metric's score per k."""

    metric: str
    scores: dict[str, float | None]
    chosen_k: int
    score: float | None


class SegmentsBuilt(TypedDict):
    """Tables ``rfm``, ``segment_members`` and ``segments`` replaced."""

    customers: int
    k: int
    method: str
    value_source: str
    selection: SegmentSelection
    rfm_segments: dict[str, int]
    value_tiers: dict[str, int]
    segments: list[Segment]


class CohortSummary(TypedDict):
    """The cohort grid: cohort months, customers, longest span (months) and every row.

    ``as_of`` is set by a build; ``stored`` is false when a read-only warehouse was only
    computed from, not written.
    """

    cohorts: int
    customers: int
    periods: int
    rows: list[dict[str, Any]]
    as_of: NotRequired[datetime | None]
    stored: NotRequired[bool]


class ModelInfo(TypedDict, total=False):
    """The metadata of a registered model (the registry's ``metadata.json``)."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    name: str
    version: int
    task: str
    model: str
    rows: int
    threshold: float
    as_of_dates: list[str]
    test_as_of: str | None
    cv_auc: float | None
    metrics: dict[str, Any]
    dropped: list[str]
    created_at: str
    sha256: str


class ScoresBuilt(TypedDict):
    """Every customer scored by one model into table ``scores``; drifted features' PSI."""

    model: str
    version: int
    customers: int
    as_of: Any
    mean_score: float | None
    positives: int
    threshold: float
    drift: dict[str, float]


class FileScored(TypedDict):
    """The rows of a file scored by one model (written to ``out`` when given)."""

    model: str
    version: int
    rows: int
    mean_score: float | None
    positives: int
    out: str | None
    drift: dict[str, float]


class RecommendationsBuilt(TypedDict):
    """Table ``recommendations`` replaced and the recommender registered."""

    model: str
    params: dict[str, Any]
    customers: int
    modelled_customers: int
    cold_start_customers: int
    items: int
    interactions: int
    rows: int
    coverage: Number
    excluded_out_of_stock: int
    version: int
    selection: list[dict[str, Any]]
    seconds: Number


class ReviewsScored(TypedDict):
    """Every review scored into the sentiment tables."""

    reviews: int
    model: str
    positive: int
    negative: int
    neutral: int
    truncated: int
    aspect_mentions: int
    reviews_per_second: float | None
    languages: dict[str, int]


class TopicsFound(TypedDict):
    """Reviews clustered into topics (tables ``review_topics``, ``review_topic_summary``)."""

    reviews: int
    topics: list[Topic]


class BasketRules(TypedDict):
    """Association rules ``A -> B`` over order baskets (support, confidence, lift)."""

    baskets: int
    items: int
    min_support: float
    min_confidence: float
    rules: list[dict[str, Any]]


class SentimentEvaluation(TypedDict):
    """A sentiment model scored on a labelled file (``insightloop evaluate sentiment``)."""

    rows: int
    accuracy: float
    macro_f1: float
    reviews_per_second: float | None
    model: str
    model_kind: str
    model_description: str
    load_seconds: float
    abstained: int
    accuracy_confident: float | None
    languages: dict[str, int]


class SentimentTrained(TypedDict):
    """The sentiment head retrained on a labelled file, and where it was saved."""

    rows: int
    positives: int
    kind: str
    path: str
    seconds: float


class SentimentTrend(TypedDict):
    """Monthly net sentiment overall, next month's forecast, product drop alerts, the test."""

    monthly: list[dict[str, Any]]
    forecast: Forecast
    alerts: list[dict[str, Any]]
    test: str


class StoreStatus(TypedDict):
    """The serving store: where it is, whether it exists and matches the warehouse (fresh)."""

    path: str
    exists: bool
    fresh: bool
    built_at: str | None
    customers: int | None
    top_n: int | None


class StoreBuilt(TypedDict):
    """The serving store written: customers, those with recommendations, size and time."""

    path: str
    customers: int
    recommended_customers: int
    top_n: int
    ranking: str | None
    bytes: int
    seconds: float


class StoreFresh(StoreStatus):
    """:func:`~insightloop.services.serving.ensure_store` found the store fresh: its status."""

    built: Literal[False]


class StoreRebuilt(StoreBuilt):
    """:func:`~insightloop.services.serving.ensure_store` (re)built the store: what it wrote."""

    built: Literal[True]


#: The serving store after :func:`~insightloop.services.serving.ensure_store`.
StoreReady = StoreFresh | StoreRebuilt


class ClassifyEvaluation(TypedDict):
    """Cross-validated metrics of the tabular classifier on a file (means over the folds)."""

    rows: int
    auc: float
    pr_auc: float
    logloss: float
    precision: float
    recall: float
    f1: float
    lift_top_decile: float
    model: str
    models: list[str]
    folds: int
    dropped: list[str]


class ClvBacktest(TypedDict):
    """Repeat purchases predicted for a holdout against those made (``evaluate clv``)."""

    customers: int
    rows_without_customer: int
    actual_total: float
    predicted_total: float
    mae: float
    rmse: float
    corr: float
    naive_mae: float
    predicted_vs_actual_pct: float | None
    model: str
    params: dict[str, float]
    param_summary: dict[str, dict[str, float | None]]
    dropout_prior: float
    selection: str
    warnings: list[str]
    validation_mae: dict[str, float]
    validation_auc: dict[str, float]
    validation_loglik: dict[str, float]
    holdout_no_purchase_share: float
    p_alive_auc: float | None
    recency_auc: float | None
    frequency_auc: float | None
    calibration_end: str
    holdout_end: str
    holdout_weeks: float


class RecommendEvaluation(TypedDict):
    """Hold-out ranking metrics of a recommender (``evaluate recommend``). The ``@k`` metrics
    are named after the cut-off: ``precision@10``, ``recall@10``, ``ndcg@10``, ``map@10``."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    model: str
    users: int
    items: int
    coverage: float
    fit_seconds: float


class ModelSummary(TypedDict):
    """One registered model version, as ``insightloop models list`` shows it."""

    name: str
    version: int
    task: str | None
    model: str | None
    created_at: str | None
    rows: int | None
    auc: float | None
    features: int
