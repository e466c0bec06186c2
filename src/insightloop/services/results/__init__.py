"""Typed results of the services: the single source of truth for their shape.

The API uses them as ``response_model`` (:mod:`.api`: every success response in
``/api/v1/openapi.json`` has a schema); the build services (jobs, the demo, the CLI's
``--json``) return the types of :mod:`.builds`. They are ``TypedDict``s: services keep
building plain dicts, and pydantic validates and documents them where the API sends them.
"""

from __future__ import annotations

from insightloop.services.results.api import (
    Complaint,
    CustomerPage,
    CustomerProfile,
    CustomerReviews,
    CustomerRow,
    CustomerScores,
    CustomerSegment,
    Forecast,
    Health,
    JobError,
    JobInfo,
    JobList,
    KeyInfo,
    KeyList,
    Kpis,
    LiveScore,
    MonthlySentiment,
    NewKey,
    ProductInsights,
    Reason,
    Recommendations,
    RecommendedItem,
    Review,
    Rfm,
    Satisfaction,
    SatisfactionRow,
    Segment,
    SegmentMembership,
    SegmentSummary,
    SentimentResults,
    SimilarItem,
    SimilarItems,
    StoredScore,
    TextSentiment,
    Topic,
    Topics,
)
from insightloop.services.results.base import Number
from insightloop.services.results.builds import (
    BasketRules,
    ClassifyEvaluation,
    ClvBacktest,
    ClvBuilt,
    CohortSummary,
    FileScored,
    IngestSummary,
    ModelInfo,
    ModelSummary,
    ProfilesBuilt,
    RecommendationsBuilt,
    RecommendEvaluation,
    ReviewsScored,
    ScoresBuilt,
    SegmentsBuilt,
    SegmentSelection,
    SentimentEvaluation,
    SentimentTrained,
    SentimentTrend,
    StoreBuilt,
    StoreFresh,
    StoreReady,
    StoreRebuilt,
    StoreStatus,
    TopicsFound,
)
from insightloop.services.results.lists import CsvChunk, CustomerFilters

__all__ = [
    "BasketRules", "ClassifyEvaluation", "ClvBacktest", "ClvBuilt", "CohortSummary", "Complaint",
    "CsvChunk", "CustomerFilters", "CustomerPage", "CustomerProfile", "CustomerReviews",
    "CustomerRow", "CustomerScores",
    "CustomerSegment", "FileScored", "Forecast", "Health", "IngestSummary", "JobError", "JobInfo",
    "JobList", "KeyInfo", "KeyList", "Kpis", "LiveScore", "ModelInfo", "ModelSummary",
    "MonthlySentiment", "NewKey", "Number", "ProductInsights", "ProfilesBuilt", "Reason",
    "RecommendEvaluation", "Recommendations", "RecommendationsBuilt", "RecommendedItem", "Review",
    "ReviewsScored", "Rfm", "Satisfaction", "SatisfactionRow", "ScoresBuilt", "Segment",
    "SegmentMembership", "SegmentSelection", "SegmentSummary", "SegmentsBuilt",
    "SentimentEvaluation", "SentimentResults", "SentimentTrained", "SentimentTrend",
    "SimilarItem", "SimilarItems", "StoreBuilt", "StoreFresh", "StoreReady", "StoreRebuilt",
    "StoreStatus", "StoredScore", "TextSentiment", "Topic", "Topics", "TopicsFound",
]
