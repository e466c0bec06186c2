"""Segments, KPIs, products (similar items, review insights), text sentiment and topics."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from insightloop.api.app import requires, server_of
from insightloop.api.params import ProductId
from insightloop.services.customers import kpis, segment_members
from insightloop.services.records import plain
from insightloop.services.segments import show_segments

router = APIRouter()
MAX_TEXTS = 64
MAX_TEXT_CHARS = 5000


@router.get("/kpis", dependencies=[requires("read")], tags=["overview"],
            summary="Headline KPIs")
def headline(request: Request) -> dict[str, Any]:
    """Customers, orders, net revenue, active rate and average CLV."""
    srv = server_of(request)
    return srv.cached("kpis", lambda: kpis(srv.settings))


@router.get("/segments", dependencies=[requires("read")], tags=["segments"],
            summary="Segment list")
def segments(request: Request) -> dict[str, Any]:
    """Every behavioural segment: size, value share, description and strategy."""
    srv = server_of(request)
    out: dict[str, Any] = plain(srv.cached("segments", lambda: show_segments(srv.settings)))
    return out


@router.get("/segments/{segment_id}/customers", dependencies=[requires("read")],
            tags=["segments"], summary="Members of a segment")
def members(request: Request, segment_id: Annotated[int, Path(ge=0, le=10_000)],
            limit: Annotated[int, Query(ge=1, le=1000)] = 50,
            offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> dict[str, Any]:
    """One page of the segment's customers; 404 for an unknown segment."""
    return server_of(request).query(segment_members, segment_id, limit, offset)


@router.get("/products/{product_id}/similar", dependencies=[requires("read")],
            tags=["recommendations"], summary="Similar items")
def similar(request: Request, product_id: ProductId,
            n: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """Products most similar to ``product_id``; 404 for an unknown product."""
    out: dict[str, Any] = plain(server_of(request).recommender().similar_items(product_id, n=n))
    return out


@router.get("/products/{product_id}/reviews/insights", dependencies=[requires("read")],
            tags=["sentiment"], summary="Review insights of a product")
def product_insights(request: Request, product_id: ProductId) -> dict[str, Any]:
    """Review count, positive/negative shares, top complaints and monthly net sentiment."""
    from insightloop.services.sentiment import product_insights as insights

    srv = server_of(request)
    out: dict[str, Any] = plain(srv.read(insights, srv.settings, product_id))
    return out


class SentimentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[Annotated[str, Field(max_length=MAX_TEXT_CHARS)]] = Field(
        min_length=1, max_length=MAX_TEXTS, description="Texts to score (any language).")
    lang: Literal["auto", "zh", "en"] = "auto"


@router.post("/sentiment", dependencies=[requires("read")], tags=["sentiment"],
             summary="Sentiment of posted texts")
def sentiment(request: Request, body: SentimentRequest) -> dict[str, Any]:
    """Label, score in [-1, 1], P(positive), language and aspects per text."""
    from insightloop.services.sentiment import score_texts

    srv = server_of(request)
    return {"results": plain(score_texts(body.texts, lang=body.lang, settings=srv.settings))}


@router.get("/topics", dependencies=[requires("read")], tags=["sentiment"],
            summary="Review topics")
def topics(request: Request) -> dict[str, Any]:
    """Topics discovered in reviews (``insightloop`` topics build)."""
    from insightloop.services.sentiment import list_topics

    srv = server_of(request)
    return {"topics": plain(srv.cached("topics", lambda: list_topics(srv.settings)))}


@router.get("/satisfaction", dependencies=[requires("read")], tags=["sentiment"],
            summary="Satisfaction by product, category, customer or month")
def satisfaction(request: Request,
                 by: Literal["product", "category", "customer", "month"] = "month"
                 ) -> dict[str, Any]:
    from insightloop.services.sentiment import satisfaction as sat

    srv = server_of(request)
    return {"by": by, "items": plain(srv.cached(f"satisfaction:{by}",
                                                lambda: sat(srv.settings, by)))}
