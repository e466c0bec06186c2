"""Segments, KPIs, products (similar items, review insights), text sentiment and topics."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from insightloop.api.errors import READ, responses
from insightloop.api.params import ProductId
from insightloop.api.server import requires, server_of
from insightloop.services.customers import kpis, segment_members
from insightloop.services.records import plain
from insightloop.services.results import (
    CustomerPage,
    Kpis,
    ProductInsights,
    Satisfaction,
    SegmentSummary,
    SentimentResults,
    SimilarItems,
    Topics,
)

router = APIRouter()
MAX_TEXTS = 64
MAX_TEXT_CHARS = 5000


@router.get("/kpis", dependencies=[requires("read")], tags=["overview"],
            summary="Headline KPIs", response_model=Kpis, responses=responses(*READ, 409))
def headline(request: Request) -> Kpis:
    """Customers, orders, net revenue, active rate and average CLV."""
    srv = server_of(request)
    return srv.cached("kpis", lambda: kpis(srv.ctx))


@router.get("/segments", dependencies=[requires("read")], tags=["segments"],
            summary="Segment list", response_model=SegmentSummary,
            responses=responses(*READ, 409))
def segments(request: Request) -> SegmentSummary:
    """Every behavioural segment: size, value share, description and strategy."""
    # lazy: segment and sentiment services load scikit-learn and ibis; not at server start
    from insightloop.services.segments import show_segments

    srv = server_of(request)
    out: SegmentSummary = plain(srv.cached("segments", lambda: show_segments(srv.ctx)))
    return out


@router.get("/segments/{segment_id}/customers", dependencies=[requires("read")],
            tags=["segments"], summary="Members of a segment", response_model=CustomerPage,
            responses=responses(*READ, 404, 409, 422))
def members(request: Request, segment_id: Annotated[int, Path(ge=0, le=10_000)],
            limit: Annotated[int, Query(ge=1, le=1000)] = 50,
            offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> CustomerPage:
    """One page of the segment's customers; 404 for an unknown segment."""
    return server_of(request).query(segment_members, segment_id, limit, offset)


@router.get("/products/{product_id}/similar", dependencies=[requires("read")],
            tags=["recommendations"], summary="Similar items", response_model=SimilarItems,
            responses=responses(*READ, 404, 409, 422))
def similar(request: Request, product_id: ProductId,
            n: Annotated[int, Query(ge=1, le=100)] = 10) -> SimilarItems:
    """Products most similar to ``product_id``; 404 for an unknown product."""
    out: SimilarItems = plain(server_of(request).recommender().similar_items(product_id, n=n))
    return out


@router.get("/products/{product_id}/reviews/insights", dependencies=[requires("read")],
            tags=["sentiment"], summary="Review insights of a product",
            response_model=ProductInsights, responses=responses(*READ, 404, 409, 422))
def product_insights(request: Request, product_id: ProductId) -> ProductInsights:
    """Review count, positive/negative shares, top complaints and monthly net sentiment."""
    # lazy: see segments()
    from insightloop.services.sentiment import product_insights as insights

    srv = server_of(request)
    out: ProductInsights = plain(srv.query(insights, product_id))
    return out


class SentimentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[Annotated[str, Field(max_length=MAX_TEXT_CHARS)]] = Field(
        min_length=1, max_length=MAX_TEXTS, description="Texts to score (any language).")
    lang: Literal["auto", "zh", "en"] = "auto"


@router.post("/sentiment", dependencies=[requires("read")], tags=["sentiment"],
             summary="Sentiment of posted texts", response_model=SentimentResults,
             responses=responses(*READ, 409, 413, 422))
def sentiment(request: Request, body: SentimentRequest) -> SentimentResults:
    """Label, score in [-1, 1], P(positive), language and aspects per text."""
    # lazy: see segments()
    from insightloop.services.sentiment import score_texts

    srv = server_of(request)
    return {"results": plain(score_texts(srv.ctx, body.texts, lang=body.lang))}


@router.get("/topics", dependencies=[requires("read")], tags=["sentiment"],
            summary="Review topics", response_model=Topics, responses=responses(*READ, 409))
def topics(request: Request) -> Topics:
    """Topics discovered in reviews (``insightloop`` topics build)."""
    # lazy: see segments()
    from insightloop.services.sentiment import list_topics

    srv = server_of(request)
    return {"topics": plain(srv.cached("topics", lambda: list_topics(srv.ctx)))}


@router.get("/satisfaction", dependencies=[requires("read")], tags=["sentiment"],
            summary="Satisfaction by product, category, customer or month",
            response_model=Satisfaction, responses=responses(*READ, 409, 422))
def satisfaction(request: Request,
                 by: Literal["product", "category", "customer", "month"] = "month"
                 ) -> Satisfaction:
    # lazy: see segments()
    from insightloop.services.sentiment import satisfaction as sat

    srv = server_of(request)
    return {"by": by, "items": plain(srv.cached(f"satisfaction:{by}",
                                                lambda: sat(srv.ctx, by)))}
