"""The language-model assistant over HTTP (``docs/assistant.md``): plain-language audiences
(a request becomes a validated filter with its live count and a sample; saving needs the
``write`` role and an explicit ``confirm``), the copy fact check, copy variants (listed,
written from a brief, approved by a named person) and review summaries with evidence.

The provider is the server's (``[insightloop.llm]`` / ``INSIGHTLOOP_LLM_*``); an endpoint
provider refuses a request naming personal data unless ``allow_personal_data`` is set.
Customers who withdrew consent to marketing use of their data are left out of an
audience's members (``excluded_for_consent``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from insightloop.api.errors import READ, SECURED, ApiError, responses
from insightloop.api.server import requires, server_of
from insightloop.services.assistant import (
    approve_variant,
    audience_from_text,
    check_text,
    generate_copy,
    list_variants,
    llm_settings,
    provider_for,
    summarize_reviews,
)
from insightloop.services.keys import KeyRecord
from insightloop.services.results.assistant import (
    AudienceFromText,
    CopyCheck,
    CopyVariant,
    CopyVariants,
    ReviewSummary,
    VariantApproval,
)

router = APIRouter(tags=["assistant"])
SAMPLE = 20
VARIANT = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
Facts = Annotated[dict[str, Any], Field(description="The campaign's facts: products, price, "
                                                    "discount_pct, ends, code, claims.")]


class AudienceText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=500, description="The audience in plain "
                      "English or Chinese, e.g. \"UK customers who haven't bought in 3 months\"")


class AudienceSave(AudienceText):
    name: str = Field(min_length=1, max_length=100, pattern=VARIANT)
    confirm: bool = Field(False, description="Must be true: the preview was looked at.")


class CopyCheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000, description="Subject and body.")
    facts: Facts


class BriefRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=100, pattern=VARIANT)
    lang: str = Field("en", pattern=r"^(en|zh)$")
    facts: Facts


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str = Field(min_length=1, max_length=200, description="Who approves (a person).")


def _audience(request: Request, text: str, name: str | None = None) -> AudienceFromText:
    srv = server_of(request)
    settings = llm_settings()
    provider = provider_for(settings)
    if name is None:
        out = srv.query(audience_from_text, text, provider, settings)
    else:
        out = srv.write(audience_from_text, srv.ctx, text, provider, settings, save=name,
                        confirm=True)
    return {**out, "customer_ids": out["customer_ids"][:SAMPLE]}


@router.post("/assistant/audiences/preview", dependencies=[requires("read")],
             summary="A plain-language audience, previewed", response_model=AudienceFromText,
             responses=responses(*READ, 409, 413, 422))
def preview_audience(request: Request, body: AudienceText) -> AudienceFromText:
    """The filter the request becomes (validated against the live columns), its
    explanation, the live count and the first members; nothing is saved."""
    return _audience(request, body.text)


@router.post("/assistant/audiences", status_code=201, summary="Save a plain-language audience",
             response_model=AudienceFromText, responses=responses(*SECURED, 409, 413, 422))
def save_audience(request: Request, body: AudienceSave,
                  key: Annotated[KeyRecord, requires("write")]) -> AudienceFromText:
    """Save the audience the request becomes under ``name``; 422 unless ``confirm`` is true
    (preview it first)."""
    if not body.confirm:
        raise ApiError(422, "confirmation_required", f"saving the audience {body.name!r} "
                       "needs \"confirm\": true; preview it first (POST "
                       "/api/v1/assistant/audiences/preview)")
    return _audience(request, body.text, body.name)


@router.post("/assistant/copy/check", dependencies=[requires("read")],
             summary="Fact-check copy", response_model=CopyCheck,
             responses=responses(*READ, 409, 413, 422))
def check(request: Request, body: CopyCheckRequest) -> CopyCheck:
    """Every price, discount, product, date and claim the text states that the facts (and
    the catalogue's product names) do not back; ``passed`` when there is none."""
    problems = server_of(request).query(check_text, body.text, body.facts)
    return {"passed": not problems, "problems": problems}


@router.post("/assistant/copy", status_code=201, summary="Write copy variants from a brief",
             response_model=CopyVariants, responses=responses(*SECURED, 409, 413, 422))
def write_copy(request: Request, body: BriefRequest,
               key: Annotated[KeyRecord, requires("write")]) -> CopyVariants:
    """Subject lines and bodies for the brief, each fact-checked and stored unapproved."""
    srv = server_of(request)
    settings = llm_settings()
    rows = srv.write(generate_copy, srv.ctx, body.model_dump(), provider_for(settings),
                     settings.timeout)
    return {"brief_id": body.id, "variants": [_variant(r) for r in rows]}


@router.get("/assistant/copy/{brief_id}", dependencies=[requires("read")],
            summary="A brief's copy variants", response_model=CopyVariants,
            responses=responses(*READ, 409, 422))
def variants(request: Request, brief_id: Annotated[str, Path(
        min_length=1, max_length=100, pattern=VARIANT)]) -> CopyVariants:
    """Every variant of the brief with its fact-check verdict and approval."""
    rows = server_of(request).query(list_variants, brief_id)
    return {"brief_id": brief_id, "variants": [_variant(r) for r in rows]}


@router.post("/assistant/copy/variants/{variant_id}/approve",
             summary="Approve a copy variant", response_model=VariantApproval,
             responses=responses(*SECURED, 404, 409, 413, 422))
def approve(request: Request, body: ApproveRequest,
            variant_id: Annotated[str, Path(min_length=1, max_length=120, pattern=VARIANT)],
            key: Annotated[KeyRecord, requires("write")]) -> VariantApproval:
    """Approve a variant that passed the fact check (422 when it did not; 404 unknown)."""
    srv = server_of(request)
    out = srv.write(approve_variant, srv.ctx, variant_id,
                    f"{body.by} (key {key.key_id})")
    return {"variant_id": out["variant_id"], "approved_by": out["approved_by"],
            "approved_at": out["approved_at"]}


@router.get("/assistant/reviews/summary", dependencies=[requires("read")],
            summary="Review summary with evidence", response_model=ReviewSummary,
            responses=responses(*READ, 404, 409, 422))
def reviews(request: Request,
            product: Annotated[str | None, Query(max_length=100)] = None,
            category: Annotated[str | None, Query(max_length=200)] = None,
            window: Annotated[int, Query(ge=1, le=3650, description="Days of the trend.")] = 90,
            ) -> ReviewSummary:
    """Per review language: claims with the number of reviews behind each and their ids,
    complaints ranked by volume with their trend; one ``product`` or one ``category``."""
    out: Any = server_of(request).query(summarize_reviews, product, category, window)
    return out  # type: ignore[no-any-return]


def _variant(row: dict[str, Any]) -> CopyVariant:
    return {"variant_id": str(row["variant_id"]), "subject": str(row["subject"]),
            "body": str(row["body"]), "source": str(row["source"]),
            "passed": bool(row["passed"]), "problems": str(row["problems"] or ""),
            "approved": bool(row["approved"]),
            "approved_by": None if row["approved_by"] is None else str(row["approved_by"]),
            "approved_at": None if row["approved_at"] is None else str(row["approved_at"])}
