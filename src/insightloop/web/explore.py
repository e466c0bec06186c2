"""Dashboard explorers: customers (search, pages, customer 360), recommendations
(for a customer, similar items) and sentiment (score a text, review topics)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from insightloop.api.errors import ApiError
from insightloop.api.params import MAX_ID_CHARS
from insightloop.api.server import Server
from insightloop.errors import InsightloopError
from insightloop.services.customers import customer_profile, customer_reviews, list_customers
from insightloop.services.records import plain
from insightloop.services.results import CustomerPage
from insightloop.services.sentiment import list_topics, score_texts
from insightloop.storage.ids import normalize_id
from insightloop.web.pages import (
    PAGES,
    Blocks,
    guard,
    read_form,
    render_page,
    report_blocks,
    same_origin,
)

router = APIRouter(include_in_schema=False)


# -- customers ----------------------------------------------------------------------------
@router.get("/customers", response_model=None)
def customers_page(request: Request, q: str = "", sort: str = "monetary", offset: int = 0
                   ) -> Response:
    sorts = ("monetary", "clv", "churn_score", "frequency", "recency_days", "customer_id")
    sort = sort if sort in sorts else "monetary"
    offset = max(0, min(offset, 1_000_000))
    pages_cached = not q and offset < 10_000 and offset % 50 == 0
    q = q.strip()[:64]

    def build(srv: Server) -> Blocks:
        form = {"kind": "form", "action": "/customers", "submit": "Search", "fields": [
            {"name": "q", "label": "Customer id starts with", "value": q},
            {"name": "sort", "label": "Sort by", "type": "select", "options": sorts,
             "value": sort}]}

        def table() -> Blocks:
            def fetch() -> CustomerPage:
                return srv.query(list_customers, limit=50, offset=offset,
                                 id_prefix=q or None, sort=sort,
                                 descending=sort not in ("customer_id", "recency_days"))

            # Unfiltered pages at the pager's offsets are cached per warehouse generation
            # (the cache is bounded by bytes: least recently used pages go first).
            page = srv.cache.get(f"customers:{sort}:{offset}", fetch) if pages_cached \
                else fetch()
            cols = [c for c in ("customer_id", "country", "frequency", "monetary",
                                "recency_days", "rfm_segment", "segment_name", "clv",
                                "churn_score") if page["items"] and c in page["items"][0]]
            pager = []
            if offset > 0:
                pager.append((_query("/customers", q=q, sort=sort,
                                     offset=max(0, offset - 50)), "← previous"))
            if page["next_offset"] is not None:
                pager.append((_query("/customers", q=q, sort=sort,
                                     offset=page["next_offset"]), "next →"))
            return [{"kind": "text", "text": f"{page['total']:,} customers match; showing "
                     f"{offset + 1 if page['items'] else 0:,}–{offset + len(page['items']):,}."},
                    {"kind": "table", "id": "customers", "columns": cols, "rows": page["items"],
                     "links": {"customer_id": "/customers/"}, "empty": "no customer matches"},
                    {"kind": "links", "items": pager}]

        return [form, *guard(table, "No customer profiles yet: run `insightloop profiles "
                              "build` (or `insightloop demo`).")]

    return render_page(request, "/customers", "Customers", build)


def _query(path: str, **params: Any) -> str:
    return path + "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})


PROFILE_FACTS = ("customer_id", "country", "first_order_time", "last_order_time",
                 "recency_days", "tenure_days", "frequency", "monetary", "avg_order_value",
                 "n_orders", "n_returns", "return_rate", "fav_product_1", "fav_product_2",
                 "fav_product_3", "channel")


@router.get("/customers/{customer_id}", response_model=None)
def customer_page(request: Request, customer_id: str) -> Response:
    customer_id = normalize_id(customer_id[:MAX_ID_CHARS])

    def build(srv: Server) -> Blocks:
        try:
            prof = srv.query(customer_profile, customer_id)
        except InsightloopError as exc:
            return [{"kind": "message", "level": "error", "text": str(exc)}]
        facts = [{"field": f, "value": prof.get(f)} for f in PROFILE_FACTS if f in prof]
        blocks: Blocks = [{"kind": "heading", "text": "Profile"},
                          {"kind": "table", "id": "profile", "columns": ["field", "value"],
                           "rows": facts}]
        seg, rfm, clv = prof.get("segment_members"), prof.get("rfm"), prof.get("clv")
        value_rows: list[dict[str, Any]] = []
        if seg:
            value_rows += [{"measure": "segment", "value": seg.get("segment_name")},
                           {"measure": "strategy", "value": seg.get("strategy")}]
        if rfm:
            value_rows += [{"measure": "RFM segment", "value": rfm.get("rfm_segment")},
                           {"measure": "RFM score", "value": rfm.get("rfm_score")},
                           {"measure": "value tier", "value": rfm.get("value_tier")}]
        if clv:
            value_rows += [{"measure": "predicted 12-month CLV", "value": clv.get("clv")},
                           {"measure": "P(alive)", "value": clv.get("p_alive")},
                           {"measure": "expected purchases (12 months)",
                            "value": clv.get("expected_purchases_12m")}]
        blocks += [{"kind": "heading", "text": "Value and segment"},
                   {"kind": "table", "id": "value", "columns": ["measure", "value"],
                    "rows": value_rows, "empty": "not built yet: run `insightloop clv build` "
                    "and `insightloop segments build`"}]
        scores = prof.get("scores") or []
        blocks += [{"kind": "heading", "text": "Scores with reasons"},
                   {"kind": "table", "id": "scores",
                    "columns": ["model", "version", "score", "decision", "reasons"],
                    "rows": scores, "empty": "no scores yet: run `insightloop train churn` "
                    "then `insightloop score`"}]
        blocks += [{"kind": "heading", "text": "Recommendations"},
                   *_recommend_blocks(srv, customer_id, 10)]
        blocks += [{"kind": "heading", "text": "Reviews"}, *guard(lambda: [{
            "kind": "table", "id": "reviews",
            "columns": ["review_time", "product_id", "rating", "text", "sentiment_label"],
            "rows": srv.query(customer_reviews, customer_id),
            "empty": "no reviews from this customer"}], "reviews are not available")]
        return blocks

    return render_page(request, "/customers", f"Customer {customer_id}", build)


# -- recommendations ----------------------------------------------------------------------
def _recommend_blocks(srv: Server, customer_id: str, n: int) -> Blocks:
    def build() -> Blocks:
        out = plain(srv.recommender().recommend(customer_id, n=n))
        return [{"kind": "text", "text": f"model {out.get('model')}, source "
                 f"{out.get('source')}"},
                {"kind": "table", "id": "recommendations",
                 "columns": ["product_id", "description", "score", "reason"],
                 "rows": out.get("items", []), "links": {"product_id":
                                                         "/recommendations?product_id="}}]

    try:
        return guard(build, "Recommendations are not built yet: run `insightloop recommend "
                             "build`.")
    except ApiError as exc:
        return [{"kind": "message", "text": exc.message}]


@router.get("/recommendations", response_model=None)
def recommend_page(request: Request, customer_id: str = "", product_id: str = "",
                   n: int = 10) -> Response:
    customer_id = normalize_id(customer_id[:MAX_ID_CHARS])
    product_id = normalize_id(product_id[:MAX_ID_CHARS])
    n = max(1, min(n, 50))

    def build(srv: Server) -> Blocks:
        blocks: Blocks = [
            {"kind": "form", "action": "/recommendations", "submit": "Recommend",
             "fields": [{"name": "customer_id", "label": "Customer id", "value": customer_id}]},
            {"kind": "form", "action": "/recommendations", "submit": "Similar items",
             "fields": [{"name": "product_id", "label": "Product id", "value": product_id}]},
        ]
        if customer_id:
            blocks += [{"kind": "heading", "text": f"For customer {customer_id}"},
                       *_recommend_blocks(srv, customer_id, n)]
        if product_id:
            def similar() -> Blocks:
                out = plain(srv.recommender().similar_items(product_id, n=n))
                return [{"kind": "table", "id": "similar",
                         "columns": ["product_id", "description", "score"],
                         "rows": out.get("items", []),
                         "links": {"product_id": "/recommendations?product_id="}}]
            try:
                blocks += [{"kind": "heading", "text": f"Similar to {product_id}"},
                           *guard(similar, "Similar items are not available")]
            except ApiError as exc:
                blocks.append({"kind": "message", "text": exc.message})
        mods, missing = PAGES["/recommendations"]
        return blocks + report_blocks(srv, mods, missing)

    return render_page(request, "/recommendations", "Recommendation explorer", build)


# -- sentiment ----------------------------------------------------------------------------
def _sentiment_blocks(srv: Server, text: str) -> Blocks:
    blocks: Blocks = [{"kind": "form", "action": "/sentiment", "method": "post",
                       "submit": "Score", "fields": [{"name": "text", "type": "textarea",
                                                      "label": "Text", "value": text}]}]
    if text:
        def scored() -> Blocks:
            res = plain(score_texts(srv.ctx, [text]))[0]
            res["aspects"] = ", ".join(f"{a.get('aspect')}: {a.get('sentiment')}"
                                       for a in res.get("aspects") or [])
            return [{"kind": "table", "id": "sentiment-result",
                     "columns": ["label", "score", "probability", "language", "aspects"],
                     "rows": [res]}]
        blocks += guard(scored, "The sentiment model is not available.")

    def topics() -> Blocks:
        rows = srv.cached("topics", lambda: plain(list_topics(srv.ctx)))
        cols = [c for c in ("topic_id", "label", "size", "share", "net_sentiment",
                            "keywords", "top_terms") if rows and c in rows[0]]
        return [{"kind": "heading", "text": "Review topics"},
                {"kind": "table", "id": "topics", "columns": cols or list(rows[0]) if rows
                 else [], "rows": rows, "empty": "no topics yet"}]

    mods, missing = PAGES["/sentiment"]
    blocks += report_blocks(srv, mods, missing)
    blocks += guard(topics, "Review topics are not built yet: run `insightloop topics`.")
    return blocks


@router.get("/sentiment", response_model=None)
def sentiment_page(request: Request) -> Response:
    return render_page(request, "/sentiment", "Sentiment and topics",
                 lambda srv: _sentiment_blocks(srv, ""))


@router.post("/sentiment", response_model=None)
async def sentiment_post(request: Request) -> Response:
    form = await read_form(request) if same_origin(request) else {}
    text = form.get("text", "").strip()[:5000]
    return await run_in_threadpool(render_page, request, "/sentiment", "Sentiment and topics",
                                   lambda srv: _sentiment_blocks(srv, text))
