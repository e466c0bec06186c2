"""Results of the language-model assistant (``services/assistant``)."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict


class AudienceFromText(TypedDict):
    """A plain-language request turned into a validated audience filter and previewed."""

    request: str
    where: str
    canonical: str
    count: int
    total: int
    customer_ids: list[str]
    excluded_for_consent: int
    explanation: str
    provider: str
    latency_s: float
    saved: str | None


class ProviderScore(TypedDict):
    """Execution accuracy of one provider on one part of the evaluation set."""

    requests: int
    correct: int
    accuracy: float
    invalid: int


class AssistantEvaluation(TypedDict):
    """``insightloop evaluate assistant``: accuracy per half and language, latency, the
    fact-check pass rate of the copy briefs, and the failures."""

    provider: str
    warehouse: str
    audiences: dict[str, ProviderScore]
    latency_mean_s: float
    latency_p95_s: float
    load_s: float
    copy_briefs: int
    copy_fact_check_pass_rate: float | None
    copy_planted_errors_caught: float
    failures: list[dict[str, str]]


class LLMSettingsReport(TypedDict):
    """``llm settings``: the effective values, where each came from (``argument``, an
    environment variable, the config file, ``default``) and whether the endpoint key is set."""

    values: dict[str, Any]
    sources: dict[str, str]
    key_set: bool


class CopyCheck(TypedDict):
    """The copy fact check: what the text states that the facts do not back."""

    passed: bool
    problems: list[str]


class CopyVariant(TypedDict):
    """One stored copy variant with its fact-check verdict and approval."""

    variant_id: str
    subject: str
    body: str
    source: str
    passed: bool
    problems: str
    approved: bool
    approved_by: str | None
    approved_at: str | None


class CopyVariants(TypedDict):
    """A brief's copy variants."""

    brief_id: str
    variants: list[CopyVariant]


class VariantApproval(TypedDict):
    """A variant approved: by whom, when."""

    variant_id: str
    approved_by: str
    approved_at: str


class ReviewClaim(TypedDict, total=False):
    """One claim of a review summary and the reviews behind it (complaints add the trend)."""

    aspect: str
    sentiment: str
    reviews: int
    text: str
    review_ids: list[str]
    recent: int
    before: int
    trend: str


class ReviewLanguage(TypedDict):
    """The claims and complaints of the reviews in one language."""

    language: str
    reviews: int
    claims: list[ReviewClaim]
    complaints: list[ReviewClaim]


class ReviewSummary(TypedDict):
    """Review claims with evidence, per language, for one product or category."""

    product: str | None
    category: str | None
    window_days: int
    languages: list[ReviewLanguage]
