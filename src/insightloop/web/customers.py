"""Dashboard customers: the list (filter and sort by segment, RFM segment, value tier,
country, churn risk, CLV and value at risk), its CSV export, and the customer 360 page."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from insightloop.api.params import MAX_ID_CHARS
from insightloop.api.routers.customers import csv_export
from insightloop.api.server import Server, server_of
from insightloop.errors import InsightloopError, WarehouseError
from insightloop.report.format import Formatter, label
from insightloop.services.customers import (
    SORT_COLUMNS,
    CustomerQuery,
    customer_filters,
    customer_profile,
    customer_reviews,
    list_customers,
    product_names,
)
from insightloop.services.results import CustomerPage
from insightloop.storage.ids import normalize_id
from insightloop.web.explore import recommend_blocks
from insightloop.web.pages import (
    Blocks,
    PageRoute,
    error_page,
    formatter,
    guard,
    login_redirect,
    render_page,
    session_key,
)

T = TypeVar("T")
router = APIRouter(include_in_schema=False, route_class=PageRoute)


# -- customers ----------------------------------------------------------------------------
#: Query parameters of the customer list (also those the export link carries on).
LIST_PARAMS = ("q", "segment_name", "rfm_segment", "value_tier", "country", "min_churn",
               "min_clv", "max_clv", "min_value_at_risk", "sort", "order")
_NUMBERS = {"min_churn": "churn risk (0 to 1)", "min_clv": "CLV", "max_clv": "CLV",
            "min_value_at_risk": "value at risk"}
_ASCENDING = ("customer_id", "recency_days", "country", "rfm_segment", "segment_name")


def _list_query(params: dict[str, str]) -> tuple[CustomerQuery, dict[str, str], list[str]]:
    """The query of the list's parameters, the parameters kept (as given, cut to 64
    characters) and what was wrong with the others (each dropped with a message)."""
    kept = {k: params.get(k, "").strip()[:64] for k in LIST_PARAMS}
    problems: list[str] = []
    numbers: dict[str, float] = {}
    for name, what in _NUMBERS.items():
        text = kept[name]
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or (name == "min_churn" and not 0 <= value <= 1):
            problems.append(f"{what}: {text!r} is not a number"
                            + (" from 0 to 1" if name == "min_churn" else "")
                            + "; that filter is not applied")
            kept[name] = ""
            continue
        numbers[name] = value
    if kept["sort"] not in SORT_COLUMNS:
        if kept["sort"]:
            problems.append(f"cannot sort by {kept['sort']!r}; sorted by net spend")
        kept["sort"] = "monetary"
    if kept["order"] not in ("asc", "desc"):
        kept["order"] = "asc" if kept["sort"] in _ASCENDING else "desc"
    query = CustomerQuery(
        id_prefix=kept["q"] or None, segment_name=kept["segment_name"] or None,
        rfm_segment=kept["rfm_segment"] or None, value_tier=kept["value_tier"] or None,
        country=kept["country"] or None, sort=kept["sort"], descending=kept["order"] == "desc",
        min_churn=numbers.get("min_churn"), min_clv=numbers.get("min_clv"),
        max_clv=numbers.get("max_clv"), min_value_at_risk=numbers.get("min_value_at_risk"))
    return query, kept, problems


def _filter_form(srv: Server, kept: dict[str, str]) -> Blocks:
    try:
        choices = srv.cached("customer-filters", lambda: customer_filters(srv.ctx))
    except InsightloopError:
        return []

    def pick(name: str, text: str) -> dict[str, Any]:
        values: list[Any] = [("", "any")] + [(v, v) for v in choices[name]]  # type: ignore[literal-required]
        if kept[name] and kept[name] not in choices[name]:  # type: ignore[literal-required]
            values.append((kept[name], kept[name]))
        return {"name": name, "label": text, "type": "select", "options": values,
                "value": kept[name]}

    fields = [{"name": "q", "label": "Customer id starts with", "value": kept["q"]},
              pick("segment_name", "Segment"), pick("rfm_segment", "RFM segment"),
              pick("value_tier", "Value tier"), pick("country", "Country"),
              {"name": "min_churn", "label": "Churn risk at least (0–1)", "type": "number",
               "value": kept["min_churn"], "min": 0, "max": 1, "step": "0.05"},
              {"name": "min_clv", "label": "CLV at least", "type": "number",
               "value": kept["min_clv"]},
              {"name": "max_clv", "label": "CLV at most", "type": "number",
               "value": kept["max_clv"]},
              {"name": "min_value_at_risk", "label": "Value at risk at least",
               "type": "number", "value": kept["min_value_at_risk"]},
              {"name": "sort", "label": "Sort by", "type": "select", "value": kept["sort"],
               "options": [(c, label(c)) for c in choices["sort"]] or [("monetary",
                                                                         label("monetary"))]},
              {"name": "order", "label": "Order", "type": "select", "value": kept["order"],
               "options": [("desc", "highest first"), ("asc", "lowest first")]}]
    return [{"kind": "form", "id": "customer-filters", "action": "/customers",
             "submit": "Apply", "fields": fields}]


@router.get("/customers/export.csv", response_model=None)
def customers_export(request: Request) -> Response:
    """The filtered customer list as a CSV download (the list's filters and order; readable
    column labels in the header row; the filter in the file name and a response header)."""
    if session_key(request) is None:
        return login_redirect(request)
    query, _, problems = _list_query(dict(request.query_params))
    if problems:
        return error_page(400, "; ".join(problems))
    try:
        return csv_export(server_of(request), query, labels=True)
    except InsightloopError as exc:
        return error_page(409 if isinstance(exc, WarehouseError) else 400, str(exc))


@router.get("/customers", response_model=None)
def customers_page(request: Request, offset: int = 0) -> Response:
    offset = max(0, min(offset, 1_000_000))
    query, kept, problems = _list_query(dict(request.query_params))
    filtered = any(kept[k] for k in LIST_PARAMS if k not in ("sort", "order"))
    pages_cached = not filtered and offset < 10_000 and offset % 50 == 0

    def build(srv: Server) -> Blocks:
        blocks: Blocks = _filter_form(srv, kept)
        blocks += [{"kind": "message", "level": "error", "text": p} for p in problems]

        def table() -> Blocks:
            def fetch() -> CustomerPage:
                return srv.query(list_customers, limit=50, offset=offset, query=query)

            # Unfiltered pages at the pager's offsets are cached per warehouse generation
            # (the cache is bounded by bytes: least recently used pages go first).
            key = f"customers:{query.sort}:{kept['order']}:{offset}"
            page = srv.cache.get(key, fetch) if pages_cached else fetch()
            cols = [c for c in ("customer_id", "country", "frequency", "monetary",
                                "recency_days", "rfm_segment", "segment_name", "clv",
                                "churn_score", "value_at_risk")
                    if page["items"] and c in page["items"][0]]
            pager = []
            if offset > 0:
                pager.append((_query("/customers", **kept, offset=max(0, offset - 50)),
                              "← previous"))
            if page["next_offset"] is not None:
                pager.append((_query("/customers", **kept, offset=page["next_offset"]),
                              "next →"))
            export = _query("/customers/export.csv", **kept)
            return [{"kind": "text", "id": "customer-count", "text":
                     f"{page['total']:,} customers match ({query.describe()}); showing "
                     f"{offset + 1 if page['items'] else 0:,}–{offset + len(page['items']):,}."},
                    {"kind": "links", "id": "customer-actions",
                     "items": [(export, f"Export these {page['total']:,} customers as CSV"),
                               ("/customers", "Clear filters")]},
                    {"kind": "table", "id": "customers", "columns": cols, "rows": page["items"],
                     "links": {"customer_id": "/customers/"}, "empty": "no customer matches"},
                    {"kind": "links", "items": pager}]

        return [*blocks, *guard(table, "No customer profiles yet: run `insightloop profiles "
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
            prof: dict[str, Any] = dict(srv.query(customer_profile, customer_id))
        except WarehouseError as exc:
            return [{"kind": "message", "level": "error", "text": str(exc)}]
        fmt = formatter(srv)
        favourites = [str(prof[f]) for f in PROFILE_FACTS
                      if f.startswith("fav_product_") and prof.get(f)]
        none: dict[str, str] = {}
        names = guard_value(lambda: srv.query(product_names, favourites), none)

        def shown(field: str, value: Any) -> str:
            if field.startswith("fav_product_") and value:
                return f"{value} — {names[str(value)]}" if str(value) in names else str(value)
            return fmt.column(field, value)

        facts = [{"field": label(f), "value": shown(f, prof.get(f))}
                 for f in PROFILE_FACTS if f in prof]
        blocks: Blocks = [{"kind": "heading", "text": "Profile"},
                          {"kind": "table", "id": "profile", "columns": ["field", "value"],
                           "labels": {"field": "Field", "value": "Value"}, "rows": facts}]
        blocks += [{"kind": "heading", "text": "Value and segment"},
                   {"kind": "table", "id": "value", "columns": ["measure", "value"],
                    "labels": {"measure": "Measure", "value": "Value"},
                    "rows": _value_rows(prof, fmt), "empty": "not built yet: run "
                    "`insightloop clv build` and `insightloop segments build`"}]
        scores = prof.get("scores") or []
        blocks += [{"kind": "heading", "text": "Scores with reasons"},
                   {"kind": "table", "id": "scores",
                    "columns": ["model", "version", "score", "decision", "reasons"],
                    "rows": scores, "empty": "no scores yet: run `insightloop train churn` "
                    "then `insightloop score`"}]
        blocks += [{"kind": "heading", "text": "Recommendations"},
                   *recommend_blocks(srv, customer_id, 10)]

        def reviews() -> Blocks:
            rows = [dict(r) for r in srv.query(customer_reviews, customer_id)]
            described = guard_value(lambda: srv.query(
                product_names, [str(r.get("product_id")) for r in rows]), none)
            for r in rows:
                r["description"] = described.get(str(r.get("product_id")), "")
            return [{"kind": "table", "id": "reviews",
                     "columns": ["review_time", "product_id", "description", "rating", "text",
                                 "sentiment_label"],
                     "rows": rows, "empty": "no reviews from this customer"}]

        blocks += [{"kind": "heading", "text": "Reviews"},
                   *guard(reviews, "reviews are not available")]
        return blocks

    return render_page(request, "/customers", f"Customer {customer_id}", build)


def _value_rows(prof: dict[str, Any] | Any, fmt: Formatter) -> list[dict[str, Any]]:
    """Segment, RFM, CLV and value at risk of one profile, formatted."""
    seg, rfm, clv = prof.get("segment_members"), prof.get("rfm"), prof.get("clv")
    churn = next((s.get("score") for s in prof.get("scores") or []
                  if s.get("model") == "churn"), None)
    rows: list[tuple[str, Any]] = []
    if seg:
        rows += [("Segment", seg.get("segment_name")), ("Suggested action", seg.get("strategy"))]
    if rfm:
        rows += [("RFM segment", rfm.get("rfm_segment")), ("RFM score", rfm.get("rfm_score")),
                 ("Value tier", rfm.get("value_tier"))]
    if clv:
        rows += [(label("clv"), fmt.money(clv.get("clv"))),
                 ("P(alive)", fmt.share(clv.get("p_alive"))),
                 (label("expected_purchases_12m"),
                  fmt.cell(clv.get("expected_purchases_12m")))]
    if churn is not None:
        rows.append((label("churn_score"), fmt.share(churn)))
        if clv and clv.get("clv") is not None:
            rows.append((label("value_at_risk"), fmt.money(churn * clv["clv"])))
    return [{"measure": m, "value": v} for m, v in rows]


def guard_value(fn: Callable[[], T], default: T) -> T:
    """``fn()``, or ``default`` when the warehouse lacks what it needs."""
    try:
        return fn()
    except InsightloopError:
        return default
