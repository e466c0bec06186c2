"""Dashboard pages: login, overview, RFM, segments, customers and customer 360,
recommendation explorer, sentiment and topics, data quality, models.

Log-in takes an API key once and gives an HttpOnly, SameSite=Strict session
cookie holding a random session token (the key never reaches JavaScript or the
cookie). Pages render on the server from services and the report page builders;
heavy aggregates are cached per warehouse generation. A page whose tables are
not built yet says so and names the command that builds them.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.resources
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from insightloop.api.app import Server, server_of
from insightloop.api.errors import ApiError
from insightloop.api.params import MAX_ID_CHARS
from insightloop.errors import InsightloopError
from insightloop.services.customers import (
    customer_profile,
    customer_reviews,
    kpis,
    list_customers,
)
from insightloop.services.keys import KeyRecord
from insightloop.services.records import plain
from insightloop.storage.ids import normalize_id

router = APIRouter(include_in_schema=False)
COOKIE = "il_session"
NAV = [("/", "Overview"), ("/rfm", "RFM"), ("/segments", "Segments"),
       ("/customers", "Customers"), ("/recommendations", "Recommendations"),
       ("/sentiment", "Sentiment"), ("/quality", "Data quality"), ("/models", "Models")]
Blocks = list[dict[str, Any]]


def cell(value: Any) -> str:
    """Table cell text: thousands separators, 4 significant digits for small floats."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def money(value: float | None) -> str:
    """Money as shown on the KPI cards (two decimals, thousands separators)."""
    return "n/a" if value is None else f"{value:,.2f}"


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


_env = Environment(loader=PackageLoader("insightloop.web", "templates"), autoescape=True)
_env.filters["cell"] = cell


def _render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(**context), status_code=status)


def mount_static(app: FastAPI) -> None:
    """Serve ``/static`` (CSS) and plotly.js from the installed plotly package: no CDN."""
    plotly_js = Path(str(importlib.resources.files("plotly") / "package_data" / "plotly.min.js"))

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly() -> FileResponse:
        return FileResponse(plotly_js, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    folder = Path(str(importlib.resources.files("insightloop.web") / "static"))
    app.mount("/static", StaticFiles(directory=folder), name="static")


@router.get("/api/docs")
def api_docs(request: Request) -> HTMLResponse:
    """Human-readable API reference rendered from the OpenAPI spec (no CDN assets)."""
    import json

    spec = request.app.openapi()
    schemas = spec.get("components", {}).get("schemas", {})

    def schema_text(schema: dict[str, Any]) -> str:
        ref = schema.get("$ref")
        if ref:
            schema = schemas.get(ref.rsplit("/", 1)[-1], schema)
        return json.dumps({k: v for k, v in schema.items() if k != "title"}, ensure_ascii=False)

    ops = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ops.append({
                "id": op.get("operationId", ""), "method": method.upper(), "path": path,
                "summary": op.get("summary", ""), "description": op.get("description", ""),
                "secured": bool(op.get("security")),
                "params": [{"name": p["name"], "where": p["in"], "required": p.get("required",
                                                                                     False),
                            "schema": schema_text(p.get("schema", {}))}
                           for p in op.get("parameters", [])],
                "body": schema_text(body["schema"]) if body.get("schema") else "",
            })
    info = spec.get("info", {})
    return _render("apidocs.html", title=info.get("title", "API"), nav=None,
                   version=info.get("version", ""), description=info.get("description", ""),
                   openapi=spec.get("openapi", ""), ops=ops)


# -- session -------------------------------------------------------------------------
def _session_key(request: Request) -> KeyRecord | None:
    srv = server_of(request)
    key_id = srv.sessions.key_id(request.cookies.get(COOKIE))
    rec = srv.keys.get(key_id) if key_id else None
    if rec is not None:
        srv.check(request, rec, "read")
    return rec


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _same_origin(request: Request) -> bool:
    """POSTs from other sites are refused (the cookie is SameSite=Strict as well)."""
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


MAX_FORM_FIELDS = 10


async def _form(request: Request) -> dict[str, str]:
    """The url-encoded form of a POST (first value per name); 400 past ``MAX_FORM_FIELDS``."""
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        fields = parse_qs(body, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise ApiError(400, "bad_request", f"a form here has at most {MAX_FORM_FIELDS} "
                       "fields; send only the fields of the page's form") from exc
    return {k: v[0] for k, v in fields.items()}


def _secure(request: Request) -> bool:
    """Whether the session cookie is ``Secure``: configured, or the request came over HTTPS
    (directly, or as a trusted proxy's ``X-Forwarded-Proto`` says)."""
    return server_of(request).config.secure_cookies or request.url.scheme == "https"


@router.get("/login")
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return _render("login.html", title="Log in", nav=None, next=_safe_next(next), message="")


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    srv = server_of(request)
    form = await _form(request) if _same_origin(request) else {}
    target = _safe_next(form.get("next"))
    rec = srv.keys.verify(form.get("key", "").strip())
    if rec is None:
        srv._failed(request)
        return _render("login.html", status=401, title="Log in", nav=None, next=target,
                       message="That key is not valid (or was revoked).")
    request.state.key_id = rec.key_id
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(COOKIE, srv.sessions.create(rec.key_id), httponly=True, samesite="strict",
                    secure=_secure(request), path="/",
                    max_age=int(srv.config.session_hours * 3600))
    return resp


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    server_of(request).sessions.drop(request.cookies.get(COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/", secure=_secure(request), httponly=True,
                       samesite="strict")
    return resp


def _page(request: Request, active: str, title: str, build: Callable[[Server], Blocks]
          ) -> Response:
    if _session_key(request) is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
    srv = server_of(request)
    try:
        blocks = build(srv)
    except ApiError as exc:
        if exc.status not in (409, 503):
            raise
        blocks = [{"kind": "message", "text": exc.message}]
    plotly = any(b["kind"] == "html" and "plotly-graph-div" in b["html"] for b in blocks)
    return _render("page.html", title=title, nav=NAV, active=active, blocks=blocks,
                   plotly=plotly)


def _guard(fn: Callable[[], Blocks], missing: str) -> Blocks:
    """Blocks from ``fn``; a message instead when the warehouse lacks what it needs."""
    try:
        return fn()
    except (InsightloopError, ImportError) as exc:
        text = missing if isinstance(exc, ImportError) else f"{missing} ({exc})"
        return [{"kind": "message", "text": text}]


# -- blocks from the report page builders -------------------------------------------------
def _report_blocks(srv: Server, modules: tuple[str, ...], missing: str) -> Blocks:
    def compute() -> Blocks:
        import plotly.io as pio

        from insightloop.report.builder import ReportContext
        from insightloop.storage.warehouse import Warehouse

        ctx = ReportContext(settings=srv.settings, warehouse=Warehouse.from_settings(srv.settings))
        blocks: Blocks = []
        for name in modules:
            module = importlib.import_module(f"insightloop.report.pages.{name}")
            for sec in module.build(ctx):
                blocks.append({"kind": "heading", "text": sec.title})
                if sec.intro:
                    blocks.append({"kind": "text", "text": sec.intro})
                blocks += [{"kind": "html", "html": Markup(t)} for t in sec.tables_html]
                blocks += [{"kind": "html", "html": Markup(pio.to_html(
                    fig, include_plotlyjs=False, full_html=False,
                    config={"displaylogo": False, "responsive": True}))}
                    for fig in sec.figures]
        return blocks or [{"kind": "message", "text": missing}]

    return srv.cached("report:" + ",".join(modules), compute)


def _kpi_blocks(srv: Server) -> Blocks:
    k = srv.cached("kpis", lambda: kpis(srv.settings))
    items = [
        {"id": "customers", "label": "Customers", "value": f"{k['customers']:,}",
         "note": f"profiles as of {str(k['as_of'])[:10]}"},
        {"id": "revenue", "label": "Net revenue", "value": money(k["net_revenue"]),
         "note": f"{k['orders']:,} orders"},
        {"id": "active_rate", "label": "Active rate", "value": percent(k["active_rate"]),
         "note": f"ordered in the last {k['active_days']} days"},
        {"id": "avg_clv", "label": "Average CLV", "value": money(k["avg_clv"]),
         "note": "12-month predicted value" if k["avg_clv"] is not None
         else "run `insightloop clv build`"},
    ]
    return [{"kind": "kpis", "items": items}]


def warm(srv: Server) -> None:
    """Compute the cached pages once (called at start-up, in the background)."""
    for mods, missing in PAGES.values():
        _guard(lambda m=mods, t=missing: _report_blocks(srv, m, t), "")  # type: ignore[misc]
    _guard(lambda: _kpi_blocks(srv), "")
    # Load the recommender now; when missing, the API answers 409/501 with the reason.
    with contextlib.suppress(ApiError, InsightloopError, ImportError):
        srv.recommender()


PAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "/": (("a_overview", "clv", "f_cohorts"),
          "No orders yet: ingest orders and build profiles (`insightloop demo` shows it all)."),
    "/rfm": (("c_rfm",), "RFM segments are not built yet: run `insightloop segments build`."),
    "/segments": (("e_segments",),
                  "Segments are not built yet: run `insightloop segments build`."),
    "/quality": (("b_quality",), "No data yet: ingest files with `insightloop ingest`."),
    "/recommendations": (("g_recommend",), "Recommendations are not built yet: run "
                         "`insightloop recommend build`."),
    "/sentiment": (("h_sentiment",), "Review sentiment is not scored yet: ingest reviews, then "
                   "run `insightloop sentiment score`."),
    "/models": (("predictive",),
                "No scored model yet: run `insightloop train churn` then `insightloop score`."),
}


@router.get("/", response_model=None)
def overview(request: Request) -> Response:
    mods, missing = PAGES["/"]
    return _page(request, "/", "Overview", lambda srv: _guard(
        lambda: _kpi_blocks(srv), "No customer profiles yet: run `insightloop profiles build` "
        "(or `insightloop demo`).") + _report_blocks(srv, mods, missing))


def _report_page(path: str, title: str) -> Callable[[Request], Response]:
    mods, missing = PAGES[path]

    def page(request: Request) -> Response:
        return _page(request, path, title, lambda srv: _report_blocks(srv, mods, missing))

    page.__name__ = f"page_{path.strip('/')}"
    return page


for _path, _title in (("/rfm", "RFM segments"), ("/segments", "Behavioural segments"),
                      ("/quality", "Data quality"), ("/models", "Predictive models")):
    router.add_api_route(_path, _report_page(_path, _title), methods=["GET"],
                         response_model=None)


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
            def fetch() -> dict[str, Any]:
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

        return [form, *_guard(table, "No customer profiles yet: run `insightloop profiles "
                              "build` (or `insightloop demo`).")]

    return _page(request, "/customers", "Customers", build)


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
        value_rows = []
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
        blocks += [{"kind": "heading", "text": "Reviews"}, *_guard(lambda: [{
            "kind": "table", "id": "reviews",
            "columns": ["review_time", "product_id", "rating", "text", "sentiment_label"],
            "rows": srv.query(customer_reviews, customer_id),
            "empty": "no reviews from this customer"}], "reviews are not available")]
        return blocks

    return _page(request, "/customers", f"Customer {customer_id}", build)


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
        return _guard(build, "Recommendations are not built yet: run `insightloop recommend "
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
                           *_guard(similar, "Similar items are not available")]
            except ApiError as exc:
                blocks.append({"kind": "message", "text": exc.message})
        mods, missing = PAGES["/recommendations"]
        return blocks + _report_blocks(srv, mods, missing)

    return _page(request, "/recommendations", "Recommendation explorer", build)


# -- sentiment ----------------------------------------------------------------------------
def _sentiment_blocks(srv: Server, text: str) -> Blocks:
    blocks: Blocks = [{"kind": "form", "action": "/sentiment", "method": "post",
                       "submit": "Score", "fields": [{"name": "text", "type": "textarea",
                                                      "label": "Text", "value": text}]}]
    if text:
        def scored() -> Blocks:
            from insightloop.services.sentiment import score_texts

            res = plain(score_texts([text], settings=srv.settings))[0]
            res["aspects"] = ", ".join(f"{a.get('aspect')}: {a.get('sentiment')}"
                                       for a in res.get("aspects") or [])
            return [{"kind": "table", "id": "sentiment-result",
                     "columns": ["label", "score", "probability", "language", "aspects"],
                     "rows": [res]}]
        blocks += _guard(scored, "The sentiment model is not available.")

    def topics() -> Blocks:
        from insightloop.services.sentiment import list_topics

        rows = srv.cached("topics", lambda: plain(list_topics(srv.settings)))
        cols = [c for c in ("topic_id", "label", "size", "share", "net_sentiment",
                            "keywords", "top_terms") if rows and c in rows[0]]
        return [{"kind": "heading", "text": "Review topics"},
                {"kind": "table", "id": "topics", "columns": cols or list(rows[0]) if rows
                 else [], "rows": rows, "empty": "no topics yet"}]

    mods, missing = PAGES["/sentiment"]
    blocks += _report_blocks(srv, mods, missing)
    blocks += _guard(topics, "Review topics are not built yet: run `insightloop topics`.")
    return blocks


@router.get("/sentiment", response_model=None)
def sentiment_page(request: Request) -> Response:
    return _page(request, "/sentiment", "Sentiment and topics",
                 lambda srv: _sentiment_blocks(srv, ""))


@router.post("/sentiment", response_model=None)
async def sentiment_post(request: Request) -> Response:
    form = await _form(request) if _same_origin(request) else {}
    text = form.get("text", "").strip()[:5000]
    return await run_in_threadpool(_page, request, "/sentiment", "Sentiment and topics",
                                   lambda srv: _sentiment_blocks(srv, text))


