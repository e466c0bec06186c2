"""Customers: list, 360 profile, segment membership, scores with reasons, recommendations."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from insightloop.api.errors import READ, ApiError, responses
from insightloop.api.params import CustomerId, id_list
from insightloop.api.server import requires, server_of
from insightloop.services.customers import (
    SORT_COLUMNS,
    customer_profile,
    customer_reviews,
    list_customers,
)
from insightloop.services.records import plain
from insightloop.services.results import (
    CustomerPage,
    CustomerProfile,
    CustomerReviews,
    CustomerScores,
    CustomerSegment,
    LiveScore,
    Recommendations,
)
from insightloop.services.scoring import explain_customer
from insightloop.services.serving import split_reasons
from insightloop.storage.serving import dumps

router = APIRouter(tags=["customers"])
SortCol = Literal["customer_id", "monetary", "frequency", "recency_days", "avg_order_value",
                  "clv", "churn_score"]
assert set(SortCol.__args__) == set(SORT_COLUMNS)  # type: ignore[attr-defined]
Text = Annotated[str | None, Query(min_length=1, max_length=64)]


def _profile(request: Request, customer_id: str) -> CustomerProfile:
    store = server_of(request).store.get()
    body = store.profile(customer_id) if store is not None and store.has_profiles else None
    if body is not None:
        out: CustomerProfile = json.loads(body)
        return out
    return server_of(request).query(customer_profile, customer_id)


def _json(body: bytes) -> Response:
    """A JSON body as bytes, sent as is (not re-validated against the response model).

    The hot endpoints (profile, stored scores, recommendations) answer from the serving
    store when it is fresh; their live path renders with the same :func:`dumps`, so both
    send identical bytes (a response model would reorder keys). Their documented types are
    checked against real bodies by ``tests/api/test_openapi_contract.py``.
    """
    return Response(content=body, media_type="application/json")


@router.get("/customers", dependencies=[requires("read")],
            summary="Customers, one page at a time, with filters",
            response_model=CustomerPage, responses=responses(*READ, 409, 422))
def customers(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    segment_id: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    rfm_segment: Text = None,
    value_tier: Text = None,
    country: Text = None,
    min_monetary: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    id_prefix: Text = None,
    sort: SortCol = "customer_id",
    order: Literal["asc", "desc"] = "asc",
) -> CustomerPage:
    """Page through ``customer_360``. Filters are exact matches bound as SQL parameters;
    ``next_offset`` is null on the last page."""
    return server_of(request).query(
        list_customers, limit=limit, offset=offset, segment_id=segment_id,
        rfm_segment=rfm_segment, value_tier=value_tier, country=country,
        min_monetary=min_monetary, id_prefix=id_prefix, sort=sort, descending=order == "desc")


@router.get("/customers/{customer_id}", dependencies=[requires("read")],
            summary="Customer 360 profile", response_model=CustomerProfile,
            responses=responses(*READ, 404, 409, 422))
async def customer(request: Request, customer_id: CustomerId) -> Any:
    """Profile plus every enrichment built (RFM, CLV, segment, scores); 404 if unknown."""
    store = server_of(request).store.get()
    body = store.profile(customer_id) if store is not None and store.has_profiles else None
    if body is not None:
        return _json(body)
    return _json(dumps(await run_in_threadpool(server_of(request).query, customer_profile,
                                               customer_id)))


@router.get("/customers/{customer_id}/segment", dependencies=[requires("read")],
            summary="Segment membership", response_model=CustomerSegment,
            responses=responses(*READ, 404, 409, 422))
def customer_segment(request: Request, customer_id: CustomerId) -> CustomerSegment:
    """The customer's behavioural segment, RFM segment and value tier."""
    prof = _profile(request, customer_id)
    member, rfm = prof.get("segment_members"), prof.get("rfm")
    if not member and not rfm:
        raise ApiError(409, "not_built", "no segments yet; run `insightloop segments build`")
    return {"customer_id": customer_id, "segment": member, "rfm": rfm}


@router.get("/customers/{customer_id}/scores", dependencies=[requires("read")],
            summary="Predictive scores with reasons",
            response_model=CustomerScores | LiveScore,  # type: ignore[arg-type]
            responses=responses(*READ, 404, 409, 422))
async def customer_scores(
    request: Request, customer_id: CustomerId,
    live: Annotated[bool, Query(description="Recompute now with the latest model "
                                "(slower), instead of the stored batch scores.")] = False,
    model: Annotated[str, Query(min_length=1, max_length=64,
                                pattern=r"^[A-Za-z0-9_.:-]+$")] = "churn",
) -> Any:
    """Stored scores (one per model) with their top reasons; ``live=true`` explains one
    model now, like ``insightloop explain``."""
    srv = server_of(request)
    if live:
        out: dict[str, Any] = plain(await run_in_threadpool(
            srv.query, explain_customer, model, customer_id))
        return out
    store = srv.store.get()
    body = store.scores(customer_id) if store is not None and store.has_profiles else None
    if body is not None:
        return _json(body)
    rows = (await run_in_threadpool(_profile, request, customer_id)).get("scores") or []
    rows = [{**row, "reasons": split_reasons(row.get("reasons"))} for row in rows]
    return _json(dumps({"customer_id": customer_id, "scores": rows}))


@router.get("/customers/{customer_id}/recommendations", dependencies=[requires("read")],
            summary="Product recommendations with reasons", response_model=Recommendations,
            responses=responses(*READ, 404, 409, 422))
async def customer_recommendations(
    request: Request, customer_id: CustomerId,
    n: Annotated[int, Query(ge=1, le=100)] = 10,
    exclude_seen: bool = True,
    history: Annotated[str | None, Query(
        max_length=2000, description="Comma-separated product ids seen this session "
        "(used for customers the model does not know yet).")] = None,
) -> Any:
    """Top-``n`` products with a score and a reason each. Customers the model has not seen
    get a cold-start list (``source`` says which: content-based from ``history``, else
    popularity), not an error."""
    srv = server_of(request)
    seen = id_list(history)
    store = srv.store.get()
    body = (store.recommendations(customer_id, n, exclude_seen, history=bool(seen))
            if store is not None else None)
    if body is not None:
        return _json(body)
    # Loading (first use, after a job) may wait for the warehouse: never on the event loop.
    rec = srv.loaded_recommender() or await run_in_threadpool(srv.recommender)
    return _json(dumps(plain(rec.recommend(customer_id, n=n, exclude_seen=exclude_seen,
                                           history=seen))))


@router.get("/customers/{customer_id}/reviews", dependencies=[requires("read")],
            summary="The customer's reviews", response_model=CustomerReviews,
            responses=responses(*READ, 422))
def customer_review_list(request: Request, customer_id: CustomerId,
                         limit: Annotated[int, Query(ge=1, le=200)] = 20) -> CustomerReviews:
    """Latest reviews, with sentiment when ``insightloop sentiment`` has scored them."""
    items = server_of(request).query(customer_reviews, customer_id, limit)
    return {"customer_id": customer_id, "items": items}
