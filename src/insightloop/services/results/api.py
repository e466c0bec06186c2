"""Typed results of the services the API returns (see :mod:`insightloop.services.results`).

The API uses these as ``response_model`` (so ``/api/v1/openapi.json`` has a schema for every
success response) and service functions can annotate their return types with them. They
are ``TypedDict``s: services keep building plain dicts (JSON-able, as the serving store
stores them), and pydantic validates and documents them.

Conventions: numbers that can be integral or not in the data (money, shares computed by
DuckDB, scores) are :data:`Number` (``int | float``) so validation never turns ``0`` into
``0.0`` (a body must stay byte-identical to the serving store's); timestamps are ISO 8601
strings; a key is ``NotRequired`` when it is present only once the table behind it is built.
Types whose rows come from tables that capabilities extend (the profile, a customer list
row) allow extra keys (``additionalProperties: true``); the others list every key.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

from insightloop.services.results.base import _OPEN, Number


class Health(TypedDict):
    """Liveness: the server runs; whether the warehouse exists; its write generation."""

    status: Literal["ok"]
    version: str
    warehouse: bool
    generation: int


class Kpis(TypedDict):
    """Headline KPIs of the warehouse."""

    customers: int
    orders: int
    net_revenue: Number
    active_rate: Number | None
    active_days: int
    avg_clv: Number | None
    clv_customers: int
    as_of: str | None


class Segment(TypedDict):
    """One behavioural segment."""

    segment_id: int
    name: str
    size: int
    share: Number
    value_share: Number
    description: str
    strategy: str
    method: str
    k: int
    selection_score: Number | None


class SegmentSummary(TypedDict):
    """Every behavioural segment of the last ``insightloop segments build``."""

    customers: int
    k: int
    method: str
    segments: list[Segment]


class CustomerRow(TypedDict, total=False):
    """One customer in a list: the ``customer_360`` columns built so far."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    customer_id: str
    country: str | None
    frequency: Number | None
    monetary: Number | None
    recency_days: Number | None
    avg_order_value: Number | None
    rfm_segment: str | None
    value_tier: str | None
    segment_id: int | None
    segment_name: str | None
    clv: Number | None
    churn_score: Number | None
    value_at_risk: Number | None


class CustomerPage(TypedDict):
    """One page of customers; ``next_offset`` is null on the last page. ``filter`` is the
    applied filter and order in words (``country = United Kingdom; sort value_at_risk
    desc``)."""

    items: list[CustomerRow]
    total: int
    limit: int
    offset: int
    next_offset: int | None
    filter: NotRequired[str]


class Rfm(TypedDict):
    """RFM scores of one customer."""

    r_score: int
    f_score: int
    m_score: int
    rfm_score: str
    rfm_segment: str
    value_tier: str


class SegmentMembership(TypedDict):
    """The behavioural segment of one customer."""

    segment_id: int
    segment_name: str
    strategy: str


class StoredScore(TypedDict):
    """A batch score of one model, with its top reasons in plain words."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    model: str
    version: int
    score: Number | None
    decision: int | None
    threshold: Number | None
    as_of: str | None
    scored_at: str | None
    reasons: list[str]


class CustomerProfile(TypedDict):
    """Customer 360 profile: the profile columns, then every enrichment built.

    ``rfm``, ``clv``, ``segment_members`` and ``scores`` appear once their tables exist;
    ``scores`` keeps its reasons as stored (one text with ``; `` between reasons).
    """

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    customer_id: str
    as_of: str | None
    first_order_time: str | None
    last_order_time: str | None
    recency_days: Number | None
    tenure_days: Number | None
    frequency: Number | None
    monetary: Number | None
    avg_order_value: Number | None
    rfm: NotRequired[Rfm]
    clv: NotRequired[dict[str, Any]]
    segment_members: NotRequired[SegmentMembership]
    scores: NotRequired[list[dict[str, Any]]]


class CustomerSegment(TypedDict):
    """A customer's behavioural segment and RFM segment (null when not built)."""

    customer_id: str
    segment: SegmentMembership | None
    rfm: Rfm | None


class CustomerScores(TypedDict):
    """Every stored score of one customer (one per model), reasons as a list."""

    customer_id: str
    scores: list[StoredScore]


class Reason(TypedDict):
    """One reason behind a score: the feature, its value, its effect and in words."""

    feature: str
    value: Any
    effect: Number
    text: str


class LiveScore(TypedDict):
    """One model's score of one customer, computed now, with its reasons."""

    customer_id: str
    model: str
    version: int
    label: str | None
    score: Number
    decision: int
    threshold: Number
    as_of: str | None
    reasons: list[Reason]


class RecommendedItem(TypedDict):
    """A recommended product with its score and reason."""

    product_id: str
    description: str | None
    score: Number
    reason: str


class Recommendations(TypedDict):
    """Top products for a customer; ``source`` says which model or cold-start answered."""

    customer_id: str
    model: str
    source: str
    items: list[RecommendedItem]


class SimilarItem(TypedDict):
    """A product similar to another one."""

    product_id: str
    description: str | None
    score: Number


class SimilarItems(TypedDict):
    """Products most similar to ``product_id``."""

    product_id: str
    description: str | None
    items: list[SimilarItem]


class Review(TypedDict):
    """One review, with its sentiment once ``insightloop sentiment`` scored it."""

    review_id: str | int
    product_id: str | None
    review_time: str | None
    rating: Number | None
    text: str | None
    sentiment_label: NotRequired[str | None]
    sentiment_score: NotRequired[Number | None]


class CustomerReviews(TypedDict):
    """A customer's latest reviews."""

    customer_id: str
    items: list[Review]


class Complaint(TypedDict):
    """An aspect of negative reviews and how often it appears."""

    aspect: str
    count: int


class MonthlySentiment(TypedDict):
    """Net sentiment of one month."""

    month: str
    reviews: int
    net_sentiment: Number


class Forecast(TypedDict):
    """Next month's net sentiment by a linear trend (nulls without history)."""

    month: str | None
    net_sentiment: Number | None
    slope_per_month: Number | None
    basis_months: int


class ProductInsights(TypedDict):
    """Review insights of one product: shares, complaints, monthly trend, forecast, alert."""

    product_id: str
    reviews: int
    positive_share: Number
    negative_share: Number
    net_sentiment: Number
    top_complaints: list[Complaint]
    monthly: list[MonthlySentiment]
    forecast: Forecast
    alert: dict[str, Any] | None


class TextSentiment(TypedDict):
    """Sentiment of one posted text."""

    label: str
    score: Number
    probability: Number
    language: str
    truncated: bool
    aspects: list[Any]


class SentimentResults(TypedDict):
    """Sentiment of each posted text, in order."""

    results: list[TextSentiment]


class Topic(TypedDict):
    """A topic found in reviews."""

    topic_id: int
    name: str
    keywords: str
    size: int
    share: Number
    net_sentiment: Number | None


class Topics(TypedDict):
    """Topics of the last ``insightloop topics build``."""

    topics: list[Topic]


class SatisfactionRow(TypedDict):
    """Satisfaction of one group (its key is named after ``by``: product, category, ...)."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    reviews: int
    positive_share: Number
    negative_share: Number
    neutral_share: Number
    mean_score: Number | None
    net_sentiment: Number
    top_complaints: list[Complaint]


class Satisfaction(TypedDict):
    """Satisfaction by product, category, customer or month."""

    by: Literal["product", "category", "customer", "month"]
    items: list[SatisfactionRow]


class JobError(TypedDict):
    """Why a job failed: the error type (``interrupted`` when its server died) and message."""

    code: str
    message: str


class JobInfo(TypedDict):
    """A job: its kind, parameters, status, times, result (when done) or error."""

    id: str
    kind: str
    params: dict[str, Any]
    status: str
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    result: Any
    error: JobError | None


class JobList(TypedDict):
    """Recent jobs, newest first."""

    items: list[JobInfo]


class KeyInfo(TypedDict):
    """An API key's public record (never the key or its hash)."""

    key_id: str
    role: str
    name: str
    created_at: str | None
    revoked_at: str | None
    active: bool


class KeyList(TypedDict):
    """Every API key."""

    items: list[KeyInfo]


class NewKey(TypedDict):
    """A created key: ``key`` is shown this once only."""

    key: str
    key_id: str
    role: str
    name: str
    created_at: str
