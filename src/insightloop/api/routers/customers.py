"""Customers: list, 360 profile, segment membership, scores with reasons, recommendations."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from insightloop.api.errors import READ, ApiError, responses
from insightloop.api.params import CustomerId, id_list
from insightloop.api.server import Server, requires, server_of
from insightloop.report.format import label
from insightloop.services.customers import (
    SORT_COLUMNS,
    CustomerQuery,
    customer_profile,
    customer_reviews,
    list_customers,
)
from insightloop.services.exports import export_chunk
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
from insightloop.services.serving import split_reasons
from insightloop.storage.serving import dumps

router = APIRouter(tags=["customers"])
SortCol = Literal["customer_id", "monetary", "frequency", "recency_days", "avg_order_value",
                  "clv", "churn_score", "value_at_risk", "country", "rfm_segment",
                  "segment_name"]
assert set(SortCol.__args__) == set(SORT_COLUMNS)  # type: ignore[attr-defined]
Text = Annotated[str | None, Query(min_length=1, max_length=64)]
Amount = Annotated[float | None, Query(allow_inf_nan=False, ge=-1e15, le=1e15)]
Share = Annotated[float | None, Query(allow_inf_nan=False, ge=0, le=1)]
#: Rows per read of a CSV export: each chunk is one short read of the warehouse, so a slow
#: download never holds it, and memory stays bounded whatever the list's size.
EXPORT_CHUNK = 50_000
CSV_TYPE = "text/csv; charset=utf-8"
_CSV_DOC = {"content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "The customers as CSV: a header row, then one row per customer "
            "in the list's order; plain numbers; text cells starting with = + - @ are "
            "prefixed with '. Headers `X-Insightloop-Filter` (the applied filter, "
            "URL-encoded) and `X-Total-Count`; the file name names the filter."}


def customer_query(
    segment_id: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    segment_name: Text = None,
    rfm_segment: Text = None,
    value_tier: Text = None,
    country: Text = None,
    id_prefix: Text = None,
    min_monetary: Amount = None,
    min_churn: Annotated[Share, Query(description="churn probability at least")] = None,
    max_churn: Annotated[Share, Query(description="churn probability at most")] = None,
    min_clv: Amount = None,
    max_clv: Amount = None,
    min_value_at_risk: Annotated[Amount, Query(
        description="churn probability x predicted CLV at least")] = None,
    sort: SortCol = "customer_id",
    order: Literal["asc", "desc"] = "asc",
) -> CustomerQuery:
    """The filters and order of a customer list (exact matches and bounds, all bound as
    SQL parameters; the sort column from a fixed list)."""
    return CustomerQuery(
        segment_id=segment_id, segment_name=segment_name, rfm_segment=rfm_segment,
        value_tier=value_tier, country=country, id_prefix=id_prefix,
        min_monetary=min_monetary, min_churn=min_churn, max_churn=max_churn, min_clv=min_clv,
        max_clv=max_clv, min_value_at_risk=min_value_at_risk, sort=sort,
        descending=order == "desc")


Filters = Annotated[CustomerQuery, Depends(customer_query)]


def csv_export(srv: Server, query: CustomerQuery, *, labels: bool = False, start: int = 0,
               max_rows: int | None = None, pseudonymise: bool = False) -> StreamingResponse:
    """The customers ``query`` selects as a streamed CSV download (``labels``: readable
    column labels in the header row instead of the column names).

    The first chunk is read before the response starts (so a bad filter is a 422, a missing
    view a 409); each later one is its own short read. If a job rewrites the warehouse
    during the download, the file ends with a line saying so instead of mixing two states.
    """
    def limit_for(done: int) -> int:
        left = EXPORT_CHUNK if max_rows is None else min(EXPORT_CHUNK, max_rows - done)
        return max(left, 1)

    generation = srv.gate.generation
    keyed = {"pseudonymise": True} if pseudonymise else {}
    first = srv.query(export_chunk, query, start, limit_for(0), **keyed)
    matched = int(first["total"] or 0)
    total = matched if max_rows is None else min(max(matched - start, 0), max_rows)
    head = io.StringIO()
    csv.writer(head, lineterminator="\r\n").writerow(
        [label(c) for c in first["columns"]] if labels else first["columns"])

    def chunks() -> Iterator[bytes]:
        yield head.getvalue().encode()
        chunk, done = first, 0
        while True:
            yield chunk["text"].encode()
            done += chunk["rows"]
            if done >= total or chunk["after"] is None:
                return
            if srv.gate.generation != generation:
                yield (f"# incomplete: the warehouse was rebuilt during the export; "
                       f"{done} of {total} rows written. Export again.\r\n").encode()
                return
            chunk = srv.query(export_chunk, query, limit=limit_for(done),
                              after=chunk["after"], **keyed)

    described = query.describe()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", described).strip("-").lower()[:80] or "all"
    return StreamingResponse(chunks(), media_type=CSV_TYPE, headers={
        "Content-Disposition": f'attachment; filename="customers-{slug}.csv"',
        "X-Insightloop-Filter": quote(described, safe=" ;=<>"),
        "X-Total-Count": str(total)})


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
            response_model=CustomerPage, responses={**responses(*READ, 409, 422), 200: {
                "content": _CSV_DOC["content"], "description": "One page of customers "
                "(JSON); with `Accept: text/csv`, the same page as CSV."}})
def customers(
    request: Request,
    query: Filters,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Any:
    """Page through ``customer_360``: filter by segment, RFM segment, value tier, country,
    churn probability, predicted CLV and value at risk (churn x CLV); sort by any of those.
    Filters are bound as SQL parameters; ``next_offset`` is null on the last page;
    ``filter`` says what was applied. With ``Accept: text/csv`` the same page comes as CSV
    (as ``/customers/export.csv`` gives every matching row)."""
    srv = server_of(request)
    if "text/csv" in request.headers.get("accept", ""):
        return csv_export(srv, query, start=offset, max_rows=limit)
    return srv.query(list_customers, limit=limit, offset=offset, query=query)


@router.get("/customers/export.csv", dependencies=[requires("read")],
            summary="Export the filtered customer list as CSV",
            response_class=StreamingResponse,
            responses={**responses(*READ, 409, 422), 200: _CSV_DOC})
def customers_csv(request: Request, query: Filters,
                  header: Literal["names", "labels"] = "names",
                  pseudonymise: bool = False) -> StreamingResponse:
    """Every customer the filters select, in the list's order, streamed as CSV (the same
    filters and sort as ``GET /customers``). ``header=labels`` writes readable column
    labels ("Days since last order") instead of the column names. ``pseudonymise=true``
    writes the keyed pseudonym (HMAC-SHA256 under ``INSIGHTLOOP_PRIVACY_KEY``) in place of
    the customer id (422 when the server has no key)."""
    return csv_export(server_of(request), query, labels=header == "labels",
                      pseudonymise=pseudonymise)


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
        # lazy: the model code (scikit-learn, LightGBM) only when a live explanation is asked
        from insightloop.services.scoring import explain_customer

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
