"""Dashboard explorers: recommendations (for a customer, similar items) and sentiment
(score a text, review topics); the customer list and the customer 360 page are in
:mod:`insightloop.web.customers`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from insightloop.api.errors import ApiError
from insightloop.api.params import MAX_ID_CHARS
from insightloop.api.server import Server
from insightloop.services.records import plain
from insightloop.storage.ids import normalize_id
from insightloop.web.pages import (
    PAGES,
    Blocks,
    PageRoute,
    guard,
    read_form,
    render_page,
    report_blocks,
    same_origin,
)

router = APIRouter(include_in_schema=False, route_class=PageRoute)


# -- recommendations ----------------------------------------------------------------------
def recommend_blocks(srv: Server, customer_id: str, n: int) -> Blocks:
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
                       *recommend_blocks(srv, customer_id, n)]
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
    # lazy: the sentiment services load scikit-learn, ibis and the text model; not at start
    from insightloop.services.sentiment import list_topics, score_texts

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
